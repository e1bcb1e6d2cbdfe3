"""The top tables' units numbered once (r25-rtop): :func:`analyzer.report.units.code_units` numbers
the hashes of several parts together, :func:`analyzer.report.units.count_coded` reading those
numbers counts as :func:`analyzer.report.units.count_units` does over the hashes, and :func:`analyzer.report.units._dense_codes`
by ranks through the sort's order numbers equal hashes alike and different ones apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report import units
from analyzer.report.units import LINE, MESSAGE, NONE, QUEUE, Units, code_units, count_coded, count_units


def _units(rng: np.random.Generator, n: int) -> tuple[np.ndarray, Units]:
    kind = rng.choice(np.array([NONE, MESSAGE, QUEUE, LINE], dtype=np.int8), n)
    q = rng.integers(0, 12, n).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    h = np.where(kind == QUEUE, q, rng.integers(0, 30, n).astype(np.uint64) << np.uint64(40))
    return rng.integers(0, 6, n), Units(kind, h, np.where(kind == NONE, np.uint64(0), q))


def _join(a: Units, b: Units) -> Units:
    return Units(*(np.concatenate([getattr(a, f), getattr(b, f)]) for f in ("kind", "h", "q")))


@pytest.mark.parametrize("by_sort", [False, True])
@pytest.mark.parametrize("seed", range(10))
def test_counts_over_numbers_are_counts_over_hashes(seed: int, by_sort: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if by_sort:
        monkeypatch.setattr(units, "DENSE_SORT_FROM", 0)
    rng = np.random.default_rng(seed)
    ka, a = _units(rng, int(rng.integers(0, 300)))
    kb, b = _units(rng, int(rng.integers(0, 300)))
    ca, cb = code_units(a, b)
    assert len(ca) == len(a) and len(cb) == len(b)
    keys = np.concatenate([ka, kb])
    want = count_units(keys, _join(a, b))
    assert _per_key(count_coded([(ka, ca, None), (kb, cb, None)], 6)) == want.to_dict()
    # a part alone, over the numbers made together
    assert _per_key(count_coded([(ka, ca, None)], 6)) == count_units(ka, a).to_dict()


def _per_key(n: np.ndarray) -> dict[int, int]:
    """:func:`count_coded`'s counts as :func:`count_units` gives them: the keys counted only."""
    return {i: int(c) for i, c in enumerate(n) if c}


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1) | st.sampled_from([0, 1, 2**63, 2**64 - 1]), max_size=60),
       st.booleans())
def test_dense_codes_number_equal_hashes_alike(values: list[int], by_sort: bool) -> None:
    h = np.array(values, dtype=np.uint64)
    old = units.DENSE_SORT_FROM
    units.DENSE_SORT_FROM = 0 if by_sort else old
    try:
        codes = units._dense_codes(h)
    finally:
        units.DENSE_SORT_FROM = old
    assert len(codes) == len(h)
    assert (codes >= 0).all() and (codes < max(len(h), 1)).all()
    # equal hashes, equal numbers; different hashes, different numbers
    assert (np.equal.outer(codes, codes) == np.equal.outer(h, h)).all()


@pytest.mark.parametrize("missing", [np.nan, pd.NA, None])
def test_missing_senders_of_a_frame_of_objects_stay_null(missing):
    """A frame of Python objects whose missing senders are NaN or pd.NA: the senders filled from
    their queue ids (as the rows' senders are filled) keep them null, not a sender named "nan" or "<NA>" (the
    conversion to Arrow strings read them as text after r25-rtop; the review's case)."""
    from analyzer.report.build import top_tables

    cols = ["event", "direction", "queue_id", "sender", "recipient", "relay_host", "outcome", "cause",
            "cause_ref", "client_ip", "client_host", "sasl_username"]
    rows = [
        dict(event="queued", direction="inbound", queue_id="Q1", sender="a@x.example", outcome="ok"),
        dict(event="delivery", direction="outbound", queue_id="Q1", sender=missing, recipient="r@d.example",
             outcome="permanent_failure", cause="mailbox.unknown"),
        dict(event="delivery", direction="outbound", queue_id=missing, sender=missing, recipient="s@d.example",
             outcome="permanent_failure", cause="mailbox.unknown"),
    ]
    ev = pd.DataFrame([{c: r.get(c, missing) for c in cols} for r in rows], columns=cols).astype(object)
    top, _ = top_tables(ev)
    assert [(d.get("sender"), d.get("failed_messages")) for d in top["senders"]] == [("a@x.example", 1)]
