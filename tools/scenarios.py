"""The scenarios the sample-log generator plays against a real Postfix or Exim.

Three kinds:

* ``outbound`` -- a message is submitted to the MTA on 127.0.0.1:25 by a trusted local
  client and relayed to a scripted fake MX (:mod:`fakemx`) on ``127.0.0.x:port``;
* ``inbound``  -- an outside client (source address 127.0.0.66) sends to the MTA itself
  and the MTA accepts (local delivery) or rejects it;
* ``session``  -- an inbound SMTP session that carries no message (disconnect without
  QUIT, AUTH failures, pipelining violation ...).

Every destination domain is ``.example``/``.test`` and is routed by the MTA's
transport table / manualroute router to a loopback address; nothing leaves the host.

``expect`` is the final outcome the scenario is designed to produce, per MTA where the
two differ; :mod:`make_sample_logs` compares it with what the logs show afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fakemx import Drop, Hang, MXScript, Reply

__all__ = [
    "DEBUG_CLIENT_IP",
    "DISCARD_SUBJECT",
    "FORCE_EXPIRE_DOMAIN",
    "HOLD_SUBJECT",
    "LOCAL_DOMAIN",
    "MTA_HOSTNAME",
    "MX_SCRIPTS",
    "OUTSIDE_CLIENT_IP",
    "PROXY_FILTER_PORT",
    "ROUTES",
    "SASL_PASSWORD",
    "SASL_USER",
    "SCENARIOS",
    "SYNC_CLIENT_IP",
    "TRUSTED_CLIENT_IP",
    "Scenario",
    "scenarios_for",
]

LOCAL_DOMAIN = "maillens.test"
MTA_HOSTNAME = "mx.maillens.test"
TRUSTED_CLIENT_IP = "127.0.0.1"   # in mynetworks / relay_from_hosts
OUTSIDE_CLIENT_IP = "127.0.0.66"  # an "Internet" client: may only send to local users
SYNC_CLIENT_IP = "127.0.0.67"     # a client Exim does not offer PIPELINING to (sync checks)
SASL_USER = "carol@maillens.test"
SASL_PASSWORD = "correct-horse"
BLOCKED_SENDER = "spammer@blocked.example"
PANIC_SENDER = "trigger@paniclog.example"   # Exim: ACL message expansion fails -> paniclog
CONTENT_REJECT_SUBJECT = "MAILLENS-REJECT-ME"
HOLD_SUBJECT = "MAILLENS-HOLD-ME"          # Postfix header_checks HOLD
DISCARD_SUBJECT = "MAILLENS-DISCARD-ME"    # Postfix header_checks DISCARD / Exim DATA ACL discard
FORCE_EXPIRE_DOMAIN = "forceexpire.example"  # Postfix: postsuper -e after the first flush
DEBUG_CLIENT_IP = "127.0.0.68"    # Postfix debug_peer_list: verbose smtpd lines for this client
PROXY_FILTER_PORT = 10025          # Postfix smtpd with smtpd_proxy_filter (before-queue filter)


def R(code: int, *lines: str, close: bool = False) -> Reply:
    """Shorthand for :meth:`Reply.of`."""
    return Reply.of(code, *lines, close=close)


# --- the fake MX fleet ---------------------------------------------------------------
# One listener per behaviour. 127.0.0.25 and 127.0.0.26 deliberately have no listener.
MX_SCRIPTS: list[MXScript] = [
    MXScript("deliver", "127.0.0.11"),
    MXScript("altport", "127.0.0.12", 2525),
    MXScript("nomail521", "127.0.0.13",
             greeting=R(521, "5.3.2 mx.nomail.example does not accept mail (RFC 7504)")),
    MXScript("unknownuser", "127.0.0.14",
             rcpt_by_localpart={"nosuchuser": R(550, "5.1.1 <{rcpt}>: Recipient address rejected: "
                                                     "User unknown in virtual mailbox table")}),
    MXScript("greylist450", "127.0.0.15",
             rcpt=[R(450, "4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see "
                          "http://postgrey.schweikert.ch/help/greylist.example.html"),
                   R(250, "2.1.5 Ok")]),
    MXScript("greylist451", "127.0.0.16",
             rcpt=[R(451, "4.7.1 Please try again later (greylisted)"), R(250, "2.1.5 Ok")]),
    MXScript("busy421", "127.0.0.17",
             greeting=R(421, "4.7.0 mx.busy.example Too many connections, try again later", close=True)),
    MXScript("mail421", "127.0.0.18",
             mail=R(421, "4.7.0 Temporary System Problem.  Try again later.", close=True)),
    MXScript("toobig552", "127.0.0.19",
             eod=R(552, "5.3.4 Message size exceeds fixed maximum message size")),
    MXScript("content554", "127.0.0.20",
             eod=R(554, "5.7.1 Message rejected due to content restrictions")),
    MXScript("nullmx556", "127.0.0.21",
             rcpt=R(556, "5.1.10 <{rcpt}>: Recipient address rejected: Domain has null MX")),
    MXScript("multiline550", "127.0.0.22",
             rcpt=R(550, "5.7.1 line one: this recipient does not accept mail from your network",
                    "5.7.1 line two: contact postmaster@multiline.example")),
    MXScript("microsoft", "127.0.0.23", hostname="outlook-like.mail.protection.example",
             rcpt=R(550, "5.7.606 Access denied, banned sending IP [127.0.0.1]. To request removal "
                         "from this list please visit https://sender.office.com/ and follow the "
                         "directions. For more information please go to  "
                         "http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) "
                         "[DB5EUR03FT017.eop-EUR03.prod.protection.outlook.example]")),
    MXScript("gmail", "127.0.0.24", hostname="mx.gmail-like.example",
             eod=R(550, "5.7.26 Unauthenticated email from maillens.test is not accepted due to domain's",
                   "5.7.26 DMARC policy. Please contact the administrator of maillens.test domain",
                   "5.7.26 if this was a legitimate mail. To learn about the DMARC initiative, go",
                   "5.7.26  https://support.google.com/mail/?p=DmarcRejection "
                   "a640c23a62f3a-a9a0f2e1c3bsi123456766b.312 - gsmtp")),
    MXScript("tarpit", "127.0.0.27", greeting=Hang()),
    MXScript("dropper", "127.0.0.28", rcpt=Drop()),
    MXScript("slowdata", "127.0.0.29", eod=Hang()),
    MXScript("tempfail451", "127.0.0.30",
             eod=[R(451, "4.3.0 Mail server temporarily rejected message."),
                  R(250, "2.0.0 Ok: queued as {queue_id}")]),
]
_MX = {s.name: s for s in MX_SCRIPTS}

# domain -> (ip, port, postfix transport). Refused ones point at ports nobody listens on.
ROUTES: dict[str, tuple[str, int, str]] = {
    "deliver.example": ("127.0.0.11", 25, "smtp"),
    "altport.example": ("127.0.0.12", 2525, "smtp"),
    "nomail.example": ("127.0.0.13", 25, "smtp"),
    "nomail-noskip.example": ("127.0.0.13", 25, "smtp_noskip"),
    "unknownuser.example": ("127.0.0.14", 25, "smtp"),
    "greylist.example": ("127.0.0.15", 25, "smtp"),
    "greylist451.example": ("127.0.0.16", 25, "smtp"),
    "busy.example": ("127.0.0.17", 25, "smtp"),
    "mail421.example": ("127.0.0.18", 25, "smtp"),
    "toobig.example": ("127.0.0.19", 25, "smtp"),
    "contentpolicy.example": ("127.0.0.20", 25, "smtp"),
    "nullmx.example": ("127.0.0.21", 25, "smtp"),
    "multiline.example": ("127.0.0.22", 25, "smtp"),
    "outlook-like.example": ("127.0.0.23", 25, "smtp"),
    "gmail-like.example": ("127.0.0.24", 25, "smtp"),
    "refused.example": ("127.0.0.25", 25, "smtp"),
    "expire.example": ("127.0.0.26", 25, "smtp"),
    FORCE_EXPIRE_DOMAIN: ("127.0.0.25", 25, "smtp"),
    "tarpit.example": ("127.0.0.27", 25, "smtp"),
    "dropped.example": ("127.0.0.28", 25, "smtp"),
    "slowdata.example": ("127.0.0.29", 25, "smtp"),
    "tempfail.example": ("127.0.0.30", 25, "smtp"),
}


@dataclass
class Scenario:
    """One thing the generator does, and what it should lead to.

    ``expect`` maps recipient -> outcome (``sent``, ``deferred``, ``bounced``, ``rejected``,
    ``expired``), optionally overridden per MTA in ``expect_by_mta``. ``mx_answer`` maps
    recipient -> (stage, reply) for what the fake MX is scripted to answer on the final
    attempt. ``client`` names the client behaviour for inbound/session scenarios.
    """

    name: str
    kind: str                      # outbound | inbound | session
    summary: str
    sender: str = f"alice@{LOCAL_DOMAIN}"
    recipients: list[str] = field(default_factory=list)
    expect: dict[str, str] = field(default_factory=dict)
    expect_by_mta: dict[str, dict[str, str]] = field(default_factory=dict)
    mx_answer: dict[str, tuple[str, dict]] = field(default_factory=dict)
    phase: str = "main"            # early (injected first, so it can expire) | main
    mtas: tuple[str, ...] = ("postfix", "exim")
    client: str = "submit"         # see make_sample_logs.CLIENTS
    subject: str = ""
    body_kib: int = 1

    def expected(self, mta: str) -> dict[str, str]:
        """The per-recipient outcome this scenario should reach on ``mta``."""
        out = dict(self.expect)
        out.update(self.expect_by_mta.get(mta, {}))
        return out


def _answer(mx: str | None, stage: str, rcpt: str = "") -> tuple[str, dict]:
    """What fake MX ``mx`` answers at ``stage`` on the final attempt, as a JSON-able dict.

    ``mx=None`` means nothing listens at the routed address: the connection is refused.
    """
    if mx is None:
        return stage, {"action": "refused"}
    script = _MX[mx]
    attr = {"greeting": "greeting", "MAIL FROM": "mail", "RCPT TO": "rcpt", "end of DATA": "eod"}[stage]
    beh = getattr(script, attr)
    local = rcpt.split("@")[0]
    if stage == "RCPT TO" and local in script.rcpt_by_localpart:
        beh = script.rcpt_by_localpart[local]
    seq = beh if isinstance(beh, list) else [beh]

    def render(action: object) -> dict:
        d = action.as_dict()  # type: ignore[attr-defined]
        if "text" in d:
            d["text"] = [t.replace("{rcpt}", rcpt).replace("{hostname}", script.hostname) for t in d["text"]]
        return d

    d = render(seq[-1])
    if len(seq) > 1:  # e.g. greylisting: what the earlier attempts got
        d["earlier_attempts"] = [render(a) for a in seq[:-1]]
    return stage, d


def _out(name: str, summary: str, domain: str, mx: str | None, stage: str | None, outcome: str,
         locals_: tuple[str, ...] = ("user",), **kw) -> Scenario:
    rcpts = [f"{lp}@{domain}" for lp in locals_]
    answers = {r: _answer(mx, stage, r) for r in rcpts} if stage else {}
    return Scenario(name, "outbound", summary, recipients=rcpts, expect={r: outcome for r in rcpts},
                    mx_answer=answers, **kw)


SCENARIOS: list[Scenario] = [
    # ---------------- outbound ----------------
    _out("ok-single", "normal delivery: 250 at end of DATA, QUIT -> 221", "deliver.example",
         "deliver", "end of DATA", "sent", ("user1",)),
    _out("ok-multi-rcpt", "normal delivery, two recipients in one transaction", "deliver.example",
         "deliver", "end of DATA", "sent", ("user2", "user3")),
    _out("ok-altport", "normal delivery to a non-standard port (relay=...:2525)", "altport.example",
         "altport", "end of DATA", "sent", ("user",)),
    _out("greeting-521", "521 greeting (RFC 7504); Postfix default smtp_skip_5xx_greeting=yes "
         "defers it as 4.3.2", "nomail.example", "nomail521", "greeting", "deferred",
         expect_by_mta={"exim": {"user@nomail.example": "bounced"}}),
    _out("greeting-521-noskip", "521 greeting through a Postfix transport with "
         "smtp_skip_5xx_greeting=no: bounced", "nomail-noskip.example", "nomail521", "greeting",
         "bounced", mtas=("postfix",)),
    Scenario("rcpt-550-unknown-user", "outbound", "550 5.1.1 unknown user at RCPT for one "
             "recipient, 250 for the other (partial delivery, bounce notice)",
             recipients=["nosuchuser@unknownuser.example", "known@unknownuser.example"],
             expect={"nosuchuser@unknownuser.example": "bounced", "known@unknownuser.example": "sent"},
             mx_answer={"nosuchuser@unknownuser.example": _answer("unknownuser", "RCPT TO",
                                                                  "nosuchuser@unknownuser.example"),
                        "known@unknownuser.example": _answer("unknownuser", "end of DATA")}),
    _out("rcpt-450-greylist", "450 4.2.0 greylisting at RCPT, then 250 after a queue flush",
         "greylist.example", "greylist450", "RCPT TO", "sent"),
    _out("rcpt-451-greylist", "451 4.7.1 greylisting at RCPT, then 250 after a queue flush",
         "greylist451.example", "greylist451", "RCPT TO", "sent"),
    _out("greeting-421", "421 4.7.0 at the greeting (server closes): deferred, stays queued",
         "busy.example", "busy421", "greeting", "deferred"),
    _out("mail-421", "421 4.7.0 in reply to MAIL FROM (server closes): deferred",
         "mail421.example", "mail421", "MAIL FROM", "deferred"),
    _out("eod-552-too-big", "552 5.3.4 message too big at end of DATA: bounced", "toobig.example",
         "toobig552", "end of DATA", "bounced", body_kib=64),
    _out("eod-554-policy", "554 5.7.1 policy rejection at end of DATA: bounced",
         "contentpolicy.example", "content554", "end of DATA", "bounced"),
    _out("rcpt-556-null-mx", "556 5.1.10 null MX at RCPT: bounced", "nullmx.example", "nullmx556",
         "RCPT TO", "bounced"),
    _out("rcpt-550-multiline", "multi-line 550-5.7.1 / 550 5.7.1 reply at RCPT: bounced",
         "multiline.example", "multiline550", "RCPT TO", "bounced"),
    _out("rcpt-550-5.7.606-microsoft", "Microsoft-like 550 5.7.606 banned sending IP at RCPT",
         "outlook-like.example", "microsoft", "RCPT TO", "bounced"),
    _out("eod-550-5.7.26-gmail-dmarc", "Gmail-like multi-line 550-5.7.26 DMARC at end of DATA",
         "gmail-like.example", "gmail", "end of DATA", "bounced"),
    _out("eod-451-then-ok", "451 4.3.0 at end of DATA, accepted on retry", "tempfail.example",
         "tempfail451", "end of DATA", "sent"),
    _out("connect-refused", "connection refused (nothing listens on 127.0.0.25:25): deferred",
         "refused.example", None, "connect", "deferred"),
    _out("connect-refused-expire", "connection refused until the queue lifetime runs out: "
         "expired and returned to sender", "expire.example", None, "connect", "expired", phase="early"),
    _out("force-expire", "connection refused, then the postmaster runs postsuper -e and flushes: "
         "status=force-expired, returned to sender", FORCE_EXPIRE_DOMAIN, None, "connect", "force-expired",
         mtas=("postfix",)),
    _out("error-ignored", "Exim: a router fails the address with errors_to empty, so no bounce is "
         "sent and the failure is logged with ': error ignored'", "ignored.example", None, None,
         "error-ignored", mtas=("exim",)),
    Scenario("bounce-frozen", "outbound", "submitted with sendmail from a sender whose domain has no "
             "route; the recipient is unknown, and the bounce to the sender cannot be delivered: Exim "
             "freezes the bounce message, Postfix sends the double bounce to the postmaster",
             sender="ghost@nowhere.example", recipients=["nosuchuser@unknownuser.example"],
             expect={"nosuchuser@unknownuser.example": "bounced"},
             mx_answer={"nosuchuser@unknownuser.example": _answer("unknownuser", "RCPT TO",
                                                                  "nosuchuser@unknownuser.example")},
             client="sendmail"),
    _out("greeting-timeout", "MX accepts TCP but never greets: timeout, deferred",
         "tarpit.example", "tarpit", "greeting", "deferred"),
    _out("drop-at-rcpt", "MX closes the socket when it sees RCPT (no reply, no 221): deferred",
         "dropped.example", "dropper", "RCPT TO", "deferred"),
    _out("eod-timeout", "MX never answers the end of DATA: timeout, deferred",
         "slowdata.example", "slowdata", "end of DATA", "deferred"),
    _out("unrouted-domain-sendmail", "submitted with the sendmail command (pickup / local "
         "submission) to a domain with no route in the sandbox: the catch-all bounces it (relay=none)",
         "nowhere.example", None, None, "bounced", client="sendmail"),
    # ---------------- inbound ----------------
    Scenario("in-local-accept", "inbound", "outside client delivers to a local user",
             sender="friend@sender.example", recipients=[f"alice@{LOCAL_DOMAIN}"],
             expect={f"alice@{LOCAL_DOMAIN}": "sent"}, client="outside"),
    Scenario("in-local-two-rcpt", "inbound", "outside client, two local recipients",
             sender="friend@sender.example", recipients=[f"alice@{LOCAL_DOMAIN}", f"bob@{LOCAL_DOMAIN}"],
             expect={f"alice@{LOCAL_DOMAIN}": "sent", f"bob@{LOCAL_DOMAIN}": "sent"}, client="outside"),
    Scenario("in-unknown-user", "inbound", "RCPT to an unknown local user is rejected 550 5.1.1; "
             "the other recipient is accepted",
             sender="stranger@sender.example", recipients=[f"nosuchuser@{LOCAL_DOMAIN}", f"bob@{LOCAL_DOMAIN}"],
             expect={f"nosuchuser@{LOCAL_DOMAIN}": "rejected", f"bob@{LOCAL_DOMAIN}": "sent"},
             client="outside"),
    Scenario("in-relay-denied", "inbound", "outside client tries to relay: relay access denied",
             sender="relayer@sender.example", recipients=["victim@deliver.example"],
             expect={"victim@deliver.example": "rejected"}, client="outside"),
    Scenario("in-sender-policy", "inbound", "sender blocked by local policy (check_sender_access / ACL)",
             sender=BLOCKED_SENDER, recipients=[f"alice@{LOCAL_DOMAIN}"],
             expect={f"alice@{LOCAL_DOMAIN}": "rejected"}, client="outside"),
    Scenario("in-content-reject", "inbound", "message rejected at end of DATA by a header check / "
             "DATA ACL", sender="newsletter@sender.example", recipients=[f"bob@{LOCAL_DOMAIN}"],
             expect={f"bob@{LOCAL_DOMAIN}": "rejected"}, client="outside", subject=CONTENT_REJECT_SUBJECT),
    Scenario("in-hold", "inbound", "Postfix: a header check puts the message on hold",
             sender="review@sender.example", recipients=[f"alice@{LOCAL_DOMAIN}"],
             expect={f"alice@{LOCAL_DOMAIN}": "held"}, client="outside", subject=HOLD_SUBJECT,
             mtas=("postfix",)),
    Scenario("in-discard", "inbound", "a header check (Postfix DISCARD) / DATA ACL (Exim discard) "
             "accepts the message and throws it away",
             sender="bulk@sender.example", recipients=[f"bob@{LOCAL_DOMAIN}"],
             expect={f"bob@{LOCAL_DOMAIN}": "discarded"}, client="outside", subject=DISCARD_SUBJECT),
    Scenario("in-auth-relay", "inbound", "outside client authenticates (SASL PLAIN) and relays",
             sender=SASL_USER, recipients=["friend@deliver.example"],
             expect={"friend@deliver.example": "sent"}, client="auth"),
    Scenario("in-acl-panic", "inbound", "Exim: a deny ACL whose message= expansion fails "
             "(missing lsearch file) -> rejected, and a paniclog entry",
             sender=PANIC_SENDER, recipients=[f"alice@{LOCAL_DOMAIN}"],
             expect={f"alice@{LOCAL_DOMAIN}": "rejected"}, client="outside", mtas=("exim",)),
    # ---------------- sessions without a message ----------------
    Scenario("sess-disconnect-no-quit", "session", "EHLO, MAIL, RCPT, then the client just closes",
             sender="quitter@sender.example", recipients=[f"alice@{LOCAL_DOMAIN}"], client="drop_after_rcpt"),
    Scenario("sess-no-mail", "session", "EHLO then QUIT: a session with no transaction",
             client="ehlo_quit"),
    Scenario("sess-auth-failure", "session", "two failed AUTH PLAIN attempts, then QUIT",
             client="auth_fail"),
    Scenario("sess-pipelining-violation", "session", "client talks before the greeting "
             "(EHLO and MAIL sent at once, before the banner)",
             client="pregreet"),
    Scenario("sess-data-too-soon", "session", "client sends the message text right after DATA "
             "without waiting for 354: improper pipelining / synchronization error",
             client="data_too_soon"),
    Scenario("sess-unqualified", "session", "MAIL FROM and RCPT TO with addresses that have no "
             "domain (Exim: 501 unqualified sender/recipient rejected; Postfix qualifies them), then "
             "RSET and QUIT", client="unqualified"),
    Scenario("sess-proxy-filter", "session", "Postfix: a message through an smtpd with a before-queue "
             "filter (smtpd_proxy_filter; the fake MX plays the filter): NOQUEUE: client=, proxy-accept",
             sender=f"alice@{LOCAL_DOMAIN}", recipients=["filtered@deliver.example"],
             client="proxy_filter", mtas=("postfix",)),
    Scenario("sess-debug-peer", "session", "Postfix: EHLO/QUIT from a client in debug_peer_list: "
             "verbose smtpd lines (> host: 250-..., < host: EHLO, match_list_match, anvil attributes)",
             client="debug_peer", mtas=("postfix",)),
    Scenario("sess-non-smtp", "session", "an HTTP request sent to the SMTP port",
             client="http"),
]


def scenarios_for(mta: str) -> list[Scenario]:
    """The scenarios that apply to ``mta``."""
    return [s for s in SCENARIOS if mta in s.mtas]
