"""The Exim summary folded in Rust (analyzer.fast_summary_exim, native/src/fold_exim.rs) equals the
general path's.

Three summaries of the same input are compared: the Rust fold (the readers' lines grouped in
Rust), the fold off (blocks parsed whole,
grouped by :class:`analyzer.fast_summary.BlockSummariser`) and the general path (the stream
classified and attributed in the main process, folded by SummaryFold). Over the sample Exim logs,
the shared corpus's Exim files, a generated day with deferral storms cut at awkward places (in
worker processes or not), compressed input, stdin, the printed text and JSON, the fallbacks, and
hypothesis-made lines (valid and edited anywhere).
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from analyzer import fast_summary, fast_summary_exim
from analyzer.class_cache import CLASS_KEY
from analyzer.classify import default_rules
from analyzer.classify_stream import StreamClassifier
from analyzer.fast_summary import FastSummaryFold
from analyzer.pipeline import EventStream
from analyzer.rules import load_rules
from analyzer.sinks import SummaryFold
from analyzer.sources import expand_inputs
from analyzer.summary import summarise_fold
from bench.generate_logs import generate

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"

pytestmark = pytest.mark.skipif(fast_summary_exim.fold_exim() is None, reason="no native Exim fold in this build")


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("exim-fold") / "mainlog"
    generate("exim", 8000, seed=7, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1",
             incidents=["deferral_buildup@2h+6h"])
    return p


@pytest.fixture
def ran(monkeypatch) -> list[int]:
    """The rows each call of the Rust fold read (the fold ran where this is not empty)."""
    got: list[int] = []
    folded = fast_summary_exim._folded

    def spy(fold, arr, tz, classes=False):
        out = folded(fold, arr, tz, classes)
        got.append(0 if out is None else len(out["row"]))
        return out

    monkeypatch.setattr(fast_summary_exim, "_folded", spy)
    return got


def _summary(paths: list[Path], mode: str, kb=None, **kw):
    general = StreamClassifier(kb or default_rules())
    fold = SummaryFold() if mode == "general" else FastSummaryFold(general)
    clf = general if mode == "general" else fold.summariser
    stream = EventStream(expand_inputs([str(p) for p in paths]), tz="UTC", classifier=clf,
                         columns=(*SummaryFold.READS, *clf.reads), **{"year": 2026, **kw})
    fold.fold(stream)
    # the line counts too (what --strict and the warnings read), not only what is printed
    return summarise_fold(fold, stream.counts, stream.files, stream.warnings), stream.counts


def _three(paths: list[Path], monkeypatch, kb=None, **kw) -> tuple:
    """(Rust fold, fold off, general path) summaries of the same inputs."""
    on = _summary(paths, "fold", kb, **kw)
    with monkeypatch.context() as m:
        m.setattr(fast_summary_exim, "fold_exim", lambda: None)
        off = _summary(paths, "fold", kb, **kw)
    general = _summary(paths, "general", kb, **kw)
    return on, off, general


def _same(paths: list[Path], monkeypatch, **kw) -> None:
    on, off, general = _three(paths, monkeypatch, **kw)
    assert on == off == general


@pytest.mark.parametrize("name", ["exim", "exim/mainlog", "exim/mainlog.1", "exim/mainlog.2.gz",
                                  "formats/exim-syslog"])
def test_sample_logs(name, monkeypatch, ran):
    _same([SAMPLES / name], monkeypatch, workers=1)
    if name.startswith("exim/"):
        assert sum(ran) > 0  # Exim's own format: the fold read lines


@pytest.mark.parametrize("name", ["exim/paniclog", "exim/rejectlog"])
def test_panic_and_reject_logs_take_the_general_path(name, monkeypatch, ran):
    _same([SAMPLES / name], monkeypatch, workers=1)
    assert sum(ran) == 0


@pytest.mark.parametrize("kw", [{"workers": 1, "batch_lines": 1}, {"workers": 1, "batch_lines": 97},
                                {"workers": 1, "batch_lines": 4096}, {"workers": 2, "block_bytes": 8192},
                                {"workers": 2, "block_bytes": 65536},
                                {"workers": 2, "block_bytes": 8192, "year": None}])
def test_generated_day_cut_anywhere(day, monkeypatch, ran, kw):
    on, off, general = _three([day], monkeypatch, **kw)
    assert general[0].by_cause  # the day has failures to attribute
    assert on == off == general
    if kw["workers"] == 1:  # (in a worker process the spy is not seen)
        assert sum(ran) > 0


def test_compressed_input(day, monkeypatch, tmp_path):
    gz = tmp_path / "mainlog.gz"
    with open(day, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    _same([gz], monkeypatch, workers=2, block_bytes=16384)


def test_corpus_files(monkeypatch):
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".log", "")
                   and ("exim" in str(p.relative_to(CORPUS)) or "mainlog" in p.name))
    files = [p for p in files if p.stat().st_size < 200_000][:60]
    if not files:
        pytest.skip("no shared corpus here")
    for p in files:
        on, off, general = _three([p], monkeypatch, workers=1)
        assert on == off == general, p


@pytest.mark.parametrize("env", [{"MAILLENS_ENGINE": "python"}, {"MAILLENS_FAST": "0"}])
def test_fallbacks(day, monkeypatch, ran, env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert fast_summary_exim.fold_exim() is None
    _same([day], monkeypatch, workers=1, batch_lines=500)
    assert not ran


def test_rules_with_other_host_signatures(day, monkeypatch):
    """Rules naming providers by other relay hosts than the shipped ones: the summary is the
    general path's."""
    kb = load_rules()
    kb.providers["gmail"] = dict(kb.providers["gmail"], host=r"(^|\.)example\.(org|com|net)$")
    on, off, general = _three([day], monkeypatch, kb=kb, workers=2, block_bytes=16384)
    assert general[0].by_cause and on == off == general


