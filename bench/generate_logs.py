#!/usr/bin/env python3
"""Write realistic synthetic Postfix or Exim mail logs of exactly N lines.

Standard library only, deterministic for a given ``--seed`` and options.

    python bench/generate_logs.py --mta postfix --lines 1000000 --seed 1 -o out.log
    python bench/generate_logs.py --mta postfix --style rfc3339 --lines 1000 -o -
    python bench/generate_logs.py --mta exim --lines 100000 --seed 2 -o mainlog \\
        --incident 'sasl_bruteforce:198.51.100.66@6h+1h' --record incidents.jsonl

The file is a simulation, not a pile of random lines: every message goes through the
stages a real server logs, and the ids link up.

Postfix (``postfix`` syslog name, host ``--host``, our server 192.0.2.10, our domains
ourdomain.test / ourbrand.test, mailboxes behind Dovecot LMTP):

* postscreen in front of smtpd: CONNECT, PASS OLD/NEW, DNSBL rank (with dnsblog lines),
  PREGREET, HANGUP, postscreen NOQUEUE rejects, DISCONNECT;
* inbound sessions: smtpd connect, TLS, ``QID: client=``, cleanup ``message-id=``, qmgr
  ``from=, size=, nrcpt= (queue active)``, lmtp/local/smtp deliveries, ``removed``,
  ``disconnect ... commands=`` (with and without quit);
* NOQUEUE rejects (unknown user, relay access denied, RBL, greylisting, no rDNS), lost
  connections / timeouts after CONNECT, EHLO, AUTH, DATA, non-SMTP commands, SASL
  authentication failures, milter rejects;
* submission (``postfix/submission/smtpd``, SASL) and pickup mail delivered by
  ``postfix/smtp`` with the usual mix of sent / deferred (greylisting, connection refused
  or timed out, 521 greetings with dsn=4.3.2, 421 rate limits, full mailboxes) / bounced
  (unknown users, Microsoft 5.7.606 and S3150 blocks, Gmail 5.7.26 DMARC, no such domain)
  with Postfix's retry schedule (qmgr logs ``queue active`` again on every retry),
  ``delivery temporarily suspended``, delay and non-delivery notices
  (``postfix/bounce``) whose new queue ids are delivered and removed in turn;
* anvil statistics and roughly 5 % foreign lines (dovecot, amavis, opendkim).

Exim (``exim4`` mainlog with ``log_selector = +pid +smtp_connection +incoming_interface
+queue_time``): ``SMTP connection from``, ``<=`` arrivals (H= P= X= S= id= A=), ``=>``,
``->``, ``==`` and ``**`` lines, bounce messages (``<= <> R=...``), ``Completed``,
rejected RCPT/after DATA, authenticator failures, synchronization errors, lost and closed
connections, queue runs every 30 minutes that retry deferred messages.

Incidents (``--incident KIND@START+DURATION``, repeatable; START is an offset from
``--start`` such as ``6h`` or ``90m``, or an ISO time; DURATION like ``30m``, ``1h30m``):

* ``521_burst:DOMAIN``       the destination answers every connection with a 521 greeting
                             (Postfix defers with dsn=4.3.2), plus a burst of mail to it;
* ``microsoft_block``        Microsoft destinations (outlook.test, hotmail.test, tenants
                             under *.mail.protection.outlook.test) refuse our IP with
                             550 5.7.606 / 550 5.7.1 S3150: everything to them bounces;
* ``sasl_bruteforce:IP``     hundreds of SASL authentication failures from one IP;
* ``silence``                no line at all inside the window (traffic resumes after it);
* ``deferral_buildup[:DOMAIN]`` the destination (default bigisp.example) defers everything
                             with 421/451; messages stay queued and are retried, and are
                             delivered once the window is over.

``--record FILE.jsonl`` writes one JSON object per injected incident: kind, entity,
start, end (UTC, ISO 8601) and how many lines it contributed.

Importable: ``from bench.generate_logs import generate``.
"""

from __future__ import annotations

import argparse
import bisect
import io
import json
import math
import os
import random
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Iterable

__all__ = ["generate", "Incident", "parse_incident", "parse_duration", "KINDS"]

KINDS = ("521_burst", "microsoft_block", "sasl_bruteforce", "silence", "deferral_buildup")
DEFAULT_START = "2026-11-28T00:00:00"

# --------------------------------------------------------------------------------------
# Incident specification


@dataclass
class Incident:
    kind: str
    entity: str | None
    start: float  # epoch seconds, UTC
    end: float
    lines: int = 0
    details: dict = field(default_factory=dict)

    def active(self, t: float) -> bool:
        return self.start <= t < self.end

    def record(self) -> dict:
        return {
            "kind": self.kind,
            "entity": self.entity,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "lines": self.lines,
            **({"details": self.details} if self.details else {}),
        }


_DUR_RE = re.compile(r"(\d+(?:\.\d+)?)([dhms]?)")
_DUR_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}


def parse_duration(text: str) -> float:
    """'90s', '30m', '1h30m', '2d', '45' (seconds) -> seconds."""
    text = text.strip()
    pos, total = 0, 0.0
    if not text:
        raise ValueError("empty duration")
    while pos < len(text):
        m = _DUR_RE.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"bad duration {text!r} (use e.g. 30m, 1h30m, 90s)")
        total += float(m.group(1)) * _DUR_UNITS[m.group(2)]
        pos = m.end()
    return total


def _parse_time(text: str) -> float:
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


def parse_incident(spec: str, log_start: float) -> Incident:
    """Parse ``KIND[:ENTITY]@START+DURATION``; START is an offset (``6h``) or an ISO time."""
    if "@" not in spec or "+" not in spec.rsplit("@", 1)[1]:
        raise ValueError(f"incident {spec!r}: expected KIND[:ENTITY]@START+DURATION")
    head, when = spec.rsplit("@", 1)
    start_s, dur_s = when.rsplit("+", 1)
    kind, _, entity = head.partition(":")
    kind = kind.strip()
    entity = entity.strip() or None
    if kind not in KINDS:
        raise ValueError(f"incident {spec!r}: kind must be one of {', '.join(KINDS)}")
    if kind in ("521_burst", "sasl_bruteforce") and not entity:
        raise ValueError(f"incident {spec!r}: {kind} needs an entity ({kind}:...)")
    if kind == "deferral_buildup" and not entity:
        entity = "bigisp.example"
    if kind == "microsoft_block":
        entity = entity or "microsoft"
    try:
        start = log_start + parse_duration(start_s)
    except ValueError:
        start = _parse_time(start_s)
    dur = parse_duration(dur_s)
    if dur <= 0:
        raise ValueError(f"incident {spec!r}: duration must be positive")
    return Incident(kind, entity, start, start + dur)


# --------------------------------------------------------------------------------------
# The simulated world

FIRST = (
    "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert "
    "sybil trent victor walter wendy oscar pat quinn sam tina uma yusuf zoe li maria jose anna "
    "lukas sofia noah emma omar fatima chen priya"
).split()
LAST = (
    "smith jones garcia mueller rossi dubois tanaka kim novak silva khan nguyen ivanova larsen "
    "okafor schmidt lopez brown wilson moreau"
).split()
ROLES = "info sales support billing noreply newsletter hr admin office contact orders jobs".split()
WORDS = (
    "acme globex initech umbrella hooli vandelay stark wayne wonka tyrell cyberdyne soylent "
    "oceanic aperture blackmesa massive dynamic nakatomi gringotts monarch piedpiper prestige "
    "sirius virtucon zorg ajax bluth dunder krusty planet contoso fabrikam northwind "
    "tailspin adatum litware proseware wingtip woodgrove fourthcoffee"
).split()
SUFFIX = ("", "", "-mail", "-corp", "-group", "shop", "news", "-hq", "labs", "-online")
TLDS = (".example", ".test", ".example", ".test", ".example.com", ".example.net")
BRUTE_NAMES = ("admin", "info", "test", "webmaster", "postmaster", "sales", "support", "user",
               "office", "contact")
SPAM_HELO = ("User", "ylmf-pc", "localhost", "WIN-CLJ1B0GQ6JP", "[{ip}]", "mail.{dom}",
             "{dom}", "smtp.{dom}")
NONSMTP = ("GET / HTTP/1.1", "CONNECT 203.0.113.80:25 HTTP/1.0", "\\x16\\x03\\x01",
           "USER root", "HEAD / HTTP/1.0")

TLS13 = ("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 "
         "server-signature RSA-PSS (2048 bits) server-digest SHA256")
TLS13b = ("TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519 "
          "server-signature ECDSA (P-256) server-digest SHA256")
TLS12 = "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)"
EXIM_TLS = ("TLS1.3:TLS_AES_256_GCM_SHA384:256", "TLS1.3:TLS_AES_128_GCM_SHA256:128",
            "TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256")

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

MY_IP = "192.0.2.10"
OUR_DOMAINS = ("ourdomain.test", "ourbrand.test")
MS_KINDS = ("ms", "m365")


def _b62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, d = divmod(n, 62)
        out.append(B62[d])
    return "".join(reversed(out))


def _fmt_delay(x: float) -> str:
    """Postfix style: 0.47, 5.9, 23, 0."""
    if x < 0.005:
        return "0"
    if x < 1:
        s = f"{x:.2f}"
    elif x < 10:
        s = f"{x:.1f}"
    else:
        return str(int(x))
    s = s.rstrip("0").rstrip(".")
    return s


