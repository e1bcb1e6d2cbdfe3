"""The native core's compiled sets of text patterns (``analyzer._native.RuleSet``), one per
tuple of patterns and process, and their compilation ahead of use.

Light on purpose (no numpy, no pyarrow): ``maillens parse`` starts readying the shipped
rules' patterns (:func:`compile_ahead`) before it imports what it parses with, so that the
native core builds the rule walk's screen and compiles the few patterns it cannot screen
(without the GIL) on the core that is idle while this process imports (~0.15 CPU-s) and before
its workers fork; the other patterns are compiled when the screen first lets a text through to
them. :mod:`analyzer.rulematch` runs the patterns from the same sets.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from . import native

__all__ = ["CHUNK", "compile_ahead", "compile_all", "compile_screened", "join_ahead", "prepare_screen", "rule_set",
           "runner_patterns", "stop_ahead"]

#: patterns compiled between two looks at :func:`compile_all`'s ``stop`` (a few ms)
CHUNK = 32


def usable() -> bool:
    """Whether the native core runs the patterns (the native engine, a core with ``RuleSet``)."""
    return native.engine() == "native" and hasattr(native._module()[0], "RuleSet")


#: the rules' text patterns are matched ignoring case (the native set's flag; the screen cache's key)
IGNORE_CASE = True


@lru_cache(maxsize=8)
def rule_set(patterns: tuple[str | None, ...]) -> Any:
    """The native set of ``patterns`` (each compiled when first used; None: no pattern)."""
    return native._module()[0].RuleSet(["" if p is None else p for p in patterns], IGNORE_CASE)


def runner_patterns(kb: Any) -> tuple[str | None, ...]:
    """The rules' text patterns (pattern ``i`` is ``kb.rules[i].text``)."""
    return tuple(r.text for r in kb.rules)


#: the rule sets (:func:`rule_set`: one per patterns and process) whose screen is built, by id
#: (held here, so that an id is never another set's after :func:`rule_set`'s cache lets one go)
_SCREENED: dict[int, Any] = {}


def prepare_screen(patterns: tuple[str | None, ...]) -> None:
    """Build now the rule walk's screen in front of the native set of ``patterns`` (from the
    literals an earlier run kept for them where it can: :mod:`analyzer.screen_cache`), once a
    process: compile-ahead and the classifier's warm-up both ask, and a second build would read
    the cache file again or, without one, every pattern's literals (~0.09 CPU-s) for nothing."""
    from .screen_cache import prepare_screen as ready

    rules = rule_set(patterns)
    if id(rules) in _SCREENED:
        return
    ready(native._module()[0], rules, patterns, ignore_case=IGNORE_CASE)
    _SCREENED[id(rules)] = rules


def compile_screened(patterns: tuple[str | None, ...], stop: threading.Event | None = None) -> None:
    """What a run of the rule walk over ``patterns`` needs before its first call: the screen
    (:func:`prepare_screen`) and the few patterns it cannot screen compiled (every call reaches
    them); each screened pattern is compiled when the screen first lets a text through to it
    (~140 of the ~680 shipped in a 1M-line day: compiling them all cost ~0.13 CPU-s more).
    Nothing without the native engine; ``stop`` set: nothing more is started."""
    if not usable():
        return
    rules = rule_set(patterns)
    if not hasattr(rules, "compile_unscreened"):  # an older core
        compile_all(patterns, stop)
        return
    if stop is not None and stop.is_set():
        return
    prepare_screen(patterns)
    if not (stop is not None and stop.is_set()):
        rules.compile_unscreened()


def compile_all(patterns: tuple[str | None, ...], stop: threading.Event | None = None) -> None:
    """Compile every pattern of ``patterns`` in the native core now (what a run would compile
    when first used), the rule walk's screen in front of them first; nothing without the native
    engine. ``stop``: looked at every :data:`CHUNK` patterns, the rest left uncompiled once it is
    set."""
    if not usable():
        return
    rules = rule_set(patterns)
    if not hasattr(rules, "compile_all"):  # an older core: one call (and GIL round trip) a pattern
        for i, p in enumerate(patterns):
            if stop is not None and stop.is_set():
                return
            if p is not None:
                rules.usable(i)
        return
    # the rule walk's screen (rulematch_screen.rs) first, off the main thread: a classification
    # call needs it before any pattern, and a fork that stops this leaves it made
    if hasattr(rules, "prepare_screen") and not (stop is not None and stop.is_set()):
        prepare_screen(patterns)
    # many in one call without the GIL (a thread's call per pattern waited for the GIL ~500
    # times while another thread ran Python)
    step = CHUNK if stop is not None else max(1, len(patterns))
    for start in range(0, len(patterns), step):
        if stop is not None and stop.is_set():
            return
        rules.compile_all(start, start + step)


#: :func:`compile_ahead`'s thread and the event that stops it, while it runs
_AHEAD: list[tuple[threading.Thread, threading.Event]] = []
_HOOKED: list[bool] = []


def compile_ahead(knowledge: Any) -> None:
    """Ready the rules' text patterns of the knowledge base ``knowledge()`` gives on a thread,
    now: their screen and the patterns it cannot screen (:func:`compile_screened`; until r30
    every pattern, :func:`compile_all`, ~0.13 CPU-s more for patterns a day mostly never
    reaches). A fork (``os.register_at_fork``) stops it and waits for it (a fork while it
    compiled would leave the workers a lock it held): the screen's build and the unscreened
    patterns are one call each, so the fork waits for the call under way to end; the classifier's
    warm-up and first call compile what is left. ``knowledge`` runs here, before the thread
    starts (the shipped rules: ~0.01 CPU-s, which `parse` loads anyway): run on the thread, it
    waited for the GIL behind the main thread's imports, and the thread began compiling so late
    that a 1M-line parse forked with 96-160 of the 859 patterns compiled (the warm-up compiled
    the rest, ~0.09 CPU-s, while the workers parsed); now 480-830 (real-time priority runs,
    bench/RESULTS.md r21-pmain). Nothing without the native engine; an error only leaves the
    patterns to their first use."""
    import os
    from contextlib import suppress

    if not usable():
        return
    try:
        patterns = runner_patterns(knowledge())
    except Exception:  # (the run reports it where it loads the rules)
        return
    stop = threading.Event()

    def run() -> None:
        with suppress(Exception):
            compile_screened(patterns, stop)

    if not _HOOKED:
        os.register_at_fork(before=stop_ahead)
        _HOOKED.append(True)
    thread = threading.Thread(target=run, name="maillens-compile", daemon=True)
    _AHEAD.append((thread, stop))
    thread.start()


def stop_ahead() -> None:
    """Stop :func:`compile_ahead`'s thread after the call it is in (the screen's build, or the
    patterns it cannot screen; :func:`compile_all`: within :data:`CHUNK` patterns) and wait for it (before
    a fork, or where the blocks are parsed on threads: the classifier compiles the rest on use)."""
    for _, stop in list(_AHEAD):
        stop.set()
    join_ahead()


def join_ahead() -> None:
    """Wait for :func:`compile_ahead`'s thread, if one runs (not from that thread itself)."""
    from contextlib import suppress

    for item in list(_AHEAD):
        if item[0] is not threading.current_thread():
            item[0].join()
            with suppress(ValueError):  # (another thread may have joined it too)
                _AHEAD.remove(item)
