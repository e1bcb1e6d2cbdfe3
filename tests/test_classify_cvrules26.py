"""Rules that generalise across sources, from the leave-one-source-out misses (issue 9, r26-cvrules).

``bench/cv_grouped.py`` drops a rule every right answer of which comes from one source. Round 26's
cvrules read the misses of three quarters of the development sources (``bench/cv_probe.py``'s probe
quarter set aside, ``bench/cv_probe_sources26.txt``) and folded single-source rules into the rule of
their verb and object (the sending host a known spam source; Validity's block list; a reputation
score too low; a server not ready; an address that no longer exists; a forged sender; the From
domain's authentication level; an MX not pointing here; a locally blacklisted sender address; the
sender against the login; a HELO impersonating the receiver), read new wordings (no DNS reverse; a
message that could not be queued; a component that failed to start; no correct recipients; a message
looping) and the same reasons in the languages providers answer in (Exchange's localized NDR prose;
the recipient's domain that does not exist; authentication failed; service unavailable; an account
disabled; rejected by the recipient), a host that appears on several lists or has been sending
spam, and a list or group that takes mail only from its members
(phr.policy.members_only, new), a mailbox over its limit, sending from an account that has been
disabled.

Each family row is a wording no development reply uses and names the rule that must decide it. The
look-alikes are replies of neighbouring causes with the same words; each keeps the reading 76dcb50
gave it (checked beside that commit), except one: 'Relaying only allowed from authorized hosts' was
read as a forged sender by phr.auth.only_from_authorized_ranges; the folded rule needs the mail's
domain as the subject, and the relay rules read it.
"""

from __future__ import annotations

import pytest

from tests.test_classify_generalise import _winner
from tests.test_classify_phrasings import cause_of

SPAM_SOURCE = "phr.reputation.sent_to_spamtrap"
SENDERSCORE_LIST = "phr.reputation.client_blocked_using_list"
SCORE = "reputation.poor"
NOT_READY = "server.phrasings"
DISABLED = "phr.mailbox.disabled"
SPOOFED = "auth.spoofed"
DMARC = "auth.dmarc"
RELAY = "relay.phrasings"
SENDER_BLOCKED = "sender.blocked_phrasings2"
NOT_LOGIN = "phr.sender.domain_not_match_auth"
HELO_US = "phr.helo.impersonates_us"
REVERSE = "phr.auth.reverse_dns"
PROCESSING = "phr.server.processing_failure_family"
UNKNOWN = "mailbox.unknown"
LOOP = "routing.loop"
NDR_PROSE = "phr.mailbox.unknown_ndr_prose"
DOMAIN = "phr.domain.not_found"
SASL_LANG = "phr.auth.sasl_failed_languages"
UNAVAILABLE_LANG = "server.unavailable_languages"
DISABLED_LANG = "phr.mailbox.disabled_languages"
REJECTED_LANG = "phr.policy.rejected_languages"
MEMBERS = "phr.policy.members_only"
FULL = "phr.mailbox.full"
SENDER_BLOCKED_RULE = "sender.blocked_phrasings2"
LISTED = "phr.reputation.listed_in_many"
BEHAVIOUR = "phr.reputation.poor_behaviour_family"


