"""The simulated world: our mailboxes, remote domains with their MX hosts, inbound senders,
spam sources, and how a destination answers a delivery attempt (incidents included)."""

from __future__ import annotations

import bisect

from bench.gen.common import FIRST, LAST, MS_KINDS, OUR_DOMAINS, ROLES, SUFFIX, TLDS, WORDS, Dest


class World:
    """Mixin of the generator (``self.r``, ``self.incidents``): builds and queries the world."""

    def build_world(self):
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
