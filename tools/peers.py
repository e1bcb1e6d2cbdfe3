"""Run the peers, pflogsumm (Postfix) and eximstats (Exim), and read their grand totals.

Standard library only. Used by :mod:`readme` (the figures ``sample_logs/README.md`` states for
each server's night) and by ``tests/test_peer_parity.py``. Both tools are Debian packages:
``apt-get install pflogsumm exim4-base``.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["EXIMSTATS", "PFLOGSUMM", "PF_LABELS", "concat_rotated", "generated_day", "pflogsumm_units", "rotated",
           "run_eximstats", "run_pflogsumm"]


def _find(name: str, *extra: str) -> str | None:
    return shutil.which(name) or next((p for p in extra if Path(p).exists()), None)


PFLOGSUMM = _find("pflogsumm", "/usr/sbin/pflogsumm")
EXIMSTATS = _find("eximstats", "/usr/sbin/eximstats", "/usr/local/bin/eximstats")

#: pflogsumm's "Grand Totals" labels -> maillens' keys (analyzer.totals)
PF_LABELS = {
    "received": "received", "delivered": "delivered", "forwarded": "forwarded", "deferred": "deferred",
    "bounced": "bounced", "rejected": "rejected", "reject warnings": "reject_warnings", "held": "held",
    "discarded": "discarded", "bytes received": "bytes_received", "bytes delivered": "bytes_delivered",
    "senders": "senders", "sending hosts/domains": "sending_hosts_domains", "recipients": "recipients",
    "recipient hosts/domains": "recipient_hosts_domains",
}


def rotated(folder: Path, name: str) -> list[Path]:
    """``name.N.gz`` ... ``name.1``, ``name`` in ``folder``: oldest first."""
    def age(p: Path) -> int:
        m = re.match(rf"^{re.escape(name)}\.(\d+)", p.name)
        return int(m.group(1)) if m else 0
    return sorted((p for p in folder.iterdir() if p.name == name or re.match(rf"^{re.escape(name)}\.\d+", p.name)),
                  key=age, reverse=True)


def pflogsumm_units(n: int) -> int:
    """A count as pflogsumm prints it: over 512k in k and over 512m in m, truncated (printf %d)."""
    if n > 536870912:
        return (n // 1048576) * 1048576
    if n > 524288:
        return (n // 1024) * 1024
    return n


def generated_day(out: Path, mta: str, *, lines: int = 20000, seed: int = 11) -> Path:
    """A day of ``mta`` logs written by ``bench/generate_logs.py`` to ``out``, for both tools to read."""
    script = Path(__file__).resolve().parent.parent / "bench" / "generate_logs.py"
    subprocess.run([sys.executable, str(script), "--mta", mta, "--lines", str(lines), "--seed", str(seed),
                    "-o", str(out), "-q"], check=True, timeout=300, capture_output=True)
    return out


def concat_rotated(folder: Path, name: str, out: Path) -> Path:
    """A rotated set as one file (oldest first, .gz decompressed): what the peers read."""
    with open(out, "wb") as fh:
        for f in rotated(folder, name):
            fh.write(gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes())
    return out


def run_pflogsumm(log: Path) -> dict[str, int]:
    """pflogsumm's grand totals of one file (its k/m units as printed, times 1024 / 1024²)."""
    if PFLOGSUMM is None:
        raise FileNotFoundError("pflogsumm is not installed (apt-get install pflogsumm)")
    out = subprocess.run([PFLOGSUMM, str(log)], capture_output=True, text=True, check=True, timeout=300).stdout
    totals: dict[str, int] = {}
    section = out.split("Grand Totals", 1)[1].split("Per-", 1)[0]
    for line in section.splitlines():
        m = re.match(r"^\s*(\d+)([km]?)\s+(.*?)\s*(?:\((\d+)\s+deferrals\)|\(\d+%\))?\s*$", line)
        if not m:
            continue
        label = m.group(3).strip()
        if label in PF_LABELS:
            totals[PF_LABELS[label]] = int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2)]
        if m.group(4):
            totals["deferrals"] = int(m.group(4))
    totals.setdefault("deferrals", 0)
    return totals


def run_eximstats(log: Path) -> dict[str, int]:
    """eximstats' grand total summary (volumes in bytes: -nvr), errors and temporary rejects."""
    if EXIMSTATS is None:
        raise FileNotFoundError("eximstats is not installed (apt-get install exim4-base)")
    out = subprocess.run([EXIMSTATS, "-nvr", "-t0", "-q0", "-h0", "-nr", str(log)], capture_output=True,
                         text=True, check=True, timeout=300).stdout
    totals = {"rejects": 0, "temporary_rejects": 0, "errors": 0}
    for line in out.splitlines():
        cells = line.split()
        if not cells:
            continue
        if cells[0] == "Received" and len(cells) >= 7:
            totals["received_bytes"], totals["received"] = int(cells[1]), int(cells[2])
            totals["delayed"], totals["failed"] = int(cells[4]), int(cells[6])
        elif cells[0] == "Delivered" and len(cells) >= 4:
            totals["delivered_bytes"], totals["delivered"] = int(cells[1]), int(cells[2])
            totals["delivered_addresses"] = int(cells[3])
        elif cells[0] == "Rejects" and len(cells) >= 2:
            totals["rejects"] = int(cells[1])
        elif cells[:2] == ["Temp", "Rejects"] and len(cells) >= 3:
            totals["temporary_rejects"] = int(cells[2])
        elif line.startswith("Errors encountered:"):
            totals["errors"] = int(cells[2])
    return totals