@pytest.mark.parametrize("text, cause, rule_id", [
    ("554 Connection from known spam source host refused", "reputation.ip_listed", SPAM_SOURCE),
    ("550 Rejected: your server is a known spam source", "reputation.ip_listed", SPAM_SOURCE),
    ("550 Host 192.0.2.1 is known as a source of spam", "reputation.ip_listed", SPAM_SOURCE),
    ("550 Adresse IP rejetée: source de spam connue", "reputation.ip_listed", SPAM_SOURCE),
    ("550 Bekannte Spam-Quelle, Verbindung abgelehnt", "reputation.ip_listed", SPAM_SOURCE),
    ("550 Client host [192.0.2.1] blocked by Validity", "reputation.ip_listed", SENDERSCORE_LIST),
    ("550 SBRS score too low", "reputation.poor", SCORE),
    ("421 Your IP score is below our threshold", "reputation.poor", SCORE),
    ("554 Trust score insufficient, try later", "reputation.poor", SCORE),
    ("421 Gateway not ready, try again later", "server.unavailable", NOT_READY),
    ("451 Relay host is not ready", "server.unavailable", NOT_READY),
    ("550 The recipient address no longer exists", "mailbox.disabled", DISABLED),
    ("550 Recipient address is no longer in service", "mailbox.disabled", DISABLED),
    ("550 Envelope sender does not match the header From", "auth.spoofed", SPOOFED),
    ("550 Mail from example.com is only accepted from its designated servers", "auth.spoofed", SPOOFED),
    ("550 The sender's domain does not meet our authentication requirements", "auth.dmarc", DMARC),
    ("550 Our MX records do not point to this server", "relay.denied", RELAY),
    ("550 Sender <bob@example.org> is locally denylisted", "policy.sender_blocked", SENDER_BLOCKED),
    ("550 Sender address must match your authenticated login", "sender.invalid", NOT_LOGIN),
    ("553 Authenticated user bob may not use the sender address", "sender.invalid", NOT_LOGIN),
    ("550 Bad HELO: host impersonating our server", "helo.invalid", HELO_US),
    ("550 No DNS reverse for your address", "auth.reverse_dns", REVERSE),
    ("550 Reverse DNS record is missing for your IP", "auth.reverse_dns", REVERSE),
    ("451 The message cannot be enqueued at this time", "server.error", PROCESSING),
    ("451 Queueing failed for this message", "server.error", PROCESSING),
    ("451 Failed to initialize the delivery subsystem", "server.error", PROCESSING),
    ("550 No existing recipients in this message", "mailbox.unknown", UNKNOWN),
    ("554 Mail looping, dropped", "routing.loop", LOOP),
    ("554 Boucle détectée", "routing.loop", LOOP),
    ("554 Schleife erkannt", "routing.loop", LOOP),
    ("550 Die E-Mail-Adresse, die Sie eingegeben haben, wurde nicht gefunden", "mailbox.unknown", NDR_PROSE),
    ("550 L'adresse de messagerie que vous avez entrée est introuvable", "mailbox.unknown", NDR_PROSE),
    ("550 No se encontró la dirección de correo electrónico que escribió", "mailbox.unknown", NDR_PROSE),
    ("550 Impossibile trovare l'indirizzo di posta elettronica immesso", "mailbox.unknown", NDR_PROSE),
    ("550 O endereço de email que você inseriu não foi encontrado", "mailbox.unknown", NDR_PROSE),
    ("550 El dominio del destinatario no existe", "domain.not_found", DOMAIN),
    ("550 Il dominio del destinatario non esiste", "domain.not_found", DOMAIN),
    ("535 Échec de l'authentification", "auth.sasl_failed", SASL_LANG),
    ("535 Error de autenticación", "auth.sasl_failed", SASL_LANG),
    ("535 Falha na autenticação", "auth.sasl_failed", SASL_LANG),
    ("535 Fehler bei der Authentifizierung", "auth.sasl_failed", SASL_LANG),
    ("421 Servicio no disponible", "server.unavailable", UNAVAILABLE_LANG),
    ("421 Servizio non disponibile", "server.unavailable", UNAVAILABLE_LANG),
    ("421 Serviço indisponível", "server.unavailable", UNAVAILABLE_LANG),
    ("421 Dienst nicht verfügbar", "server.unavailable", UNAVAILABLE_LANG),
    ("550 Conta desabilitada", "mailbox.disabled", DISABLED_LANG),
    ("550 Buzón deshabilitado", "mailbox.disabled", DISABLED_LANG),
    ("550 Votre message a été rejeté par le destinataire", "policy.rejected", REJECTED_LANG),
    ("550 Ihre Nachricht wurde vom Empfänger abgelehnt", "policy.rejected", REJECTED_LANG),
    ("550 Mensaje rechazado por el destinatario", "policy.rejected", REJECTED_LANG),
    ("550 Only members can post to this list", "policy.rejected", MEMBERS),
    ("550 You are not a member of this list", "policy.rejected", MEMBERS),
    ("550 You are not allowed to send to this distribution group", "policy.rejected", MEMBERS),
    ("550 Posting is restricted to list members", "policy.rejected", MEMBERS),
    ("550 Seuls les membres de la liste peuvent écrire", "policy.rejected", MEMBERS),
    ("550 Kein Mitglied dieser Liste", "policy.rejected", MEMBERS),
    ("550 Recipient's mailbox is over its limit", "mailbox.full", FULL),
    ("552 Inbox is over the storage limit", "mailbox.full", FULL),
    ("550 Sending from this account has been disabled", "policy.sender_blocked", SENDER_BLOCKED_RULE),
    ("554 Your IP address appears on several spam lists", "reputation.ip_listed", LISTED),
    ("550 Your server has been found on multiple spam lists", "reputation.ip_listed", LISTED),
    ("550 Your server has been sending spam", "reputation.poor", BEHAVIOUR),
    ("421 This host is relaying junk mail", "reputation.poor", BEHAVIOUR),
    ("550 Sender isn't a group member", "policy.rejected", MEMBERS),
])
def test_families_decide(text: str, cause: str, rule_id: str) -> None:
    assert _winner(text) == (cause, rule_id)


