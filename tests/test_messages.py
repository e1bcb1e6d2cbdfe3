"""messages(): (message, recipient) rows linked across hops, queue-id reuse, rotated files and bounces."""

from __future__ import annotations

import pandas as pd
import pytest

from analyzer.messages import MESSAGE_COLUMNS, link, messages
from analyzer.reader import parse_lines, parse_logs

from .conftest import corpus_path

SCEN = ("lightmeter-controlcenter", "test_files", "postfix_logs", "individual_files")


def scenario(name: str) -> pd.DataFrame:
    """messages() of one lightmeter scenario log (skipped without the shared corpus)."""
    return messages(parse_logs([str(corpus_path(*SCEN, name))], year=2026, tz="UTC").events)


def rows_with(m: pd.DataFrame, qid: str) -> pd.DataFrame:
    return m[m["queue_ids"].fillna("").str.split(" ").apply(lambda ids: qid in ids).to_numpy(dtype=bool)]


def test_columns_are_documented():
    """Every column of the table is in MESSAGE_COLUMNS, in that order."""
    m = messages(parse_lines(["Nov 29 10:00:00 mx postfix/qmgr[1]: ABC123DEF: removed"]).events)
    assert list(m.columns) == list(MESSAGE_COLUMNS)


def test_empty_event_table():
    """No events give an empty table with the documented columns."""
    m = messages(parse_lines([]).events)
    assert len(m) == 0 and list(m.columns) == list(MESSAGE_COLUMNS)


def test_queue_id_reuse_is_two_messages():
    """A queue id used again after 'removed' starts a new message: two senders, two recipients, two outcomes."""
    lines = [
        "Nov 29 10:00:00 mx postfix/smtpd[1]: 4B2C31A0F2: client=a.test[192.0.2.1]",
        "Nov 29 10:00:00 mx postfix/cleanup[2]: 4B2C31A0F2: message-id=<one@a.test>",
        "Nov 29 10:00:00 mx postfix/qmgr[3]: 4B2C31A0F2: from=<alice@a.test>, size=100, nrcpt=1 (queue active)",
        "Nov 29 10:00:01 mx postfix/smtp[4]: 4B2C31A0F2: to=<x@b.test>, relay=mx.b.test[198.51.100.1]:25, "
        "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        "Nov 29 10:00:01 mx postfix/qmgr[3]: 4B2C31A0F2: removed",
        "Nov 29 15:00:00 mx postfix/smtpd[1]: 4B2C31A0F2: client=c.test[192.0.2.9]",
        "Nov 29 15:00:00 mx postfix/cleanup[2]: 4B2C31A0F2: message-id=<two@c.test>",
        "Nov 29 15:00:00 mx postfix/qmgr[3]: 4B2C31A0F2: from=<carol@c.test>, size=200, nrcpt=1 (queue active)",
        "Nov 29 15:00:02 mx postfix/smtp[4]: 4B2C31A0F2: to=<y@d.test>, relay=mx.d.test[198.51.100.2]:25, "
        "delay=2, delays=0/0/0/2, dsn=5.1.1, status=bounced (host mx.d.test[198.51.100.2] said: 550 5.1.1 "
        "<y@d.test>: User unknown (in reply to RCPT TO command))",
        "Nov 29 15:00:02 mx postfix/qmgr[3]: 4B2C31A0F2: removed",
    ]
    m = messages(parse_lines(lines).events)
    got = m[["message_id", "sender", "recipient", "client_ip", "status", "reply_code"]].to_dict("records")
    assert got == [
        {"message_id": "one@a.test", "sender": "alice@a.test", "recipient": "x@b.test", "client_ip": "192.0.2.1",
         "status": "sent", "reply_code": 250},
        {"message_id": "two@c.test", "sender": "carol@c.test", "recipient": "y@d.test", "client_ip": "192.0.2.9",
         "status": "bounced", "reply_code": 550},
    ]


