"""What Exim writes to its mainlog, rejectlog and paniclog, as data.

Group names follow :mod:`analyzer.parsers.postfix`; in addition ``client_h`` and ``relay_h``
are Exim ``H=`` values (``name (helo) [ip]:port``) and ``fields`` is the tail of ``NAME=value``
items that :mod:`analyzer.parsers.fields` reads (H= F= P= S= X= C= QT= R= T= U= id= ...).
"""

from __future__ import annotations

from ..exim_codes import ACL_DEFER_CODE, ACL_DENY_CODES, ACL_DENY_DEFAULT, FIXED_CODES, TEXT_CODES  # noqa: F401 (re-exported)
from ..line_patterns import EXIM_PROGRAM, EXIM_WRAPPED, MID  # (held without pyarrow, re-exported)
from .engine import Pattern

__all__ = ["ACL_DEFER_CODE", "ACL_DENY_CODES", "EXIM_PROGRAM", "EXIM_WRAPPED", "FIXED_CODES", "MID", "PATTERNS",
           "TEXT_CODES"]

H = r"(?:[^\s()\[\]]+ )?(?:\([^)]*\) )?\[[^\]]+\](?::\d+)?"  # name (helo) [ip]:port
HOST = rf"(?:{H}|\S+)"

_ADDR = r"(?P<orig_recipient><[^>]*>)"


