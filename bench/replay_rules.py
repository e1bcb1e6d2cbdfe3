"""Replay every reply round with the rules before it, and say why the older rules went wrong.

Each round gathered after rules existed (``bench/eval_rounds.json``) is classified rules-only
(no known replies) by the rule files of the commit before the round, read with git, with the
code of this checkout: a change to the classifier's code (precedence, evidence, reading of the
text) is judged on replies its rules were not written from. Every miss is put in one class:

``lost``      a phrase rule for a wrong cause won while a phrase rule for the right one matched too
              (which rule lost to which: a precedence question);
``wrong``     a phrase or provider rule for a wrong cause won and none for the right one matched;
``code``      no phrase matched: the enhanced code, the code or its class decided, wrongly;
``none``      no rule matched at all;

and flagged ``lang`` where most of its letters are not ASCII (a language the rules may not
cover) and ``provider`` where the record names the provider that answered and the older rules'
signatures found none. ``--overlay`` lays today's generalise.toml over the older rules (as
``eval_classify.py --cv`` does). Never reads the held-out part.

    python bench/replay_rules.py                 # per round: records, right, misses per class
    python bench/replay_rules.py --list lost     # the misses of one class, with the rules
    python bench/replay_rules.py --json out.json # every miss with its matching rules
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for p in (str(HERE.parent), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import eval_classify as ev  # noqa: E402

CLASSES = ("lost", "wrong", "code", "none")
#: How many matching rules of a miss are followed (winner first).
CHAIN = 6


def _non_ascii(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(not c.isascii() for c in letters) * 2 > len(letters)


def _named(provider: str | None) -> bool:
    """Whether a record names the provider that answered (not an unidentified server)."""
    return bool(provider) and not str(provider).lower().startswith(("unidentified", "unknown"))


class Replayer:
    """Classifies one reply rules-only and records the rule that decided and the provider."""

    def __init__(self) -> None:
        self.classify = importlib.import_module("analyzer.classify")
        from analyzer.explain import UnknownQuery, explain

        self.explain, self.unknown = explain, UnknownQuery
        self.last: dict[str, Any] = {}
        plain = self.classify.classify

        def recording(*a: Any, **k: Any) -> Any:
            out = plain(*a, **k)
            if "rule_id" in out.columns and len(out):
                self.last.update(rule=out["rule_id"].iloc[0], provider=out["provider"].iloc[0])
            return out

        self.classify.classify = recording
        self._plain = plain

    def close(self) -> None:
        self.classify.classify = self._plain

    def one(self, kb: Any, rec: dict) -> tuple[str, str | None, Any]:
        """(cause, id of the rule that decided, provider found)."""
        self.last.clear()
        kwargs: dict[str, Any] = {"rules": kb, "known_replies": False}
        if rec.get("direction"):
            kwargs["direction"] = rec["direction"]
        try:
            cause = str(self.explain(rec["text"], **kwargs)["cause"])
        except self.unknown:
            cause = "unknown"
        rule, provider = self.last.get("rule"), self.last.get("provider")
        return cause, (rule if isinstance(rule, str) else None), (provider if isinstance(provider, str) else None)

    def chain(self, kb: Any, rec: dict) -> list[tuple[str | None, str, str]]:
        """The rules that match ``rec`` in the order they win (each one's id, cause as read,
        evidence), down to the first that reads no phrase and no provider."""
        evidence = self.classify.rule_evidence
        by_id = {r.id: r for r in kb.rules}
        out: list[tuple[str | None, str, str]] = []
        for _ in range(CHAIN):
            cause, rule, _ = self.one(kb, rec)
            kind = evidence(by_id.get(rule)) if rule else "unknown"
            out.append((rule, cause, kind))
            if kind not in ("phrase", "provider"):
                break
            kb = dataclasses.replace(kb, rules=[r for r in kb.rules if r.id != rule])
        return out


def miss_class(rec: dict, chain: list[tuple[str | None, str, str]]) -> str:
    kind = chain[0][2]
    if kind == "unknown":
        return "none"
    if kind not in ("phrase", "provider"):
        return "code"
    if any(k in ("phrase", "provider") and ev.is_correct(rec, c) for _, c, k in chain[1:]):
        return "lost"
    return "wrong"


def replay(overlay: bool = False) -> list[dict]:
    """One row per replayed round: its figures and its misses."""
    dev = ev.load(ev.REPLIES / "dev.jsonl")
    rp = Replayer()
    rows = []
    try:
        for r in ev.rounds():
            kb = ev.rules_at(r["rules_before"], overlay=overlay) if r.get("rules_before") else None
            if kb is None:
                continue
            recs = [x for x in dev if x["id"] in r["ids"]]
            misses, ok = [], 0
            for rec in recs:
                cause, _, provider = rp.one(kb, rec)
                if ev.is_correct(rec, cause):
                    ok += 1
                    continue
                chain = rp.chain(kb, rec)
                flags = (["lang"] if _non_ascii(rec["text"]) else []) + (
                    ["provider"] if _named(rec.get("provider")) and provider is None else [])
                misses.append({"id": rec["id"], "text": rec["text"], "expected": rec["expected_cause"],
                               "got": cause, "class": miss_class(rec, chain), "flags": flags,
                               "chain": [list(c) for c in chain]})
            rows.append({"round": r["round"], "rules_before": r["rules_before"], "n": len(recs), "ok": ok,
                         "misses": misses})
    finally:
        rp.close()
    return rows


def table(rows: list[dict]) -> list[str]:
    out = [f"  {'round':<6} {'rules':<10} {'n':>5} {'right':>6}  " + " ".join(f"{c:>5}" for c in CLASSES)
           + "   lang provider"]
    total: Counter = Counter()
    for r in rows:
        got = Counter(m["class"] for m in r["misses"])
        flags = Counter(f for m in r["misses"] for f in m["flags"])
        total.update(got)
        total.update({"n": r["n"], "ok": r["ok"], **{f"f:{k}": v for k, v in flags.items()}})
        out.append(f"  {r['round']:<6} {r['rules_before']:<10} {r['n']:>5} {r['ok']:>6}  "
                   + " ".join(f"{got[c]:>5}" for c in CLASSES) + f"   {flags['lang']:>4} {flags['provider']:>8}")
    out.append(f"  {'total':<17} {total['n']:>5} {total['ok']:>6}  " + " ".join(f"{total[c]:>5}" for c in CLASSES)
               + f"   {total['f:lang']:>4} {total['f:provider']:>8}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--overlay", action="store_true", help="today's generalise.toml over the older rules")
    ap.add_argument("--list", choices=CLASSES, default=None, help="list the misses of this class")
    ap.add_argument("--json", type=Path, default=None, help="write every miss to this file")
    args = ap.parse_args(argv)
    rows = replay(args.overlay)
    print("\n".join(table(rows)))
    if args.list:
        for r in rows:
            for m in r["misses"]:
                if m["class"] == args.list:
                    rules = " > ".join(f"{i} ({c})" for i, c, _ in m["chain"])
                    print(f"  round {r['round']} {m['id']} expected {m['expected']}: {rules}: {m['text'][:100]}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
