"""search streamed (analyzer.narrow.search_stream): the rows, their order and the counts of the
search over every matching line at once, however the input is cut into batches and groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyzer.messages import link
from analyzer.narrow import (
    SearchFold,
    _closure,
    _components,
    _LastSeen,
    collect_matching,
    search_files_stream,
    search_store_stream,
    search_wanted,
)
from analyzer.reader import open_stream, parse_logs
from analyzer.search import Filters, search
from analyzer.store import ingest, read_events
from bench.generate_logs import generate

FILTERS = [
    {"code": ["5xx"]},
    {"code": ["4xx"], "domain": ["*.example"]},
    {"text": "(?i)spamhaus|blocked|refused|greylist"},
    {"recipient": ["*@ourdomain.test"]},
    {"client_ip": ["198.51.100.0/24"], "code": ["5xx"]},
    {"code": ["5xx"], "since": pd.Timestamp("2026-11-26T10:00", tz="UTC")},
    {"sender": ["nobody-at-all@nowhere.invalid"]},
    {},
]


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, Path]:
    """Two days of Postfix and of Exim (deferrals retried for hours, bounces, notices)."""
    d = tmp_path_factory.mktemp("search-stream")
    for mta in ("postfix", "exim"):
        generate(mta, 5000, seed=11, out=str(d / f"{mta}.log"), start="2026-11-25T20:00:00", hours=40, host="mx1")
    return {mta: d / f"{mta}.log" for mta in ("postfix", "exim")}


@pytest.fixture(scope="module")
def stores(tmp_path_factory, days) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("search-stream-stores")
    out = {}
    for mta, path in days.items():
        out[mta] = d / mta
        ingest([str(path)], out[mta], tz="UTC", year=2026, part_rows=433)  # parts cut mid-message
    return out


def _shown(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as printed: without _msg (a message number in the index searched)."""
    return rows.drop(columns=[c for c in rows.columns if c.startswith("_")]).reset_index(drop=True)


@pytest.mark.parametrize("mta", ["postfix", "exim"])
@pytest.mark.parametrize("filters", FILTERS)
def test_files_streamed_equal_the_whole_search(days, mta, filters):
    """Batches of 97 lines, groups flushed after every batch (1) or every 700 rows: the rows of
    searching the whole log, in its order, and the same message count."""
    f = Filters(**filters)
    whole = search(link(parse_logs([str(days[mta])], tz="UTC", year=2026).events), f)
    narrowed = collect_matching(open_stream([str(days[mta])], tz="UTC", year=2026, batch_lines=97),
                                search_wanted(f))
    old = search(link(narrowed.events), f)
    pd.testing.assert_frame_equal(_shown(old.rows), _shown(whole.rows))
    for flush in (1, 700):
        stream = open_stream([str(days[mta])], tz="UTC", year=2026, batch_lines=97)
        fold = search_files_stream(stream, f, flush_rows=flush)
        pd.testing.assert_frame_equal(_shown(fold.rows), _shown(whole.rows))
        assert (fold.nrows, fold.nmsgs) == (len(whole.rows), len(whole.msgs))
    if filters.get("sender") != ["nobody-at-all@nowhere.invalid"]:
        assert len(whole.rows) > 0


@pytest.mark.parametrize("mta", ["postfix", "exim"])
@pytest.mark.parametrize("filters", FILTERS[:6])
def test_store_streamed_equals_the_whole_search(stores, mta, filters):
    """Parts of 433 rows read in batches of 61, a time range starting mid-day: read_events + search."""
    f = Filters(**filters)
    since = pd.Timestamp("2026-11-26T03:00", tz="UTC")
    whole = search(link(read_events(stores[mta], since=since)), f)
    fold = search_store_stream(stores[mta], f, since=since.to_pydatetime(), flush_rows=50, batch_rows=61)
    pd.testing.assert_frame_equal(_shown(fold.rows), _shown(whole.rows))
    assert (fold.nrows, fold.nmsgs) == (len(whole.rows), len(whole.msgs))
    assert len(whole.rows) > 0


def test_keep_holds_only_the_last_rows(stores):
    """keep=N: the last N rows of the full result (and the full counts), while holding few."""
    f = Filters(code=["4xx", "5xx"])
    full = search_store_stream(stores["postfix"], f, flush_rows=20, batch_rows=100)
    tail = search_store_stream(stores["postfix"], f, flush_rows=20, batch_rows=100, fold=SearchFold(keep=7, trim=30))
    assert full.nrows > 7 and (tail.nrows, tail.nmsgs) == (full.nrows, full.nmsgs)
    pd.testing.assert_frame_equal(_shown(tail.rows), _shown(full.rows).tail(7).reset_index(drop=True))
    assert tail.held < full.held


def test_closure_follows_chains_both_ways():
    edges = np.array([[1, 2], [3, 2], [3, 4], [10, 11], [5, 5]], dtype=np.uint64)
    assert _closure(np.array([4], np.uint64), edges).tolist() == [1, 2, 3, 4]
    assert _closure(np.array([11, 7], np.uint64), edges).tolist() == [7, 10, 11]
    assert _closure(np.array([5], np.uint64), edges).tolist() == [5]
    assert _closure(np.array([], np.uint64), edges).tolist() == []


def test_components_label_each_linked_group_once():
    keys = np.array([1, 2, 3, 4, 10, 11, 20], dtype=np.uint64)
    edges = np.array([[4, 3], [2, 1], [3, 2], [11, 10], [20, 99]], dtype=np.uint64)  # 99: not a key
    label = _components(keys, edges)
    assert label.tolist() == [0, 0, 0, 0, 4, 4, 6]


def test_last_seen_keeps_the_latest_through_compactions():
    seen = _LastSeen()
    rng = np.random.default_rng(3)
    want: dict[int, int] = {}
    for at in range(0, 600_000, 1000):  # enough keys to compact several times
        keys = rng.integers(1, 400_000, 900).astype(np.uint64)
        seen.add(keys, at)
        want.update(dict.fromkeys(keys.tolist(), at))
    probe = np.array([*list(want)[:5000], 400_001], dtype=np.uint64)
    assert seen.of(probe).tolist() == [want[k] for k in probe[:-1].tolist()] + [-1]


@pytest.mark.parametrize("merge_max", [4096, 1 << 20])
def test_last_seen_runs_stay_small_and_answer_the_last_row(merge_max):
    """With merges capped at ``merge_max`` entries (a merge never copies more), a key seen in
    batches far apart (so in different runs) still answers the last row it was seen at."""
    seen = _LastSeen()
    seen.MERGE_MAX = merge_max
    rng = np.random.default_rng(7)
    want: dict[int, int] = {}
    for at in range(0, 300_000, 1000):
        # a moving window of queue ids (as in a log in time order) and a few old ones seen again
        keys = np.concatenate([rng.integers(at, at + 3000, 600), rng.integers(1, 300_000, 20)]).astype(np.uint64)
        seen.add(keys, at)
        want.update(dict.fromkeys(keys.tolist(), at))
    assert all(len(k) <= max(merge_max, 620) for k, _ in seen.runs)
    if merge_max == 4096:
        assert len(seen.runs) > 10
    probe = np.array([*list(want), 10**9], dtype=np.uint64)
    assert seen.of(probe).tolist() == [want[k] for k in probe[:-1].tolist()] + [-1]
