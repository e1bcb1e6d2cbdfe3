"""Exim's delivery of a received message: local deliveries, remote SMTP attempts (``=>``,
``->``, ``==``, ``**``), retries at queue runs, bounce messages and ``Completed``."""

from __future__ import annotations

import time

from bench.gen.common import EXIM_TLS, MS_KINDS, OUR_DOMAINS, exim_dur, ms_block_reply


class EximDelivery:
    """Mixin of the Exim generator: everything after the ``<=`` arrival line."""

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
                        g = [(self.return_dest(dom), [(sender, None)])]
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
            for rc, _orig in rcpts:
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
            return self.hit(inc, n0, t, left, bad)
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
            return self.hit(inc, n0, t, left, bad)
        if outcome == "g521":
            t += 0.1 + rand() * 0.4
            for rc, orig in rcpts:
                self.add(t, f"[{pid}] {mid} == {rc} R=dnslookup T=remote_smtp defer (-46) {hh}: "
                            f"SMTP error from remote mail server after initial connection: 521 "
                            f"5.3.2 {host} Service not available")
                left.append((rc, orig))
            return self.hit(inc, n0, t, left, bad)
        x = f" X={r.choice(EXIM_TLS)} CV=yes" if rand() < 0.85 else ""
        t += 0.2 + rand() * 0.8
        if outcome == "sent":
            k = dest.kind
            if k == "gmail":
                reply = f"250 2.0.0 OK  {int(t)} {self.gsmtp_id()} - gsmtp"
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
                            f"C=\"{reply}\" QT={exim_dur(t - arrival)}")
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
            m = ms_block_reply(dest.kind == "ms" and rand() < 0.6, srv, stamp)
            txt = [(f"MAIL FROM:<{sender}> SIZE={size}", m, 0)] * len(rcpts)
        for (rc, orig), (after, said, code) in zip(rcpts, txt, strict=False):
            if said[0] == "5":
                self.add(t, f"[{pid}] {mid} ** {rc} R=dnslookup T=remote_smtp {hh}{x}: SMTP error "
                            f"from remote mail server after {after}: {said}")
                bad.append(rc)
            else:
                self.add(t, f"[{pid}] {mid} == {rc} R=dnslookup T=remote_smtp defer ({code}) "
                            f"{hh}{x}: SMTP error from remote mail server after {after}: {said}")
                left.append((rc, orig))
        return self.hit(inc, n0, t, left, bad)

    def hit(self, inc, n0, t, left, bad):
        """Count the lines added since ``n0`` for the incident behind them (if any)."""
        if inc is not None:
            self.hits.append((inc, len(self.u) - n0))
        return t, left, bad