PATTERNS: list[Pattern] = [
    # ---- message lines -------------------------------------------------------------------
    Pattern("exim.arrival", rf"^(?P<queue_id>{MID}) <= (?P<sender>\S+)(?P<fields>.*)$", "received"),
    Pattern("exim.fakereject", rf"^(?P<queue_id>{MID}) \(= (?P<sender>\S+)(?P<fields>.*)$", "received",
            {"status": "fakereject"}),
    # the discard verb / :blackhole: router: "=> blackhole (DATA ACL discarded recipients): text"
    Pattern("exim.blackhole", rf"^(?P<queue_id>{MID}) => blackhole (?P<detail>\(.*)$",
            "delivery", {"status": "discarded"}),
    Pattern("exim.delivery", rf"^(?P<queue_id>{MID}) (?P<flag>=>|->|>>|\*>) (?P<recipient>\S+)(?: {_ADDR})?(?P<fields>.*)$",
            "delivery", {"status": "sent"}),
    Pattern("exim.deferral", rf"^(?P<queue_id>{MID}) == (?P<recipient>\S+?)(?: {_ADDR})?(?P<fields>(?: .*?)?) ?: (?P<reply_text>.*)$",
            "delivery", {"status": "deferred"}),
    Pattern("exim.deferral_bare", rf"^(?P<queue_id>{MID}) == (?P<recipient>\S+)(?: {_ADDR})?(?P<fields>.*)$",
            "delivery", {"status": "deferred"}),
    Pattern("exim.failure", rf"^(?P<queue_id>{MID}) \*\* (?P<recipient>\S+?)(?: {_ADDR})?(?P<fields>(?: .*?)?) ?: (?P<reply_text>.*)$",
            "delivery", {"status": "bounced"}),
    Pattern("exim.failure_bare", rf"^(?P<queue_id>{MID}) \*\* (?P<recipient>\S+)(?: {_ADDR})?(?P<fields>.*)$",
            "delivery", {"status": "bounced"}),
    Pattern("exim.completed", rf"^(?P<queue_id>{MID}) Completed(?P<fields>.*)$", "removed", {"status": "completed"}),
    Pattern("exim.frozen", rf"^(?P<queue_id>{MID}) (?P<status>Frozen|Unfrozen|Message is frozen|frozen by .*|Message frozen|unfrozen by .*|cancelled by .*)(?P<detail>.*)$",
            "frozen"),
    Pattern("exim.reject",
            rf"^(?:(?P<queue_id>{MID}) )?(?P<fields>(?:[A-Z][A-Za-z]*=(?:[^:]|:[^ ])*? )?)(?P<temp>temporarily )?rejected "
            r"(?P<stage>after DATA|connection|by local_scan\(\)|by non-SMTP ACL|[A-Z]+)(?: from (?P<from>\S+?):?)?"
            r"(?: (?P<addr><[^>]*>|[^\s:]+))?(?: in \"[^\"]*\" ACL)?(?::? ?(?P<reply_text>.*))?$",
            "reject"),
    Pattern("exim.host_smtp_error", rf"^(?P<queue_id>{MID}) (?:[A-Z]=\S+ )*H=(?P<relay_h>{H})(?: I=\S+)?:? (?P<reply_text>SMTP error from remote mail server after .*)$",
            "reply", {"direction": "outbound"}),
    Pattern("exim.host_timeout", rf"^(?P<queue_id>{MID}) (?:[A-Z]=\S+ )*H=(?P<relay_h>{H})(?: I=\S+)?:? (?P<reply_text>SMTP timeout .*|.*timed out.*)$",
            "timeout", {"direction": "outbound"}),
    Pattern("exim.host_lost", rf"^(?P<queue_id>{MID}) (?:[A-Z]=\S+ )*H=(?P<relay_h>{H})(?: I=\S+)?:? (?P<reply_text>Remote host closed connection.*|.*[Cc]onnection reset.*)$",
            "lost_connection", {"direction": "outbound"}),
    Pattern("exim.host_connect", rf"^(?P<queue_id>{MID}) (?:[A-Z]=\S+ )*H=(?P<relay_h>{H})(?: I=\S+)?:? (?P<reply_text>Connection refused|Network is unreachable|No route to host|.*[Cc]onnection refused.*)$",
            "connect_failure", {"direction": "outbound", "smtp_stage": "connect", "status": "failed"}),
    Pattern("exim.host_other", rf"^(?P<queue_id>{MID}) (?:[A-Z]=\S+ )*H=(?P<relay_h>{H})(?: I=\S+)?:? (?P<reply_text>.*)$",
            "reply", {"direction": "outbound"}),
    Pattern("exim.dkim", rf"^(?P<queue_id>{MID}) (?P<status>DKIM|ARC|SPF|DMARC): (?P<detail>.*)$", "info"),
    Pattern("exim.spamassassin", rf"^(?P<queue_id>{MID}) SA: (?P<detail>.*?)(?: \(host=(?P<client_h>{H})\))?(?: for (?P<recipient>\S+))?$",
            "filter_action", {"status": "spamassassin"}),
    Pattern("exim.removed_by", rf"^(?P<queue_id>{MID}) (?P<status>removed by|cancelled by|thawed by|frozen by) (?P<detail>.*)$", "admin"),
    # ---- sessions (no message id) ----------------------------------------------------------------
    Pattern("exim.quit", rf"^(?:(?P<queue_id>{MID}) )?SMTP connection (?:Ci=\S+ )?from (?P<client_h>{HOST})(?P<fields>.*?) closed by QUIT$",
            "disconnect", {"quit": True, "smtp_stage": "QUIT", "reply_code": "221"}),
    Pattern("exim.conn_lost", rf"^(?:(?P<queue_id>{MID}) )?SMTP connection (?:Ci=\S+ )?from (?P<client_h>{HOST})(?P<fields>.*?) lost(?P<detail>.*)$",
            "lost_connection", {"quit": False}),
    Pattern("exim.conn_closed", rf"^(?:(?P<queue_id>{MID}) )?SMTP connection (?:Ci=\S+ )?from (?P<client_h>{HOST})(?P<fields>.*?) (?P<detail>closed by .*|closed .*)$",
            "disconnect", {"quit": False}),
    Pattern("exim.connect", rf"^(?:(?P<queue_id>{MID}) )?SMTP connection (?:Ci=\S+ )?from (?P<client_h>{HOST})(?P<fields>.*)$", "connect"),
    Pattern("exim.unexpected", rf"^(?:(?P<queue_id>{MID}) )?unexpected disconnection while reading SMTP command from (?P<client_h>{HOST})(?P<fields>.*)$",
            "lost_connection", {"quit": False}),
    Pattern("exim.cmd_timeout", rf"^(?:(?P<queue_id>{MID}) )?SMTP command timeout on (?:TLS )?connection from (?P<client_h>{HOST})(?P<fields>.*)$",
            "timeout", {"quit": False}),
    Pattern("exim.data_timeout", rf"^(?:(?P<queue_id>{MID}) )?SMTP data timeout \(message abandoned\) on connection from (?P<client_h>{HOST})(?P<fields>.*)$",
            "timeout", {"quit": False, "smtp_stage": "DATA"}),
    Pattern("exim.no_mail", rf"^(?:(?P<queue_id>{MID}) )?no MAIL in SMTP connection from (?P<client_h>{HOST})(?P<fields>.*)$", "disconnect"),
    Pattern("exim.incomplete_lost", r"^(?P<fields>(?:[A-Z]=.*? )?)incomplete transaction \((?P<detail>connection lost)\) from (?P<sender><[^>]*>)(?: for (?P<recipient>.*))?$",
            "lost_connection", {"quit": False, "smtp_stage": "DATA"}),
    Pattern("exim.incomplete_sync", r"^(?P<fields>(?:[A-Z]=.*? )?)incomplete transaction \((?P<detail>sync failure|synchronization error)\) from (?P<sender><[^>]*>)(?: for (?P<recipient>.*))?$",
            "protocol_error", {"status": "synchronization"}),
    Pattern("exim.incomplete", r"^(?P<fields>(?:[A-Z]=.*? )?)incomplete transaction \((?P<detail>[^)]*)\) from (?P<sender><[^>]*>)(?: for (?P<recipient>.*))?$",
            "info", {"status": "incomplete transaction"}),
    Pattern("exim.dropped", rf"^(?:(?P<queue_id>{MID}) )?SMTP call from (?P<client_h>{HOST})(?: I=\S+)? dropped: (?P<detail>.*)$", "too_many_errors", {"quit": False}),
    Pattern("exim.unqualified_sender", r"^(?P<detail>unqualified sender rejected): (?P<sender><[^>]*>|\S*)(?P<fields>.*)$",
            "reject", {"status": "rejected", "smtp_stage": "MAIL FROM"}),
    Pattern("exim.unqualified_recipient", r"^(?P<detail>unqualified recipient rejected): (?P<recipient><[^>]*>|\S*)(?P<fields>.*)$",
            "reject", {"status": "rejected", "smtp_stage": "RCPT TO"}),
    Pattern("exim.unqualified_verify", r"^(?P<detail>unqualified verify rejected): (?P<recipient><[^>]*>|\S*)(?P<fields>.*)$",
            "reject", {"status": "rejected", "smtp_stage": "VRFY"}),
    Pattern("exim.sync_error", rf"^SMTP protocol synchronization error \((?P<detail>[^)]*)\): rejected (?P<stage>connection|\"[^\"]*\")(?: from)? H=(?P<client_h>{H})(?P<fields>.*)$",
            "protocol_error", {"status": "synchronization"}),
    Pattern("exim.protocol_error", rf"^SMTP protocol error in \"(?P<stage>.*)\"(?: H=(?P<client_h>{H}))?(?: I=\S+)?(?: U=\S+)? (?P<detail>.*)$",
            "protocol_error", {"status": "protocol error"}),
    Pattern("exim.syntax_error", rf"^SMTP syntax error in \"(?P<stage>.*)\"(?: H=(?P<client_h>{H}))?(?: I=\S+)?(?: U=\S+)? (?P<detail>.*)$",
            "protocol_error", {"status": "syntax error"}),
    Pattern("exim.too_many_recipients", r"^too many recipients: (?P<detail>.*)$", "reject", {"smtp_stage": "RCPT TO"}),
    # "<driver> authenticator failed for ...", the driver name optionally followed by a tag in
    # brackets or parentheses; "for" and the colon are missing in some versions' lines
    Pattern("exim.auth_failed", rf"^(?:(?P<queue_id>{MID}) )?(?:[\w-]+: )?(?P<detail>\S+)(?: [\[(][^\])]*[\])])? authenticator failed (?:for )?(?:H=)?(?P<client_h>{H})(?P<fields>(?: [A-Z][A-Za-z]*=\S+)*):? (?P<reply_text>.*?)(?: \(set_id=(?P<sasl_username>[^)]*)\))?$",
            "auth_failure", {"status": "failed", "smtp_stage": "AUTH"}),
    Pattern("exim.acl_dropped", r"^(?P<fields>(?:[A-Z][A-Za-z]*=.*? )?)dropped by '(?P<stage>[^']*)' ACL:? ?(?P<reply_text>.*)$", "reject",
            {"status": "rejected"}),
    Pattern("exim.refused", r"^(?P<fields>(?:[A-Z]=.*? )?)refused connection(?:: (?P<reply_text>.*))?(?P<detail>.*)$", "reject",
            {"smtp_stage": "connect", "status": "rejected"}),
    Pattern("exim.verify",
            rf"^(?:(?P<queue_id>{MID}) )?(?P<fields>(?:[A-Z][A-Za-z]*=.*? )?)(?P<vtype>sender|recipient) verify (?P<vres>fail|defer)"
            r"(?: \([^)]*\))?(?: for (?P<addr><[^>]*>))?(?::? ?(?P<reply_text>.*))?$",
            "verify"),
    Pattern("exim.tls_error", rf"^(?:(?P<queue_id>{MID}) )?TLS error on (?:connection )?(?:from |to )?(?P<client_h>{H})?\s*(?P<detail>.*)$",
            "tls", {"status": "failed", "smtp_stage": "STARTTLS"}),
    Pattern("exim.queue_run", r"^(?P<status>Start|End) (?:\w+ )?queue run:?(?P<detail>.*)$", "queue_run"),
    Pattern("exim.discarded", rf"^(?:(?P<queue_id>{MID}) )?(?P<fields>(?:[A-Z][A-Za-z]*=.*? )?)(?P<stage>RCPT|MAIL|DATA) (?P<addr><[^>]*>): (?P<detail>discarded by .*)$",
            "filter_action", {"status": "discard"}),
    Pattern("exim.vrfy", r"^(?P<stage>VRFY|EXPN) (?P<vres>failed|accepted) for (?P<addr><[^>]*>|\S+)(?P<fields>.*)$", "verify"),
    Pattern("exim.config_error", r"^(?P<detail>Exim configuration error.*|configuration error.*|configured error code .*|invalid \S+: .*|(?:.* )?failed to expand.*|.* returned ERROR: .*)$", "error"),
    Pattern("exim.ssl_verify", rf"^(?:(?P<client_h>{H}) )?(?P<detail>SSL verify error: .*|TLS session: .*failed.*)$", "tls", {"status": "failed", "smtp_stage": "STARTTLS"}),
    Pattern("exim.atrn", rf"^(?P<detail>(?:ATRN|ETRN) .*) (?:received )?from (?P<client_h>{H})(?P<fields>.*)$", "info"),
    Pattern("exim.daemon", r"^(?P<detail>(?:exim \S+ )?daemon (?:started|stopped|restarting|exiting).*|pid written to .*|exim \S+ daemon .*)$", "daemon"),
    Pattern("exim.no_host_name", r"^(?P<detail>no host name found for IP address) (?P<client_ip>[0-9A-Fa-f.:]+)$", "dns"),
    Pattern("exim.no_ip", rf"^(?P<detail>no IP address found for host \S+.*?)(?: \(during SMTP connection from (?P<client_h>{H})(?: I=\S+)?\))?$", "dns"),
    Pattern("exim.dns_warning", rf"^(?:(?P<queue_id>{MID}) )?(?P<detail>(?:Warning|warning|WARNING): .*)$", "warning"),
    Pattern("exim.acl_warn", rf"^(?:(?P<queue_id>{MID}) )?H=(?P<client_h>{H})(?P<fields>.*?) Warning: (?P<detail>.*)$", "reject_warning"),
    Pattern("exim.error_ignored", rf"^(?P<queue_id>{MID}) (?P<recipient>\S+): error ignored$", "info", {"status": "error ignored"}),
    Pattern("exim.cutthrough", rf"^(?P<queue_id>{MID}) (?P<detail>no immediate delivery: .*|original recipients ignored.*|.* recipient(?:s)? ignored.*)$", "info"),
    # a message note written by the configuration (logwrite, event actions, local_scan)
    Pattern("exim.note", rf"^(?P<queue_id>{MID}) (?P<detail>.*)$", "info", {"status": "note"}),
]
