#!/usr/bin/env python3
"""Write a generated four-week rotated Postfix log set: mail.log, mail.log.1, mail.log.2.gz … mail.log.27.gz.

Standard library only, deterministic for a given ``--seed``.

    python bench/generate_rotated.py -o /tmp/rotated            # 28 days, 1,500 lines of mail a day
    python bench/generate_rotated.py -o /tmp/rotated --days 14 --lines 800

Each day is one file, rotated daily the way logrotate with ``delaycompress`` leaves them: the
newest day is ``mail.log``, the day before ``mail.log.1`` (plain), older days ``mail.log.N.gz``
(gzip with a zero mtime, so the bytes are the same on every run). A day's ordinary mail comes from
``bench/generate_logs.py`` between 06:00 and 23:00 UTC (the nights are quiet, as on a small
server), and over it run the slow attacks the long-window detectors are for:

* a slow SASL brute force from one IP (``198.18.7.7``): 1 to 3 failures in most hours, day and
  night, from day 7 to the end (about 540 failures, never more than 4 in an hour);
* a brute force spread over one network: six addresses of ``2001:db8:bad:1::/64``, a few
  failures a day each, days 10 to 24;
* a slow dictionary attack: one client (``198.19.44.44``) trying 2 to 5 unknown recipients a
  few times a day, days 3 to 17;
* on day 20 (``--silence-day``) the mail stops from 11:00 to 13:00: a real silence.

``--record FILE.json`` writes what was injected (entities, first and last time, counts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from bench.generate_logs import generate  # noqa: E402

START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)  # a Monday
HOST = "mx1"
SLOW_IP = "198.18.7.7"
NET6 = "2001:db8:bad:1::"
DICT_IP = "198.19.44.44"
USERS = ("admin", "info", "office", "sales", "support", "test", "backup", "web", "root", "user")
NAMES = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar",
         "peggy", "sybil", "trent", "victor", "walter")


def _stamp(t: dt.datetime) -> str:
    return f"{t:%b} {t.day:2d} {t:%H:%M:%S}"


class _Day:
    """The extra lines of one day, kept with their times for the merge."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[tuple[dt.datetime, str]] = []
        self.pid = 40000

    def add(self, t: dt.datetime, prog: str, msg: str) -> None:
        self.lines.append((t, f"{_stamp(t)} {HOST} postfix/{prog}[{self.pid}]: {msg}"))

    def sasl_failure(self, t: dt.datetime, ip: str) -> None:
        r = self.rng
        self.pid += r.randrange(1, 50)
        who = f"unknown[{ip}]"
        user = r.choice(USERS) + ("@ourdomain.test" if r.random() < 0.5 else "")
        self.add(t, "submission/smtpd", f"connect from {who}")
        t += dt.timedelta(seconds=r.randrange(1, 4))
        self.add(t, "submission/smtpd", f"warning: {who}: SASL LOGIN authentication failed: UGFzc3dvcmQ6, "
                                        f"sasl_username={user}")
        t += dt.timedelta(seconds=1)
        self.add(t, "submission/smtpd", f"disconnect from {who} ehlo=1 auth=0/1 quit=1 commands=2/3")

    def unknown_recipients(self, t: dt.datetime, ip: str, n: int, seen: set[str]) -> int:
        r = self.rng
        self.pid += r.randrange(1, 50)
        who = f"mail.spamfarm.example[{ip}]"
        self.add(t, "smtpd", f"connect from {who}")
        tried = 0
        for _ in range(n):
            t += dt.timedelta(seconds=r.randrange(1, 3))
            rcpt = f"{r.choice(NAMES)}.{r.choice(NAMES)}{r.randrange(100)}@ourdomain.test"
            seen.add(rcpt)
            tried += 1
            self.add(t, "smtpd", f"NOQUEUE: reject: RCPT from {who}: 550 5.1.1 <{rcpt}>: Recipient address "
                                 f"rejected: User unknown in virtual mailbox table; from=<news@spamfarm.example> "
                                 f"to=<{rcpt}> proto=ESMTP helo=<mail.spamfarm.example>")
        t += dt.timedelta(seconds=1)
        self.add(t, "smtpd", f"disconnect from {who} ehlo=1 mail=1 rcpt=0/{n} quit=1 commands=3/{n + 3}")
        return tried


