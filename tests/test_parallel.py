"""Both cores: a file cut into blocks and parsed by worker processes gives, row for row, the
table, counts and file summaries of one pass in one process, whatever the blocks' guesses."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer import parallel
from analyzer.pipeline import Classifier, EventStream
from analyzer.reader import collect
from analyzer.sources import BLOCK_BYTES, block_lines, cut_blocks, expand_inputs, plan_blocks
from bench.generate_logs import generate

from .conftest import dead_pid

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
BLOCK = 8192  # small blocks: a few-thousand-line log is cut in dozens of places


def _run(paths, workers: int, *, block_bytes: int = BLOCK, **kw):
    stream = EventStream(expand_inputs([str(p) for p in paths]), tz="UTC", workers=workers,
                         block_bytes=block_bytes, **kw)
    return collect(stream), stream


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.events, b.events)
    assert a.counts == b.counts
    assert a.files == b.files
    assert a.warnings == b.warnings


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    d = tmp_path_factory.mktemp("days")
    generate(mta="postfix", lines=4000, seed=3, out=d / "mail.log", start="2026-11-28T00:00:00", hours=24)
    generate(mta="exim", lines=4000, seed=4, out=d / "mainlog", start="2026-11-28T00:00:00", hours=24)
    return d


@pytest.mark.parametrize("name", ["mail.log", "mainlog"])
def test_two_workers_equal_one(days, name):
    """A Postfix syslog file and an Exim mainlog cut into ~60 blocks parse alike in 1 and 2 processes."""
    one, _ = _run([days / name], 1, year=2026)
    two, stream = _run([days / name], 2, year=2026)
    assert len(one.events) > 3000 and (days / name).stat().st_size > 40 * BLOCK
    _same(one, two)
    assert stream.reparsed == 0  # the guesses were right
    assert list(two.events["line_no"]) == sorted(two.events["line_no"])  # numbered in the file, in order


def test_classified_in_workers_equals_classified_here(days):
    """Workers that classify their blocks give the classification of one process."""
    one, _ = _run([days / "mail.log"], 1, year=2026, classifier=Classifier())
    two, _ = _run([days / "mail.log"], 2, year=2026, classifier=Classifier())
    assert "cause" in two.events.columns
    _same(one, two)


class _KeySpy(Classifier):
    """A classifier that runs here, in order (as StreamClassifier), and records the keys it got."""

    carries_state = True

    def __init__(self) -> None:
        super().__init__(attributing=False)
        self.got: list = []

    def classify_many(self, tables, keys=None):
        self.got.append((tables, keys))
        return super().classify_many(tables, keys)


def test_keys_from_workers_classify_as_keys_here(days):
    """A classifier that runs in the main process gets the rows' classification keys from the
    workers (the keys of the very rows, grouped: distinct keys, each row's group, a row of each
    group; rows parted as class_key parts them), and classifies as one process, which computes them."""
    from analyzer.class_cache import Groups, class_key
    from analyzer.classify_stream import StreamClassifier
    from analyzer.parallel import _keys

    spy = _KeySpy()
    one, _ = _run([days / "mail.log"], 1, year=2026, classifier=_KeySpy())
    two, _ = _run([days / "mail.log"], 2, year=2026, classifier=spy, classify_rows=500)
    _same(one, two)
    given = [(t, k) for tables, keys in spy.got if keys is not None for t, k in zip(tables, keys, strict=True)]
    assert len(given) > 10 and len(spy.got) > 5
    for t, k in given:
        assert isinstance(k, Groups) and len(k) == t.num_rows
        key = _keys(t).rows()  # class_key's, or the native engine's (native.class_keys)
        assert (k.rows() == key).all() and len(np.unique(k.uniq)) == len(k.uniq)
        assert (key[k.reps] == k.uniq).all()
        ck = class_key(t)
        assert len(np.unique(np.stack([key, ck], axis=1), axis=0)) == len(np.unique(key)) == len(np.unique(ck))
    one, _ = _run([days / "mail.log"], 1, year=2026, classifier=StreamClassifier())
    two, _ = _run([days / "mail.log"], 2, year=2026, classifier=StreamClassifier(), classify_rows=1500)
    assert "cause" in two.events.columns
    _same(one, two)


def test_answers_made_in_workers_attributed_here_equal_one_process(days, monkeypatch):
    """From ANSWER_IN_WORKERS workers on, a StreamClassifier's answers per key are made in the
    workers (each with its own cache) and only attributed here: the table of one process, and
    the attribution sees every batch (none classified twice, none skipped)."""
    from analyzer import pipeline
    from analyzer.classify_stream import StreamClassifier

    class Spy(StreamClassifier):
        def __init__(self) -> None:
            super().__init__()
            self.attributed = self.many = 0

        def attribute(self, table):
            self.attributed += 1
            return super().attribute(table)

        def classify_many(self, tables, keys=None):
            self.many += 1
            return super().classify_many(tables, keys)

    for name in ("mail.log", "mainlog"):
        one, _ = _run([days / name], 1, year=2026, classifier=StreamClassifier())
        monkeypatch.setattr(pipeline, "ANSWER_IN_WORKERS", 2)
        spy = Spy()
        two, _ = _run([days / name], 2, year=2026, classifier=spy)
        monkeypatch.undo()
        assert "cause" in two.events.columns and len(two.events) > 3000
        assert spy.attributed > 20 and spy.many == 0  # every block answered in a worker
        _same(one, two)
        spy = Spy()
        here, _ = _run([days / name], 2, year=2026, classifier=spy)  # two workers: classified here
        assert spy.attributed == 0 and spy.many > 0
        _same(one, here)


def test_two_sets_of_files_held_whole_classify_in_two_workers(days):
    """Two sets of files (held whole for the repeated-runs check) with a classifier that takes the
    workers' keys: the keys of the blocks are not those of the held table (it crashed: a column
    of the blocks' length appended to the whole table), and two workers equal one."""
    from analyzer.classify_stream import StreamClassifier

    one, _ = _run([days / "mail.log", days / "mainlog"], 1, year=2026, classifier=StreamClassifier())
    two, _ = _run([days / "mail.log", days / "mainlog"], 2, year=2026, classifier=StreamClassifier())
    assert "cause" in two.events.columns and len(two.events) > 6000
    _same(one, two)


