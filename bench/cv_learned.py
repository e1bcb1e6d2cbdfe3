"""The learned fallback (``bench/learned_nb.py``) out of group: leave one source / provider out.

Every development reply is first classified as ``bench/cv_grouped.py`` does (the rules only its
group supports dropped, the table of known replies built without its fold); then, where the rules
that are left decided weakly and the table did not overrule them, by a model trained on every
development reply *outside its group* (one model per left-out group: naive Bayes fits by counting,
so leave-one-group-out is cheap). Features, smoothing and per-kind thresholds are chosen here, on
dev only; the held-out part is never read.

    python bench/cv_learned.py                        # shipped settings, by source and by provider
    python bench/cv_learned.py --sweep                # each kind's threshold moved alone
    python bench/cv_learned.py --variants             # features / smoothing variants, totals only
    python bench/cv_learned.py --changes 40           # the records the fallback turns (right <-> wrong)
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import cv_grouped as cvg  # noqa: E402
import eval_classify as ev  # noqa: E402
import learned_nb as learned  # noqa: E402

#: Variants tried (name -> features and smoothing).
VARIANTS: dict[str, dict[str, Any]] = {
    "shipped": {},
    "bigrams": {"features": {"bigrams": True}},
    "no-codes": {"features": {"codes": False}},
    "stem": {"features": {"stem": True}},
    "alpha0.03": {"alpha": 0.03},
    "alpha0.3": {"alpha": 0.3},
    "alpha1": {"alpha": 1.0},
}
KINDS = ("unknown", "context", "class", "code", "enhanced", "verdict", "phrase", "provider")


def offers(outs: list[cvg.Outcome], by: str, alpha: float = learned.ALPHA,
           features: dict[str, bool] | None = None) -> list[tuple[str, float] | None]:
    """Per outcome asked (``ask``): the out-of-group model's (cause, posterior); None elsewhere."""
    from analyzer.similar import normalise, rows_from_records, tokens

    feats = {**learned.FEATURES, **(features or {})}
    dev = [o.rec for o in outs]
    rows = rows_from_records(dev)
    row_group = {r["id"]: ev.group_of(rec, by) for rec in dev for r in [rec]}
    train_toks = [tokens(t, **feats) for t in normalise([r["text"] for r in rows])]
    asked = [i for i, o in enumerate(outs) if o.ask]
    ask_toks = dict(zip(asked, (tokens(t, **feats) for t in normalise([outs[i].ask[2] for i in asked])),
                        strict=True))
    by_group: dict[str, list[int]] = defaultdict(list)
    for i in asked:
        by_group[ev.group_of(outs[i].rec, by)].append(i)
    got: list[tuple[str, float] | None] = [None] * len(outs)
    for g, idx in sorted(by_group.items()):
        keep = [n for n, r in enumerate(rows) if row_group[r["id"]] != g]
        model = learned.fit_tokens([train_toks[n] for n in keep], [rows[n]["cause"] for n in keep],
                                   alpha=alpha, features=feats)
        best, prob = model.posterior([], toks=[ask_toks[i] for i in idx])
        for n, i in enumerate(idx):
            if best[n] >= 0:
                got[i] = (model.causes[best[n]], float(prob[n]))
    return got


def decide(outs: list[cvg.Outcome], got: list[tuple[str, float] | None],
           thresholds: dict[str, float] | None = None) -> None:
    """Each outcome's ``learned``: the table's answer, or the model's where the table kept the
    rule's and the model overrules it (:func:`learned_nb.overrules`)."""
    from analyzer.classify import default_rules

    kb = default_rules()
    limits = learned.THRESHOLDS if thresholds is None else thresholds
    for o, g in zip(outs, got, strict=True):
        o.learned = o.known
        if g is None or o.known != o.after or not o.ask:
            continue
        if learned.overrules(o.ask[0], o.ask[1], g[0], g[1], kb, limits):
            o.learned = kb.cause_for(g[0], o.rec.get("direction"))


def _right(o: cvg.Outcome, attr: str) -> bool:
    return ev.is_correct(o.rec, getattr(o, attr))


