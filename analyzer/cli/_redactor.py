"""The redactor that --redact, --redact-ips and --redact-key ask for, without typer (the options
themselves: :mod:`analyzer.cli._redact`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..report.redact import Redactor

#: analyzer.report.redact.ENV_KEY (not imported here: the report package loads pandas; a test checks they agree)
ENV_KEY = "MAILLENS_REDACT_KEY"


def make_redactor(redact: bool, ips: bool, key: str | None) -> Redactor | None:
    """The Redactor the options ask for (None without --redact); ValueError if they make no sense."""
    if (ips or key) and not redact:
        raise ValueError("--redact-ips and --redact-key need --redact")
    if not redact:
        return None
    from ..report.redact import Redactor

    return Redactor(key, ips=ips)
