"""The known-replies matcher (analyzer/similar.py) and the shipped table it reads."""

from __future__ import annotations

import json
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from analyzer.similar import (
    INDEX,
    MAX_CHARS,
    NEAR_DUPLICATE,
    SIMILAR_ENOUGH,
    TABLE,
    THRESHOLDS,
    KnownReplies,
    default_known_replies,
    index_text,
    normalise,
    overrules,
    read_index,
    rows_from_records,
    tokens,
)

ROOT = Path(__file__).resolve().parent.parent


def row(ident: str, text: str, cause: str, **more) -> dict:
    return {"id": ident, "text": text, "cause": cause, "also_accept": [], "provider": "p",
            "source": "s", "licence": "MIT", **more}


TABLE_ROWS = [
    row("a", "550 5.1.1 <someone@example.org>: Recipient address rejected: User unknown in local "
        "recipient table", "mailbox.unknown"),
    row("b", "552 5.2.2 Mailbox full, try again later", "mailbox.full"),
    row("c", "554 5.7.1 Service unavailable; Client host [192.0.2.4] blocked using zen.spamhaus.org",
        "reputation.ip_listed"),
    row("d", "550 用户不存在或者已经被禁用", "mailbox.unknown"),
    row("e", "553 发信人在黑名单中", "policy.sender_blocked"),
]


def test_near_duplicate_is_found_across_addresses_ips_and_wrapper():
    """The same reply with another address, IP and Postfix's wrapper is the nearest, near 1."""
    table = KnownReplies(TABLE_ROWS)
    got = table.nearest([
        "host mx.example.net[198.51.100.9] said: 550 5.1.1 <bob@corp.example>: Recipient address "
        "rejected: User unknown in local recipient table (in reply to RCPT TO command)",
        "554 5.7.1 Service unavailable; Client host [203.0.113.77] blocked using zen.spamhaus.org",
    ])
    assert [table.rows[i]["id"] for i in got.index] == ["a", "c"]
    assert (got.similarity >= NEAR_DUPLICATE).all()


def test_unrelated_text_is_not_similar_enough():
    """A reply sharing no words with the table has no neighbour; one sharing only a code is far."""
    table = KnownReplies(TABLE_ROWS)
    got = table.nearest(["the quick brown fox jumps over the lazy dog",
                         "550 your message smells of elderberries and hamsters"])
    assert got.index[0] == -1 and got.similarity[0] == 0
    assert got.similarity[1] < SIMILAR_ENOUGH


def test_cjk_replies_are_read_as_character_pairs():
    """Chinese text (no spaces) matches by character pairs: the same reply is found, another is not."""
    assert "用户" in tokens("550 用户不存在")
    table = KnownReplies(TABLE_ROWS)
    got = table.nearest(["550 用户不存在或者已经被禁用 (mail id 12345)", "553 发信人在黑名单中"])
    assert [table.rows[i]["id"] for i in got.index] == ["d", "e"]
    assert got.similarity[0] >= SIMILAR_ENOUGH


def test_work_is_bounded_on_a_huge_reply():
    """A reply of megabytes is read up to MAX_CHARS: tokens and normalised text stay bounded."""
    huge = "550 5.1.1 user unknown " + "blah " * 2_000_000
    assert len(normalise([huge])[0]) <= MAX_CHARS
    assert len(tokens(huge)) <= MAX_CHARS
    got = KnownReplies(TABLE_ROWS).nearest([huge])
    assert got.index[0] >= 0  # still answered


def test_overrules_by_evidence():
    """A weak rule gives way at SIMILAR_ENOUGH (a code-only rule or none: at its own, lower
    THRESHOLDS), a phrase rule only to a near-duplicate, and never where the rule already says one
    of the known reply's causes."""
    r = row("x", "text", "mailbox.full", also_accept=["mailbox.rate_limited"])
    assert overrules("enhanced", "mailbox.unavailable", r, SIMILAR_ENOUGH)
    assert not overrules("enhanced", "mailbox.unavailable", r, SIMILAR_ENOUGH - 0.01)
    assert overrules("code", "mailbox.unavailable", r, THRESHOLDS["code"])
    assert not overrules("code", "mailbox.unavailable", r, THRESHOLDS["code"] - 0.01)
    assert THRESHOLDS["code"] < SIMILAR_ENOUGH and THRESHOLDS["unknown"] < SIMILAR_ENOUGH
    assert not overrules("code", "mailbox.unavailable", r, SIMILAR_ENOUGH - 0.01, thresholds={})
    assert not overrules("phrase", "mailbox.unknown", r, SIMILAR_ENOUGH)
    assert overrules("phrase", "mailbox.unknown", r, NEAR_DUPLICATE)
    assert not overrules("code", "mailbox.rate_limited", r, 1.0)