_NO_PANDAS_RUN = """
import os, sys
import pyarrow as pa
from analyzer import parallel
from analyzer.classify_stream import StreamClassifier
from analyzer.pipeline import EventStream
from analyzer.sources import expand_inputs

MAIN, _run_block = os.getpid(), parallel.run_block

def spy(job):  # each worker says whether it imported pandas
    r = _run_block(job)
    if os.getpid() != MAIN and "pandas" in sys.modules:
        r.warning = "pandas imported"
    return r

parallel.run_block = spy

def run(workers):
    stream = EventStream(expand_inputs([sys.argv[1]]), tz="UTC", year=2026, workers=workers, block_bytes=8192,
                         classifier=StreamClassifier())
    return pa.concat_tables([b.table for b in stream]), stream

assert "pandas" not in sys.modules
two, stream = run(2)  # forked before pandas: the workers parse without it
one, _ = run(1)
assert two.equals(one) and two.num_rows > 3000, (two.num_rows, one.num_rows)
print("pandas in workers:", sorted(set(stream.warnings)))
"""


def test_workers_forked_before_pandas_parse_alike(days):
    """A process that has not imported pandas forks its workers before it does (they start
    parsing while it imports pandas), and pyarrow in the workers never imports it: the same
    table as one process."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-c", _NO_PANDAS_RUN, str(days / "mail.log")], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(root)}, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    from analyzer import native

    if native.engine() == "native":  # the Python engine's parsers build frames: there pandas is needed
        assert "pandas in workers: []" in r.stdout, r.stdout
    else:
        assert "pandas in workers:" in r.stdout, r.stdout


def test_classifier_prepares_while_the_workers_start(days):
    """With workers, the stream starts the classifier's one-time loads on a thread when they
    fork; the first call for new keys waits for them: the same table, the thread joined."""
    from analyzer.classify_stream import StreamClassifier

    class Spy(StreamClassifier):
        prepared = 0

        def prepare(self) -> None:
            self.prepared += 1
            super().prepare()

    one, _ = _run([days / "mail.log"], 1, year=2026, classifier=StreamClassifier())
    spy = Spy()
    two, _ = _run([days / "mail.log"], 2, year=2026, classifier=spy)
    assert spy.prepared == 1 and spy.classifier._warming is None
    _same(one, two)


def test_classifier_without_keys_gets_none(days):
    """A classifier that does not say it takes keys is called as before (no keys argument), and
    the workers compute none for it."""
    got = []

    class Plain:
        carries_state = True

        def __init__(self):
            self.inner = Classifier(attributing=False)

        def __call__(self, table):
            return self.inner(table)

        def classify_many(self, tables):
            got.append(len(tables))
            return self.inner.classify_many(tables)

    one, _ = _run([days / "mail.log"], 1, year=2026, classifier=_KeySpy())
    two, _ = _run([days / "mail.log"], 2, year=2026, classifier=Plain(), classify_rows=500)
    _same(one, two)
    assert got


def test_new_year_inside_a_block_and_between_blocks(tmp_path):
    """Yearless stamps crossing 31 December: each block's year is right, guessed or not."""
    lines = [f"Dec 31 23:{m:02d}:{s:02d} mx postfix/qmgr[7]: 4BCD{m:02d}{s:02d}: removed"
             for m in range(50, 60) for s in range(60)]
    lines += [f"Jan  1 00:{m:02d}:{s:02d} mx postfix/qmgr[7]: 5BCD{m:02d}{s:02d}: removed"
              for m in range(10) for s in range(60)]
    p = tmp_path / "mail.log"
    p.write_text("\n".join(lines) + "\n")
    jan = pd.Timestamp("2027-01-02T12:00:00Z").timestamp()
    os.utime(p, (jan, jan))
    one, _ = _run([p], 1, block_bytes=4096)
    two, _ = _run([p], 2, block_bytes=4096)
    _same(one, two)
    assert list(two.events["ts"].dt.year) == [2026] * 600 + [2027] * 600


