"""The native Exim fold step hashing the queue ids itself (``h`` empty: round 33) against the same
step given the hashes :func:`analyzer.keyed.key_hash` makes of them (what ``NativeExFold.add``
passed before): the same counts, tables, relayed pairs and times on the queue, over a generated
day cut into flushes, with and without rows picked (``sel``); and a queue-id column of another
length refused."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from analyzer import native
from analyzer.keyed import key_hash
from analyzer.peer_native_exim import _TEXTS
from analyzer.peer_vocab import _strings, _texts
from analyzer.reader import parse_logs
from analyzer.totals import col, valid
from tools.peers import generated_day

pytestmark = pytest.mark.skipif(not native.available() or native._built("ExFold") is None,
                                reason="the native engine with its Exim peers' fold step is not built")


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    path = generated_day(tmp_path_factory.mktemp("exhash") / "ex.log", "exim", lines=6000, seed=11)
    ev = parse_logs([str(path)], tz="UTC", year=2026).events
    return pa.Table.from_pandas(ev[ev["mta"] == "exim"], preserve_index=False).combine_chunks()


def _inputs(t: pa.Table, sel: np.ndarray | None, hashed: bool) -> tuple:
    """A flush as ``NativeExFold.add`` hands it over: the hashes made here by ``key_hash`` (``hashed``), or none."""
    qid = col(t, "queue_id")
    has = valid(qid) if sel is None else valid(qid) & sel
    h = np.zeros(len(has) if hashed else 0, dtype=np.uint64)
    if hashed and has.any():
        h[has] = key_hash(qid.filter(pa.array(has)))
    ts = col(t, "ts").cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    size = col(t, "size").fill_null(0).cast(pa.int64()).to_numpy(zero_copy_only=False)
    texts = [_strings(_texts(col(t, n))) for n in _TEXTS]
    return texts, [None] * 8, has.view(np.uint8), h, np.ascontiguousarray(size), np.ascontiguousarray(ts)


def _state(step) -> tuple:
    step.finish()
    tables = [tuple(bytes(b) for b in (codes, *vals)) for codes, vals in (step.table(w) for w in range(4))]
    return step.counts(), step.queue(), tables, [bytes(b) for b in step.pairs()]


def _fold(t: pa.Table, cuts: list[int], picks: np.ndarray | None, hashed: bool) -> tuple:
    step = native._module()[0].ExFold()
    rejected = []
    for lo, hi in zip([0, *cuts], [*cuts, len(t)], strict=True):
        part = t.slice(lo, hi - lo)
        sel = None if picks is None else picks[lo:hi]
        args = _inputs(part, sel, hashed)
        need, rej = step.add(*args, None if sel is None else sel.view(np.uint8))
        assert need == 0
        rejected.append(bytes(rej))
    return (*_state(step), rejected)


@pytest.mark.parametrize("cuts", [[], [1, 2, 700, 2999], list(range(250, 6000, 250))])
@pytest.mark.parametrize("picked", [False, True])
def test_queue_ids_hashed_in_the_step_fold_as_those_hashed_by_key_hash(day, cuts, picked):
    picks = (np.random.default_rng(5).random(len(day)) < 0.7) if picked else None
    cuts = [c for c in cuts if c < len(day)]
    mine, given = _fold(day, cuts, picks, False), _fold(day, cuts, picks, True)
    assert mine == given
    counts, _, tables, pairs, _ = mine
    assert counts[0] > 0 and len(tables[0][0]) > 0 and len(pairs[0]) > 0, "the day folded something"


def test_a_queue_id_column_of_another_length_is_an_error(day):
    t = day.slice(0, 10)
    texts, low, has, h, size, ts = _inputs(t, None, False)
    texts[13] = _strings(_texts(col(day.slice(0, 9), "queue_id")))
    with pytest.raises(ValueError):
        native._module()[0].ExFold().add(texts, low, has, h, size, ts)
