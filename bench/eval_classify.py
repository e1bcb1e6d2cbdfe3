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
    python bench/eval_classify.py --cv 5              # rules only vs rules + known replies, cross-validated on dev
    python bench/eval_classify.py --part dev --round 5  # only the dev records gathered in round 5

The classifier answers some replies from the table of known replies
(``analyzer/rules/known_replies.jsonl``), which is built from the development part: its dev
figure then says little. ``--cv K`` measures what the table adds honestly: the development
records are split into K folds by source (``--group provider``: by provider), so the replies of
one page never sit on both sides; each fold is scored with a table built from the other folds,
rules only against rules + known replies, per family. It also replays rounds 3 to 7 (the
rules of the commit before the round's records, a table of the earlier rounds;
``bench/eval_rounds.json``), each twice: as those rules were, and with today's
``analyzer/rules/generalise.toml`` laid over them (:data:`OVERLAY`), so a fallback written to
generalise is judged on rounds it was not written from; it scores the round-4 records with today's rules and a table built from
the other records, and ``--sweep`` prints the same figures for other similarity
thresholds: thresholds are chosen from these figures only, never from the held-out part.

A record counts as correct when the classifier's cause is its ``expected_cause`` or one of its
``also_accept`` causes (used only where the knowledge base itself defines two causes for one
meaning). Records whose expected cause is not in the knowledge base yet (proposed in
replies/README.md) count as misses; they are also reported on their own line.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import re
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


def maillens_classifier(known: object = None, kb: object = None) -> Callable[[dict], str]:
    """A function record -> cause, using maillens' explain() as the CLI does for a pasted reply.

    The record's direction is passed on when explain() accepts one (it does not everywhere yet);
    ``known`` is the table of known replies (None: the shipped one; False: rules only), ``kb``
    the knowledge base (None: the shipped one).
    """
    from analyzer.classify import default_rules
    from analyzer.explain import UnknownQuery, explain

    kb = kb or default_rules()
    params = inspect.signature(explain).parameters
    takes_direction = "direction" in params

    def classify_one(rec: dict) -> str:
        kwargs: dict = {"rules": kb}
        if "known_replies" in params:
            kwargs["known_replies"] = known
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


# --------------------------------------------------------------------------------------------
# cross-validation of the known replies (development part only)

ROUNDS = HERE / "eval_rounds.json"
GROUPS = ("source", "provider")


def group_of(rec: dict, by: str) -> str:
    """The group a record's fold follows: its provider, or its source without the commit or
    quoted page and with numbers folded (one bounce corpus, one repository's issues, one page)."""
    if by == "provider":
        return rec.get("provider", "")
    src = re.sub(r"\s*\(.*$", "", rec.get("source", ""))
    return re.sub(r"\d+", "#", src)


def folds(records: list[dict], k: int, by: str) -> list[int]:
    """A fold 0..k-1 per record, by a hash of its group (stable, independent of order)."""
    return [int(hashlib.sha256(group_of(r, by).encode()).hexdigest()[:8], 16) % k for r in records]


@dataclass
class Case:
    """One scored record: the rules' cause and, where the table was asked, what it offered."""

    rec: dict
    rules: str
    offer: tuple | None = None  # (evidence, rule cause, known row, similarity)

    def combined(self, similar_enough: float, near_duplicate: float) -> str:
        from analyzer.similar import overrules

        if self.offer is None:
            return self.rules
        evidence, rule_cause, row, sim = self.offer
        if not overrules(evidence, rule_cause, row, sim, similar_enough=similar_enough,
                         near_duplicate=near_duplicate):
            return self.rules
        return _directed(row["cause"], self.rec)


def _directed(cause: str, rec: dict) -> str:
    from analyzer.classify import default_rules

    return default_rules().cause_for(cause, rec.get("direction"))


def cases_with_table(test: list[dict], train: list[dict], kb: object = None) -> list[Case]:
    """Score ``test`` with the rules, recording what a table built from ``train`` would offer
    (the table is asked as the classifier asks it, and told to decline)."""
    from analyzer.similar import KnownReplies, rows_from_records

    table = KnownReplies(rows_from_records(train))
    offered: list[tuple] = []

    def record(evidence: str, rule_cause: str, row: dict, similarity: float) -> bool:
        offered.append((evidence, rule_cause, row, similarity))
        return False

    table.overrules = record  # type: ignore[method-assign]
    classify_one = maillens_classifier(table, kb)
    out = []
    for rec in test:
        offered.clear()
        got = classify_one(rec)
        out.append(Case(rec, got, offered[-1] if offered else None))
    return out


