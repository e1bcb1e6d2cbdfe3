"""analyzer.anomalies.batch_tests: the report's masks built of a stream batch's shared column tests
(its Arrow table's dictionary codes and validity) equal the same masks over the same table held
any other way (objects, Categoricals, Arrow-backed without a table), and a shared answer cannot
be changed in place."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies import batch_tests
from analyzer.anomalies.aggregates import fold_masks, is_completed, is_queued, is_received
from analyzer.anomalies.folded import is_login, is_quiet_disconnect, is_quiet_login, is_session_end, quiet
from analyzer.anomalies.sent import is_local_sent, is_quiet_local_sent, is_sent
from analyzer.report.ends_fold import is_foldable_end
from analyzer.report.fold import _Batch
from analyzer.report.run import REPORT_COLUMNS, quiet_rows
from analyzer.report.sent_fold import is_foldable_sent
from analyzer.schema import to_pandas

#: The values the masks compare, and a few they never name.
CHOICES = {
    "event": ["connect", "disconnect", "tls", "screen", "message_id", "removed", "queued", "received", "delivery",
              "lost_connection", "timeout", "too_many_errors", "reject", "other"],
    "direction": ["inbound", "outbound", "local", "weird"],
    "outcome": ["ok", "info", "transient_failure", "permanent_failure", "odd"],
    "severity": ["info", "warning", "critical"],
    "cause": ["session.closed", "local.resource", "queue.expired", "delivery.sent", "system.stats"],
    "status": ["sent", "completed", "deferred", "bounced"],
    "action": ["delivered", "expired", "retrying"],
}
#: Columns only tested for nulls.
TEXTS = ("queue_id", "sender", "recipient", "detail", "reply_text", "client_ip", "sasl_username", "cause_ref")


def _table(draw_rows: list[dict]) -> pa.Table:
    cols: dict[str, pa.Array] = {}
    n = len(draw_rows)
    for c in REPORT_COLUMNS:
        if c == "ts":
            cols[c] = pa.array([None if r["ts"] is None else pd.Timestamp("2026-11-23", tz="UTC").value // 1000 + r["ts"]
                                for r in draw_rows], pa.timestamp("us", tz="UTC"))
        elif c in ("delay",):
            cols[c] = pa.array([r.get(c) for r in draw_rows], pa.float64())
        elif c in ("size", "line_no"):
            cols[c] = pa.array(list(range(n)), pa.int64())
        elif c == "quit":
            cols[c] = pa.array([None] * n, pa.bool_())
        else:
            cols[c] = pa.array([r.get(c) for r in draw_rows], pa.string())
    return pa.table(cols)


_ROW = st.fixed_dictionaries(
    {c: st.one_of(st.none(), st.sampled_from(v)) for c, v in CHOICES.items()}
    | {c: st.one_of(st.none(), st.just("x")) for c in TEXTS}
    | {"ts": st.one_of(st.none(), st.integers(0, 10**9)), "delay": st.one_of(st.none(), st.just(1.5))})

_MASKS = {
    "fold_masks": lambda b: np.concatenate(fold_masks(b)),
    "queued": is_queued, "received": is_received, "completed": is_completed,
    "sent": is_sent, "local_sent": is_local_sent, "quiet_local_sent": is_quiet_local_sent,
    "quiet": quiet, "login": is_login, "quiet_login": is_quiet_login, "session_end": is_session_end,
    "quiet_disconnect": is_quiet_disconnect, "foldable_sent": is_foldable_sent, "quiet_rows": quiet_rows,
    "foldable_end": is_foldable_end,
}


def _all_masks(batch: pd.DataFrame) -> dict[str, list[bool]]:
    return {name: np.asarray(f(batch), dtype=bool).tolist() for name, f in _MASKS.items()}


def _held_otherwise(table: pa.Table) -> list[pd.DataFrame]:
    frame = to_pandas(table)
    plain = frame.copy()
    for c in plain.columns:
        if isinstance(plain[c].dtype, pd.ArrowDtype) and pa.types.is_string(plain[c].dtype.pyarrow_dtype):
            plain[c] = plain[c].astype(object).where(plain[c].notna(), None)
    cats = plain.copy()
    for c in CHOICES:
        cats[c] = cats[c].astype("category")
    return [frame, plain, cats, _Batch(frame)]


@settings(max_examples=60, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=40))
def test_a_stream_batch_masks_as_any_table_does(rows):
    table = _table(rows)
    batch = _Batch.of(table, to_pandas(table))
    got = _all_masks(batch)
    for other in _held_otherwise(table):
        assert _all_masks(other) == got


def test_a_chunked_table_and_the_batch_keeps_its_tests():
    rows = [{"event": "connect", "direction": "inbound", "outcome": "ok", "severity": "info", "cause": "session.closed",
             "ts": 5}, {"event": "received", "direction": None, "outcome": "info", "severity": "info", "ts": 6,
                        "queue_id": "Q", "sender": "s"}] * 3
    one = _table(rows)
    chunked = pa.concat_tables([one.slice(0, 2), one.slice(2)])
    assert chunked.column("event").num_chunks == 2
    batch = _Batch.of(chunked, to_pandas(chunked))
    assert batch_tests.tests_of(batch) is batch_tests.tests_of(batch)  # made once per stream batch
    assert _all_masks(batch) == _all_masks(to_pandas(one))
    t = batch_tests.tests_of(batch)
    assert t.eq("event", ("connect", "received")).tolist() == [True] * 6
    assert t.eq("direction", "inbound").tolist() == [True, False] * 3  # null: False
    assert t.null("queue_id").tolist() == [True, False] * 3
    assert t.null("no_such_column").all()


def test_a_shared_answer_is_read_only():
    table = _table([{"event": "delivery", "ts": 1}, {"event": None, "ts": None}])
    t = batch_tests.BatchTests(to_pandas(table), table)
    m = t.eq("event", "delivery")
    with pytest.raises(ValueError):
        m &= False
    assert t.eq("event", "delivery").tolist() == [True, False]
    with pytest.raises(ValueError):
        t.null("ts")[0] = False


def test_each_mask_picks_its_lines_in_every_holding():
    well = {"outcome": "ok", "severity": "info", "cause": "delivery.sent", "ts": 7}
    rows = [
        {**well, "event": "connect", "direction": "inbound"},  # bulk
        {**well, "event": "queued", "queue_id": "Q", "sender": "s"},  # queued
        {**well, "event": "received", "queue_id": "Q", "sender": "s"},  # received
        {**well, "event": "removed", "queue_id": "Q", "status": "completed"},  # completed
        {**well, "event": "delivery", "direction": "local", "status": "sent", "queue_id": "Q"},  # quiet local sent
        {**well, "event": "delivery", "direction": "outbound", "status": "sent", "queue_id": "Q", "recipient": "r"},
        {**well, "event": "received", "direction": "inbound", "queue_id": "Q", "sasl_username": "u",
         "client_ip": "1.2.3.4"},  # quiet login
        {**well, "event": "lost_connection", "direction": "inbound", "outcome": "info"},  # session end
        {**well, "event": "disconnect", "direction": "inbound", "cause": "local.resource"},  # none of them
        {**well, "event": "disconnect", "direction": "inbound", "cause": "session.closed"},  # a quiet disconnect
    ]
    table = _table(rows)
    got = _all_masks(_Batch.of(table, to_pandas(table)))
    for name, m in got.items():
        assert any(m), name
    assert not any(got[name][8] for name in got if name not in ("quiet_rows",))
    for other in _held_otherwise(table):
        assert _all_masks(other) == got
