"""classify(): columns, the 221/521/556 nuances, multi-line replies, the 206 field-manual replies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer import schema
from analyzer.classify import classify, example_frame

FIELD_MANUAL = Path(__file__).resolve().parents[2] / "shared" / "kb-sources" / "smtp-field-manual"
GENERIC = {"reply.transient", "reply.permanent", "unknown"}


def one(**fields) -> pd.Series:
    """Classify a single example row and return it."""
    return classify(example_frame([fields]), rule_ids=True).iloc[0]


def test_adds_class_columns_with_arrow_types():
    """The classification columns are appended after the schema's, Arrow-backed strings."""
    out = classify(example_frame([{"text": "550 5.1.1 user unknown", "code": 550}]))
    names = [c.name for c in schema.CLASS_COLUMNS]
    assert list(out.columns) == list(schema.NAMES) + names
    for n in names:
        assert out[n].dtype == pd.ArrowDtype(pa.string())


def test_empty_table():
    """An empty event table classifies to an empty table with the columns added."""
    out = classify(schema.to_pandas(schema.empty_table()))
    assert len(out) == 0 and "cause" in out.columns


def test_index_is_kept():
    """The input's index is preserved."""
    df = example_frame([{"text": "250 ok", "code": 250}, {"text": "550 5.1.1 x", "code": 550}])
    df.index = [10, 20]
    assert list(classify(df).index) == [10, 20]


# ---------------------------------------------------------------- the session-end nuances

def test_postfix_disconnect_with_quit_is_a_normal_close():
    """Postfix smtpd 'disconnect ... quit=1' is session.closed, outcome ok."""
    r = one(event="disconnect", quit=True, mta="postfix")
    assert (r.cause, r.outcome, r.severity) == ("session.closed", "ok", "info")


def test_postfix_disconnect_without_quit_is_lost():
    """A Postfix disconnect without QUIT is session.lost, not a normal close."""
    assert one(event="disconnect", quit=False, mta="postfix").cause == "session.lost"


@pytest.mark.parametrize("event, text, cause", [
    ("disconnect", "SMTP connection from [192.0.2.1] D=2s closed by QUIT", "session.closed"),
    ("lost_connection", "SMTP connection from [192.0.2.1] lost D=1s", "session.lost"),
    ("lost_connection", "unexpected disconnection while reading SMTP command from (x) [192.0.2.1]",
     "session.lost"),
    ("timeout", "SMTP command timeout on connection from (x) [192.0.2.1]", "session.timeout"),
])
def test_exim_session_ends(event, text, cause):
    """Exim 'closed by QUIT' is normal; lost, unexpected disconnection and timeouts are not."""
    r = one(event=event, text=text, mta="exim", quit=event == "disconnect")
    assert r.cause == cause
    assert (r.outcome == "ok") == (cause == "session.closed")


def test_221_reply_is_a_normal_close():
    """A 221 reply is session.closed with class 2xx."""
    r = one(text="221 2.0.0 Bye", code=221)
    assert (r.cause, r.reply_class, r.outcome) == ("session.closed", "2xx", "ok")


@pytest.mark.parametrize("status, dsn, outcome", [("deferred", "4.3.2", "transient_failure"),
                                                  ("bounced", "5.3.2", "permanent_failure")])
def test_521_greeting_is_host_no_mail_deferred_or_bounced(status, dsn, outcome):
    """A 521 greeting is host.no_mail whether Postfix deferred it (dsn 4.3.2) or bounced it."""
    r = one(event="delivery", status=status, dsn=dsn, code=521, stage="greeting",
            text="host mx.example.com[203.0.113.5] refused to talk to me: 521 5.3.2 "
                 "mx.example.com does not accept mail")
    assert r.cause == "host.no_mail"
    assert r.outcome == outcome and r.reply_class == "5xx"


def test_521_without_code_column_is_found_in_text():
    """The 521 is found in the reply text when the code column is empty."""
    r = one(event="delivery", status="deferred", dsn="4.3.2",
            text="host mx.example.com[203.0.113.5] refused to talk to me: 521 Service not available")
    assert r.cause == "host.no_mail"


@pytest.mark.parametrize("fields", [
    {"code": 556, "text": "556 5.1.10 <a@example.com>: Recipient address rejected: Domain example.com does not accept mail"},
    {"code": 554, "enhanced": "5.1.10", "text": "554 5.1.10"},
    {"text": "Domain example.com does not accept mail (nullMX)", "event": "delivery", "status": "bounced"},
])
def test_556_and_x_1_10_are_null_mx(fields):
    """556, a bare enhanced X.1.10 and Postfix's nullMX wording are domain.no_mail."""
    assert one(**fields).cause == "domain.no_mail"


