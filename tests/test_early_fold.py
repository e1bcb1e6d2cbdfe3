"""`maillens parse FILE`'s first blocks folded ahead on a thread (analyzer.early_fold): the
tables it is built from load without pyarrow and are the parsers' own (re-exported), and the
summary is the same whether the stream's jobs took the held blocks or read and folded them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer import early_fold, native, parallel
from analyzer.classify import default_rules
from analyzer.classify_stream import StreamClassifier
from analyzer.fast_summary import FastSummaryFold
from analyzer.pipeline import EventStream
from analyzer.sinks import SummaryFold
from analyzer.sources import expand_inputs, plan_blocks
from analyzer.summary import summarise_fold
from bench.generate_logs import generate

ROOT = Path(__file__).resolve().parent.parent
NATIVE = pytest.mark.skipif(not native.available(), reason="the native engine is not built")
BLOCK = 16384
_TAKEN = early_fold.taken


def test_the_fold_is_built_without_pyarrow():
    code = ("import sys\nfrom analyzer import early_fold, native\n"
            "assert native._fast_postfix() is not None and native._masker() is not None "
            "and native._foreign() is not None\n"
            "print(sorted(m for m in ('pyarrow', 'numpy', 'analyzer.parsers', 'analyzer.classify') if m in sys.modules))")
    if not native.available():
        pytest.skip("the native engine is not built")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert got.stdout.strip() == "[]"


def test_the_tables_are_the_parsers_own():
    import importlib

    from analyzer import line_patterns, mask_patterns, pattern_spec, postfix_patterns
    from analyzer.parsers import _EXIM_RX, _POSTFIX_RX, _REJECT_ACTIONS, engine, exim, fields, postfix, syslog

    assert postfix.PATTERNS is postfix_patterns.PATTERNS and postfix.DAEMON_DIRECTION is postfix_patterns.DAEMON_DIRECTION
    assert _REJECT_ACTIONS is postfix_patterns.REJECT_ACTIONS and _POSTFIX_RX is postfix_patterns.POSTFIX_PROGRAM
    assert (fields._CODE, fields._ENH_ANY, fields._STAGE_TEXT, fields._QUEUED_AS, fields._STAGE_RULES) == (
        line_patterns.CODE, line_patterns.ENH_ANY, line_patterns.STAGE_TEXT, line_patterns.QUEUED_AS,
        line_patterns.STAGE_RULES)
    assert syslog.MONTHS is line_patterns.MONTHS and exim.EXIM_WRAPPED is line_patterns.EXIM_WRAPPED
    assert _EXIM_RX is line_patterns.EXIM_PROGRAM and exim.MID is line_patterns.MID
    classify = importlib.import_module("analyzer.classify")  # (analyzer.classify is also a function's name)
    assert (classify.MASK, classify.MASKED, classify.OPAQUE, classify.DETAIL_IGNORED) == (
        mask_patterns.MASK, mask_patterns.MASKED, mask_patterns.OPAQUE, mask_patterns.DETAIL_IGNORED)
    assert engine.Pattern is pattern_spec.Pattern and isinstance(postfix.PATTERNS[0], engine.Pattern)


def test_min_bytes_is_where_the_summary_cuts_bigger_blocks():
    from analyzer.pipeline import PARALLEL_MIN_BLOCKS
    from analyzer.summary_blocks import BLOCK_BYTES

    assert early_fold.MIN_BYTES == PARALLEL_MIN_BLOCKS * BLOCK_BYTES


@pytest.fixture(scope="module")
def days(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("early-days")
    out = {}
    for mta in ("postfix", "exim"):
        p = out[mta] = d / f"{mta}.log"
        generate(mta, 3000, seed=11, out=str(p), start="2026-12-31T20:00:00", hours=30, host="mx1",
                 incidents=["deferral_buildup@2h+6h"])
    return out


@pytest.fixture
def day(days) -> Path:
    return days["postfix"]


def _summary(path: Path, ahead: bool, monkeypatch, taken: list[bool], **kw):
    """The summary of ``path`` as `parse` folds it, its blocks folded ahead first (all of them,
    the thread let finish) or not; ``taken`` gets whether each job's fold was a held one."""
    monkeypatch.setattr(parallel, "_WORKER", dict(parallel._WORKER))  # (the block threads' pool sets its producer there)
    monkeypatch.setattr(early_fold, "BLOCK_BYTES", BLOCK)
    monkeypatch.setattr(early_fold, "MIN_BYTES", 0)
    monkeypatch.setattr(early_fold, "MOST", 1000)
    monkeypatch.setattr(early_fold, "taken", lambda *a: _count(_TAKEN, taken, *a))
    early_fold.drop()
    if ahead:
        assert early_fold.start(str(path))
        early_fold._CURRENT[0].thread.join()
    fold = FastSummaryFold(StreamClassifier(default_rules()))
    stream = EventStream(expand_inputs([str(path)]), tz="UTC", classifier=fold.summariser,
                         columns=(*SummaryFold.READS, *fold.summariser.reads), year=2026, block_bytes=BLOCK, **kw)
    fold.fold(stream)
    assert early_fold._CURRENT[0] is None  # let go of at the fold's end
    return summarise_fold(fold, stream.counts, stream.files, stream.warnings)


