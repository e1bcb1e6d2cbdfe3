"""The providers' languages, second pass (phrasings.toml, "r18-codes: the providers' languages"):
relay denial, rate limits, storage, size, reputation and the Turkish families read by their words
where the reply code alone used to decide (a 552 read as a full mailbox, a 450 as an unavailable
mailbox); the older language families keep their own examples."""

from __future__ import annotations

import pytest

from tests.test_rules_microsoft_codes import _winner  # (cause, deciding rule), rules only


@pytest.mark.parametrize("text, cause", [
    # phrasings other than the rules' examples, one per family and language where it was missing
    ("554 Přeposílání zpráv není povoleno", "relay.denied"),
    ("554 5.7.1 Bu sunucu üzerinden aktarıma izin verilmiyor", "relay.denied"),
    ("421 Gönderim sınırı aşıldı, daha sonra tekrar deneyin", "rate.limited"),
    ("450 4.7.1 Uw verzendlimiet is bereikt", "rate.limited"),
    ("452 4.2.2 La casella del destinatario ha lo spazio esaurito", "mailbox.full"),
    ("452 4.2.2 Destinatário sem espaço disponível na caixa postal", "mailbox.full"),
    ("552 Alıcının depolama alanı dolu", "mailbox.full"),
    ("552 5.3.4 El tamaño del correo supera el máximo permitido", "message.too_big"),
    ("552 La taille du message excède 25 Mo", "message.too_big"),
    ("552 E-posta boyutu sınırı aşmaktadır", "message.too_big"),
    ("550 Het IP-adres heeft een slechte reputatie", "reputation.poor"),
    ("550 Gönderen IP itibarı düşük", "reputation.poor"),
    ("554 Sunucunuz kara listede", "reputation.ip_listed"),
    ("550 Böyle bir hesap yok", "mailbox.unknown"),
    ("550 Posta kutusu askıya alındı", "mailbox.disabled"),
    ("535 Kimlik doğrulaması başarısız", "auth.sasl_failed"),
    ("554 Ekte virüs tespit edildi", "content.virus"),
    ("450 4.7.1 Sunucunuzun ters DNS kaydı yok", "auth.reverse_dns"),
])
def test_language_family_reads_the_reason(text: str, cause: str) -> None:
    got, rule = _winner(text)
    assert got == cause, (text, rule)
    assert not rule.startswith(("code.", "enhanced.", "class.")), (text, rule)


@pytest.mark.parametrize("text, cause", [
    # the size families' subject is the message: a full mailbox keeps its reading
    ("552 La casella di posta è piena", "mailbox.full"),
    # a size limit in the mailbox words stays storage
    ("552 5.2.2 Posta kutusu dolu", "mailbox.full"),
    # a recipient receiving too fast is not the sender's rate limit
    ("450 4.2.1 The user you are trying to contact is receiving mail too quickly", "mailbox.rate_limited"),
])
def test_neighbouring_families_keep_their_reading(text: str, cause: str) -> None:
    assert _winner(text)[0] == cause
