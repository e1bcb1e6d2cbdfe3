"""Table tests for round 21 of issue 9's reply set (bench/replies/README.md, "Round 21"): a
DNSBL named beside a word that other families read (a list's 'reputation' URL, 'Sending Spam',
a '5.5.4' code) is a listing; the sending IP judged a spammer with no list named is poor
reputation; qmail's and sendmail's code-less sentences (no host by that name, CNAME lookup,
address without a host name, looping, output file) name their reasons; a recipient user the
server cannot accept, a mailbox a forwarder cannot reach and a wrongly formatted header keep
their own causes. Look-alikes keep their older readings, and the round's replies that were
right before any rule (in French, Polish, Chinese, German and Japanese pages among them) stay
right."""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of


@pytest.mark.parametrize("text, cause, rule_id", [
    ("550 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using bl.example-dnsbl.net; "
     "see http://example-dnsbl.net/reputation", "reputation.ip_listed",
     "phr.reputation.client_host_blocked_using_zone"),
    ("554 Service unavailable; Client host [203.0.113.9] rejected using zen.spamhaus.org; reputation too low",
     "reputation.ip_listed", "phr.reputation.client_host_blocked_using_zone"),
    ("550 Rejected: listed by hostkarma", "reputation.ip_listed", "phr.reputation.ip_listed_at_named_list"),
    ("550 5.5.4 Your IP 203.0.113.9 is listed by Invaluement", "reputation.ip_listed",
     "phr.reputation.ip_listed_at_named_list"),
    ("451 Spam source, see http://www.sorbs.net/lookup.shtml?203.0.113.9", "reputation.ip_listed",
     "phr.reputation.dnsbl_lookup_url"),
    ("550 5.7.1 Relaying denied: your IP has been flagged as a spam source", "reputation.poor",
     "phr.reputation.relay_prefix_then_spammer"),
    ("554 Relay access denied - this server is classified as a spammer", "reputation.poor",
     "phr.reputation.relay_prefix_then_spammer"),
    ("553 5.7.1 [BL21] Connections will not be accepted from 203.0.113.9, because the ip is in "
     "Spamhaus's list; see https://postmaster.yahooinc.com/error-codes", "reputation.ip_listed",
     "phr.reputation.yahoo_ip_in_named_list"),
    ("550 5.1.1 Cannot accept that user", "mailbox.unknown", "phr.mailbox.cannot_accept_user"),
    ("450 Unable to reach recipient's mailbox", "mailbox.unavailable", "phr.mailbox.cannot_reach_mailbox"),
    ("554 Badly formatted Date header", "message.invalid", "phr.message.wrongly_formatted_header"),
    ("Sorry, I couldn't find any host named example.com.", "domain.not_found",
     "domain.not_found"),
    ("451 4.4.3 CNAME lookup failed", "dns.failure", "phr.dns.lookup_failure_family"),
    ("501 Address must contain a domain name", "address.invalid", "phr.address.invalid_family"),
    ("554 message is looping", "routing.loop", "phr.routing.already_has_delivered_to"),
    ("550 Can't create output", "server.unavailable", "phr.server.cannot_create_output_file"),
])
def test_round21_families_decide(text: str, cause: str, rule_id: str) -> None:
    assert _winner(text) == (cause, rule_id)


@pytest.mark.parametrize("text, cause", [
    # a list zone followed by more words is not the reject_rbl_client clause: greylisting stays
    ("421 4.7.1 Service unavailable; Client host [192.0.2.1] blocked using grey.rbl - "
     "Greylisting in action, please try again later", "greylisted"),
    # the recipient organisation's own list keeps its block of the sender
    ("550 5.7.513 Service unavailable, Client host [203.0.113.9] blocked by contoso.com using "
     "Customer Block list (AS16012607)", "policy.sender_blocked"),
    # a domain or URL list is not an IP listing
    ("550 Your domain is listed in dbl.spamhaus.org", "reputation.domain_listed"),
    ("550 5.7.1 Message rejected: URL listed in multi.surbl.org", "reputation.domain_listed"),
    ("554 Service unavailable; Sender address [user@example.com] blocked using dbl.spamhaus.org; "
     "https://www.spamhaus.org/query/domain/example.com", "reputation.domain_listed"),
    # review of round 21: a full mailbox the server 'cannot accept' a user for stays full; a
    # sentence's article 'a' is not a record type; a badly formatted address is not a header;
    # a URL on Invaluement's URI list is a listed domain
    ("452 4.2.2 Cannot accept user: mailbox full", "mailbox.full"),
    ("552 cannot accept user - mailbox over quota", "mailbox.full"),
    ("450 4.7.1 Client host rejected: a lookup failed temporarily", "policy.rejected"),
    ("553 5.1.7 Badly formatted from address", "sender.invalid"),
    ("554 5.7.1 URL listed by invaluement ivmuri", "reputation.domain_listed"),
    # spam in the message with no list named stays a spam verdict
    ("554 Your message looks like spam", "content.spam"),
    # Yahoo's complaints deferral (no list named) keeps its poor reputation
    ("421 4.7.0 [TSS04] Messages from 203.0.113.9 temporarily deferred due to unexpected volume or "
     "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", "reputation.poor"),
    # a plain relay refusal stays a relay refusal
    ("554 5.7.1 <user@example.com>: Relay access denied", "relay.denied"),
    # the spammer verdict without the relay prefix keeps phr.reputation.deemed_spammer's reading
    ("550 Your IP address has been identified as a spammer", "reputation.poor"),
    # 'cannot accept' a message's content is not a recipient user
    ("554 Cannot accept message: content rejected", "content.spam"),
    # the receiver's storage without the output-file words keeps its reading
    ("452 4.3.1 Insufficient system storage", "server.unavailable"),
    # a mail loop by hop count keeps the loop family
    ("550 Message rejected: too many hops, mail loop detected", "routing.loop"),
])
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause


