"""The summary folded where blocks are parsed (analyzer.fast_summary) equals the general path's.

The general path: the stream classified and attributed in the main process (StreamClassifier),
folded by SummaryFold. Compared: the ParseSummary (every printed field), and the printed text
and JSON of ``maillens parse``, over sample logs, corpus files, generated days (with deferral
storms: retry-waits, give-ups, bare rejects), cut at awkward places, in worker processes or not,
compressed, with both engines, and over hypothesis-made lines.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from analyzer import fast_summary
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


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("summary-days")
    out = {}
    for mta in ("postfix", "exim"):
        p = d / f"{mta}.log"
        generate(mta, 6000, seed=5, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1",
                 incidents=["deferral_buildup@2h+6h"])
        out[mta] = p
    return out


def _summaries(paths: list[Path], kb=None, **kw) -> tuple:
    """(fast, general) ParseSummary of the same inputs and stream options (rules ``kb``)."""
    got = []
    for fast in (True, False):
        general = StreamClassifier(kb or default_rules())
        fold = FastSummaryFold(general) if fast else SummaryFold()
        clf = fold.summariser if fast else general
        columns = (*SummaryFold.READS, *clf.reads)
        opts = {"year": 2026, **kw}
        stream = EventStream(expand_inputs([str(p) for p in paths]), tz="UTC", classifier=clf, columns=columns,
                             **opts)
        fold.fold(stream)
        got.append(summarise_fold(fold, stream.counts, stream.files, stream.warnings))
    return tuple(got)


def _same(paths: list[Path], **kw) -> None:
    fast, general = _summaries(paths, **kw)
    assert fast == general


@pytest.mark.parametrize("name", ["postfix", "exim", "postfix-syslog", "formats/exim-syslog",
                                  "formats/postfix-syslog-rfc3339", "exim/mainlog", "exim/paniclog"])
def test_sample_logs(name):
    _same([SAMPLES / name], workers=1)


@pytest.mark.parametrize("mta", ["postfix", "exim"])
@pytest.mark.parametrize("kw", [{"workers": 1, "batch_lines": 1}, {"workers": 1, "batch_lines": 97},
                                {"workers": 1, "batch_lines": 4096}, {"workers": 2, "block_bytes": 8192},
                                {"workers": 2, "block_bytes": 65536},
                                # the year of yearless stamps guessed per block (a year end in the day)
                                {"workers": 2, "block_bytes": 8192, "year": None}])
def test_generated_days_cut_anywhere(days, mta, kw):
    fast, general = _summaries([days[mta]], **kw)
    assert general.by_cause  # the day has failures to attribute
    assert fast == general


def test_compressed_input(days, tmp_path):
    gz = tmp_path / "mail.log.gz"
    with open(days["postfix"], "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    _same([gz], workers=2, block_bytes=16384)


def test_python_engine(days, monkeypatch):
    monkeypatch.setenv("MAILLENS_ENGINE", "python")
    _same([days["exim"]], workers=1, batch_lines=500)


def test_corpus_files():
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".log", "")
                   and ("mail" in p.name or "exim" in p.name or "postfix" in p.name or "mainlog" in p.name))[:40]
    if not files:
        pytest.skip("no shared corpus here")
    for p in files:
        _same([p], workers=1)


def test_secondary_logs_take_the_general_path(monkeypatch):
    called = []
    monkeypatch.setattr(fast_summary.BlockSummariser, "__call__",
                        lambda self, t, keys=None: called.append(1) or t)
    fold = FastSummaryFold(StreamClassifier(default_rules()))
    stream = EventStream(expand_inputs([str(SAMPLES / "exim")]), tz="UTC", year=2026, classifier=fold.summariser,
                         workers=1)
    fold.fold(stream)
    assert not called and fold.by_event


def test_rules_with_other_host_signatures(days):
    """Rules naming providers by other relay hosts (than the shipped ones, which keys computed in
    workers use): the summary is the general path's."""
    kb = load_rules()
    kb.providers["gmail"] = dict(kb.providers["gmail"], host=r"(^|\.)example\.(org|com|net)$")
    fast, general = _summaries([days["postfix"]], kb=kb, workers=2, block_bytes=16384)
    assert general.by_cause and fast == general