def test_enhanced_code_found_in_multiline_reply():
    """An enhanced code inside a multi-line reply (550-5.7.1 ... 550 5.7.1 ...) is found."""
    text = ("host aspmx.l.google.com[142.250.1.27] said: 550-5.7.26 This mail has been blocked "
            "because the sender is unauthenticated. 550-5.7.26 Gmail requires all senders to "
            "authenticate. 550 5.7.26 https://support.google.com/mail/answer/81126 - gsmtp "
            "(in reply to end of DATA command)")
    r = one(event="delivery", status="bounced", code=550, text=text)
    assert r.cause == "auth.unauthenticated" and r.provider == "gmail"
    r = one(event="delivery", status="bounced", code=550,
            text="said: 550-5.1.1 The email account does not exist. 550 5.1.1 Try again")
    assert r.cause == "mailbox.unknown"


def test_enhanced_only_match_uses_multiline_code():
    """With no text rule matching, the enhanced code of a multi-line reply decides."""
    r = one(code=550, text="550-5.7.25 [203.0.113.9] zzz 550 5.7.25 qqq")
    assert (r.cause == "auth.reverse_dns" and r.rule_id == "auth.reverse_dns") or \
        r.cause == "auth.reverse_dns"


def test_reject_warning_outcome_is_info():
    """A reject that was only logged (reject_warning) keeps its cause but has outcome info."""
    r = one(event="reject_warning", code=553, text="553 5.7.1 <a@b>: Sender address rejected: "
            "not owned by user ph123")
    assert r.cause == "sender.invalid" and r.outcome == "info"


def test_provider_from_relay_host():
    """The relay host names the provider when the text does not."""
    r = one(event="delivery", status="bounced", code=550, enhanced="5.1.1", text="550 5.1.1 nope",
            relay_host="example-com.mail.protection.outlook.com")
    assert r.provider == "microsoft" and r.cause == "mailbox.unknown"


def test_dnsbl_detail_names_the_blocklist():
    """A postscreen DNSBL event with the list in `detail` is reputation.ip_listed by spamhaus."""
    r = one(event="dnsbl", detail="zen.spamhaus.org")
    assert (r.cause, r.provider) == ("reputation.ip_listed", "spamhaus")


# ---------------------------------------------------------------- totality

events = st.sampled_from([*list(schema.EVENTS), None])
texts = st.one_of(st.none(), st.text(max_size=80), st.sampled_from([
    "550 5.1.1 user unknown", "421 try again later", "550-5.7.1 x 550 5.7.1 y", "(", "\\", "~@~",
    "said: 999 what", "5.5.5.5.5", "host x[1.2.3.4] said: 451 4.3.0 busy"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({
    "event": events, "text": texts,
    "code": st.one_of(st.none(), st.integers(min_value=-5, max_value=1200)),
    "enhanced": st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["5.1.1", "4.7.0", "2.0.0"])),
    "status": st.one_of(st.none(), st.sampled_from(["sent", "deferred", "bounced", "rejected", "hold", "x"])),
    "quit": st.one_of(st.none(), st.booleans()),
    "detail": st.one_of(st.none(), st.text(max_size=30)),
    "relay_host": st.one_of(st.none(), st.sampled_from(["aspmx.l.google.com", "x", ""])),
}), max_size=25))
def test_classification_is_total(rows):
    """Any rows classify without error; every row gets a cause, outcome and severity."""
    for r in rows:
        if r["code"] is not None and not -32768 <= r["code"] <= 32767:
            r["code"] = None
    out = classify(example_frame(rows))
    assert len(out) == len(rows)
    assert out["cause"].notna().all() and out["outcome"].notna().all()
    assert out["severity"].notna().all() and out["fix_id"].notna().all()
    # 'unknown' only where there is nothing to go on: no event, or a delivery/reply with no
    # status, code or text.
    unknown = out[out["cause"] == "unknown"]
    assert (unknown["event"].isna() | unknown["event"].isin(["delivery", "reply"])).all()


