#!/usr/bin/env python3
"""Regenerate ``sample_logs/`` with logs written by real Postfix and Exim daemons.

Run as root on a disposable Debian 12 machine (it installs packages, creates the local
users ``alice`` and ``bob``, rewrites /etc/postfix, /etc/exim4/exim4.conf and
/etc/aliases, and starts/stops the daemons by hand -- no systemd needed)::

    python3 tools/make_sample_logs.py                  # postfix, postfix-syslog, then exim
    python3 tools/make_sample_logs.py --mta postfix    # just one run

Every run:

1. installs/configures the MTA (``tools/mta.py``, templates in ``tools/conf/``),
   empties its queue and old logs, starts it;
2. starts the scripted fake MXes (``tools/fakemx.py``) on 127.0.0.x addresses;
3. plays the scenarios (``tools/scenarios.py``) with SMTP clients (``tools/clients.py``):
   the ``early`` phase first, so those messages outlive the queue lifetime and expire;
   then everything else; then flushes the queue twice (greylisted mail gets through,
   expired mail is returned);
4. stops everything, copies the logs into ``sample_logs/<run>/`` (the main log split at
   the phase boundaries into a rotated set: ``X.2.gz``, ``X.1``, ``X``; the bytes are
   unchanged), reads back each message's outcome (``tools/observe.py``) and writes
   ``sample_logs/expected/*.jsonl`` and the README.

Nothing but loopback is contacted. A run takes about three minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import json
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import readme
from clients import run_client
from fakemx import FakeMXFarm
from mta import DELAY_WARNING, MTA, QUEUE_LIFETIME, Exim, Postfix
from observe import observe_exim, observe_postfix
from scenarios import (
    DEBUG_CLIENT_IP,
    FORCE_EXPIRE_DOMAIN,
    MX_SCRIPTS,
    OUTSIDE_CLIENT_IP,
    SYNC_CLIENT_IP,
    TRUSTED_CLIENT_IP,
    Scenario,
    scenarios_for,
)

REPO = Path(__file__).resolve().parent.parent
EARLY_PHASE_SECONDS = 45     # main phase starts this long after the early one
FIRST_FLUSH_AFTER = 15       # seconds after the main phase
SETTLE_SECONDS = 25          # after the last flush, let timeouts (5 s) and DSNs finish


def log(msg: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {msg}", flush=True)


class FarmThread:
    """Run a :class:`FakeMXFarm` on its own asyncio loop in a background thread."""

    def __init__(self) -> None:
        self.farm = FakeMXFarm(MX_SCRIPTS)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FakeMXFarm:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.farm.start(), self.loop).result(10)
        return self.farm

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.farm.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def split_rotated(src: Path, dest_dir: Path, name: str, offsets: list[int]) -> dict[str, int]:
    """Split ``src`` at byte ``offsets`` (moved to line starts) into name.N(.gz) ... name.

    With two offsets: ``name.2.gz`` (oldest, gzip), ``name.1``, ``name`` (newest) -- the
    way logrotate with ``delaycompress`` leaves them. Returns line counts per file.
    """
    data = src.read_bytes()
    cuts = []
    for off in offsets:
        off = min(off, len(data))
        while 0 < off < len(data) and data[off - 1:off] != b"\n":
            off += 1
        cuts.append(off)
    bounds = [0, *cuts, len(data)]
    parts = [data[bounds[i]:bounds[i + 1]] for i in range(len(bounds) - 1)]
    counts = {}
    n = len(parts)
    for i, part in enumerate(parts):
        age = n - 1 - i
        if age == 0:
            fname = name
            (dest_dir / fname).write_bytes(part)
        elif age == 1:
            fname = f"{name}.1"
            (dest_dir / fname).write_bytes(part)
        else:
            fname = f"{name}.{age}.gz"
            with open(dest_dir / fname, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                gz.write(part)
        counts[fname] = part.count(b"\n")
    return counts


def play(scenarios: list[Scenario], tag: str, run_id: str, records: list[dict], sessions: list[dict]) -> None:
    """Play each scenario once; append what the clients saw to ``records``/``sessions``."""
    for sc in scenarios:
        mid = f"<{tag}.{sc.name}.{run_id}@gen.maillens.test>"
        submitted = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        results = run_client(sc, mid)
        log(f"  {sc.name}: {json.dumps(results)[:160]}")
        if sc.kind == "session":
            sessions.append({"scenario": sc.name, "summary": sc.summary, "client": sc.client,
                             "client_ip": {"pregreet": SYNC_CLIENT_IP, "data_too_soon": SYNC_CLIENT_IP,
                                           "debug_peer": DEBUG_CLIENT_IP, "proxy_filter": TRUSTED_CLIENT_IP}
                             .get(sc.client, OUTSIDE_CLIENT_IP),
                             "at": submitted, "seen_by_client": results})
            continue
        for res in results:
            rcpt = res.get("recipient")
            answer = sc.mx_answer.get(rcpt)
            records.append({
                "scenario": sc.name, "kind": sc.kind, "summary": sc.summary,
                "sender": sc.sender, "recipient": rcpt, "message_id": mid,
                "client_ip": {"submit": TRUSTED_CLIENT_IP, "sendmail": None}.get(sc.client, OUTSIDE_CLIENT_IP),
                "submitted_at": submitted, "phase": sc.phase,
                "mx_answer": {"stage": answer[0], **answer[1]} if answer else None,
                "mta_reply": res.get("mta_reply"), "mta_reply_stage": res.get("stage"),
                "client_error": res.get("client_error"),
            })


def sleep_until(t: float) -> None:
    while (left := t - time.time()) > 0:
        time.sleep(min(left, 5))


def run_mta(mta: MTA, tag: str, out: Path) -> dict:
    """One complete run against ``mta``; logs go to ``out/<tag>/``. Returns a summary."""
    log(f"=== {tag}: install/configure")
    mta.install()
    mta.configure()
    mta.reset()
    scen = scenarios_for(mta.name)
    records: list[dict] = []
    sessions: list[dict] = []
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    with FarmThread() as farm:
        mta.start()
        t0 = time.time()
        log(f"{tag}: {mta.version()} started; early phase")
        play([s for s in scen if s.phase == "early"], tag, run_id, records, sessions)
        sleep_until(t0 + EARLY_PHASE_SECONDS)
        cut_a = mta.log_offset()
        log(f"{tag}: main phase")
        play([s for s in scen if s.phase == "main"], tag, run_id, records, sessions)
        time.sleep(FIRST_FLUSH_AFTER)
        log(f"{tag}: flush 1 (queue: {mta.queue_size()})")
        mta.flush()
        time.sleep(5)
        if expired := mta.force_expire(FORCE_EXPIRE_DOMAIN):
            log(f"{tag}: postsuper -e {' '.join(expired)}")
        time.sleep(10)
        cut_b = mta.log_offset()
        sleep_until(t0 + QUEUE_LIFETIME + 10)
        log(f"{tag}: flush 2 (queue: {mta.queue_size()})")
        mta.flush()
        time.sleep(SETTLE_SECONDS)
        if not mta.installed():
            raise RuntimeError(f"{mta.binary} vanished during the run (an apt operation replaced the MTA?)")
        left = mta.queue_size()
        log(f"{tag}: stopping ({left} messages left in the queue)")
        mta.stop()
        duration = time.time() - t0
    dest = out / tag
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    counts: dict[str, int] = {}
    for name, path in mta.log_files().items():
        src = Path(path)
        if not src.exists():
            src.touch()
        if path == mta.main_log:
            counts.update(split_rotated(src, dest, name, [cut_a, cut_b]))
        else:
            shutil.copyfile(src, dest / name)
            counts[name] = src.read_bytes().count(b"\n")
    for rel, path in mta.format_copies().items():
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        counts[rel] = Path(path).read_bytes().count(b"\n")
    farm.write_transcript(str(out / "expected" / f"{tag}.fakemx.jsonl"))
    # read back outcomes from the whole (unsplit) main log
    lines = Path(mta.main_log).read_text(errors="replace").splitlines()
    if mta.name == "exim":
        lines += Path("/var/log/exim4/rejectlog").read_text(errors="replace").splitlines() \
            if Path("/var/log/exim4/rejectlog").exists() else []
    wanted: dict[str, tuple[str, list[str]]] = {}
    for r in records:
        wanted.setdefault(r["message_id"], (r["sender"], []))[1].append(r["recipient"])
    observe = observe_exim if mta.name == "exim" else observe_postfix
    seen = observe(lines, wanted)
    by_name = {s.name: s for s in scen}
    mismatches = []
    for r in records:
        ob = seen[r["message_id"]]
        r["mta"] = mta.name
        r["run"] = tag
        r["log"] = f"{tag}/{'mainlog' if mta.name == 'exim' else 'mail.log'}"
        r["queue_id"] = ob.queue_id
        r["expected_outcome"] = by_name[r["scenario"]].expected(mta.name).get(r["recipient"])
        r["outcome"] = ob.outcomes.get(r["recipient"], "unknown")
        r["final_log_line"] = ob.final_lines.get(r["recipient"])
        r["bounce_notice_queue_id"] = ob.bounce_notice
        r["bounce_notice_outcome"] = ob.bounce_notice_outcome
        if r["outcome"] != r["expected_outcome"]:
            mismatches.append(f"{r['scenario']} {r['recipient']}: expected {r['expected_outcome']}, "
                              f"log shows {r['outcome']}")
    for s in sessions:
        s["mta"] = mta.name
        s["run"] = tag
    for m in mismatches:
        log(f"MISMATCH {tag}: {m}")
    return {"tag": tag, "mta": mta.name, "version": mta.version(), "records": records, "sessions": sessions,
            "counts": counts, "mismatches": mismatches, "duration": round(duration), "left_in_queue": left,
            "run_id": run_id}


RUNS = {
    "postfix": lambda: Postfix(syslog=False),
    "postfix-syslog": lambda: Postfix(syslog=True),
    "exim": lambda: Exim(),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mta", choices=[*RUNS, "all"], action="append",
                    help="which run(s) to do (repeatable; default: all, in the order postfix, "
                         "postfix-syslog, exim)")
    ap.add_argument("--readme-only", action="store_true",
                    help="do not run; rewrite README.md from the saved results in OUT/expected")
    ap.add_argument("--out", type=Path, default=REPO / "sample_logs", help="output directory")
    args = ap.parse_args(argv)
    chosen = list(RUNS) if not args.mta or "all" in args.mta else list(dict.fromkeys(args.mta))
    out: Path = args.out
    (out / "expected").mkdir(parents=True, exist_ok=True)
    state_file = out / "expected" / "runs.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    for key, name in (("records", "messages.jsonl"), ("sessions", "sessions.jsonl")):
        path = out / "expected" / name
        for line in path.read_text().splitlines() if path.exists() else []:
            rec = json.loads(line)
            tag = rec["run"]
            if tag in state:
                state[tag].setdefault(key, []).append(rec)
    for tag in [] if args.readme_only else chosen:
        state[tag] = run_mta(RUNS[tag](), tag, out)
    ordered = {t: state[t] for t in RUNS if t in state}
    state_file.write_text(json.dumps({t: {k: v for k, v in s.items() if k not in ("records", "sessions")}
                                      for t, s in ordered.items()}, indent=1, sort_keys=True) + "\n")
    with open(out / "expected" / "messages.jsonl", "w") as fh:
        for s in ordered.values():
            fh.writelines(json.dumps(r, sort_keys=True) + "\n" for r in s.get("records", []))
    with open(out / "expected" / "sessions.jsonl", "w") as fh:
        for s in ordered.values():
            fh.writelines(json.dumps(r, sort_keys=True) + "\n" for r in s.get("sessions", []))
    readme.write(out, ordered, queue_lifetime=QUEUE_LIFETIME, delay_warning=DELAY_WARNING)
    bad = sum(len(s["mismatches"]) for s in ordered.values())
    log(f"done; {bad} outcome mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
