"""The --redact, --redact-ips and --redact-key options shared by parse, search and trace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..report.redact import Redactor

#: analyzer.report.redact.ENV_KEY (not imported here: the report package loads pandas; a test checks they agree)
ENV_KEY = "MAILLENS_REDACT_KEY"

RedactOpt = Annotated[bool, typer.Option("--redact", help="Pseudonymise the local part of every address and "
                                         "every login name (keyed HMAC, the same pseudonym everywhere)")]
RedactIpsOpt = Annotated[bool, typer.Option("--redact-ips", help="With --redact, pseudonymise IP addresses too")]
RedactKeyOpt = Annotated[str | None, typer.Option("--redact-key", help=f"Key for --redact pseudonyms [default: "
                                                  f"${ENV_KEY}, else a random key per run]", show_default=False)]


def make_redactor(redact: bool, ips: bool, key: str | None) -> Redactor | None:
    """The Redactor the options ask for (None without --redact); ValueError if they make no sense."""
    if (ips or key) and not redact:
        raise ValueError("--redact-ips and --redact-key need --redact")
    if not redact:
        return None
    from ..report.redact import Redactor

    return Redactor(key, ips=ips)
