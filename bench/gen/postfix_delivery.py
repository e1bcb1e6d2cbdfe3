"""Postfix's delivery of a queued message: qmgr's retry schedule, LMTP and local delivery,
SMTP to remote destinations (sent, deferred, bounced, suspended), delay and non-delivery
notices."""

from __future__ import annotations

import time

from bench.gen.common import MS_KINDS, OUR_DOMAINS, fmt_delay, ms_block_reply


class PostfixDelivery:
    """Mixin of the Postfix generator: everything after qmgr's first ``queue active``."""

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
            self.qmgr_active(tq, qid, sender, size, sum(len(x[1]) for x in pending))
        t = self.adv(t, 0.001 + rand() * 0.01)
        if bounced and sender and not notice:
            t = self.notice(qid, t, sender, "non-delivery")
        t = self.adv(t, 0.001 + rand() * 0.01)
        self.add(t, f"postfix/qmgr[{self.qmgr}]: {qid}: removed")

    def notice(self, qid, t, sender, kind):
        r = self.r
        q2 = self.new_qid(t)
        mid = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime(t))}.{q2}@{self.fqdn}"
        self.cleanup_msgid(t, q2, mid)
        t = self.adv(t, 0.001 + r.random() * 0.005)
        self.add(t, f"postfix/bounce[{r.choice(self.bounce_pids)}]: {qid}: sender {kind} "
                    f"notification: {q2}")
        t2 = self.adv(t, 0.001 + r.random() * 0.005)
        size = r.randrange(2500, 9000)
        self.qmgr_active(t2, q2, "", size, 1)
        dom = sender.rsplit("@", 1)[-1]
        if dom in OUR_DOMAINS:
            groups = [("lmtp", [(sender, None)])]
        elif dom == self.fqdn:
            groups = [("local", [(sender, None)])]
        else:
            groups = [(self.return_dest(dom), [(sender, None)])]
        self.deliver(q2, t2, t - 0.01, "", size, mid, groups, notice=True)
        return t

    def delays(self, t, arrival, tq, c, d):
        a = max(0.0, tq - arrival)
        b = self.r.random() * 0.02
        total = max(0.0, t - arrival)
        return (f"delay={fmt_delay(total)}, delays={fmt_delay(a)}/{fmt_delay(b)}/"
                f"{fmt_delay(c)}/{fmt_delay(d)}")

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
            self.each_rcpt(s, t, qid, [(rc, None) for rc, _ in rcpts], "none", arrival, tq, c,
                           "5.4.4", "bounced", f"Host or domain name not found. Name service "
                           f"error for name={dest.domain} type=A: Host not found")
            return self.smtp_done(s, inc, t, left, len(rcpts))
        # suspended destination: no connection at all
        if (outcome in ("refused", "timeout", "g521", "rate421") and prev_reason.get(key)
                and rand() < 0.35):
            t = self.adv(t, 0.01 + rand() * 0.05)
            dsn, why = prev_reason[key]
            self.each_rcpt(s, t, qid, rcpts, "none", arrival, tq, 0, dsn, "deferred",
                           f"delivery temporarily suspended: {why}", left)
            return self.smtp_done(s, inc, t, left, nb)
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
            self.each_rcpt(s, t, qid, rcpts, "none", arrival, tq, c, "4.4.1", "deferred", reason,
                           left)
            return self.smtp_done(s, inc, t, left, nb)
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
            self.each_rcpt(s, t, qid, rcpts, f"{relay}:25", arrival, tq, c, "4.3.2", "deferred",
                           reason, left)
            return self.smtp_done(s, inc, t, left, nb)
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
                reply = f"250 2.0.0 OK  {int(t)} {self.gsmtp_id()}.{r.randrange(1, 999)} - gsmtp"
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
                               f"{self.gsmtp_id()} - gsmtp")
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
            return self.smtp_done(s, inc, t, left, nb)
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
                   f"https://support.google.com/mail/?p=DmarcRejection {self.gsmtp_id()} - gsmtp")
            said = [(txt, "end of DATA")] * len(rcpts)
        else:  # msblock
            verb = "bounced"
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".000Z"
            srv = (f"{'DB5' if rand() < 0.5 else 'AM4'}PEPF0000{self.hexs(4).upper()}."
                   f"eurprd0{r.randrange(1, 9)}.prod.outlook.test")
            s3150 = k == "ms" and rand() < 0.6
            dsn = "5.7.1" if s3150 else "5.7.606"
            txt = ms_block_reply(s3150, srv, stamp)
            said = [(txt, "MAIL FROM")] * len(rcpts)
        if verb == "deferred":
            prev_reason[key] = (dsn, f"host {relay} said: {said[0][0]} (in reply to "
                                     f"{said[0][1]} command)")
        for (rc, orig), (txt, stage) in zip(rcpts, said, strict=False):
            ot = f", orig_to=<{orig}>" if orig else ""
            s.append((t, f"{qid}: to=<{rc}>{ot}, relay={relay}:25, {dl}, dsn={dsn}, "
                         f"status={verb} (host {relay} said: {txt} (in reply to {stage} command))"))
            if verb == "deferred":
                left.append((rc, orig))
            else:
                nb += 1
        return self.smtp_done(s, inc, t, left, nb)

    def each_rcpt(self, s, t, qid, rcpts, relay, arrival, tq, c, dsn, status, why, left=None):
        """One line per recipient with the same status, each with its own delays."""
        for rc, orig in rcpts:
            ot = f", orig_to=<{orig}>" if orig else ""
            s.append((t, f"{qid}: to=<{rc}>{ot}, relay={relay}, {self.delays(t, arrival, tq, c, 0)}, "
                         f"dsn={dsn}, status={status} ({why})"))
            if left is not None:
                left.append((rc, orig))

    def smtp_done(self, s, inc, t, left, nb):
        """The smtp client's lines of one attempt, counted for the incident behind them."""
        self.session("postfix/smtp", self.smtp, s)
        if inc is not None:
            self.hits.append((inc, len(s)))
        return t, left, nb