def test_fold_equals_the_readers_rows(day):
    """The Rust fold reads the lines EximReader reads, with the same stamps, queue ids and
    recipients; a group's rows have its representative's classification-key values."""
    from analyzer.parsers.exim_fast import read_exim_rows

    arr = pa.array(day.read_text().splitlines())
    got = fast_summary_exim._folded(fast_summary_exim.fold_exim(), arr, "Europe/Berlin")
    positions, table = read_exim_rows(arr, "Europe/Berlin")
    assert np.array_equal(got["row"], positions)
    assert got["ts"].equals(table.column("ts").combine_chunks())
    for c in ("queue_id", "recipient"):
        assert got[c].equals(table.column(c).combine_chunks())
    reps = got["reps"].select(CLASS_KEY)
    assert 0 < reps.num_rows < len(positions) // 4
    # every row's key values are its group's representative's
    expanded = reps.take(pa.array(got["gid"]))
    assert expanded.equals(table.select(CLASS_KEY).cast(expanded.schema))
    # groups numbered by first row, as fast_summary.groups numbers them
    gid, _ = fast_summary.groups(table, CLASS_KEY)
    assert np.array_equal(gid, got["gid"])


def test_summary_with_and_without_native_keys(day, monkeypatch):
    """Blocks summarised with the Exim fold's keys (classes, RAW) and without (raw groups keyed
    in the main process) give the general path's summary."""
    from analyzer import native

    if native.masker() is None:
        pytest.skip("no native masker in this build")
    raw = []
    packed = fast_summary._packed
    monkeypatch.setattr(fast_summary, "_packed", lambda *a: (lambda t: raw.append(
        fast_summary.carries_raw(t)) or t)(packed(*a)))
    on, _, general = _three([day], monkeypatch, workers=1, block_bytes=8192)
    assert any(raw)
    raw.clear()
    monkeypatch.setattr(native, "masker", lambda: None)
    off = _summary([day], "fold", workers=1, block_bytes=8192)
    assert not any(raw)
    assert on == off == general


def _cli(args: list[str], stdin: str | None = None) -> str:
    from analyzer.cli import app

    r = CliRunner().invoke(app, ["parse", *args], input=stdin)
    return f"{r.exit_code}\n{r.output}"


def _printed(monkeypatch, args: list[str], stdin: str | None = None) -> tuple[str, str, str]:
    on = _cli(args, stdin)
    with monkeypatch.context() as m:
        m.setattr(fast_summary_exim, "fold_exim", lambda: None)
        off = _cli(args, stdin)
    with monkeypatch.context() as m:
        m.setattr(FastSummaryFold, "eligible", staticmethod(lambda stream: False))
        general = _cli(args, stdin)
    return on, off, general


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_printed_summary_and_stdin(day, monkeypatch, fmt):
    on, off, general = _printed(monkeypatch, ["-f", fmt, "--tz", "UTC", str(day)])
    assert on == off == general and on.startswith("0\n") and "events" in on
    on, off, general = _printed(monkeypatch, ["-", "-f", fmt, "--tz", "Europe/Berlin"], stdin=day.read_text())
    assert on == off == general and on.startswith("0\n")
    on, off, general = _printed(monkeypatch, ["--strict", "-f", fmt, "--tz", "UTC", str(SAMPLES / "exim" / "mainlog")])
    assert on == off == general


