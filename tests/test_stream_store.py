"""Ingest streams each file batch by batch: the store's rows do not depend on the batch size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer.classify import classify
from analyzer.reader import parse_logs
from analyzer.store import KEY, ingest, read_events
from analyzer.store._keys import KeySet, SourceKeys, event_keys
from bench.generate_logs import generate

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
WAITING = ("queue.retry_wait", "queue.expired", "queue.earlier_error_unseen")


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, Path]:
    """A generated Postfix and Exim log of two days each (deferrals, retries, give-ups)."""
    d = tmp_path_factory.mktemp("stream-days")
    out = {}
    for mta in ("postfix", "exim"):
        out[mta] = d / f"{mta}.log"
        generate(mta, 6000, seed=5, out=str(out[mta]), start="2026-11-25T20:00:00", hours=40, host="mx1")
    return out


def _rows(store: Path) -> pd.DataFrame:
    return read_events(store).sort_values(["source", "line_no", KEY]).reset_index(drop=True)


def _ingest(tmp_path: Path, name: str, paths: list[str], **kw) -> pd.DataFrame:
    s = tmp_path / name
    ingest(paths, s, tz="UTC", year=2026, **kw)
    return _rows(s)


@pytest.mark.parametrize("which", ["postfix", "exim"])
def test_ingest_rows_are_the_same_for_any_batch_size(tmp_path, days, which):
    """Batches of 1, 97 and all lines, parts of 500 rows or one: the same rows, keys and causes."""
    whole = _ingest(tmp_path, "whole", [str(days[which])], batch_lines=10**7)
    assert len(whole) > 5000 and whole[KEY].is_unique
    for n in (97, 1):
        if n == 1 and which == "exim":
            continue  # the same boundaries as postfix's; slow
        got = _ingest(tmp_path, f"b{n}", [str(days[which])], batch_lines=n, part_rows=500)
        pd.testing.assert_frame_equal(got, whole)


def _whole(path: Path) -> pd.DataFrame:
    """The file parsed, classified (with attribution) and keyed as one table, as the store's rows."""
    ev = classify(parse_logs([str(path)], tz="UTC", year=2026).events)
    table = pa.Table.from_pandas(ev, preserve_index=False)
    table = table.set_column(table.column_names.index("source"), "source",
                             pa.array([str(path)] * table.num_rows, pa.string()))
    ev[KEY] = pd.array(event_keys(table), dtype="int64[pyarrow]")
    ev["source"] = str(path)
    return ev.sort_values(["source", "line_no", KEY]).reset_index(drop=True)


@pytest.mark.parametrize("which", ["postfix", "exim"])
def test_ingest_equals_classifying_and_keying_the_whole_table(tmp_path, days, which):
    """What the store holds is the whole file parsed, classified and keyed at once."""
    got = _ingest(tmp_path, "s", [str(days[which])], batch_lines=250)
    want = _whole(days[which])
    for col in ("cause", "cause_ref", "severity", "fix_id", "outcome", KEY, "line_no", "ts"):
        assert got[col].astype(object).tolist() == want[col].astype(object).tolist(), col


def test_retry_waits_take_the_cause_of_an_error_in_an_earlier_batch(tmp_path):
    """Exim's `retry time not reached` lines take the cause of the error behind them even when it
    is batches back: the same causes and references as classifying the whole file."""
    path = SAMPLES / "exim" / "mainlog.1"
    got = _ingest(tmp_path, "s", [str(path)], batch_lines=4)
    want = _whole(path)
    for col in ("cause", "cause_ref", "severity", "fix_id", KEY):
        assert got[col].astype(object).tolist() == want[col].astype(object).tolist(), col
    waits = got[got["cause_ref"].notna()]
    behind = waits["line_no"] - waits["cause_ref"].astype(str).str.rsplit(":", n=1).str[1].astype(int)
    assert (behind > 4).any()  # the error was in an earlier batch
    assert (got["cause"] != "queue.earlier_error_unseen").sum() > 0


def test_sample_logs_and_rotated_sets_ingest_alike_in_small_batches(tmp_path):
    """Rotated sets (gz, rejectlog, paniclog), the year carried over: tiny batches keep every row."""
    paths = [str(SAMPLES / "postfix"), str(SAMPLES / "exim"), str(SAMPLES / "postfix-syslog")]
    whole = _ingest(tmp_path, "whole", paths)
    small = _ingest(tmp_path, "small", paths, batch_lines=3, part_rows=7)
    pd.testing.assert_frame_equal(small, whole)


def test_identical_lines_straddling_batches_are_all_kept(tmp_path):
    """The same line logged several times in one second, across batch ends: each copy is kept once,
    and ingesting the file again (in other batches) adds nothing."""
    line = "Nov 28 10:00:00 mx1 postfix/smtpd[77]: warning: hostname example.test does not resolve to address 192.0.2.7\n"
    other = "Nov 28 10:00:01 mx1 postfix/smtpd[77]: connect from unknown[192.0.2.7]\n"
    p = tmp_path / "mail.log"
    p.write_text(line * 5 + other + line * 4)
    got = _ingest(tmp_path, "s", [str(p)], batch_lines=2)
    assert len(got) == 10 and got[KEY].is_unique
    assert got[KEY].tolist() == _ingest(tmp_path, "w", [str(p)], batch_lines=100)[KEY].tolist()
    copy = tmp_path / "copy" / "mail.log.1"
    copy.parent.mkdir()
    copy.write_text(other + line * 9)  # same content in another order: 9 copies now fit in 9 keys
    r = ingest([str(copy)], tmp_path / "s", tz="UTC", year=2026, batch_lines=3)
    assert (r.added, r.duplicates) == (0, 10)