def real_with_table(test: list[dict], train: list[dict]) -> dict[str, str]:
    """id -> cause with a table built from ``train`` at the shipped thresholds (the real path)."""
    from analyzer.similar import KnownReplies, rows_from_records

    classify_one = maillens_classifier(KnownReplies(rows_from_records(train)))
    return {r["id"]: classify_one(r) for r in test}


def _score_pairs(cases: list[Case], combined: Callable[[Case], str]) -> tuple[Score, Score]:
    rules, both = Score(), Score()
    for c in cases:
        fam = c.rec["expected_cause"].split(".")[0]
        for s, got in ((rules, c.rules), (both, combined(c))):
            s.total[fam] += 1
            if is_correct(c.rec, got):
                s.correct[fam] += 1
            else:
                s.misses.append((c.rec, got))
    return rules, both


def side_by_side(name: str, rules: Score, both: Score) -> list[str]:
    out = [f"{name}: rules only {rules.ok}/{rules.n} = {_pct(rules.ok, rules.n).strip()}, "
           f"rules + known replies {both.ok}/{both.n} = {_pct(both.ok, both.n).strip()}",
           f"  {'family':<12} {'n':>4} {'rules':>6} {'+known':>7} {'rules':>7} {'+known':>7}"]
    for fam in sorted(rules.total):
        n = rules.total[fam]
        out.append(f"  {fam:<12} {n:>4} {rules.correct[fam]:>6} {both.correct[fam]:>7} "
                   f"{_pct(rules.correct[fam], n):>7} {_pct(both.correct[fam], n):>7}")
    return out


def changed(cases: list[Case], combined: Callable[[Case], str]) -> list[str]:
    """The records the table changed: fixed (+) or broken (-), with the known reply used."""
    out = []
    for c in cases:
        got = combined(c)
        if got == c.rules:
            continue
        was, now = is_correct(c.rec, c.rules), is_correct(c.rec, got)
        mark = "+" if now and not was else "-" if was and not now else "~"
        ev, _, row, sim = c.offer
        out.append(f"  {mark} {c.rec['id']} expected {c.rec['expected_cause']}: rules {c.rules} ({ev}) -> "
                   f"{got} (sim {sim:.2f}, {row['id']}): {c.rec['text'][:90]}")
    return out


def rounds() -> list[dict]:
    """The development rounds, oldest first (bench/eval_rounds.json): ids and, where known,
    the commit whose rules had not seen the round."""
    data = json.loads(ROUNDS.read_text(encoding="utf-8"))
    return [{**r, "ids": set(r["ids"])} for r in data["rounds"]]


#: Rule files whose rules are written to generalise (fallbacks, word families from documentation),
#: not from any one round's records: the replay scores each round with the rules before it and
#: with these files of today laid over them, so a change to them is judged on rounds it never saw.
OVERLAY = ("generalise.toml",)


def rules_at(commit: str, overlay: bool = False) -> object:
    """The knowledge base of the rule files at ``commit`` (read with git), with today's code;
    with ``overlay``, today's :data:`OVERLAY` files replace the commit's. None when the clone
    does not have that commit."""
    import subprocess
    import tempfile

    from analyzer.rules import _load

    if subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=HERE.parent,
                      capture_output=True, check=False).returncode != 0:
        return None
    tmp = Path(tempfile.mkdtemp(prefix="maillens-rules-"))
    for name in _load.SHIPPED:
        if overlay and name in OVERLAY:
            (tmp / name).write_bytes((_load.HERE / name).read_bytes())
            continue
        got = subprocess.run(["git", "show", f"{commit}:analyzer/rules/{name}"], cwd=HERE.parent,
                             capture_output=True, check=False)
        (tmp / name).write_bytes(got.stdout if got.returncode == 0 else b"")
    here = _load.HERE
    try:
        _load.HERE = tmp
        return _load.load_rules()
    finally:
        _load.HERE = here


