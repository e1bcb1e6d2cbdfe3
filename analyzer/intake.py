"""What a run actually read: no mail lines at all is an error, a file of mostly other text a warning.

A cron job whose glob matches the wrong files, or whose logs are read with the wrong
``--log-format``, must not report "all clear" for ever: :func:`check_intake` turns "not one
Postfix or Exim line" into :class:`NoMailLines` (the CLI's "no input" exit code), and names each
file where most lines are not mail lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .sources import SourceError

if TYPE_CHECKING:
    from .reader import ParseResult

__all__ = ["MOSTLY_NOT_MAIL", "NoMailLines", "check_intake", "not_mail_warnings"]

#: A file is "mostly not mail" when more than this share of its non-blank lines have no
#: syslog/Exim header or come from other programs (sshd, cron …).
MOSTLY_NOT_MAIL = 0.5


class NoMailLines(SourceError):
    """Inputs were read but held not one Postfix or Exim line (or there were no inputs)."""

    hint = ("name the mail logs (e.g. /var/log/mail.log*, /var/log/exim4/mainlog*); "
            "with --log-format, check it matches the files (auto detects it)")


def not_mail_warnings(result: ParseResult) -> list[str]:
    """One warning per file where most lines are not Postfix/Exim lines."""
    out = []
    for f in result.files:
        if f.lines and f.not_mail > MOSTLY_NOT_MAIL * f.lines:
            out.append(f"{f.name}: {f.not_mail:,} of {f.lines:,} lines are not Postfix or Exim lines "
                       "(is this a mail log? is --log-format right?)")
    return out


def check_intake(result: ParseResult, fmt: str = "auto") -> None:
    """Raise :class:`NoMailLines` when no mail line was read; else add the not-mail warnings
    to ``result.warnings``."""
    c = result.counts
    if sum(c.by_mta.values()) == 0:
        if not result.files:
            what = "no files to read"
        else:
            names = ", ".join(f.name for f in result.files[:3]) + (" …" if len(result.files) > 3 else "")
            detail = f"{c.lines:,} lines" if c.lines else "empty"
            what = f"not one Postfix or Exim line in {len(result.files)} file(s) ({names}; {detail})"
            if fmt != "auto" and c.lines:
                what += f" read as --log-format {fmt}"
        raise NoMailLines(f"no mail lines read: {what}")
    result.warnings.extend(not_mail_warnings(result))