def test_every_schema_event_has_a_cause():
    """Each event (a delivery or reply with any known status) lands on a cause other than unknown."""
    bare = [e for e in schema.EVENTS if e not in ("delivery", "reply")]
    rows = [{"event": e} for e in bare] + [{"event": e, "status": s} for e in ("delivery", "reply")
                                          for s in schema.STATUSES if s != "established"]
    out = classify(example_frame(rows), rule_ids=True)
    assert (out["cause"] == "unknown").sum() == 0, out[out["cause"] == "unknown"]["event"].tolist()


# ---------------------------------------------------------------- the SMTP field manual

def field_manual_rows() -> list[tuple[str, str, dict]]:
    """The 206 provider responses as example rows: (provider, status key, row with code)."""
    codes = FIELD_MANUAL / "data" / "codes"
    if not codes.exists():
        pytest.skip(f"field manual not found at {codes}")
    rows = []
    for f in sorted(codes.glob("*.json")):
        data = json.loads(f.read_text())
        for group in ("providers", "spamFilters"):
            for p in data.get(group) or []:
                for r in p["responses"]:
                    text = re.sub(r"^\s*smtp;\s*", "", r["response"], flags=re.I)
                    status = r["status"].split("-")[0]
                    enh = status if re.fullmatch(r"[245]\.\d+\.\d+", status) else None
                    rows.append((p["id"], r["status"], {
                        "text": text, "code": data["reply"], "enhanced": enh, "event": "delivery",
                        "status": "bounced" if data["reply"] >= 500 else "deferred"}))
    return rows


@pytest.fixture(scope="module")
def manual():
    rows = field_manual_rows()
    out = classify(example_frame([r for _, _, r in rows]), rule_ids=True)
    return {(p, s, r["code"], r["text"]): (c, rid, prov) for (p, s, r), c, rid, prov in
            zip(rows, out["cause"], out["rule_id"], out["provider"], strict=False)}


def test_field_manual_has_206_responses(manual):
    """All 206 responses of the field manual are read."""
    assert len(field_manual_rows()) == 206


def test_field_manual_lands_on_specific_causes(manual):
    """No field-manual response falls to a generic class cause or a code-only default rule."""
    generic = {k: v for k, v in manual.items() if v[0] in GENERIC}
    code_only = {k: v for k, v in manual.items() if v[1].startswith(("code.", "class."))}
    assert generic == {} and code_only == {}