@pytest.mark.parametrize("text, cause", [
    ("550 spam detected", "content.spam"),
    ("550 5.7.1 Spam Detected - Mail Rejected.  Please see our policy at: "
     "http://postmaster.free.fr/#spam_detected", "content.spam"),
    ("554 (#5.3.0) Nie przyjmiemy tej wiadomosci poniewaz jest to spam - zobacz strone: "
     "https://pomoc.wp.pl/polityka-antyspamowa / We can't accept this message because it is spam - "
     "see: https://pomoc.wp.pl/polityka-antyspamowa [127]", "content.spam"),
    ("554 DT:SPM 163 smtp10,DsCowAA3D+JApVpd78gMKg--.16104S2 1566221632,please see "
     "http://mail.163.com/help/help_spam_16.htm?ip=59.42.123.65&hostid=smtp10&time=1566221632",
     "content.spam"),
    ("554 IP=95.216.152.144 - Dialup/transient IP not allowed. Use a mailgateway or contact "
     "toda@rx.t-online.de if obsolete. (DIAL)", "reputation.ip_listed"),
    ("550 5.7.1 rejected by DMARC policy for dialog.beta.gouv.fr", "auth.dmarc"),
    ("550 #5.7.1 service unavailable; client [1.2.3.4] blocked using <spam.black.liste>",
     "reputation.ip_listed"),
    ("550 <[メールアドレス]> Host unknown", "domain.not_found"),
    ("550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]",
     "mailbox.unknown"),
    ("552 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417]", "mailbox.full"),
])
def test_round21_replies_right_before_any_rule_stay_right(text: str, cause: str) -> None:
    assert cause_of(text) == cause