def test_ids_are_no_words():
    """Letters glued to digits (a queue id) or to a mask's '~' give no tokens: an id the masks
    miss changes no similarity; words joined by '_' and CJK runs are still read."""
    masked, unmasked = normalise(["550 2.0.0 Ok: queued as ~", "550 2.0.0 Ok: queued as AF6666259BBC"])
    assert tokens(masked) == tokens(unmasked) == ["#550", "#5xx", "=2.0.0", "=2.0", "ok", "queued", "as"]
    assert "bbc" in tokens(unmasked, ids=True)
    assert tokens("foo_bar 邮箱 x1y") == ["邮箱", "foo", "bar"]


def test_rows_from_records_keep_outbound_replies_sorted():
    """Only outbound records become known replies, sorted by id, with their attribution."""
    recs = [{"id": "2", "text": "t2", "expected_cause": "c", "direction": "outbound", "provider": "P",
             "source": "S", "licence": "L"},
            {"id": "1", "text": "t1", "expected_cause": "c", "direction": "outbound"},
            {"id": "3", "text": "t3", "expected_cause": "c", "direction": "inbound"}]
    got = rows_from_records(recs)
    assert [r["id"] for r in got] == ["1", "2"]
    assert got[1] == {"id": "2", "text": "t2", "cause": "c", "also_accept": [], "provider": "P",
                    "source": "S", "licence": "L"}


def test_shipped_table_is_in_sync_with_the_development_replies():
    """analyzer/rules/known_replies.jsonl is what tools/build_known_replies.py writes from
    bench/replies/dev.jsonl (after adding dev records: python tools/build_known_replies.py)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_known_replies as build
    finally:
        sys.path.remove(str(ROOT / "tools"))
    expected = build.render(build.load(ROOT / "bench" / "replies" / "dev.jsonl"))
    assert TABLE.read_text(encoding="utf-8") == expected, \
        "known_replies.jsonl is out of date: run python tools/build_known_replies.py"


def test_shipped_table_is_package_data_of_development_replies_only():
    """pyproject ships the table; its ids are development ids only."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["analyzer"]
    assert any(fnmatch("rules/known_replies.jsonl", g) for g in globs)
    with open(ROOT / "bench" / "replies" / "dev.jsonl", encoding="utf-8") as f:
        dev_ids = {json.loads(line)["id"] for line in f if line.strip()}
    shipped = default_known_replies()
    assert len(shipped) > 1000 and {r["id"] for r in shipped.rows} <= dev_ids


def test_shipped_index_is_in_sync_with_the_table():
    """analyzer/rules/known_replies.index.json is what tools/build_known_replies.py computes from
    the table with today's masking and tokens (after changing either: python tools/build_known_replies.py)."""
    assert INDEX.read_text(encoding="utf-8") == index_text(TABLE.read_bytes()), \
        "known_replies.index.json is out of date: run python tools/build_known_replies.py"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert any(fnmatch("rules/known_replies.index.json", g)
               for g in pyproject["tool"]["setuptools"]["package-data"]["analyzer"])


def test_indexed_table_loads_as_the_table_indexed_afresh():
    """The shipped table read with its index answers as the table indexed from its rows."""
    loaded = KnownReplies.load()
    assert read_index(INDEX, TABLE.read_bytes()) is not None  # the index was used
    built = KnownReplies(loaded.rows)
    assert loaded.vocab == built.vocab
    for name in ("idf", "indptr", "post_rows", "post_vals"):
        a, b = getattr(loaded, name), getattr(built, name)
        assert a.dtype == b.dtype and (a == b).all(), name
    texts = [r["text"] for r in loaded.rows[::97]] + ["550 5.1.1 user unknown", "421 try later", None, ""]
    x, y = loaded.nearest(texts), built.nearest(texts)
    assert (x.index == y.index).all() and (x.similarity == y.similarity).all()


