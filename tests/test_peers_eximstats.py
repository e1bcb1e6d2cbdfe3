"""The report's eximstats sections against eximstats itself, run on the same Exim mainlog.

eximstats (Debian package ``exim4-base``; ``.ci/run`` installs it) is run with ``-nvr`` (volumes in
bytes), ``-t100000`` (every row of the top tables) and ``-h0`` (no histograms) on the real-daemon
logs (``sample_logs/exim``), a real server's log from the shared corpus (ddgrey) and a day written by
``bench/generate_logs.py``; its text is parsed and compared with
:func:`analyzer.report.peers.eximstats_tables`. Where maillens counts differently on purpose
(transports grouped by kind, rejects by command), the test maps eximstats' rows onto ours and says so.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from analyzer.reader import parse_logs
from analyzer.report.peers import eximstats_tables
from tests.conftest import CORPUS, SAMPLES
from tools.peers import EXIMSTATS, concat_rotated, generated_day

pytestmark = pytest.mark.skipif(EXIMSTATS is None, reason="eximstats not installed (apt-get install exim4-base)")

DDGREY = CORPUS / "ddgrey" / "mainlog.filtered-sample"
RUNS = ["exim", "corpus", "generated"]


def _section(out: str, title: str) -> list[str]:
    """The non-blank lines of one eximstats section, after its underline, up to the next section."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == title and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            body = []
            for j in range(i + 2, len(lines)):
                if j + 1 < len(lines) and lines[j + 1].strip() and set(lines[j + 1].strip()) == {"-"} \
                        and not lines[j].startswith(" "):
                    break  # the next section's title
                if lines[j].strip():
                    body.append(lines[j])
            return body
    return []


def _top(out: str, title: str, what: str) -> dict[str, tuple[int, ...]]:
    """A "Top N <what>" table: {name: (numbers before the average ...)}."""
    rows = {}
    for line in _section(out, f"Top 100000 {what} by {title}")[1:]:  # after the column heads
        cells = line.split(None, 4 if what.startswith(("host", "local dest")) else 3)
        rows[cells[-1]] = tuple(int(c) for c in cells[:-2])  # the average is left out
    return rows


