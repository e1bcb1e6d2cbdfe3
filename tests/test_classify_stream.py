"""The streamed classification (StreamClassifier) equals classifying the whole table, and its carry stays small."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from analyzer.attribution import UNSEEN
from analyzer.classify import classify
from analyzer.classify_stream import StreamClassifier
from analyzer.reader import open_stream, parse_logs
from bench.generate_logs import generate

COLUMNS = ["cause", "fix_id", "severity", "cause_ref"]
SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


def _generated(path: Path, mta: str) -> Path:
    generate(mta, 9000, seed=11, out=str(path), start="2026-11-25T20:00:00", hours=40, host="mx1",
             incidents=["deferral_buildup@4h+6h"])
    return path


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, Path]:
    """A generated Postfix and Exim log of 40 hours each (deferrals, retries, give-ups, removals)."""
    d = tmp_path_factory.mktemp("carry-days")
    return {mta: _generated(d / f"{mta}.log", mta) for mta in ("postfix", "exim")}


def _inputs(days: dict[str, Path], name: str) -> Path:
    return days[name] if name in days else SAMPLES / name


def _whole(path: Path) -> pa.Table:
    ev = parse_logs([str(path)], tz="UTC", year=2026, batch_lines=10_000_000, workers=1).events
    return pa.Table.from_pandas(classify(ev)[COLUMNS], preserve_index=False)


def _streamed(path: Path, batch_lines: int, watch=None) -> pa.Table:
    """The log's events (parsed, unclassified) cut into tables of ``batch_lines`` rows, each given
    to one StreamClassifier in turn (``watch(table, classifier)`` after each)."""
    events = pa.concat_tables([b.table for b in open_stream([str(path)], tz="UTC", year=2026, workers=1)])
    clf = StreamClassifier()
    parts = []
    for at in range(0, events.num_rows, batch_lines):
        parts.append(clf(events.slice(at, batch_lines)))
        if watch is not None:
            watch(parts[-1], clf)
    return pa.concat_tables(parts).select(COLUMNS)


def test_the_pipeline_classifying_as_it_reads_equals_whole_table(days):
    """The stream's own batches (the pipeline cutting the generated Exim day every 500 lines)
    classify as the whole day does."""
    clf = StreamClassifier()
    got = pa.concat_tables([b.table for b in open_stream([str(days["exim"])], tz="UTC", year=2026, batch_lines=500,
                                                         classifier=clf, workers=1)])
    _same(_whole(days["exim"]), got.select(COLUMNS))


def _same(a: pa.Table, b: pa.Table) -> None:
    assert a.num_rows == b.num_rows
    for name in COLUMNS:
        x, y = a.column(name).to_pylist(), b.column(name).to_pylist()
        diff = [i for i, (p, q) in enumerate(zip(x, y, strict=True)) if p != q]
        assert not diff, (name, diff[:5], [(x[i], y[i]) for i in diff[:3]])


@pytest.mark.parametrize("name", ["exim", "postfix/mail.log", "postfix-syslog/mail.log", "exim/mainlog"])
@pytest.mark.parametrize("batch_lines", [1, 7, 333, 2048])
def test_streamed_attribution_equals_whole_table(days, name, batch_lines):
    """Split anywhere (1 or 7 lines: a message's lines in several batches), every line's cause,
    fix, severity and pointer are those of classifying the whole log at once: a generated
    Exim day with deferral build-ups, the sample Postfix logs and the sample Exim logs."""
    path = _inputs(days, name)
    if batch_lines == 1 and name in days:
        pytest.skip("a line per batch: the sample logs only (slow on the generated day)")
    whole = _whole(path)
    assert pc.sum(pc.is_valid(whole.column("cause_ref"))).as_py() > 0  # attribution happened
    _same(whole, _streamed(path, batch_lines))


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_carry_holds_only_messages_in_flight(days, mta):
    """After every batch, the carried errors are of messages still queued (seen, not yet
    removed), at most one each, or are the last error of their recipient domain; a day's finished
    messages are dropped, so the carry ends holding far fewer messages than failed that day."""
    in_flight: set[str] = set()
    failing: set[str] = set()
    sizes = []

    def watch(t: pa.Table, clf: StreamClassifier) -> None:
        q = t.column("queue_id").to_pylist()
        ev = t.column("event").to_pylist()
        out = t.column("outcome").to_pylist()
        for qid, e, o in zip(q, ev, out, strict=True):
            if qid is None:
                continue
            if e == "removed":
                in_flight.discard(qid)
            else:
                in_flight.add(qid)
            if o in ("transient_failure", "permanent_failure"):
                failing.add(qid)
        c = clf.carry
        if c is None:
            return
        domains = clf.carry_domains.to_pylist()
        last_of_domain = {}
        for i, d in enumerate(domains):
            if d is not None:
                last_of_domain[d] = i
        for i, qid in enumerate(c.column("queue_id").to_pylist()):
            assert qid in in_flight or last_of_domain.get(domains[i]) == i, (qid, domains[i])
        qids = [q for q in c.column("queue_id").to_pylist() if q is not None]
        sizes.append(len(qids))
        assert len(qids) <= len(in_flight & failing)
        assert c.num_rows <= len(in_flight & failing) + len(set(domains))

    _same(_whole(days[mta]), _streamed(days[mta], 500, watch))
    # the messages carried at the end: those still queued, not every message that failed
    assert sizes and sizes[-1] < len(failing) / 2, (sizes[-1], len(failing))


def _postfix(lines: list[str], tmp_path: Path) -> Path:
    p = tmp_path / "mail.log"
    p.write_text("".join(f"Nov 25 {t} mx1 postfix/{rest}\n" for t, rest in (ln.split(" ", 1) for ln in lines)))
    return p


def test_a_reused_queue_id_is_another_message(tmp_path):
    """Postfix reuses queue ids: a message that gives up after an earlier message with the same
    queue id was removed does not take that message's error (whole or split between them)."""
    log = _postfix([
        "10:00:00 qmgr[1]: 4A1B2C3D4E: from=<a@ours.test>, size=100, nrcpt=1 (queue active)",
        "10:00:01 smtp[2]: 4A1B2C3D4E: to=<x@one.example>, relay=none, delay=1, delays=1/0/0/0, dsn=4.4.1, "
        "status=deferred (connect to one.example[192.0.2.1]:25: Connection refused)",
        "10:05:00 qmgr[1]: 4A1B2C3D4E: removed",
        "11:00:00 qmgr[1]: 4A1B2C3D4E: from=<b@ours.test>, size=100, nrcpt=1 (queue active)",
        "11:00:01 qmgr[1]: 4A1B2C3D4E: from=<b@ours.test>, status=expired, returned to sender",
        "11:00:02 qmgr[1]: 4A1B2C3D4E: removed",
        "11:10:00 qmgr[1]: 5B1B2C3D4E: from=<c@ours.test>, size=100, nrcpt=1 (queue active)",
        "11:10:01 smtp[2]: 5B1B2C3D4E: to=<y@two.example>, relay=none, delay=1, delays=1/0/0/0, dsn=4.4.1, "
        "status=deferred (connect to two.example[192.0.2.2]:25: Connection refused)",
        "11:20:00 qmgr[1]: 5B1B2C3D4E: from=<c@ours.test>, status=expired, returned to sender",
    ], tmp_path)
    whole = _whole(log)
    causes = whole.column("cause").to_pylist()
    assert causes[4] == UNSEEN  # the second 4A1B2C3D4E: its own message logged no error
    assert causes[8] == causes[7] != UNSEEN and whole.column("cause_ref").to_pylist()[8].endswith(":8")
    for n in (1, 2, 3, 4, 5):
        _same(whole, _streamed(log, n))


def test_carry_forgets_a_removed_message_but_keeps_its_domain(tmp_path):
    """Once a message is removed its error leaves the carry, unless it is its domain's last error
    (a later message to that domain that gives up with no error of its own takes it)."""
    log = _postfix([
        "10:00:00 qmgr[1]: 1A1B2C3D4E: from=<a@ours.test>, size=100, nrcpt=1 (queue active)",
        "10:00:01 smtp[2]: 1A1B2C3D4E: to=<x@one.example>, relay=none, delay=1, delays=1/0/0/0, dsn=4.4.1, "
        "status=deferred (connect to one.example[192.0.2.1]:25: Connection refused)",
        "10:00:02 smtp[2]: 2A1B2C3D4E: to=<y@one.example>, relay=none, delay=1, delays=1/0/0/0, dsn=4.4.1, "
        "status=deferred (connect to one.example[192.0.2.1]:25: Connection timed out)",
        "10:05:00 qmgr[1]: 1A1B2C3D4E: removed",
        "10:06:00 qmgr[1]: 2A1B2C3D4E: removed",
    ], tmp_path)
    seen = []
    _streamed(log, 1, lambda t, clf: seen.append(sorted(clf.carry.column("line_no").to_pylist())
                                                 if clf.carry is not None else None))
    assert seen[2] == [2, 3]  # each message's last error
    assert seen[3] == [3]  # 1A1B2C3D4E removed: its error was not its domain's last
    assert seen[4] == [3]  # 2A1B2C3D4E removed: kept as one.example's last error


@pytest.mark.parametrize("name", ["exim", "postfix", "postfix/mail.log", "exim/mainlog"])
def test_grouped_rows_attribute_as_the_whole_table(days, name):
    """Batches whose rows come grouped by classification key (as the workers send them), two or
    three per call: the attribution reads its masks per group, and every line's cause, fix,
    severity and pointer are those of classifying the whole log at once."""
    from analyzer.class_cache import Groups, class_key

    path = _inputs(days, name)
    events = pa.concat_tables([b.table for b in open_stream([str(path)], tz="UTC", year=2026, workers=1)])
    clf = StreamClassifier()
    batches = [events.slice(at, 97) for at in range(0, events.num_rows, 97)]
    parts: list[pa.Table] = []
    while len(parts) < len(batches):
        group = batches[len(parts): len(parts) + 2 + len(parts) % 2]
        parts += clf.classify_many(group, [Groups.of(class_key(b)) for b in group])
    whole = _whole(path)
    assert pc.sum(pc.is_valid(whole.column("cause_ref"))).as_py() > 0  # attribution happened
    _same(whole, pa.concat_tables(parts).select(COLUMNS))


def test_the_tail_kept_for_the_next_batch_holds_none_of_the_batch(days):
    """The previous batch's last line is made anew: none of its buffers lies in the batch's (a
    slice held the whole batch, a worker's block mapped from shared memory, to the end)."""
    events = pa.concat_tables([b.table for b in open_stream([str(days["exim"])], tz="UTC", year=2026, workers=1)])
    batch = events.slice(0, 3000).combine_chunks()
    clf = StreamClassifier()
    out = clf(batch)
    assert clf.tail is not None and clf.tail.num_rows == 1
    assert clf.tail.to_pylist() == out.select(clf.tail.column_names).slice(out.num_rows - 1).to_pylist()

    def spans(t: pa.Table) -> list[tuple[int, int]]:
        return [(b.address, b.address + b.size) for c in t.columns for ch in c.chunks for b in ch.buffers()
                if b is not None and b.size]

    held = spans(clf.tail)
    assert held and not any(lo < hi2 and lo2 < hi for lo, hi in held for lo2, hi2 in spans(batch) + spans(out))
