"""analyzer.cli._common.gc_paused: the cycle collector off for a command's start, back on after
it however the block ends, and left as it was where the caller had turned it off."""

from __future__ import annotations

import gc

import pytest

from analyzer.cli import _common


@pytest.fixture(autouse=True)
def _collector_restored():
    was = gc.isenabled()
    yield
    _common._GC_PAUSED.clear()
    (gc.enable if was else gc.disable)()


def test_off_inside_on_after():
    gc.enable()
    with _common.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_on_after_an_error_and_an_exit():
    gc.enable()
    with pytest.raises(ValueError), _common.gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()
    with pytest.raises(SystemExit), _common.gc_paused():
        raise SystemExit(2)
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off():
    gc.disable()
    with _common.gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_resumed_inside_by_the_stream_stays_on():
    # _run_stream turns the collector back on once it has frozen the start's objects
    gc.enable()
    with _common.gc_paused():
        _common.resume_gc()
        assert gc.isenabled()
    assert gc.isenabled()


def test_plain_parse_runs_the_command_with_the_collector_off(monkeypatch, tmp_path):
    from analyzer.cli import _parse

    seen = []
    monkeypatch.setattr(_parse, "parse_command", lambda **kw: seen.append(gc.isenabled()))
    monkeypatch.setattr(_common, "setup", lambda *a: {})
    gc.enable()
    log = tmp_path / "mail.log"
    log.write_text("")
    from analyzer import cli

    with pytest.raises(SystemExit) as exc:
        cli._plain_parse(["parse", str(log)])
    assert exc.value.code == 0
    assert seen == [False]
    assert gc.isenabled()
