"""search --store and trace --store read pass 1 projected (analyzer.narrow.wanted_columns): the
columns a filter names and the keys. The lines they pick must be those picked on every column, and
the streamed search over a store the search of the whole table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer.messages import link
from analyzer.narrow import (
    KEY_COLUMNS,
    read_store_matching,
    search_store_stream,
    search_wanted,
    trace_wanted,
    wanted_columns,
)
from analyzer.search import Filters, search
from analyzer.store import ingest, iter_event_batches, read_events
from bench.generate_logs import generate


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("projection")
    out = {}
    for mta in ("postfix", "exim"):
        log = d / f"{mta}.log"
        generate(mta, 4000, seed=5, out=str(log), start="2026-11-25T20:00:00", hours=30, host="mx1")
        out[mta] = d / f"store-{mta}"
        ingest([str(log)], out[mta], tz="UTC", year=2026, part_rows=500)
    return out


def _some(store: Path, column: str, has: str = "") -> str:
    """A value of ``column`` in the store (the most frequent, holding ``has``), to filter on."""
    s = read_events(store, columns=[column])[column].dropna()
    s = s[(s.astype(str) != "") & s.astype(str).str.contains(has, regex=False)]
    assert len(s), column
    return str(s.astype(str).value_counts().index[0])


def _filters(store: Path) -> list[Filters]:
    qid = _some(store, "queue_id")
    return [
        Filters(code=["5xx"]),
        Filters(code=["4.7.*"]),
        Filters(relay=[_some(store, "relay_host")]),
        Filters(text="(?i)refused|blocked"),
        Filters(code=["4xx"], since=pd.Timestamp("2026-11-26T02:00", tz="UTC")),
        Filters(sender=[_some(store, "sender")]),
        Filters(recipient=["*@*.example"]),
        Filters(domain=["*.example"]),
        Filters(client_ip=["0.0.0.0/0"]),
        Filters(queue_id=[qid]),
        Filters(message_id=[_some(store, "message_id")]),
        Filters(),
    ]


def _mask(wanted, table: pa.Table) -> np.ndarray:
    return np.asarray(wanted(table), dtype=bool)


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_search_wanted_picks_the_same_lines_on_its_columns(stores, mta):
    """Every filter kind: the lines picked from the projected table are those picked on all columns."""
    full = pa.concat_tables(list(iter_event_batches(stores[mta])))
    for f in _filters(stores[mta]):
        w = search_wanted(f)
        cols = wanted_columns(w)
        assert cols is not None and set(KEY_COLUMNS) <= set(cols)
        assert len(cols) < len(full.column_names)
        projected = full.select([c for c in full.column_names if c in cols])
        want = _mask(w, full)
        np.testing.assert_array_equal(_mask(w, projected), want, err_msg=str(f))


def test_cause_reads_every_column():
    """--cause classifies the lines: no projection."""
    assert wanted_columns(search_wanted(Filters(cause=["reputation.*"]))) is None


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_trace_wanted_picks_the_same_lines_on_its_columns(stores, mta):
    full = pa.concat_tables(list(iter_event_batches(stores[mta])))
    for q in (_some(stores[mta], "queue_id"), _some(stores[mta], "message_id"), _some(stores[mta], "recipient", "@")):
        w = trace_wanted(q)
        cols = wanted_columns(w)
        projected = full.select([c for c in full.column_names if c in cols])
        want = _mask(w, full)
        assert want.any(), q
        np.testing.assert_array_equal(_mask(w, projected), want, err_msg=q)


def _shown(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.drop(columns=[c for c in rows.columns if c.startswith("_")]).reset_index(drop=True)


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_store_search_with_projected_pass_one_equals_the_whole_search(stores, mta):
    """The streamed search --store (projected pass 1, default pass-2 batches, and small batches):
    the rows and counts of searching every row read whole."""
    events = read_events(stores[mta])
    for f in _filters(stores[mta]):
        whole = search(link(events), f)
        for rows in (None, 97):
            fold = search_store_stream(stores[mta], f, flush_rows=300, batch_rows=rows)
            pd.testing.assert_frame_equal(_shown(fold.rows), _shown(whole.rows), obj=str(f))
            assert (fold.nrows, fold.nmsgs) == (len(whole.rows), len(whole.msgs))


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_trace_store_read_with_projected_pass_one(stores, mta):
    """read_store_matching (trace --store): the events of the messages naming the query, as the
    messages linked from every row hold them."""
    qid = _some(stores[mta], "queue_id")
    got = read_store_matching(stores[mta], trace_wanted(qid))
    events = read_events(stores[mta])
    assert len(got) < len(events)
    ix = link(events)
    hit = events.index[(events["queue_id"] == qid).fillna(False).to_numpy()]
    msgs = set(ix.msg[hit.to_numpy()]) - {-1}
    want = events[np.isin(ix.msg, list(msgs))]
    keys = ["source", "line_no"]
    got_lines = set(map(tuple, got[keys].astype(str).to_numpy()))
    assert set(map(tuple, want[keys].astype(str).to_numpy())) <= got_lines
