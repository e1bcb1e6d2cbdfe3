"""The shipped rule files' parsed TOML, kept in the user's cache directory between runs.

Parsing the shipped TOML files (~420 kB) took ~0.035-0.04 CPU-s of every run that classifies
(``maillens parse``, ``report``, ``ingest``; ~90% of loading the knowledge base, the rest is
building and checking it from the parsed tables). The parsed tables of all the shipped files are
kept as one :mod:`marshal` file (plain dicts, lists, strings and numbers: no code, no classes),
``$XDG_CACHE_HOME/maillens/rules-KEY.marshal`` (``~/.cache`` without it), read in ~2 ms.

- ``KEY`` is a hash of every file's content (and of this format's version and the Python
  version's marshal format): a changed file is another key, so a stale cache is never read.
- The file holds a hash of its payload, checked before it is read: a truncated or damaged file
  (or one of another program) is ignored and written again; so is one that is not this user's own,
  or that others may write (nor its directory).
- Written atomically (a temporary file in the same directory, then renamed), the directory
  private to the user; older ``rules-*.marshal`` files are removed when a new one is written.
- Any problem (no home directory, a read-only one, a full disk, a value marshal cannot hold)
  only means the files are parsed as before: the knowledge base is the same either way, and
  a file that cannot be read or parsed reports its error as the loader always did.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..kept_file import DIGEST, keep, read_kept

#: bump when what is stored changes meaning
VERSION = 1
_MAGIC = b"maillens-rules\n"
_DIGEST = DIGEST  # bytes of the payload's blake2b (a kept file: analyzer.kept_file)


def cache_dir() -> Path | None:
    """Where the cache lives (None: no home directory to put it in)."""
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    except (RuntimeError, KeyError):  # no home directory
        return None
    return root / "maillens"


def _key(blobs: list[bytes]) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{VERSION} {marshal.version} {sys.version_info[0]}.{sys.version_info[1]} {len(blobs)}\n".encode())
    for b in blobs:
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _loaded(path: Path, n: int) -> list[dict[str, Any]] | None:
    """The tables kept at ``path``, or None where there are none, or not ``n`` of them intact, or
    the file or its directory is another user's or writable by others (marshal is not meant for
    data someone else could have made: :func:`analyzer.kept_file.read_kept`)."""
    payload = read_kept(path, _MAGIC)
    if payload is None:
        return None
    try:
        got = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    if not isinstance(got, list) or len(got) != n or not all(isinstance(d, dict) for d in got):
        return None
    return got


def _store(where: Path, tables: list[dict[str, Any]]) -> None:
    """Keep ``tables`` at ``where`` (atomically); older keys' files removed. Best effort."""
    try:
        payload = marshal.dumps(tables)
    except ValueError:  # a value marshal cannot hold (a TOML date): parsed each run, as before
        return
    keep(where, _MAGIC, payload, kind="rules-*.marshal")


def parsed_files(paths: list[Path], parse: Callable[[Path, bytes], dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The files' parsed TOML (``parse(path, content)`` of each), from the cache where it holds
    these contents; else parsed so and kept for the next run. None where a file cannot be read
    (the loader reads it again and says which and why)."""
    try:
        blobs = [p.read_bytes() for p in paths]
    except OSError:
        return None
    where = cache_dir()
    if where is not None:
        where = where / f"rules-{_key(blobs)}.marshal"
        got = _loaded(where, len(paths))
        if got is not None:
            return got
    tables = [parse(p, b) for p, b in zip(paths, blobs, strict=True)]
    if where is not None:
        _store(where, tables)
    return tables
