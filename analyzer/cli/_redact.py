"""The --redact, --redact-ips and --redact-key options shared by parse, search and trace."""

from __future__ import annotations

from typing import Annotated

import typer

from ._redactor import ENV_KEY, make_redactor

__all__ = ["ENV_KEY", "RedactIpsOpt", "RedactKeyOpt", "RedactOpt", "make_redactor"]

RedactOpt = Annotated[bool, typer.Option("--redact", help="Pseudonymise the local part of every address and "
                                         "every login name (keyed HMAC, the same pseudonym everywhere)")]
RedactIpsOpt = Annotated[bool, typer.Option("--redact-ips", help="With --redact, pseudonymise IP addresses too")]
RedactKeyOpt = Annotated[str | None, typer.Option("--redact-key", help=f"Key for --redact pseudonyms [default: "
                                                  f"${ENV_KEY}, else a random key per run]", show_default=False)]
