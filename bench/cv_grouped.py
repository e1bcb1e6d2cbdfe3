"""Leave-one-group-out accuracy of the rules and of the rules + known replies on the development replies.

The rules were written from the development replies, so scoring dev with them (even K-fold, as
``bench/cv_known.py`` does for the table) says little about a reply of a provider or page the
rules never saw. Here each group (a source: one page, one corpus, one repository's file; or a
provider) is left out in turn, and with it:

* the rules that only that group supports: a rule is *supported* by the groups of the
  development replies it decides rightly (rules only); a rule every one of whose right answers
  is in the left-out group (a provider's signature, a phrase one page used) is dropped, and the
  group's replies are classified by the rules that are left. Rules no development reply decides
  rightly (written from documentation, paraphrases, other languages) are kept: they were not
  learnt from the group. This is an estimate of what a reply of an unseen provider meets;
* the group's rows of the table of known replies (the table is built from the other groups).

The figure says which decisions fail out of group: per family, per kind of evidence that
decided (phrase, verdict, provider, enhanced, code, class ... as :mod:`analyzer.evidence` names
them) after the drop, per language (mostly non-ASCII letters or not), and whether the dropped
rule read the provider. Never reads the held-out part.

    python bench/cv_grouped.py                      # by source and by provider, totals and breakdowns
    python bench/cv_grouped.py --by provider --misses 40   # with the misses the drop causes
    python bench/cv_grouped.py --variants           # the table's variants (cv_known.VARIANTS) out of group
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import cv_known as cvk  # noqa: E402
import eval_classify as ev  # noqa: E402
from replay_rules import Replayer, _non_ascii  # noqa: E402


def _winners(records: list[dict], kb: Any) -> list[tuple[str, str | None]]:
    """(cause, id of the deciding rule) per record, rules only (cached like cv_known's answers)."""
    path = cvk.CACHE / f"win-{cvk._rules_key('today', records)}.json"
    if kb is None and path.exists():
        return [tuple(x) for x in json.loads(path.read_text(encoding="utf-8"))]
    from analyzer.classify import default_rules

    rp = Replayer()
    try:
        out = [rp.one(kb or default_rules(), r)[:2] for r in records]
    finally:
        rp.close()
    if kb is None:
        cvk.CACHE.mkdir(exist_ok=True)
        path.write_text(json.dumps(out), encoding="utf-8")
    return out


def support(records: list[dict], winners: list[tuple[str, str | None]], by: str) -> dict[str, set[str]]:
    """Rule id -> the groups of the records it decides rightly."""
    out: dict[str, set[str]] = defaultdict(set)
    for rec, (cause, rule) in zip(records, winners, strict=True):
        if rule and ev.is_correct(rec, cause):
            out[rule].add(ev.group_of(rec, by))
    return out


@dataclasses.dataclass
class Outcome:
    rec: dict
    before: str  # rules' cause with every rule
    rule: str | None  # the rule that decided with every rule
    dropped: bool  # the deciding rule was one only the record's group supports
    after: str  # rules' cause with the group's own rules dropped
    evidence: str  # how the rules left decided
    known: str  # rules left + table without the group
    offer: tuple | None = None  # the table's (evidence, rule cause, row, similarity) where asked
    ask: tuple | None = None  # what the classifier asks the table: (evidence, rule cause, text)
    learned: str = ""  # rules left + table + learned fallback (bench/cv_learned.py)


#: Rules read from the registries (RFC 3463 / IANA's enhanced codes, RFC 5321's reply codes and
#: their classes): written from the standards, not learnt from any group, so never dropped.
REGISTRY = ("enhanced.", "code.", "class.")


def grouped(dev: list[dict], by: str, model: Any = None, use_cache: bool = True, k: int = 20) -> list[Outcome]:
    """Every development reply classified with its group left out: the rules only its group
    supports dropped (leave one group out), the table built without its fold of groups (``k``
    folds by group, as ``eval_classify.folds``: one table per fold, not per group)."""
    from analyzer.classify import default_rules
    from analyzer.evidence import rule_evidence, verdict_causes
    from analyzer.similar import KnownReplies

    model = model or KnownReplies
    kb = default_rules()
    wins = _winners(dev, None)
    sup = support(dev, wins, by)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(dev):
        groups[ev.group_of(r, by)].append(i)
    full = cvk.rule_answers(dev, None, "today", use_cache)
    answers: list[Any] = list(full)
    parts: list[tuple[str, Any, bool]] = [("", None, False)] * len(dev)  # (evidence, kb, dropped)
    for g, idx in sorted(groups.items()):
        own = {rid for rid, gs in sup.items() if gs == {g} and not rid.startswith(REGISTRY)}
        gkb = dataclasses.replace(kb, rules=[r for r in kb.rules if r.id not in own]) if own else None
        if gkb is not None:
            key = hashlib.sha256(("|".join(sorted(own))).encode()).hexdigest()[:12]
            test = [dev[i] for i in idx]
            got = cvk.rule_answers(test, gkb, f"drop-{key}", use_cache)
            gwins = _winners(test, gkb) if any(wins[i][1] in own for i in idx) else None
        else:
            got, gwins = [full[i] for i in idx], None
        rules = (gkb or kb).rules
        verdicts = verdict_causes(rules)
        by_id = {r.id: r for r in rules}
        for n, i in enumerate(idx):
            answers[i] = got[n]
            rule = gwins[n][1] if gwins else wins[i][1]
            parts[i] = (rule_evidence(by_id.get(rule) if rule else None, verdicts), gkb, wins[i][1] in own)
    fold = ev.folds(dev, k, by)
    offers: list[tuple | None] = [None] * len(dev)
    for f in range(k):
        train = [r for r, g in zip(dev, fold, strict=True) if g != f]
        table = model(cvk.table_rows(train))
        idx = [i for i, g in enumerate(fold) if g == f and answers[i].ask]
        if not idx:
            continue
        near = table.nearest([answers[i].ask[2] for i in idx])
        for n, i in enumerate(idx):
            j = int(near.index[n])
            if j >= 0 and table.rows[j]["cause"] in kb.causes:
                offers[i] = (answers[i].ask[0], answers[i].ask[1], table.rows[j], float(near.similarity[n]))
    outs = [Outcome(dev[i], wins[i][0], wins[i][1], parts[i][2], answers[i].rules, parts[i][0], answers[i].rules,
                    offers[i], answers[i].ask) for i in range(len(dev))]
    decide(outs, getattr(table, "thresholds", None))
    return outs


def decide(outs: list[Outcome], thresholds: dict[str, float] | None = None) -> None:
    """Each outcome's ``known``: the rules' cause, or the table's offer where it overrules
    (:func:`analyzer.similar.overrules` with ``thresholds``; None: the shipped ones)."""
    from analyzer.classify import default_rules
    from analyzer.similar import overrules

    kb = default_rules()
    for o in outs:
        o.known = o.after
        if o.offer and overrules(*o.offer, thresholds=thresholds):
            o.known = kb.cause_for(o.offer[2]["cause"], o.rec.get("direction"))


def sweep(outs: list[Outcome]) -> list[str]:
    """Right out of group (rules + known) with each kind's threshold moved alone, the rest shipped."""
    from analyzer.similar import NEAR_DUPLICATE, SIMILAR_ENOUGH, THRESHOLDS, WEAK_EVIDENCE

    kinds = sorted({o.offer[0] for o in outs if o.offer})
    grid = (0.0, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)
    lines = [f"  {'evidence':<10} {'asked':>5} {'shipped':>7}  " + " ".join(f"{t:>5}" for t in grid)]
    for kind in kinds:
        shipped = THRESHOLDS.get(kind, SIMILAR_ENOUGH if kind in WEAK_EVIDENCE else NEAR_DUPLICATE)
        row = []
        for t in grid:
            decide(outs, {**THRESHOLDS, kind: t})
            row.append(sum(ev.is_correct(o.rec, o.known) for o in outs))
        asked = sum(1 for o in outs if o.offer and o.offer[0] == kind)
        lines.append(f"  {kind:<10} {asked:>5} {shipped:>7}  " + " ".join(f"{v:>5}" for v in row))
    decide(outs)
    return lines


def _kind(o: Outcome) -> str:
    return o.evidence


def breakdown(outs: list[Outcome], key: Any, title: str) -> list[str]:
    """Per value of ``key``: records, right with every rule, right out of group (rules, + table)."""
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for o in outs:
        acc = rows[key(o)]
        acc[0] += 1
        acc[1] += ev.is_correct(o.rec, o.before)
        acc[2] += ev.is_correct(o.rec, o.after)
        acc[3] += ev.is_correct(o.rec, o.known)
    lines = [f"  {title:<24} {'n':>5} {'all rules':>9} {'out: rules':>10} {'+known':>7}"]
    for k, (n, a, b, c) in sorted(rows.items(), key=lambda kv: -(kv[1][0] - kv[1][3])):
        lines.append(f"  {k:<24} {n:>5} {a:>9} {b:>10} {c:>7}")
    return lines


def summary(outs: list[Outcome], by: str, misses: int = 0) -> list[str]:
    n = len(outs)
    a = sum(ev.is_correct(o.rec, o.before) for o in outs)
    b = sum(ev.is_correct(o.rec, o.after) for o in outs)
    c = sum(ev.is_correct(o.rec, o.known) for o in outs)
    d = sum(o.dropped for o in outs)
    lines = [f"leave one {by} out: {n} records; every rule {a} ({100 * a / n:.1f}%); "
             f"out of group: rules {b} ({100 * b / n:.1f}%), rules + known {c} ({100 * c / n:.1f}%); "
             f"{d} records' deciding rule was their group's own"]
    lines += breakdown(outs, lambda o: o.rec["expected_cause"].split(".")[0], "family")
    lines += breakdown(outs, _kind, "evidence out of group")
    lines += breakdown(outs, lambda o: ("dropped " if o.dropped else "kept ") + (o.rule or "-").split(".")[0],
                       "deciding rule's file")
    lines += breakdown(outs, lambda o: "non-ASCII" if _non_ascii(o.rec["text"]) else "ASCII", "letters")
    lines += breakdown(outs, lambda o: "rounds 1-2" if not o.rec.get("round") and not o.rec.get("split")
                       else "later", "records of")
    if misses:
        lost = [o for o in outs if ev.is_correct(o.rec, o.before) and not ev.is_correct(o.rec, o.known)]
        lines.append(f"  right with every rule, wrong out of group ({len(lost)}; first {misses}):")
        for o in lost[:misses]:
            lines.append(f"    {o.rec['expected_cause']} <- {o.rule} / out: {o.after} ({o.evidence}) "
                         f"+known {o.known}: {o.rec['text'][:110]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev", type=Path, default=ev.REPLIES / "dev.jsonl")
    ap.add_argument("--by", default="source,provider", help="comma-separated: source, provider")
    ap.add_argument("--misses", type=int, default=0, help="list this many records lost out of group")
    ap.add_argument("--variants", action="store_true", help="the table's variants, totals only")
    ap.add_argument("--only", default=None, help="with --variants: comma-separated names")
    ap.add_argument("--sweep", action="store_true", help="the table's threshold per kind of evidence")
    ap.add_argument("--no-cache", action="store_true")
    args = ap.parse_args(argv)
    dev = ev.load(args.dev)
    for by in args.by.split(","):
        if args.variants:
            for name, model in cvk.variants().items():
                if args.only and name not in args.only.split(","):
                    continue
                outs = grouped(dev, by, model, not args.no_cache)
                c = sum(ev.is_correct(o.rec, o.known) for o in outs)
                b = sum(ev.is_correct(o.rec, o.after) for o in outs)
                print(f"{by:<9} {name:<28} rules {b}  + known {c}/{len(outs)}")
            continue
        outs = grouped(dev, by, None, not args.no_cache)
        print("\n".join(summary(outs, by, args.misses)))
        if args.sweep:
            print(f"threshold sweep, leave one {by} out (rules + known right):")
            print("\n".join(sweep(outs)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
