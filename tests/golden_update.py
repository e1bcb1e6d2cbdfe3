"""Regenerate the golden reports: ``python -m tests.golden_update`` (from the repository root).

The goldens are ``tests/golden/report.{txt,md,json,html}``: ``maillens report sample_logs/postfix/`` (the
README's main command: one server's night) in every
format with a fixed year, zone, "now" and redaction key, so they change only when the report does;
``report-incidents.{txt,md}``: a generated day with every kind of injected incident; and
``report-rotated.{txt,md,json,html}``: a generated four-week rotated set (per-day table, slow attacks).
Review the diff (``git diff tests/golden``) before committing.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
FORMATS = {"txt": "text", "md": "markdown", "json": "json", "html": "html"}
#: The command line the goldens come from (paths relative to the repository root).
ARGS = ["report", "sample_logs/postfix/", "--tz", "UTC", "--year", "2026", "--now", "2026-12-02T06:00:00Z",
        "--redact", "--redact-key", "maillens-golden"]


def render_all() -> dict[str, str]:
    """Each golden file's name and the text the report command writes for it now."""
    from typer.testing import CliRunner

    from analyzer.cli import app

    runner = CliRunner()
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        out = {}
        for ext, fmt in FORMATS.items():
            res = runner.invoke(app, [*ARGS, "--format", fmt], catch_exceptions=False)
            if res.exit_code != 0:
                raise RuntimeError(f"maillens {' '.join(ARGS)} --format {fmt} exited {res.exit_code}: {res.output}")
            out[f"report.{ext}"] = res.stdout
        return out
    finally:
        os.chdir(cwd)


#: A generated day with every kind of injected incident: the goldens show how findings render.
INCIDENTS = ["521_burst:acme.example@6h+1h", "microsoft_block@12h+1h", "sasl_bruteforce:198.51.100.66@10h+1h",
             "silence@15h+1h", "deferral_buildup@18h+3h"]
INCIDENT_ARGS = ["report", "mail.log", "--tz", "UTC", "--year", "2026", "--now", "2026-11-29T06:00:00Z"]


def render_incidents() -> dict[str, str]:
    """The text and markdown reports of a generated log with injected incidents (bench generator, seed 7)."""
    import tempfile

    from typer.testing import CliRunner

    from analyzer.cli import app
    from bench.generate_logs import generate

    cwd = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        generate(mta="postfix", lines=4000, seed=7, out=Path(tmp) / "mail.log", incidents=INCIDENTS)
        os.chdir(tmp)
        try:
            out = {}
            for ext, fmt in (("txt", "text"), ("md", "markdown")):
                res = CliRunner().invoke(app, [*INCIDENT_ARGS, "--format", fmt], catch_exceptions=False)
                out[f"report-incidents.{ext}"] = res.stdout
            return out
        finally:
            os.chdir(cwd)


#: A generated four-week rotated set (bench/generate_rotated.py, seed 28): per-day time table, slow attacks.
ROTATED_ARGS = ["report", "rotated", "--tz", "UTC", "--year", "2026", "--now", "2026-11-30T06:00:00Z"]


def render_rotated() -> dict[str, str]:
    """The report of the generated 28-day rotated set (mail.log, mail.log.1, mail.log.2.gz …) in every format."""
    import tempfile

    from typer.testing import CliRunner

    from analyzer.cli import app
    from analyzer.report import render
    from bench.generate_rotated import generate_rotated

    cwd = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        generate_rotated(Path(tmp) / "rotated")
        os.chdir(tmp)
        try:
            # one run (the set is 45,000 lines); the other formats render the same report dict
            res = CliRunner().invoke(app, [*ROTATED_ARGS, "--format", "json"], catch_exceptions=False)
        finally:
            os.chdir(cwd)
    report = json.loads(res.stdout)
    return {f"report-rotated.{ext}": res.stdout if fmt == "json" else render(report, fmt) for ext, fmt in FORMATS.items()}


def main() -> int:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, text in {**render_all(), **render_incidents(), **render_rotated()}.items():
        path = GOLDEN / name
        old = path.read_text(encoding="utf-8") if path.exists() else None
        path.write_text(text, encoding="utf-8")
        print(f"{path.relative_to(ROOT)}: {'unchanged' if old == text else 'updated'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
