"""Cross-validated accuracy of the rules + known-reply model on the development replies.

The table of known replies (``analyzer/rules/known_replies.jsonl``) is built from the whole
development part, so scoring dev with it says nothing. Here each test set is scored with a table
built (by ``tools/build_known_replies.py``'s own code) from records outside it, beside the rules
alone, and scored as ``bench/eval_classify.py`` scores (``is_correct``). Three schemes:

``kfold``   K folds by source (replies of one page or corpus never on both sides), today's rules:
            the rules were written from these records, so this mostly says what the table breaks.
``rounds``  each round gathered after rules existed (``bench/eval_rounds.json``), classified by
            the rules of the commit before it; the table from the other rounds only.
``mixed``   the same rounds and rules, each round split in two by id: each half is scored with a
            table of the other rounds plus the other half. This is how the held-out part meets the
            shipped model: rules that never saw it, a table that holds replies of the same sources
            (the held-out split is by id, not by source).

The rules' answers do not depend on the table, so they are worked out once per test set and
rule set (``explain`` with a recording stand-in for the table: the rules' cause, their
evidence, and the text the classifier would look up) and kept in a cache; each model variant
then only builds its tables and decides as ``analyzer.classify._known_picks`` decides.

    python bench/cv_known.py                       # the shipped model, per fold and total
    python bench/cv_known.py --variants            # every variant of VARIANTS side by side
    python bench/cv_known.py --variant bigrams     # one variant, with the records it changes

Never reads the held-out part.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import eval_classify as ev  # noqa: E402

from analyzer import similar  # noqa: E402
from analyzer.similar import THRESHOLDS  # noqa: E402
from analyzer.similar import rows_from_records as table_rows  # noqa: E402  (the rows tools/build_known_replies.py writes)

CACHE = Path("/tmp") / "maillens-cv-known"

#: Model variants tried (name -> analyzer.similar.KnownReplies options); "shipped" is the default.
VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": {},
    "r11": {"thresholds": {}, "ids": True},
    "thresholds+ids": {"ids": True},
    "r11-thresholds": {"thresholds": {}},
    "bigrams": {"bigrams": True},
    "stem": {"stem": True},
    "stop": {"stop": True},
    "no-codes": {"codes": False},
    "k3": {"neighbours": 3},
    "k9": {"neighbours": 9},
    "power1": {"power": 1.0},
    "power4": {"power": 4.0},
    "unknown0.1": {"thresholds": {"unknown": 0.1}},
    "code0.2": {"thresholds": {"code": 0.2, "class": 0.2}},
    "enhanced0.4": {"thresholds": {"enhanced": 0.4}},
    "phrase0.8": {"thresholds": {"phrase": 0.8}},
    "phrase0.7": {"thresholds": {"phrase": 0.7}},
    "phrase0.6": {"thresholds": {"phrase": 0.6}},
    "phrase0.5": {"thresholds": {"phrase": 0.5}},
}
_LOW = {"unknown": 0.1, "code": 0.2, "class": 0.2}
_LOW15 = {**_LOW, "code": 0.15, "class": 0.15}
VARIANTS.update({
    "low": {"thresholds": _LOW},
    "low+unknown0": {"thresholds": {**_LOW, "unknown": 0.0}},
    "low+code0.15": {"thresholds": _LOW15},
    "low+code0.1": {"thresholds": {**_LOW, "code": 0.1, "class": 0.1}},
    "low+enhanced0.25": {"thresholds": {**_LOW, "enhanced": 0.25}},
    "low+power4": {"thresholds": _LOW, "power": 4.0},
    "low+power3": {"thresholds": _LOW, "power": 3.0},
    "low+power6": {"thresholds": _LOW, "power": 6.0},
    "low+power4+stem": {"thresholds": _LOW, "power": 4.0, "stem": True},
    "low+power4+k3": {"thresholds": _LOW, "power": 4.0, "neighbours": 3},
    "low+power4+k7": {"thresholds": _LOW, "power": 4.0, "neighbours": 7},
    "low+power4+stem+stop": {"thresholds": _LOW, "power": 4.0, "stem": True, "stop": True},
    "low+power4+phrase0.8": {"thresholds": {**_LOW, "phrase": 0.8}, "power": 4.0},
    "low+code0.15+power6": {"thresholds": _LOW15, "power": 6.0},
    "low+code0.15+stem": {"thresholds": _LOW15, "stem": True},
    "low+code0.15+enhanced0.35": {"thresholds": {**_LOW15, "enhanced": 0.35}},
    "shipped+stem": {"stem": True},
    "shipped+power4": {"power": 4.0},
    "shipped+k7": {"neighbours": 7},
    "shipped+k4": {"neighbours": 4},
    "shipped+phrase0.8": {"thresholds": {**THRESHOLDS, "phrase": 0.8}},
    "shipped+provider0.6": {"thresholds": {**THRESHOLDS, "provider": 0.6}},
    "shipped+bigrams": {"bigrams": True},
    # r14-learn: a phrase rule whose cause the rules also give as a bare verdict (analyzer.evidence)
    "no-verdict": {"thresholds": {k: v for k, v in THRESHOLDS.items() if k != "verdict"}},
    "verdict0.5": {"thresholds": {**THRESHOLDS, "verdict": 0.5}},
    "verdict0.6": {"thresholds": {**THRESHOLDS, "verdict": 0.6}},
    "verdict0.8": {"thresholds": {**THRESHOLDS, "verdict": 0.8}},
})


@dataclass
class Answer:
    """The rules' answer to one record and what the classifier would ask the table."""

    rec: dict
    rules: str
    ask: tuple[str, str, str] | None  # (evidence, rule cause, text as the classifier passes it)


