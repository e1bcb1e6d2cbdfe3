"""The peers' folds hold no reference cycles (r25-rpeers): once a report's peers result is made and
the fold dropped, its state (the native steps, the vocabularies, the tables) goes at once by
reference counting, at every size, not at the next full ``gc.collect`` (r24-rmem found 69 MiB of
it at an Exim 10M day's end). Both engines; the stream's path (``WindowPeersFold._fold_rows``,
the native steps reading a batch's rows where they lie) and the per-table one (``PeersFold.add``)."""

from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pyarrow as pa
import pytest

from analyzer import native
from analyzer.reader import parse_logs
from analyzer.report.peers import PeersFold, WindowPeersFold
from tests.conftest import SAMPLES
from tools.peers import generated_day

ENGINES = ["python", *(["native"] if native.available() else [])]


def parsed_days(tmp, lines: int) -> dict:
    """Event tables: the sample logs of both MTAs together, a generated Postfix and Exim day."""
    return {"samples": parse_logs([str(SAMPLES / "postfix"), str(SAMPLES / "exim")], tz="UTC", year=2026).events,
            "postfix": parse_logs([str(generated_day(tmp / "pf.log", "postfix", lines=lines))], tz="UTC",
                                  year=2026).events,
            "exim": parse_logs([str(generated_day(tmp / "ex.log", "exim", lines=lines))], tz="UTC", year=2026,
                               fmt="exim").events}


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    return parsed_days(tmp_path_factory.mktemp("cycles"), 4000)


def _ours(o: object) -> bool:
    mod = getattr(type(o), "__module__", None)
    return isinstance(mod, str) and mod.startswith("analyzer.")


def _refs(fold: PeersFold) -> list[weakref.ref]:
    """Weak references to the fold and to every object of the peers' modules it reaches."""
    # (not into a module's namespace, which a function's globals reach: what a module holds, as
    # schema.COLUMNS, lives on after any fold; whether a run had reached it through a callable
    # depended on which tests ran before)
    seen, out, todo = {id(vars(m)) for m in list(sys.modules.values()) if hasattr(m, "__dict__")}, [], [fold]
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if _ours(o) and type(o).__module__ != "analyzer._native":  # (the native objects take no weak reference)
            out.append(weakref.ref(o))
        todo += [r for r in gc.get_referents(o) if isinstance(r, (dict, list, tuple)) or _ours(r) or callable(r)]
    return out


def _fold_and_drop(make, feed) -> tuple[list[weakref.ref], dict]:
    fold = make()
    feed(fold)
    result = dict(fold.result())
    refs = _refs(fold)
    assert len(refs) > 3
    del fold
    return refs, result


def _check(make, feed) -> dict:
    gc.collect()
    gc.disable()
    try:
        refs, result = _fold_and_drop(make, feed)
        alive = [type(r()).__qualname__ for r in refs if r() is not None]
        assert alive == [], f"held by reference cycles only: {sorted(set(alive))}"
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        ours = {type(o).__qualname__ for o in gc.garbage if _ours(o)}
        assert ours == set()
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return result


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["samples", "postfix", "exim"])
def test_table_fold_leaves_no_cycles(days, monkeypatch, engine, name):
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    ev = days[name]

    def feed(fold):
        for a in range(0, len(ev), 1500):
            fold.add(ev.iloc[a:a + 1500].reset_index(drop=True))

    got = _check(PeersFold, feed)
    assert got["peers"]


@pytest.mark.parametrize("name", ["samples", "postfix", "exim"])
def test_stream_fold_leaves_no_cycles(days, monkeypatch, name):
    """The report's path: each stream batch's rows handed over where they lie, folded on the
    fold's thread, the result made there (``Later``)."""
    if not native.available():
        pytest.skip("the native engine is not built")
    monkeypatch.setenv("MAILLENS_ENGINE", "native")
    ev = days[name]
    cols = [c for c in WindowPeersFold.COLUMNS if c in ev.columns]
    table = pa.Table.from_pandas(ev[cols], preserve_index=False)

    def make():
        fold = WindowPeersFold(None)
        fold.FLUSH_ROWS = 1000
        return fold

    def feed(fold):
        assert fold._by_rows
        for a in range(0, len(ev), 700):
            t = table.slice(a, 700)
            fold._fold_rows(t, np.arange(len(t)) % 5 != 3, None)

    got = _check(make, feed)
    assert got["peers"]
