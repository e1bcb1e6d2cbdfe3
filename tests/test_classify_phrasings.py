"""Table tests: generic phrasings of servers' replies land on their cause (issue 9, item 4).

Every text is a development-part reply of bench/replies/ or a server's documented default reply
(Postfix, Exim, qmail, OpenSMTPD, sendmail) or a documentation-derived variant; none comes from
the held-out part.
"""

from __future__ import annotations

import pytest

from analyzer.classify import classify, example_frame


def cause_of(text: str, code: int | None = None) -> str:
    """The cause maillens gives a remote server's reply (outbound, as a pasted reply)."""
    row = {"text": text, "direction": "outbound"}
    if code is not None:
        row["code"] = code
    return str(classify(example_frame([row]), attribute_causes=False)["cause"].iloc[0])


@pytest.mark.parametrize("text, cause", [
    # relay denial: qmail, Libero, InterScan, an MTA that is "not configured to relay"
    ("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", "relay.denied"),
    ("550 Relay Disabled", "relay.denied"),
    ("550 Domain of forward path is not allowed", "relay.denied"),
    ("501 Rcpt-To validation failed: RCPT TO not accepted: 5.7.1 This system is not configured "
     "to relay mail (r) from <a@example.com> to <b@example.jp> for 127.0.0.1", "relay.denied"),
    ("550 Inoltro non consentito", "relay.denied"),
    # authentication required / failed
    ("550-Please turn on SMTP Authentication in your mail client.", "auth.required"),
    ("530 5.5.1 Invalid command: Must issue an AUTH command first", "auth.required"),
    ("553 5.7.1 <user@example.com>: Sender address rejected: not logged in", "auth.required"),
    ("534 5.7.14 Please log in through your web browser and then try again.", "auth.sasl_failed"),
    # protocol
    ("502 5.5.1 Unimplemented command.", "protocol.unsupported"),
    ("502 unimplemented (#5.5.1)", "protocol.unsupported"),
    ("550 5.5.1 Protocol error", "protocol.syntax"),
    # unknown recipients, in several languages
    ("550 <user@example.co.jp>... User not exist", "mailbox.unknown"),
    ("550 Unrouteable address", "mailbox.unknown"),
    ("550 5.1.1 Utente sconosciuto", "mailbox.unknown"),
    ("550 Usuário desconhecido", "mailbox.unknown"),
    ("550 Gebruiker bestaat niet", "mailbox.unknown"),
    ("550 Пользователь не найден", "mailbox.unknown"),
    # full mailboxes
    ("552 La casella di posta è piena", "mailbox.full"),
    ("452 Caixa postal cheia", "mailbox.full"),
    ("452 Mailbox is vol", "mailbox.full"),
    ("452 Почтовый ящик переполнен", "mailbox.full"),
    # sender and recipient addresses
    ("451 Could not complete sender verify", "sender.invalid"),
    ("553 5.1.0 Sender address syntax error", "sender.invalid"),
    ("504 5.5.2 <user>: Sender address rejected: need fully-qualified address", "sender.invalid"),
    ("504 5.5.2 <user>: Recipient address rejected: need fully-qualified address", "address.invalid"),
    # malformed messages
    ("554 5.7.9 Header error", "message.invalid"),
    ("554 Transaction failed: Duplicate header 'DKIM-Signature'.", "message.invalid"),
    ("552 5.6.0 Headers too large (3 max)", "message.invalid"),
    # rates and volume
    ("450 4.7.1 Error: too many recipients from 192.0.2.1", "rate.limited"),
    ("554 mx.example.net : You've reached your daily relay quota - 192.0.2.0", "rate.limited"),
    ("421 4.7.28 Gmail has detected an unusual rate of email. To protect our users from spam, "
     "email has been temporarily rate limited.", "reputation.poor"),
    # blocks by the recipient, blocklists, SPF
    ("421 Sender address blocked", "policy.sender_blocked"),
    ("551 Sender is on domain's blacklist", "policy.sender_blocked"),
    ("550 5.7.1 IP address blacklisted by recipient", "policy.sender_blocked"),
    ("550 message sending for this account is disabled", "policy.sender_blocked"),
    ("554 Service unavailable; Client host [mail.example.com] blocked using Barracuda "
     "Reputation; http://bbl.barracudacentral.com/q.cgi?ip=192.0.2.1", "reputation.ip_listed"),
    ("554 INVALID IP FOR SENDING MAIL OF DOMAIN example.com", "auth.spf"),
    # servers and TLS
    ("451 Please try another server", "server.unavailable"),
    ("554 mx.example.com ESMTP not accepting connections", "server.unavailable"),
    ("550 5.7.322 certificate-expired: Destination mail server's certificate is expired.",
     "tls.failed"),
    ("500 Remote server does not support TLS (state 6).", "tls.failed"),
])
def test_generic_phrasing_lands_on_its_cause(text, cause):
    """A reply worded the way servers word it gets the cause its source gives."""
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, code, cause", [
    # a specific phrase beats a code-only or enhanced-code-only rule (item 4)
    ("550 5.1.1 <user@example.com>... Relaying denied", 550, "relay.denied"),
    ("552 5.2.2 Message size exceeds fixed maximum message size", 552, "message.too_big"),
    ("550 5.2.1 sorry, that domain isn't in my list of allowed rcpthosts", 550, "relay.denied"),
    ("421 4.7.0 Error: too many connections from 192.0.2.1", 421, "rate.limited"),
])
def test_phrase_beats_the_code_default(text, code, cause):
    """The enhanced code alone would say mailbox/protocol; the words say what happened."""
    assert cause_of(text, code) == cause


