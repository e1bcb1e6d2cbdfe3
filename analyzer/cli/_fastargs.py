"""`maillens parse` with plain options, read without typer: importing typer and building its app
cost ~0.06 CPU-s of a run's start (~6% of a 1M-line day's parse on 2 idle cores), all of it before
the workers fork. :func:`read_parse` reads only the forms it reads exactly as the typer command
does (the options by their full names or ``-o``/``-f``/``-q``, ``--name=value``, the logs
anywhere between them); anything else (``--help``, a typo, ``--year x``, ``-qf``, ``--``, an
empty or option-like value, a group option before ``parse``, shell completion) is left to typer,
which reads it or says what is wrong. The values come out as typer gives them to
:func:`analyzer.cli._parse.parse_command` (tests/test_cli_fastargs.py compares the two)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["read_parse", "with_settings"]

#: options that take a value: name -> parameter (``--year`` converted below)
_VALUED = {"--output": "output", "-o": "output", "--format": "fmt", "-f": "fmt", "--log-format": "log_format",
           "--year": "year", "--tz": "tz", "--rules": "rules", "--redact-key": "redact_key"}
#: flags: name -> (parameter, value)
_FLAGS = {"--strict": ("strict", True), "--quiet": ("quiet", True), "-q": ("quiet", True),
          "--classify": ("classify", True), "--no-classify": ("classify", False), "--redact": ("redact", True),
          "--redact-ips": ("redact_ips", True)}
#: typer's ``--year`` range (:data:`analyzer.cli._app.YearOpt`)
YEARS = (1970, 2200)
#: the defaults of parse's parameters, as typer passes them
DEFAULTS: dict[str, Any] = {"logs": None, "output": None, "fmt": "text", "log_format": "auto", "year": None,
                            "tz": None, "strict": False, "quiet": False, "classify": True, "rules": None,
                            "redact": False, "redact_ips": False, "redact_key": None}


def read_parse(args: list[str]) -> tuple[dict[str, Any], set[str]] | None:
    """``maillens parse ARGS``' parameter values and the names given on the line; None where
    typer should read them."""
    values = dict(DEFAULTS)
    given: set[str] = set()
    logs: list[str] = []
    rules: list[Path] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "-" or not arg.startswith("-"):
            logs.append(arg)
            continue
        if arg in _FLAGS:
            name, value = _FLAGS[arg]
            values[name] = value
            given.add(name)
            continue
        opt, eq, attached = arg.partition("=")
        if eq and not opt.startswith("--"):
            return None  # "-o=x": click reads "=x" as the value
        if opt not in _VALUED:
            return None
        if eq:
            value = attached
        elif i < len(args):
            value = args[i]
            i += 1
        else:
            return None  # no value: typer's error
        if not value or (value.startswith("-") and value != "-"):
            return None
        name = _VALUED[opt]
        if name == "year":
            try:
                year = int(value)  # as click's int type converts
            except ValueError:
                return None
            if not YEARS[0] <= year <= YEARS[1]:
                return None
            values["year"] = year
        elif name == "rules":
            rules.append(Path(value))
        else:
            values[name] = value
        given.add(name)
    if logs:
        values["logs"] = logs
    if rules:
        values["rules"] = rules
    return values, given


def with_settings(values: dict[str, Any], given: set[str], settings: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the settings file's (:data:`analyzer.cli._common.CONFIG`) for the
    parameters not given on the line, as typer's default map gives them."""
    out = dict(values)
    for name, value in settings.items():
        if name in DEFAULTS and name not in given:
            out[name] = [Path(v) for v in value] if name == "rules" else value
    return out