def test_stale_or_broken_index_is_not_read(tmp_path):
    """An index computed from other bytes (the table edited, not rebuilt), or a damaged one, is
    ignored: the table is indexed afresh and answers as without an index."""
    table = tmp_path / "known.jsonl"
    rows = [row("a", "550 5.1.1 <x@y.example>: user unknown", "bad_recipient"),
            row("b", "421 4.7.0 too many connections, slow down", "rate_limited")]
    table.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    index = tmp_path / "known.index.json"
    index.write_text(index_text(table.read_bytes()), encoding="utf-8")
    assert read_index(index, table.read_bytes()) is not None
    fresh = KnownReplies.load(table, index)
    assert fresh.vocab == KnownReplies(rows).vocab
    rows[1]["text"] = "452 4.2.2 mailbox full"
    table.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert read_index(index, table.read_bytes()) is None
    stale = KnownReplies.load(table, index)
    assert stale.vocab == KnownReplies(rows).vocab and "full" in stale.vocab
    assert stale.nearest(["452 mailbox full"]).index[0] == 1
    for damaged in ("", "{", "[1]", index_text(table.read_bytes()).replace('"post_vals": "', '"post_vals": "AAAA')):
        index.write_text(damaged, encoding="utf-8")
        assert read_index(index, table.read_bytes()) is None


def test_query_weights_of_a_batch_are_each_querys_own():
    """nearest() weighs a chunk of queries at once: the same weights, bit for bit, as one query
    at a time (:meth:`KnownReplies._weights`), tokens no known reply holds counted in the length only."""
    known = default_known_replies()
    texts = normalise([r["text"] for r in known.rows[::151]]
                      + ["550 5.1.1 zzqx unknown unknown user", "", None, "452 4.2.2 mailbox full full full"])
    qi, tok, wt = known._query_weights(texts)
    for q, text in enumerate(texts):
        own = known._weights(known._tokens(text or ""))
        at = qi == q
        assert dict(zip(tok[at].tolist(), wt[at].tolist(), strict=True)) == own
        assert list(own) == tok[at].tolist()  # in the same order: the scores add up alike


def test_build_writes_table_and_index_and_checks_both(tmp_path, capsys):
    """tools/build_known_replies.py writes the table and its index in one run; --check fails when
    either one differs from what it would write."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import build_known_replies as build
    finally:
        sys.path.remove(str(ROOT / "tools"))
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(json.dumps({"id": f"r{i}", "text": t, "expected_cause": c, "direction": "outbound"}) + "\n"
                           for i, (t, c) in enumerate([("550 5.1.1 user unknown", "bad_recipient"),
                                                       ("452 4.2.2 mailbox full", "mailbox_full")])))
    table, index = tmp_path / "known.jsonl", tmp_path / "known_replies.index.json"
    assert build.main(["--dev", str(dev), "--out", str(table)]) == 0
    assert read_index(index, table.read_bytes()) is not None
    assert KnownReplies.load(table, index).nearest(["550 user unknown"]).index[0] == 0
    assert build.main(["--dev", str(dev), "--out", str(table), "--check"]) == 0
    index.write_text(index.read_text().replace('"version": 1', '"version": 0'))
    assert build.main(["--dev", str(dev), "--out", str(table), "--check"]) == 1
    assert "known_replies.index.json" in capsys.readouterr().err


def test_rows_read_when_first_asked_are_the_tables_rows():
    """With its index, the shipped table's rows are read from their lines when first asked for:
    the same rows, in the same order, as reading every line."""
    from analyzer.similar import _Rows, _table_rows

    raw = TABLE.read_bytes()
    want = _table_rows(raw)
    loaded = KnownReplies.load()
    assert isinstance(loaded.rows, _Rows) and len(loaded) == len(want)
    assert loaded.rows[7] == want[7] and loaded.rows[-1] == want[-1] and loaded.rows[3:40:9] == want[3:40:9]
    assert list(loaded.rows) == want
    some = want[len(want) // 2]
    assert KnownReplies.load().row(some["id"]) == some and loaded.row("no such id") is None
    lazy = _Rows(b'\n{"id": "a", "text": "x"}\n  \n{"id": "b", "text": "y\\u2028z"}\r\n')
    assert len(lazy) == 2 and lazy[1]["text"] == "y\u2028z" and lazy[0]["id"] == "a"


def test_table_rows_keep_unescaped_line_separators_inside_a_reply():
    """The table is written with ``ensure_ascii=False``: a reply's U+2028 or NEL stands raw in its
    line, and both readers (every row, or each when first asked for) keep it inside the row."""
    import json

    from analyzer.similar import _Rows, _table_rows

    rows = [{"id": "a", "text": "one\u2028two"}, {"id": "b", "text": "three\x85four"}]
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    assert _table_rows(raw) == rows
    assert list(_Rows(raw)) == rows
