"""Write ``analyzer/rules/known_replies.jsonl``: the development replies as a table of known replies.

Each line is one real reply from ``bench/replies/dev.jsonl`` with the cause its source's meaning
maps to and where it was quoted from (provider, source, licence: the set's licences allow quoting
the reply with its source). :mod:`analyzer.similar` reads it to answer replies the rules only
know by their code. Beside it, ``known_replies.index.json``: the table's tokens and inverted
index, computed here once instead of at every run's start (:data:`analyzer.similar.INDEX`).
Run after adding development records, or after changing how replies are masked or tokenised:

    python tools/build_known_replies.py            # rewrite the table and its index
    python tools/build_known_replies.py --check    # exit 1 when either is out of date

Only the development part is used; the held-out part is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "bench" / "replies" / "dev.jsonl"
TABLE = ROOT / "analyzer" / "rules" / "known_replies.jsonl"
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from analyzer.output import atomic_write_text  # noqa: E402
from analyzer.similar import index_text, rows_from_records  # noqa: E402


def render(records: list[dict]) -> str:
    """The table file's text for some evaluation records."""
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in rows_from_records(records))


def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev", type=Path, default=DEV, help="development part (JSONL)")
    ap.add_argument("--out", type=Path, default=TABLE, help="table to write")
    ap.add_argument("--index", type=Path, default=None,
                    help="its index to write (default: known_replies.index.json beside the table)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when the table or its index differs from what would be written")
    args = ap.parse_args(argv)
    index = args.index or args.out.with_name("known_replies.index.json")
    text = render(load(args.dev))
    index_body = index_text(text.encode("utf-8"))
    if args.check:
        stale = [p for p, want in ((args.out, text), (index, index_body))
                 if (p.read_text(encoding="utf-8") if p.exists() else "") != want]
        if stale:
            print(f"Error: {', '.join(map(str, stale))} out of date with {args.dev}\n"
                  f"Try: python tools/build_known_replies.py", file=sys.stderr)
            return 1
        return 0
    atomic_write_text(args.out, text)  # a temporary file renamed over it, keeping its mode
    atomic_write_text(index, index_body)
    print(f"{args.out}: {text.count(chr(10))} known replies; index in {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