def test_source_keys_count_earlier_batches():
    """SourceKeys over batches gives event_keys of the whole table."""
    rng = np.random.default_rng(3)
    n = 400
    table = pa.table({"source": ["f"] * n, "line_no": np.arange(1, n + 1)})
    for name in ("ts", "host", "event"):  # few distinct values: many identical rows
        table = table.append_column(name, pa.array(rng.integers(0, 3, n).astype(str)))
    from analyzer.store import _keys

    cols = _keys.KEY_COLUMNS
    try:
        _keys.KEY_COLUMNS = ("ts", "host", "event")
        want = event_keys(table)
        sk = SourceKeys()
        got = np.concatenate([sk(table.slice(i, 33)) for i in range(0, n, 33)])
    finally:
        _keys.KEY_COLUMNS = cols
    assert len(np.unique(want)) == n
    assert got.tolist() == want.tolist()


def test_source_keys_spilled_to_disk_give_the_same_keys(monkeypatch):
    """SourceKeys whose older keys wait on disk (a tiny memory budget) give the whole table's keys,
    also when the log goes back in time, and remove their files when closed."""
    from analyzer.store import _keys

    monkeypatch.setattr(_keys.TimedKeys, "MEMORY_KEYS", 20)
    rng = np.random.default_rng(5)
    n = 600
    ts = np.sort(rng.integers(0, 40, n)) * 1_000_000
    ts[450:470] = ts[10:30]  # a stretch that goes back to the beginning
    table = pa.table({"source": ["f"] * n, "line_no": np.arange(1, n + 1),
                      "ts": pa.array(ts, pa.timestamp("us", "UTC")),
                      "host": pa.array(rng.integers(0, 2, n).astype(str))})
    monkeypatch.setattr(_keys, "KEY_COLUMNS", ("ts", "host"))
    want = event_keys(table)
    sk = SourceKeys()
    got = np.concatenate([sk(table.slice(i, 25)) for i in range(0, n, 25)])
    assert len(sk.given.spilled) > 3
    files = [p for p, _, _ in sk.given.spilled]
    assert len(sk.given) == n
    sk.close()
    assert len(np.unique(want)) == n and got.tolist() == want.tolist()
    assert not any(Path(f).exists() for f in files)


def test_keyset_finds_what_was_added():
    """KeySet: every added key is found, others are not, across merged and unmerged runs."""
    rng = np.random.default_rng(0)
    ks = KeySet()
    ks.MERGE_MAX = 64
    added = []
    for _ in range(40):
        k = rng.integers(-2**62, 2**62, rng.integers(0, 30))
        ks.add(k)
        added.append(k)
    allk = np.concatenate(added)
    assert ks.contains(allk).all() and len(ks) == len(allk)
    assert not ks.contains(rng.integers(-2**62, 2**62, 1000)).any()
    assert len(ks.runs) > 1


@pytest.fixture(scope="module")
def store(tmp_path_factory, days) -> Path:
    """The generated days and the sample logs in one store."""
    s = tmp_path_factory.mktemp("stream-store") / "s"
    ingest([str(days["postfix"]), str(days["exim"]), str(SAMPLES / "postfix")], s, tz="UTC", year=2026,
           part_rows=700)
    return s


@pytest.mark.parametrize("filters", [
    {"code": ["5xx"]},
    {"code": ["4xx"], "domain": ["*.example"]},
    {"cause": ["reputation.*"]},
    {"client_ip": ["198.51.100.0/24"]},
    {"text": "(?i)spamhaus|blocked|refused"},
    {"recipient": ["*@ourdomain.test"]},
    {"sender": ["nobody-at-all@nowhere.invalid"]},
])
def test_search_store_in_two_passes_equals_reading_it_whole(store, filters):
    """search --store holding only the matches answers as reading every row did, row for row."""
    from analyzer.messages import link
    from analyzer.narrow import read_store_matching, search_wanted
    from analyzer.search import Filters, search

    f = Filters(**filters)
    since, until = pd.Timestamp("2026-11-26T03:00", tz="UTC"), None
    want = search(link(read_events(store, since=since)), f).rows
    narrowed = read_store_matching(store, search_wanted(f), since=since, until=until)
    got = search(link(narrowed), f).rows

    def shown(rows: pd.DataFrame) -> pd.DataFrame:  # _msg: a row number in the index searched
        return rows.drop(columns=[c for c in rows.columns if c.startswith("_")]).reset_index(drop=True)

    pd.testing.assert_frame_equal(shown(got), shown(want))
    if filters.get("sender") != ["nobody-at-all@nowhere.invalid"]:
        assert len(want) > 0
    assert len(narrowed) < len(read_events(store, since=since))


def test_store_scan_gives_read_events_rows_in_batches(store):
    """iter_event_batches: the rows and order of read_events, in batches no larger than asked, for a time range
    that cuts row groups (their ts statistics skip the rest)."""
    from analyzer.store import iter_event_batches

    since, until = "2026-11-26T01:30:00", "2026-11-26T09:15:00"
    want = read_events(store, since=since, until=until)
    tables = list(iter_event_batches(store, since=since, until=until, batch_rows=128))
    assert tables and max(t.num_rows for t in tables) <= 128
    got = pa.concat_tables(tables).to_pandas(types_mapper=pd.ArrowDtype)
    pd.testing.assert_frame_equal(got, want)