#: (provider id, reply code, status key, expected cause): does the cause agree with what the reply means?
CURATED = [
    ("google", 421, "4.7.0", "reputation.poor"), ("google", 421, "4.7.0-2", "content.spam"),
    ("google", 421, "4.7.28", "reputation.poor"), ("google", 421, "4.7.32", "auth.dmarc"),
    ("google", 450, "4.2.1", "mailbox.rate_limited"), ("google", 452, "4.2.2", "mailbox.full"),
    ("google", 550, "5.1.1", "mailbox.unknown"), ("google", 550, "5.2.1", "mailbox.disabled"),
    ("google", 550, "5.7.1-3", "auth.dmarc"), ("google", 550, "5.7.1-4", "message.invalid"),
    ("google", 552, "5.2.2", "mailbox.full"), ("google", 552, "5.2.3", "message.too_big"),
    ("google", 552, "5.7.0", "content.policy"), ("google", 553, "5.1.2", "address.invalid"),
    ("yahoo", 421, "4.0.0", "server.unavailable"), ("yahoo", 421, "4.0.0-2", "rate.limited"),
    ("yahoo", 550, "5.0.0", "relay.denied"), ("yahoo", 554, "5.5.4", "mailbox.unknown"),
    ("yahoo", 554, "5.5.4-1", "mailbox.disabled"), ("yahoo", 554, "5.5.4-4", "message.invalid"),
    ("yahoo", 553, "5.7.1", "reputation.ip_listed"), ("yahoo", 553, "5.7.1-2", "reputation.ip_listed"),
    ("outlook", 451, "4.7.650", "reputation.poor"), ("outlook", 501, "5.1.3", "address.invalid"),
    ("outlook", 550, "5.4.1", "mailbox.unknown"), ("outlook", 550, "5.7.1", "reputation.domain_listed"),
    ("outlook", 550, "5.7.1-2", "reputation.ip_listed"), ("outlook", 554, "5.2.122", "mailbox.rate_limited"),
    ("outlook", 554, "5.2.121", "rate.limited"), ("outlook", 452, "4.3.1", "server.unavailable"),
    ("exchangeonline", 550, "5.7.606", "reputation.ip_listed"),
    ("exchangeonline", 550, "5.7.1", "reputation.ip_listed"),
    ("exchangeonline", 550, "5.7.1-2", "reputation.domain_listed"),
    ("exchangeonline", 550, "5.4.1", "mailbox.unknown"), ("exchangeonline", 421, "4.3.2", "rate.limited"),
    ("apple", 550, "5.1.1", "mailbox.unknown"), ("apple", 550, "5.7.1-2", "auth.dmarc"),
    ("apple", 550, "5.7.1-3", "reputation.domain_listed"), ("apple", 421, "4.7.1", "mailbox.rate_limited"),
    ("apple", 552, "5.2.2", "mailbox.full"), ("comcast", 550, "5.2.0", "auth.dmarc"),
    ("comcast", 554, "1", "auth.reverse_dns"), ("comcast", 554, "2", "reputation.ip_listed"),
    ("comcast", 452, "4.1.1-2", "mailbox.full"), ("att", 550, "5.7.1", "auth.reverse_dns"),
    ("free", 550, "2", "content.virus"), ("free", 550, "5.2.1", "mailbox.disabled"),
    ("zoho", 552, "5.7.1", "content.virus"), ("zoho", 553, "5.1.1", "relay.denied"),
    ("mailru", 550, "1", "mailbox.disabled"), ("mailru", 550, "2", "content.spam"),
    # Yandex answers an idle client as Postfix smtpd does (421 4.4.2 host Error: timeout exceeded):
    # the server timed its client out (outbound: session.timed_out_by_remote)
    ("yandex", 421, "4.4.2", "session.timeout"), ("yandex", 552, "5.2.2", "mailbox.full"),
    ("hostpoint", 550, "5.0.0", "auth.spf"), ("webde", 550, "1", "auth.spf"),
    ("webde", 550, "4", "auth.reverse_dns"), ("webde", 550, "9", "reputation.ip_listed"),
    ("qq", 550, "7", "auth.dmarc"), ("qq", 550, "5", "rate.limited"), ("qq", 550, "3", "mailbox.unknown"),
    ("improvmx", 551, "5.7.1-2", "routing.loop"), ("improvmx", 551, "5.7.1-3", "domain.not_found"),
    ("mimecast", 451, "1", "relay.denied"), ("mimecast", 550, "2", "auth.spoofed"),
    ("mimecast", 550, "5", "auth.dmarc"), ("proofpoint", 550, "5.1.8", "sender.invalid"),
    ("proofpoint", 550, "5.7.0", "auth.dmarc"), ("proofpoint", 550, "5.7.1-2", "relay.denied"),
    ("proofpoint", 550, "5.7.1-3", "reputation.ip_listed"), ("proofpoint", 421, "4.1.1-2", "recipient.unverified"),
    ("barracuda", 451, "4.7.1", "greylisted"), ("barracuda", 550, "4", "auth.spoofed"),
    ("barracuda", 554, "2", "content.policy"), ("zerospam", 450, "4.2.0", "greylisted"),
    ("trendmicro", 554, "2", "mailbox.unknown"), ("fireeye", 550, "5.7.26", "auth.dmarc"),
    ("emailsecuritycloud", 553, "5.7.1-2", "relay.denied"),
]


def test_field_manual_causes_agree_with_meaning(manual):
    """A curated set of provider responses lands on the cause its wording means."""
    by_key: dict[tuple[str, int, str], set[str]] = {}
    for (p, s, code, _), (cause, _, _) in manual.items():
        by_key.setdefault((p, code, s), set()).add(cause)
    wrong = {(p, c, s): (exp, by_key.get((p, c, s))) for p, c, s, exp in CURATED
             if by_key.get((p, c, s)) != {exp}}
    assert wrong == {}
    assert len(CURATED) >= 70


@pytest.mark.parametrize("provider, key, expected", [
    ("google", "5.1.1", "gmail"), ("outlook", "5.4.1", "microsoft"), ("yahoo", "5.7.9", "yahoo"),
    ("apple", "5.7.1-2", "apple"), ("mimecast", "2", "mimecast"), ("barracuda", "4.4.3", "barracuda"),
    ("proofpoint", "5.7.1-3", "proofpoint"), ("exchangeonline", "5.7.606", "microsoft"),
])
def test_field_manual_provider_detection(manual, provider, key, expected):
    """Providers are recognised from their signatures in the reply text."""
    provs = {prov for (p, s, _, _), (_, _, prov) in manual.items() if (p, s) == (provider, key)}
    assert provs == {expected}
