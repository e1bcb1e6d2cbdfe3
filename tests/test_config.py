"""The settings file: where it is read from, what it may hold, and precedence CLI > file > defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.config import Config, ConfigError, default_files, load_config

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
POSTFIX = str(SAMPLES / "postfix")


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path, monkeypatch):
    """No test reads the developer's own ~/.config/maillens.toml; the machine's zone is UTC."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("TZ", "UTC")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_later_file_wins_and_paths_are_relative_to_their_file(tmp_path):
    """The user's file overrides the system's key by key; relative paths are read from the file's folder."""
    system = _write(tmp_path / "etc" / "maillens.toml", 'tz = "Europe/Berlin"\nstore = "hist"\n')
    user = _write(tmp_path / "home" / "maillens.toml", 'tz = "UTC"\nrules = ["site.toml"]\n'
                  '[redact]\nenabled = true\nkey_file = "key"\n')
    _write(tmp_path / "home" / "key", "s3cret\n")
    cfg = load_config(files=[system, user])
    assert cfg.tz == "UTC"
    assert cfg.store == str(tmp_path / "etc" / "hist")
    assert cfg.rules == (str(tmp_path / "home" / "site.toml"),)
    assert cfg.redact is True and cfg.redact_key == "s3cret"
    assert cfg.files == (str(system), str(user))


def test_no_files_no_settings(tmp_path):
    """Without any file, nothing is set (the options keep their own defaults)."""
    assert load_config(files=[tmp_path / "none.toml"]) == Config()
    assert Config().values() == {}


def test_default_files_follow_xdg(tmp_path):
    """/etc/maillens.toml first, then $XDG_CONFIG_HOME (else ~/.config)/maillens.toml."""
    assert default_files({"XDG_CONFIG_HOME": "/x"}) == [Path("/etc/maillens.toml"), Path("/x/maillens.toml")]
    assert default_files({"HOME": "/home/u"})[1] == Path("/home/u/.config/maillens.toml")


@pytest.mark.parametrize("text, needle", [
    ('tz = 3\n', "tz must be a str"),
    ('colour = "red"\n', "unknown key 'colour'"),
    ('[redact]\nips = "yes"\n', "redact.ips must be a bool"),
    ('[redact]\nwhat = 1\n', "unknown key 'redact.what'"),
    ('rules = [1]\n', "rules must be a list of file names"),
    ('tz = \n', "not valid TOML"),
    ('[redact]\nkey = "a"\nkey_file = "b"\n', "not both"),
])
def test_bad_files_name_the_file_and_key(tmp_path, text, needle):
    """A wrong key, type or syntax is a ConfigError naming the file."""
    f = _write(tmp_path / "m.toml", text)
    with pytest.raises(ConfigError, match=needle) as exc:
        load_config(f)
    assert str(f) in str(exc.value)


def _first_ts(args: list[str]) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["first"]


def test_cli_precedence_option_over_file_over_default(tmp_path):
    """--tz on the command line beats the file's tz, which beats the default zone ($TZ=UTC here)."""
    cfg = _write(tmp_path / "m.toml", 'tz = "America/New_York"\n')
    base = ["parse", POSTFIX, "-f", "json", "--year", "2026"]
    default = _first_ts(base)
    from_file = _first_ts(["--config", str(cfg), *base])
    from_cli = _first_ts(["--config", str(cfg), *base, "--tz", "UTC"])
    assert from_cli == default
    assert from_file != default  # the stamps were read in New York time: five hours later in UTC


def test_user_file_is_read_without_config_option(tmp_path):
    """~/.config/maillens.toml ($XDG_CONFIG_HOME) applies with no --config."""
    _write(tmp_path / "xdg" / "maillens.toml", 'tz = "America/New_York"\n')
    base = ["parse", POSTFIX, "-f", "json", "--year", "2026"]
    assert _first_ts(base) != _first_ts([*base, "--tz", "UTC"])


def test_file_store_and_redaction_apply(tmp_path):
    """store from the file is the store of ingest and prune; redact turns pseudonyms on in report."""
    store = tmp_path / "hist"
    cfg = _write(tmp_path / "m.toml", f'store = "{store}"\n[redact]\nenabled = true\nkey = "k"\n')
    r = runner.invoke(app, ["--config", str(cfg), "ingest", POSTFIX, "-q", "--tz", "UTC"])
    assert r.exit_code == 0, r.output
    assert (store / "_manifest.json").is_file()
    r = runner.invoke(app, ["--config", str(cfg), "prune", "--keep", "10000d", "--dry-run"])
    assert r.exit_code == 0 and "0 day(s) would be removed" in r.stdout
    plain = runner.invoke(app, ["report", POSTFIX, "--tz", "UTC", "-f", "json"])
    red = runner.invoke(app, ["--config", str(cfg), "report", POSTFIX, "--tz", "UTC", "-f", "json"])
    assert red.exit_code == 0, red.output
    assert "nosuchuser@" in plain.stdout and "nosuchuser@" not in red.stdout
    assert "u-" in red.stdout  # the pseudonyms


def test_search_ignores_the_file_store(tmp_path):
    """search keeps reading the log files it is given when the file names a store."""
    cfg = _write(tmp_path / "m.toml", f'store = "{tmp_path / "nowhere"}"\n')
    r = runner.invoke(app, ["--config", str(cfg), "search", POSTFIX, "--tz", "UTC", "--code", "5xx"])
    assert r.exit_code == 0, r.output


def test_missing_or_broken_config_is_a_one_line_error(tmp_path):
    """--config naming no file, or a bad file, is `Error: …` with exit 2."""
    r = runner.invoke(app, ["--config", str(tmp_path / "nope.toml"), "version"])
    assert r.exit_code == 2 and r.stderr.startswith("Error: ") and "nope.toml" in r.stderr
    bad = _write(tmp_path / "bad.toml", "tz = [\n")
    r = runner.invoke(app, ["--config", str(bad), "version"])
    assert r.exit_code == 2 and "not valid TOML" in r.stderr


def test_redact_table_applies_only_when_enabled(tmp_path):
    """A key without enabled = true is not passed on: search and report run unredacted, without error."""
    cfg = _write(tmp_path / "m.toml", '[redact]\nips = true\nkey = "k"\n')
    assert load_config(cfg).values() == {}
    for args in (["search", POSTFIX, "--code", "5xx"], ["report", POSTFIX]):
        r = runner.invoke(app, ["--config", str(cfg), *args, "--tz", "UTC"])
        assert r.exit_code == 0, r.output
        assert "nosuchuser@" in r.stdout
