"""`maillens parse` with plain options runs without typer (analyzer.cli._fastargs): the values it
reads are the ones typer gives the command, for every form it reads; every other form is left to
typer; the run itself imports no typer and exits as typer's would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.cli._fastargs import DEFAULTS, read_parse, with_settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "sample_logs" / "postfix")


def _typer_values(args: list[str], monkeypatch: pytest.MonkeyPatch, config: dict | None = None) -> dict | None:
    """The values typer gives `parse` for ``args`` (None: typer refuses them), the settings
    file's ``config`` applied as the group callback applies it."""
    from typer.testing import CliRunner

    from analyzer.cli import _app, _common

    got: dict = {}
    monkeypatch.setattr(_app, "parse_command", lambda *a: got.update(zip(DEFAULTS, a, strict=True)))
    config = {} if config is None else config  # never the machine's own settings file: read_parse reads none

    def fake_setup(*_a):
        _common.CONFIG.clear()
        _common.CONFIG.update(config)
        return dict(config)

    monkeypatch.setattr(_app, "setup", fake_setup)
    result = CliRunner().invoke(_app.app, ["parse", *args])
    return got if result.exit_code == 0 and got else None


PLAIN = [
    [],
    [SAMPLE],
    [SAMPLE, "--tz", "UTC"],
    ["--tz=Europe/Berlin", SAMPLE, "-", "x.log"],
    [SAMPLE, "-f", "json", "-q", "--no-classify", "--classify", "--no-classify"],
    [SAMPLE, "--format", "text", "--log-format", "rfc3339", "--year", "2026", "--strict"],
    [SAMPLE, "--year", "+1999", "--year", " 2001 "],
    [SAMPLE, "-o", "-", "--output", "x.parquet", "--quiet"],
    [SAMPLE, "--rules", "a.toml", "--rules=/b/c.toml", "--redact", "--redact-ips", "--redact-key", "k"],
    ["--tz", "-", "--year=1970", "--year", "2200"],
    [SAMPLE, "=x", "a=b"],
]
REFUSED = [
    ["--help"], [SAMPLE, "--bogus"], [SAMPLE, "--year", "x"], [SAMPLE, "--year", "1969"], [SAMPLE, "--year"],
    [SAMPLE, "-qf", "json"], [SAMPLE, "--", "--tz"], [SAMPLE, "--tz", ""], [SAMPLE, "--tz", "-x"],
    [SAMPLE, "--strict=yes"], [SAMPLE, "-o=x.csv"], [SAMPLE, "-oX"], ["-5"], [SAMPLE, "--tz"],
]


@pytest.mark.parametrize("args", PLAIN)
def test_plain_options_are_read_as_typer_reads_them(args, monkeypatch):
    got = read_parse(args)
    assert got is not None
    assert got[0] == _typer_values(args, monkeypatch)


@pytest.mark.parametrize("args", REFUSED)
def test_other_forms_are_left_to_typer(args):
    assert read_parse(args) is None


@pytest.mark.parametrize(("args", "config"), [
    ([SAMPLE], {"tz": "Europe/Berlin", "store": "/s", "rules": ["/r/a.toml", "b.toml"], "anomalies": "/a"}),
    ([SAMPLE, "--tz", "UTC", "--rules", "c.toml"], {"tz": "Europe/Berlin", "rules": ["/r/a.toml"]}),
    ([SAMPLE], {"redact": True, "redact_ips": True, "redact_key": "k"}),
    ([SAMPLE, "--redact-key", "mine"], {"redact": True, "redact_key": "k"}),
])
def test_the_settings_file_fills_what_the_line_does_not_give(args, config, monkeypatch):
    values, given_names = read_parse(args)
    assert with_settings(values, given_names, config) == _typer_values(args, monkeypatch, config)


_TOKENS = st.sampled_from(["--tz", "UTC", "-f", "json", "text", "-q", "--year", "2026", "1969", "x", "-o", "-",
                           "--rules", "a.toml", "--strict", "--no-classify", "--redact", "--redact-key", "--bogus",
                           "--", "", "-qf", "--tz=UTC", "--year=19", SAMPLE, "--log-format", "exim", "--help"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_TOKENS, max_size=8))
def test_what_it_reads_typer_reads_alike(args):
    """Any mix of tokens: read as typer reads it, or left to typer (never read otherwise)."""
    got = read_parse(args)
    if got is None:
        return
    with pytest.MonkeyPatch.context() as mp:
        assert got[0] == _typer_values(args, mp)


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    code = ("import sys\nimport analyzer.cli as cli\n"
            f"sys.argv = ['maillens', *{list(args)!r}]\n"
            "try:\n    cli.main()\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = None\n"
            "print('RICH', 'rich' in sys.modules, file=sys.stderr)\n"
            "print('TYPER', 'typer' in sys.modules, 'CODE', code, file=sys.stderr)\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(ROOT / "tests" / "no-such-dir"),
                               **(env or {})}, stdin=subprocess.DEVNULL)


def test_a_plain_parse_imports_no_typer_and_its_json_no_rich():
    r = _run("parse", SAMPLE, "--tz", "UTC", "-f", "json")
    assert r.stderr.strip().endswith("RICH False\nTYPER False CODE 0"), r.stderr
    assert '"events": 425' in r.stdout


def test_plain_file_is_the_file_rich_would_write_to(monkeypatch):
    """plain_file(console): what console.file is, without making an unmade console."""
    import io

    from analyzer.cli._common import _LazyConsole, plain_file

    for stderr in (False, True):
        buf = io.StringIO()
        monkeypatch.setattr("sys.stderr" if stderr else "sys.stdout", buf)
        lazy = _LazyConsole(stderr=stderr, highlight=False)
        assert plain_file(lazy) is buf and lazy._made is None
        assert plain_file(lazy) is lazy.made().file  # the same file once made
        assert plain_file(lazy) is buf
    chosen = io.StringIO()
    lazy = _LazyConsole(file=chosen)
    assert plain_file(lazy) is chosen
    monkeypatch.setattr("sys.stdout", None)  # no stdout: rich's null file, as rich writes
    lazy = _LazyConsole()
    assert plain_file(lazy) is lazy.made().file


@pytest.mark.parametrize(("args", "code", "message"), [
    (["parse", SAMPLE, "--tz", "Nowhere/Zone"], 2, "Error: --tz: unknown time zone 'Nowhere/Zone'"),
    (["parse", SAMPLE, "--tz", "UTC", "-f", "xml"], 2, "Error: --format: unknown format 'xml'"),
    (["parse", "/nonexistent/x.log", "--tz", "UTC"], 3, "Error: "),
])
def test_errors_exit_as_typer_makes_them_exit(args, code, message):
    """`fail` raises typer's Exit (typer imported then); the plain path exits with its code."""
    r = _run(*args)
    assert r.stderr.startswith(message), r.stderr
    assert r.stderr.strip().endswith(f"TYPER True CODE {code}"), r.stderr


def test_a_bad_settings_file_fails_before_the_command(tmp_path):
    (tmp_path / "maillens.toml").write_text("tz = 5\n")
    r = _run("parse", SAMPLE, "-f", "json", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert "tz must be a str" in r.stderr and r.stderr.strip().endswith("CODE 2"), r.stderr
    assert not r.stdout
