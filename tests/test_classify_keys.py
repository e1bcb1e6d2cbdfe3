"""The classification key is coarse but exact: rows with equal keys classify alike, and the opaque
tokens it (and classify) mask away change no answer."""

from __future__ import annotations

import importlib
import json
import random
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer.class_cache import Classifier, class_key
from analyzer.classify import MASK, MASKED, classify, default_rules, example_frame, mask_texts
from analyzer.rules import load_rules
from analyzer.schema import CLASS_SCHEMA

classify_module = importlib.import_module("analyzer.classify")  # the module (analyzer.classify is also the function)
ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ["reply_class", "outcome", "cause", "provider", "severity", "fix_id", "action"]


def _values(s) -> list:
    """A column's values as a list, None for missing."""
    return [None if v is None or v is pd.NA else v for v in s.astype(object).tolist()]


def _token(rng: random.Random, n: int, alphabet: str) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


#: Session ids that happen to spell what a rule or a provider's signature reads elsewhere.
ADVERSARIAL = ["csiXyZ4kLm+q/8pQ", "comcastAbC1/xy", "OFR_101abcDEF", "IB504xYz", "ETP123abc", "gsmtpAbc9",
               "yandexQ+1"]


def _opaque_rows(ids: list[str] | None = None) -> list[dict]:
    """Replies of the OPAQUE families with varied tokens (random as servers make them; or ``ids``)."""
    rng = random.Random(7)
    b64 = string.ascii_letters + string.digits + "+/"
    ids = ids or [_token(rng, 22, b64) for _ in range(60)]
    queue = [_token(rng, n, "0123456789ABCDEF") for n in (10, 11, 12) for _ in range(15)] + ["DEADBEEF", "CAFE"]
    rows = []
    for status, code in (("sent", 250), ("deferred", 451), ("bounced", 550)):
        for i in ids:
            rows.append({"text": f"{code} 2.0.0 <u@example.org> {i} Saved", "code": code, "event": "delivery",
                         "status": status, "direction": "outbound"})
        for q in queue:
            rows.append({"text": f"{code} 2.0.0 Ok: queued as {q}", "code": code, "event": "delivery",
                         "status": status, "direction": "outbound"})
        for _ in range(40):
            size, secs, rate = rng.randint(300, 90000), rng.random(), rng.random() * 900
            rows.append({"text": f"{code} 2.6.0 <a.b@x.example> [InternalId=123456789, Hostname=AM0PR01MB1234."
                                 f"eurprd01.prod.outlook.com] {size} bytes in {secs:.3f}, {rate:.3f} KB/sec "
                                 f"Queued mail for delivery", "code": code, "event": "delivery", "status": status,
                         "direction": "outbound"})
    return rows


def _corpus_texts() -> list[str]:
    """The shipped rules' examples, the known replies and the dev replies."""
    kb = default_rules()
    texts = [ex.get("text") or "" for r in kb.rules for ex in r.examples]
    with open(ROOT / "analyzer" / "rules" / "known_replies.jsonl", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f if line.strip()]
    dev = ROOT / "bench" / "replies" / "dev.jsonl"
    if dev.exists():
        with open(dev, encoding="utf-8") as f:
            texts += [json.loads(line).get("text") or "" for line in f if line.strip()]
    return texts


