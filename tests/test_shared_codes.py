"""Codes made once and shared (r20-rstream): the peers' comparisons on a flush's dictionary-encoded
event/status (:func:`analyzer.totals.coded`), a batch's column of one value coded without a
dictionary encoding (:meth:`analyzer.anomalies.batch_tests.BatchTests.codes`), the kept rows'
Categoricals from the codes the batch's tests made already (:class:`analyzer.report.fold.RowsFold`),
and the peers' held lines cut to the events their folds read (:func:`analyzer.report.peers_held.selected`):
each answers as the strings do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies import batch_tests
from analyzer.anomalies.batch_tests import BatchTests
from analyzer.classify import classify, default_rules
from analyzer.reader import parse_logs
from analyzer.report.fold import RowsFold, _Batch
from analyzer.report.peers import MTA_EVENTS, peer_report
from analyzer.report.peers_held import selected
from analyzer.report.run import _CATEGORICAL, _FEW_VALUES, QUIET_BLANK, REPORT_COLUMNS
from analyzer.schema import to_pandas
from analyzer.totals import coded, eq, isin
from tools.peers import generated_day

WORDS = ["received", "reject", "", "délivré", "/var/log/mail.log" * 3]
_VALUES = st.lists(st.one_of(st.none(), st.sampled_from(WORDS)), max_size=60)


@settings(max_examples=80, deadline=None)
@given(_VALUES, st.integers(0, 5), st.sampled_from(WORDS))
def test_eq_and_isin_on_codes_as_on_strings(values, cut, value):
    """eq/isin of a dictionary-encoded column (coded: nulls a value of the dictionary; or the
    indices null, as pc.dictionary_encode gives them; sliced) equal those of its strings."""
    a = pa.array(values, pa.string()).slice(min(cut, len(values)))
    for d in (coded(a), pc.dictionary_encode(a), coded(pa.array(values, pa.string())).slice(min(cut, len(values)))):
        assert eq(d, value).tolist() == eq(a, value).tolist()
        assert isin(d, [value, "reject"]).tolist() == isin(a, [value, "reject"]).tolist()


@settings(max_examples=80, deadline=None)
@given(st.one_of(_VALUES, st.tuples(st.sampled_from(WORDS), st.integers(1, 50)).map(lambda p: [p[0]] * p[1])))
def test_a_column_codes_as_its_values_one_value_or_many(values):
    """A batch's codes give back each row's value (None for null) and compare as the strings do,
    whether every row holds one value (coded without a dictionary encoding) or not."""
    t = pa.table({"source": pa.array(values, pa.string())})
    batch = to_pandas(t)
    distinct, rows = BatchTests(batch, t).codes("source")
    assert [distinct[r] for r in rows] == values
    assert len(set(distinct.tolist())) == len(distinct)
    for w in WORDS:
        assert BatchTests(batch, t).eq("source", w).tolist() == [v == w for v in values]


def test_kept_rows_take_the_codes_the_batch_tests_made():
    """RowsFold over stream batches whose tests coded event, status, host, program and source
    (the masks' and the Bulk's) keeps what it keeps of the same rows in plain tables."""
    rng = np.random.default_rng(5)
    n = 900
    pick = {"event": ["received", "delivery", None, "reject"], "status": ["sent", None, "deferred"],
            "direction": ["inbound", "outbound"], "host": ["mx1", "mx2"], "program": ["postfix/smtpd", "postfix/qmgr"],
            "source": ["/var/log/mail.log"]}
    cols = {c: pa.array([pick[c][i] for i in rng.integers(0, len(pick[c]), n)], pa.string()) if c in pick
            else pa.array([f"v{i % 7}" for i in range(n)], pa.string()) for c in REPORT_COLUMNS if c != "ts"}
    cols["ts"] = pa.array(np.arange(n) * 10**6, pa.timestamp("us", tz="UTC"))
    table = pa.table({c: cols[c] for c in REPORT_COLUMNS if c in cols})
    columns = [c for c in REPORT_COLUMNS if c in table.column_names and c not in ("size", "line_no", "delay", "quit")]
    folds = [RowsFold(columns, few_values=_FEW_VALUES, categorical=_CATEGORICAL, blank_columns=QUIET_BLANK)
             for _ in range(2)]
    for at in range(0, n, 300):
        t = table.slice(at, 300).select(columns)
        stream, plain = _Batch.of(t, to_pandas(t)), to_pandas(t)
        for name in ("event", "status", "direction", "host", "program", "source"):
            batch_tests.tests_of(stream).codes(name)
        keep = rng.random(t.num_rows) < 0.6
        for fold, b in zip(folds, (stream, plain), strict=True):
            b.attrs["first_row"] = at
            fold.add(b, keep)
    a, b = (f.result() for f in folds)
    pd.testing.assert_frame_equal(a, b)
    assert isinstance(a["host"].dtype, pd.CategoricalDtype)


@pytest.fixture(scope="module", params=["postfix", "exim"])
def day(request, tmp_path_factory):
    mta = request.param
    logs = [str(generated_day(tmp_path_factory.mktemp("events") / f"{mta}.log", mta, lines=6000))]
    sample = Path(__file__).resolve().parent.parent / "sample_logs" / mta
    logs += [str(p) for p in sorted(sample.glob("*")) if p.is_file() and not p.name.endswith(".gz")] if sample.is_dir() else []
    ev = parse_logs(logs, tz="UTC", year=2026, fmt="exim" if mta == "exim" else "auto").events
    return classify(ev, default_rules()), mta


def test_the_peers_read_only_the_events_they_hold(day):
    """The peers' report of a day equals that of its lines of the events held (MTA_EVENTS): the
    others (dnsbl, disconnect, lost_connection ... for Postfix) change no count."""
    events, mta = day
    read = events["event"].isin(MTA_EVENTS[mta]).to_numpy(dtype=bool)
    assert 0 < read.sum() < len(events)
    assert peer_report(events[read].reset_index(drop=True)) == peer_report(events)
    t = pa.Table.from_pandas(events[["mta", "event", "queue_id"]], preserve_index=False)
    held, keep = selected(t, None)
    assert held.column_names == ["mta", "event", "queue_id"]
    assert keep is not None and pc.fill_null(keep, False).to_numpy(zero_copy_only=False).tolist() == read.tolist()
    # the same lines from the event codes a stream batch's masks made (with a kept-rows mask)
    stream = _Batch.of(t, to_pandas(t))
    tests = batch_tests.tests_of(stream)
    assert tests.cached_codes("event") is None
    tests.codes("event")
    some = pa.array(np.arange(len(t)) % 3 > 0)
    for mask in (None, some):
        _, by_codes = selected(t, mask, tests)
        _, by_strings = selected(t, mask)
        assert by_codes.to_pylist() == pc.fill_null(by_strings, False).to_pylist()


@pytest.mark.parametrize("engine", ["native", "python"])
@settings(max_examples=40, deadline=None)
@given(st.lists(_VALUES, min_size=1, max_size=4))
def test_sent_fold_codes_are_first_seen_over_batches(engine, batches):
    """The sent fold's key codes (a vocabulary under either engine): each distinct string's code in
    the order first seen over the batches, -1 for null; ``values`` the strings in code order (Arrow
    large strings since r26-r10m: pandas' ``str`` storage, no Python object per value)."""
    import os

    from analyzer.report.sent_fold import _Codes

    old = os.environ.get("MAILLENS_ENGINE")
    os.environ["MAILLENS_ENGINE"] = engine
    try:
        codes, seen = _Codes(), {}
        for values in batches:
            want = [-1 if v is None else seen.setdefault(v, len(seen)) for v in values]
            got = codes(pa.array(values, pa.string()))
            assert got.dtype == np.int32 and got.tolist() == want
        assert codes.values().to_pylist() == list(seen) and codes.values().type == pa.large_string()
    finally:
        if old is None:
            os.environ.pop("MAILLENS_ENGINE", None)
        else:
            os.environ["MAILLENS_ENGINE"] = old
