"""CLI habits: --version, completion, one meaning per short flag, one time parser, errors that name
the option, help that keeps brackets, plain slashes in JSON, a progress bar only on a terminal,
prune --dry-run."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from analyzer import __version__
from analyzer.cli import _app, _common, _help, app
from analyzer.reader import parse_logs
from analyzer.timeparse import TimeError, parse_duration, parse_time

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
POSTFIX = str(SAMPLES / "postfix")


def _click():
    group = typer.main.get_command(app)
    _help._tidy_help(group)
    return group


def test_version_option_and_command():
    """`maillens --version` prints the package version; `maillens version` also names the parser engine."""
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.strip() == __version__
    r = runner.invoke(app, ["version"])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0] == __version__
    assert r.stdout.splitlines()[1] in ("parser: native", "parser: python")


def test_shell_completion_is_offered():
    """--install-completion and --show-completion exist; the script completes `maillens`."""
    r = runner.invoke(app, ["--help"])
    assert "--install-completion" in r.stdout and "--show-completion" in r.stdout
    r = runner.invoke(app, ["--show-completion", "bash"], prog_name="maillens")
    assert r.exit_code == 0 and "_MAILLENS_COMPLETE" in r.stdout


def test_each_short_flag_has_one_meaning():
    """A short flag names the same parameter in every command (-f output format, -o output, -q quiet)."""
    meaning: dict[str, set[str]] = {}
    for _name, cmd in _click().commands.items():
        for p in cmd.params:
            for opt in getattr(p, "opts", []) + getattr(p, "secondary_opts", []):
                if re.fullmatch(r"-[A-Za-z]", opt):
                    meaning.setdefault(opt, set()).add(p.name)
    assert meaning["-f"] == {"fmt"} and meaning["-o"] == {"output"}
    assert all(len(v) == 1 for v in meaning.values()), meaning
    for name, cmd in _click().commands.items():
        for p in cmd.params:
            if "-f" in getattr(p, "opts", []):
                assert "line format" not in (p.help or "").lower(), name


def test_parse_old_line_format_spelling_still_works():
    """`parse -f syslog` (the old meaning) still reads the logs, with a deprecation warning."""
    r = runner.invoke(app, ["parse", POSTFIX, "-f", "syslog", "--tz", "UTC"])
    assert r.exit_code == 0, r.output
    assert "deprecated" in r.stderr and "--log-format syslog" in r.stderr
    assert "events" in r.stdout


@pytest.mark.parametrize("text, expected", [
    ("2026-11-29T10:00", "2026-11-29 09:00:00+00:00"),
    ("2026-11-29 10:00:00+00:00", "2026-11-29 10:00:00+00:00"),
    ("2026-11-29T10:00Z", "2026-11-29 10:00:00+00:00"),
    ("2026-11-28", "2026-11-27 23:00:00+00:00"),
    ("10:00", "2026-11-29 09:00:00+00:00"),
    ("2h", "2026-11-29 10:00:00+00:00"),
    ("-30m", "2026-11-29 11:30:00+00:00"),
    ("1d12h", "2026-11-28 00:00:00+00:00"),
    ("2h ago", "2026-11-29 10:00:00+00:00"),
    ("yesterday", "2026-11-27 23:00:00+00:00"),
])
def test_time_parser_forms(text, expected):
    """The one time parser reads ISO times, dates, times of today and durations ago, in the zone."""
    now = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
    assert str(parse_time(text, now=now, tz="Europe/Berlin")) == expected


@pytest.mark.parametrize("bad", ["2026-13-45", "2026-02-30", "25:00", "soon", "2x", ""])
def test_time_parser_rejects_with_the_text(bad):
    """A bad time is a TimeError that quotes what was typed."""
    with pytest.raises(TimeError, match=re.escape(repr(bad))):
        parse_time(bad, now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))


def test_duration_parser():
    """Durations add their parts; zero and junk are refused."""
    assert parse_duration("1d12h") == dt.timedelta(hours=36)
    assert parse_duration("90m") == dt.timedelta(minutes=90)
    for bad in ("0h", "h", "12", "1y"):
        with pytest.raises(TimeError):
            parse_duration(bad)


def test_report_since_takes_a_time_of_day():
    """`report --since 10:00` works like `search --since 10:00` (it used to fail on isoformat)."""
    r = runner.invoke(app, ["report", POSTFIX, "--tz", "UTC", "--since", "10:00", "--now", "2026-11-29T12:00Z",
                            "-f", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["window"]["since"].startswith("2026-11-29T10:00")


@pytest.mark.parametrize("args, option", [
    (["report", POSTFIX, "--since", "2026-13-45"], "--since"),
    (["report", POSTFIX, "--until", "tomorrowish"], "--until"),
    (["report", POSTFIX, "--last", "3 fortnights"], "--last"),
    (["search", POSTFIX, "--since", "2026-13-45"], "--since"),
    (["trace", "ABC", POSTFIX, "--until", "2026-13-45"], "--until"),
    (["metrics", POSTFIX, "--since", "2026-13-45"], "--since"),
    (["weekly", "--store", "x", "--now", "2026-13-45"], "--now"),
    (["report", POSTFIX, "--tz", "Mars/Olympus"], "--tz"),
    (["report", POSTFIX, "-f", "pdf"], "--format"),
    (["parse", POSTFIX, "--log-format", "qmail"], "--log-format"),
    (["prune", "--store", "x", "--keep", "forever"], "--keep"),
])
def test_errors_name_the_option(args, option):
    """A bad value is `Error: OPTION: …` with a Try line and exit 2, before any log is read."""
    r = runner.invoke(app, [*args, "--tz", "UTC"] if "--tz" not in args and args[0] != "prune"
                      and args[0] != "weekly" else args)
    assert r.exit_code == 2, r.output
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"Error: {option}: "), first
    assert any(line.startswith("Try: ") for line in r.stderr.splitlines())


def test_help_keeps_brackets_and_shows_no_python_types():
    """Help text is not eaten by markup ([dask], [default: …]) and shows FILE/ZONE, not <str>/<bool>."""
    ingest = runner.invoke(app, ["ingest", "--help"], terminal_width=200).stdout
    assert "pip install 'maillens[dask]'" in ingest
    report = runner.invoke(app, ["report", "--help"], terminal_width=200).stdout
    assert "[default: $TZ, else this machine's zone]" in report
    assert "[default: from each file's modification time]" in report
    assert "--tz ZONE" in report and "--output FILE" in report
    narrow = runner.invoke(app, ["report", "--help"], terminal_width=80).stdout
    assert "    maillens report /var/log/exim4/mainlog --fail-on critical -o /srv/reports/mail.md -f markdown" in narrow
    assert "maillens --install-completion" in runner.invoke(app, ["--help"]).stdout  # the main help's examples
    for name in _click().commands:
        text = runner.invoke(app, [name, "--help"], terminal_width=200).stdout
        for python_type in ("<bool>", "<str>", "<list[str]>", "<int range>", "<Path>", "<list[Path]>"):
            assert python_type not in text, (name, python_type)


def test_json_outputs_keep_slashes(tmp_path):
    """JSON and JSON-lines outputs write 'postfix/smtp', never 'postfix\\/smtp'."""
    outs = {
        "search": runner.invoke(app, ["search", POSTFIX, "--tz", "UTC", "--code", "5xx", "-f", "jsonl"]),
        "parse": runner.invoke(app, ["parse", POSTFIX, "--tz", "UTC", "-f", "json"]),
        "report": runner.invoke(app, ["report", POSTFIX, "--tz", "UTC", "-f", "json"]),
        "explain": runner.invoke(app, ["explain", "5.7.26", "-f", "json"]),
    }
    for name, r in outs.items():
        assert r.exit_code == 0, (name, r.output)
        assert "\\/" not in r.stdout, name
    rows = [json.loads(line) for line in outs["search"].stdout.splitlines()]
    assert rows and all("/" in row["where"] for row in rows)
    assert any("/" in str(v) for v in json.loads(outs["parse"].stdout)["files"][0])


def test_jsonl_unescaping_keeps_backslashes():
    """A value with backslashes next to slashes survives the unescaping exactly."""
    import pandas as pd

    from analyzer.cli.investigate import _jsonl_text

    values = ["a\\/b", "\\\\/x", "postfix/smtp", "C:\\dir\\"]
    text = _jsonl_text(pd.DataFrame({"v": values}))
    assert [json.loads(line)["v"] for line in text.splitlines()] == values
    assert "postfix/smtp" in text


def test_progress_moves_per_batch(tmp_path):
    """The library reports progress after every batch (reads are 4 MiB), rising to the file's size."""
    log = tmp_path / "mail.log"
    one = (SAMPLES / "postfix" / "mail.log").read_bytes()
    log.write_bytes(one * (9_500_000 // len(one)))
    calls: list[tuple[int, int]] = []
    parse_logs([str(log)], tz="UTC", progress=lambda d, t: calls.append((d, t)), batch_lines=1000)
    size = log.stat().st_size
    assert len(calls) > 3
    assert all(t == size for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert 0 < calls[0][0] < size and calls[-1][0] == size


def test_progress_counts_lines_for_stdin(monkeypatch):
    """Reading stdin (size unknown), progress counts lines (total -1)."""
    data = (SAMPLES / "postfix" / "mail.log").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    calls: list[tuple[int, int]] = []
    parse_logs(["-"], tz="UTC", progress=lambda d, t: calls.append((d, t)), batch_lines=50,
               now=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    assert calls and all(t == -1 for _, t in calls)
    assert calls[-1][0] == data.count(b"\n")


def test_progress_bar_draws_only_on_a_terminal(monkeypatch):
    """On a terminal the bar is drawn on stderr; piped, nothing is written there."""
    for terminal in (True, False):
        buf = io.StringIO()
        monkeypatch.setattr(_common, "err", Console(file=buf, force_terminal=terminal, width=100))
        with _app._progress("reading logs") as prog:
            assert prog.active is terminal
            if prog.active:
                prog(500, 1000)
                prog.bar.refresh()
        assert ("reading logs" in buf.getvalue()) is terminal


def test_prune_dry_run_changes_nothing(tmp_path):
    """--dry-run lists the days prune would drop and leaves the store as it was."""
    store = tmp_path / "store"
    # --year: the sample night (yearless stamps) a year back, so that it is older than --keep
    # whatever day the test runs on
    r = runner.invoke(app, ["ingest", POSTFIX, "--store", str(store), "--tz", "UTC", "--year", "2025", "-q"])
    assert r.exit_code == 0, r.output
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    manifest = (store / "_manifest.json").read_text()
    dry = runner.invoke(app, ["prune", "--store", str(store), "--keep", "1d", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    would = re.findall(r"would remove (\S+)", dry.stdout)
    assert would and "dry run" in dry.stdout
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before
    assert (store / "_manifest.json").read_text() == manifest
    real = runner.invoke(app, ["prune", "--store", str(store), "--keep", "1d"])
    assert real.exit_code == 0 and real.stdout.startswith(f"{len(would)} day(s) removed")


def test_cli_copies_of_library_constants_agree():
    """The constants the CLI keeps so as not to import the library at start-up match the library's."""
    from analyzer.cli import report as cli_report
    from analyzer.report import FORMATS
    from analyzer.report.redact import ENV_KEY

    assert cli_report.ENV_KEY == ENV_KEY
    assert cli_report.REPORT_FORMATS == FORMATS


@pytest.fixture(scope="module")
def one_day_store(tmp_path_factory) -> Path:
    """A store holding one day (2026-11-25, a Wednesday of ISO week 2026-W48) of generated Postfix logs."""
    from bench.generate_logs import generate

    d = tmp_path_factory.mktemp("oneday")
    generate("postfix", 3000, seed=5, out=str(d / "mail.log"), start="2026-11-25T00:00:00", hours=20, host="mx1")
    r = runner.invoke(app, ["ingest", str(d / "mail.log"), "--store", str(d / "store"), "--tz", "UTC",
                            "--year", "2026", "-q"])
    assert r.exit_code == 0, r.output
    return d / "store"


def test_weekly_on_an_empty_week_suggests_a_week_with_data(one_day_store):
    """Asking for a week the store has no data for suggests the week it has, never the same one."""
    r = runner.invoke(app, ["weekly", "--store", str(one_day_store), "--week", "2026-W45"])
    assert r.exit_code == 2
    assert r.stderr.startswith("Error: the store holds no events for 2026-W45")
    try_line = next(line for line in r.stderr.splitlines() if line.startswith("Try: "))
    assert "--week 2026-W48" in try_line and "2026-W45" not in try_line
    r = runner.invoke(app, ["weekly", "--store", str(one_day_store), "--now", "2026-12-20T00:00Z"])
    assert r.exit_code == 3 and "2026-W50" in r.stderr.splitlines()[0]
    assert "--week 2026-W48" in r.stderr


def test_weekly_rate_chart_shows_a_single_day(one_day_store):
    """With data on one day only, the success-rate chart still marks that day."""
    from analyzer.weekly import build_weekly, render_weekly

    rep = build_weekly(one_day_store, "2026-W48", now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), findings=False)
    html = render_weekly(rep, "html")
    chart = re.search(r'<svg[^>]*aria-label="delivery success per day">(.*?)</svg>', html, re.S)
    assert chart is not None
    marks = re.findall(r"<circle ", chart.group(1))
    assert len(marks) == 1  # one day with data: one mark (a path through one point draws nothing)


def test_report_with_an_empty_history_does_not_claim_a_baseline(one_day_store):
    """`report --store` whose history holds nothing before the window says so, not 'Baseline: history.'"""
    log = str(one_day_store.parent / "mail.log")
    r = runner.invoke(app, ["report", log, "--store", str(one_day_store), "--tz", "UTC", "--year", "2026"])
    assert r.exit_code == 0, r.output
    assert "Baseline: history." not in r.stdout
    assert "Baseline: none (the history holds no events before the window)." in r.stdout


def test_int_options_are_converted_without_pydantic():
    """`parse --year N` converts the number itself (typer would import pydantic, 50-100 ms of every
    parse); a bad or out-of-range number still gets typer's own message."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    code = ("import sys; from analyzer.cli import app\n"
            "try:\n    app(prog_name='maillens')\nexcept SystemExit as e:\n    code = e.code\n"
            "print('PYDANTIC' if 'pydantic' in sys.modules else 'NO-PYDANTIC', code)")
    env = {**os.environ, "PYTHONPATH": str(root)}
    r = subprocess.run([sys.executable, "-c", code, "parse", "--year", "2025", "--tz", "UTC",
                        str(SAMPLES / "postfix" / "mail.log")], capture_output=True, text=True, env=env, timeout=300)
    assert r.stdout.splitlines()[-1] == "NO-PYDANTIC 0", r.stderr[-2000:]
    for bad, says in (("1900", "greater than or equal to 1970"), ("20x5", "valid integer")):
        r = runner.invoke(app, ["parse", "--year", bad, POSTFIX])
        assert r.exit_code == 2 and "--year" in r.output and says in r.output
    r = runner.invoke(app, ["parse", "--year", "+2025", "--tz", "UTC", "-f", "json", POSTFIX])
    assert r.exit_code == 0 and json.loads(r.stdout)["first"].startswith("2025-")


def test_input_errors_keep_their_exit_code_with_an_output(tmp_path):
    """With -o, an input that holds no mail line is exit 66 and one that cannot be read exit 3,
    with their own hints, as without -o (not exit 5 'check that the directory … is writable');
    no output file is left."""
    other = tmp_path / "notes.txt"
    other.write_text("nothing of Postfix or Exim here\n")
    out = tmp_path / "x.parquet"
    for logs, code, hint in (([str(other)], 66, "name the mail logs"),
                             ([str(tmp_path / "missing.log")], 3, "check the path")):
        for target in (str(out), str(tmp_path / "x.csv"), str(tmp_path / "x.jsonl")):
            r = runner.invoke(app, ["parse", *logs, "-o", target])
            assert r.exit_code == code, r.output
            assert "Error: " in r.output and hint in r.output and "writable" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
