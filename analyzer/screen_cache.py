"""The rule walk's screen literals kept in the user's cache directory between runs.

The native core's screen (native/src/rulematch_screen.rs) reads each text pattern's literal
prefixes and suffixes off its syntax tree: ~0.08 of the ~0.1 CPU-s its build takes for the ~680
shipped patterns, in every run that classifies. Those literals depend only on the patterns and
on the native build, so they are kept, as the core writes them (``RuleSet.screen_literals``), in
``$XDG_CACHE_HOME/maillens/screen-KEY.bin`` (``~/.cache`` without it) and handed back to the
core (``RuleSet.screen_from``) by the next run of the same patterns, which then only builds the
automaton (~0.015 CPU-s).

- ``KEY`` hashes this format's version, the native extension file (its size, modification and
  change times and inode: a rebuilt or replaced core is another key, even with its old mtime),
  whether the set ignores case (its literals differ) and every pattern: other patterns, another
  case flag or another build never read a file kept for these. The core's bytes start with its own format tag and are read only
  for as many patterns as the set holds, whole.
- The file holds a hash of its payload, checked before use; one that is not this user's own, or
  that others may write (or its directory), is not read (:mod:`analyzer.kept_file`, as the rules' cache).
- Written atomically; the :data:`KEPT` newest files stay (a site's rules beside the shipped ones).
- Only sets of at least :data:`SMALL` patterns (a few ms to read otherwise). Any problem means the
  screen is built from the patterns as before; the screen is the same either way.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .kept_file import keep, read_kept

__all__ = ["KEPT", "SMALL", "VERSION", "prepare_screen", "screen_path"]

#: bump when what is stored changes meaning
VERSION = 1
#: pattern sets smaller than this build their screen without the cache
SMALL = 100
#: screen files kept in the directory (the newest)
KEPT = 4
_MAGIC = b"maillens-screen-cache\n"


def screen_path(module: Any, patterns: tuple[str | None, ...], *, ignore_case: bool = True) -> Path | None:
    """Where the screen literals of ``patterns`` (as ``rule_set`` hands them to ``module``, the
    native core, matched ignoring case or not) are kept; None without a cache directory or a
    core file to key by."""
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
    h.update(f"{VERSION} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} {int(ignore_case)} {len(patterns)}\n".encode())
    for p in patterns:
        b = ("" if p is None else p).encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return where / f"screen-{h.hexdigest()}.bin"


def prepare_screen(module: Any, rules: Any, patterns: tuple[str | None, ...], *, ignore_case: bool = True) -> None:
    """Build the screen of ``rules`` (the core's set of ``patterns``, made with ``ignore_case``)
    now: from the literals kept for them where there are, else from the patterns, keeping their
    literals for the next run."""
    if len(patterns) < SMALL or not hasattr(rules, "screen_from"):
        rules.prepare_screen()
        return
    path = screen_path(module, patterns, ignore_case=ignore_case)
    if path is not None:
        kept = read_kept(path, _MAGIC)
        if kept is not None and rules.screen_from(kept):
            return
    got = rules.screen_literals()
    if path is not None:
        keep(path, _MAGIC, got, kind="screen-*.bin", others_kept=KEPT - 1)
