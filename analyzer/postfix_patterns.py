"""What Postfix's daemons write, as data: one :class:`Pattern` per kind of message.

Without pyarrow (`maillens parse FILE` builds the native fold from it on a thread while the main
thread still imports pyarrow: :mod:`analyzer.early_fold`); :mod:`analyzer.parsers.postfix`
re-exports it, the name the rest of the code knows it by.

Group names are event columns, or derived names that :mod:`analyzer.parsers.fields` expands:
``client`` (``host[ip]:port``), ``relay`` (same, or none/local/a transport), ``stage`` (an SMTP
command or phrase), ``reply_text`` (reply codes and stage are read from it), ``delays``.
Addresses are captured with their angle brackets so that the null sender ``<>`` stays apart
from "not logged".
"""

from __future__ import annotations

from .pattern_spec import Pattern

__all__ = ["DAEMON_DIRECTION", "DEBUG", "PATTERNS", "POSTFIX_PROGRAM", "REJECT_ACTIONS", "is_postfix_program"]

# Short ids are hex; long ids (enable_long_queue_ids) use a vowel-less base-52 alphabet.
QID = r"(?:[0-9A-F]{5,24}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,20})"
ADDR = r"<(?:\"[^\"]*\"|[^>\"])*>"  # an address with its brackets; a quoted local part may hold '>'
LOOSE_ADDR = rf"(?:{ADDR}|[^<>,\s]+)"  # older Postfix wrote to= without brackets
LOOSE_SENDER = rf"(?:{ADDR}|[^<>,\s]*)"  # from= without brackets (older Postfix, some syslog relays)
CLIENT = r"[^\s\[\]]*\[[^\]]*\](?::\d+)?"
DAEMONS = ("smtpd", "smtp", "lmtp", "local", "virtual", "pipe", "error", "discard", "retry",
           "qmgr", "nqmgr", "oqmgr", "cleanup", "pickup", "bounce", "defer", "trace", "postscreen",
           "dnsblog", "tlsproxy", "tlsmgr", "anvil", "scache", "verify", "master", "postsuper",
           "postqueue", "postdrop", "sendmail", "postfix-script", "postmap", "postalias",
           "postlogd", "trivial-rewrite", "rewrite", "showq", "flush", "proxymap", "spawn",
           "relay", "postmulti", "postconf", "postlog", "qmqpd", "oqmgr", "policy-spf")
POSTFIX_PROGRAM = (r"^(?:postfix[\w.-]*(?:/[\w.-]+)*|[\w.-]+(?:/[\w.-]+)*/(?:"
                   + "|".join(d.replace("-", r"\-") for d in DAEMONS) + "))$")

INBOUND = frozenset({"smtpd", "postscreen", "dnsblog", "tlsproxy", "anvil", "qmqpd"})
# lmtp/error(8)/retry: the next hop judges the mail; error and retry fail deliveries to remote
# destinations without a connection (delivery temporarily suspended, default_transport = error:...),
# so per-destination deferral counts include them
OUTBOUND = frozenset({"smtp", "relay", "lmtp", "error", "retry"})
LOCAL = frozenset({"local", "virtual", "pipe", "pickup", "sendmail", "postdrop", "discard"})
DAEMON_DIRECTION = {**{d: "inbound" for d in INBOUND}, **{d: "outbound" for d in OUTBOUND},
                    **{d: "local" for d in LOCAL}}

SMTPD = frozenset({"smtpd"})
SCREEN = frozenset({"postscreen"})
DELIVERY = frozenset({"smtp", "lmtp", "local", "virtual", "pipe", "error", "discard", "retry",
                      "qmgr", "nqmgr", "oqmgr", "relay"})
CLIENTS = frozenset({"smtp", "lmtp", "relay"})
QMGR = frozenset({"qmgr", "nqmgr", "oqmgr"})
REJECTERS = frozenset({"smtpd", "postscreen", "cleanup", "qmqpd"})