def _sort_key(line: str, year: int) -> dt.datetime:
    return dt.datetime.strptime(f"{year} {line[:15]}", "%Y %b %d %H:%M:%S").replace(tzinfo=dt.UTC)


def generate_rotated(out_dir: str | Path, *, days: int = 28, lines: int = 1500, seed: int = 28,
                     silence_day: int = 20) -> dict:
    """Write the rotated set into ``out_dir``; returns what was injected (see the module doc)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    rec = {"slow_brute_force": {"entity": SLOW_IP, "failures": 0, "max_per_hour": 0},
           "network_brute_force": {"entity": NET6 + "/64", "failures": 0, "ips": 6},
           "slow_dictionary": {"entity": DICT_IP, "recipients": 0},
           "silence": None, "days": days, "files": []}
    dict_seen: set[str] = set()
    for d in range(days):
        day = START + dt.timedelta(days=d)
        incidents = []
        if d == silence_day:
            a, b = day + dt.timedelta(hours=11), day + dt.timedelta(hours=13)
            incidents.append(f"silence@{a:%Y-%m-%dT%H:%M:%S}+2h")
            rec["silence"] = {"start": a.isoformat(), "end": b.isoformat()}
        text = generate(mta="postfix", lines=lines, seed=seed * 1000 + d, out=None,
                        start=(day + dt.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%S"), hours=17.0, host=HOST,
                        incidents=incidents)["text"]
        extra = _Day(rng)
        if d >= 7:
            for hour in range(24):
                k = rng.choice((0, 1, 1, 2, 2, 3))
                if silence_day == d and 11 <= hour < 13:
                    k = 0  # the silence is of everything
                for s in sorted(rng.sample(range(3600), k)):
                    extra.sasl_failure(day + dt.timedelta(hours=hour, seconds=s), SLOW_IP)
                rec["slow_brute_force"]["failures"] += k
                rec["slow_brute_force"]["max_per_hour"] = max(rec["slow_brute_force"]["max_per_hour"], k)
        if 10 <= d <= 24:
            for i in range(6):
                for _ in range(rng.randrange(2, 6)):
                    t = day + dt.timedelta(seconds=rng.randrange(6 * 3600, 23 * 3600))
                    if d == silence_day and 11 <= t.hour < 13:
                        continue
                    extra.sasl_failure(t, f"{NET6}{i + 0x10:x}")
                    rec["network_brute_force"]["failures"] += 1
        if 3 <= d <= 17:
            for _ in range(rng.randrange(5, 9)):
                t = day + dt.timedelta(seconds=rng.randrange(7 * 3600, 22 * 3600))
                rec["slow_dictionary"]["recipients"] += extra.unknown_recipients(t, DICT_IP, rng.randrange(2, 6),
                                                                                dict_seen)
        merged = text.splitlines(keepends=False) + [line for _, line in extra.lines]
        merged.sort(key=lambda line: _sort_key(line, day.year))  # stable: a day's own order is kept
        body = ("\n".join(merged) + "\n").encode()
        age = days - 1 - d
        name = "mail.log" if age == 0 else f"mail.log.{age}" + (".gz" if age >= 2 else "")
        path = out / name
        if name.endswith(".gz"):
            with open(path, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
                gz.write(body)
        else:
            path.write_bytes(body)
        rec["files"].append(name)
    rec["slow_dictionary"]["distinct"] = len(dict_seen)
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, required=True, help="directory to write the set into")
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--lines", type=int, default=1500, help="lines of ordinary mail per day (default 1500)")
    ap.add_argument("--seed", type=int, default=28)
    ap.add_argument("--silence-day", type=int, default=20)
    ap.add_argument("--record", type=Path, help="write what was injected to this JSON file")
    a = ap.parse_args(argv)
    rec = generate_rotated(a.out, days=a.days, lines=a.lines, seed=a.seed, silence_day=a.silence_day)
    if a.record:
        a.record.write_text(json.dumps(rec, indent=2) + "\n")
    print(f"{a.out}: {len(rec['files'])} files; slow brute force {rec['slow_brute_force']['failures']} failures "
          f"from {SLOW_IP}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