def test_wrong_guesses_are_parsed_again(days, monkeypatch):
    """Every block guessed wrong (another year, an Exim file): parsed again from the true state."""
    def wrong(self, head):
        return parallel.Start((1999, 6), {"exim": 10**9, "syslog_loose": 10**6})

    one, _ = _run([days / "mail.log"], 1)
    monkeypatch.setattr(parallel.Guesser, "state", wrong)
    two, stream = _run([days / "mail.log"], 2)
    _same(one, two)
    assert stream.reparsed == len(plan_blocks(days / "mail.log", BLOCK)) - 1  # all but the first

def test_gzip_in_two_workers_equals_plain_in_one(days, tmp_path):
    """A compressed file (decompressed on its own thread, blocks sent as bytes) parses like the plain one."""
    gz = tmp_path / "mail.log.gz"
    gz.write_bytes(gzip.compress((days / "mail.log").read_bytes()))
    plain, _ = _run([days / "mail.log"], 1, year=2026)
    packed, _ = _run([gz], 2, year=2026)
    assert plain.counts == packed.counts
    pd.testing.assert_frame_equal(plain.events.drop(columns=["source"]), packed.events.drop(columns=["source"]))


def test_rotated_set_with_rejectlog_in_two_workers(tmp_path, days):
    """Several files (a rotated set, a rejectlog whose copies are merged) keep order and duplicates."""
    d = tmp_path / "exim"
    d.mkdir()
    for name in ("mainlog.1", "rejectlog", "mainlog.2.gz"):
        shutil.copy(SAMPLES / "exim" / name, d / name)
    shutil.copy(days / "mainlog", d / "mainlog")
    one, _ = _run([d], 1)
    two, _ = _run([d], 2)
    assert one.counts.duplicates > 0
    _same(one, two)


def test_sample_logs_in_small_blocks_equal_one_process():
    """Every sample log (rotated sets, formats, panic log), cut in small blocks."""
    one, _ = _run([SAMPLES], 1, block_bytes=2048)
    two, _ = _run([SAMPLES], 2, block_bytes=2048)
    _same(one, two)


