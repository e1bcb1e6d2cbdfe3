"""`maillens explain`: what a code, reply or cause means and what to do."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..explain import UnknownQuery, explain as explain_query, render_explain
from ..rules import RulesError, load_rules
from ._app import EXIT_INPUT, EXIT_USAGE, app, fail, out

RulesOpt = Annotated[list[Path] | None, typer.Option("--rules", help="A site rules file (TOML) that adds or "
                                                      "overrides knowledge-base entries; may be repeated")]


def load_kb(rules: list[Path] | None):
    """The knowledge base with the site's files, or a one-line error naming file and rule."""
    try:
        return load_rules(tuple(rules or ()))
    except RulesError as exc:
        fail(str(exc), "fix the file, or run without --rules", EXIT_INPUT)


@app.command()
def explain(
    queries: Annotated[list[str], typer.Argument(help="Reply codes (521), enhanced codes (5.1.1), replies "
                                                 "('550 5.7.26 ...') or cause ids (host.no_mail)", show_default=False)],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, markdown or json")] = "text",
    rules: RulesOpt = None,
) -> None:
    """Explain what a reply means, when you see it and how to fix it; two or more side by side.

    Examples:

      maillens explain 521

      maillens explain 5.7.26

      maillens explain "550 5.7.1 Service unavailable; client [192.0.2.7] blocked using zen.spamhaus.org"

      maillens explain 221 521        # why did this session end with one and not the other?

      maillens explain host.no_mail --format json
    """
    if fmt not in ("text", "markdown", "json"):
        fail(f"unknown format {fmt!r}", "use --format text, markdown or json", EXIT_USAGE)
    kb = load_kb(rules)
    try:
        result = explain_query(*queries, rules=kb)
    except UnknownQuery as exc:
        fail(str(exc), exc.hint, EXIT_USAGE)
    out.print(render_explain(result, fmt), markup=False, highlight=False, soft_wrap=True)