class _Recorder:
    """A table of one known reply that records what the classifier asks and never overrules."""

    def __init__(self, cause: str):
        self.rows = [{"id": "stub", "text": "", "cause": cause, "also_accept": []}]
        self.texts: list[str] = []
        self.asked: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return 1

    def row(self, ident: str) -> dict | None:
        return None

    def nearest(self, texts: list[str], *, normalised: bool = False) -> Any:
        import numpy as np

        from analyzer.similar import Nearest

        self.texts = list(texts)
        return Nearest(np.zeros(len(texts), dtype=np.int64), np.zeros(len(texts)))

    def overrules(self, evidence: str, rule_cause: str, row: dict, similarity: float) -> bool:
        self.asked.append((evidence, rule_cause))
        return False


def _rules_key(kb_name: str, records: list[dict]) -> str:
    h = hashlib.sha256(kb_name.encode())
    for path in sorted((ROOT / "analyzer").rglob("*")):
        if path.suffix in (".py", ".toml") and path.name != "similar.py":
            h.update(path.read_bytes())
    for r in records:
        h.update(r["id"].encode())
    return h.hexdigest()[:16]


def rule_answers(records: list[dict], kb: Any, kb_name: str, use_cache: bool = True) -> list[Answer]:
    """The rules' answers to ``records`` (cached by rules, code and record ids)."""
    import importlib

    classify = importlib.import_module("analyzer.classify")

    path = CACHE / f"{_rules_key(kb_name, records)}.json"
    if use_cache and path.exists():
        got = json.loads(path.read_text(encoding="utf-8"))
        return [Answer(r, g["rules"], tuple(g["ask"]) if g["ask"] else None)
                for r, g in zip(records, got, strict=True)]
    kb_obj = kb or classify.default_rules()
    stub = _Recorder(next(iter(kb_obj.causes)))
    classify_one = ev.maillens_classifier(stub, kb)
    out = []
    for rec in records:
        similar._NEAR.clear()  # the classifier keeps answers per text; the stub must see each text
        stub.texts, stub.asked = [], []
        got = classify_one(rec)
        ask = (*stub.asked[-1], stub.texts[-1]) if stub.asked and stub.texts else None
        out.append(Answer(rec, got, ask))
    CACHE.mkdir(exist_ok=True)
    path.write_text(json.dumps([{"rules": a.rules, "ask": a.ask} for a in out]), encoding="utf-8")
    return out


def decide(answers: list[Answer], train: list[dict], model: Callable[[list[dict]], Any], kb: Any) -> list[str]:
    """Each answer's cause with a table built from ``train`` by ``model`` (as _known_picks decides)."""
    from analyzer.classify import default_rules

    kb = kb or default_rules()
    table = model(table_rows(train))
    asked = [i for i, a in enumerate(answers) if a.ask]
    out = [a.rules for a in answers]
    if not asked or not len(table):
        return out
    near = table.nearest([answers[i].ask[2] for i in asked])
    for k, i in enumerate(asked):
        j = int(near.index[k])
        if j < 0:
            continue
        row = table.rows[j]
        evidence, rule_cause, _ = answers[i].ask
        if row["cause"] in kb.causes and table.overrules(evidence, rule_cause, row, float(near.similarity[k])):
            out[i] = kb.cause_for(row["cause"], answers[i].rec.get("direction"))
    return out


@dataclass
class TestSet:
    name: str
    scheme: str
    answers: list[Answer]
    train: list[dict]
    kb: Any


