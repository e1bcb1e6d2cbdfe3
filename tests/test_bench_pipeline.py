"""bench/bench_pipeline.py's acceptance lines: one per MTA and command, every size named."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_pipeline import Run, byte_compile, memory_verdicts, verdicts  # noqa: E402


def _run(mta, n, cmd, mib, status="ok"):
    if status != "ok":
        return Run(mta, n, cmd, status=status)
    return Run(mta, n, cmd, wall=10.0, cpu=9.0, rss_mib=mib)


def test_every_mta_and_command_gets_its_line_with_every_size():
    runs = [_run("postfix", 1_000_000, "search", 300), _run("postfix", 10_000_000, "search", 330),
            _run("postfix", 1_000_000, "ingest", 350), _run("postfix", 10_000_000, "ingest", 410),
            _run("exim", 1_000_000, "search", 200), _run("exim", 10_000_000, "search", 0, status="FAILED (exit 1)"),
            _run("exim", 1_000_000, "trace", 150), _run("postfix", 1_000_000, "pflogsumm", 90)]
    lines = memory_verdicts(runs)
    assert len(lines) == 4  # postfix search, postfix ingest, exim search, exim trace; not the peer
    by = {tuple(x.split(":", 1)[0].split()): x for x in lines}
    assert "holds" in by[("postfix", "search")] and "+10%" in by[("postfix", "search")]
    assert "NOT met at 10M" in by[("postfix", "ingest")] and "+17% (NOT met" in by[("postfix", "ingest")]
    assert "10M failed" in by[("exim", "search")] and "not measured" in by[("exim", "search")]
    assert "10M not run" in by[("exim", "trace")]
    assert all(any(x in line for line in verdicts(runs)) for x in lines)


def test_each_checkout_is_byte_compiled_before_it_is_measured(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    for name in ("old", "new"):
        (tmp_path / name / "analyzer" / "sub").mkdir(parents=True)
        (tmp_path / name / "analyzer" / "sub" / "mod.py").write_text("X = 1\n")
    (tmp_path / "none").mkdir()  # (no package: nothing to compile, no error)
    done = byte_compile(tmp_path / "new", tmp_path / "old", tmp_path / "none")
    assert done == [tmp_path / "new" / "analyzer", tmp_path / "old" / "analyzer"]
    for name in ("old", "new"):
        cached = list((tmp_path / name / "analyzer" / "sub" / "__pycache__").glob("mod.*.pyc"))
        assert len(cached) == 1