def test_opaque_tokens_change_no_answer(monkeypatch):
    """The same rows classified with OPAQUE and without it (MASK only, as before it): every answer
    equal. Fails if a rule, provider signature, code or known reply read a token OPAQUE removes."""
    rows = _opaque_rows()
    frame = example_frame(rows)
    with_opaque = classify(frame, rule_ids=True, attribute_causes=False)
    monkeypatch.setattr(classify_module, "OPAQUE", ())
    without = classify(frame, rule_ids=True, attribute_causes=False)
    for name in [*ANSWERS, "rule_id"]:
        a, b = _values(with_opaque[name]), _values(without[name])
        bad = [(rows[i]["text"], x, y) for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        assert not bad, f"{name}: {bad[:3]}"


def test_an_id_that_spells_a_signature_is_no_signature(monkeypatch):
    """The one change OPAQUE makes (deliberate): a session id that happens to spell a provider's
    name ('comcastAbC1/xy') no longer names that provider; with MASK alone it did. With OPAQUE every
    reply of a family and status answers alike, whatever its id."""
    rows = _opaque_rows(ADVERSARIAL)
    saved = [i for i, r in enumerate(rows) if r["text"].endswith(" Saved")]
    frame = example_frame(rows)
    got = classify(frame, attribute_causes=False)
    for name in ANSWERS:
        values = _values(got[name])
        for status in ("sent", "deferred", "bounced"):
            assert len({values[i] for i in saved if rows[i]["status"] == status}) == 1, name
    monkeypatch.setattr(classify_module, "OPAQUE", ())
    before = _values(classify(frame, attribute_causes=False)["provider"])
    assert {before[i] for i in saved} >= {"comcast", "yandex"}
    assert {v for i, v in enumerate(_values(got["provider"])) if i in saved} == {None}


def test_opaque_masks_the_tokens_and_keeps_the_words():
    got = mask_texts(pa.array([
        "250 2.0.0 <u@example.org> CwKQ92SGjPbZOjBou/U/lp Saved",
        "250 2.6.0 <a@b.example> [InternalId=1, Hostname=h] 2000 bytes in 0.074, 165.734 KB/sec Queued mail for delivery",
        "250 2.0.0 Ok: queued as F83037DEDEA",
        "550 5.1.1 <u@example.org>: Recipient address rejected: User unknown",
    ])).to_pylist()
    assert got[0] == "250 2.0.0 <~> ~ Saved"
    assert "~ bytes in ~, ~ KB/sec Queued mail for delivery" in got[1]
    assert got[2] == "250 2.0.0 Ok: queued as ~"
    assert got[3] == "550 5.1.1 <~>: Recipient address rejected: User unknown"


def test_opaque_leaves_the_reply_corpora_alone():
    """No rule example, known reply or dev reply holds a token OPAQUE masks: the knowledge base
    and the similarity table read exactly what they read before."""
    texts = pa.array(_corpus_texts(), pa.string())
    import pyarrow.compute as pc

    assert mask_texts(texts).equals(pc.replace_substring_regex(texts, MASK, MASKED))


def _key_table() -> pa.Table:
    """Rows that differ in what the key drops (opaque tokens, client host, relay hosts of one
    provider, a detail classify does not read) and in what it keeps."""
    rows = _opaque_rows()[::3]
    relays = ["mx1.example.org", "mx2.example.org", "alt1.gmail-smtp-in.l.google.com", "aspmx.l.google.com",
              "mta5.am0.yahoodns.net", None]
    extra = []
    for i, r in enumerate(rows):
        extra.append({**r, "relay_host": relays[i % len(relays)]})
    for i in range(12):  # detail: read for a 'warning' without reply, not for a disconnect nor beside a reply
        extra.append({"event": "disconnect", "detail": f"ehlo=1 mail=1 rcpt={i} quit=1 commands={i + 3}"})
        extra.append({"event": "warning", "detail": f"hostname h{i}.example does not resolve to address"
                                                    f" {'unknown' if i % 2 else 'mismatch'}"})
        extra.append({"event": "delivery", "status": "sent", "code": 250, "text": "250 ok",
                      "detail": f"note {i} blocked using zen.spamhaus.org"})
    frame = example_frame(extra)
    frame["host"] = [f"client{i}.example" for i in range(len(frame))]
    return pa.Table.from_pandas(frame, preserve_index=False)


def test_rows_with_equal_keys_classify_alike():
    table = _key_table()
    keys = class_key(table)
    answers = classify(table.to_pandas(), attribute_causes=False)
    assert len(np.unique(keys)) < table.num_rows / 2  # the key does drop what it may
    for name in ANSWERS:
        values = _values(answers[name])
        by_key: dict[int, set] = {}
        for k, v in zip(keys.tolist(), values, strict=True):
            by_key.setdefault(k, set()).add(v)
        assert all(len(v) == 1 for v in by_key.values()), name


def test_the_key_keeps_what_classify_reads():
    """A relay host of a provider, a detail that is read, a reply text: each tells rows apart."""
    base = {"event": "delivery", "status": "deferred", "code": 451, "text": "451 4.3.0 try again later"}
    rows = [dict(base, relay_host="mx.example.org"), dict(base, relay_host="aspmx.l.google.com"),
            dict(base, relay_host="mx2.example.org"),
            {"event": "warning", "detail": "a warning"}, {"event": "warning", "detail": "another one"},
            {"event": "disconnect", "detail": "ehlo=1 quit=1"}, {"event": "disconnect", "detail": "ehlo=2 quit=1"}]
    keys = class_key(pa.Table.from_pandas(example_frame(rows), preserve_index=False)).tolist()
    assert keys[0] != keys[1] and keys[0] == keys[2]  # google names a provider; two other hosts name none
    assert keys[3] != keys[4]  # a warning's detail is its reason
    assert keys[5] == keys[6]  # a disconnect's detail is bookkeeping


def test_other_host_signatures_make_their_own_keys():
    """A classifier whose rules name providers by other relay hosts does not trust keys computed with
    the shipped ones (a worker's): its answers equal classify's with its rules."""
    kb = load_rules()
    kb.providers["gmail"] = dict(kb.providers["gmail"], host=r"(^|\.)example\.org$")
    rows = [{"event": "delivery", "status": "deferred", "code": 451, "text": "451 4.3.0 try again later",
             "relay_host": h} for h in ("mx.example.org", "mx.example.net", "aspmx.l.google.com")]
    table = pa.Table.from_pandas(example_frame(rows), preserve_index=False)
    clf = Classifier(kb, attributing=False)
    got = clf(table, class_key(table))  # keys as a worker computes them, with the shipped rules
    want = classify(example_frame(rows), kb, attribute_causes=False)
    assert got.column("provider").to_pylist() == _values(want["provider"])
    assert got.column("provider").to_pylist()[0] == "gmail"


@pytest.mark.parametrize("engine", ["native", "python"])
def test_classifier_cache_equals_classify(monkeypatch, engine):
    """The cached classifier over batches (keys from class_key) gives classify's answers row for row."""
    monkeypatch.setenv("MAILLENS_ENGINE", engine)
    table = _key_table()
    clf = Classifier(attributing=False)
    batches = [table.slice(i, 40) for i in range(0, table.num_rows, 40)]
    got = pa.concat_tables(clf.classify_many(batches, [class_key(b) for b in batches]))
    want = classify(table.to_pandas(), attribute_causes=False)
    for name in [f.name for f in CLASS_SCHEMA if f.name in ANSWERS]:
        assert got.column(name).to_pylist() == _values(want[name])


def test_grouped_keys_classify_as_row_keys():
    """Batches whose rows come grouped by key (Groups, as workers send them), some empty, one
    alone, through a cache small enough to start afresh: the same tables as with the rows' keys."""
    from analyzer.class_cache import Groups

    table = _key_table()
    batches = [table.slice(i, n) for i, n in ((0, 30), (30, 0), (30, 50), (80, table.num_rows))]
    groups = [Groups.from_bytes(Groups.of(class_key(b)).to_bytes()) for b in batches]
    for g, b in zip(groups, batches, strict=True):
        assert len(g) == b.num_rows and (g.rows() == class_key(b)).all()
    for limit in (200_000, 7):
        want = Classifier(attributing=False, limit=limit).classify_many(batches, [class_key(b) for b in batches])
        clf = Classifier(attributing=False, limit=limit)
        got = [*clf.classify_many(batches[:2], groups[:2]), clf(batches[2], groups[2])]
        got += clf.classify_many(batches[3:], groups[3:])
        assert [t.num_rows for t in got] == [b.num_rows for b in batches]
        for g, w in zip(got, want, strict=True):
            assert g.equals(w)