def test_queue_id_reuse_in_real_log():
    """Corpus 14: BABABABABA is a content-filter hop of one message, then the first hop of another."""
    m = scenario("14_reuse_of_queueid.log")
    got = rows_with(m, "BABABABABA")[["queue_ids", "message_id", "status"]].to_dict("records")
    assert got == [
        {"queue_ids": "DADADADADA BABABABABA", "message_id": "h-b36847e73153e9ac645ba7cb2050cae3@h-5e67b9b4406.com",
         "status": "sent"},
        {"queue_ids": "BABABABABA CACACACACACA",
         "message_id": "h-ae29580097c1f26a25dab61b5e690cfd@h-5e67b9b4406.com", "status": "sent"},
    ]


def test_reuse_log_counts_each_message_once():
    """Corpus 14: 37 distinct Message-IDs (35 of them seen twice, once per DKIM-filter hop) are 37 messages."""
    m = scenario("14_reuse_of_queueid.log")
    received = m[m["message_id"].notna()]
    assert received["message_id"].nunique() == len(received) == 37
    assert (received["queue_ids"].str.count(" ") == 1).sum() == 35  # the two others are still in the filter


def test_content_filter_reinjection_amavis():
    """Corpus 8: amavis re-injects 4F5C64474F as ED01244770: one message, one row, the last hop decides."""
    m = scenario("8_weird_log_file.log")
    assert len(m) == 1
    r = m.iloc[0]
    assert r["queue_ids"] == "4F5C64474F ED01244770"
    assert (r["status"], r["attempts"], r["client_ip"]) == ("sent", 2, "28.55.140.112")
    assert r["enhanced_code"] == "2.1.5" and r["line_no"] == 16  # the lmtp delivery, not the hand-off


def test_zimbra_three_hops_one_message():
    """Corpus 5: a Zimbra message through amavis and back is one message with three queue ids."""
    m = scenario("5_zimbra_amavisd.log")
    assert m[["queue_ids", "status", "relay"]].to_dict("records") == [
        {"queue_ids": "E8759DC24C3 218BEDC28EC 33DE0DC24C3", "status": "sent", "relay": "gmail-smtp-in.l.google.com"}]


def test_multiple_recipients_mixed_outcomes_and_notice():
    """Corpus 2: five recipients through a filter, two sent and three bounced; the notice is linked both ways."""
    m = scenario("2_multiple_recipients_some_bounces.log")
    main = rows_with(m, "BA8F630001DA")
    assert dict(zip(main["recipient"], main["status"], strict=False)) == {
        "recipient1@dst1.example.com": "sent", "recipient1@dst2.example.com": "sent",
        "recipient1@dst3.example.com": "bounced", "recipient1@dst4.example.com": "bounced",
        "recipient42@example.com": "bounced"}
    assert set(main["bounce_id"]) == {"C7B4530001DA"}
    notice = rows_with(m, "C7B4530001DA").iloc[0]
    assert (notice["notice_of"], notice["sender"], notice["status"]) == ("BA8F630001DA", "", "sent")


def test_bounce_cause_and_history():
    """Corpus 1: the bounce keeps both attempts (hand-off to the filter, then the 550) and its cause."""
    m = scenario("1_bounce_simple.log")
    r = m[m["queue_id"] == "4AA091855DA0"].iloc[0]
    assert (r["status"], r["reply_code"], r["enhanced_code"], r["cause"]) == ("bounced", 550, "5.1.1", "mailbox.unknown")
    hist = r["history"]
    assert [h["queue_id"] for h in hist] == ["4AA091855DA0", "776E41855DB2"]
    assert [h["status"] for h in hist] == ["sent", "bounced"]


def test_expired_after_retries():
    """Corpus 18: five deferrals over days, then qmgr status=expired: expired, with the last reply and the notice."""
    m = scenario("18_expired.log")
    r = m[m["queue_ids"].str.contains("23EBE3D5C0", regex=False).to_numpy(dtype=bool)].iloc[0]
    assert (r["status"], r["reply_code"], r["bounce_id"]) == ("expired", 452, "A7E673C067")
    assert r["delay"] > 5 * 86400


def test_deferred_then_sent():
    """Corpus 6: a 451 greylisting deferral followed by a delivery is sent, with every attempt counted."""
    m = scenario("6_deferred_message_retry.log")
    r = rows_with(m, "A17F830001CA").iloc[0]
    assert (r["status"], r["attempts"]) == ("sent", 3)
    assert [h["status"] for h in r["history"]] == ["sent", "deferred", "sent"]