LINE = st.sampled_from([
    "Dec 31 23:59:58 mx1 postfix/smtp[11]: ABC123: to=<a@b.example>, relay=none, delay=1, dsn=4.4.1, "
    "status=deferred (connect to b.example[192.0.2.1]:25: Connection timed out)",
    "Jan  1 00:00:01 mx1 postfix/qmgr[12]: ABC123: from=<x@y.example>, size=10, nrcpt=1 (queue active)",
    "Jan  1 00:00:02 mx1 postfix/smtp[11]: ABC123: to=<a@b.example>, relay=b.example[192.0.2.1]:25, delay=2, "
    "dsn=4.7.1, status=deferred (host b.example[192.0.2.1] said: 450 4.7.1 Try again later (in reply to RCPT TO command))",
    "Jan  1 00:00:03 mx1 postfix/qmgr[12]: ABC123: removed",
    "Jan  1 00:00:03 mx1 postfix/smtpd[13]: NOQUEUE: reject: RCPT from u[192.0.2.9]: 554 5.7.1 <c@d>: "
    "Relay access denied; from=<e@f> to=<c@d> proto=ESMTP helo=<u>",
    "Jan  1 00:00:04 mx1 postfix/error[14]: ABC124: to=<z@b.example>, relay=none, delay=9, dsn=4.4.1, "
    "status=deferred (delivery temporarily suspended: connect to b.example[192.0.2.1]:25: Connection timed out)",
    "Jan  1 00:00:05 mx1 postfix/qmgr[12]: ABC124: from=<x@y.example>, status=expired, returned to sender",
    "Jan  1 00:00:05 mx1 sshd[9]: Accepted publickey for root",
    "Jan  1 00:00:06 mx1 postfix/smtpd[13]: something postfix never says",
    "not a log line at all",
    "",
])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(LINE, min_size=1, max_size=60), st.integers(1, 7))
def test_hypothesis_lines(tmp_path, lines, cut):
    p = tmp_path / "mail.log"
    p.write_text("\n".join(lines) + "\n")
    _same([p], workers=1, batch_lines=cut)


def _cli(args: list[str], stdin: str | None = None) -> str:
    from analyzer.cli import app

    r = CliRunner().invoke(app, ["parse", *args], input=stdin)
    return f"{r.exit_code}\n{r.output}"


def _both(monkeypatch, args: list[str], stdin: str | None = None) -> tuple[str, str]:
    fast = _cli(args, stdin)
    with monkeypatch.context() as m:
        m.setattr(FastSummaryFold, "eligible", staticmethod(lambda stream: False))
        general = _cli(args, stdin)
    return fast, general


def test_stdin_strict_and_no_mail_lines(days, monkeypatch, tmp_path):
    text = days["exim"].read_text()
    fast, general = _both(monkeypatch, ["-", "--tz", "UTC", "-f", "json"], stdin=text)
    assert fast == general and fast.startswith("0\n")
    fast, general = _both(monkeypatch, ["--strict", "--tz", "UTC", str(SAMPLES / "postfix")])
    assert fast == general
    other = tmp_path / "messages"
    other.write_text("Jan  1 00:00:01 host sshd[1]: Accepted publickey for root\n" * 5)
    fast, general = _both(monkeypatch, ["--tz", "UTC", str(other)])
    assert fast == general and not fast.startswith("0\n")  # no mail lines: an error, the same


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_printed_summary(days, monkeypatch, fmt):
    for paths in ([str(days["postfix"])], [str(days["exim"])], [str(SAMPLES / "postfix")]):
        args = ["-f", fmt, "--tz", "UTC", *paths]
        fast, general = _both(monkeypatch, args)
        assert fast == general
        assert "events" in fast


