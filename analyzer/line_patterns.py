"""The pattern pieces the native Postfix fold is built from besides the Postfix table
(:func:`analyzer.native.fast_postfix`, :func:`analyzer.native.foreign`), held without pyarrow:
`maillens parse FILE` builds that fold on a thread while the main thread still imports pyarrow
(:mod:`analyzer.early_fold`). The modules that read them with pyarrow re-export them under their
old names: :mod:`analyzer.parsers.fields` (the reply texts' code, enhanced code, stage and
"queued as" patterns, the stage rules), :mod:`analyzer.parsers.syslog` (``MONTHS``) and
:mod:`analyzer.parsers.exim` (``MID``, ``EXIM_PROGRAM``, ``EXIM_WRAPPED``).
"""

from __future__ import annotations

__all__ = ["CODE", "ENH_ANY", "EXIM_PROGRAM", "EXIM_WRAPPED", "MID", "MONTHS", "QUEUED_AS", "STAGE_RULES",
           "STAGE_TEXT"]

# ---- reply texts (analyzer.parsers.fields) ------------------------------------------------------
CODE = r"(?:^|: |\(|\s)(?P<code>[2-5][0-9][0-9])(?:[ -]|$)(?:[2-5][0-9][0-9][ -])?(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3}\b)?"
ENH_ANY = r"(?:^|[\s(\[-])(?P<enh>[245]\.[0-9]{1,3}\.[0-9]{1,3})(?:$|[\s,;:)\].])"
STAGE_TEXT = (r"(?:in reply to (?P<a>.+?) command|(?P<b>refused to talk to me)|while (?P<c>[^:()]+)"
              r"|remote mail server after (?P<d>[^:]+?)(?::|$| [2-5]\d\d)|timed out while (?P<e>.+)"
              r"|in response to (?P<f>.+))")
QUEUED_AS = r"queued as (?P<q>[0-9A-Za-z-]{5,})"
STAGE_RULES = [
    ("END OF DATA", "end of DATA"), ("END-OF-MESSAGE", "end of DATA"), ("AFTER DATA", "end of DATA"),
    ("END OF MESSAGE", "end of DATA"), ("LOCAL_SCAN", "end of DATA"), ("DATA BLOCK", "DATA"),
    ("MESSAGE BODY", "DATA"), ("MESSAGE CONTENT", "DATA"), ("GREETING", "greeting"),
    ("REFUSED TO TALK", "greeting"), ("INITIAL CONNECTION", "greeting"), ("BANNER", "greeting"),
    ("STARTTLS", "STARTTLS"), ("TLS", "STARTTLS"), ("EHLO", "HELO/EHLO"), ("HELO", "HELO/EHLO"),
    ("LHLO", "HELO/EHLO"), ("AUTH", "AUTH"), ("MAIL", "MAIL FROM"), ("RCPT", "RCPT TO"),
    ("BDAT", "BDAT"), ("DATA", "DATA"), ("QUIT", "QUIT"), ("RSET", "RSET"), ("VRFY", "VRFY"),
    ("ETRN", "ETRN"), ("NOOP", "NOOP"), ("CONNECT", "connect"),
]

# ---- syslog stamps (analyzer.parsers.syslog) ----------------------------------------------------
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# ---- Exim's program and its lines under other names (analyzer.parsers.exim) --------------------
# Old ids 1vXyZa-000AbC-1x; Exim 4.97+ ids 1vXyZa-00000000AbC-1xyz.
MID = r"[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}"
EXIM_PROGRAM = r"^exim[\w.-]*$"
# An Exim line passed through syslog/journald under another program name (a container's or
# wrapper's): the message still starts with Exim's own stamp, or with a message id and a flag.
EXIM_WRAPPED = (rf"^(?:\[\d+[\\/]\d+\] |\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{{3}})? "
                rf"|{MID} (?:<=|=>|->|==|\*\*|\*>|Completed|Frozen|\(=) )")