# The tail Postfix puts after a reject/filter reason.
_ENVELOPE = (rf"(?:; from=(?P<sender>{ADDR}))?(?:,? to=(?P<recipient>{ADDR}))?"
             r"(?:,? proto=(?P<protocol>[^\s,]+))?(?:,? helo=<(?P<helo>[^>]*)>)?")

PATTERNS: list[Pattern] = [
    # ---- smtpd sessions ----------------------------------------------------------------
    Pattern("smtpd.connect", rf"^connect from (?P<client>{CLIENT})$", "connect", daemons=SMTPD),
    Pattern("smtpd.disconnect", rf"^disconnect from (?P<client>{CLIENT})(?: (?P<detail>.*))?$",
            "disconnect", daemons=SMTPD | {"tlsproxy"}),
    Pattern("smtpd.client", rf"^(?P<queue_id>{QID}): client=(?P<client>{CLIENT})(?:, (?P<kv>.*))?$",
            "received", daemons=SMTPD | {"qmqpd"}),
    Pattern("smtpd.reject",
            rf"^(?:(?P<queue_id>{QID})|NOQUEUE): (?P<action>reject|reject_warning|milter-reject|proxy-reject): "
            rf"(?P<stage>[A-Z][A-Z-]*) from (?P<client>{CLIENT}): (?P<reply_text>.*?){_ENVELOPE}$",
            "reject", daemons=REJECTERS),
    Pattern("smtpd.action",
            rf"^(?:(?P<queue_id>{QID})|NOQUEUE): (?P<status>[a-z][a-z-]*): "
            rf"(?P<stage>[A-Z][A-Z-]*) from (?P<client>{CLIENT}): (?P<reply_text>.*?){_ENVELOPE}$",
            "filter_action", daemons=REJECTERS),
    Pattern("smtpd.proxy_accept",
            rf"^(?:(?:(?P<queue_id>{QID})|NOQUEUE): )?proxy-accept: (?P<stage>[A-Z][A-Z-]*): (?P<reply_text>.*?){_ENVELOPE}$",
            "filter_action", {"status": "proxy-accept"}, daemons=SMTPD),
    Pattern("smtpd.proxy_reject",
            rf"^(?:(?:(?P<queue_id>{QID})|NOQUEUE): )?proxy-reject: (?P<stage>[A-Z][A-Z-]*): (?P<reply_text>.*?){_ENVELOPE}$",
            "reject", daemons=SMTPD),
    # smtpd_proxy_filter / milters before the queue file exists: the client line has no queue id yet
    Pattern("smtpd.noqueue_client", rf"^NOQUEUE: client=(?P<client>{CLIENT})(?:, (?P<kv>.*))?$", "info",
            {"status": "client before queue"}, daemons=SMTPD),
    Pattern("smtpd.tls_setup", rf"^setting up TLS connection from (?P<client>{CLIENT})$", "tls",
            {"status": "setting up", "smtp_stage": "STARTTLS"}, daemons=frozenset({"smtpd", "tlsproxy"})),
    Pattern("smtpd.bare_lf_after", rf"^bare <(?:LF|CR)> received after (?P<stage>[A-Z][A-Z-]*) from (?P<client>{CLIENT})(?P<detail>.*)$",
            "protocol_error", {"status": "bare newline"}, daemons=SMTPD),
    Pattern("smtpd.lost",
            rf"^(?:(?:{QID}|NOQUEUE): )?lost connection after (?P<stage>[A-Z][A-Z-]*)(?: \([^)]*\))? from (?P<client>{CLIENT})$",
            "lost_connection", {"quit": False}, daemons=SMTPD | {"tlsproxy"}),
    Pattern("smtpd.timeout",
            rf"^(?:(?:{QID}|NOQUEUE): )?timeout after (?P<stage>[A-Z][A-Z-]*)(?: \([^)]*\))? from (?P<client>{CLIENT})$",
            "timeout", {"quit": False}, daemons=SMTPD | {"tlsproxy"}),
    Pattern("smtpd.too_many_errors",
            rf"^(?:(?:{QID}|NOQUEUE): )?too many errors after (?P<stage>[A-Z][A-Z-]*)(?: \([^)]*\))? from (?P<client>{CLIENT})$",
            "too_many_errors", {"quit": False}, daemons=SMTPD),
    Pattern("smtpd.sasl_failed",
            rf"^warning: (?P<client>{CLIENT}): SASL (?P<detail>[\w-]+) authentication failed:? ?(?P<reply_text>.*?)"
            r"(?:, sasl_username=(?P<sasl_username>.*))?$",
            "auth_failure", {"status": "failed", "smtp_stage": "AUTH"}, daemons=SMTPD),
    Pattern("smtpd.pipelining",
            rf"^improper command pipelining after (?P<stage>[A-Z][A-Z-]*) from (?P<client>{CLIENT}):? ?(?P<detail>.*)$",
            "protocol_error", {"status": "pipelining"}, daemons=SMTPD),
    Pattern("smtpd.non_smtp", rf"^warning: non-SMTP command from (?P<client>{CLIENT}): (?P<detail>.*)$",
            "protocol_error", {"status": "non-smtp command"}, daemons=SMTPD),
    Pattern("smtpd.bare_lf", rf"^warning: (?:disallowing|non-standard) .*?(?:bare <LF>|bare <CR>).*? from (?P<client>{CLIENT})(?P<detail>.*)$",
            "protocol_error", {"status": "bare newline"}, daemons=SMTPD),
    Pattern("tls.in", rf"^(?P<tls_trust>\w+) TLS connection established from (?P<client>{CLIENT}): (?P<tls>.*)$",
            "tls", {"status": "established", "smtp_stage": "STARTTLS"}, daemons=SMTPD | {"tlsproxy"}),
    Pattern("tlsproxy.failed", rf"^TLS handshake failed for service=\S+ peer=(?P<client>{CLIENT})(?P<detail>.*)$",
            "tls", {"status": "failed", "smtp_stage": "STARTTLS"}, daemons=frozenset({"tlsproxy"})),
    Pattern("tls.in_failed", rf"^(?:SSL_accept error|warning: TLS library problem|TLS handshake failed) (?:from|for) (?P<client>{CLIENT}):? ?(?P<detail>.*)$",
            "tls", {"status": "failed", "smtp_stage": "STARTTLS"}, daemons=SMTPD | {"tlsproxy"}),
    Pattern("smtpd.hostname", r"^warning: hostname (?P<client_host>\S+) does not resolve to address (?P<client_ip>[^\s:]+)(?P<detail>.*)$",
            "dns", daemons=SMTPD),
    Pattern("smtpd.addr_not_listed", r"^warning: address not listed for hostname (?P<client_host>\S+)(?P<detail>.*)$",
            "dns", daemons=SMTPD),
    Pattern("smtpd.reverse", r"^warning: (?P<client_ip>[0-9a-fA-F.:]+): (?P<detail>(?:hostname|address) .*)$",
            "dns", daemons=SMTPD),
    Pattern("smtpd.rate", rf"^warning: (?P<detail>[A-Z][\w ]+ limit exceeded): (?P<count>\d+) from (?P<client>{CLIENT}) for service (?P<service>\S+)$",
            "rate_limit", daemons=SMTPD | {"anvil"}),
    Pattern("smtpd.ehlo_keywords", r"^discarding EHLO keywords: (?P<detail>.*)$", "info"),
    Pattern("smtpd.ignore_ehlo", r"^(?:ignoring|disabling) .* EHLO .*$", "info"),
    # ---- postscreen ------------------------------------------------------------------------
    Pattern("postscreen.connect", rf"^CONNECT from (?P<client>{CLIENT}) to \[(?P<server>[^\]]*)\]:\d+$",
            "connect", daemons=SCREEN | {"tlsproxy"}),
    Pattern("postscreen.disconnect", rf"^DISCONNECT (?P<client>{CLIENT})$", "disconnect",
            daemons=SCREEN | {"tlsproxy"}),
    Pattern("postscreen.pass", rf"^(?P<status>PASS NEW|PASS OLD|WHITELISTED|BLACKLISTED|ALLOWLISTED|DENYLISTED|WHITELIST VETO|ALLOWLIST VETO) (?P<client>{CLIENT})$",
            "screen", daemons=SCREEN),
    Pattern("postscreen.dnsbl", rf"^DNSBL rank (?P<detail>\d+) for (?P<client>{CLIENT})$", "dnsbl", daemons=SCREEN),
    Pattern("postscreen.pregreet", rf"^PREGREET (?P<count>\d+) after (?P<secs>\S+) from (?P<client>{CLIENT}): (?P<detail>.*)$",
            "protocol_error", {"status": "pregreet", "smtp_stage": "greeting"}, daemons=SCREEN),
    Pattern("postscreen.hangup", rf"^HANGUP after (?P<secs>\S+) from (?P<client>{CLIENT}) in (?P<detail>.*)$",
            "lost_connection", {"status": "hangup", "quit": False}, daemons=SCREEN),
    Pattern("postscreen.command", rf"^(?P<status>COMMAND PIPELINING|NON-SMTP COMMAND|BARE NEWLINE|COMMAND TIME LIMIT|COMMAND COUNT LIMIT|COMMAND LENGTH LIMIT) "
            rf"from (?P<client>{CLIENT})(?: after (?P<stage>[^\s:]+))?:? ?(?P<detail>.*)$",
            "protocol_error", daemons=SCREEN),
    Pattern("postscreen.noqueue", rf"^NOQUEUE: reject: (?P<stage>[A-Z][A-Z-]*) from (?P<client>{CLIENT}): (?P<reply_text>.*?){_ENVELOPE}$",
            "reject", {"status": "rejected"}, daemons=SCREEN),
    Pattern("dnsblog.listed", r"^addr (?P<client_ip>\S+) listed by domain (?P<detail>\S+) as (?P<dnsbl_reply>\S+)$",
            "dnsbl", daemons=frozenset({"dnsblog"})),
    # ---- cleanup ---------------------------------------------------------------------------
    Pattern("cleanup.message_id", rf"^(?P<queue_id>{QID}): (?:resent-)?message-id=(?P<message_id>.*)$", "message_id",
            daemons=frozenset({"cleanup"})),
    Pattern("cleanup.action",
            rf"^(?P<queue_id>{QID}): (?P<action>[a-z][a-z-]*): (?P<detail>.*?) from (?P<client>{CLIENT}|local)"
            rf"{_ENVELOPE}(?:: (?P<reply_text>.*))?$",
            "filter_action", daemons=frozenset({"cleanup"})),
    Pattern("cleanup.milter",
            rf"^(?P<queue_id>{QID}): (?P<action>milter-[a-z-]+|reject|discard|hold): (?P<stage>[A-Z][A-Z-]*) from (?P<client>{CLIENT}|local): (?P<reply_text>.*?){_ENVELOPE}$",
            "filter_action", daemons=frozenset({"cleanup"})),
    # ---- queue manager ---------------------------------------------------------------------
    Pattern("qmgr.active", rf"^(?P<queue_id>{QID}): from=(?P<sender>{LOOSE_SENDER}), size=(?P<size>\d+), nrcpt=(?P<nrcpt>\d+) \(queue active\)$",
            "queued", daemons=QMGR),
    Pattern("qmgr.removed", rf"^(?P<queue_id>{QID}): removed$", "removed", daemons=QMGR),
    # status=expired (maximal_queue_lifetime) and status=force-expired (postsuper -e)
    Pattern("qmgr.expired", rf"^(?P<queue_id>{QID}): from=(?P<sender>{LOOSE_SENDER}),? status=(?P<status>(?:force-)?expired), (?P<reply_text>returned to sender|.*)$",
            "expired", daemons=QMGR),
    Pattern("qmgr.skipped", rf"^(?P<queue_id>{QID}): (?P<detail>skipped, still being delivered)$", "info", daemons=QMGR),
    # ---- delivery agents -------------------------------------------------------------------
    Pattern("delivery.status",
            rf"^(?P<queue_id>{QID}): to=(?P<recipient>{LOOSE_ADDR}),(?: orig_to=(?P<orig_recipient>{LOOSE_ADDR}),)? "
            r"relay=(?P<relay>[^,]+?),(?: conn_use=\d+,)? delay=(?P<delay>[\d.]+), delays=(?P<delays>[\d./]+), "
            r"dsn=(?P<dsn>\d\.\d{1,3}\.\d{1,3}), status=(?P<status>[\w-]+)(?: \((?P<reply_text>.*?)\)?)?$",
            "delivery", daemons=DELIVERY),
    Pattern("smtp.said", rf"^(?:(?P<queue_id>{QID}): )?host (?P<relay>\S+) said: (?P<reply_text>.*)$", "reply", daemons=CLIENTS),
    Pattern("smtp.refused_to_talk", rf"^(?:(?P<queue_id>{QID}): )?host (?P<relay>\S+) refused to talk to me: (?P<reply_text>.*)$",
            "reply", {"smtp_stage": "greeting"}, daemons=CLIENTS),
    Pattern("smtp.lost", rf"^(?:(?P<queue_id>{QID}): )?lost connection with (?P<relay>\S+) while (?P<stage>.*)$",
            "lost_connection", daemons=CLIENTS),
    Pattern("smtp.timeout", rf"^(?:(?P<queue_id>{QID}): )?conversation with (?P<relay>\S+) timed out while (?P<stage>.*)$",
            "timeout", daemons=CLIENTS),
    Pattern("smtp.connect_failed", r"^connect to (?P<relay>[^\s\[]*\[[^\]]*\](?::\d+)?|[^\s:]+(?::\d+)?): (?P<reply_text>.*)$",
            "connect_failure", {"status": "failed", "smtp_stage": "connect"}, daemons=CLIENTS),
    Pattern("smtp.sasl_failed", rf"^(?:(?P<queue_id>{QID}): )?SASL authentication failed; server (?P<relay>\S+) said: (?P<reply_text>.*)$",
            "auth_failure", {"status": "failed", "smtp_stage": "AUTH", "direction": "outbound"}, daemons=CLIENTS),
    Pattern("smtp.tls_setup", rf"^setting up TLS connection to (?P<relay>{CLIENT})$", "tls",
            {"status": "setting up", "smtp_stage": "STARTTLS", "direction": "outbound"}, daemons=CLIENTS),
    Pattern("tls.out", rf"^(?P<tls_trust>\w+) TLS connection established to (?P<relay>{CLIENT}): (?P<tls>.*)$",
            "tls", {"status": "established", "smtp_stage": "STARTTLS"}, daemons=CLIENTS),
    Pattern("tls.out_failed", rf"^(?:(?P<queue_id>{QID}): )?(?:certificate verification failed for|SSL_connect error to|Server certificate not (?:trusted|verified)|TLS is required, but (?:was not offered|our TLS engine is unavailable) by host|TLS handshake failed for) (?P<relay>{CLIENT})?:? ?(?P<detail>.*)$",
            "tls", {"status": "failed", "smtp_stage": "STARTTLS"}, daemons=CLIENTS),
    Pattern("smtp.pix", rf"^(?P<queue_id>{QID}): enabling PIX workarounds: (?P<detail>.*) for (?P<relay>{CLIENT})$", "info",
            daemons=CLIENTS),
    Pattern("smtp.breaking_line", rf"^(?P<queue_id>{QID}): breaking line > \d+ bytes with <CR><LF> SPACE$", "info", daemons=CLIENTS),
    # ---- notifications, pickup, admin, daemons --------------------------------------------------
    Pattern("bounce.notice", rf"^(?P<queue_id>{QID}): (?P<status>(?:sender|postmaster) (?:non-delivery|delay|delivery status|success) notification): (?P<related_id>{QID})$",
            "bounce_notice", daemons=frozenset({"bounce", "defer", "trace"})),
    Pattern("pickup", rf"^(?P<queue_id>{QID}): uid=(?P<uid>\d+) from=(?P<sender>{ADDR})(?: orig_id=(?P<related_id>{QID}))?$", "received",
            daemons=frozenset({"pickup"})),
    Pattern("postsuper.queue", rf"^(?P<queue_id>{QID}): (?P<status>removed|requeued|placed on hold|released from hold|expired|force-expired)$", "admin",
            daemons=frozenset({"postsuper"})),
    Pattern("postsuper.summary", r"^(?P<status>Deleted|Requeued|Placed on hold|Released from hold|Expired|Force-expired): (?P<count>\d+) messages?$", "admin",
            daemons=frozenset({"postsuper"})),
    Pattern("master.lifecycle", r"^(?P<status>daemon started|reload|terminating on signal|starting the Postfix mail system|stopping the Postfix mail system|refreshing the Postfix mail system|waiting for the Postfix mail system to terminate|daemon started --|Postfix is (?:running|already running)|the Postfix mail system is (?:running|not running))(?P<detail>.*)$",
            "daemon", daemons=frozenset({"master", "postfix-script", "postfix", "postlogd", "postmulti"})),
    Pattern("anvil.max", r"^statistics: (?P<detail>max .*?) for \((?P<service>[a-z][\w/.-]*|[\d.]+:\d+|\[[^\]]*\]:\d+):(?P<client_ip>[^)]+)\) at .*$", "stats",
            daemons=frozenset({"anvil"})),
    Pattern("stats", r"^statistics: (?P<detail>.*)$", "stats"),
    Pattern("verify.cache", r"^cache (?P<detail>.* (?:full|partial) cleanup: .*)$", "stats"),
    Pattern("tlsproxy.plain", rf"^(?P<status>CONNECT|DISCONNECT)(?: from)? (?P<client>{CLIENT})$", "info", daemons=frozenset({"tlsproxy"})),
    # ---- problems our own server reports --------------------------------------------------------
    Pattern("generic.level_qid",
            rf"^(?P<level>warning|error|fatal|panic): (?P<queue_id>{QID}): (?P<detail>.*)$", "warning"),
    Pattern("generic.level",
            rf"^(?:(?P<queue_id>{QID}): )?(?P<level>warning|error|fatal|panic): (?P<detail>.*)$", "warning"),
]