def test_sets(dev: list[dict], k: int, schemes: tuple[str, ...], use_cache: bool) -> list[TestSet]:
    """The folds of each scheme, with the rules' answers worked out."""
    sets: list[TestSet] = []
    if "kfold" in schemes:
        today = rule_answers(dev, None, "today", use_cache)
        fold = ev.folds(dev, k, "source")
        for f in range(k):
            sets.append(TestSet(f"fold {f}", "kfold", [a for a, g in zip(today, fold, strict=True) if g == f],
                                [r for r, g in zip(dev, fold, strict=True) if g != f], None))
    history = [r for r in ev.rounds() if r.get("rules_before")]
    for r in history if {"rounds", "mixed"} & set(schemes) else ():
        test = [x for x in dev if x["id"] in r["ids"]]
        kb = ev.rules_at(r["rules_before"])
        if not test or kb is None:
            continue
        answers = rule_answers(test, kb, r["rules_before"], use_cache)
        others = [x for x in dev if x["id"] not in r["ids"]]
        if "rounds" in schemes:
            sets.append(TestSet(f"round {r['round']}", "rounds", answers, others, kb))
        if "mixed" in schemes:
            half = [int(a.rec["id"][:8], 16) % 2 for a in answers]
            for h in (0, 1):
                sets.append(TestSet(f"round {r['round']}/{h}", "mixed",
                                    [a for a, g in zip(answers, half, strict=True) if g == h],
                                    others + [a.rec for a, g in zip(answers, half, strict=True) if g != h], kb))
    return sets


def evaluate(sets: list[TestSet], model: Callable[[list[dict]], Any]) -> dict[str, tuple[int, int, int, list]]:
    """Per test set: (records, rules right, model right, changed records)."""
    out = {}
    for s in sets:
        got = decide(s.answers, s.train, model, s.kb)
        rules_ok = sum(ev.is_correct(a.rec, a.rules) for a in s.answers)
        ok = sum(ev.is_correct(a.rec, g) for a, g in zip(s.answers, got, strict=True))
        changes = [(a, g) for a, g in zip(s.answers, got, strict=True) if g != a.rules]
        out[f"{s.scheme}:{s.name}"] = (len(s.answers), rules_ok, ok, changes)
    return out


def totals(res: dict) -> dict[str, tuple[int, int, int]]:
    t: dict[str, list[int]] = {}
    for key, (n, r, k, _) in res.items():
        acc = t.setdefault(key.split(":")[0], [0, 0, 0])
        acc[0] += n
        acc[1] += r
        acc[2] += k
    return {s: (a[0], a[1], a[2]) for s, a in t.items()}


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}%" if n else "-"


def report(res: dict, show_changes: bool) -> list[str]:
    out = [f"  {'test set':<22} {'n':>5} {'rules':>6} {'+known':>7}"]
    for key, (n, r, k, changes) in res.items():
        out.append(f"  {key:<22} {n:>5} {r:>6} {k:>7}")
        if show_changes:
            for a, g in changes:
                was, now = ev.is_correct(a.rec, a.rules), ev.is_correct(a.rec, g)
                mark = "+" if now and not was else "-" if was and not now else "~"
                out.append(f"      {mark} {a.rec['expected_cause']}: {a.rules} ({a.ask[0]}) -> {g}: "
                           f"{a.rec['text'][:100]}")
    for scheme, (n, r, k) in totals(res).items():
        out.append(f"  {scheme:<8} total: rules only {r}/{n} = {_pct(r, n)}, rules + known {k}/{n} = {_pct(k, n)}")
    return out


def variants() -> dict[str, Callable[[list[dict]], Any]]:
    """Model variants: name -> factory(rows) -> table (see analyzer.similar.KnownReplies)."""
    from analyzer.similar import KnownReplies

    return {name: (lambda rows, o=opts: KnownReplies(rows, **o)) for name, opts in VARIANTS.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev", type=Path, default=ev.REPLIES / "dev.jsonl")
    ap.add_argument("-k", type=int, default=5, help="folds of the kfold scheme")
    ap.add_argument("--schemes", default="kfold,rounds,mixed")
    ap.add_argument("--variant", default=None, help="score this variant (VARIANTS) only")
    ap.add_argument("--variants", action="store_true", help="score every variant, totals only")
    ap.add_argument("--only", default=None, help="with --variants: comma-separated names to score")
    ap.add_argument("--changes", action="store_true", help="list the records the table changes")
    ap.add_argument("--no-cache", action="store_true", help="work the rules' answers out again")
    args = ap.parse_args(argv)
    from analyzer.similar import KnownReplies

    sets = test_sets(ev.load(args.dev), args.k, tuple(args.schemes.split(",")), not args.no_cache)
    if args.variants:
        print(f"{'variant':<28} " + "  ".join(f"{s:>22}" for s in args.schemes.split(",")))
        for name, model in variants().items():
            if args.only and name not in args.only.split(","):
                continue
            t = totals(evaluate(sets, model))
            print(f"{name:<28} " + "  ".join(f"{t[s][2]:>5}/{t[s][0]} (rules {t[s][1]:>4})" for s in t))
        return 0
    model = variants()[args.variant] if args.variant else KnownReplies
    print("\n".join(report(evaluate(sets, model), args.changes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
