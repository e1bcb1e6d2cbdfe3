"""`maillens explain`: what a code, reply or cause means and what to do."""

from __future__ import annotations

from typing import Annotated

import typer

from ._app import EXIT_USAGE, RulesOpt, app, fail, load_kb, out


@app.command()
def explain(
    queries: Annotated[list[str], typer.Argument(help="Reply codes (521), enhanced codes (5.1.1), replies "
                                                 "('550 5.7.26 ...') or cause ids (host.no_mail)", show_default=False)],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, markdown or json")] = "text",
    direction: Annotated[str | None, typer.Option(
        "--direction", "-d", help="inbound (our server judged a client) or outbound (a remote "
        "server judged us): show only the advice that applies; default: the pasted line's own "
        "direction, else both, labelled", show_default=False)] = None,
    rules: RulesOpt = None,
) -> None:
    """Explain what a reply means, when you see it and how to fix it; two or more side by side.

    Examples:

      maillens explain 521

      maillens explain 5.7.26

      maillens explain "550 5.7.1 Service unavailable; client [192.0.2.7] blocked using zen.spamhaus.org"

      maillens explain 221 521        # why did this session end with one and not the other?

      maillens explain --direction inbound "554 5.7.1 Client host [192.0.2.7] blocked using zen.spamhaus.org"

      maillens explain "status=deferred (connect to mx.example[192.0.2.10]:25: Connection refused)"

      maillens explain host.no_mail --format json
    """
    if fmt not in ("text", "markdown", "json"):
        fail(f"--format: unknown format {fmt!r}", "use --format text, markdown or json", EXIT_USAGE)
    if direction is not None and direction not in ("inbound", "outbound"):
        fail(f"--direction: unknown direction {direction!r}", "use --direction inbound or outbound", EXIT_USAGE)
    from ..explain import UnknownQuery, render_explain
    from ..explain import explain as explain_query

    kb = load_kb(rules)
    try:
        result = explain_query(*queries, rules=kb, direction=direction)
    except UnknownQuery as exc:
        fail(str(exc), exc.hint, EXIT_USAGE)
    out.print(render_explain(result, fmt), markup=False, highlight=False, soft_wrap=True)
