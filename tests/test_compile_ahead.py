"""The rules' patterns compiled on a thread before a big input's workers fork
(:func:`analyzer.rule_sets.compile_ahead`): a fork stops and waits for it, what it left is
compiled when first used, and the answers are the same."""

from __future__ import annotations

import os
import threading

import pyarrow as pa
import pytest

from analyzer import native, rule_sets, rulematch
from analyzer.rules import shipped_rules

pytestmark = pytest.mark.skipif(native.engine() != "native" or not hasattr(native._module()[0], "RuleSet"),
                                reason="the native core compiles the patterns")


def test_compile_all_in_ranges_counts_as_one_by_one() -> None:
    pats = ("a+b", None, r"(?i)déjà\s+vu", "(unclosed", r"\bquota\b", "x" * 3, "", r"[0-9]{3}")
    one = native._module()[0].RuleSet(["" if p is None else p for p in pats], True)
    usable = sum(one.usable(i) for i in range(len(pats)))
    ranged = native._module()[0].RuleSet(["" if p is None else p for p in pats], True)
    assert sum(ranged.compile_all(s, s + 3) for s in range(0, len(pats), 3)) == usable
    assert ranged.compile_all(5, 100) == sum(one.usable(i) for i in range(5, len(pats)))
    assert ranged.compile_all(100, 3) == 0  # an empty range, out of bounds: nothing
    assert ranged.compile_all() == usable


def test_a_set_stop_compiles_nothing_more() -> None:
    stop = threading.Event()
    stop.set()
    pats = tuple(f"stopped{i}" for i in range(100))
    rulematch.compile_all(pats, stop)  # returns at once; the patterns compile when first used
    run = rulematch.TextRunner(pats, pa.array(["stopped7 here", None, "nothing"]))
    import numpy as np

    assert run.hits(7, np.array([1, 2, 3])).tolist() == [True, False, False]


def test_a_fork_stops_and_joins_the_thread() -> None:
    kb = shipped_rules()
    entered = threading.Event()

    def knowledge():
        entered.set()
        return kb

    rule_sets.compile_ahead(knowledge)
    entered.wait(5)
    threads = [t for t, _ in rule_sets._AHEAD]
    pid = os.fork()
    if pid == 0:  # the child: nothing of the parent's thread runs here
        os._exit(0)
    os.waitpid(pid, 0)
    assert not rule_sets._AHEAD and all(not t.is_alive() for t in threads)
    # what the stopped thread left is compiled when first used: the same answers
    texts = pa.array(["550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in virtual mailbox table",
                      "452 4.2.2 Mailbox full", "421 4.7.0 Try again later, closing connection"])
    pats = rulematch.runner_patterns(kb)
    fresh = rulematch.TextRunner(pats, texts)
    import numpy as np

    cand = np.array([1, 2, 3])
    some = [i for i, p in enumerate(pats) if p is not None][:60]
    got = [fresh.hits(i, cand).tolist() for i in some]
    rule_sets.rule_set.cache_clear()
    again = rulematch.TextRunner(pats, texts)
    assert [again.hits(i, cand).tolist() for i in some] == got


def test_join_ahead_without_a_thread_returns() -> None:
    rule_sets.join_ahead()
    assert not rule_sets._AHEAD


def test_the_knowledge_is_read_before_the_thread_starts() -> None:
    # on the thread, the rules' loading waited for the GIL behind the main thread's imports, and
    # the compiling began so late that most patterns were left to after the workers forked
    seen: list[threading.Thread] = []
    kb = shipped_rules()

    def knowledge():
        seen.append(threading.current_thread())
        return kb

    rule_sets.compile_ahead(knowledge)
    assert seen == [threading.current_thread()]
    rule_sets.join_ahead()
    assert not rule_sets._AHEAD


def test_knowledge_that_fails_starts_no_thread() -> None:
    def knowledge():
        raise RuntimeError("a broken rules file: the run reports it where it loads the rules")

    rule_sets.compile_ahead(knowledge)
    assert not rule_sets._AHEAD


def test_the_screen_is_made_before_the_patterns_are_compiled(monkeypatch) -> None:
    # a classification call needs the screen before any pattern: a fork that stops the thread
    # early (a big input's workers) leaves it made, and the patterns to their first use
    pats = tuple(f"screen-first-{i}" for i in range(80))
    real = rule_sets.rule_set(pats)
    calls: list[str] = []
    stop = threading.Event()

    class Spy:
        def __getattr__(self, name: str):
            attr = getattr(real, name)
            if name not in ("prepare_screen", "compile_all"):
                return attr

            def called(*args):
                calls.append(name)
                if name == "prepare_screen":
                    stop.set()  # the fork comes while the screen is made
                return attr(*args)
            return called

    monkeypatch.setattr(rule_sets, "rule_set", lambda patterns: Spy())
    rule_sets.compile_all(pats, stop)
    assert calls == ["prepare_screen"] and real.compiled() == 0
    calls.clear()
    rule_sets.compile_all(pats)  # not stopped: the screen (made already), then every pattern
    assert calls[0] == "prepare_screen" and calls[1:] == ["compile_all"] and real.compiled() == len(pats)
