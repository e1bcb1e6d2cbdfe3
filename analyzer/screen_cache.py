"""The rule walk's screen literals kept in the user's cache directory between runs.

The native core's screen (native/src/rulematch_screen.rs) reads each text pattern's literal
prefixes and suffixes off its syntax tree: ~0.08 of the ~0.1 CPU-s its build takes for the ~680
shipped patterns, in every run that classifies. Those literals depend only on the patterns and
on the native build, so they are kept, as the core writes them (``RuleSet.screen_literals``), in
``$XDG_CACHE_HOME/maillens/screen-KEY.bin`` (``~/.cache`` without it) and handed back to the
core (``RuleSet.screen_from``) by the next run of the same patterns, which then only builds the
automaton (~0.015 CPU-s).

- ``KEY`` hashes this format's version, the native extension file (its size, modification and
  change times and inode: a rebuilt or replaced core is another key, even with its old mtime) and every pattern: other patterns or another build never
  read a file kept for these. The core's bytes start with its own format tag and are read only
  for as many patterns as the set holds, whole.
- The file holds a hash of its payload, checked before use; one that is not this user's own, or
  that others may write (or its directory), is not read: as :mod:`analyzer.rules._cache`.
- Written atomically; the :data:`KEPT` newest files stay (a site's rules beside the shipped ones).
- Only sets of at least :data:`SMALL` patterns (a few ms to read otherwise). Any problem means the
  screen is built from the patterns as before; the screen is the same either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

__all__ = ["KEPT", "SMALL", "VERSION", "prepare_screen", "screen_path"]

#: bump when what is stored changes meaning
VERSION = 1
#: pattern sets smaller than this build their screen without the cache
SMALL = 100
#: screen files kept in the directory (the newest)
KEPT = 4
_MAGIC = b"maillens-screen-cache\n"
_DIGEST = 32


def screen_path(module: Any, patterns: tuple[str | None, ...]) -> Path | None:
    """Where the screen literals of ``patterns`` (as ``rule_set`` hands them to ``module``, the
    native core) are kept; None without a cache directory or a core file to key by."""
    from .rules._cache import cache_dir

    where = cache_dir()
    try:
        st = os.stat(module.__file__)
    except (AttributeError, TypeError, OSError):
        return None
    if where is None:
        return None
    h = hashlib.blake2b(digest_size=16)
    # (ctime and inode too: a rebuilt core copied with its old size and mtime kept, ``cp -p`` or a
    # wheel's fixed times, is still another key; neither can be set back by hand)
    h.update(f"{VERSION} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} {len(patterns)}\n".encode())
    for p in patterns:
        b = ("" if p is None else p).encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return where / f"screen-{h.hexdigest()}.bin"


def _private(st: os.stat_result) -> bool:
    """Whether a file or directory is this user's and not writable by anyone else."""
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _read(path: Path) -> bytes | None:
    """The payload kept at ``path``: None where there is none intact, or the file (as opened) or
    its directory is another user's or writable by others."""
    try:
        with open(path, "rb") as f:
            if not (_private(os.fstat(f.fileno())) and _private(os.stat(path.parent))):
                return None
            data = f.read()
    except OSError:
        return None
    digest, payload = data[len(_MAGIC):len(_MAGIC) + _DIGEST], data[len(_MAGIC) + _DIGEST:]
    if not data.startswith(_MAGIC) or len(digest) != _DIGEST:
        return None
    return payload if hashlib.blake2b(payload, digest_size=_DIGEST).digest() == digest else None


def _write(path: Path, payload: bytes) -> None:
    """Keep ``payload`` at ``path`` (written beside it, then renamed), the :data:`KEPT` newest
    screen files with it. Best effort: any error leaves the screen to be read off the patterns."""
    import tempfile

    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".screen-", suffix=".tmp", delete=False) as made:
            name = made.name  # (made private to this user)
        try:
            with open(name, "wb") as f:
                f.write(_MAGIC + hashlib.blake2b(payload, digest_size=_DIGEST).digest() + payload)
            os.replace(name, path)
        except OSError:
            os.unlink(name)  # (an error here too is let pass)
            raise
        by_age = sorted(path.parent.glob("screen-*.bin"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in (p for p in by_age[KEPT:] if p != path):
            with contextlib.suppress(OSError):
                old.unlink()


def prepare_screen(module: Any, rules: Any, patterns: tuple[str | None, ...]) -> None:
    """Build the screen of ``rules`` (the core's set of ``patterns``) now: from the literals kept
    for them where there are, else from the patterns, keeping their literals for the next run."""
    if len(patterns) < SMALL or not hasattr(rules, "screen_from"):
        rules.prepare_screen()
        return
    path = screen_path(module, patterns)
    if path is not None:
        kept = _read(path)
        if kept is not None and rules.screen_from(kept):
            return
    got = rules.screen_literals()
    if path is not None:
        _write(path, got)
