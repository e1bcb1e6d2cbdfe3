"""The Postfix simulation: postscreen, smtpd and submission sessions, pickup, Dovecot and
anvil lines, each unit of lines built here and delivered by ``PostfixDelivery``."""

from __future__ import annotations

import time

from bench.gen.common import (
    BRUTE_NAMES,
    FIRST,
    MY_IP,
    NONSMTP,
    OUR_DOMAINS,
    TLS12,
    TLS13,
    Pool,
    TLS13b,
    cumulative,
    merge_groups,
)
from bench.gen.engine import Gen
from bench.gen.postfix_delivery import PostfixDelivery


def counts(items) -> str:
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


def hello(tls: bool) -> list:
    """The EHLO (twice with STARTTLS) and STARTTLS command counts of a session."""
    e = 2 if tls else 1
    return [("ehlo", e, e), ("starttls", int(tls), int(tls))]


class Postfix(PostfixDelivery, Gen):
    """Postfix (syslog name ``postfix``) in front of Dovecot LMTP, with postscreen."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.smtpd = Pool(self, 12)
        self.subm = Pool(self, 4)
        self.smtp = Pool(self, 10)
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
        return cumulative(table)

    # -- helpers -----------------------------------------------------------------------
    def session(self, prog: str, pool: Pool, lines: list) -> None:
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

    def smtpd_connect(self, t, ip, name):
        """postscreen lets the client through; smtpd's session starts (its lines in ``s``)."""
        t = self.postscreen_pass(t, ip)
        who = f"{name}[{ip}]"
        return t, who, [(t, f"connect from {who}")]

    def smtpd_tls(self, s, t, who, p_tls, dt, span):
        """STARTTLS with probability ``p_tls``, ``dt`` to ``dt + span`` seconds later."""
        rand = self.r.random
        tls = rand() < p_tls
        if tls:
            t = self.adv(t, dt + rand() * span)
            s.append((t, self.tls_line(t, who)))
        return t, tls

    def smtpd_close(self, s, t, who, items, prog="postfix/smtpd", pool=None):
        """The disconnect line with the command counts; the session gets its pid."""
        s.append((t, f"disconnect from {who} {counts(items)}"))
        self.session(prog, pool or self.smtpd, s)

    def cleanup_msgid(self, t, qid, mid):
        self.add(t, f"postfix/cleanup[{self.r.choice(self.cleanup_pids)}]: {qid}: message-id=<{mid}>")

    def qmgr_active(self, t, qid, sender, size, nrcpt):
        self.add(t, f"postfix/qmgr[{self.qmgr}]: {qid}: from=<{sender}>, size={size}, "
                    f"nrcpt={nrcpt} (queue active)")

    def amavis(self, t, verdict, ip, sender, rcpts, qid, mid, hits, hits_span, size, ms_lo, ms_hi):
        """amavis's verdict on a message (``Passed CLEAN {RelayedInbound}`` and the like)."""
        r = self.r
        self.add(t, f"amavis[{r.choice(self.amavis_pids)}]: ({r.randrange(10000, 99999)}-"
                    f"{r.randrange(1, 30):02d}) {verdict}, [{ip}]:"
                    f"{r.randrange(1024, 65535)} [{ip}] <{sender}> -> <{rcpts}>, "
                    f"Queue-ID: {qid}, Message-ID: <{mid}>, mail_id: {self.b64s(12)}, "
                    f"Hits: {hits + r.random() * hits_span:.3f}, size: {size}, {r.randrange(ms_lo, ms_hi)} ms")

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
        t, who, s = self.smtpd_connect(t, ip, name)
        t, tls = self.smtpd_tls(s, t, who, 0.85, 0.05, 0.15)
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
            self.cleanup_msgid(t, qid, mid)
            size = int(min(2.5e7, max(600, r.lognormvariate(8.8, 1.1))))
            if rand() < 0.25:
                t = self.adv(t, 0.05 + rand() * 0.1)
                self.add(t, f"opendkim[{self.opendkim_pid}]: {qid}: DKIM verification successful"
                            if rand() < 0.8 else
                            f"opendkim[{self.opendkim_pid}]: {qid}: {name} [{ip}] not internal")
            if rand() < 0.012:
                t = self.adv(t, 0.3 + rand() * 2)
                if rand() < 0.5:
                    self.amavis(t, "Blocked SPAM {RejectedInbound}", ip, sender, rcpts[0], qid, mid,
                                5, 20, size, 300, 4000)
                t = self.adv(t, 0.01)
                self.add(t, f"postfix/cleanup[{r.choice(self.cleanup_pids)}]: {qid}: milter-reject: "
                            f"END-OF-MESSAGE from {who}: 5.7.1 Message rejected as spam; "
                            f"from=<{sender}> to=<{rcpts[0]}> proto=ESMTP helo=<{helo}>")
                continue
            if rand() < 0.15:
                t = self.adv(t, 0.3 + rand() * 1.5)
                self.amavis(t, "Passed CLEAN {RelayedInbound}", ip, sender, ">,<".join(rcpts), qid,
                            mid, -3, 6, size, 200, 3000)
            t = self.adv(t, 0.01 + rand() * 0.1)
            self.qmgr_active(t, qid, sender, size, len(rcpts))
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
        items = [*hello(tls), ("mail", nmsg, nmsg), ("rcpt", counts_rcpt_ok, counts_rcpt),
                 ("data", nmsg, nmsg), ("quit", int(quit_), int(quit_))]
        self.smtpd_close(s, t, who, items)

    def u_reject(self):
        r = self.r
        rand = r.random
        t = self.pick_time(diurnal=False)
        ip, name, helo, dom = self.spam_sender()
        if rand() < 0.4:
            _dom2, name, ip, helo = r.choice(self.senders)
        t, who, s = self.smtpd_connect(t, ip, name)
        t, tls = self.smtpd_tls(s, t, who, 0.4, 0.1, 0.2)
        t = self.adv(t, 0.2 + rand() * 1.0)
        sender = self.remote_addr(dom)
        nrc = 1 if rand() < 0.8 else r.randrange(2, 6)
        k = rand()
        items = [*hello(tls), ("mail", 1, 1)]
        for _i in range(nrc):
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
        self.smtpd_close(s, t, who, items)

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
        t, who, s = self.smtpd_connect(t, ip, name)
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
            items = [*hello(tls), ("auth", 0, 1)]
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
        self.smtpd_close(s, t, who, items)

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
        items = [*hello(tls), ("auth", 0, 1)]
        if rand() < 0.6:
            s.append((t, f"lost connection after AUTH from {who}"))
        else:
            items += [("rset", 1, 1), ("quit", 1, 1)]
        t = self.adv(t, 0.001 + rand() * 0.01)
        self.smtpd_close(s, t, who, items, prog, pool)
        return t

    def u_sasl_fail(self):
        t = self.pick_time(diurnal=False)
        self.sasl_attempt(t, self.r.choice(self.bad_ips))

    # -- outbound -----------------------------------------------------------------------
    def u_submission(self, t=None, dest=None):
        r = self.r
        rand = r.random
        t, user, ip = self.submitter(t)
        who = f"unknown[{ip}]"
        s = [(t, f"connect from {who}")]
        t = self.adv(t, 0.1 + rand() * 0.2)
        s.append((t, self.tls_line(t, who)))
        t = self.adv(t, 0.3 + rand() * 1.0)
        qid = self.new_qid(t)
        s.append((t, f"{qid}: client={who}, sasl_method={'PLAIN' if rand() < 0.7 else 'LOGIN'}, "
                     f"sasl_username={user}"))
        groups = self.outbound_groups(dest, self.pick_outbound)
        if dest is None and rand() < 0.08 and not any(g[0].incident_prone for g in groups):
            groups.append(("lmtp", [(r.choice(self.users), None)]))
        groups = merge_groups(groups)
        nrcpt = sum(len(g[1]) for g in groups)
        t = self.adv(t, 0.3 + rand() * 2.0)
        mid = self.msgid(t, user.split("@")[1], style=r.choice((0, 2, 4)))
        self.cleanup_msgid(t, qid, mid)
        if rand() < 0.45:
            t = self.adv(t, 0.01 + rand() * 0.05)
            self.add(t, f"opendkim[{self.opendkim_pid}]: {qid}: DKIM-Signature field added "
                        f"(s=mail, d={user.split('@')[1]})")
        size = int(min(2.0e7, max(500, r.lognormvariate(8.5, 1.3))))
        t = self.adv(t, 0.01 + rand() * 0.05)
        self.qmgr_active(t, qid, user, size, nrcpt)
        self.deliver(qid, t, t - 0.3, user, size, mid, groups)
        t = self.adv(t, 0.05 + rand() * 0.2)
        quit_ = rand() < 0.9
        items = [("ehlo", 2, 2), ("starttls", 1, 1), ("auth", 1, 1), ("mail", 1, 1),
                 ("rcpt", nrcpt, nrcpt), ("data", 1, 1), ("quit", int(quit_), int(quit_))]
        self.smtpd_close(s, t, who, items, "postfix/submission/smtpd", self.subm)

    def pick_outbound(self):
        """The destination of a submitted message; now and then a domain that does not exist."""
        d = self.pick_dest()
        if self.r.random() < 0.004:
            d = self.nx_dest
        return d

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
        self.cleanup_msgid(t, qid, mid)
        t = self.adv(t, 0.01 + rand() * 0.05)
        sender = f"{local}@{self.fqdn}"
        size = r.randrange(500, 6000)
        self.qmgr_active(t, qid, sender, size, 1)
        if uid == 33:
            d = self.pick_dest()
            groups = [(d, [(self.remote_addr(d.domain), None)])]
        elif rand() < 0.5:
            groups = [("local", [(f"root@{self.fqdn}", "root")])]
        else:
            groups = [("lmtp", [(f"admin@{OUR_DOMAINS[0]}", f"root@{self.fqdn}")])]
        self.deliver(qid, t, t - 0.1, sender, size, mid, groups)

    # -- delivery engine ------------------------------------------------------------------
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

