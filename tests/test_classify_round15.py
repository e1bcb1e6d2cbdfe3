"""Table tests for round 15 of issue 9's reply set (bench/replies/README.md, "Round 15"): the rules
written after scoring that round read replies worded as no record words them, each through the
rule written for it, in the languages big European and Asian providers answer in, and leave
look-alike wordings on their own cause."""

from __future__ import annotations

import pytest

from analyzer.classify import default_rules
from analyzer.explain import explain
from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("550 Le compte du destinataire a été désactivé", "mailbox.disabled", "phr.mailbox.disabled_recipient_languages"),
    ("550 Das Postfach des Empfängers ist gesperrt", "mailbox.disabled", "phr.mailbox.disabled_recipient_languages"),
    ("550 La cuenta del destinatario ha sido bloqueada", "mailbox.disabled", "phr.mailbox.disabled_recipient_languages"),
    ("550 La casella del destinatario risulta disattivata", "mailbox.disabled", "phr.mailbox.disabled_recipient_languages"),
    ("550 A caixa postal do destinatário foi desativada", "mailbox.disabled", "phr.mailbox.disabled_recipient_languages"),
    ("550 Schránka příjemce byla zrušena", "mailbox.disabled", "phr.mailbox.disabled_recipient_languages"),
    ("550 Ящик получателя отключен", "mailbox.disabled", "phr.mailbox.disabled_recipient_languages"),
    ("550 收件人邮箱已被停用", "mailbox.disabled", "phr.mailbox.disabled_recipient_languages"),
    ("550 User account not exists here", "mailbox.unknown", "phr.mailbox.unknown_ungrammatical"),
    ("552 Die E-Mail überschreitet die zulässige Nachrichtengröße", "message.too_big", "phr.message.too_big_exceeds_languages"),
    ("552 Votre message dépasse la taille limite", "message.too_big", "phr.message.too_big_exceeds_languages"),
    ("552 E-mail překračuje povolenou velikost", "message.too_big", "phr.message.too_big_exceeds_languages"),
    ("552 Il messaggio eccede la dimensione consentita", "message.too_big", "phr.message.too_big_exceeds_languages"),
    ("553 Absender ist unbekannt", "sender.invalid", "phr.sender.invalid_address_languages"),
    ("553 Mittente sconosciuto", "sender.invalid", "phr.sender.invalid_address_languages"),
    ("553 Adres nadawcy jest błędny", "sender.invalid", "phr.sender.invalid_address_languages"),
    ("553 Некорректный адрес отправителя", "sender.invalid", "phr.sender.invalid_address_languages"),
    ("553 发信人地址无效", "sender.invalid", "phr.sender.invalid_address_languages"),
    ("553 差出人アドレスが無効です", "sender.invalid", "phr.sender.invalid_address_languages"),
    ("553 보낸 사람 주소가 잘못되었습니다", "sender.invalid", "phr.sender.invalid_address_languages"),
    ("550 Envelope domain lacks a valid MX record", "sender.invalid", "phr.sender.domain_without_dns"),
    ("553 5.1.8 Sender's domain does not resolve", "sender.invalid", "phr.sender.domain_without_dns"),
    ("421 只今接続が多すぎます", "rate.limited", "phr.rate.connections_languages"),
    ("421 동시 연결 수 초과", "rate.limited", "phr.rate.connections_languages"),
    ("421 연결 수가 너무 많아 연결을 종료합니다", "rate.limited", "phr.rate.connections_languages"),
    ("554 Ihre IP-Adresse wurde wegen Beschwerden gesperrt", "reputation.ip_listed", "phr.reputation.ip_blocked_languages3"),
    ("554 Twoje IP zostało zablokowane", "reputation.ip_listed", "phr.reputation.ip_blocked_languages3"),
    ("554 发信IP已被屏蔽", "reputation.ip_listed", "phr.reputation.ip_blocked_languages3"),
    ("550 See http://postmaster.example.net/blockip.php?ip=192.0.2.1", "reputation.ip_listed", "phr.reputation.deny_ip_page"),
    ("421 Too many invalid command, bye", "session.too_many_errors", "session.too_many_errors_text"),
    ("452 4.3.1 Mailsystem is full, try later", "server.unavailable", "phr.server.mail_system_full"),
    ("451 Spool error, please retry", "server.error", "server.error_phrasings2"),
    ("554 Unwelcome connection rejected (2)", "policy.sender_blocked", "unwelcome_connection.numbered"),
    ("554 Unwelcome connection rejected (3)", "rate.limited", "unwelcome_connection.flood"),
    ("554 Unwelcome connection rejected (4)", "reputation.poor", "unwelcome_connection.outbound_spam"),
])
def test_round15_rule_reads_paraphrased_replies(text, cause, rule_id):
    """The rule id is checked, so each row fails without the rule written for it."""
    assert _winner(text) == (default_rules().cause_for(cause, "outbound"), rule_id)


@pytest.mark.parametrize("text, cause", [
    # a recipient domain without MX is the recipient's, not the sender's
    ("550 5.1.2 Recipient domain has no MX record", "domain.not_found"),
    # a recipient domain that does not exist stays the recipient's
    ("550 5.1.2 Recipient address domain does not exist", "domain.not_found"),
    # a recipient's full mailbox stays the mailbox's, and bare 'insufficient system storage' keeps its code
    ("552 5.2.2 Mailbox storage is full", "mailbox.full"),
    # Postfix's size reply stays a size reply, the NetEase-style spam keyword stays content
    ("552 Error: Too much mail data", "message.too_big"),
    ("554 邮件被判定为垃圾邮件", "content.spam"),
    # an IP listed on a public DNSBL stays a listing, a plural bad-commands reply keeps its rule
    ("554 IP blocked using zen.spamhaus.org", "reputation.ip_listed"),
    ("421 Too many bad commands", "session.too_many_errors"),
])
def test_round15_look_alikes_keep_their_cause(text, cause):
    assert cause_of(text) == cause


@pytest.mark.parametrize("query, cause", [
    ("该用户不存在", "mailbox.unknown"),
    ("收件人空间不足", "mailbox.full"),
])
def test_explain_reads_replies_without_spaces(query, cause):
    """QQ's bounce keywords carry no code and no space: explain() reads them as replies."""
    assert explain(query)["cause"] == cause