def cross_validate(dev: list[dict], k: int, by: str, sweep: bool, show: bool) -> list[str]:
    """The ``--cv`` report: K-fold by group, then round 4 (and later rounds) held back."""
    from analyzer.similar import NEAR_DUPLICATE, SIMILAR_ENOUGH

    fold = folds(dev, k, by)
    cases: list[Case] = []
    real: dict[str, str] = {}
    for f in range(k):
        test = [r for r, g in zip(dev, fold, strict=True) if g == f]
        train = [r for r, g in zip(dev, fold, strict=True) if g != f]
        cases += cases_with_table(test, train)
        real.update(real_with_table(test, train))
    shipped = lambda c: c.combined(SIMILAR_ENOUGH, NEAR_DUPLICATE)  # noqa: E731
    drift = sum(real[c.rec["id"]] != shipped(c) for c in cases)
    out = side_by_side(f"dev, {k}-fold by {by} (thresholds {SIMILAR_ENOUGH}/{NEAR_DUPLICATE})",
                       *_score_pairs(cases, shipped))
    out.append(f"  (the classifier's own answers with each fold's table differ from the simulated "
               f"decision on {drift} record(s))")
    by_ev = Counter((c.offer[0] if c.offer else "not asked", is_correct(c.rec, c.rules)) for c in cases)
    out.append("  rules' evidence (right/wrong): " + ", ".join(
        f"{ev} {by_ev[(ev, True)]}/{by_ev[(ev, False)]}"
        for ev in sorted({e for e, _ in by_ev})))
    if show:
        out += ["  records the table changed:", *changed(cases, shipped)]
    sweeps = [("cv", cases)]
    history = rounds()
    seen: set[str] = set()
    sets = []
    for r in history:
        if r.get("rules_before"):
            sets.append((f"round {r['round']} replayed: rules of {r['rules_before']}, table from the "
                         f"earlier rounds", r["ids"], set(seen), r["rules_before"]))
            sets.append((f"round {r['round']} replayed with today's {', '.join(OVERLAY)} over the rules "
                         f"of {r['rules_before']}", r["ids"], set(seen), r["rules_before"] + "+"))
        seen |= r["ids"]
    r4 = next(r["ids"] for r in history if r["round"] == "4")
    sets.append(("round 4, table from the other records (today's rules)", r4,
                 {x["id"] for x in dev} - r4, None))
    later = {x["id"] for x in dev} - seen
    if later:
        sets.append(("records added after the last listed round, table from the earlier ones "
                     "(today's rules)", later, seen, None))
    for name, test_ids, train_ids, commit in sets:
        test = [r for r in dev if r["id"] in test_ids]
        train = [r for r in dev if r["id"] in train_ids]
        kb = rules_at(commit.rstrip("+"), overlay=commit.endswith("+")) if commit and test else None
        if not test or (commit and kb is None):
            out += ["", f"{name}: skipped ({'no such records in dev.jsonl' if not test else 'commit not in this clone'})"]
            continue
        part = cases_with_table(test, train, kb)
        out += ["", *side_by_side(name, *_score_pairs(part, shipped))]
        if show:
            out += ["  records the table changed:", *changed(part, shipped)]
        sweeps.append((name.split(",")[0].split(":")[0], part))
    if sweep:
        out += ["", "threshold sweep (similar enough / near duplicate): correct per scored set"]
        names = [n for n, _ in sweeps]
        out.append(f"  {'weak':>5} {'strong':>6}  " + "  ".join(f"{n[:22]:>22}" for n in names))
        base = "  " + " " * 13 + "  ".join(f"{'rules ' + str(_score_pairs(cs, lambda c: c.rules)[0].ok):>22}"
                                             for _, cs in sweeps)
        out.append(base)
        for weak in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 1.01):
            for strong in (0.8, 0.9, 0.95, 1.01):
                row = [_score_pairs(cs, lambda c, w=weak, s=strong: c.combined(w, s))[1].ok
                       for _, cs in sweeps]
                out.append(f"  {weak:>5} {strong:>6}  " + "  ".join(f"{v:>22}" for v in row))
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
    ap.add_argument("--cv", type=int, metavar="K", default=None,
                    help="cross-validate the known replies on the development part in K folds (dev only)")
    ap.add_argument("--group", choices=GROUPS, default="source", help="what --cv folds keep together")
    ap.add_argument("--sweep", action="store_true", help="with --cv: figures for other similarity thresholds")
    ap.add_argument("--changes", action="store_true", help="with --cv: list the records the table changed")
    ap.add_argument("--round", type=int, default=None,
                    help="score only the development records whose 'round' field is this (implies --part dev)")
    args = ap.parse_args(argv)
    if args.round is not None:
        args.part = "dev"

    if args.cv is not None:
        if args.cv < 2:
            print("Error: --cv needs at least 2 folds\nTry: --cv 5", file=sys.stderr)
            return 2
        print("\n".join(cross_validate(load(args.dev), args.cv, args.group, args.sweep, args.changes)))
        return 0

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