def _exim_dur(x: float) -> str:
    s = int(x)
    if s < 60:
        return f"{s}s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            out.append(f"{s // size}{unit}")
            s %= size
    if s:
        out.append(f"{s}s")
    return "".join(out)


class Dest:
    """A remote destination domain with its MX hosts and behaviour."""

    __slots__ = ("domain", "mxs", "kind", "greylist", "p_unknown", "incident_prone")

    def __init__(self, domain, mxs, kind, greylist=False, p_unknown=0.015):
        self.domain = domain
        self.mxs = mxs  # list of (hostname, ip)
        self.kind = kind  # gmail, ms, m365, yahoo, tail
        self.greylist = greylist
        self.p_unknown = p_unknown
        self.incident_prone = False


class _Pool:
    """Long-lived daemon processes: a session gets a pid that is not busy at that time."""

    __slots__ = ("gen", "size", "slots")

    def __init__(self, gen, size):
        self.gen = gen
        self.size = size
        self.slots = {}

    def get(self, a: float, b: float) -> int:
        slot = int(a // 900)
        lst = self.slots.get(slot)
        if lst is None:
            base = slot * 900.0
            lst = [[self.gen.new_pid(base), [], []] for _ in range(self.size)]
            self.slots[slot] = lst
        rr = self.gen.r.randrange
        for _ in range(5):
            e = lst[rr(len(lst))]
            starts, ends = e[1], e[2]
            i = bisect.bisect_left(starts, a)
            if i > 0 and ends[i - 1] > a:
                continue
            if i < len(starts) and starts[i] < b:
                continue
            starts.insert(i, a)
            ends.insert(i, b)
            return e[0]
        e = [self.gen.new_pid(a), [a], [b]]
        lst.append(e)
        return e[0]


class _Gen:
    """State shared by the Postfix and Exim simulations."""

    def __init__(self, lines, seed, start, hours, host, incidents):
        self.n = lines
        self.r = random.Random(seed)
        self.start = start
        self.end = start + hours * 3600.0
        self.dur = self.end - self.start
        self.host = host
        self.fqdn = f"{host}.{OUR_DOMAINS[0]}"
        self.incidents = incidents
        self.silence = sorted((i.start, i.end) for i in incidents if i.kind == "silence")
        self.active_total = self.dur - sum(e - s for s, e in self.silence)
        self.end_limit = self.end - 5.0
        # sessions start this long before the end at the latest (their lines must fit)
        self.margin = min(400.0, 0.1 * self.active_total)
        self.used_ids: set = set()
        self.used_pids: set = set()
        self.ev: list = []
        self.u: list = []  # lines of the unit being built: (t, text)
        self.hits: list = []  # (incident, lines) seen while building the unit
        self._build_world()
        self.stats_slots: set = set()

    # ---- time ------------------------------------------------------------------------
    def adv(self, t: float, dt: float) -> float:
        t2 = t + dt
        for s, e in self.silence:
            if s <= t2 < e:
                t2 = e + (t2 - s) * 0.01
        return t2

    def _map_active(self, a: float) -> float:
        t = self.start + a
        for s, e in self.silence:
            if t >= s:
                t += e - s
        return t

    def pick_time(self, margin: float | None = None, diurnal: bool = True) -> float:
        r = self.r.random
        if margin is None:
            margin = self.margin
        span = max(self.active_total - margin, 1.0)
        for _ in range(20):
            t = self._map_active(r() * span)
            if not diurnal:
                return t
            h = (t % 86400.0) / 3600.0
            w = 0.3 + 0.7 * math.exp(-(((h - 13.0) / 4.5) ** 2))
            if r() < w:
                return t
        return t

    def in_silence(self, t: float) -> bool:
        for s, e in self.silence:
            if s <= t < e:
                return True
        return False

    # ---- ids -------------------------------------------------------------------------
    def new_pid(self, t: float) -> int:
        frac = (t - self.start) / self.dur if self.dur else 0.0
        pid = 2000 + int(frac * 3_500_000) + self.r.randrange(900)
        used = self.used_pids
        while pid in used:
            pid += 1
        used.add(pid)
        return pid

    def new_qid(self, t: float) -> str:
        usec = int((t % 1.0) * 1e6)
        rr = self.r.randrange
        used = self.used_ids
        while True:
            q = f"{usec:05X}{rr(0x10000, 0x1800000):X}"
            if q not in used:
                used.add(q)
                return q

    def new_exim_id(self, t: float, pid: int) -> tuple[str, float]:
        used = self.used_ids
        while True:
            sec = int(t)
            frac = int((t - sec) * 2000)
            mid = f"{_b62(sec, 6)}-{_b62(pid, 6)}-{_b62(frac, 2)}"
            if mid not in used:
                used.add(mid)
                return mid, t
            t += 0.0005

    def hexs(self, n: int) -> str:
        return f"{self.r.getrandbits(4 * n):0{n}x}"

    def b64s(self, n: int) -> str:
        rr = self.r.randrange
        return "".join(B64[rr(64)] for _ in range(n))

    def msgid(self, t: float, domain: str, style: int | None = None) -> str:
        r = self.r
        k = r.randrange(5) if style is None else style
        if k == 0:
            ts = time.strftime("%Y%m%d%H%M%S", time.gmtime(t))
            return f"{ts}.{self.hexs(12).upper()}@{domain}"
        if k == 1:
            return f"CA{self.b64s(10)}{self.hexs(20)}@mail.{domain}"
        if k == 2:
            h = self.hexs(32)
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}@{domain}"
        if k == 3:
            return f"0102{self.hexs(12)}-{self.hexs(8)}-{self.hexs(4)}-000000@email.ses.{domain}"
        return f"{self.hexs(16)}.{r.randrange(1000, 99999)}@{domain}"

    # ---- world -----------------------------------------------------------------------
    def _build_world(self):
        r = self.r
        # our mailboxes
        users = []
        for f in FIRST:
            users.append(f"{f}@{OUR_DOMAINS[0]}")
        for _ in range(110):
            users.append(f"{r.choice(FIRST)}.{r.choice(LAST)}@{r.choice(OUR_DOMAINS)}")
        users += [f"{x}@{OUR_DOMAINS[0]}" for x in ROLES[:8]]
        self.users = list(dict.fromkeys(users))
        self.submitters = self.users[: len(FIRST) + 60]
        # remote domains
        doms = ["example.com", "example.net", "example.org"]
        seen = set(doms)
        while len(doms) < 220:
            d = r.choice(WORDS) + r.choice(SUFFIX) + r.choice(TLDS)
            if d not in seen and not d.startswith("-"):
                seen.add(d)
                doms.append(d)
        self.remote_domains = doms
        ipn = [0]

        def mx_ip():
            ipn[0] += 1
            if r.random() < 0.08:
                return f"2001:db8:{r.randrange(0x100, 0xffff):x}::{r.randrange(1, 0xfff):x}"
            return f"203.0.113.{r.randrange(1, 150)}"  # .150-.254 are spam sources

        dests, weights = [], []
        gm = Dest("gmail.test", [("gmail-smtp-in.l.google.test", "203.0.113.26"),
                                 ("alt1.gmail-smtp-in.l.google.test", "203.0.113.27")], "gmail",
                  p_unknown=0.012)
        dests.append(gm), weights.append(24.0)
        for d in ("outlook.test", "hotmail.test"):
            dests.append(Dest(d, [(f"{d.replace('.', '-')}.olc.protection.outlook.test",
                                   f"203.0.113.{40 + len(dests)}")], "ms", p_unknown=0.01))
            weights.append(7.0)
        dests.append(Dest("yahoo.test", [("mta5.am0.yahoodns.test", "203.0.113.60"),
                                         ("mta6.am0.yahoodns.test", "203.0.113.61")], "yahoo"))
        weights.append(4.0)
        self.dest_by_domain = {}
        for i, d in enumerate(doms):
            k = r.random() if i >= 3 else 1.0  # example.com/net/org run their own MX
            if k < 0.22:
                mxs = [(f"{d.replace('.', '-')}.mail.protection.outlook.test", mx_ip())]
                kind = "m365"
            else:
                n_mx = 1 if r.random() < 0.6 else 2
                mxs = [(f"mx{j + 1}.{d}" if r.random() < 0.7 else f"mail{j or ''}.{d}", mx_ip())
                       for j in range(n_mx)]
                kind = "tail"
            dest = Dest(d, mxs, kind, greylist=(kind == "tail" and r.random() < 0.2),
                        p_unknown=0.03)
            dests.append(dest)
            weights.append(8.0 / (i + 3) ** 0.6 + 0.05)
        self.dests = dests
        for d in dests:
            self.dest_by_domain[d.domain] = d
        self.nx_dest = Dest("nosuch-domain.test", [], "nx")
        acc, cum = 0.0, []
        for w in weights:
            acc += w
            cum.append(acc)
        self.dest_cum, self.dest_total = cum, acc
        # inbound senders: a remote server per domain (fixed rDNS/IP), big providers
        self.senders = []
        for d in doms:
            ip = (f"198.51.100.{r.randrange(1, 255)}" if r.random() < 0.93 else
                  f"2001:db8:{r.randrange(0x100, 0xffff):x}::{r.randrange(1, 0xff):x}")
            if r.random() < 0.2:
                name = "unknown"
            else:
                name = r.choice(("mail", "mx", "smtp", "out", "mta1", "bounce")) + "." + d
            helo = name if name != "unknown" else f"mail.{d}"
            self.senders.append((d, name, ip, helo))
        for i in range(6):
            ip = f"198.51.100.{200 + i}"
            self.senders.append(("gmail.test", f"mail-ej1-f{40 + i}.google.test", ip,
                                 f"mail-ej1-f{40 + i}.google.test"))
        # clients for submission and spam sources
        self.user_ips = [f"192.0.2.{i}" for i in range(100, 250)]
        self.bad_ips = [f"198.51.100.{i}" for i in range(1, 255)] + \
                       [f"203.0.113.{i}" for i in range(150, 255)]
        # incidents -> destinations
        for inc in self.incidents:
            if inc.kind in ("521_burst", "deferral_buildup"):
                d = self.dest_by_domain.get(inc.entity)
                if d is None:
                    d = Dest(inc.entity, [(f"mx1.{inc.entity}", mx_ip()),
                                          (f"mx2.{inc.entity}", mx_ip())], "tail")
                    self.dest_by_domain[inc.entity] = d
                d.incident_prone = True
                inc.details["mx"] = [h for h, _ in d.mxs]
            elif inc.kind == "microsoft_block":
                ms = [d for d in self.dests if d.kind in MS_KINDS]
                for d in ms:
                    d.incident_prone = True
                inc.details["domains"] = [d.domain for d in ms if d.kind == "ms"] + \
                    ["*.mail.protection.outlook.test tenants"]

    def pick_dest(self, exclude_prone=False) -> Dest:
        r = self.r
        for _ in range(10):
            d = self.dests[bisect.bisect_left(self.dest_cum, r.random() * self.dest_total)]
            if not (exclude_prone and d.incident_prone):
                return d
        return self.dests[-1]

    def remote_addr(self, domain: str) -> str:
        r = self.r
        k = r.random()
        if k < 0.55:
            lp = f"{r.choice(FIRST)}.{r.choice(LAST)}"
        elif k < 0.8:
            lp = f"{r.choice(FIRST)}{r.randrange(1, 99)}"
        else:
            lp = r.choice(ROLES)
        return f"{lp}@{domain}"

    def dest_incident(self, dest: Dest, t: float):
        if not dest.incident_prone:
            return None
        for inc in self.incidents:
            if inc.start <= t < inc.end:
                k = inc.kind
                if k == "microsoft_block" and dest.kind in MS_KINDS:
                    return inc
                if k in ("521_burst", "deferral_buildup") and inc.entity == dest.domain:
                    return inc
        return None

    def dest_outcome(self, dest: Dest, t: float, prev: str | None, final: bool) -> tuple:
        """The outcome of one connection attempt to a destination, and the incident."""
        inc = self.dest_incident(dest, t)
        r = self.r.random
        if inc is not None:
            if inc.kind == "521_burst":
                return "g521", inc
            if inc.kind == "deferral_buildup":
                return ("rate421" if r() < 0.6 else "tmp451"), inc
            return "msblock", inc
        if dest.kind == "nx":
            return "nxdomain", None
        if final:
            return "sent", None
        if prev is not None:
            if prev == "grey":
                return ("sent" if r() < 0.92 else "grey"), None
            if dest.incident_prone:  # the incident is over: the destination has recovered
                return "sent", None
            return ("sent" if r() < 0.6 else prev), None
        x = r()
        if dest.greylist and x < 0.55:
            return "grey", None
        x = r()
        k = dest.kind
        if k == "gmail":
            if x < 0.008:
                return "dmarc", None
            if x < 0.011:
                return "rate421", None
        elif k in MS_KINDS:
            if x < 0.003:
                return "msblock", None
        elif k == "tail" and not dest.incident_prone:  # keep incident destinations clean
            if x < 0.010:
                return "refused", None
            if x < 0.017:
                return "timeout", None
            if x < 0.019:
                return "g521", None
            if x < 0.021:
                return "tmp451", None
        return "sent", None

    # ---- units -----------------------------------------------------------------------
    def commit(self, remaining: int) -> int:
        """Add the unit built in self.u if it fits; return the number of lines added."""
        u, hits = self.u, self.hits
        self.u, self.hits = [], []
        n = len(u)
        if n == 0 or n > remaining:
            return 0
        end, start = self.end, self.start
        for t, _ in u:
            if t >= end or t < start:
                return 0
        if self.silence:
            for t, _ in u:
                if self.in_silence(t):
                    return 0
        self.ev.extend(u)
        for inc, k in hits:
            inc.lines += k
        return n

    def run(self) -> None:
        remaining = self.n
        # incidents first, limited to a share of the budget
        for inc in self.incidents:
            if inc.kind == "silence" or inc.end <= self.start or inc.start >= self.end:
                continue
            inc.start = max(inc.start, self.start)
            inc.end = min(inc.end, self.end)
            budget = max(0, int(self.n * 0.15))
            remaining -= self.incident_units(inc, min(budget, remaining))
        got = self.scheduled_units(remaining)
        remaining -= got
        unit_fns, cum, total = self.unit_table()
        r = self.r.random
        misses = failed = 0
        while remaining > 0:
            if misses > 30:
                self.u, self.hits = [], []
                self.filler()
                got = self.commit(remaining)
                if got == 0:
                    failed += 1
                    if failed > 10000:
                        raise RuntimeError("cannot place the last lines; widen the window")
                    continue
                remaining -= got
                misses = 0
                continue
            fn = unit_fns[bisect.bisect_left(cum, r() * total)]
            self.u, self.hits = [], []
            fn()
            got = self.commit(remaining)
            if got:
                remaining -= got
                misses = 0
            else:
                misses += 1
        for inc in self.incidents:
            if inc.kind == "silence":
                inc.start = max(inc.start, self.start)
                inc.end = min(inc.end, self.end)

    def incident_units(self, inc: Incident, budget: int) -> int:
        return 0

    def scheduled_units(self, remaining: int) -> int:
        return 0

    def count_incident(self, kind):
        pass

    # ---- output ----------------------------------------------------------------------
    def write(self, out: IO[str], style: str) -> None:
        ev = self.ev
        ev.sort(key=lambda e: e[0])
        cache: dict = {}
        host = self.host
        buf = []
        gm = time.gmtime
        if style == "syslog":
            for t, text in ev:
                s = int(t)
                p = cache.get(s)
                if p is None:
                    g = gm(s)
                    p = f"{MONTHS[g.tm_mon - 1]} {g.tm_mday:2d} {g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} {host} "
                    cache[s] = p
                buf.append(p + text)
                if len(buf) >= 20000:
                    out.write("\n".join(buf) + "\n")
                    buf = []
        elif style == "rfc3339":
            for t, text in ev:
                s = int(t)
                p = cache.get(s)
                if p is None:
                    g = gm(s)
                    p = (f"{g.tm_year}-{g.tm_mon:02d}-{g.tm_mday:02d}T{g.tm_hour:02d}:"
                         f"{g.tm_min:02d}:{g.tm_sec:02d}")
                    cache[s] = p
                us = int((t - s) * 1e6)
                buf.append(f"{p}.{us:06d}+00:00 {host} {text}")
                if len(buf) >= 20000:
                    out.write("\n".join(buf) + "\n")
                    buf = []
        else:  # exim
            for t, text in ev:
                s = int(t)
                p = cache.get(s)
                if p is None:
                    g = gm(s)
                    p = (f"{g.tm_year}-{g.tm_mon:02d}-{g.tm_mday:02d} {g.tm_hour:02d}:"
                         f"{g.tm_min:02d}:{g.tm_sec:02d} ")
                    cache[s] = p
                buf.append(p + text)
                if len(buf) >= 20000:
                    out.write("\n".join(buf) + "\n")
                    buf = []
        if buf:
            out.write("\n".join(buf) + "\n")


def _counts(items) -> str:
    """Postfix disconnect command counts: [('ehlo',1,1), ('rcpt',0,1)] -> 'ehlo=1 rcpt=0/1 commands=1/2'."""
    parts, ok_all, tot_all = [], 0, 0
    for name, ok, tot in items:
        if tot == 0:
            continue
        parts.append(f"{name}={ok}" if ok == tot else f"{name}={ok}/{tot}")
        ok_all += ok
        tot_all += tot
    parts.append(f"commands={ok_all}" if ok_all == tot_all else f"commands={ok_all}/{tot_all}")
    return " ".join(parts)


# ======================================================================================
# Postfix


class _Postfix(_Gen):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.smtpd = _Pool(self, 12)
        self.subm = _Pool(self, 4)
        self.smtp = _Pool(self, 10)
        self.cleanup_pids = [self.new_pid(self.start) for _ in range(4)]
        self.lmtp_pids = [self.new_pid(self.start) for _ in range(4)]
        self.local_pids = [self.new_pid(self.start) for _ in range(2)]
        self.bounce_pids = [self.new_pid(self.start) for _ in range(2)]
        self.dnsblog_pids = [self.new_pid(self.start) for _ in range(4)]
        self.opendkim_pid = self.new_pid(self.start)
        self.amavis_pids = [self.new_pid(self.start) for _ in range(3)]
        self.qmgr = self.new_pid(self.start)
        self.postscreen = self.new_pid(self.start)
        self.pickup = self.new_pid(self.start)
        self.anvil = self.new_pid(self.start)
        self.dovecot_lmtp = [self.new_pid(self.start) for _ in range(3)]
        self.lmtp_relay = f"{self.fqdn}[private/dovecot-lmtp]"

    def unit_table(self):
        table = (
            (self.u_inbound, 31.0),
            (self.u_reject, 11.0),
            (self.u_postscreen_block, 12.0),
            (self.u_lost, 8.0),
            (self.u_sasl_fail, 3.0),
            (self.u_submission, 15.0),
            (self.u_pickup, 2.0),
            (self.u_dovecot, 2.5),
            (self.u_stats, 0.4),
        )
        fns, cum, acc = [], [], 0.0
        for fn, w in table:
            acc += w
            fns.append(fn)
            cum.append(acc)
        return fns, cum, acc

    # -- helpers -----------------------------------------------------------------------
    def add(self, t, text):
        self.u.append((t, text))

    def session(self, prog: str, pool: _Pool, lines: list) -> None:
        pid = pool.get(lines[0][0], lines[-1][0] + 0.001)
        tag = f"{prog}[{pid}]: "
        u = self.u
        for t, body in lines:
            u.append((t, tag + body))

    def ps_connect(self, t, ip, port):
        self.add(t, f"postfix/postscreen[{self.postscreen}]: CONNECT from [{ip}]:{port} to [{MY_IP}]:25")

    def tls_line(self, t, who, inbound=True):
        r = self.r.random()
        proto = TLS13 if r < 0.7 else (TLS13b if r < 0.88 else TLS12)
        if inbound:
            return f"Anonymous TLS connection established from {who}: {proto}"
        trust = "Trusted" if r < 0.5 else ("Verified" if r < 0.6 else "Untrusted")
        return f"{trust} TLS connection established to {who}: {proto}"

    def spam_sender(self):
        r = self.r
        ip = r.choice(self.bad_ips)
        dom = r.choice(self.remote_domains)
        name = "unknown" if r.random() < 0.7 else f"{ip.replace('.', '-')}.dyn.{r.choice(self.remote_domains)}"
        helo = r.choice(SPAM_HELO).format(ip=ip, dom=dom)
        return ip, name, helo, dom

    # -- inbound ------------------------------------------------------------------------
    def postscreen_pass(self, t, ip):
        r = self.r
        port = r.randrange(1024, 65535)
        self.ps_connect(t, ip, port)
        if r.random() < 0.85:
            t = self.adv(t, 0.001 + r.random() * 0.01)
            self.add(t, f"postfix/postscreen[{self.postscreen}]: PASS OLD [{ip}]:{port}")
        else:
            t = self.adv(t, 0.05 + r.random() * 0.2)
            if r.random() < 0.3:
                self.add(t, f"postfix/dnsblog[{r.choice(self.dnsblog_pids)}]: addr {ip} listed by "
                            f"domain list.dnswl.org as 127.0.{r.randrange(3, 16)}.{r.randrange(0, 3)}")
                t = self.adv(t, 0.01)
            t = self.adv(t, 5.0 + r.random() * 1.5)
            self.add(t, f"postfix/postscreen[{self.postscreen}]: PASS NEW [{ip}]:{port}")
        return self.adv(t, 0.002 + r.random() * 0.02)

    def u_inbound(self):
        r = self.r
        rand = r.random
        t = self.pick_time()
        dom, name, ip, helo = r.choice(self.senders)
        t = self.postscreen_pass(t, ip)
        who = f"{name}[{ip}]"
        s = [(t, f"connect from {who}")]
        tls = rand() < 0.85
        if tls:
            t = self.adv(t, 0.05 + rand() * 0.15)
            s.append((t, self.tls_line(t, who)))
        nmsg = 1 if rand() < 0.92 else r.randrange(2, 4)
        counts_rcpt_ok = counts_rcpt = 0
        for _ in range(nmsg):
            t = self.adv(t, 0.1 + rand() * 0.6)
            sender = self.remote_addr(dom) if rand() < 0.97 else ""
            nr = 1 if rand() < 0.85 else r.randrange(2, 5)
            rcpts = [r.choice(self.users) for _ in range(nr)]
            rcpts = list(dict.fromkeys(rcpts))
            qid = self.new_qid(t)
            s.append((t, f"{qid}: client={who}"))
            counts_rcpt_ok += len(rcpts)
            counts_rcpt += len(rcpts)
            if len(rcpts) > 1 and rand() < 0.1:
                bad = f"{r.choice(FIRST)}{r.randrange(1, 999)}@{OUR_DOMAINS[0]}"
                t = self.adv(t, 0.05)
                s.append((t, f"{qid}: reject: RCPT from {who}: 550 5.1.1 <{bad}>: Recipient "
                             f"address rejected: User unknown in virtual mailbox table; "
                             f"from=<{sender}> to=<{bad}> proto=ESMTP helo=<{helo}>"))
                counts_rcpt += 1
            t = self.adv(t, 0.2 + rand() * 2.0)
            mid = self.msgid(t, dom)
            self.add(t, f"postfix/cleanup[{r.choice(self.cleanup_pids)}]: {qid}: message-id=<{mid}>")
            size = int(min(2.5e7, max(600, r.lognormvariate(8.8, 1.1))))
            if rand() < 0.25:
                t = self.adv(t, 0.05 + rand() * 0.1)
                self.add(t, f"opendkim[{self.opendkim_pid}]: {qid}: DKIM verification successful"
                            if rand() < 0.8 else
                            f"opendkim[{self.opendkim_pid}]: {qid}: {name} [{ip}] not internal")
            if rand() < 0.012:
                t = self.adv(t, 0.3 + rand() * 2)
                if rand() < 0.5:
                    self.add(t, f"amavis[{r.choice(self.amavis_pids)}]: ({r.randrange(10000, 99999)}-"
                                f"{r.randrange(1, 30):02d}) Blocked SPAM {{RejectedInbound}}, [{ip}]:"
                                f"{r.randrange(1024, 65535)} [{ip}] <{sender}> -> <{rcpts[0]}>, "
                                f"Queue-ID: {qid}, Message-ID: <{mid}>, mail_id: {self.b64s(12)}, "
                                f"Hits: {5 + rand() * 20:.3f}, size: {size}, {r.randrange(300, 4000)} ms")
                t = self.adv(t, 0.01)
                self.add(t, f"postfix/cleanup[{r.choice(self.cleanup_pids)}]: {qid}: milter-reject: "
                            f"END-OF-MESSAGE from {who}: 5.7.1 Message rejected as spam; "
                            f"from=<{sender}> to=<{rcpts[0]}> proto=ESMTP helo=<{helo}>")
                continue
            if rand() < 0.15:
                t = self.adv(t, 0.3 + rand() * 1.5)
                self.add(t, f"amavis[{r.choice(self.amavis_pids)}]: ({r.randrange(10000, 99999)}-"
                            f"{r.randrange(1, 30):02d}) Passed CLEAN {{RelayedInbound}}, [{ip}]:"
                            f"{r.randrange(1024, 65535)} [{ip}] <{sender}> -> <{'>,<'.join(rcpts)}>, "
                            f"Queue-ID: {qid}, Message-ID: <{mid}>, mail_id: {self.b64s(12)}, "
                            f"Hits: {-3 + rand() * 6:.3f}, size: {size}, {r.randrange(200, 3000)} ms")
            t = self.adv(t, 0.01 + rand() * 0.1)
            self.add(t, f"postfix/qmgr[{self.qmgr}]: {qid}: from=<{sender}>, size={size}, "
                        f"nrcpt={len(rcpts)} (queue active)")
            groups = []
            if rand() < 0.04 and len(rcpts) == 1:
                # a virtual alias forwarding to an outside mailbox
                d = self.pick_dest(exclude_prone=True)
                groups.append((d, [(self.remote_addr(d.domain), rcpts[0])]))
            else:
                groups.append(("lmtp", [(a, None) for a in rcpts]))
            self.deliver(qid, t, t - 0.5, sender, size, mid, groups)
        t = self.adv(t, 0.05 + rand() * 0.3)
        quit_ = rand() < 0.93
        items = [("ehlo", 2 if tls else 1, 2 if tls else 1), ("starttls", int(tls), int(tls)),
                 ("mail", nmsg, nmsg), ("rcpt", counts_rcpt_ok, counts_rcpt),
                 ("data", nmsg, nmsg), ("quit", int(quit_), int(quit_))]
        s.append((t, f"disconnect from {who} {_counts(items)}"))
        self.session("postfix/smtpd", self.smtpd, s)

    def u_reject(self):
        r = self.r
        rand = r.random
        t = self.pick_time(diurnal=False)
        ip, name, helo, dom = self.spam_sender()
        if rand() < 0.4:
            _dom2, name, ip, helo = r.choice(self.senders)
        t = self.postscreen_pass(t, ip)
        who = f"{name}[{ip}]"
        s = [(t, f"connect from {who}")]
        tls = rand() < 0.4
        if tls:
            t = self.adv(t, 0.1 + rand() * 0.2)
            s.append((t, self.tls_line(t, who)))
        t = self.adv(t, 0.2 + rand() * 1.0)
        sender = self.remote_addr(dom)
        nrc = 1 if rand() < 0.8 else r.randrange(2, 6)
        k = rand()
        items = [("ehlo", 2 if tls else 1, 2 if tls else 1), ("starttls", int(tls), int(tls)),
                 ("mail", 1, 1)]
        for i in range(nrc):
            if k < 0.4:
                rc = f"{r.choice(FIRST)}{r.randrange(1, 999)}@{r.choice(OUR_DOMAINS)}"
                txt = (f"550 5.1.1 <{rc}>: Recipient address rejected: User unknown in virtual "
                       f"mailbox table")
            elif k < 0.6:
                rc = self.remote_addr(r.choice(self.remote_domains))
                txt = f"554 5.7.1 <{rc}>: Relay access denied"
            elif k < 0.78:
                rc = r.choice(self.users)
                txt = (f"554 5.7.1 Service unavailable; Client host [{ip}] blocked using "
                       f"zen.spamhaus.org; https://www.spamhaus.org/query/ip/{ip}")
            elif k < 0.9:
                rc = r.choice(self.users)
                txt = (f"450 4.2.0 <{rc}>: Recipient address rejected: Greylisted, see "
                       f"http://postgrey.schweikert.ch/help/{rc.split('@')[1]}.html")
            else:
                rc = r.choice(self.users)
                txt = f"450 4.7.25 Client host rejected: cannot find your hostname, [{ip}]"
            s.append((t, f"NOQUEUE: reject: RCPT from {who}: {txt}; from=<{sender}> to=<{rc}> "
                         f"proto=ESMTP helo=<{helo}>"))
            t = self.adv(t, 0.05 + rand() * 0.2)
        items.append(("rcpt", 0, nrc))
        data = rand() < 0.3
        items.append(("data", 0, int(data)))
        rset = rand() < 0.3
        items.append(("rset", int(rset), int(rset)))
        quit_ = rand() < 0.75
        items.append(("quit", int(quit_), int(quit_)))
        t = self.adv(t, 0.05 + rand() * 0.5)
        s.append((t, f"disconnect from {who} {_counts(items)}"))
        self.session("postfix/smtpd", self.smtpd, s)

    def u_postscreen_block(self):
        r = self.r
        rand = r.random
        t = self.pick_time(diurnal=False)
        ip, _name, helo, dom = self.spam_sender()
        port = r.randrange(1024, 65535)
        ps = f"postfix/postscreen[{self.postscreen}]: "
        self.ps_connect(t, ip, port)
        k = rand()
        if k < 0.45:
            lists = [("zen.spamhaus.org", f"127.0.0.{r.choice((2, 3, 4, 9, 10, 11))}"),
                     ("b.barracudacentral.org", "127.0.0.2"), ("bl.spamcop.net", "127.0.0.2")]
            n = r.randrange(1, 4)
            for d, a in lists[:n]:
                t = self.adv(t, 0.01 + rand() * 0.05)
                self.add(t, f"postfix/dnsblog[{r.choice(self.dnsblog_pids)}]: addr {ip} listed by "
                            f"domain {d} as {a}")
            if rand() < 0.3:
                t = self.adv(t, 0.1 + rand() * 0.3)
                self.add(t, f"{ps}PREGREET {len(helo) + 7} after {rand() * 0.8:.2f} from "
                            f"[{ip}]:{port}: EHLO {helo}\\r\\n")
            t = self.adv(t, 5.5 + rand() * 0.5)
            self.add(t, f"{ps}DNSBL rank {n + r.randrange(1, 4)} for [{ip}]:{port}")
            if rand() < 0.7:
                t = self.adv(t, 0.5 + rand() * 2)
                rc = r.choice(self.users)
                self.add(t, f"{ps}NOQUEUE: reject: RCPT from [{ip}]:{port}: 550 5.7.1 Service "
                            f"unavailable; client [{ip}] blocked using zen.spamhaus.org; "
                            f"from=<{self.remote_addr(dom)}>, to=<{rc}>, proto=ESMTP, helo=<{helo}>")
        elif k < 0.75:
            t = self.adv(t, 0.05 + rand() * 0.4)
            self.add(t, f"{ps}PREGREET {len(helo) + 7} after {rand() * 0.4:.2f} from "
                        f"[{ip}]:{port}: EHLO {helo}\\r\\n")
        else:
            t = self.adv(t, 0.2 + rand() * 3)
            self.add(t, f"{ps}HANGUP after {rand() * 4:.1f} from [{ip}]:{port} in tests before "
                        f"SMTP handshake")
        t = self.adv(t, 0.001 + rand() * 0.3)
        self.add(t, f"{ps}DISCONNECT [{ip}]:{port}")

    def u_lost(self):
        r = self.r
        rand = r.random
        t = self.pick_time(diurnal=False)
        ip, name, helo, _dom = self.spam_sender()
        t = self.postscreen_pass(t, ip)
        who = f"{name}[{ip}]"
        s = [(t, f"connect from {who}")]
        k = rand()
        if k < 0.25:
            t = self.adv(t, 0.1 + rand())
            s.append((t, f"lost connection after CONNECT from {who}"))
            items = []
        elif k < 0.45:
            t = self.adv(t, 0.1 + rand())
            s.append((t, f"lost connection after EHLO from {who}"))
            items = [("ehlo", 1, 1)]
        elif k < 0.6:
            t = self.adv(t, 0.2 + rand())
            tls = rand() < 0.5
            if tls:
                s.append((t, self.tls_line(t, who)))
                t = self.adv(t, 0.3)
            s.append((t, f"lost connection after AUTH from {who}"))
            items = [("ehlo", 1 + tls, 1 + tls), ("starttls", int(tls), int(tls)), ("auth", 0, 1)]
        elif k < 0.72:
            t = self.adv(t, 0.1 + rand())
            cmd = r.choice(NONSMTP)
            s.append((t, f"warning: non-SMTP command from {who}: {cmd}"))
            items = [("unknown", 0, 1)]
        elif k < 0.8:
            t = self.adv(t, 0.1 + rand())
            s.append((t, f"improper command pipelining after CONNECT from {who}: EHLO {helo}\\r\\n"))
            t = self.adv(t, 0.1)
            s.append((t, f"lost connection after EHLO from {who}"))
            items = [("ehlo", 1, 1)]
        elif k < 0.9:
            t = self.adv(t, 300.0)
            s.append((t, f"timeout after {r.choice(('CONNECT', 'EHLO', 'DATA (0 bytes)', 'RCPT'))} "
                         f"from {who}"))
            items = [("ehlo", 1, 1)]
        else:
            t = self.adv(t, 0.5 + rand())
            s.append((t, f"too many errors after RCPT from {who}"))
            items = [("ehlo", 1, 1), ("mail", 1, 1), ("rcpt", 0, 5)]
        t = self.adv(t, 0.001 + rand() * 0.01)
        s.append((t, f"disconnect from {who} {_counts(items)}"))
        self.session("postfix/smtpd", self.smtpd, s)

    def sasl_attempt(self, t, ip, name=None):
        r = self.r
        rand = r.random
        name = name or "unknown"
        who = f"{name}[{ip}]"
        sub = rand() < 0.6
        prog, pool = (("postfix/submission/smtpd", self.subm) if sub else
                      ("postfix/smtpd", self.smtpd))
        if not sub:
            t = self.postscreen_pass(t, ip)
        s = [(t, f"connect from {who}")]
        tls = sub or rand() < 0.3
        if tls:
            t = self.adv(t, 0.1 + rand() * 0.1)
            s.append((t, self.tls_line(t, who)))
        t = self.adv(t, 0.5 + rand() * 2.5)
        mech = "LOGIN" if rand() < 0.7 else "PLAIN"
        user = r.choice(BRUTE_NAMES)
        if rand() < 0.6:
            user += "@" + r.choice(OUR_DOMAINS)
        reason = "UGFzc3dvcmQ6" if mech == "LOGIN" else "authentication failure"
        s.append((t, f"warning: {who}: SASL {mech} authentication failed: {reason}, "
                     f"sasl_username={user}"))
        t = self.adv(t, 0.01 + rand() * 0.05)
        e = 1 + tls
        if rand() < 0.6:
            s.append((t, f"lost connection after AUTH from {who}"))
            items = [("ehlo", e, e), ("starttls", int(tls), int(tls)), ("auth", 0, 1)]
        else:
            items = [("ehlo", e, e), ("starttls", int(tls), int(tls)), ("auth", 0, 1),
                     ("rset", 1, 1), ("quit", 1, 1)]
        t = self.adv(t, 0.001 + rand() * 0.01)
        s.append((t, f"disconnect from {who} {_counts(items)}"))
        self.session(prog, pool, s)
        return t

    def u_sasl_fail(self):
        t = self.pick_time(diurnal=False)
        self.sasl_attempt(t, self.r.choice(self.bad_ips))

    # -- outbound -----------------------------------------------------------------------
    def u_submission(self, t=None, dest=None):
        r = self.r
        rand = r.random
        if t is None:
            t = self.pick_time()
        user = r.choice(self.submitters)
        ip = r.choice(self.user_ips)
        who = f"unknown[{ip}]"
        s = [(t, f"connect from {who}")]
        t = self.adv(t, 0.1 + rand() * 0.2)
        s.append((t, self.tls_line(t, who)))
        t = self.adv(t, 0.3 + rand() * 1.0)
        qid = self.new_qid(t)
        s.append((t, f"{qid}: client={who}, sasl_method={'PLAIN' if rand() < 0.7 else 'LOGIN'}, "
                     f"sasl_username={user}"))
        groups = []
        if dest is None and rand() < 0.07:
            # several destinations: only ones no incident can keep deferring
            for _ in range(r.randrange(2, 4)):
                d = self.pick_dest(exclude_prone=True)
                groups.append((d, [(self.remote_addr(d.domain), None)]))
        else:
            if dest is None:
                d = self.pick_dest()
                if rand() < 0.004:
                    d = self.nx_dest
            else:
                d = dest
            nr = 1 if rand() < 0.85 else r.randrange(2, 5)
            groups.append((d, [(self.remote_addr(d.domain), None) for _ in range(nr)]))
        if dest is None and rand() < 0.08 and not any(g[0].incident_prone for g in groups):
            groups.append(("lmtp", [(r.choice(self.users), None)]))
        # merge duplicate destinations
        merged: dict = {}
        for d, rc in groups:
            key = d if d == "lmtp" else d.domain
            if key in merged:
                merged[key][1].extend(rc)
            else:
                merged[key] = (d, list(rc))
        groups = list(merged.values())
        nrcpt = sum(len(g[1]) for g in groups)
        t = self.adv(t, 0.3 + rand() * 2.0)
        mid = self.msgid(t, user.split("@")[1], style=r.choice((0, 2, 4)))
        self.add(t, f"postfix/cleanup[{r.choice(self.cleanup_pids)}]: {qid}: message-id=<{mid}>")
        if rand() < 0.45:
            t = self.adv(t, 0.01 + rand() * 0.05)
            self.add(t, f"opendkim[{self.opendkim_pid}]: {qid}: DKIM-Signature field added "
                        f"(s=mail, d={user.split('@')[1]})")
        size = int(min(2.0e7, max(500, r.lognormvariate(8.5, 1.3))))
        t = self.adv(t, 0.01 + rand() * 0.05)
        self.add(t, f"postfix/qmgr[{self.qmgr}]: {qid}: from=<{user}>, size={size}, "
                    f"nrcpt={nrcpt} (queue active)")
        self.deliver(qid, t, t - 0.3, user, size, mid, groups)
        t = self.adv(t, 0.05 + rand() * 0.2)
        quit_ = rand() < 0.9
        items = [("ehlo", 2, 2), ("starttls", 1, 1), ("auth", 1, 1), ("mail", 1, 1),
                 ("rcpt", nrcpt, nrcpt), ("data", 1, 1), ("quit", int(quit_), int(quit_))]
        s.append((t, f"disconnect from {who} {_counts(items)}"))
        self.session("postfix/submission/smtpd", self.subm, s)

    def u_pickup(self):
        r = self.r
        rand = r.random
        t = self.pick_time(diurnal=False)
        qid = self.new_qid(t)
        k = rand()
        if k < 0.6:
            uid, local = 0, "root"
        elif k < 0.85:
            uid, local = 33, "www-data"
        else:
            uid, local = 1000, "backup"
        self.add(t, f"postfix/pickup[{self.pickup}]: {qid}: uid={uid} from=<{local}>")
        t = self.adv(t, 0.01 + rand() * 0.05)
        mid = self.msgid(t, self.fqdn, style=0)
        self.add(t, f"postfix/cleanup[{r.choice(self.cleanup_pids)}]: {qid}: message-id=<{mid}>")
        t = self.adv(t, 0.01 + rand() * 0.05)
        sender = f"{local}@{self.fqdn}"
        size = r.randrange(500, 6000)
        self.add(t, f"postfix/qmgr[{self.qmgr}]: {qid}: from=<{sender}>, size={size}, "
                    f"nrcpt=1 (queue active)")
        if uid == 33:
            d = self.pick_dest()
            groups = [(d, [(self.remote_addr(d.domain), None)])]
        elif rand() < 0.5:
            groups = [("local", [(f"root@{self.fqdn}", "root")])]
        else:
            groups = [("lmtp", [(f"admin@{OUR_DOMAINS[0]}", f"root@{self.fqdn}")])]
        self.deliver(qid, t, t - 0.1, sender, size, mid, groups)

    # -- delivery engine ------------------------------------------------------------------
    def deliver(self, qid, t, arrival, sender, size, mid, groups, notice=False):
        """All delivery attempts of one message; ends with 'removed' when nothing is left."""
        r = self.r
        rand = r.random
        pending = groups  # list of (dest, [(rcpt, orig), ...])
        prev: dict = {}  # (dest key) -> previous outcome
        prev_reason: dict = {}
        rcpt_state: dict = {}  # rcpt -> 'full' for recipient-level deferrals
        attempt = 0
        done_any = False
        bounced = False
        warned = False
        tq = t  # time the message entered the active queue this round
        final = False
        while True:
            t = tq
            new_pending = []
            for dest, rcpts in pending:
                if dest == "lmtp" or dest == "local":
                    t, left, nb = self.local_attempt(qid, t, arrival, tq, dest, rcpts, rcpt_state,
                                                     final, mid)
                else:
                    t, left, nb = self.remote_attempt(qid, t, arrival, tq, dest, rcpts, prev,
                                                      prev_reason, rcpt_state, final, size, sender,
                                                      mid)
                if nb:
                    bounced = True
                if len(left) < len(rcpts):
                    done_any = True
                if left:
                    new_pending.append((dest, left))
            pending = new_pending
            attempt += 1
            if not pending:
                break
            # retry schedule: minimal_backoff 300s, doubling up to 4000s, queue_run_delay 300s
            back = min(4000.0, 300.0 * 2 ** (attempt - 1)) + rand() * 300.0
            nt = self.adv(t, back)
            if nt > self.end_limit - 30:
                if not done_any:
                    return  # still queued at the end of the log
                span = self.end_limit - 30 - t
                if span < 2:
                    return
                nt = self.adv(t, span * (0.3 + 0.5 * rand()))
                final = True
            if (not warned and not notice and sender and nt - arrival > 4 * 3600
                    and nt < self.end_limit - 120):
                warned = True
                self.notice(qid, t + 1.0 + rand() * 5, sender, "delay")
            tq = nt
            nrcpt = sum(len(x[1]) for x in pending)
            self.add(tq, f"postfix/qmgr[{self.qmgr}]: {qid}: from=<{sender}>, size={size}, "
                         f"nrcpt={nrcpt} (queue active)")
        t = self.adv(t, 0.001 + rand() * 0.01)
        if bounced and sender and not notice:
            t = self.notice(qid, t, sender, "non-delivery")
        t = self.adv(t, 0.001 + rand() * 0.01)
        self.add(t, f"postfix/qmgr[{self.qmgr}]: {qid}: removed")

    def notice(self, qid, t, sender, kind):
        r = self.r
        q2 = self.new_qid(t)
        mid = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime(t))}.{q2}@{self.fqdn}"
        self.add(t, f"postfix/cleanup[{r.choice(self.cleanup_pids)}]: {q2}: message-id=<{mid}>")
        t = self.adv(t, 0.001 + r.random() * 0.005)
        self.add(t, f"postfix/bounce[{r.choice(self.bounce_pids)}]: {qid}: sender {kind} "
                    f"notification: {q2}")
        t2 = self.adv(t, 0.001 + r.random() * 0.005)
        size = r.randrange(2500, 9000)
        self.add(t2, f"postfix/qmgr[{self.qmgr}]: {q2}: from=<>, size={size}, nrcpt=1 (queue active)")
        dom = sender.rsplit("@", 1)[-1]
        if dom in OUR_DOMAINS:
            groups = [("lmtp", [(sender, None)])]
        elif dom == self.fqdn:
            groups = [("local", [(sender, None)])]
        else:
            d = self.dest_by_domain.get(dom) or self.pick_dest(exclude_prone=True)
            groups = [(d, [(sender, None)])]
        self.deliver(q2, t2, t - 0.01, "", size, mid, groups, notice=True)
        return t

    def delays(self, t, arrival, tq, c, d):
        a = max(0.0, tq - arrival)
        b = self.r.random() * 0.02
        total = max(0.0, t - arrival)
        return (f"delay={_fmt_delay(total)}, delays={_fmt_delay(a)}/{_fmt_delay(b)}/"
                f"{_fmt_delay(c)}/{_fmt_delay(d)}")

    def local_attempt(self, qid, t, arrival, tq, dest, rcpts, rcpt_state, final, mid):
        r = self.r
        rand = r.random
        left, nb = [], 0
        for rc, orig in rcpts:
            c, d = 0.0, 0.01 + rand() * 0.15
            t = self.adv(t, 0.01 + d)
            ot = f", orig_to=<{orig}>" if orig else ""
            if dest == "local":
                self.add(t, f"postfix/local[{r.choice(self.local_pids)}]: {qid}: to=<{rc}>{ot}, "
                            f"relay=local, {self.delays(t, arrival, tq, c, d)}, dsn=2.0.0, "
                            f"status=sent (delivered to mailbox)")
                continue
            st = rcpt_state.get(rc)
            full = (st == "full" and not final and rand() < 0.5) or (st is None and rand() < 0.002)
            pid = r.choice(self.lmtp_pids)
            head = f"postfix/lmtp[{pid}]: {qid}: to=<{rc}>{ot}, relay={self.lmtp_relay}, " \
                   f"{self.delays(t, arrival, tq, c, d)}, "
            if full:
                rcpt_state[rc] = "full"
                self.add(t, head + f"dsn=4.2.2, status=deferred (host {self.lmtp_relay} said: 452 "
                                   f"4.2.2 <{rc}> Quota exceeded (mailbox for user is full) "
                                   f"(in reply to RCPT TO command))")
                left.append((rc, orig))
                continue
            sid = self.b64s(22)
            self.add(t, head + f"dsn=2.0.0, status=sent (250 2.0.0 <{rc}> {sid} Saved)")
            if rand() < 0.3:
                self.add(t - 0.0005, f"dovecot: lmtp({rc})<{r.choice(self.dovecot_lmtp)}><{sid}>: "
                                     f"msgid=<{mid}>: saved mail to INBOX")
        return t, left, nb

    def remote_attempt(self, qid, t, arrival, tq, dest, rcpts, prev, prev_reason, rcpt_state,
                       final, size, sender, mid):
        r = self.r
        rand = r.random
        key = dest.domain
        outcome, inc = self.dest_outcome(dest, t, prev.get(key), final)
        prev[key] = outcome
        s = []
        left, nb = [], 0
        mxs = dest.mxs
        c = 0.0
        if outcome == "nxdomain":
            t = self.adv(t, 0.05 + rand() * 0.3)
            c = t - tq
            for rc, orig in rcpts:
                s.append((t, f"{qid}: to=<{rc}>, relay=none, {self.delays(t, arrival, tq, c, 0)}, "
                             f"dsn=5.4.4, status=bounced (Host or domain name not found. Name "
                             f"service error for name={dest.domain} type=A: Host not found)"))
                nb += 1
            self.session("postfix/smtp", self.smtp, s)
            if inc is not None:
                self.hits.append((inc, len(s)))
            return t, left, nb
        # suspended destination: no connection at all
        if (outcome in ("refused", "timeout", "g521", "rate421") and prev_reason.get(key)
                and rand() < 0.35):
            t = self.adv(t, 0.01 + rand() * 0.05)
            for rc, orig in rcpts:
                ot = f", orig_to=<{orig}>" if orig else ""
                s.append((t, f"{qid}: to=<{rc}>{ot}, relay=none, {self.delays(t, arrival, tq, 0, 0)}, "
                             f"dsn={prev_reason[key][0]}, status=deferred (delivery temporarily "
                             f"suspended: {prev_reason[key][1]})"))
                left.append((rc, orig))
            self.session("postfix/smtp", self.smtp, s)
            if inc is not None:
                self.hits.append((inc, len(s)))
            return t, left, nb
        if outcome in ("refused", "timeout"):
            err = "Connection refused" if outcome == "refused" else "Connection timed out"
            wait = 0.01 if outcome == "refused" else 30.0
            reason = ""
            for host, ip in mxs:
                t = self.adv(t, wait + rand() * 0.05)
                reason = f"connect to {host}[{ip}]:25: {err}"
                s.append((t, reason))
            s.pop()
            c = t - tq
            prev_reason[key] = ("4.4.1", reason)
            for rc, orig in rcpts:
                ot = f", orig_to=<{orig}>" if orig else ""
                s.append((t, f"{qid}: to=<{rc}>{ot}, relay=none, {self.delays(t, arrival, tq, c, 0)}, "
                             f"dsn=4.4.1, status=deferred ({reason})"))
                left.append((rc, orig))
            self.session("postfix/smtp", self.smtp, s)
            if inc is not None:
                self.hits.append((inc, len(s)))
            return t, left, nb
        host, ip = mxs[0] if rand() < 0.8 or len(mxs) == 1 else mxs[1]
        relay = f"{host}[{ip}]"
        if outcome == "g521":
            reason = f"host {relay} refused to talk to me: 521 5.3.2 {host} Service not available"
            if len(mxs) > 1:
                for h2, ip2 in mxs:
                    if h2 != host:
                        t = self.adv(t, 0.1 + rand() * 0.3)
                        s.append((t, f"host {h2}[{ip2}] refused to talk to me: 521 5.3.2 {h2} "
                                     f"Service not available"))
            t = self.adv(t, 0.1 + rand() * 0.4)
            c = t - tq
            prev_reason[key] = ("4.3.2", reason)
            for rc, orig in rcpts:
                ot = f", orig_to=<{orig}>" if orig else ""
                s.append((t, f"{qid}: to=<{rc}>{ot}, relay={relay}:25, "
                             f"{self.delays(t, arrival, tq, c, 0)}, dsn=4.3.2, status=deferred ({reason})"))
                left.append((rc, orig))
            self.session("postfix/smtp", self.smtp, s)
            if inc is not None:
                self.hits.append((inc, len(s)))
            return t, left, nb
        t = self.adv(t, 0.05 + rand() * 0.4)
        if rand() < 0.85:
            s.append((t, self.tls_line(t, f"{relay}:25", inbound=False)))
        c = t - tq + 0.01
        d = 0.05 + rand() * 0.6
        t = self.adv(t, d)
        dl = self.delays(t, arrival, tq, c, d)
        k = dest.kind
        if outcome == "sent":
            if k == "gmail":
                reply = (f"250 2.0.0 OK  {int(t)} {self.hexs(10)}si{r.randrange(10**6, 10**7)}."
                         f"{r.randrange(1, 999)} - gsmtp")
            elif k in MS_KINDS:
                reply = (f"250 2.6.0 <{mid}> [InternalId={r.randrange(10**10, 10**11)}, "
                         f"Hostname=AM{r.randrange(0, 9)}PR0{r.randrange(1, 9)}MB{r.randrange(1000, 9999)}"
                         f".eurprd0{r.randrange(1, 9)}.prod.outlook.test] {size + 1500} bytes in "
                         f"{rand() * 0.3:.3f}, {rand() * 500:.3f} KB/sec Queued mail for delivery")
            elif k == "yahoo":
                reply = "250 ok dirdel"
            else:
                reply = f"250 2.0.0 Ok: queued as {self.hexs(11).upper()}"
            for rc, orig in rcpts:
                ot = f", orig_to=<{orig}>" if orig else ""
                st = rcpt_state.get(rc)
                if st is None and not final and rand() < dest.p_unknown:
                    if k == "gmail":
                        why = ("550-5.1.1 The email account that you tried to reach does not exist. "
                               "Please try 550-5.1.1 double-checking the recipient's email address "
                               "for typos or 550-5.1.1 unnecessary spaces. For more information, go "
                               "to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser "
                               f"{self.hexs(10)}si{r.randrange(10**6, 10**7)} - gsmtp")
                    elif k in MS_KINDS:
                        why = (f"550 5.5.0 Requested action not taken: mailbox unavailable "
                               f"({self.hexs(4).upper()})")
                    else:
                        why = (f"550 5.1.1 <{rc}>: Recipient address rejected: User unknown in "
                               f"local recipient table")
                    s.append((t, f"{qid}: to=<{rc}>{ot}, relay={relay}:25, {dl}, dsn=5.1.1, "
                                 f"status=bounced (host {relay} said: {why} (in reply to RCPT TO "
                                 f"command))"))
                    nb += 1
                elif (st == "full" and not final) or (st is None and not final and
                                                      not dest.incident_prone and rand() < 0.003):
                    rcpt_state[rc] = "full" if rand() < 0.6 else "ok"
                    s.append((t, f"{qid}: to=<{rc}>{ot}, relay={relay}:25, {dl}, dsn=4.2.2, "
                                 f"status=deferred (host {relay} said: 452 4.2.2 <{rc}>: Mailbox "
                                 f"full (in reply to RCPT TO command))"))
                    left.append((rc, orig))
                else:
                    s.append((t, f"{qid}: to=<{rc}>{ot}, relay={relay}:25, {dl}, dsn=2.0.0, "
                                 f"status=sent ({reply})"))
            self.session("postfix/smtp", self.smtp, s)
            return t, left, nb
        # the server said no to the whole message
        if outcome == "grey":
            dsn, verb = "4.2.0", "deferred"
            said = [(f"450 4.2.0 <{rc}>: Recipient address rejected: Greylisted, see "
                     f"http://postgrey.schweikert.ch/help/{dest.domain}.html", "RCPT TO")
                    for rc, _ in rcpts]
        elif outcome == "rate421":
            dsn, verb = "4.7.0", "deferred"
            if k == "gmail":
                txt = ("421-4.7.28 Gmail has detected an unusual rate of unsolicited mail from "
                       "your IP address. 421 4.7.28 To protect our users from spam, mail has been "
                       "temporarily rate limited. - gsmtp")
                dsn = "4.7.28"
            else:
                txt = "421 4.7.0 Try again later, closing connection."
            said = [(txt, "MAIL FROM")] * len(rcpts)
        elif outcome == "tmp451":
            dsn, verb = "4.3.0", "deferred"
            said = [(f"451 4.3.0 <{rc}>: Temporary lookup failure, please try again later",
                     "RCPT TO") for rc, _ in rcpts]
        elif outcome == "dmarc":
            dsn, verb = "5.7.26", "bounced"
            dom = sender.rsplit("@", 1)[-1] or self.fqdn
            txt = (f"550-5.7.26 Unauthenticated email from {dom} is not accepted due to "
                   f"domain's 550-5.7.26 DMARC policy. Please contact the administrator of "
                   f"{dom} domain if 550-5.7.26 this was a legitimate mail. To learn about the "
                   f"DMARC initiative, go to 550 5.7.26  "
                   f"https://support.google.com/mail/?p=DmarcRejection {self.hexs(10)}si"
                   f"{r.randrange(10**6, 10**7)} - gsmtp")
            said = [(txt, "end of DATA")] * len(rcpts)
        else:  # msblock
            verb = "bounced"
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000Z"
            srv = (f"{'DB5' if rand() < 0.5 else 'AM4'}PEPF0000{self.hexs(4).upper()}."
                   f"eurprd0{r.randrange(1, 9)}.prod.outlook.test")
            if k == "ms" and rand() < 0.6:
                dsn = "5.7.1"
                txt = (f"550 5.7.1 Unfortunately, messages from [{MY_IP}] weren't sent. Please "
                       f"contact your Internet service provider since part of their network is "
                       f"on our block list (S3150). You can also refer your provider to "
                       f"http://mail.live.com/mail/troubleshooting.aspx#errors. [{srv} {stamp}]")
            else:
                dsn = "5.7.606"
                txt = (f"550 5.7.606 Access denied, banned sending IP [{MY_IP}]. To request "
                       f"removal from this list please visit https://sender.office.com/ and "
                       f"follow the directions. For more information please go to  "
                       f"http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) [{srv} {stamp}]")
            said = [(txt, "MAIL FROM")] * len(rcpts)
        if verb == "deferred":
            prev_reason[key] = (dsn, f"host {relay} said: {said[0][0]} (in reply to "
                                     f"{said[0][1]} command)")
        for (rc, orig), (txt, stage) in zip(rcpts, said):
            ot = f", orig_to=<{orig}>" if orig else ""
            s.append((t, f"{qid}: to=<{rc}>{ot}, relay={relay}:25, {dl}, dsn={dsn}, "
                         f"status={verb} (host {relay} said: {txt} (in reply to {stage} command))"))
            if verb == "deferred":
                left.append((rc, orig))
            else:
                nb += 1
        self.session("postfix/smtp", self.smtp, s)
        if inc is not None:
            self.hits.append((inc, len(s)))
        return t, left, nb

    # -- background -----------------------------------------------------------------------
    def u_dovecot(self):
        r = self.r
        rand = r.random
        t = self.pick_time()
        sess = self.b64s(16)
        if rand() < 0.75:
            user = r.choice(self.users)
            ip = r.choice(self.user_ips)
            pid = self.new_pid(t)
            svc = "imap" if rand() < 0.85 else "pop3"
            self.add(t, f"dovecot: {svc}-login: Login: user=<{user}>, method=PLAIN, rip={ip}, "
                        f"lip={MY_IP}, mpid={pid}, TLS, session=<{sess}>")
            t = self.adv(t, 5 + rand() * 1800)
            if svc == "imap":
                self.add(t, f"dovecot: imap({user})<{pid}><{sess}>: Logged out in={r.randrange(50, 5000)} "
                            f"out={r.randrange(500, 500000)} deleted=0 expunged=0 trashed=0 "
                            f"hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0")
            else:
                self.add(t, f"dovecot: pop3({user})<{pid}><{sess}>: Disconnected: Logged out "
                            f"top=0/0, retr=0/0, del=0/{r.randrange(0, 40)}, size={r.randrange(0, 10**6)}")
        else:
            ip = r.choice(self.bad_ips)
            user = r.choice(BRUTE_NAMES)
            self.add(t, f"dovecot: auth: passwd-file({user},{ip}): unknown user")
            t = self.adv(t, 2 + rand() * 2)
            self.add(t, f"dovecot: imap-login: Disconnected: Connection closed (auth failed, 1 "
                        f"attempts in {int(2 + rand() * 3)} secs): user=<{user}>, method=PLAIN, "
                        f"rip={ip}, lip={MY_IP}, TLS, session=<{sess}>")

    def u_stats(self):
        r = self.r
        nslots = int(self.dur // 600)
        if nslots < 1:
            return
        slot = r.randrange(nslots)
        if slot in self.stats_slots:
            return
        self.stats_slots.add(slot)
        t = self.start + slot * 600 + r.random() * 2
        ip = r.choice(self.bad_ips)
        stamp = time.strftime("%b %d %H:%M:%S", time.gmtime(t - r.randrange(60, 590)))
        a = f"postfix/anvil[{self.anvil}]: statistics: "
        self.add(t, f"{a}max connection rate {r.randrange(2, 30)}/60s for (smtp:{ip}) at {stamp}")
        self.add(t + 0.0001, f"{a}max connection count {r.randrange(1, 6)} for (smtp:{ip}) at {stamp}")
        self.add(t + 0.0002, f"{a}max cache size {r.randrange(2, 40)} at {stamp}")

    def filler(self):
        """One line, for when the budget left is smaller than any session."""
        r = self.r
        t = self.pick_time(margin=5.0)
        if r.random() < 0.5:
            user = r.choice(self.users)
            self.add(t, f"dovecot: imap-login: Login: user=<{user}>, method=PLAIN, "
                        f"rip={r.choice(self.user_ips)}, lip={MY_IP}, mpid={self.new_pid(t)}, TLS, "
                        f"session=<{self.b64s(16)}>")
        else:
            ip = r.choice(self.bad_ips)
            self.add(t, f"postfix/postscreen[{self.postscreen}]: CONNECT from [{ip}]:"
                        f"{r.randrange(1024, 65535)} to [{MY_IP}]:25")

    # -- incidents ------------------------------------------------------------------------
    def incident_units(self, inc: Incident, budget: int) -> int:
        r = self.r
        span = inc.end - inc.start
        got = 0
        if inc.kind == "sasl_bruteforce":
            n = max(300, int(span / 8))
            n = min(n, budget // 4)
            times = sorted(inc.start + r.random() * span for _ in range(n))
            name = "unknown"
            for t in times:
                self.u, self.hits = [], []
                self.sasl_attempt(t, inc.entity, name)
                got += self.commit(budget - got)
            inc.lines += got
            inc.details["attempts"] = n
            return got
        if inc.kind in ("521_burst", "deferral_buildup"):
            dest = self.dest_by_domain[inc.entity]
            n = max(30, int(span / 40))
            n = min(n, budget // 12)
            sent = 0
            for _ in range(n):
                t = inc.start + r.random() * span
                if self.in_silence(t) or t > self.end - self.margin:
                    continue
                self.u, self.hits = [], []
                self.u_submission(t=t, dest=dest)
                g = self.commit(budget - got)
                got += g
                sent += bool(g)
            inc.details["extra_messages"] = sent
            return got
        if inc.kind == "microsoft_block":
            ms = [d for d in self.dests if d.kind == "ms"]
            n = max(20, int(span / 120))
            n = min(n, budget // 12)
            sent = 0
            for _ in range(n):
                t = inc.start + r.random() * span
                if self.in_silence(t) or t > self.end - self.margin:
                    continue
                self.u, self.hits = [], []
                self.u_submission(t=t, dest=r.choice(ms))
                g = self.commit(budget - got)
                got += g
                sent += bool(g)
            inc.details["extra_messages"] = sent
            return got
        return 0


# ======================================================================================
# Exim


class _Exim(_Gen):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.conn_count = 0
        # queue runner every 30 minutes
        self.qruns = []
        t = self.start + self.r.random() * 1800
        while t < self.end - 120:
            if not self.in_silence(t):
                self.qruns.append(t)
            t += 1800 + self.r.random() * 2
        self.qrun_pids = [self.new_pid(q) for q in self.qruns]

    def unit_table(self):
        table = (
            (self.u_inbound, 33.0),
            (self.u_reject, 16.0),
            (self.u_lost, 11.0),
            (self.u_sasl_fail, 3.0),
            (self.u_submission, 17.0),
            (self.u_local, 2.0),
        )
        fns, cum, acc = [], [], 0.0
        for fn, w in table:
            acc += w
            fns.append(fn)
            cum.append(acc)
        return fns, cum, acc

    def add(self, t, text):
        self.u.append((t, text))

    def next_qrun(self, t):
        i = bisect.bisect_right(self.qruns, t)
        if i >= len(self.qruns):
            return None, None
        return self.qruns[i], self.qrun_pids[i]

    def scheduled_units(self, remaining):
        if not self.qruns or len(self.qruns) * 2 > remaining * 0.05:
            return 0
        got = 0
        for q, pid in zip(self.qruns, self.qrun_pids):
            self.u = [(q, f"[{pid}] Start queue run: pid={pid}"),
                      (q + 40 + self.r.random() * 60, f"[{pid}] End queue run: pid={pid}")]
            got += self.commit(remaining - got)
        return got

    def iface(self, port=25):
        return f"I=[{MY_IP}]:{port}"

    def hostpart(self, name, helo, ip, port):
        if name == "unknown":
            return f"({helo}) [{ip}]:{port}"
        if name == helo:
            return f"{name} [{ip}]:{port}"
        return f"{name} ({helo}) [{ip}]:{port}"

    def conn_open(self, t, pid, ip, port, iport=25):
        self.add(t, f"[{pid}] SMTP connection from [{ip}]:{port} {self.iface(iport)} "
                    f"(TCP/IP connection count = {self.r.randrange(1, 12)})")

    def spam_sender(self):
        r = self.r
        ip = r.choice(self.bad_ips)
        dom = r.choice(self.remote_domains)
        name = "unknown" if r.random() < 0.7 else f"{ip.replace('.', '-')}.dyn.{r.choice(self.remote_domains)}"
        helo = r.choice(SPAM_HELO).format(ip=ip, dom=dom)
        return ip, name, helo, dom

    # -- inbound --------------------------------------------------------------------------
    def u_inbound(self):
        r = self.r
        rand = r.random
        t = self.pick_time()
        dom, name, ip, helo = r.choice(self.senders)
        port = r.randrange(1024, 65535)
        pid = self.new_pid(t)
        self.conn_open(t, pid, ip, port)
        hp = self.hostpart(name, helo, ip, port)
        tls = rand() < 0.85
        nmsg = 1 if rand() < 0.93 else 2
        for _ in range(nmsg):
            t += 0.5 + rand() * 3
            sender = self.remote_addr(dom) if rand() < 0.97 else ""
            nr = 1 if rand() < 0.85 else r.randrange(2, 5)
            rcpts = list(dict.fromkeys(r.choice(self.users) for _ in range(nr)))
            if len(rcpts) > 1 and rand() < 0.1:
                bad = f"{r.choice(FIRST)}{r.randrange(1, 999)}@{OUR_DOMAINS[0]}"
                self.add(t - 0.2, f"[{pid}] H={hp} {self.iface()} F=<{sender}> rejected RCPT "
                                  f"<{bad}>: Unknown user")
            if rand() < 0.012:
                self.add(t, f"[{pid}] H={hp} {self.iface()} F=<{sender}> rejected after DATA: "
                            f"Your message scored {8 + rand() * 20:.1f} SpamAssassin points. "
                            f"Report follows:")
                continue
            mid_, t = self.new_exim_id(t, pid)
            size = int(min(2.5e7, max(600, r.lognormvariate(8.8, 1.1))))
            x = f" X={r.choice(EXIM_TLS)} CV=no" if tls else ""
            hdr = self.msgid(t, dom)
            self.add(t, f"[{pid}] {mid_} <= {sender or '<>'} H={hp} {self.iface()} "
                        f"P={'esmtps' if tls else 'esmtp'}{x} S={size} id={hdr}")
            groups = [("local", [(a, None) for a in rcpts])]
            if rand() < 0.04 and len(rcpts) == 1:
                d = self.pick_dest(exclude_prone=True)
                groups = [(d, [(self.remote_addr(d.domain), rcpts[0])])]
            self.deliver(mid_, t, sender, size, groups, hdr=hdr)
        t += 0.05 + rand() * 0.3
        how = "closed by QUIT" if rand() < 0.93 else f"lost D={int(t - self.u[0][0]) + 1}s"
        self.add(t, f"[{pid}] SMTP connection from {hp} {self.iface()} {how}")

    def u_reject(self):
        r = self.r
        rand = r.random
        t = self.pick_time(diurnal=False)
        ip, name, helo, dom = self.spam_sender()
        if rand() < 0.4:
            dom, name, ip, helo = r.choice(self.senders)
        port = r.randrange(1024, 65535)
        pid = self.new_pid(t)
        self.conn_open(t, pid, ip, port)
        hp = self.hostpart(name, helo, ip, port)
        t += 0.5 + rand() * 2
        sender = self.remote_addr(dom)
        k = rand()
        for _ in range(1 if rand() < 0.8 else r.randrange(2, 5)):
            if k < 0.4:
                rc = f"{r.choice(FIRST)}{r.randrange(1, 999)}@{r.choice(OUR_DOMAINS)}"
                why = "rejected RCPT <{}>: Unknown user"
            elif k < 0.6:
                rc = self.remote_addr(r.choice(self.remote_domains))
                why = "rejected RCPT <{}>: relay not permitted"
            elif k < 0.8:
                rc = r.choice(self.users)
                why = ("rejected RCPT <{}>: " + f"Rejected because {ip} is in a black list at "
                       f"zen.spamhaus.org")
            else:
                rc = r.choice(self.users)
                why = "temporarily rejected RCPT <{}>: greylisted."
            self.add(t, f"[{pid}] H={hp} {self.iface()} F=<{sender}> {why.format(rc)}")
            t += 0.05 + rand() * 0.3
        t += 0.05 + rand() * 0.5
        if rand() < 0.8:
            self.add(t, f"[{pid}] SMTP connection from {hp} {self.iface()} closed by QUIT")
        else:
            self.add(t, f"[{pid}] unexpected disconnection while reading SMTP command from {hp} "
                        f"{self.iface()} D={int(t - self.u[0][0]) + 1}s")

    def u_lost(self):
        r = self.r
        rand = r.random
        t = self.pick_time(diurnal=False)
        ip, name, helo, _dom = self.spam_sender()
        port = r.randrange(1024, 65535)
        pid = self.new_pid(t)
        self.conn_open(t, pid, ip, port)
        hp = self.hostpart(name, helo, ip, port)
        k = rand()
        t0 = t
        if k < 0.3:
            t += 0.1 + rand()
            self.add(t, f"[{pid}] SMTP connection from [{ip}]:{port} {self.iface()} lost D={int(t - t0)}s")
        elif k < 0.5:
            t += 0.1 + rand() * 3
            self.add(t, f"[{pid}] no MAIL in SMTP connection from {hp} {self.iface()} "
                        f"D={int(t - t0) + 1}s C=EHLO,QUIT")
        elif k < 0.65:
            t += 0.01 + rand() * 0.1
            self.add(t, f"[{pid}] SMTP protocol synchronization error (input sent without waiting "
                        f"for greeting): rejected connection from H=[{ip}]:{port} {self.iface()} "
                        f"input=\"EHLO {helo}\\r\\n\"")
        elif k < 0.8:
            t += 0.2 + rand()
            self.add(t, f"[{pid}] TLS error on connection from {hp} {self.iface()} (SSL_accept): "
                        f"error:0A000126:SSL routines::unexpected eof while reading")
            t += 0.01
            self.add(t, f"[{pid}] SMTP connection from {hp} {self.iface()} lost D={int(t - t0) + 1}s")
        elif k < 0.9:
            t += 300
            self.add(t, f"[{pid}] SMTP command timeout on connection from {hp} {self.iface()} "
                        f"D={int(t - t0)}s")
        else:
            t += 0.5 + rand()
            self.add(t, f"[{pid}] SMTP call from {hp} {self.iface()} dropped: too many syntax or "
                        f"protocol errors (last command was \"{r.choice(NONSMTP)}\", C=EHLO)")

    def sasl_attempt(self, t, ip):
        r = self.r
        rand = r.random
        port = r.randrange(1024, 65535)
        iport = 587 if rand() < 0.6 else 465 if rand() < 0.5 else 25
        pid = self.new_pid(t)
        self.conn_open(t, pid, ip, port, iport)
        helo = r.choice(("User", "ylmf-pc", "localhost", f"[{ip}]"))
        hp = f"({helo}) [{ip}]:{port}"
        t0 = t
        t += 0.5 + rand() * 2.5
        user = r.choice(BRUTE_NAMES)
        if rand() < 0.6:
            user += "@" + r.choice(OUR_DOMAINS)
        auth = "dovecot_login" if rand() < 0.7 else "dovecot_plain"
        self.add(t, f"[{pid}] {auth} authenticator failed for {hp} {self.iface(iport)}: 535 "
                    f"Incorrect authentication data (set_id={user})")
        t += 0.01 + rand() * 0.3
        if rand() < 0.5:
            self.add(t, f"[{pid}] SMTP connection from {hp} {self.iface(iport)} closed by QUIT")
        else:
            self.add(t, f"[{pid}] unexpected disconnection while reading SMTP command from {hp} "
                        f"{self.iface(iport)} D={int(t - t0) + 1}s")

    def u_sasl_fail(self):
        self.sasl_attempt(self.pick_time(diurnal=False), self.r.choice(self.bad_ips))

    # -- outbound -----------------------------------------------------------------------
    def u_submission(self, t=None, dest=None):
        r = self.r
        rand = r.random
        if t is None:
            t = self.pick_time()
        user = r.choice(self.submitters)
        ip = r.choice(self.user_ips)
        port = r.randrange(1024, 65535)
        pid = self.new_pid(t)
        self.conn_open(t, pid, ip, port, 587)
        helo = f"[{ip}]" if rand() < 0.3 else f"laptop-{user.split('@')[0].split('.')[0]}"
        hp = f"({helo}) [{ip}]:{port}"
        t += 0.5 + rand() * 2
        groups = []
        if dest is None and rand() < 0.07:
            for _ in range(r.randrange(2, 4)):
                d = self.pick_dest(exclude_prone=True)
                groups.append((d, [(self.remote_addr(d.domain), None)]))
        else:
            d = dest or (self.nx_dest if rand() < 0.004 else self.pick_dest())
            nr = 1 if rand() < 0.85 else r.randrange(2, 5)
            groups.append((d, [(self.remote_addr(d.domain), None) for _ in range(nr)]))
        merged: dict = {}
        for d, rc in groups:
            if d.domain in merged:
                merged[d.domain][1].extend(rc)
            else:
                merged[d.domain] = (d, list(rc))
        groups = list(merged.values())
        mid_, t = self.new_exim_id(t, pid)
        size = int(min(2.0e7, max(500, r.lognormvariate(8.5, 1.3))))
        hdr = self.msgid(t, user.split('@')[1], style=r.choice((0, 2, 4)))
        self.add(t, f"[{pid}] {mid_} <= {user} H={hp} {self.iface(587)} P=esmtpsa "
                    f"X={r.choice(EXIM_TLS)} CV=no A=dovecot_plain:{user} S={size} id={hdr}")
        self.deliver(mid_, t, user, size, groups, hdr=hdr)
        t += 0.05 + rand() * 0.3
        self.add(t, f"[{pid}] SMTP connection from {hp} {self.iface(587)} closed by QUIT")

    def u_local(self):
        r = self.r
        t = self.pick_time(diurnal=False)
        pid = self.new_pid(t)
        mid_, t = self.new_exim_id(t, pid)
        k = r.random()
        if k < 0.6:
            who, uid = "root", "root"
        else:
            who, uid = "www-data", "www-data"
        sender = f"{who}@{self.fqdn}"
        size = r.randrange(500, 6000)
        self.add(t, f"[{pid}] {mid_} <= {sender} U={uid} P=local S={size}")
        if who == "www-data":
            d = self.pick_dest()
            groups = [(d, [(self.remote_addr(d.domain), None)])]
        else:
            groups = [("local", [(f"admin@{OUR_DOMAINS[0]}", f"root@{self.fqdn}")])]
        self.deliver(mid_, t, sender, size, groups, same_pid=pid)

    # -- delivery engine ------------------------------------------------------------------
    def deliver(self, mid, t, sender, size, groups, notice=False, same_pid=None, hdr=None):
        r = self.r
        rand = r.random
        arrival = t
        pending = groups
        prev: dict = {}
        rstate: dict = {}
        bounced = []
        done_any = False
        final = False
        qrun_pid = None
        pid = same_pid or self.new_pid(t)
        t = t + 0.01 + rand() * 0.2
        while True:
            new_pending = []
            for dest, rcpts in pending:
                if dest == "local":
                    for rc, orig in rcpts:
                        t += 0.005 + rand() * 0.05
                        local = rc.split("@")[0]
                        if orig:
                            self.add(t, f"[{pid}] {mid} => {local} <{orig}> R=local_user "
                                        f"T=maildir_home")
                        else:
                            self.add(t, f"[{pid}] {mid} => {local} <{rc}> R=local_user "
                                        f"T=maildir_home")
                    done_any = True
                    continue
                t, left, bad = self.remote_attempt(pid, mid, t, arrival, dest, rcpts, prev, rstate,
                                                   final, size, sender, qrun_pid is not None,
                                                   hdr or f"{mid}@{self.fqdn}")
                bounced.extend(bad)
                if len(left) < len(rcpts):
                    done_any = True
                if left:
                    new_pending.append((dest, left))
            pending = new_pending
            if bounced and not pending and sender and not notice:
                t += 0.01
                b_id, t = self.new_exim_id(t, pid)
                self.add(t, f"[{pid}] {b_id} <= <> R={mid} U=Debian-exim P=local "
                            f"S={r.randrange(2500, 9000)}")
                bt = t
            if not pending:
                t += 0.001 + rand() * 0.01
                self.add(t, f"[{pid}] {mid} Completed")
                if bounced and sender and not notice:
                    dom = sender.rsplit("@", 1)[-1]
                    if dom in OUR_DOMAINS or dom == self.fqdn:
                        g = [("local", [(sender, None)])]
                    else:
                        d = self.dest_by_domain.get(dom) or self.pick_dest(exclude_prone=True)
                        g = [(d, [(sender, None)])]
                    self.deliver(b_id, bt, "", 3000, g, notice=True)
                return
            # retry at a queue run (retry rule F,2h,15m; G,16h,1h,1.5)
            age = t - arrival
            wait = 900.0 if age < 7200 else min(16 * 3600.0, 3600.0 * 1.5 ** ((age - 7200) / 3600))
            q, qpid = self.next_qrun(t + wait)
            if q is None or q > self.end_limit - 60:
                if not done_any:
                    return
                q, qpid = self.next_qrun(t + 60)
                if q is None or q > self.end_limit - 60:
                    # no queue run left: a manual flush (exim -qff) finishes it
                    span = self.end_limit - 60 - t
                    if span < 2:
                        return
                    q = t + span * (0.3 + 0.5 * rand())
                    qpid = None
                final = True
            qrun_pid = qpid
            t = q + 0.5 + rand() * 30
            pid = self.new_pid(t)

    def remote_attempt(self, pid, mid, t, arrival, dest, rcpts, prev, rstate, final, size,
                       sender, in_qrun, hdr):
        r = self.r
        rand = r.random
        key = dest.domain
        left, bad = [], []
        outcome, inc = self.dest_outcome(dest, t, prev.get(key), final)
        n0 = len(self.u)
        if outcome == "nxdomain":
            for rc, orig in rcpts:
                t += 0.01 + rand() * 0.2
                self.add(t, f"[{pid}] {mid} ** {rc}: Unrouteable address")
                bad.append(rc)
            return t, left, bad
        if (in_qrun and outcome in ("refused", "timeout", "g521", "rate421", "tmp451")
                and prev.get(key) and rand() < 0.6):
            for rc, orig in rcpts:
                t += 0.001 + rand() * 0.01
                self.add(t, f"[{pid}] {mid} == {rc} R=dnslookup T=remote_smtp defer (-53): retry "
                            f"time not reached for any host for '{dest.domain}'")
                left.append((rc, orig))
            if inc is not None:
                self.hits.append((inc, len(self.u) - n0))
            return t, left, bad
        prev[key] = outcome
        host, ip = dest.mxs[0] if rand() < 0.8 or len(dest.mxs) == 1 else dest.mxs[1]
        hh = f"H={host} [{ip}]"
        if outcome in ("refused", "timeout"):
            err, code = (("Connection refused", 111) if outcome == "refused" else
                         ("Connection timed out", 110))
            t += 0.01 if outcome == "refused" else 30 + rand()
            for rc, orig in rcpts:
                self.add(t, f"[{pid}] {mid} == {rc} R=dnslookup T=remote_smtp defer ({code}) "
                            f"{hh}: {err}")
                left.append((rc, orig))
            if inc is not None:
                self.hits.append((inc, len(self.u) - n0))
            return t, left, bad
        if outcome == "g521":
            t += 0.1 + rand() * 0.4
            for rc, orig in rcpts:
                self.add(t, f"[{pid}] {mid} == {rc} R=dnslookup T=remote_smtp defer (-46) {hh}: "
                            f"SMTP error from remote mail server after initial connection: 521 "
                            f"5.3.2 {host} Service not available")
                left.append((rc, orig))
            if inc is not None:
                self.hits.append((inc, len(self.u) - n0))
            return t, left, bad
        x = f" X={r.choice(EXIM_TLS)} CV=yes" if rand() < 0.85 else ""
        t += 0.2 + rand() * 0.8
        if outcome == "sent":
            k = dest.kind
            if k == "gmail":
                reply = f"250 2.0.0 OK  {int(t)} {self.hexs(10)}si{r.randrange(10**6, 10**7)} - gsmtp"
            elif k in MS_KINDS:
                reply = f"250 2.6.0 <{hdr}> [InternalId={r.randrange(10**10, 10**11)}] Queued mail for delivery"
            else:
                reply = f"250 2.0.0 Ok: queued as {self.hexs(11).upper()}"
            first = True
            for rc, orig in rcpts:
                st = rstate.get(rc)
                if st is None and not final and rand() < dest.p_unknown:
                    self.add(t, f"[{pid}] {mid} ** {rc} R=dnslookup T=remote_smtp {hh}{x}: SMTP "
                                f"error from remote mail server after RCPT TO:<{rc}>: 550 5.1.1 "
                                f"<{rc}>: Recipient address rejected: User unknown")
                    bad.append(rc)
                    continue
                if (st == "full" and not final) or (st is None and not final and
                                                    not dest.incident_prone and rand() < 0.003):
                    rstate[rc] = "full" if rand() < 0.6 else "ok"
                    self.add(t, f"[{pid}] {mid} == {rc} R=dnslookup T=remote_smtp defer (-44) "
                                f"{hh}{x}: SMTP error from remote mail server after RCPT "
                                f"TO:<{rc}>: 452 4.2.2 <{rc}>: Mailbox full")
                    left.append((rc, orig))
                    continue
                arrow = "=>" if first else "->"
                first = False
                show = f"{rc} <{orig}>" if orig else rc
                self.add(t, f"[{pid}] {mid} {arrow} {show} R=dnslookup T=remote_smtp {hh}{x} "
                            f"C=\"{reply}\" QT={_exim_dur(t - arrival)}")
            return t, left, bad
        if outcome == "grey":
            txt = [(f"RCPT TO:<{rc}>", "451 4.7.1 Greylisting in action, please come back later",
                    -44) for rc, _ in rcpts]
        elif outcome == "rate421":
            txt = [(f"MAIL FROM:<{sender}> SIZE={size}", "421 4.7.0 Try again later, closing "
                    "connection.", -45)] * len(rcpts)
        elif outcome == "tmp451":
            txt = [(f"RCPT TO:<{rc}>", "451 4.3.0 Temporary lookup failure, please try again "
                    "later", -44) for rc, _ in rcpts]
        elif outcome == "dmarc":
            dom = sender.rsplit("@", 1)[-1] or self.fqdn
            txt = [("end of data", f"550-5.7.26 Unauthenticated email from {dom} is not "
                    f"accepted due to\\n550-5.7.26 domain's DMARC policy. Please contact the "
                    f"administrator of\\n550 5.7.26 {dom} domain if this was a legitimate mail. "
                    f"- gsmtp", 0)] * len(rcpts)
        else:  # msblock
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000Z"
            srv = f"DB5PEPF0000{self.hexs(4).upper()}.eurprd0{r.randrange(1, 9)}.prod.outlook.test"
            if dest.kind == "ms" and rand() < 0.6:
                m = (f"550 5.7.1 Unfortunately, messages from [{MY_IP}] weren't sent. Please "
                     f"contact your Internet service provider since part of their network is on "
                     f"our block list (S3150). You can also refer your provider to "
                     f"http://mail.live.com/mail/troubleshooting.aspx#errors. [{srv} {stamp}]")
            else:
                m = (f"550 5.7.606 Access denied, banned sending IP [{MY_IP}]. To request "
                     f"removal from this list please visit https://sender.office.com/ and follow "
                     f"the directions. For more information please go to  "
                     f"http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430) [{srv} {stamp}]")
            txt = [(f"MAIL FROM:<{sender}> SIZE={size}", m, 0)] * len(rcpts)
        for (rc, orig), (after, said, code) in zip(rcpts, txt):
            if said[0] == "5":
                self.add(t, f"[{pid}] {mid} ** {rc} R=dnslookup T=remote_smtp {hh}{x}: SMTP error "
                            f"from remote mail server after {after}: {said}")
                bad.append(rc)
            else:
                self.add(t, f"[{pid}] {mid} == {rc} R=dnslookup T=remote_smtp defer ({code}) "
                            f"{hh}{x}: SMTP error from remote mail server after {after}: {said}")
                left.append((rc, orig))
        if inc is not None:
            self.hits.append((inc, len(self.u) - n0))
        return t, left, bad

    def filler(self):
        r = self.r
        # a session cut off by the end of the log
        t = self._map_active(self.active_total - 0.2 - r.random() * 3)
        self.conn_open(t, self.new_pid(t), r.choice(self.bad_ips), r.randrange(1024, 65535))

    def incident_units(self, inc: Incident, budget: int) -> int:
        r = self.r
        span = inc.end - inc.start
        got = 0
        if inc.kind == "sasl_bruteforce":
            n = max(300, int(span / 8))
            n = min(n, budget // 3)
            for t in sorted(inc.start + r.random() * span for _ in range(n)):
                self.u, self.hits = [], []
                self.sasl_attempt(t, inc.entity)
                got += self.commit(budget - got)
            inc.lines += got
            inc.details["attempts"] = n
            return got
        if inc.kind in ("521_burst", "deferral_buildup", "microsoft_block"):
            if inc.kind == "microsoft_block":
                pool = [d for d in self.dests if d.kind == "ms"]
                n = max(20, int(span / 120))
            else:
                pool = [self.dest_by_domain[inc.entity]]
                n = max(30, int(span / 40))
            n = min(n, budget // 8)
            sent = 0
            for _ in range(n):
                t = inc.start + r.random() * span
                if self.in_silence(t) or t > self.end - self.margin:
                    continue
                self.u, self.hits = [], []
                self.u_submission(t=t, dest=r.choice(pool))
                g = self.commit(budget - got)
                got += g
                sent += bool(g)
            inc.details["extra_messages"] = sent
            return got
        return 0


# ======================================================================================
# API and CLI


def generate(
    mta: str = "postfix",
    lines: int = 1000,
    seed: int = 1,
    out: str | os.PathLike | IO[str] | None = None,
    start: str | datetime | float = DEFAULT_START,
    hours: float = 24.0,
    host: str = "mx1",
    style: str = "syslog",
    incidents: Iterable[str | Incident] = (),
    record: str | os.PathLike | None = None,
) -> dict:
    """Write ``lines`` lines of a synthetic ``mta`` log to ``out`` (path, text stream, or None
    for a returned string). Returns ``{"lines": n, "incidents": [records], "text": str|None}``.
    """
    if mta not in ("postfix", "exim"):
        raise ValueError("mta must be 'postfix' or 'exim'")
    if style not in ("syslog", "rfc3339"):
        raise ValueError("style must be 'syslog' or 'rfc3339'")
    if lines < 0:
        raise ValueError("lines must be >= 0")
    if hours <= 0:
        raise ValueError("hours must be positive")
    if isinstance(start, datetime):
        st = (start if start.tzinfo else start.replace(tzinfo=timezone.utc)).timestamp()
    elif isinstance(start, (int, float)):
        st = float(start)
    else:
        st = _parse_time(start)
    incs = [i if isinstance(i, Incident) else parse_incident(i, st) for i in incidents]
    if sum(1 for i in incs if i.kind == "silence") and hours * 3600 - sum(
            max(0.0, min(i.end, st + hours * 3600) - max(i.start, st))
            for i in incs if i.kind == "silence") < 900:
        raise ValueError("silence covers (almost) the whole log window")
    cls = _Postfix if mta == "postfix" else _Exim
    g = cls(lines, seed, st, hours, host, incs)
    g.run()
    wstyle = "exim" if mta == "exim" else style
    text = None
    if out is None:
        buf = io.StringIO()
        g.write(buf, wstyle)
        text = buf.getvalue()
    elif hasattr(out, "write"):
        g.write(out, wstyle)
    else:
        with open(out, "w", encoding="utf-8", newline="\n") as fh:
            g.write(fh, wstyle)
    recs = [i.record() for i in incs]
    if record is not None:
        with open(record, "w", encoding="utf-8") as fh:
            for rec in recs:
                fh.write(json.dumps({"mta": mta, **rec}) + "\n")
    return {"lines": len(g.ev), "incidents": recs, "text": text}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Write a realistic synthetic Postfix or Exim log of exactly N lines.",
        epilog="Incident kinds: 521_burst:DOMAIN, microsoft_block, sasl_bruteforce:IP, silence, "
               "deferral_buildup[:DOMAIN]. START is an offset from --start (6h, 90m) or an "
               "ISO time; DURATION like 30m or 1h30m.")
    p.add_argument("--mta", choices=("postfix", "exim"), default="postfix")
    p.add_argument("--lines", type=int, default=100_000, help="exact number of lines (default 100000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output", default="-", help="output file, '-' for stdout (default)")
    p.add_argument("--start", default=DEFAULT_START,
                   help=f"first moment of the log, ISO, UTC unless a zone is given (default {DEFAULT_START})")
    p.add_argument("--hours", type=float, default=24.0, help="length of the log window (default 24)")
    p.add_argument("--host", default="mx1", help="syslog host name (default mx1)")
    p.add_argument("--style", choices=("syslog", "rfc3339"), default="syslog",
                   help="Postfix timestamp style (Exim always writes its own)")
    p.add_argument("--incident", action="append", default=[], metavar="KIND@START+DURATION",
                   help="inject an incident (repeatable)")
    p.add_argument("--record", metavar="FILE.jsonl", help="write the injected incidents here")
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)
    try:
        st = _parse_time(a.start)
        incs = [parse_incident(s, st) for s in a.incident]
    except ValueError as e:
        p.error(str(e))
    t0 = time.perf_counter()
    out = sys.stdout if a.output == "-" else a.output
    try:
        res = generate(a.mta, a.lines, a.seed, out, st, a.hours, a.host, a.style, incs, a.record)
    except ValueError as e:
        p.error(str(e))
    if not a.quiet and a.output != "-":
        print(f"wrote {res['lines']} {a.mta} lines to {a.output} in "
              f"{time.perf_counter() - t0:.1f}s", file=sys.stderr)
        for rec in res["incidents"]:
            print(f"  incident {rec['kind']} {rec['entity'] or ''} {rec['start']} .. {rec['end']}"
                  f" ({rec['lines']} lines)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