def _count(real, taken: list[bool], fold, offsets, data, objects):
    """``taken`` gets whether a held fold was given, for the calls of the file's own fold (an Exim
    day's first block is tried by the Postfix fold first, with or without the thread)."""
    got = real(fold, offsets, data, objects)
    mod = native._module()[0]
    if fold is (mod.fold_exim if len(objects) == 3 else mod.fold_postfix) and not (len(objects) == 4 and _EXIM[0]):
        taken.append(got is not None)
    return got


_EXIM = {0: False}  # the day being folded is Exim's


@NATIVE
@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_held_blocks_make_the_same_summary(days, mta, monkeypatch):
    blocks = len(plan_blocks(days[mta], BLOCK))
    assert blocks > 4
    monkeypatch.setitem(_EXIM, 0, mta == "exim")
    with_held: list[bool] = []
    without: list[bool] = []
    ahead = _summary(days[mta], True, monkeypatch, with_held, workers=2)
    read = _summary(days[mta], False, monkeypatch, without, workers=2)
    assert with_held == [True] * blocks  # every job took its held block ...
    assert without == [False] * blocks
    assert ahead == read  # ... and the summary is the one the jobs make themselves
    assert read.by_cause and read.events


@NATIVE
def test_a_changed_file_is_read_again(day, monkeypatch, tmp_path):
    copy = tmp_path / "copy.log"
    copy.write_bytes(day.read_bytes())
    taken: list[bool] = []
    real_start = early_fold.start

    def start_then_touch(path: str) -> bool:
        ok = real_start(path)
        early_fold._CURRENT[0].thread.join()
        os.utime(path, ns=(1, 1))  # (the file's identity changes: its held blocks are not used)
        return ok

    monkeypatch.setattr(early_fold, "start", start_then_touch)
    got = _summary(copy, True, monkeypatch, taken, workers=2)
    assert taken and not any(taken)
    assert got == _summary(copy, False, monkeypatch, [], workers=2)


@NATIVE
def test_not_started_where_it_cannot_pay(day, monkeypatch, tmp_path):
    monkeypatch.setattr(early_fold, "MIN_BYTES", 0)
    early_fold.drop()
    for env in ("MAILLENS_FAST=0", "MAILLENS_BLOCK_THREADS=0", "MAILLENS_WORKERS=1", "MAILLENS_ENGINE=python"):
        name, value = env.split("=")
        monkeypatch.setenv(name, value)
        assert not early_fold.start(str(day)), env
        monkeypatch.delenv(name)
    assert not early_fold.start(str(tmp_path / "missing.log"))
    assert not early_fold.start(str(tmp_path))  # a directory
    monkeypatch.setattr(early_fold, "MIN_BYTES", day.stat().st_size + 1)
    assert not early_fold.start(str(day))  # too small to pay
    assert early_fold._CURRENT[0] is None


@NATIVE
def test_a_log_of_other_stamps_is_not_folded_ahead(tmp_path, monkeypatch):
    p = tmp_path / "rfc3339.log"
    p.write_text("2026-11-29T10:00:00.123456+01:00 mx postfix/smtpd[12]: connect from a[192.0.2.1]\n" * 200)
    monkeypatch.setattr(early_fold, "MIN_BYTES", 0)
    early_fold.drop()
    assert not early_fold.start(str(p))  # (neither a classic syslog nor an Exim stamp first)
    assert early_fold._CURRENT[0] is None


@NATIVE
def test_a_file_written_to_lets_go_of_every_held_block(day, monkeypatch, tmp_path):
    """A read of a file appended to since the start reads afresh and lets go of every block held
    (not only the one read): they would otherwise stay until the fold's end (review of r34-pstart)."""
    copy = tmp_path / "growing.log"
    copy.write_bytes(day.read_bytes())
    monkeypatch.setattr(early_fold, "BLOCK_BYTES", BLOCK)
    monkeypatch.setattr(early_fold, "MIN_BYTES", 0)
    early_fold.drop()
    assert early_fold.start(str(copy))
    run = early_fold._CURRENT[0]
    run.thread.join()
    assert len(run.blocks) > 1
    s, e = next(iter(run.blocks))
    with open(copy, "ab") as fh:
        fh.write(b"Nov 29 23:59:59 mx postfix/smtpd[12]: connect from a[192.0.2.1]\n")
    calls = []
    got = early_fold.reading(lambda *a: calls.append(a) or "fresh")(str(copy), s, e)
    assert got == "fresh" and calls == [(str(copy), s, e)]
    assert early_fold._CURRENT[0] is None and not run.blocks


@NATIVE
def test_an_exim_log_under_a_forced_format_is_not_folded_ahead(days, monkeypatch):
    monkeypatch.setattr(early_fold, "MIN_BYTES", 0)
    early_fold.drop()
    exim = days["exim"]
    assert not early_fold.start(str(exim), "syslog")  # (the stream then never calls the Exim fold)
    assert early_fold._CURRENT[0] is None
    assert early_fold.start(str(exim), "auto")
    early_fold.drop(wait=True)
