"""Append a round of newly gathered replies to the development part, pinned to it.

    python bench/replies/add_round.py CANDIDATES.jsonl --round 5

Each candidate line holds ``text``, ``provider``, ``expected_cause``, ``meaning``, ``meaning_by``,
``source``, ``licence`` and optionally ``also_accept``; the cause was assigned from the source's
meaning before the classifier saw the text. The script fills in ``id`` (split.record_id),
``family``, ``direction`` (outbound), ``proposed``, ``split = "dev"`` and ``round``, and drops:

- a candidate whose text is already in the development part;
- a candidate whose id is an id of the held-out part. The held-out file is read for its ids
  only: each line is parsed and everything but ``id`` is thrown away, never printed or compared;
- a second candidate with the same text.

It prints how many were added and how many were dropped for each reason (counts only).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from split import record_id  # noqa: E402

NEEDED = ("text", "provider", "expected_cause", "meaning", "meaning_by", "source", "licence")


def heldout_ids(path: Path) -> set[str]:
    """The ids of the held-out part, and nothing else of it."""
    ids: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                ids.add(json.loads(line)["id"])
    return ids


def build(candidates: list[dict], dev: list[dict], held: set[str], round_no: int,
          known_causes: set[str] | None = None) -> tuple[list[dict], dict[str, int]]:
    """The records to append and the drop counts per reason."""
    dev_ids = {r["id"] for r in dev}
    seen: set[str] = set()
    out, dropped = [], {"in dev": 0, "in held-out": 0, "repeated": 0}
    for c in candidates:
        missing = [k for k in NEEDED if not c.get(k)]
        if missing:
            raise ValueError(f"candidate {c.get('text', '?')[:40]!r} lacks {missing}")
        rid = record_id(c["text"])
        reason = ("in held-out" if rid in held else "in dev" if rid in dev_ids
                  else "repeated" if rid in seen else None)
        if reason:
            dropped[reason] += 1
            continue
        seen.add(rid)
        cause = c["expected_cause"]
        rec = {"id": rid, "text": c["text"], "provider": c["provider"], "direction": "outbound",
               "expected_cause": cause, "family": cause.split(".")[0],
               "proposed": known_causes is not None and cause not in known_causes,
               "meaning": c["meaning"], "meaning_by": c["meaning_by"], "source": c["source"],
               "licence": c["licence"]}
        if c.get("also_accept"):
            rec["also_accept"] = list(c["also_accept"])
        rec["split"] = "dev"
        rec["round"] = round_no
        out.append(rec)
    return out, dropped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("candidates", type=Path)
    ap.add_argument("--round", type=int, required=True)
    ap.add_argument("--dry-run", action="store_true", help="count only, write nothing")
    args = ap.parse_args(argv)
    with open(args.candidates, encoding="utf-8") as f:
        cands = [json.loads(line) for line in f if line.strip()]
    dev_path = HERE / "dev.jsonl"
    with open(dev_path, encoding="utf-8") as f:
        dev = [json.loads(line) for line in f if line.strip()]
    sys.path.insert(0, str(HERE.parent.parent))
    from analyzer.rules._load import load_rules

    known = set(load_rules().causes)
    new, dropped = build(cands, dev, heldout_ids(HERE / "heldout.jsonl"), args.round, known)
    print(f"{len(new)} added; dropped: " + ", ".join(f"{k} {v}" for k, v in dropped.items()))
    if not args.dry_run and new:
        with open(dev_path, "a", encoding="utf-8") as f:
            for r in new:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