def test_recipient_phrase_does_not_make_a_sender_cause():
    """'need fully-qualified address' is read with the address it is about."""
    assert cause_of("504 5.5.2 <a>: Recipient address rejected: need fully-qualified address") \
        != cause_of("504 5.5.2 <a>: Sender address rejected: need fully-qualified address")


@pytest.mark.parametrize("text, cause", [
    # providers' own codes, from their published code lists (analyzer/rules/provider_codes.toml)
    ("550 This IP has sent too many messages this hour. IB504", "rate.limited"),
    ("554 Connection refused. This IP address is listed on the Policy Block List (PBL). IB106",
     "reputation.ip_listed"),
    ("421 Temporarily rejected. Reverse DNS for this IP failed. IB108", "auth.reverse_dns"),
    ("552 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417]", "mailbox.full"),
    ("550 5.5.0 Boite du destinataire archivee. Archived recipient. LPN007_420",
     "mailbox.disabled"),
    ("550 5.1.0 <bounce@example.com> sender rejected. AUP#CXBL", "reputation.ip_listed"),
    ("550 5.1.0 <bounce@example.com> sender rejected. AUP#In-1310", "rate.limited"),
    ("554 xx.comcast.net comcast 192.0.2.1 Comcast block for spam. Please see "
     "http://postmaster.comcast.net/smtp-error-codes.php#BL000000", "reputation.ip_listed"),
    ("550 Mailbox is frozen. See http://mail.i.ua/err/3/", "mailbox.disabled"),
])
def test_provider_code_decides(text, cause):
    """A provider's own code means what its code list says, whatever the generic words."""
    assert cause_of(text) == cause


def test_provider_code_beats_enhanced_code_default():
    """5.1.0 alone reads as an address problem; Cox's AUP#CXDNS says reverse DNS."""
    assert cause_of("550 5.1.0 <a@example.com> sender rejected. AUP#CXDNS") == "auth.reverse_dns"


@pytest.mark.parametrize("text, cause", [
    # Microsoft's NDR reference and Outlook.com's postmaster code table
    ("550 5.5.0 Requested action not taken: mailbox unavailable. [outlook.com]", "mailbox.unknown"),
    ("432 4.3.2 STOREDRV.Deliver; recipient thread limit exceeded", "mailbox.rate_limited"),
    ("550 5.1.90 Your message can't be sent because you've reached your daily limit for message "
     "recipients", "rate.limited"),
    ("550 5.6.11 SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds, which cannot "
     "be sent via DATA", "message.invalid"),
    ("550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. You can tell them that "
     "Hotmail does not relay dynamically-assigned IP ranges. (S3140)", "reputation.ip_listed"),
    ("550 DY-001 (SNT004-MC1F43) Unfortunately, messages from 192.0.2.1 weren't sent.",
     "reputation.ip_listed"),
    ("450 DT:RBL 192.0.2.1", "reputation.ip_listed"),
    ("451 MI:SFQ 192.0.2.1", "rate.limited"),
])
def test_provider_documented_replies(text, cause):
    """Replies as the providers' own references word them get the meaning those give."""
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, cause", [
    ("553 5.1.8 Sender domain does not exist", "sender.invalid"),
    ("550 5.1.8 Invalid sender domain", "sender.invalid"),
    ("554 5.1.2 The domain example.com does not exist", "domain.not_found"),
    ("550 5.7.1 Service unavailable, MailFrom domain is listed in Spamhaus.",
     "reputation.domain_listed"),
])
def test_sender_domain_is_not_a_listing_by_itself(text, cause):
    """'sender domain' names what is wrong; only 'listed'/'blocked' makes it a blocklist hit."""
    assert cause_of(text) == cause


def test_microsoft_541_is_read_by_its_text():
    """Microsoft documents two 5.4.1 replies: an unknown recipient and a relay refusal."""
    assert cause_of("550 5.4.1 Recipient address rejected: Access denied [outlook.com]") \
        == "mailbox.unknown"
    assert cause_of("550 5.4.1 Relay Access Denied [outlook.com]") == "relay.denied"