def table(outs: list[cvg.Outcome], key: Any, title: str) -> list[str]:
    """Per value of ``key``: records, right out of group by the rules, + known, + learned, and the
    learned step's wrong -> right / right -> wrong."""
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for o in outs:
        acc = rows[key(o)]
        a, b, c = _right(o, "after"), _right(o, "known"), _right(o, "learned")
        acc[0] += 1
        acc[1] += a
        acc[2] += b
        acc[3] += c
        acc[4] += c and not b
        acc[5] += b and not c
    lines = [f"  {title:<22} {'n':>5} {'rules':>6} {'+known':>7} {'+learned':>8} {'gained':>6} {'lost':>5}"]
    for k, (n, a, b, c, w, lost) in sorted(rows.items(), key=lambda kv: -kv[1][0]):
        lines.append(f"  {k:<22} {n:>5} {a:>6} {b:>7} {c:>8} {w:>6} {lost:>5}")
    return lines


def summary(outs: list[cvg.Outcome], by: str, changes: int = 0) -> list[str]:
    n = len(outs)
    a, b, c = (sum(_right(o, x) for o in outs) for x in ("after", "known", "learned"))
    lines = [f"leave one {by} out: {n} records; rules {a} ({100 * a / n:.1f}%), + known {b} ({100 * b / n:.1f}%), "
             f"+ learned {c} ({100 * c / n:.1f}%)"]
    lines += table(outs, lambda o: o.ask[0] if o.ask else "(not asked)", "evidence (asked)")
    lines += table(outs, lambda o: o.rec["expected_cause"].split(".")[0], "family")
    lines += table(outs, lambda o: "rounds 1-2" if not o.rec.get("round") and not o.rec.get("split") else "later",
                   "records of")
    if changes:
        moved = [o for o in outs if _right(o, "known") != _right(o, "learned")]
        lines.append(f"  changed by the learned step ({len(moved)}; first {changes}):")
        for o in moved[:changes]:
            sign = "+" if _right(o, "learned") else "-"
            lines.append(f"    {sign} {o.rec['expected_cause']}: {o.ask[0]} {o.known} -> {o.learned}: "
                         f"{o.rec['text'][:100]}")
    return lines


def sweep(outs: list[cvg.Outcome], got: list[tuple[str, float] | None]) -> list[str]:
    """Right out of group with each kind's threshold moved alone (the rest shipped)."""
    grid = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 1.01)
    lines = [f"  {'evidence':<10} {'asked':>5}  " + " ".join(f"{t:>6}" for t in grid)]
    for kind in KINDS:
        asked = sum(1 for o in outs if o.ask and o.ask[0] == kind)
        if not asked:
            continue
        row = []
        for t in grid:
            decide(outs, got, {**learned.THRESHOLDS, kind: t})
            row.append(sum(_right(o, "learned") for o in outs))
        lines.append(f"  {kind:<10} {asked:>5}  " + " ".join(f"{v:>6}" for v in row))
    decide(outs, got)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev", type=Path, default=ev.REPLIES / "dev.jsonl")
    ap.add_argument("--by", default="source,provider", help="comma-separated: source, provider")
    ap.add_argument("--sweep", action="store_true", help="each kind's threshold moved alone")
    ap.add_argument("--variants", action="store_true", help="features / smoothing variants (with --sweep: each)")
    ap.add_argument("--changes", type=int, default=0, help="list this many records the fallback turns")
    args = ap.parse_args(argv)
    dev = ev.load(args.dev)
    for by in args.by.split(","):
        outs = cvg.grouped(dev, by)
        for name, opts in (VARIANTS.items() if args.variants else [("shipped", {})]):
            got = offers(outs, by, **opts)
            decide(outs, got)
            if args.variants:
                a, b, c = (sum(_right(o, x) for o in outs) for x in ("after", "known", "learned"))
                print(f"{by:<9} {name:<12} rules {a}  + known {b}  + learned {c}/{len(outs)}")
                if args.sweep:
                    print("\n".join(sweep(outs, got)))
                continue
            print("\n".join(summary(outs, by, args.changes)))
            if args.sweep:
                print(f"threshold sweep, leave one {by} out (+ learned right):")
                print("\n".join(sweep(outs, got)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
