"""The CLI's consoles are made when first used (rich's import kept out of `--help` and out of
`parse`'s start-up), and answer as rich's own would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.cli import _app

ROOT = Path(__file__).resolve().parent.parent


def test_help_imports_no_rich():
    code = ("import sys\nfrom analyzer.cli import main\nsys.argv = ['maillens', '--help']\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print('RICH', 'rich' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert "Usage" in r.stdout and r.stdout.rstrip().endswith("RICH False")


@pytest.mark.parametrize("env", [{}, {"FORCE_COLOR": "1"}, {"FORCE_COLOR": ""}, {"TTY_COMPATIBLE": "1"},
                                 {"TTY_COMPATIBLE": "0"}, {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}])
def test_terminal_answer_is_richs(monkeypatch, env):
    """Whether the progress bar's console is a terminal: the same answer as a console made now."""
    from rich.console import Console

    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lazy = _app._LazyConsole(stderr=True, highlight=False)
    expected = Console(stderr=True, highlight=False).is_terminal
    assert _app._is_terminal(lazy) == expected
    if not env:
        assert lazy._made is None  # answered without making it (stderr is not a tty under pytest)


def test_lazy_console_prints_as_the_console(capsys):
    _app._LazyConsole(highlight=False, soft_wrap=False).print("a\x1bb [bold]c[/]")
    assert capsys.readouterr().out == "a?b c\n"
