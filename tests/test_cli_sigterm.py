"""SIGTERM (a cron ``timeout``, ``kill``, systemd stopping a unit) ends a run with its cleanup:
exit status 143, no temporary output, no spool directory, no worker left — even while the run
waits for more input on a stdin that stays open."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _lines(size: int) -> bytes:
    """Postfix lines of the shipped samples, repeated to about ``size`` bytes."""
    text = b"".join(p.read_bytes() for p in sorted((ROOT / "sample_logs" / "postfix").glob("mail.log*"))
                    if p.suffix != ".gz")
    return text * (size // len(text) + 1)


def _wait_for(pattern: str, seconds: float = 60) -> list[str]:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if found := glob.glob(pattern):
            return found
        time.sleep(0.05)
    return []


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="the workers' spool lives in /dev/shm")
def test_sigterm_while_stdin_stays_open_cleans_up_and_exits_143(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MAILLENS_WORKERS": "2"}
    out = tmp_path / "out.parquet"
    p = subprocess.Popen([sys.executable, "-m", "analyzer", "parse", "-", "--tz", "UTC", "--year", "2026",
                          "-o", str(out)], stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        p.stdin.write(_lines(12 << 20))  # a few blocks; then the run waits for more
        p.stdin.flush()
        assert _wait_for(str(tmp_path / ".out.parquet.*.tmp")), "the run never began its output"
        kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
        p.send_signal(signal.SIGTERM)
        rc = p.wait(30)  # without the stop, the run would wait for the open stdin forever
    finally:
        if p.poll() is None:
            p.kill()
        p.stdin.close()
    assert rc == 128 + signal.SIGTERM, p.stderr.read()
    assert b"Traceback" not in p.stderr.read()
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary file
    assert glob.glob(f"/dev/shm/maillens-{p.pid}-*") == []
    end = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{k}") for k in kids) and time.monotonic() < end:
        time.sleep(0.05)
    assert not [k for k in kids if os.path.exists(f"/proc/{k}")]


def test_a_sigterm_the_caller_ignores_stays_ignored():
    code = ("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "from analyzer.cli import _stop_on_sigterm\n_stop_on_sigterm()\n"
            "print(signal.getsignal(signal.SIGTERM) is signal.SIG_IGN)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "True"
