"""Write ``analyzer/rules/learned.json``: the learned fallback's model of the development replies.

The model (:mod:`analyzer.learned`) is counts only: per cause the development replies of that cause,
per token and cause the replies holding the token; it is what the development part gives, byte for
byte (sorted, integers). Run after adding development records, or after changing how replies are
masked or tokenised, or :data:`analyzer.learned.FEATURES` / ``ALPHA``:

    python tools/build_learned.py            # rewrite the model
    python tools/build_learned.py --check    # exit 1 when it is out of date

Only the development part is used (the table of known replies' rows,
:func:`analyzer.similar.rows_from_records`); the held-out part is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "bench" / "replies" / "dev.jsonl"
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from analyzer.learned import DATA, fit, model_text  # noqa: E402
from analyzer.output import atomic_write_text  # noqa: E402
from analyzer.similar import rows_from_records  # noqa: E402


def render(records: list[dict]) -> str:
    """The data file's text for some evaluation records."""
    rows = rows_from_records(records)
    return model_text(fit([r["text"] for r in rows], [r["cause"] for r in rows]))


def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev", type=Path, default=DEV, help="development part (JSONL)")
    ap.add_argument("--out", type=Path, default=DATA, help="model to write")
    ap.add_argument("--check", action="store_true", help="exit 1 when the model differs from what would be written")
    args = ap.parse_args(argv)
    text = render(load(args.dev))
    if args.check:
        if (args.out.read_text(encoding="utf-8") if args.out.exists() else "") != text:
            print(f"Error: {args.out} out of date with {args.dev}\nTry: python tools/build_learned.py", file=sys.stderr)
            return 1
        return 0
    atomic_write_text(args.out, text)  # a temporary file renamed over it, keeping its mode
    body = json.loads(text)
    print(f"{args.out}: {len(body['causes'])} causes, {len(body['tokens'])} tokens, {len(body['counts'])} counts "
          f"({len(text.encode()) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
