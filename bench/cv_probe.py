"""cv_grouped (leave one source out) split into a probe quarter of the development sources and the rest.

The probe quarter is the sources whose group name (``eval_classify.group_of(rec, "source")``)
hashes to 0 modulo 4 (SHA-256, first 8 hex digits); ``--write`` lists them in
``bench/replies/policy_probe_sources.txt``. Rules are written only from the other three
quarters' misses (``--misses`` prints those, never the probe quarter's): the probe quarter's
out-of-group accuracy is the figure that says whether a widened rule generalised.

    python bench/cv_probe.py --write            # the list
    python bench/cv_probe.py --misses 400 > /tmp/x  # totals; the rest's misses out of group
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import cv_grouped as cvg  # noqa: E402
import cv_known as cvk  # noqa: E402
import eval_classify as ev  # noqa: E402

LIST = ev.REPLIES / "policy_probe_sources.txt"


def in_probe(group: str) -> bool:
    return int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % 4 == 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--misses", type=int, default=0)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--cache", type=Path, default=None, help="cv_known's cache directory")
    args = ap.parse_args(argv)
    if args.cache:
        cvk.CACHE = args.cache
    dev = ev.load(ev.REPLIES / "dev.jsonl")
    groups = sorted({ev.group_of(r, "source") for r in dev})
    probe = [g for g in groups if in_probe(g)]
    if args.write:
        LIST.write_text("".join(g + "\n" for g in probe), encoding="utf-8")
    outs = cvg.grouped(dev, "source")
    for name, part in (("probe", [o for o in outs if in_probe(ev.group_of(o.rec, "source"))]),
                       ("rest", [o for o in outs if not in_probe(ev.group_of(o.rec, "source"))])):
        a = sum(ev.is_correct(o.rec, o.before) for o in part)
        b = sum(ev.is_correct(o.rec, o.after) for o in part)
        c = sum(ev.is_correct(o.rec, o.known) for o in part)
        print(f"{name}: {len(part)} records; every rule {a}; out of group rules {b}, rules + known {c}")
    print(f"all: {len(outs)}; every rule {sum(ev.is_correct(o.rec, o.before) for o in outs)}; "
          f"out of group rules {sum(ev.is_correct(o.rec, o.after) for o in outs)}, "
          f"rules + known {sum(ev.is_correct(o.rec, o.known) for o in outs)}")
    if args.misses:
        rest = [o for o in outs if not in_probe(ev.group_of(o.rec, "source"))
                and not ev.is_correct(o.rec, o.after)]
        print(Counter(o.rec["expected_cause"].split(".")[0] for o in rest).most_common())
        for o in sorted(rest, key=lambda o: o.rec["expected_cause"])[:args.misses]:
            print(f"{o.rec['expected_cause']} <- all: {o.before} ({o.rule}{', dropped' if o.dropped else ''}) "
                  f"/ out: {o.after} ({o.evidence}) | {o.rec['text'][:260]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