def test_blocks_are_cut_at_the_same_places_streamed_or_planned(days):
    """cut_blocks (a stream) and plan_blocks (a file, by seeking) agree, and lose no byte."""
    data = (days / "mail.log").read_bytes()
    for size in (1000, 4096, 65536):
        streamed = list(cut_blocks((data[i:i + 777] for i in range(0, len(data), 777)), size))
        planned = [data[s:e] for s, e in plan_blocks(days / "mail.log", size)]
        assert streamed == planned and b"".join(planned) == data
        assert all(b.endswith(b"\n") for b in planned)


def test_block_lines_cut_crlf_and_last_line():
    """CR LF is a line end wherever a block ends; the file's last line may lack a newline."""
    assert block_lines(b"a\r\nb\r\n") == ["a", "b"]
    assert block_lines(b"a\nb\r") == ["a", "b"]
    assert block_lines(b"\n") == [""]
    assert block_lines(b"") == []
    assert BLOCK_BYTES >= 1 << 20


def test_ipc_result_round_trips(days):
    """What a worker sends back reads as the table it parsed."""
    job = parallel.BlockJob("x", str(days / "mail.log"), 0, 5000, None, True, "UTC", 2026, None, None, False,
                            parallel.Start(), False)
    r = parallel.run_block(job)
    t = r.table()
    assert isinstance(t, pa.Table) and t.num_rows == r.counts.events > 0 and r.lines == r.counts.lines


def test_spooled_result_is_the_piped_one_and_its_file_goes(days, tmp_path):
    """A block's table handed over through a spool file (shared memory) reads as the one sent
    through the result pipe; taking it removes the file."""
    import dataclasses

    piped = parallel.BlockJob("x", str(days / "mail.log"), 0, 20000, None, True, "UTC", 2026, None, None, False,
                              parallel.Start(), False)
    r = parallel.run_block(dataclasses.replace(piped, spool=str(tmp_path)))
    assert r.ipc == b"" and r.path is not None and os.path.exists(r.path)
    t = r.table()
    assert os.listdir(tmp_path) == []
    want = parallel.run_block(piped)
    assert want.path is None and t.num_rows > 50 and t.equals(want.table())


def test_stream_removes_its_spool(days, tmp_path, monkeypatch):
    """The spool directory is gone after a stream, read to the end or left after one batch."""
    made = []

    def spool():
        d = tmp_path / f"spool{len(made)}"
        d.mkdir()
        made.append(d)
        return str(d)

    monkeypatch.setattr(parallel, "spool_dir", spool)
    one, _ = _run([days / "mail.log"], 1, year=2026)
    two, _ = _run([days / "mail.log"], 2, year=2026)
    _same(one, two)
    for ahead in (False, True):
        it = iter(EventStream(expand_inputs([str(days / "mail.log")]), tz="UTC", workers=2, block_bytes=BLOCK,
                              ahead=ahead))
        assert next(it).table.num_rows  # (other blocks' results may wait in the spool: timing)
        it.close()
    assert len(made) == 3 and not any(d.exists() for d in made)


def test_spools_of_killed_runs_are_swept(tmp_path, monkeypatch):
    """A spool directory named for a process that no longer exists (a run killed before it could
    remove it) goes when the next run makes its own; a live process's, another name's, stay."""
    pid = dead_pid()
    dead = tmp_path / f"maillens-{pid}-abc_12"
    live = tmp_path / f"maillens-{os.getpid()}-def_34"
    other = [tmp_path / "maillens-old_style", tmp_path / f"other-{pid}-x"]
    for d in (dead, live, *other):
        d.mkdir()
        (d / "block.arrow").write_bytes(b"x" * 100)
    monkeypatch.setattr(parallel, "SPOOL_BASE", str(tmp_path))
    made = parallel.spool_dir()
    assert made is not None and os.path.basename(made).startswith(f"maillens-{os.getpid()}-")
    assert not dead.exists() and live.exists() and all(d.exists() for d in other)
    assert parallel.sweep_spools(str(tmp_path)) == []  # nothing left to remove: the live ones stay