@pytest.mark.parametrize("log_format", ["exim", "syslog", "auto"])
def test_forced_line_formats(monkeypatch, log_format):
    """A forced line format: Exim's own (the fold runs), another (the general path reads the lines)."""
    on, off, general = _printed(monkeypatch, ["--log-format", log_format, "-f", "json", "--tz", "UTC",
                                              str(SAMPLES / "exim" / "mainlog")])
    assert on == off == general


LINE = st.sampled_from([
    "2026-12-31 23:59:58 1vabcd-000001-AB <= a@b.example H=mail.b.example (helo.b) [192.0.2.1]:4321 P=esmtps "
    "S=1234 id=x@b.example",
    "2026-12-31 23:59:59 1vabcd-000001-AB => u@ourdomain.test R=local_user T=local_delivery",
    "2027-01-01 00:00:01 1vabcd-000001-AB == u@remote.example R=dnslookup T=remote_smtp defer (-44) H=mx.remote.example "
    "[198.51.100.7]: SMTP error from remote mail server after RCPT TO:<u@remote.example>: 451 4.7.1 Greylisted",
    "2027-01-01 00:00:02 1vabcd-000001-AB == u@remote.example routing defer (-51): retry time not reached",
    "2027-01-01 00:00:03 1vabcd-000001-AB ** u@remote.example R=dnslookup T=remote_smtp H=mx.remote.example "
    "[198.51.100.7]: SMTP error from remote mail server after RCPT TO:<u@remote.example>: 550 5.1.1 User unknown",
    "2027-01-01 00:00:03 1vabcd-000001-AB ** u@remote.example: retry timeout exceeded",
    "2027-01-01 00:00:04 1vabcd-000001-AB Completed",
    "2027-01-01 00:00:05 +0100 [123] SMTP connection from (x) [203.0.113.5]:555 lost",
    "2027-01-01 00:00:06 H=(x) [203.0.113.5] F=<s@x.example> rejected RCPT <r@ourdomain.test>: relay not permitted",
    "2027-01-01 00:00:06 H=(x) [203.0.113.5] F=<s@x.example> rejected RCPT <r@ourdomain.test>",
    "2027-01-01 00:00:07.123 1vabcd-000002-CD Message is frozen",
    "2027-01-01 00:00:08 something exim says rarely",
    "Jan  1 00:00:09 mx1 exim[5]: 2027-01-01 00:00:09 1vabcd-000003-EF Completed",
    "    continuation of a rejectlog entry",
    "",
])

MUTATED = st.builds(
    lambda line, at, junk: line[:at] + junk + line[at:],
    LINE, st.integers(0, 200), st.text(alphabet=" :[]<>=,;()0123456789aZ.-+\t\x00é", max_size=4))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(LINE, MUTATED), min_size=1, max_size=60), st.sampled_from([1, 3, 4096]))
def test_hypothesis_lines(tmp_path, monkeypatch, lines, cut):
    """Lines valid and edited anywhere (the fold's readers must give up where the tables do)."""
    p = tmp_path / "mainlog"
    p.write_text("\n".join(lines) + "\n")
    _same([p], monkeypatch, workers=1, batch_lines=cut)


def test_classes_merged_in_rust_as_in_python(day, monkeypatch):
    """The Exim blocks with the raw groups merged by key in Rust (fold_exim.rs ``classes``) are
    the blocks merged in Python (``fast_summary._classes``): the same rows, classes, raw groups
    and counts."""
    from analyzer import native
    from analyzer.parsers import FileContext, HeaderState
    from analyzer.parsers.syslog import Clock
    from analyzer.sources import iter_batches
    from tests.test_native_summary import same_blocks

    if native.masker() is None:
        pytest.skip("no native masker in this build")
    folded = fast_summary_exim._folded
    got = {}
    for classes in (True, False):
        monkeypatch.setattr(fast_summary_exim, "_folded", lambda f, a, tz, classes=False, _c=classes: folded(f, a, tz, _c))
        ctx = FileContext(day.name, HeaderState(Clock(tz="UTC", year=2026)))
        inp = expand_inputs([str(day)])[0]
        got[classes] = [fast_summary.fold_batch(b.lines, b.first_line, ctx)[0] for b in iter_batches(inp, print)]
    assert got[True] and got[True][0].num_rows > 1000
    same_blocks(got[True], got[False])