def test_milter_reject_is_rejected():
    """Corpus 15: a milter reject at end of DATA is status rejected for that recipient."""
    m = scenario("15_milter-reject.log")
    assert m[["recipient", "status"]].to_dict("records") == [
        {"recipient": "h-7abde52c2@h-ffd2115d4f.com", "status": "rejected"}]


def test_noqueue_reject_is_its_own_message():
    """A NOQUEUE reject has no queue id; it is one rejected row with sender, recipient, client and reply."""
    lines = ["Nov 29 10:00:01 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from a.test[192.0.2.1]: 550 5.1.1 "
             "<x@ours.test>: Recipient address rejected: User unknown; from=<s@a.test> to=<x@ours.test> "
             "proto=ESMTP helo=<a.test>"]
    m = messages(parse_lines(lines).events)
    r = m.iloc[0]
    assert pd.isna(r["queue_id"])
    assert (r["sender"], r["recipient"], r["client_ip"], r["status"], r["reply_code"]) == \
        ("s@a.test", "x@ours.test", "192.0.2.1", "rejected", 550)


@pytest.mark.parametrize("cut", [3, 8, 20])
def test_message_across_rotated_files(tmp_path, cut):
    """Corpus 6 cut into mail.log.1 and mail.log gives the same messages as the single file."""
    src = corpus_path(*SCEN, "6_deferred_message_retry.log")
    lines = src.read_text().splitlines(keepends=True)
    (tmp_path / "mail.log.1").write_text("".join(lines[:cut]))
    (tmp_path / "mail.log").write_text("".join(lines[cut:]))
    whole = messages(parse_logs([str(src)], year=2026, tz="UTC").events)
    split = messages(parse_logs([str(tmp_path)], year=2026, tz="UTC").events)
    cols = ["queue_ids", "recipient", "status", "attempts", "reply_code", "sender", "message_id"]
    assert split[cols].to_dict("records") == whole[cols].to_dict("records")
    ix = link(parse_logs([str(tmp_path)], year=2026, tz="UTC").events)
    mnum = rows_with(ix.messages, "A17F830001CA")["msg"].iloc[0]
    files = {s.rsplit("/", 1)[-1] for s in ix.events["source"][ix.msg == mnum]}
    assert files == {"mail.log.1", "mail.log"}


def test_exim_message_with_deferral_and_delivery():
    """Exim <=, ==, => and Completed are one message: deferred once, then sent, with client and size."""
    lines = [
        "2026-11-29 15:47:05 1xXh7J-0008JL-12 <= alice@maillens.test H=localhost [127.0.0.1]:40000 "
        "P=esmtp S=1607 id=ok-single@gen.maillens.test",
        "2026-11-29 15:47:05 1xXh7J-0008JL-12 == user1@deliver.example R=sandbox_routes T=remote_smtp "
        "defer (-44) H=127.0.0.11 [127.0.0.11]: SMTP error from remote mail server after RCPT TO:"
        "<user1@deliver.example>: 450 4.2.0 greylisted",
        "2026-11-29 15:47:40 1xXh7J-0008JL-12 => user1@deliver.example R=sandbox_routes T=remote_smtp "
        "H=127.0.0.11 [127.0.0.11]:25 C=\"250 2.0.0 Ok: queued as FAKE000006\" QT=35s DT=0s",
        "2026-11-29 15:47:40 1xXh7J-0008JL-12 Completed",
    ]
    m = messages(parse_lines(lines).events)
    r = m.iloc[0]
    assert len(m) == 1
    assert (r["mta"], r["queue_id"], r["sender"], r["client_ip"], r["size"], r["recipient"]) == \
        ("exim", "1xXh7J-0008JL-12", "alice@maillens.test", "127.0.0.1", 1607, "user1@deliver.example")
    assert (r["status"], r["attempts"], r["delay"]) == ("sent", 2, 35.0)
    assert [h["status"] for h in r["history"]] == ["deferred", "sent"]


