"""Write ``analyzer/rules/known_replies.jsonl``: the development replies as a table of known replies.

Each line is one real reply from ``bench/replies/dev.jsonl`` with the cause its source's meaning
maps to and where it was quoted from (provider, source, licence: the set's licences allow quoting
the reply with its source). :mod:`analyzer.similar` reads it to answer replies the rules only
know by their code. Run after adding development records:

    python tools/build_known_replies.py            # rewrite the table
    python tools/build_known_replies.py --check    # exit 1 when the table is out of date

Only the development part is used; the held-out part is never read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "bench" / "replies" / "dev.jsonl"
TABLE = ROOT / "analyzer" / "rules" / "known_replies.jsonl"
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from analyzer.similar import rows_from_records  # noqa: E402


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
    ap.add_argument("--check", action="store_true", help="exit 1 when the table differs from what would be written")
    args = ap.parse_args(argv)
    text = render(load(args.dev))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"Error: {args.out} is out of date with {args.dev}\n"
                  f"Try: python tools/build_known_replies.py", file=sys.stderr)
            return 1
        return 0
    fd, tmp = tempfile.mkstemp(dir=args.out.parent, prefix=".known_replies.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, args.out)
    print(f"{args.out}: {text.count(chr(10))} known replies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