def test_blocks_parsed_again_after_a_wrong_guess(days, monkeypatch):
    """A block whose guessed start (here: an Exim log) was wrong is summarised again in the main process."""
    from analyzer import parallel

    monkeypatch.setattr(parallel.Guesser, "state", lambda self, head: parallel.Start(None, {"exim": 10**9}))
    fold = FastSummaryFold(StreamClassifier(default_rules()))
    stream = EventStream(expand_inputs([str(days["postfix"])]), tz="UTC", year=2026, classifier=fold.summariser,
                         columns=(*SummaryFold.READS, *fold.summariser.reads), workers=2, block_bytes=8192)
    fold.fold(stream)
    assert stream.reparsed > 0
    _, general = _summaries([days["postfix"]], workers=2, block_bytes=8192)
    assert summarise_fold(fold, stream.counts, stream.files, stream.warnings) == general


def test_rust_fold_runs_and_equals_the_python_parse(days, monkeypatch):
    """The Postfix day's fast-path rows are folded in Rust (fold_batch took them), and the
    summary is the same with the Rust fold off (the blocks parsed whole, grouped in Python)."""
    from analyzer import native

    if native.fold_postfix() is None:
        pytest.skip("no native fold in this build")
    folded = []
    split = fast_summary._fold_split
    monkeypatch.setattr(fast_summary, "_fold_split", lambda arr, state, **kw: folded.append(1) or split(arr, state, **kw))
    on, general = _summaries([days["postfix"]], workers=1, block_bytes=8192, year=None)
    assert len(folded) > 3
    monkeypatch.setattr(native, "fold_postfix", lambda: None)
    off, _ = _summaries([days["postfix"]], workers=1, block_bytes=8192, year=None)
    assert on == off == general


MUTATED = st.builds(
    lambda line, at, junk: line[:at] + junk + line[at:],
    LINE, st.integers(0, 200), st.text(alphabet=" :[]<>=,;()0123456789aZ.-\t\x00é", max_size=4))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(LINE, MUTATED), min_size=1, max_size=80), st.sampled_from([1, 3, 4096]))
def test_hypothesis_mutated_lines(tmp_path, lines, cut):
    """Lines edited anywhere (the Rust fold's readers must give up where the Python tables do)."""
    p = tmp_path / "mail.log"
    p.write_text("\n".join(lines) + "\n")
    _same([p], workers=1, batch_lines=cut)


def test_other_programs_counted_in_the_fold_in_python_order(tmp_path, monkeypatch):
    """Other programs' lines counted by the Rust fold (fold.rs Foreign), beside ones finish_batch
    counts (a message ending in a space, an RFC 3339 header, no header): the same counts in the
    same order (ties in most_common keep it) as the general path's, in one block and cut into many."""
    from analyzer import native

    if native.foreign() is None:
        pytest.skip("no native fold of other programs' lines in this build")
    pf = "Dec  3 10:00:{s:02d} mx postfix/qmgr[1]: B7C3616BE38F: removed"
    lines = []
    for i in range(40):
        s = i % 60
        lines += [pf.format(s=s),
                  f"Dec  3 10:00:{s:02d} mx dovecot: imap(u{i}): Logged out",
                  f"Dec  3 10:00:{s:02d} mx opendkim[7]: B7C3616BE38F: DKIM-Signature field added ",  # trailing space
                  f"2026-12-03T10:00:{s:02d}+00:00 mx amavis[9]: ({i}) Passed CLEAN",
                  f"Dec  3 10:00:{s:02d} mx sys/cron[3]: (root) CMD (run-parts)",
                  f"Dec  3 10:00:{s:02d} mx wrap[4]: 2026-12-03 10:00:{s:02d} 1vQbcd-000abc-Ab <= a@b.example"]
    log = tmp_path / "mixed.log"
    log.write_text("\n".join(lines) + "\n")
    seen = []
    merge = fast_summary._foreign
    monkeypatch.setattr(fast_summary, "_foreign", lambda *a: seen.append(a[0]) or merge(*a))
    for kw in ({"workers": 1}, {"workers": 1, "block_bytes": 2048}):
        fast, general = _summaries([log], **kw)
        assert fast == general
        assert [p for p, _ in fast.foreign_programs][:3] and fast.foreign > 0
    assert any(seen)


