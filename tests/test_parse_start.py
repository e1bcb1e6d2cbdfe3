"""`maillens parse`'s start (analyzer.cli._plain_parse): the cycle collector off while it imports
what it parses with (nothing it builds then is garbage), on again from the stream's
``gc.freeze`` on, and on after the command whatever its end."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from analyzer import cli, reader
from analyzer.cli import _common

LOGS = Path(__file__).resolve().parent.parent / "sample_logs" / "postfix"


def _run(monkeypatch, args: list[str]) -> int:
    monkeypatch.setattr("sys.argv", ["maillens", *args])
    with pytest.raises(SystemExit) as got:
        cli.main()
    return got.value.code


def test_the_collector_is_off_while_parse_starts_and_on_for_its_stream(monkeypatch, capsys):
    assert gc.isenabled()
    seen: list[tuple[str, bool]] = []
    check_tz, open_stream = _common.check_tz, reader.open_stream

    def checked(tz):
        seen.append(("start", gc.isenabled()))
        return check_tz(tz)

    def opened(*a, **k):
        seen.append(("stream", gc.isenabled()))
        return open_stream(*a, **k)

    monkeypatch.setattr(_common, "check_tz", checked)
    monkeypatch.setattr("analyzer.cli._parse.check_tz", checked)
    monkeypatch.setattr(reader, "open_stream", opened)
    assert _run(monkeypatch, ["parse", str(LOGS), "--tz", "UTC", "-f", "json"]) == 0
    assert '"lines"' in capsys.readouterr().out
    assert seen[0] == ("start", False)
    assert ("stream", False) not in seen and ("stream", True) in seen  # (freeze, then on: _run_stream)
    assert gc.isenabled()


def test_the_collector_is_on_after_a_failed_start(monkeypatch, capsys):
    assert _run(monkeypatch, ["parse", str(LOGS), "--tz", "Nowhere/Nothing"]) == 2
    assert "unknown time zone" in capsys.readouterr().err
    assert gc.isenabled()


def test_a_caller_that_turned_the_collector_off_keeps_it_off(monkeypatch, capsys):
    gc.disable()
    try:
        assert _run(monkeypatch, ["parse", str(LOGS), "--tz", "UTC", "-f", "json"]) == 0
        assert not gc.isenabled()
    finally:
        gc.enable()