@pytest.fixture(scope="module", params=RUNS)
def run(request, tmp_path_factory):
    """(eximstats' output, our full tables) for one input."""
    tmp = tmp_path_factory.mktemp(f"ex-{request.param}")
    if request.param == "generated":
        log = generated_day(tmp / "generated.log", "exim")
    elif request.param == "corpus":
        if not DDGREY.exists():
            pytest.skip(f"shared corpus not found at {CORPUS}")
        log = DDGREY
    else:
        log = concat_rotated(SAMPLES / "exim", "mainlog", tmp / "mainlog")
    out = subprocess.run([EXIMSTATS, "-nvr", "-t100000", "-h0", str(log)], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    events = parse_logs([str(log)], tz="UTC", year=2026, fmt="exim").events
    return request.param, out, eximstats_tables(events)


def test_byte_volumes_equal(run):
    """Received and delivered volume equal eximstats' grand total summary."""
    _, out, t = run
    got = {}
    for line in out.splitlines():
        cells = line.split()
        if cells[:1] in (["Received"], ["Delivered"]) and len(cells) >= 3:
            got[f"bytes {cells[0].lower()}"] = int(cells[1])
    assert dict(zip(t["volumes"]["measure"], t["volumes"]["value"], strict=True)) == got


@pytest.mark.parametrize(("table", "title", "what", "cols"), [
    ("sources_by_count", "message count", "sending hosts", ("messages", "bytes")),
    ("sources_by_volume", "volume", "sending hosts", ("messages", "bytes")),
    ("destinations_by_count", "message count", "host destinations", ("messages", "addresses", "bytes")),
    ("destinations_by_volume", "volume", "host destinations", ("messages", "addresses", "bytes")),
    ("local_destinations", "message count", "local destinations", ("messages", "addresses", "bytes")),
])
def test_sources_and_destinations_equal(run, table, title, what, cols):
    """Every sending host, destination host and local destination row equals eximstats'."""
    name, out, t = run
    theirs = _top(out, title, what)
    df = t[table]
    key = "recipient" if table == "local_destinations" else "host"
    ours = {str(r[key]): tuple(int(r[c]) for c in cols) for r in df.to_dict("records")}
    assert ours == theirs, f"{name}: {set(ours.items()) ^ set(theirs.items())}"
    if not (name == "corpus" and table == "local_destinations"):
        assert ours, f"{name}: no {what}"


def test_transports_equal_by_kind(run):
    """Deliveries by transport equal eximstats' once its transports are grouped as maillens groups
    them (a name with 'smtp' is remote, :blackhole: apart, the rest local)."""
    name, out, t = run
    theirs: dict[str, list[int]] = {}
    for line in _section(out, "Deliveries by transport")[1:]:
        tname, volume, count = line.split()
        kind = ":blackhole:" if tname == ":blackhole:" else "remote (smtp)" if "smtp" in tname else "local"
        acc = theirs.setdefault(kind, [0, 0])
        acc[0], acc[1] = acc[0] + int(count), acc[1] + int(volume)
    ours = {r["transport"]: [int(r["messages"]), int(r["bytes"])] for r in t["transports"].to_dict("records")}
    assert ours == theirs, name
    assert "remote (smtp)" in ours


def test_relayed_messages_equal(run):
    """Relayed messages (from host and sender => to host and recipient) equal eximstats'."""
    name, out, t = run
    lines = _section(out, "Relayed messages")
    theirs = {}
    for first, second in zip(lines[0::2], lines[1::2], strict=False):
        m = re.match(r"^\s*(\d+) (.*)$", first)
        if not m or not second.strip().startswith("=> "):
            continue
        theirs[(m.group(2).strip(), second.strip()[3:].strip())] = int(m.group(1))
    ours = {(r["from"], r["to"]): int(r["count"]) for r in t["relayed"].to_dict("records")}
    assert ours == theirs, f"{name}: {set(ours.items()) ^ set(theirs.items())}"
    if name != "corpus":
        assert ours


def _queue(out: str, which: str) -> dict[str, int]:
    rows = {}
    for line in _section(out, f"Time spent on the queue: {which}"):
        m = re.match(r"^(Under|Over|\s+)\s+(\S+)\s+(\d+)\s", line)
        assert m, line
        rows["over" if m.group(1) == "Over" else m.group(2)] = int(m.group(3))
    return rows


def test_queue_time_histogram_equal(run):
    """Time on the queue per bucket (under 1m ... over 1d), for all messages and for those with a
    remote delivery, equals eximstats'."""
    name, out, t = run
    q = t["queue_times"]
    upper = q["time"].str.replace(r"^(under |.* to )", "", regex=True).where(~q["time"].str.startswith("over"), "over")
    for col, which in (("messages", "all messages"), ("remote_messages", "messages with at least one remote delivery")):
        ours = {u: int(n) for u, n in zip(upper, q[col], strict=True) if n}
        assert ours == _queue(out, which), (name, which)
    assert q["messages"].sum() > 0
    assert abs(q.loc[q["messages"] > 0, "share"].sum() - 1) < 0.01


def test_rejects_by_command_match_eximstats_reasons(run):
    """Each of our (RCPT/MAIL command, reason) rows is eximstats' 'Rejected <command>: <reason>' row,
    and each 'after DATA' reason is its row of the same text; eximstats' other reasons (synchronization
    errors, drops, remote replies) are the ones maillens leaves out of this section."""
    name, out, t = run
    theirs = {}
    for line in _section(out, "Top 100000 mail rejection reasons by message count")[1:]:
        m = re.match(r"^\s*(\d+)\s+(.*)$", line)
        theirs[m.group(2)] = int(m.group(1))
    r = t["rejects"]
    checked, spam = 0, 0
    for kind, reason, count in zip(r["kind"], r["reason"], r["count"], strict=True):
        if reason == "(no reason logged)":
            continue
        if "SpamAssassin" in reason:  # eximstats' first rule: any such line is 'Rejected by SpamAssassin'
            spam += count
            continue
        key = f"Rejected {kind}: {reason}" if kind in ("RCPT", "MAIL") else reason[:1].upper() + reason[1:]
        assert theirs.get(key) == count, (name, key, count, theirs.get(key))
        checked += 1
    assert checked >= 1, name
    assert spam <= theirs.get("Rejected by SpamAssassin", 0)
