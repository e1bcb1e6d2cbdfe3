"""Accuracy of maillens' classifier on the reply evaluation set (bench/replies/).

Every record is a real SMTP reply with the cause its source's meaning maps to. Each reply is
classified the way ``maillens explain "<reply>"`` classifies a pasted text, and the script prints
the accuracy per family (the cause id's prefix) and overall, for the development part and the
held-out part separately. Only development misses are listed in detail; held-out misses are
counted per family and never printed, so nobody tunes rules on them.

    python bench/eval_classify.py                     # figures for dev and held-out
    python bench/eval_classify.py --min-heldout 0.95  # exit 1 when held-out accuracy is lower
    python bench/eval_classify.py --json              # the same figures as JSON
    python bench/eval_classify.py --part dev          # the development part only (held-out not run)
    python bench/eval_classify.py --part dev --round 5  # only the dev records gathered in round 5

A record counts as correct when the classifier's cause is its ``expected_cause`` or one of its
``also_accept`` causes (used only where the knowledge base itself defines two causes for one
meaning). Records whose expected cause is not in the knowledge base yet (proposed in
replies/README.md) count as misses; they are also reported on their own line.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(HERE.parent))

REPLIES = HERE / "replies"
PARTS = ("dev", "heldout")


def load(path: Path) -> list[dict]:
    """The records of one JSONL file (blank lines skipped)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def maillens_classifier() -> Callable[[dict], str]:
    """A function record -> cause, using maillens' explain() as the CLI does for a pasted reply.

    The record's direction is passed on when explain() accepts one (it does not everywhere yet).
    """
    from analyzer.classify import default_rules
    from analyzer.explain import UnknownQuery, explain

    kb = default_rules()
    takes_direction = "direction" in inspect.signature(explain).parameters

    def classify_one(rec: dict) -> str:
        kwargs = {"rules": kb}
        if takes_direction and rec.get("direction"):
            kwargs["direction"] = rec["direction"]
        try:
            entry = explain(rec["text"], **kwargs)
        except UnknownQuery:
            return "unknown"
        except Exception as exc:  # a crash on one reply is a miss to report, not the end of the run
            return f"error:{type(exc).__name__}"
        return str(entry["cause"])

    return classify_one


@dataclass
class Score:
    """Counts for one part: per family, overall, and the misses."""

    total: Counter = field(default_factory=Counter)
    correct: Counter = field(default_factory=Counter)
    misses: list[tuple[dict, str]] = field(default_factory=list)
    proposed: int = 0

    @property
    def n(self) -> int:
        return sum(self.total.values())

    @property
    def ok(self) -> int:
        return sum(self.correct.values())

    def accuracy(self, family: str | None = None) -> float:
        n = self.total[family] if family else self.n
        k = self.correct[family] if family else self.ok
        return k / n if n else 0.0


def is_correct(rec: dict, got: str) -> bool:
    """The expected cause (or an accepted one), read in the record's direction where the
    knowledge base has a variant for it (mailbox.unknown inbound is client.recipient_unknown)."""
    from analyzer.classify import default_rules

    accept = [rec["expected_cause"], *rec.get("also_accept", [])]
    kb = default_rules()
    accept += [kb.cause_for(c, rec.get("direction")) for c in accept if c in kb.causes]
    return got in accept


def known_causes() -> set[str] | None:
    """Cause ids of the knowledge base (None when it cannot be loaded)."""
    try:
        from analyzer.classify import default_rules
        return set(default_rules().causes)
    except Exception:
        return None


def score(records: Iterable[dict], classify_one: Callable[[dict], str],
          known: set[str] | None = None) -> Score:
    """Classify each record and count hits per family; ``known`` lets it count expected causes
    the knowledge base does not have yet."""
    s = Score()
    for rec in records:
        fam = rec["expected_cause"].split(".")[0]
        got = classify_one(rec)
        s.total[fam] += 1
        s.proposed += (rec["expected_cause"] not in known) if known is not None else bool(rec.get("proposed"))
        if is_correct(rec, got):
            s.correct[fam] += 1
        else:
            s.misses.append((rec, got))
    return s


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:5.1f}%" if n else "    -"


def table(name: str, s: Score) -> list[str]:
    out = [f"{name}: {s.ok}/{s.n} correct = {_pct(s.ok, s.n).strip()}",
           f"  {'family':<12} {'n':>4} {'ok':>4} {'acc':>7}"]
    for fam in sorted(s.total):
        out.append(f"  {fam:<12} {s.total[fam]:>4} {s.correct[fam]:>4} "
                   f"{_pct(s.correct[fam], s.total[fam]):>7}")
    if s.proposed:
        out.append(f"  ({s.proposed} record(s) expect a cause not in the knowledge base yet; "
                   "they count as misses)")
    return out