#: Postfix's reject actions, as the event's action (analyzer.parsers: ``_REJECT_ACTIONS``)
REJECT_ACTIONS = {"reject": "reject", "milter-reject": "reject", "proxy-reject": "reject",
                  "reject_warning": "reject_warning"}

#: Verbose output (``smtpd -v``, ``debug_peer_list``): the SMTP dialogue (``> host[ip]: 250-...``,
#: ``< host[ip]: EHLO ...``), internal function traces (``match_list_match: ...``) and attribute
#: exchanges with anvil/proxymap. Counted as debug lines: neither events nor unrecognised.
DEBUG = (r"^(?:[<>] [^\s\[\]]*\[[^\]]*\](?::\d+)?:(?: |$)"
         r"|[a-z][a-z0-9]*(?:_[a-z0-9]+)+: "
         r"|(?:private|public)/[\w-]+: (?:wanted|unexpected) attribute"
         r"|(?:input|output) attribute (?:name|value): "
         r"|send attr \S+ = "
         r"|\(list terminator\)$"
         r"|(?:name_mask|watchdog_\w+|connection established|proxymap stream disconnect|mymalloc|event_\w+)\b"
         r"|auto_clnt_\w+: |vstream_\w+: |dict_\w+: |rec_\w+: )")


def is_postfix_program(program: str) -> bool:  # pragma: no cover - documentation helper
    import re
    return re.match(POSTFIX_PROGRAM, program) is not None
