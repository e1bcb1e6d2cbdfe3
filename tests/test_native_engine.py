"""Engine selection: works whether or not the native engine is built."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from analyzer import native
from analyzer.cli import app


def test_python_forced(monkeypatch):
    """MAILLENS_ENGINE=python gives the Python engine and no native matcher."""
    monkeypatch.setenv(native.ENV, "python")
    assert native.engine() == "python"
    assert native.matcher([r"^x$"]) is None
    assert native.mask(__import__("pyarrow").array(["x"]), r"^x$") is None


def test_unknown_choice_is_an_error(monkeypatch):
    """A value other than auto/native/python is refused, in the library and on the command line."""
    monkeypatch.setenv(native.ENV, "fast")
    with pytest.raises(native.EngineError):
        native.engine()
    res = CliRunner().invoke(app, ["version"])
    assert res.exit_code == 2
    assert "Error: MAILLENS_ENGINE='fast'" in res.output and "Try:" in res.output


def test_missing_native_engine(monkeypatch):
    """Without the built extension: auto falls back to Python, `version` says so, `-v` explains
    once on stderr, and MAILLENS_ENGINE=native is an error with a hint."""
    monkeypatch.setattr(native, "_module", lambda: (None, "the native engine is not built: test"))
    monkeypatch.delenv(native.ENV, raising=False)
    assert native.engine() == "python"
    res = CliRunner().invoke(app, ["-v", "version"])
    assert res.exit_code == 0
    assert "parser: python" in res.stdout
    assert res.stderr.count("the native engine is not built: test") == 1
    quiet = CliRunner().invoke(app, ["version"])
    assert "not built" not in quiet.stderr
    monkeypatch.setenv(native.ENV, "native")
    res = CliRunner().invoke(app, ["version"])
    assert res.exit_code == 2 and "not built" in res.output


@pytest.mark.skipif(not native.available(), reason="the native engine is not built")
def test_native_is_the_default_when_built(monkeypatch):
    """With the extension built and no MAILLENS_ENGINE, the native engine runs."""
    monkeypatch.delenv(native.ENV, raising=False)
    assert native.engine() == "native"
    res = CliRunner().invoke(app, ["version"])
    assert "parser: native" in res.stdout
