"""How the reply set is split into a development and a held-out part.

A record's id is the first 12 hex digits of the SHA-256 of its reply text. A record is held
out when the first 8 of those digits, read as a number, give a remainder below 40 when divided
by 100 (about 40%). Then, for every expected cause with two or more records that all fell on
one side, the record with the smallest id moves to the other side, so each such cause (and so
each family) is found in both parts. The split depends only on the texts and their causes:
adding records never moves an existing one unless its cause had no record on the other side.

Records gathered after the held-out part had been scored (rounds 3, 4 and 5) carry ``"split": "dev"``:
they were collected to develop rules, so they are pinned to the development part and take no
part in the rule above. The held-out part stays exactly what it was when it was first scored.

    python bench/replies/split.py   # check that dev.jsonl and heldout.jsonl follow this rule
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
HELDOUT_SHARE = 40


def record_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def assign(records: list[dict]) -> dict[str, str]:
    """id -> 'dev' or 'heldout' for every record (records pinned with ``split = "dev"`` -> dev)."""
    pinned = {r["id"] for r in records if r.get("split") == "dev"}
    records = [r for r in records if r["id"] not in pinned]
    side = {r["id"]: ("heldout" if int(r["id"][:8], 16) % 100 < HELDOUT_SHARE else "dev")
            for r in records}
    by_cause: dict[str, list[str]] = defaultdict(list)
    for r in records:
        by_cause[r["expected_cause"]].append(r["id"])
    for ids in by_cause.values():
        if len(ids) >= 2 and len({side[i] for i in ids}) == 1:
            first = min(ids)
            side[first] = "dev" if side[first] == "heldout" else "heldout"
    return side | {i: "dev" for i in pinned}


def load(part: str) -> list[dict]:
    with open(HERE / f"{part}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def mismatches() -> list[str]:
    """Records whose file disagrees with :func:`assign` (empty when the files follow the rule)."""
    parts = {p: load(p) for p in ("dev", "heldout")}
    everything = parts["dev"] + parts["heldout"]
    want = assign(everything)
    return [f"{r['id']} is in {p}, the rule says {want[r['id']]}"
            for p, rs in parts.items() for r in rs if want[r["id"]] != p]


if __name__ == "__main__":
    bad = mismatches()
    print("\n".join(bad) or "dev.jsonl and heldout.jsonl follow the split rule")
    sys.exit(1 if bad else 0)