def test_exim_retry_timeout_is_expired():
    """Exim '** addr: retry timeout exceeded' is an expiry, not an ordinary bounce."""
    lines = [
        "2026-11-29 15:46:00 1xXh6a-0007wo-14 <= alice@maillens.test H=localhost [127.0.0.1]:40000 P=esmtp "
        "S=1600 id=expire@gen.maillens.test",
        "2026-11-29 15:48:20 1xXh6a-0007wo-14 ** user@expire.example: retry timeout exceeded",
        "2026-11-29 15:48:20 1xXh6a-0007wo-14 Completed",
    ]
    m = messages(parse_lines(lines).events)
    assert m[["recipient", "status"]].to_dict("records") == [{"recipient": "user@expire.example", "status": "expired"}]


def test_link_maps_message_level_lines_to_the_message():
    """link(): qmgr lines belong to the message but to no recipient row; deliveries to their row."""
    lines = [
        "Nov 29 10:00:00 mx postfix/qmgr[3]: 4B2C31A0F2: from=<alice@a.test>, size=100, nrcpt=2 (queue active)",
        "Nov 29 10:00:01 mx postfix/smtp[4]: 4B2C31A0F2: to=<x@b.test>, relay=mx.b.test[198.51.100.1]:25, "
        "delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        "Nov 29 10:00:01 mx postfix/smtp[4]: 4B2C31A0F2: to=<y@b.test>, relay=mx.b.test[198.51.100.1]:25, "
        "delay=1, delays=0/0/0/1, dsn=4.2.2, status=deferred (host mx.b.test[198.51.100.1] said: 452 4.2.2 "
        "Mailbox full (in reply to RCPT TO command))",
    ]
    ix = link(parse_lines(lines).events)
    assert ix.msg.tolist() == [0, 0, 0]
    assert ix.row.tolist() == [-1, 0, 1]
    assert ix.messages["status"].tolist() == ["sent", "deferred"]


def test_exim_bounce_notice_linked_both_ways():
    """Exim '<= <> R=id' links the notice to the message it reports on (real Exim 4.96 lines)."""
    lines = [
        "2026-11-29 15:55:28 1xXhFQ-0003ra-17 <= alice@maillens.test H=(client.maillens.test) [127.0.0.1]:40899 "
        "P=esmtp S=1631 id=exim.greeting-521.20261129T155442@gen.maillens.test T=\"maillens sample: greeting-521\" "
        "for user@nomail.example",
        "2026-11-29 15:55:28 1xXhFQ-0003ra-17 H=127.0.0.13 [127.0.0.13]:25: SMTP error from remote mail server after "
        "initial connection: 521 5.3.2 mx.nomail.example does not accept mail (RFC 7504)",
        "2026-11-29 15:55:28 1xXhFQ-0003ra-17 ** user@nomail.example F=<alice@maillens.test> R=sandbox_routes "
        "T=remote_smtp H=127.0.0.13 [127.0.0.13]:25: SMTP error from remote mail server after initial connection: "
        "521 5.3.2 mx.nomail.example does not accept mail (RFC 7504) DT=0s",
        "2026-11-29 15:55:28 1xXhFQ-0003re-1J <= <> R=1xXhFQ-0003ra-17 U=Debian-exim P=local S=3160 "
        "T=\"Mail delivery failed: returning message to sender\" for alice@maillens.test",
        "2026-11-29 15:55:28 1xXhFQ-0003ra-17 Completed",
        "2026-11-29 15:55:28 1xXhFQ-0003re-1J => alice <alice@maillens.test> F=<> R=local_user T=local_delivery "
        "S=3301 QT=0s DT=0s",
        "2026-11-29 15:55:28 1xXhFQ-0003re-1J Completed",
    ]
    m = messages(parse_lines(lines).events)
    got = m[["queue_id", "status", "reply_code", "bounce_id", "notice_of"]].astype(object).where(m.notna(), None)
    assert got.to_dict("records") == [
        {"queue_id": "1xXhFQ-0003ra-17", "status": "bounced", "reply_code": 521, "bounce_id": "1xXhFQ-0003re-1J",
         "notice_of": None},
        {"queue_id": "1xXhFQ-0003re-1J", "status": "sent", "reply_code": None, "bounce_id": None,
         "notice_of": "1xXhFQ-0003ra-17"},
    ]


