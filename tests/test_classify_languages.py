"""Table tests: phrase families of analyzer/rules/phrasings.toml, per reason and per language
(issue 9, item 4: relay denial, authentication, connection and rate limits, storage, size, policy
and reputation in the languages big European and Asian providers answer in).

The English rows are round-3 development replies of bench/replies/ (PHPMailer-BMH samples, the
bounce corpora of its fixtures, sendmail/hMailServer/maddy/chasquid defaults, replies quoted in
public issue threads); the other languages are the same reasons in the providers' wording. None
comes from the held-out part.
"""

from __future__ import annotations

import pytest

from analyzer.classify import classify, example_frame


def cause_of(text: str) -> str:
    """The cause maillens gives a remote server's reply (outbound, as a pasted reply)."""
    frame = example_frame([{"text": text, "direction": "outbound"}])
    return str(classify(frame, attribute_causes=False)["cause"].iloc[0])


MAILBOX = [
    ("550 User (someone@example.com) unknown.", "mailbox.unknown"),
    ("554 5.7.1 <a@inbox.lv>: Recipient address rejected: Nonexistent user", "mailbox.unknown"),
    ("550 5.7.1 No mailbox found", "mailbox.unknown"),
    ("503 All recipients are invalid", "mailbox.unknown"),
    ("550 5.1.1 Requested action not taken: mailbox unavailable", "mailbox.unknown"),
    ("550 5.1.1 Destinataire introuvable", "mailbox.unknown"),
    ("550 Empfänger existiert nicht", "mailbox.unknown"),
    ("550 El destinatario no existe", "mailbox.unknown"),
    ("550 Utente inesistente", "mailbox.unknown"),
    ("550 Destinatário não existe", "mailbox.unknown"),
    ("550 Nie ma takiego użytkownika", "mailbox.unknown"),
    ("550 Adresa neexistuje", "mailbox.unknown"),
    ("550 Адресат не найден", "mailbox.unknown"),
    ("550 邮件地址无效", "mailbox.unknown"),
    ("550 存在しないメールアドレスです", "mailbox.unknown"),
    ("550 존재하지 않는 사용자입니다", "mailbox.unknown"),
    ("550 <someone@example.com>: User status is locked.", "mailbox.disabled"),
    ("550 [SUSPEND] Mailbox currently suspended - Please contact correspondent directly", "mailbox.disabled"),
    ("550 5.2.1 RACT 192.0.2.1: Mailbox is inactive: <someone@hanmail.net>", "mailbox.disabled"),
    ("550 Compte inactif", "mailbox.disabled"),
    ("550 Casella disabilitata", "mailbox.disabled"),
    ("550 Ящик заблокирован", "mailbox.disabled"),
    ("550 アカウントが停止されています", "mailbox.disabled"),
    ("550 계정이 정지되었습니다", "mailbox.disabled"),
    ("552 recipient storage full, try again later", "mailbox.full"),
    ("422 User has exhausted allowed storage space", "mailbox.full"),
    ("550 5.2.5 Folder full", "mailbox.full"),
    ("422 Benutzer hat zuviele Mails auf dem Server", "mailbox.full"),
    ("552 Boîte aux lettres saturée", "mailbox.full"),
    ("552 Buzón saturado", "mailbox.full"),
    ("552 Skrzynka jest przepełniona", "mailbox.full"),
    ("552 Почтовый ящик переполнен", "mailbox.full"),
    ("552 信箱已满", "mailbox.full"),
    ("552 メールボックスが一杯です", "mailbox.full"),
    ("552 메일함이 가득 찼습니다", "mailbox.full"),
]

RELAY_AUTH_TLS = [
    ("550 relaying to <someone@example.com> prohibited by administrator", "relay.denied"),
    ("500 Unauthorized relay msg rejected", "relay.denied"),
    ("554 Relaying ist untersagt", "relay.denied"),
    ("554 Reenvío prohibido", "relay.denied"),
    ("554 Relay negato", "relay.denied"),
    ("554 Пересылка запрещена", "relay.denied"),
    ("554 中继被拒绝", "relay.denied"),
    ("554 中継は許可されていません", "relay.denied"),
    ("554 릴레이가 거부되었습니다", "relay.denied"),
    ("550 5.7.1 not authenticated", "auth.required"),
    ("550 5.7.9 Mail to submission port must be authenticated", "auth.required"),
    ("530 Authentification requise", "auth.required"),
    ("530 Autenticazione richiesta", "auth.required"),
    ("530 Требуется авторизация", "auth.required"),
    ("530 需要身份验证", "auth.required"),
    ("530 인증이 필요합니다", "auth.required"),
    ("553 AUTH FAILED - someone@example.com", "auth.sasl_failed"),
    ("535 5.7.8 Incorrect user or password", "auth.sasl_failed"),
    ("535 Passwort falsch", "auth.sasl_failed"),
    ("535 Senha incorreta", "auth.sasl_failed"),
    ("535 用户名或密码错误", "auth.sasl_failed"),
    ("535 認証に失敗しました", "auth.sasl_failed"),
    ("451 4.1.8 Client IP address 192.0.2.1 does not resolve", "auth.reverse_dns"),
    ("421 Refused. Your reverse DNS entry does not resolve to an IP.", "auth.reverse_dns"),
    ("530 Must issue STARTTLS first.", "tls.required"),
    ("530 A SSL/TLS-connection is required for authentication.", "tls.required"),
    ("403 4.7.0 STARTTLS failed.", "tls.failed"),
]

