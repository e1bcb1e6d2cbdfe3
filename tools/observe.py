"""Read back what the MTA logged for each generated message (a deliberately tiny matcher).

This is *not* maillens' parser: it only finds, per (Message-ID, recipient), the queue id
and the last line that decided the recipient's fate, so the generator can record the
outcome it observed next to the one it intended. It knows just the handful of line
shapes this generator's scenarios produce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Observation", "observe_exim", "observe_postfix"]


@dataclass
class Observation:
    """What the log says about one message."""

    queue_id: str | None = None
    outcomes: dict[str, str] = field(default_factory=dict)       # recipient -> outcome
    final_lines: dict[str, str] = field(default_factory=dict)    # recipient -> deciding line
    bounce_notice: str | None = None                             # queue id of the DSN it caused
    bounce_notice_outcome: str | None = None                     # "frozen" when Exim froze that notice


# ----------------------------------------------------------------------------- Postfix
PF_QID = r"(?P<qid>[0-9A-Za-z]{8,})"
PF_MSGID = re.compile(PF_QID + r": message-id=(?P<mid><[^>]*>)")
PF_STATUS = re.compile(PF_QID + r": to=<(?P<rcpt>[^>]*)>,(?: orig_to=<(?P<orig>[^>]*)>,)? .*?status=(?P<st>\w+)")
PF_EXPIRED = re.compile(PF_QID + r": from=<[^>]*>, status=(?P<st>(?:force-)?expired)")
PF_NOQUEUE = re.compile(r"NOQUEUE: reject: \w+ from .*? from=<(?P<from>[^>]*)> to=<(?P<rcpt>[^>]*)>")
PF_CLEANUP_REJECT = re.compile(PF_QID + r": (?P<act>reject|hold|discard): (?:header|body) .*? "
                               r"from=<(?P<from>[^>]*)> to=<(?P<rcpt>[^>]*)>")
PF_CLEANUP_OUTCOME = {"reject": "rejected", "hold": "held", "discard": "discarded"}
PF_DSN = re.compile(PF_QID + r": sender non-delivery notification: (?P<dsn>\w+)")


def observe_postfix(lines: list[str], wanted: dict[str, tuple[str, list[str]]]) -> dict[str, Observation]:
    """Observe messages in a Postfix log.

    ``wanted`` maps Message-ID -> (sender, recipients). Messages the MTA refused before
    queueing are matched on (sender, recipient) in NOQUEUE/cleanup reject lines.
    """
    qid_by_mid: dict[str, str] = {}
    status: dict[tuple[str, str], tuple[str, str]] = {}
    expired: dict[str, str] = {}
    noqueue: dict[tuple[str, str], str] = {}
    cleanup_rej: dict[tuple[str, str], tuple[str, str]] = {}
    dsn: dict[str, str] = {}
    for line in lines:
        if m := PF_MSGID.search(line):
            qid_by_mid.setdefault(m["mid"], m["qid"])
        elif m := PF_STATUS.search(line):
            rcpt = m["orig"] or m["rcpt"]
            status[(m["qid"], rcpt)] = (m["st"], line)
        elif m := PF_EXPIRED.search(line):
            expired[m["qid"]] = (m["st"], line)
        elif m := PF_NOQUEUE.search(line):
            noqueue[(m["from"], m["rcpt"])] = line
        elif m := PF_CLEANUP_REJECT.search(line):
            cleanup_rej[(m["from"], m["rcpt"])] = (m["qid"], line, PF_CLEANUP_OUTCOME[m["act"]])
        elif m := PF_DSN.search(line):
            dsn[m["qid"]] = m["dsn"]
    result = {}
    for mid, (sender, rcpts) in wanted.items():
        ob = Observation(queue_id=qid_by_mid.get(mid))
        for rcpt in rcpts:
            if (sender, rcpt) in cleanup_rej:  # rejected/held/discarded by cleanup's header checks
                ob.queue_id, line, outcome = cleanup_rej[(sender, rcpt)]
                ob.outcomes[rcpt], ob.final_lines[rcpt] = outcome, line
            elif ob.queue_id and (ob.queue_id, rcpt) in status:
                st, line = status[(ob.queue_id, rcpt)]
                if st == "deferred" and ob.queue_id in expired:
                    st, line = expired[ob.queue_id]
                ob.outcomes[rcpt], ob.final_lines[rcpt] = st, line
            elif (sender, rcpt) in noqueue:
                ob.outcomes[rcpt], ob.final_lines[rcpt] = "rejected", noqueue[(sender, rcpt)]
            else:
                ob.outcomes[rcpt] = "unknown"
        if ob.queue_id:
            ob.bounce_notice = dsn.get(ob.queue_id)
        result[mid] = ob
    return result


# ----------------------------------------------------------------------------- Exim
EX_ID = r"(?P<qid>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4})"
EX_ARRIVAL = re.compile(EX_ID + r" <= (?P<from>\S+) .*?\bid=(?P<mid>\S+)")
EX_DELIVERY = re.compile(EX_ID + r" (?P<op>=>|->|==|\*\*) (?P<rcpt>\S+)(?: <(?P<orig>[^>]+)>)?(?P<rest>.*)")
EX_REJECT_RCPT = re.compile(r"F=<(?P<from>[^>]*)> (?:temporarily )?rejected RCPT <(?P<rcpt>[^>]*)>")
EX_REJECT_MAIL = re.compile(r"(?:temporarily )?rejected MAIL <(?P<from>[^>]*)>")
EX_REJECT_DATA = re.compile(r"F=<(?P<from>[^>]*)> (?:temporarily )?rejected after DATA")
EX_DSN = re.compile(EX_ID + r" <= <> R=(?P<orig>\S+)")
EX_IGNORED = re.compile(EX_ID + r" (?P<rcpt>\S+): error ignored$")
EX_FREEZE = re.compile(EX_ID + r" (?P<what>Frozen|Unfrozen|Completed)")


def observe_exim(lines: list[str], wanted: dict[str, tuple[str, list[str]]]) -> dict[str, Observation]:
    """Observe messages in an Exim mainlog (same contract as :func:`observe_postfix`)."""
    qid_by_mid: dict[str, str] = {}
    status: dict[tuple[str, str], tuple[str, str]] = {}
    rej_rcpt: dict[tuple[str, str], str] = {}
    rej_mail: dict[str, str] = {}
    rej_data: dict[str, str] = {}
    dsn: dict[str, str] = {}
    discarded: dict[str, str] = {}
    ignored: dict[tuple[str, str], str] = {}
    frozen: dict[str, bool] = {}
    for line in lines:
        if m := EX_DSN.search(line):
            dsn.setdefault(m["orig"], m["qid"])
        if m := EX_IGNORED.search(line):
            ignored[(m["qid"], m["rcpt"])] = line
            continue
        if m := EX_FREEZE.search(line):
            frozen[m["qid"]] = m["what"] == "Frozen"
        if m := EX_ARRIVAL.search(line):
            mid = m["mid"] if m["mid"].startswith("<") else f"<{m['mid']}>"  # Exim logs id= bare
            qid_by_mid.setdefault(mid, m["qid"])
        elif m := EX_DELIVERY.search(line):
            rcpt = m["orig"] or m["rcpt"].rstrip(":")  # "** a@b: retry timeout exceeded"
            op = m["op"]
            st = {"=>": "sent", "->": "sent", "==": "deferred", "**": "bounced"}[op]
            if op == "**" and "retry timeout exceeded" in m["rest"]:
                st = "expired"
            elif op == "**" and m["rest"].endswith(": error ignored"):
                st = "error-ignored"
            if op == "=>" and m["rcpt"] == "blackhole" and "discarded recipients" in m["rest"]:
                discarded[m["qid"]] = line
            status[(m["qid"], rcpt)] = (st, line)
        elif m := EX_REJECT_RCPT.search(line):
            rej_rcpt[(m["from"], m["rcpt"])] = line
        elif m := EX_REJECT_MAIL.search(line):
            rej_mail[m["from"]] = line
        elif m := EX_REJECT_DATA.search(line):
            rej_data[m["from"]] = line
    result = {}
    for mid, (sender, rcpts) in wanted.items():
        ob = Observation(queue_id=qid_by_mid.get(mid))
        for rcpt in rcpts:
            if ob.queue_id in discarded:
                ob.outcomes[rcpt], ob.final_lines[rcpt] = "discarded", discarded[ob.queue_id]
            elif (ob.queue_id, rcpt) in ignored:  # '** addr ...' then 'addr: error ignored'
                ob.outcomes[rcpt], ob.final_lines[rcpt] = "error-ignored", ignored[(ob.queue_id, rcpt)]
            elif ob.queue_id and (ob.queue_id, rcpt) in status:
                ob.outcomes[rcpt], ob.final_lines[rcpt] = status[(ob.queue_id, rcpt)]
            elif (sender, rcpt) in rej_rcpt:
                ob.outcomes[rcpt], ob.final_lines[rcpt] = "rejected", rej_rcpt[(sender, rcpt)]
            elif sender in rej_mail:
                ob.outcomes[rcpt], ob.final_lines[rcpt] = "rejected", rej_mail[sender]
            elif not ob.queue_id and sender in rej_data:
                ob.outcomes[rcpt], ob.final_lines[rcpt] = "rejected", rej_data[sender]
            else:
                ob.outcomes[rcpt] = "unknown"
        if ob.queue_id:
            ob.bounce_notice = dsn.get(ob.queue_id)
            if ob.bounce_notice and frozen.get(ob.bounce_notice):
                ob.bounce_notice_outcome = "frozen"
        result[mid] = ob
    return result
