"""The Exim simulation (``exim4`` mainlog with ``+pid +smtp_connection +incoming_interface
+queue_time``): SMTP connections, arrivals, rejections, lost connections, authenticator
failures, local mail and the queue runs, delivered by ``EximDelivery``."""

from __future__ import annotations

import bisect

from bench.gen.common import BRUTE_NAMES, EXIM_TLS, FIRST, MY_IP, NONSMTP, OUR_DOMAINS, cumulative, merge_groups
from bench.gen.engine import Gen
from bench.gen.exim_delivery import EximDelivery


class Exim(EximDelivery, Gen):
    """Exim 4 with Dovecot behind it; a queue runner every 30 minutes."""

    sasl_share = 3
    burst_share = 8
    draw_single_dest = True

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
        return cumulative(table)

    def next_qrun(self, t):
        i = bisect.bisect_right(self.qruns, t)
        if i >= len(self.qruns):
            return None, None
        return self.qruns[i], self.qrun_pids[i]

    def scheduled_units(self, remaining):
        if not self.qruns or len(self.qruns) * 2 > remaining * 0.05:
            return 0
        got = 0
        for q, pid in zip(self.qruns, self.qrun_pids, strict=False):
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

    def connect(self, t, ip, iport=25):
        """A new connection from a random client port, in a new process: (pid, port)."""
        port = self.r.randrange(1024, 65535)
        pid = self.new_pid(t)
        self.conn_open(t, pid, ip, port, iport)
        return pid, port

    def conn_end(self, t, pid, hp, t0, quit_, iport=25):
        """The end of a session: QUIT, or the client hanging up ``t0`` (its start) + D."""
        if quit_:
            self.add(t, f"[{pid}] SMTP connection from {hp} {self.iface(iport)} closed by QUIT")
        else:
            self.add(t, f"[{pid}] unexpected disconnection while reading SMTP command from {hp} "
                        f"{self.iface(iport)} D={int(t - t0) + 1}s")

    # -- inbound --------------------------------------------------------------------------
    def u_inbound(self):
        r = self.r
        rand = r.random
        t = self.pick_time()
        dom, name, ip, helo = r.choice(self.senders)
        pid, port = self.connect(t, ip)
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
        pid, port = self.connect(t, ip)
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
        self.conn_end(t, pid, hp, self.u[0][0], rand() < 0.8)

    def u_lost(self):
        r = self.r
        rand = r.random
        t = self.pick_time(diurnal=False)
        ip, name, helo, _dom = self.spam_sender()
        pid, port = self.connect(t, ip)
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
        self.conn_end(t, pid, hp, t0, rand() < 0.5, iport)

    def u_sasl_fail(self):
        self.sasl_attempt(self.pick_time(diurnal=False), self.r.choice(self.bad_ips))

    # -- outbound -----------------------------------------------------------------------
    def u_submission(self, t=None, dest=None):
        r = self.r
        rand = r.random
        t, user, ip = self.submitter(t)
        pid, port = self.connect(t, ip, 587)
        helo = f"[{ip}]" if rand() < 0.3 else f"laptop-{user.split('@')[0].split('.')[0]}"
        hp = f"({helo}) [{ip}]:{port}"
        t += 0.5 + rand() * 2
        pick = lambda: self.nx_dest if rand() < 0.004 else self.pick_dest()  # noqa: E731
        groups = merge_groups(self.outbound_groups(dest, pick))
        mid_, t = self.new_exim_id(t, pid)
        size = int(min(2.0e7, max(500, r.lognormvariate(8.5, 1.3))))
        hdr = self.msgid(t, user.split('@')[1], style=r.choice((0, 2, 4)))
        self.add(t, f"[{pid}] {mid_} <= {user} H={hp} {self.iface(587)} P=esmtpsa "
                    f"X={r.choice(EXIM_TLS)} CV=no A=dovecot_plain:{user} S={size} id={hdr}")
        self.deliver(mid_, t, user, size, groups, hdr=hdr)
        t += 0.05 + rand() * 0.3
        self.conn_end(t, pid, hp, None, True, 587)

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

    def filler(self):
        r = self.r
        # a session cut off by the end of the log
        t = self._map_active(self.active_total - 0.2 - r.random() * 3)
        self.conn_open(t, self.new_pid(t), r.choice(self.bad_ips), r.randrange(1024, 65535))

