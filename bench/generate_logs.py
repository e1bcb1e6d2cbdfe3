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

Importable: ``from bench.generate_logs import generate``. The code lives in the ``bench.gen``
package (one module per part: see its ``__init__``); this file is the stable entry point and
keeps every name it had.
"""

from __future__ import annotations

import sys

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gen.api import generate
from bench.gen.cli import main
from bench.gen.common import (
    B62,
    B64,
    BRUTE_NAMES,
    EXIM_TLS,
    FIRST,
    LAST,
    MONTHS,
    MS_KINDS,
    MY_IP,
    NONSMTP,
    OUR_DOMAINS,
    ROLES,
    SPAM_HELO,
    SUFFIX,
    TLDS,
    TLS12,
    TLS13,
    WORDS,
    Dest,
    TLS13b,
)
from bench.gen.common import Pool as _Pool
from bench.gen.common import b62 as _b62
from bench.gen.common import exim_dur as _exim_dur
from bench.gen.common import fmt_delay as _fmt_delay
from bench.gen.engine import Gen as _Gen
from bench.gen.exim import Exim as _Exim
from bench.gen.incidents import DEFAULT_START, KINDS, Incident, parse_duration, parse_incident
from bench.gen.incidents import DUR_RE as _DUR_RE
from bench.gen.incidents import DUR_UNITS as _DUR_UNITS
from bench.gen.incidents import iso as _iso
from bench.gen.incidents import parse_time as _parse_time
from bench.gen.postfix import Postfix as _Postfix
from bench.gen.postfix import counts as _counts

__all__ = ["KINDS", "Incident", "generate", "parse_duration", "parse_incident"]

# the names this module had before the split, kept for importers
_COMPAT = (B62, B64, BRUTE_NAMES, DEFAULT_START, EXIM_TLS, FIRST, LAST, MONTHS, MS_KINDS, MY_IP,
           NONSMTP, OUR_DOMAINS, ROLES, SPAM_HELO, SUFFIX, TLDS, TLS12, TLS13, TLS13b, WORDS,
           Dest, _DUR_RE, _DUR_UNITS, _Exim, _Gen, _Pool, _Postfix, _b62, _counts, _exim_dur,
           _fmt_delay, _iso, _parse_time, main)

if __name__ == "__main__":
    sys.exit(main())