LIMITS_SIZE_CONTENT = [
    ("421 4.3.2 Too many open connections.", "rate.limited"),
    ("421 4.7.1 Intrusion prevention active for [192.0.2.1][R]", "rate.limited"),
    ("421 Troppe sessioni aperte", "rate.limited"),
    ("421 너무 많은 연결이 있습니다", "rate.limited"),
    ("421 接続数が多すぎます", "rate.limited"),
    ("552 Messaggio troppo grande", "message.too_big"),
    ("552 Слишком большое письмо", "message.too_big"),
    ("552 メッセージのサイズが大きすぎます", "message.too_big"),
    ("552 메시지 크기가 초과되었습니다", "message.too_big"),
    ("Messages without To: fields are not accepted here", "message.invalid"),
    ("521 5.5.2 Error reading DATA: invalid line ending", "message.invalid"),
    ("553 Blocked using spam pattern, your message may contain the spam contents", "content.spam"),
    ("550 5.7.1 You're using a mass mailer, therefore you're bounced.", "content.spam"),
    ("550 スパムと判定されました", "content.spam"),
    ("550 Message contained unsafe content (Heuristics.Phishing.Email.SpoofedDomain)", "content.virus"),
    ("554 Le message contient un virus", "content.virus"),
]

SERVER_POLICY_REPUTATION = [
    ("451 Temporary local problem - please try later", "server.error"),
    ("451 Interner Serverfehler", "server.error"),
    ("451 Внутренняя ошибка сервера", "server.error"),
    ("451 일시적인 오류", "server.error"),
    ("451 Serveur surchargé", "server.unavailable"),
    ("451 Tente novamente mais tarde", "server.unavailable"),
    ("451 しばらくしてから再送してください", "server.unavailable"),
    ("451 잠시 후 다시 시도해 주세요", "server.unavailable"),
    ("550 Rechazado por la política local", "policy.rejected"),
    ("550 ポリシーにより拒否されました", "policy.rejected"),
    ("553 User refused to receive this mail.", "policy.sender_blocked"),
    ("554 5.7.1 You are not allowed to connect.", "policy.sender_blocked"),
    ("550 发件人被拒绝", "policy.sender_blocked"),
    ("550 Access from ip address 192.0.2.1 blocked. Visit http://win.mail.ru/cgi-bin/support_bl?ip=192.0.2.1",
     "reputation.ip_listed"),
    ("550 5.7.1 Rejected: 192.0.2.1 listed at zen.spamhaus.org", "reputation.ip_listed"),
    ("550 IP가 블랙리스트에 등록되어 있습니다", "reputation.ip_listed"),
    ("550 Низкая репутация отправителя", "reputation.poor"),
    ("550 Message rejected", "policy.rejected"),                 # the message, not the mailbox
    ("550 Nachricht abgelehnt", "policy.rejected"),
    ("550 Wiadomość odrzucona", "policy.rejected"),
    ("550 메일이 거부되었습니다", "policy.rejected"),
    ("550 Ihre IP-Adresse ist gesperrt", "reputation.ip_listed"),
    ("550 Seu endereço IP está bloqueado", "reputation.ip_listed"),
    ("550 IPアドレスがブロックされています", "reputation.ip_listed"),
    ("550 Rejected: your IP is listed in Barracuda Reputation Block List", "reputation.ip_listed"),
    ("550 Domaine inexistant", "domain.not_found"),
    ("550 도메인이 존재하지 않습니다", "domain.not_found"),
    ("Unable to resolve MX host example.ne", "domain.not_found"),
    ("451 HOTMAIL.com.tw: Name server timeout", "dns.failure"),
]


@pytest.mark.parametrize("text, cause", MAILBOX)
def test_mailbox_phrasings(text, cause):
    """Unknown, disabled and full mailboxes, however and in whatever language the server says it."""
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, cause", RELAY_AUTH_TLS)
def test_relay_auth_tls_phrasings(text, cause):
    """Relay denial, authentication required or failed, reverse DNS and TLS, across languages."""
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, cause", LIMITS_SIZE_CONTENT)
def test_limit_size_content_phrasings(text, cause):
    """Connection limits, size, message format, spam and virus verdicts, across languages."""
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, cause", SERVER_POLICY_REPUTATION)
def test_server_policy_reputation_phrasings(text, cause):
    """Server errors and busy servers, local policy, blocked senders, block lists, DNS."""
    assert cause_of(text) == cause


@pytest.mark.parametrize("text", [
    "554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org; "
    "Error: open resolver; https://check.spamhaus.org/returnc/pub/192.0.2.1/",
    "550 Error: open resolver; https://www.spamhaus.org/returnc/pub/192.0.2.1",
])
def test_open_resolver_reject_is_the_receivers_setup(text):
    """A Spamhaus 'open resolver' answer read as a listing is the receiver's misconfiguration, not a
    block list entry for the sender: the specific phrase beats the generic 'blocked using'."""
    assert cause_of(text) == "server.misconfigured"


@pytest.mark.parametrize("text, cause", [
    ("553 Blocked using spam pattern", "content.spam"),          # not a bare '5xx blocked'
    ("550 Blocked", "policy.sender_blocked"),                   # a bare one is
    ("552 5.2.2 Submission quota exceeded", "rate.limited"),      # a sending quota, not a mailbox's
    ("452 4.2.2 Quota", "mailbox.full"),                          # a bare quota is the mailbox's
    ("550 5.1.6 recipient no longer on server: someone@icloud.com", "mailbox.moved"),  # 5.1.6 decides
])
def test_precedence_between_overlapping_families(text, cause):
    """Where two families share words, the more specific wording decides."""
    assert cause_of(text) == cause