@pytest.mark.parametrize("text, cause", [
    ("554 Message contains known spam signatures", "content.spam"),
    ("550 Your message was sent to a spam trap address", "content.spam"),
    ("550 This mailbox is a spam trap", "content.spam"),
    ("550 Known spam source domain found in the message body", "reputation.ip_listed"),
    ("550 Rejected: URL in message is a known spam source", "reputation.ip_listed"),
    ("550 Your sender score at Validity is too low", "reputation.poor"),
    ("421 Validity certification required to send bulk mail", "content.spam"),
    ("550 Spam score too high", "content.spam"),
    ("552 Message score too low for delivery, looks like spam", "content.spam"),
    ("550 Your DKIM key length is below our minimum", "auth.dkim"),
    ("503 Not ready for DATA, send RCPT first", "protocol.sequence"),
    ("550 Mailbox not ready, try later", "server.unavailable"),
    ("454 TLS not ready", "tls.failed"),
    ("451 Recipient not ready to receive mail", "server.unavailable"),
    ("550 Domain no longer exists", "mailbox.moved"),
    ("550 The certificate is no longer valid", "mailbox.disabled"),
    ("550 Mail from example.com is only accepted after authentication", "auth.required"),  # r27-replyk: now phr.auth.accepted_only_after_authentication
    ("550 Header From does not match the DKIM signing domain", "auth.dkim"),
    ("530 Client does not meet the required authentication level", "auth.required"),
    ("550 Sender domain fails to meet the SPF requirements", "auth.spf"),
    ("451 Your MX does not point to a valid host", "relay.denied"),
    ("550 Sender domain MX does not point to a mail server", "relay.denied"),
    ("550 sender IP address 192.0.2.1 is locally blacklisted here", "policy.sender_blocked"),  # r30-cvrules: the receiver's own list (dev label)
    ("550 Sender domain example.com is locally blacklisted", "reputation.domain_listed"),
    ("550 Recipient address <bob@example.org> is locally blacklisted", "reputation.ip_listed"),
    ("550 Sender ~ is locally blacklisted", "reputation.ip_listed"),
    ("550 Your HELO must match your hostname", "helo.invalid"),
    ("550 From header must match the DKIM signing domain", "auth.dkim"),
    ("553 User may not use this relay", "relay.denied"),
    ("535 Login must match your username and password", "auth.sasl_failed"),
    ("550 Sender address impersonating our domain", "auth.spoofed"),
    ("554 Message impersonates our CEO, rejected", "auth.spoofed"),
    ("550 HELO contains our IP address literal", "helo.invalid"),
    ("550 No DNS records for sender domain", "sender.invalid"),
    ("550 No DNS A record for your HELO name", "helo.invalid"),
    ("451 DNS reverse lookup timed out", "network.timeout"),
    ("550 Reverse path is missing", "auth.reverse_dns"),
    ("421 Failed to initialize TLS engine", "tls.failed"),
    ("454 TLS not available: failed to load certificate", "tls.failed"),
    ("452 Mail queue full, message could not be queued", "server.error"),
    ("451 Failed to start the DATA phase: need RCPT", "protocol.sequence"),
    ("554 no valid recipients", "protocol.sequence"),
    ("503 No recipients specified", "protocol.sequence"),
    ("550 No correct sender address", "mailbox.unknown"),
    ("550 Loopback address not allowed in HELO", "helo.invalid"),
    ("551 5.4.6 [internal] Private/Loopback Address", "routing.loop"),
    ("421 Connection loop timeout", "session.timed_out_by_remote"),
    ("550 La dirección del destinatario no existe", "mailbox.unknown"),
    ("550 Die Adresse des Empfängers existiert nicht", "mailbox.unknown"),
    ("550 Il destinatario non esiste", "mailbox.unknown"),
    ("550 Die Domäne wurde nicht gefunden", "mailbox.unknown"),
    ("550 Le domaine est introuvable", "domain.not_found"),
    ("530 Authentification requise", "auth.required"),
    ("550 Échec de l'authentification SPF", "auth.spf"),
    ("550 Falha na autenticação DKIM", "auth.dkim"),
    ("550 Postfach nicht verfügbar", "mailbox.unknown"),
    ("550 Empfänger nicht verfügbar", "mailbox.unknown"),
    ("550 Message refusé par le destinataire: boîte pleine", "mailbox.full"),
    ("550 Vom Empfänger abgelehnt: Absender blockiert", "policy.sender_blocked"),
    ("550 Remitente deshabilitado", "policy.rejected"),  # r32: code 550's fallback, was mailbox.unavailable
    ("550 Conta de envio desabilitada por spam", "content.spam"),
    ("550 You are not allowed to send to this recipient", "policy.sender_blocked"),
    ("550 User not a member of domain: <xxxxx@yourdomain.com>", "mailbox.unknown"),
    ("550 Recipient is not a member of this organization", "mailbox.unknown"),
    ("550 Mailing list does not exist", "mailbox.unknown"),
    ("550 Post to the list rejected: message too big", "message.too_big"),
    ("550 Your IP is not a member of the allowed list", "mailbox.unknown"),
    ("550 Account is over its sending limit", "rate.limited"),
    ("550 Message size is over the limit", "message.too_big"),
    ("550 Account has been disabled", "mailbox.disabled"),
    ("550 Sending from this IP has been disabled", "mailbox.disabled"),
    ("550 The recipient account has been disabled", "mailbox.disabled"),
    ("550 Message content found in a spam list", "content.spam"),
    ("550 URL found on several block lists", "reputation.ip_listed"),
    ("550 Your domain appears in a URI block list", "reputation.domain_listed"),
    ("550 Sender domain appears on several block lists", "reputation.domain_listed"),
    ("550 Your account has been sending spam", "content.spam"),
    ("550 Your message looks like spam sent from a compromised server", "content.spam"),
    ("550 Recipient isn't a member of our domain", "mailbox.unknown"),
    ("550 User isn't a member of this organization", "mailbox.unknown"),
    # the lead's probe after the merge: the folds raised two rules over these readings
    ("550 HELO accepted, but sender claims to be us: spoofed From", "auth.spoofed"),
    ("550 Envelope sender ~ is locally blacklisted by Spamhaus DBL", "reputation.domain_listed"),
    ("550 sender envelope address a@example.com is locally blacklisted here.", "policy.sender_blocked"),
])
def test_look_alikes_keep_their_reading(text: str, cause: str) -> None:
    assert cause_of(text) == cause


def test_relaying_from_authorized_hosts_is_a_relay_refusal() -> None:
    # read as a forged sender at 76dcb50; the forged-sender rule now needs the mail's domain as subject
    assert cause_of("550 Relaying only allowed from authorized hosts") == "relay.denied"
