"""The generator's engine, shared by the Postfix and Exim simulations: simulated time around
silences, pids and queue ids, units of lines that are kept whole or dropped, the run that
fills exactly N lines, incident units, and writing the sorted lines with their timestamps."""

from __future__ import annotations

import bisect
import math
import random
import time
from typing import IO

from bench.gen.common import B64, MONTHS, OUR_DOMAINS, SPAM_HELO, b62
from bench.gen.incidents import Incident
from bench.gen.spool import Spool, spool_limit
from bench.gen.world import World


class Gen(World):
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
        # pids in use: a byte per pid from 0 (the next free one is found with bytearray.find,
        # in C: a 10M-line day packs millions of pids into the day's range); negative ones
        # (a pool slot starting before a short window) in a set
        self.used_pids = bytearray(4_000_000)
        self.neg_pids: set = set()
        self.ev = Spool(spool_limit())  # the lines, spilled to sorted runs past a bound
        self.u: list = []  # lines of the unit being built: (t, text)
        self.hits: list = []  # (incident, lines) seen while building the unit
        self.build_world()
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
        return any(s <= t < e for s, e in self.silence)

    # ---- ids -------------------------------------------------------------------------
    def new_pid(self, t: float) -> int:
        frac = (t - self.start) / self.dur if self.dur else 0.0
        pid = 2000 + int(frac * 3_500_000) + self.r.randrange(900)
        if pid < 0:
            neg = self.neg_pids
            while pid in neg:
                pid += 1
            if pid < 0:
                neg.add(pid)
                return pid
        used = self.used_pids
        if pid >= len(used):
            used.extend(bytes(pid - len(used) + 1_000_000))
        if used[pid]:
            pid = used.find(0, pid)
            if pid < 0:
                pid = len(used)
                used.extend(bytes(1_000_000))
        used[pid] = 1
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
            mid = f"{b62(sec, 6)}-{b62(pid, 6)}-{b62(frac, 2)}"
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

    def scheduled_units(self, remaining: int) -> int:
        return 0

    # ---- incidents -------------------------------------------------------------------
    # how much of an incident's budget one unit may take at most: budget // share units
    sasl_share = 4
    burst_share = 12
    # Exim draws a 521/deferral destination from a one-element list (which consumes random
    # bits); Postfix passes the destination as it is
    draw_single_dest = False

    def incident_units(self, inc: Incident, budget: int) -> int:
        """Lines an incident adds before the ordinary traffic; at most ``budget``."""
        r = self.r
        span = inc.end - inc.start
        got = 0
        if inc.kind == "sasl_bruteforce":
            n = max(300, int(span / 8))
            n = min(n, budget // self.sasl_share)
            for t in sorted(inc.start + r.random() * span for _ in range(n)):
                self.u, self.hits = [], []
                self.sasl_attempt(t, inc.entity)
                got += self.commit(budget - got)
            inc.lines += got
            inc.details["attempts"] = n
            return got
        if inc.kind == "microsoft_block":
            pool = [d for d in self.dests if d.kind == "ms"]
            n = max(20, int(span / 120))
            pick = lambda: r.choice(pool)  # noqa: E731
        elif inc.kind in ("521_burst", "deferral_buildup"):
            dest = self.dest_by_domain[inc.entity]
            n = max(30, int(span / 40))
            pool = [dest]
            pick = (lambda: r.choice(pool)) if self.draw_single_dest else (lambda: dest)
        else:
            return 0
        # a burst of submissions to the destinations concerned
        n = min(n, budget // self.burst_share)
        sent = 0
        for _ in range(n):
            t = inc.start + r.random() * span
            if self.in_silence(t) or t > self.end - self.margin:
                continue
            self.u, self.hits = [], []
            self.u_submission(t=t, dest=pick())
            g = self.commit(budget - got)
            got += g
            sent += bool(g)
        inc.details["extra_messages"] = sent
        return got

    # ---- shared pieces of units ------------------------------------------------------
    def add(self, t, text):
        self.u.append((t, text))

    def spam_sender(self):
        r = self.r
        ip = r.choice(self.bad_ips)
        dom = r.choice(self.remote_domains)
        name = "unknown" if r.random() < 0.7 else f"{ip.replace('.', '-')}.dyn.{r.choice(self.remote_domains)}"
        helo = r.choice(SPAM_HELO).format(ip=ip, dom=dom)
        return ip, name, helo, dom

    def outbound_groups(self, dest, pick) -> list:
        """Recipients of a submitted message: now and then several destinations (only ones no
        incident can keep deferring), else 1-4 at ``dest``, or at ``pick()`` when it is None."""
        r = self.r
        rand = r.random
        groups = []
        if dest is None and rand() < 0.07:
            for _ in range(r.randrange(2, 4)):
                d = self.pick_dest(exclude_prone=True)
                groups.append((d, [(self.remote_addr(d.domain), None)]))
        else:
            d = pick() if dest is None else dest
            nr = 1 if rand() < 0.85 else r.randrange(2, 5)
            groups.append((d, [(self.remote_addr(d.domain), None) for _ in range(nr)]))
        return groups

    def submitter(self, t):
        """One of our users sending mail from a client address: (time, user, ip)."""
        if t is None:
            t = self.pick_time()
        r = self.r
        return t, r.choice(self.submitters), r.choice(self.user_ips)

    def return_dest(self, dom: str):
        """Where a notice to a remote sender's domain goes."""
        return self.dest_by_domain.get(dom) or self.pick_dest(exclude_prone=True)

    def gsmtp_id(self) -> str:
        """The id Gmail puts in its replies: ``a1b2c3d4e5si1234567``."""
        return f"{self.hexs(10)}si{self.r.randrange(10**6, 10**7)}"

    # ---- output ----------------------------------------------------------------------
    def write(self, out: IO[str], style: str) -> None:
        """Write the lines sorted by time: ``syslog`` and ``rfc3339`` (Postfix), ``exim``."""
        cache: dict = {}
        host = self.host
        buf = []
        gm = time.gmtime
        micro = style == "rfc3339"
        for t, text in self.ev.merged():
            s = int(t)
            p = cache.get(s)
            if p is None:
                g = gm(s)
                if style == "syslog":
                    p = f"{MONTHS[g.tm_mon - 1]} {g.tm_mday:2d} {g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} {host} "
                elif micro:
                    p = (f"{g.tm_year}-{g.tm_mon:02d}-{g.tm_mday:02d}T{g.tm_hour:02d}:"
                         f"{g.tm_min:02d}:{g.tm_sec:02d}")
                else:  # exim
                    p = (f"{g.tm_year}-{g.tm_mon:02d}-{g.tm_mday:02d} {g.tm_hour:02d}:"
                         f"{g.tm_min:02d}:{g.tm_sec:02d} ")
                cache[s] = p
            if micro:
                buf.append(f"{p}.{int((t - s) * 1e6):06d}+00:00 {host} {text}")
            else:
                buf.append(p + text)
            if len(buf) >= 20000:
                out.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            out.write("\n".join(buf) + "\n")
        self.ev.close()