def test_classes_merged_in_rust_as_in_python(days, tmp_path, monkeypatch):
    """fold_batch's blocks with the raw groups merged by key in Rust (fold.rs ``classes``) are the
    blocks merged in Python (``_classes`` over the raw groups): the same rows, classes, raw
    groups and counts, byte for byte, with Python-parsed lines (another program's, a message
    the readers leave) among the folded ones."""
    from analyzer import native
    from analyzer.parsers import FileContext, HeaderState
    from analyzer.parsers.syslog import Clock
    from analyzer.sources import iter_batches

    if native.fold_postfix() is None or native.masker() is None:
        pytest.skip("no native fold in this build")
    lines = days["postfix"].read_text().splitlines()
    lines[5:5] = [lines[4][:16] + "mx1 postfix/smtpd[7]: warning: odd thing 1", lines[4][:16] + "mx1 cron[2]: job"]
    p = tmp_path / "mail.log"
    p.write_text("\n".join(lines) + "\n")
    split = fast_summary._fold_split
    got = {}
    for classes in (True, False):
        monkeypatch.setattr(fast_summary, "_fold_split", lambda arr, state, classes=False, _c=classes: split(arr, state, _c))
        ctx = FileContext(p.name, HeaderState(Clock(tz="UTC", year=2026)))
        inp = expand_inputs([str(p)])[0]
        got[classes] = [fast_summary.fold_batch(b.lines, b.first_line, ctx)[0] for b in iter_batches(inp, print)]
    assert len(got[True]) >= 1 and got[True][0].num_rows > 1000
    same_blocks(got[True], got[False])


def same_blocks(merged: list[pa.Table], raw: list[pa.Table]) -> None:
    """Summarised blocks equal: rows, counts, and the classes and raw groups as tables."""
    assert len(merged) == len(raw)
    for a, b in zip(merged, raw, strict=True):
        assert a.equals(b)
        ma, mb = a.schema.metadata, b.schema.metadata
        assert ma.keys() == mb.keys() and fast_summary.RAW in ma
        assert ma[fast_summary.META] == mb[fast_summary.META]
        for k in (fast_summary.REPS, fast_summary.RAW):  # the same tables (their buffers may differ)
            ta, tb = (pa.ipc.open_stream(m[k]).read_all() for m in (ma, mb))
            assert ta.schema == tb.schema and ta.equals(tb) and ta.num_rows > 0


@pytest.mark.parametrize("last", [0, 1, 4, 10**6])
def test_the_last_blocks_classified_a_call_each(days, monkeypatch, last):
    """FastSummaryFold.LAST_BLOCKS: the input's last blocks each classified as it comes (the
    calls' sizes change, the summary does not); the blocks expected from the files' sizes."""
    from analyzer.sources import plan_blocks

    calls: list[int] = []
    classified = FastSummaryFold._classified
    monkeypatch.setattr(FastSummaryFold, "LAST_BLOCKS", last)
    # (a block made already joins the call before it: none here, the calls as the limits make them;
    # tests/test_summary_handover.py has the blocks that wait)
    monkeypatch.setattr(fast_summary, "waiting", lambda: 0)
    monkeypatch.setattr(FastSummaryFold, "_classified",
                        lambda self, held, attribution: calls.append(len(held)) or classified(self, held, attribution))
    for mta in ("postfix", "exim"):
        calls.clear()
        fast, general = _summaries([days[mta]], workers=2, block_bytes=16384)
        assert fast == general
        blocks = len(plan_blocks(days[mta], 16384))
        stream = EventStream(expand_inputs([str(days[mta])]), tz="UTC", block_bytes=16384)
        assert abs(FastSummaryFold._expected(stream) - blocks) <= 1
        held = [c for c in calls if c]
        assert sum(held) == blocks
        if last >= blocks:
            assert held == [1] * blocks
        elif last:
            assert held[len(held) - (last - 1):] == [1] * (last - 1) and len(held) >= last
        else:
            assert len(held) < blocks // 2  # several blocks a call, as before


def test_no_blocks_expected_for_stdin_or_compressed(days, tmp_path):
    gz = tmp_path / "day.log.gz"
    with open(days["postfix"], "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert FastSummaryFold._expected(EventStream(expand_inputs([str(gz)]), tz="UTC")) is None
    assert FastSummaryFold._expected(EventStream(expand_inputs([str(days["exim"])]), tz="UTC",
                                                 batch_lines=1000)) is None