def test_remote_queued_as_an_old_local_id_is_not_a_hop():
    """A remote 'queued as X' that happens to equal a local queue id used hours earlier links nothing."""
    lines = [
        "Nov 29 08:00:00 mx postfix/qmgr[3]: 9F8E7D6C5B: from=<old@a.test>, size=10, nrcpt=1 (queue active)",
        "Nov 29 08:00:01 mx postfix/smtp[4]: 9F8E7D6C5B: to=<o@b.test>, relay=mx.b.test[198.51.100.1]:25, delay=1, "
        "delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        "Nov 29 08:00:01 mx postfix/qmgr[3]: 9F8E7D6C5B: removed",
        "Nov 29 11:00:00 mx postfix/qmgr[3]: 1A1A1A1A1A: from=<new@a.test>, size=10, nrcpt=1 (queue active)",
        "Nov 29 11:00:01 mx postfix/smtp[4]: 1A1A1A1A1A: to=<n@c.test>, relay=mx.c.test[198.51.100.2]:25, delay=1, "
        "delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9F8E7D6C5B)",
    ]
    m = messages(parse_lines(lines).events)
    assert m["queue_ids"].tolist() == ["9F8E7D6C5B", "1A1A1A1A1A"]
    assert m["sender"].tolist() == ["old@a.test", "new@a.test"]


def test_any_subset_and_order_of_real_lines_links_cleanly():
    """Property: any subset of real lines, in any order, links without error; every attempt is in one
    row, every status is a known one, and a recipient is never counted twice within a message."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from analyzer.messages import FINAL_STATUSES

    pool = []
    for name in ("2_multiple_recipients_some_bounces.log", "14_reuse_of_queueid.log", "18_expired.log",
                 "5_zimbra_amavisd.log"):
        pool += corpus_path(*SCEN, name).read_text().splitlines()[:120]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from(pool), max_size=80))
    def check(lines):
        ix = link(parse_lines(lines).events)
        m = ix.messages
        assert set(m["status"].dropna()) <= set(FINAL_STATUSES)
        ev = ix.events
        attempts = (ev["event"].isin(["delivery"]) & ev["queue_id"].notna()).to_numpy(dtype=bool)
        assert (ix.row[attempts] >= 0).all()
        assert int(m["attempts"].sum()) == int((ix.row >= 0).sum())
        key = m["msg"].astype(str) + "|" + m["recipient"].fillna("").str.lower()
        dup = m[key.duplicated(keep=False).to_numpy(dtype=bool) & m["orig_recipient"].isna().to_numpy(dtype=bool)]
        assert dup.empty or dup["recipient"].isna().all()

    check()


def test_row_order_of_the_event_table_does_not_matter():
    """Events read back from a store come in any row order; ties in time are put back by file and line."""
    ev = parse_logs([str(corpus_path(*SCEN, "14_reuse_of_queueid.log"))], year=2026, tz="UTC").events
    shuffled = ev.sample(frac=1.0, random_state=7)
    cols = ["queue_ids", "message_id", "recipient", "status", "attempts"]
    assert messages(shuffled)[cols].to_dict("records") == messages(ev)[cols].to_dict("records")


def test_exim_retry_rules_giving_up_is_an_expiry():
    """Exim's two ways of saying its retry rules gave up end the recipient as expired, not bounced."""
    rows = messages(parse_lines([
        "2026-12-01 10:00:00 1rKqXY-000ABC-1x <= a@b.test H=(c) [192.0.2.1]:1 P=esmtp S=100 id=m1@b.test",
        "2026-12-01 10:00:01 1rKqXY-000ABC-1x == x@slow.test R=dnslookup T=remote_smtp defer (111): Connection refused",
        "2026-12-02 10:00:01 1rKqXY-000ABC-1x ** x@slow.test R=dnslookup: all hosts for 'slow.test' have been failing for a long time (and retry time not reached)",
        "2026-12-01 10:00:00 1rKqXY-000ABD-1x <= a@b.test H=(c) [192.0.2.1]:1 P=esmtp S=100 id=m2@b.test",
        "2026-12-02 10:00:01 1rKqXY-000ABD-1x ** y@slow.test: retry timeout exceeded",
    ]).events)
    assert list(rows["status"]) == ["expired", "expired"]
