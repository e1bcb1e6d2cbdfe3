"""The reply codes Exim sends for its own rejects (which it does not log), held without pyarrow:
the native Exim reader is built from them (:func:`analyzer.native.exim_reader`) on
:mod:`analyzer.early_fold`'s start, before pyarrow is imported. :mod:`analyzer.parsers.exim`
re-exports them under the same names.
"""

from __future__ import annotations

__all__ = ["ACL_DEFER_CODE", "ACL_DENY_CODES", "ACL_DENY_DEFAULT", "FIXED_CODES", "TEXT_CODES"]

# By Exim's ACL rules (spec, "Access control lists"; acl_wherecodes in Exim's globals.c): a
# 'deny' (or 'drop') answers 550 in every SMTP ACL but AUTH (503) and ETRN (458); 'defer'
# ("temporarily rejected") answers 451 everywhere. A code at the start of the ACL's message
# replaces the default, and then it is in the logged text (code_origin 'logged').
ACL_DENY_CODES: dict[str, int] = {"AUTH": 503, "ETRN": 458}  # by smtp_stage; else 550
ACL_DENY_DEFAULT = 550
ACL_DEFER_CODE = 451
#: pattern -> the code Exim's SMTP code sends with that line's event
FIXED_CODES: dict[str, int] = {
    "exim.unqualified_sender": 501,       # "501 <x>: sender address must contain a domain"
    "exim.unqualified_recipient": 501,    # "501 <x>: recipient address must contain a domain"
    "exim.unqualified_verify": 501,
    "exim.sync_error": 554,               # "554 SMTP synchronization error"
    "exim.refused": 554,                  # host_reject_connection: "554 <text>"
    "exim.too_many_recipients": 452,      # recipients_max reached: "452 too many recipients"
    "exim.auth_failed": 535,              # "535 Incorrect authentication data"
    "exim.dropped": 421,                  # too many syntax/protocol/unknown commands
    "exim.acl_dropped": 550,              # 'drop' verb: the deny code, then the connection closes
}
#: (substring of the reject text, code): Exim's own fixed replies for some rejects
TEXT_CODES: tuple[tuple[str, int], ...] = (
    ("message too big", 552),             # message_size_limit: "552 Message size exceeds maximum permitted"
    ("SIZE", 552),                        # MAIL FROM SIZE= over message_size_limit
    ("syntactically invalid argument", 501),  # HELO/EHLO syntax check
)
