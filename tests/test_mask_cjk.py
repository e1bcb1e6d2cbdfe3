"""The address mask stops at CJK and fullwidth text (#9): Chinese, Japanese and Korean replies write
an address inside the sentence with no space around it, and the sentence's words must stay for
the rules and the known replies to read. Latin-script texts are masked as before the change (the
old pattern is kept here to compare with), by the pyarrow passes and by the native masker alike."""

from __future__ import annotations

import importlib

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import native

classify = importlib.import_module("analyzer.classify")  # (the package's name `classify` is the function)

#: MASK as it was before #9 (419bbd7): its address halves ran over any non-space text.
OLD_MASK = (r"(?i)[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+"
            r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"
            r"|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b"
            r"|\b[a-z0-9]*\d[a-z0-9]*[a-z][a-z0-9]*\d[a-z0-9._-]*"
            r"|\d{6,}")

#: (text, its masked form): the words on both sides of the address stay.
CJK = [
    ("550 收件人user@example.com不存在", "550 收件人~不存在"),
    ("550 5.1.1 邮件列表“staff@lists.example.org“不存在。", "550 5.1.1 邮件列表~不存在。"),
    ("550 「staff@lists.example.org」というリストはありません。", "550 「~」というリストはありません。"),
    ("550 宛先アドレスbob@example.jpは存在しません", "550 宛先アドレス~は存在しません"),
    ("550 사용자user@example.com은(는) 없습니다", "550 사용자~은(는) 없습니다"),
    ("550 信箱a.b+c@mail.example.cn已满，请稍后再试", "550 信箱~已满，请稍后再试"),
    ("554 發件人x@example.tw被拒絕：垃圾郵件", "554 發件人~被拒絕：垃圾郵件"),
    ("550 ｘ＠ｙ．ｃｏｍ：用户不存在", "550 ｘ＠ｙ．ｃｏｍ：用户不存在"),  # a fullwidth '@' is no address
    ("451 𠀀a@b𠀁 again", "451 𠀀~𠀁 again"),  # a supplementary-plane ideograph
    ("550 宛先a@b.jp　は不明です", "550 宛先~　は不明です"),  # the ideographic space
]

#: Latin-script and other non-CJK texts: masked as by the old pattern.
LATIN = [
    "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown",
    "Adresse inconnue: jérôme.dupont@exemple.fr n'existe pas",
    "Empfänger müller@beispiel.de unbekannt",
    "Пользователь ivan@пример.рф не найден",
    "user@exämple.de, other@x.org; third@y.net",
    "mail from a@b@c to x@y.z:25 refused 192.0.2.1 2001:db8::1 a1b2c3 1234567",
    "«jean@exemple.fr» n’existe pas – “quoted@x.org” too",
]


def _pyarrow(texts: list[str], pattern: str) -> list[str]:
    return pc.replace_substring_regex(pa.array(texts, pa.string()), pattern, classify.MASKED).to_pylist()


def _python_engine(texts: list[str], monkeypatch) -> list[str]:
    with monkeypatch.context() as mp:
        mp.setenv("MAILLENS_ENGINE", "python")
        arr = pa.array(texts, pa.string())
        assert classify._masked_natively(arr) is None
        return classify.mask_texts(arr).to_pylist()


def test_cjk_sentences_keep_their_words(monkeypatch):
    texts = [t for t, _ in CJK]
    want = [m for _, m in CJK]
    assert _python_engine(texts, monkeypatch) == want
    assert _pyarrow(texts, OLD_MASK)[:3] == ["550 ~", "550 5.1.1 ~", "550 ~"]  # (what it was: the sentence gone)


@pytest.mark.skipif(native.masker() is None or not hasattr(native._module()[0], "mask_texts"),
                    reason="no native masker")
def test_cjk_sentences_keep_their_words_natively():
    arr = pa.array([t for t, _ in CJK], pa.string())
    assert classify._masked_natively(arr) is not None  # (the native way runs)
    assert classify.mask_texts(arr).to_pylist() == [m for _, m in CJK]
    m = native.masker()
    assert m.by_hand  # the ASCII hand masker stays in use (its MASK const is classify's)
    for text, masked in CJK:
        assert m.mask(text.encode()).decode() == masked


def test_latin_texts_are_masked_as_before(monkeypatch):
    old = _pyarrow(LATIN, OLD_MASK)
    assert _pyarrow(LATIN, classify.MASK) == old
    assert "~" in old[0] and "jérôme" not in old[1] and "ivan" not in old[3]
    assert [t.count("~") for t in _python_engine(LATIN, monkeypatch)] == [t.count("~") for t in old]


_NOT_CJK = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00",
                         max_codepoint=0x10FF)  # Latin, Greek, Cyrillic, Hebrew, Arabic, Indic ... below Hangul Jamo
_PIECE = st.sampled_from(["a@b", "x.y@example.com", "<p@q.r>", "@", "é@ü.de", "'", '"', " ", ":", "“", "”", "«", "1a2"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_PIECE, st.text(alphabet=_NOT_CJK, max_size=5)), max_size=10).map("".join))
def test_any_text_without_cjk_masks_as_before(text):
    assert _pyarrow([text], classify.MASK) == _pyarrow([text], OLD_MASK)


#: CJK letters and punctuation, fullwidth forms, the ideographic space and a supplementary-plane ideograph
CJK_CHARS = "收件人不存在。「」、，：！ｘ＠．あアㄱ가힣豈︰\u3000\U00020000"
_CJK_CHAR = st.sampled_from(list(CJK_CHARS))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_PIECE, _CJK_CHAR, st.text(alphabet="ab.@ ", max_size=4)), max_size=12).map("".join))
def test_no_cjk_character_is_masked_away(text):
    """Whatever the address alternative takes, the CJK and fullwidth characters stay, in order."""
    masked = _pyarrow([text], classify.MASK)[0]

    def cjk(s: str) -> list[str]:
        return [c for c in s if c in CJK_CHARS]

    assert cjk(masked) == cjk(text)


@pytest.mark.parametrize("reply", ["550 邮件列表news@lists.example.cn不存在", "550 郵件列表“team@example.tw”不存在",
                                   "550 收件人a.b@example.cn不存在"])
def test_the_rules_read_the_words_around_the_address(reply):
    """Rules only (no known replies): the sentence's words decide, where the old mask left the code."""
    from analyzer.classify import default_rules
    from analyzer.explain import explain

    kb = default_rules()
    assert explain(reply, rules=kb, known_replies=False)["cause"] == "mailbox.unknown"
    assert explain("550 ~", rules=kb, known_replies=False)["cause"] != "mailbox.unknown"  # (the code alone)
