"""The quoted replies walked in the same call as the whole texts (analyzer/quoted.py, r32-rcpu)
give each combination the rule that two walks give: the whole texts' walk, then the quoted
replies' walk, the earlier rule of the two in the rules' order (score, then index)."""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from analyzer import quoted
from analyzer.reader import parse_lines

classify_mod = importlib.import_module("analyzer.classify")  # (the package's name `classify` is the function)

DEV = Path(__file__).resolve().parent.parent / "bench" / "replies" / "dev.jsonl"


def _two_walks(kb, match, u, v, texts):
    """The reference: the whole texts walked, then the combinations that quote a reply walked
    again over the quoted replies alone; the ranks sorted here from the rules' scores."""
    import pyarrow as pa

    best = match(kb, u, v, texts)
    got = [quoted.quoted_reply(t) for t in texts.to_pylist()]
    has = np.array([False] + [q is not None for q in got])
    rows = np.flatnonzero(has[u["text"]])
    if not len(rows):
        return best
    kept = [q for q in got if q is not None]
    at = np.zeros(len(got) + 1, dtype=np.int64)
    at[np.flatnonzero(has)] = np.arange(1, len(kept) + 1)
    sub = {key: col[rows] for key, col in u.items()}
    sub["text"] = at[sub["text"]]
    again = match(kb, sub, v, pa.array(kept, pa.string()))
    order = sorted(range(len(kb.rules)), key=lambda i: (-kb.rules[i].score, i))
    rank = {r: n for n, r in enumerate(order)}
    rank[-1] = len(order)
    out = best.copy()
    for j, r in enumerate(rows):
        if rank[int(again[j])] < rank[int(out[r])]:
            out[r] = again[j]
    return out


def _lines(n: int) -> list[str]:
    texts = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines()[:n]]
    texts = [t for t in texts if "\n" not in t]
    out = []
    for i, t in enumerate(texts):
        status = ("bounced", "deferred")[i % 2]
        out.append(f"Dec  7 09:00:{i % 60:02d} mx postfix/smtp[123]: 4F1A2B{i:04X}: to=<u{i}@example.com>, "
                   f"relay=mx.example.net[192.0.2.1]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.0.0, "
                   f"status={status} (host mx.example.net[192.0.2.1] said: {t} (in reply to RCPT TO command))")
        out.append(f"2026-12-07 09:00:{i % 60:02d} 1vAbCd-{i:06d}-1x ** u{i}@example.com R=dnslookup "
                   f"T=remote_smtp H=mx.example.net [192.0.2.1]: SMTP error from remote mail server after "
                   f"RCPT TO:<u{i}@example.com>: {t}")
        out.append(f"Dec  7 09:01:{i % 60:02d} mx postfix/smtpd[77]: NOQUEUE: reject: RCPT from "
                   f"c.example[198.51.100.{i % 250}]: {t}; from=<a@b.example> to=<u{i}@example.com> "
                   f"proto=ESMTP helo=<c.example>")
    return out


@pytest.fixture(scope="module")
def events():
    return parse_lines(_lines(400)).events


def test_one_walk_gives_the_two_walks_rules(events, monkeypatch):
    kb = classify_mod.default_rules()
    got = classify_mod.classify(events, kb, attribute_causes=False, rule_ids=True, known_replies=False)
    monkeypatch.setattr(classify_mod, "best_with_quoted", _two_walks)
    want = classify_mod.classify(events, kb, attribute_causes=False, rule_ids=True, known_replies=False)
    assert list(got["rule_id"]) == list(want["rule_id"])
    assert list(got["cause"]) == list(want["cause"])
    # the case at hand occurs: some rows' rule comes from their quoted reply
    monkeypatch.setattr(classify_mod, "best_with_quoted", lambda kb, match, u, v, texts: match(kb, u, v, texts))
    whole = classify_mod.classify(events, kb, attribute_causes=False, rule_ids=True, known_replies=False)
    assert list(whole["rule_id"]) != list(got["rule_id"])


def test_no_quote_is_one_plain_walk():
    import pyarrow as pa

    kb = classify_mod.default_rules()
    calls = []

    def match(kb, u, v, texts):
        calls.append(len(texts))
        return np.full(len(u["text"]), -1, dtype=np.int64)

    u = {"text": np.array([1, 2, 0]), "event": np.zeros(3, np.int64)}
    got = quoted.best_with_quoted(kb, match, u, {}, pa.array(["550 no such user", "421 busy"]))
    assert calls == [2] and list(got) == [-1, -1, -1]


def test_ranks_follow_the_scores_and_a_new_rule_list():
    kb = classify_mod.default_rules()
    rank = quoted._ranks(kb)
    order = sorted(range(len(kb.rules)), key=lambda i: (-kb.rules[i].score, i))
    assert list(np.argsort(rank[:-1], kind="stable")) == order
    assert rank[-1] == len(kb.rules) and quoted._ranks(kb) is rank  # once per rule list
    import dataclasses

    fewer = dataclasses.replace(kb, rules=list(reversed(kb.rules[:50])))
    r2 = quoted._ranks(fewer)
    assert len(r2) == 51 and list(np.argsort(r2[:-1], kind="stable")) == sorted(
        range(50), key=lambda i: (-fewer.rules[i].score, i))