def confusion(s: Score) -> list[str]:
    """Every dev miss: expected -> got, with the reply text (dev only)."""
    pairs = Counter((r["expected_cause"], got) for r, got in s.misses)
    out = ["dev confusion (expected -> got: count)"]
    out += [f"  {e} -> {g}: {n}" for (e, g), n in sorted(pairs.items(), key=lambda x: (-x[1], x[0]))]
    out.append("dev misses")
    for r, got in sorted(s.misses, key=lambda x: (x[0]["expected_cause"], x[0]["id"])):
        text = r["text"] if len(r["text"]) <= 160 else r["text"][:157] + "..."
        out.append(f"  {r['id']} [{r['provider']}] expected {r['expected_cause']}, got {got}: {text}")
    return out


def heldout_misses(s: Score) -> list[str]:
    """Held-out misses as counts per family only."""
    per = Counter(r["expected_cause"].split(".")[0] for r, _ in s.misses)
    return ["held-out misses per family (texts not shown): "
            + (", ".join(f"{f} {n}" for f, n in sorted(per.items())) or "none")]


def as_json(scores: dict[str, Score]) -> dict:
    out = {}
    for part, s in scores.items():
        out[part] = {
            "records": s.n, "correct": s.ok, "accuracy": round(s.accuracy(), 4),
            "families": {f: {"records": s.total[f], "correct": s.correct[f],
                             "accuracy": round(s.accuracy(f), 4)} for f in sorted(s.total)},
        }
        if part == "dev":
            out[part]["misses"] = [{"id": r["id"], "expected": r["expected_cause"], "got": g}
                                   for r, g in s.misses]
        else:
            out[part]["misses_per_family"] = dict(Counter(
                r["expected_cause"].split(".")[0] for r, _ in s.misses))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev", type=Path, default=REPLIES / "dev.jsonl", help="development part (JSONL)")
    ap.add_argument("--heldout", type=Path, default=REPLIES / "heldout.jsonl", help="held-out part (JSONL)")
    ap.add_argument("--min-heldout", type=float, default=None,
                    help="exit 1 when held-out accuracy is below this fraction (e.g. 0.95)")
    ap.add_argument("--no-misses", action="store_true", help="do not list the dev misses")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--part", choices=("dev", "heldout", "both"), default="both",
                    help="score one part only (while writing rules: dev, so the held-out part stays unseen)")
    ap.add_argument("--round", type=int, default=None,
                    help="score only the development records whose 'round' field is this (implies --part dev)")
    args = ap.parse_args(argv)
    if args.round is not None:
        args.part = "dev"

    classify_one = maillens_classifier()
    known = known_causes()
    scores = {}
    wanted = PARTS if args.part == "both" else (args.part,)
    for part, path in (("dev", args.dev), ("heldout", args.heldout)):
        if part not in wanted:
            continue
        if not path.exists():
            print(f"Error: {path} not found\nTry: run from a checkout that has bench/replies/", file=sys.stderr)
            return 2
        recs = load(path)
        if args.round is not None:
            recs = [r for r in recs if r.get("round") == args.round]
        scores[part] = score(recs, classify_one, known)

    if args.json:
        print(json.dumps(as_json(scores), indent=2))
    else:
        lines = []
        if "dev" in scores:
            lines += [*table("dev", scores["dev"]), ""]
        if "heldout" in scores:
            lines += [*table("held-out", scores["heldout"]), ""]
        if len(scores) == 2:
            both = Score(total=scores["dev"].total + scores["heldout"].total,
                         correct=scores["dev"].correct + scores["heldout"].correct)
            lines += [f"overall (dev + held-out): {both.ok}/{both.n} = {_pct(both.ok, both.n).strip()}", ""]
        if "heldout" in scores:
            lines += heldout_misses(scores["heldout"])
        if "dev" in scores and not args.no_misses:
            lines += ["", *confusion(scores["dev"])]
        print("\n".join(lines).strip("\n"))
    if args.min_heldout is not None and "heldout" in scores and scores["heldout"].accuracy() < args.min_heldout:
        print(f"held-out accuracy {scores['heldout'].accuracy():.4f} is below {args.min_heldout}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