def test_workers_end_when_the_main_process_is_killed():
    """A main process killed before it could stop its pool (SIGKILL: no cleanup runs) does not
    leave its worker processes behind: they notice it is gone and end."""
    import signal
    import subprocess
    import sys
    import time

    code = ("import os, sys, time\n"
            "from analyzer import parallel\n"
            "ex = parallel.pool(2, None, None)\n"
            "pids = sorted({ex.submit(os.getpid).result() for _ in range(20)} | set(ex._processes))\n"
            "print(' '.join(map(str, pids)), flush=True)\n"
            "time.sleep(120)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    main = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    pids = [int(p) for p in main.stdout.readline().split()]
    assert len(pids) == 2 and main.pid not in pids
    main.send_signal(signal.SIGKILL)
    main.wait()
    deadline = time.monotonic() + 20 * parallel.PARENT_CHECK
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in pids if os.path.exists(f"/proc/{p}") and _state(p) != "Z"]
    assert alive == [], f"workers {alive} outlived their killed main process"


def _state(pid: int) -> str:
    """A process's state letter from /proc (Z: ended, waiting for its parent to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_batches_made_ahead_raise_and_stop_in_order():
    """The thread that makes batches ahead gives them in order, raises the maker's error after
    the batches before it, and a consumer that stops early closes the maker."""
    from analyzer.ahead import run_ahead as _ahead

    closed = []

    def maker(fail_at=None):
        try:
            for i in range(10):
                if i == fail_at:
                    raise ValueError("bad block")
                yield i
        finally:
            closed.append(True)

    assert list(_ahead(maker(), 2)) == list(range(10))
    got = []
    with pytest.raises(ValueError, match="bad block"):
        for b in _ahead(maker(fail_at=4), 2):
            got.append(b)
    assert got == [0, 1, 2, 3]
    it = _ahead(maker(), 1)
    assert next(it) == 0
    it.close()
    assert closed == [True, True, True]


def test_ahead_or_not_same_batches(days):
    """Batches made on a thread ahead of the consumer are the batches made in line."""
    from analyzer.classify_stream import StreamClassifier

    ahead, _ = _run([days / "mail.log"], 2, year=2026, classifier=StreamClassifier())
    inline, _ = _run([days / "mail.log"], 2, year=2026, classifier=StreamClassifier(), ahead=False)
    _same(ahead, inline)


def test_ahead_reports_an_error_of_the_producers_close():
    """A producer whose close fails: the consumer gets the error instead of waiting forever."""
    from analyzer.ahead import run_ahead

    class Producer:
        def __init__(self):
            self.items = iter(range(3))

        def __iter__(self):
            return self

        def __next__(self):
            return next(self.items)

        def close(self):
            raise OSError("spool not removed")

    got = []
    with pytest.raises(OSError, match="spool not removed"):
        for x in run_ahead(Producer(), 2):
            got.append(x)
    assert got == [0, 1, 2]


def test_workers_send_only_the_columns_asked_for():
    """EventStream.columns: worker processes send those columns (and line_no), the same rows and
    values as the whole table, and the parse summary folds to the same result."""
    from analyzer.classify_stream import StreamClassifier
    from analyzer.schema import CLASS_SCHEMA
    from analyzer.sinks import SummaryFold

    paths = [SAMPLES / "postfix"]
    cols = (*SummaryFold.READS, *StreamClassifier.reads)
    whole = EventStream(expand_inputs([str(p) for p in paths]), tz="UTC", workers=2, block_bytes=BLOCK,
                        classifier=StreamClassifier())
    part = EventStream(expand_inputs([str(p) for p in paths]), tz="UTC", workers=2, block_bytes=BLOCK,
                       classifier=StreamClassifier(), columns=cols)
    a, b = list(whole), list(part)
    assert len(a) == len(b) > 3
    for x, y in zip(a, b, strict=True):
        # the columns asked for, then the classification's (added after the projection)
        assert set(y.table.column_names) - set(CLASS_SCHEMA.names) == (set(cols) | {"line_no"}) - set(CLASS_SCHEMA.names)
        assert "sender" not in y.table.column_names
        assert x.table.select(y.table.column_names).equals(y.table)
    fa, fb = SummaryFold(), SummaryFold()
    for x, y in zip(a, b, strict=True):
        fa.add(x.table)
        fb.add(y.table)
    assert vars(fa) == vars(fb) and fa.rows > 100
