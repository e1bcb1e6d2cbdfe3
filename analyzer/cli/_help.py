"""Tidier help and cheaper option conversion for the typer app (see :class:`analyzer.cli._app._Group`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: metavars shown in --help for options whose name alone says little (the rest: NAME in capitals)
_METAVARS = {"tz": "ZONE", "since": "TIME", "until": "TIME", "now": "TIME", "output": "FILE", "rules": "FILE",
             "anomalies": "FILE", "config": "FILE", "store": "DIR", "log_format": "FORMAT", "fmt": "FORMAT",
             "last": "DURATION", "keep": "DURATION", "redact_key": "KEY", "fail_on": "SEVERITY"}
_INT = re.compile(r"[+-]?[0-9]+")


def _tidy_help(cmd: Any) -> None:
    """Plain metavars (FILE, ZONE, LOGS...) instead of typer's Python types (<str>, <list[str]>).

    ``cmd`` is a click command as typer builds it (typer carries its own copy of click)."""
    import types

    try:  # build (and cache) the --help option now, so that its value is converted cheaply too
        help_option = cmd.get_help_option(types.SimpleNamespace(help_option_names=["--help"]))
        if help_option is not None:
            _light_coercion(help_option)
    except (AttributeError, TypeError):  # pragma: no cover - another typer/click layout
        pass
    for param in cmd.params:
        _light_coercion(param)
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            continue
        if param.metavar is None and param.name:
            param.metavar = _METAVARS.get(param.name, param.name.upper())
        if param.param_type_name == "argument":  # the name says it; typer would add "<list[str]>"
            param.display_type_rich = lambda ctx: None
    if getattr(cmd, "help", None) and "\b" not in cmd.help:
        cmd.help = _keep_examples(cmd.help)
    for sub in getattr(cmd, "commands", {}).values():
        _tidy_help(sub)


def _keep_examples(text: str) -> str:
    """Mark indented paragraphs (the examples) with click's no-rewrap marker, so that a long
    command line stays on one line and can be copied."""
    import inspect

    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join("\b\n" + p if p.startswith("  ") else p for p in paragraphs)


def _plain_type(annotation: Any) -> tuple[type, bool] | None:
    """(str, Path, bool or int, is a list) for those types and lists of them, optional or not; else None."""
    import types
    import typing

    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    is_list = typing.get_origin(annotation) is list
    if is_list:
        annotation = typing.get_args(annotation)[0]
    return (annotation, is_list) if annotation in (str, Path, bool, int) else None


def _light_coercion(param: Any) -> None:
    """Convert str, Path, bool and plain int options ourselves: typer >= 0.24 builds a pydantic
    TypeAdapter for every option it converts (even one left unset), and importing pydantic costs
    more than the rest of `maillens --help` (and 50-100 ms of every `maillens parse`). Values
    that are not plain (a bad or out-of-range number …) and other types go to typer's own
    conversion, with its messages; older typers are left alone."""
    try:
        from typer._coercion import RuntimeParam, build_runtime_param
    except ImportError:  # pragma: no cover - typer without pydantic: nothing to avoid
        return
    desc = getattr(param, "type_descriptor", None)
    if desc is None or getattr(param, "_runtime_param", "built") is not None or desc.file_annotation is not None:
        return
    plain = _plain_type(desc.annotation)
    if plain is None or desc.parameter_info.parser is not None:
        return
    kind, is_list = plain

    info = desc.parameter_info
    if kind is int and getattr(info, "clamp", False):
        return

    def plain(v: Any) -> bool:
        if kind is not int:
            return isinstance(v, str if kind is Path else kind)
        if isinstance(v, str) and _INT.fullmatch(v):
            v = int(v)
        return (isinstance(v, int) and not isinstance(v, bool) and (info.min is None or v >= info.min)
                and (info.max is None or v <= info.max))

    class _Plain(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            items = list(value) if is_list else [value]
            if all(plain(v) for v in items):
                conv = [kind(v) for v in items]
                return conv if is_list else conv[0]
            # anything else (a bad number, out of range ...): typer's own conversion and message
            return build_runtime_param(desc)._coerce_value(value, param=param, ctx=ctx)

    param._runtime_param = _Plain(parameter_info=desc.parameter_info, annotation=desc.annotation)