#: The languages' pass: the held-out-weak families in ten languages (round 21's probes).
LANGUAGE_PROBES = [
    ('550 5.7.1 Message refusé par la politique du serveur', 'policy.rejected'),
    ('550 5.7.1 Nachricht aufgrund lokaler Richtlinien abgelehnt', 'policy.rejected'),
    ('550 5.7.1 Mensaje rechazado por política local', 'policy.rejected'),
    ('550 5.7.1 Messaggio rifiutato per policy locale', 'policy.rejected'),
    ('550 5.7.1 Wiadomość odrzucona ze względu na politykę serwera', 'policy.rejected'),
    ('550 5.7.1 Zpráva odmítnuta z důvodu místní politiky', 'policy.rejected'),
    ('550 5.7.1 Mensagem rejeitada por política local', 'policy.rejected'),
    ('550 5.7.1 Сообщение отклонено политикой сервера', 'policy.rejected'),
    ('550 5.7.1 邮件被服务器策略拒绝', 'policy.rejected'),
    ('550 5.7.1 ポリシーによりメールは拒否されました', 'policy.rejected'),
    ('421 4.3.2 Serveur temporairement indisponible, réessayez plus tard', 'server.unavailable'),
    ('421 4.3.2 Server vorübergehend nicht verfügbar', 'server.unavailable'),
    ('421 Servidor temporalmente no disponible', 'server.unavailable'),
    ('421 Server temporaneamente non disponibile', 'server.unavailable'),
    ('421 Serwer chwilowo niedostępny', 'server.unavailable'),
    ('421 Server je dočasně nedostupný', 'server.unavailable'),
    ('421 Servidor temporariamente indisponível', 'server.unavailable'),
    ('421 Сервер временно недоступен', 'server.unavailable'),
    ('421 服务器暂时不可用，请稍后再试', 'server.unavailable'),
    ('421 サーバーが一時的に利用できません', 'server.unavailable'),
    ('451 4.3.0 Erreur interne du serveur', 'server.error'),
    ('451 4.3.0 Interner Serverfehler', 'server.error'),
    ('451 4.3.0 Error interno del servidor', 'server.error'),
    ('451 4.3.0 Errore interno del server', 'server.error'),
    ('451 4.3.0 Wewnętrzny błąd serwera', 'server.error'),
    ('451 4.3.0 Vnitřní chyba serveru', 'server.error'),
    ('451 4.3.0 Erro interno do servidor', 'server.error'),
    ('451 4.3.0 Внутренняя ошибка сервера', 'server.error'),
    ('451 4.3.0 服务器内部错误', 'server.error'),
    ('451 4.3.0 サーバー内部エラー', 'server.error'),
    ('554 5.7.1 Relais non autorisé', 'relay.denied'),
    ('554 5.7.1 Relaying nicht erlaubt', 'relay.denied'),
    ('554 5.7.1 Retransmisión no permitida', 'relay.denied'),
    ('554 5.7.1 Inoltro non consentito', 'relay.denied'),
    ('554 5.7.1 Przekazywanie poczty niedozwolone', 'relay.denied'),
    ('554 5.7.1 Reencaminhamento não permitido', 'relay.denied'),
    ('554 5.7.1 Пересылка запрещена', 'relay.denied'),
    ('554 5.7.1 不允许中继', 'relay.denied'),
    ('554 5.7.1 中継は許可されていません', 'relay.denied'),
    ('530 5.7.0 Authentification requise', 'auth.required'),
    ('530 5.7.0 Authentifizierung erforderlich', 'auth.required'),
    ('530 5.7.0 Se requiere autenticación', 'auth.required'),
    ('530 5.7.0 Autenticazione richiesta', 'auth.required'),
    ('530 5.7.0 Wymagane uwierzytelnienie', 'auth.required'),
    ('530 5.7.0 Vyžadováno ověření', 'auth.required'),
    ('530 5.7.0 Autenticação necessária', 'auth.required'),
    ('530 5.7.0 Требуется аутентификация', 'auth.required'),
    ('530 5.7.0 需要身份验证', 'auth.required'),
    ('530 5.7.0 認証が必要です', 'auth.required'),
    ('550 5.7.1 Expéditeur bloqué par le destinataire', 'policy.sender_blocked'),
    ('550 5.7.1 Absender vom Empfänger gesperrt', 'policy.sender_blocked'),
    ('550 5.7.1 Remitente bloqueado por el destinatario', 'policy.sender_blocked'),
    ('550 5.7.1 Mittente bloccato dal destinatario', 'policy.sender_blocked'),
    ('550 5.7.1 Nadawca zablokowany przez odbiorcę', 'policy.sender_blocked'),
    ('550 5.7.1 Odesílatel zablokován příjemcem', 'policy.sender_blocked'),
    ('550 5.7.1 Remetente bloqueado pelo destinatário', 'policy.sender_blocked'),
    ('550 5.7.1 Отправитель заблокирован получателем', 'policy.sender_blocked'),
    ('550 5.7.1 发件人已被收件人拒收', 'policy.sender_blocked'),
    ('550 5.7.1 送信者は受信者によってブロックされています', 'policy.sender_blocked'),
    ('550 5.7.23 Échec de la vérification SPF', 'auth.spf'),
    ('550 5.7.23 SPF-Prüfung fehlgeschlagen', 'auth.spf'),
    ('550 5.7.23 Fallo en la verificación SPF', 'auth.spf'),
    ('550 5.7.23 Verifica SPF non superata', 'auth.spf'),
    ('550 5.7.23 Weryfikacja SPF nie powiodła się', 'auth.spf'),
    ('550 5.7.23 Kontrola SPF selhala', 'auth.spf'),
    ('550 5.7.23 Falha na verificação SPF', 'auth.spf'),
    ('550 5.7.23 Проверка SPF не пройдена', 'auth.spf'),
    ('550 5.7.23 SPF 验证失败', 'auth.spf'),
    ('550 5.7.23 SPF認証に失敗しました', 'auth.spf'),
    ('550 5.7.1 Rejeté en raison de la politique DMARC', 'auth.dmarc'),
    ('550 5.7.1 Aufgrund der DMARC-Richtlinie abgelehnt', 'auth.dmarc'),
    ('550 5.7.1 Rechazado por la política DMARC', 'auth.dmarc'),
    ('550 5.7.1 Rifiutato a causa della policy DMARC', 'auth.dmarc'),
    ('550 5.7.1 Odrzucono z powodu polityki DMARC', 'auth.dmarc'),
    ('550 5.7.1 Odmítnuto kvůli zásadám DMARC', 'auth.dmarc'),
    ('550 5.7.1 Rejeitado devido à política DMARC', 'auth.dmarc'),
    ('550 5.7.1 Отклонено согласно политике DMARC', 'auth.dmarc'),
    ('550 5.7.1 因 DMARC 策略被拒绝', 'auth.dmarc'),
    ('550 5.7.1 DMARCポリシーにより拒否されました', 'auth.dmarc'),
]


@pytest.mark.parametrize("text, cause", LANGUAGE_PROBES)
def test_weak_families_in_the_providers_languages(text: str, cause: str) -> None:
    assert cause_of(text) == cause
