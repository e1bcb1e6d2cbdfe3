"""Tests of bench/generate_logs.py, the synthetic Postfix/Exim log generator."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate_logs import generate, main  # noqa: E402

START = "2026-11-28T00:00:00"
QID = r"[0-9A-F]{10,12}"


def _lines(**kw) -> list[str]:
    text = generate(out=None, **kw)["text"]
    return text.splitlines()


def _ts(line: str, mta: str) -> datetime:
    """Timestamp of a generated line (rfc3339 style for Postfix, Exim's own otherwise)."""
    if mta == "exim":
        return datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return datetime.fromisoformat(line.split(" ", 1)[0])


@pytest.mark.parametrize("mta", ["postfix", "exim"])
@pytest.mark.parametrize("n", [1, 7, 2500])
def test_writes_exactly_n_lines(tmp_path, mta, n):
    """The output file has exactly --lines lines, each ending in a newline, none empty."""
    out = tmp_path / "x.log"
    res = generate(mta=mta, lines=n, seed=3, out=out, hours=6)
    data = out.read_text()
    assert res["lines"] == n
    assert data.endswith("\n")
    lines = data.split("\n")[:-1]
    assert len(lines) == n
    assert all(line.strip() for line in lines)


def test_exact_count_with_incidents():
    """Incident injection does not change the line count."""
    lines = _lines(mta="postfix", lines=3000, seed=5, incidents=[
        "sasl_bruteforce:203.0.113.66@1h+30m", "silence@3h+20m", "521_burst:example.net@4h+1h"])
    assert len(lines) == 3000


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_same_seed_same_output_other_seed_differs(mta):
    """The same seed gives byte-identical output; another seed gives different output."""
    a = generate(mta=mta, lines=4000, seed=11, out=None)["text"]
    b = generate(mta=mta, lines=4000, seed=11, out=None)["text"]
    c = generate(mta=mta, lines=4000, seed=12, out=None)["text"]
    assert a == b
    assert a != c


def test_lines_are_in_time_order_and_inside_window():
    """Timestamps never go backwards and stay inside [--start, --start + --hours)."""
    lines = _lines(mta="postfix", lines=5000, seed=2, style="rfc3339", start=START, hours=4)
    stamps = [_ts(x, "postfix") for x in lines]
    assert stamps == sorted(stamps)
    lo = datetime(2026, 11, 28, tzinfo=UTC)
    assert lo <= stamps[0] and stamps[-1] < datetime(2026, 11, 28, 4, tzinfo=UTC)


def test_postfix_sent_queue_ids_have_origin_and_removed():
    """Every queue id with status=sent entered the queue (client=, pickup, or a bounce notice) and was removed."""
    lines = _lines(mta="postfix", lines=20000, seed=7, incidents=[
        "deferral_buildup@10h+3h", "microsoft_block@2h+2h"])
    origin, removed, sent = set(), set(), set()
    pat = re.compile(rf"\]: ({QID}): (.*)$")
    for line in lines:
        m = pat.search(line)
        if not m:
            continue
        qid, rest = m.groups()
        if rest.startswith("client=") or "postfix/pickup[" in line:
            origin.add(qid)
        elif rest == "removed":
            removed.add(qid)
        elif "status=sent" in rest:
            sent.add(qid)
        notice = re.match(rf"sender (?:non-delivery|delay) notification: ({QID})$", rest)
        if notice:
            origin.add(notice.group(1))
    assert len(sent) > 500
    assert sent - origin == set()
    assert sent - removed == set()


def test_postfix_queue_ids_unique_per_message():
    """No Postfix queue id enters the queue twice, and ids are 10-12 upper-case hex digits."""
    lines = _lines(mta="postfix", lines=20000, seed=8)
    entered = re.findall(rf"\]: ({QID}): (?:client=|uid=)", "\n".join(lines))
    assert len(entered) > 500
    assert len(entered) == len(set(entered))
    assert not re.search(r"\]: [0-9A-F]{13,}: ", "\n".join(lines))


def test_exim_message_ids_unique_and_completed():
    """Exim ids look like 1vXyZa-000AbC-1x, each arrives once, and each => delivery belongs to an arrival."""
    lines = _lines(mta="exim", lines=20000, seed=8)
    eid = r"[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}"
    arrivals = [m.group(1) for x in lines if (m := re.search(rf"\] ({eid}) <= ", x))]
    assert len(arrivals) == len(set(arrivals)) > 500
    delivered = {m.group(1) for x in lines if (m := re.search(rf"\] ({eid}) => ", x))}
    assert delivered <= set(arrivals)
    completed = {m.group(1) for x in lines if (m := re.search(rf"\] ({eid}) Completed$", x))}
    assert completed <= set(arrivals)


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_silence_window_has_no_lines(mta):
    """No line falls inside an injected silence window, while traffic exists just before and after it."""
    lines = _lines(mta=mta, lines=20000, seed=4, style="rfc3339", start=START, hours=12,
                   incidents=["silence@5h+45m"])
    lo = datetime(2026, 11, 28, 5, tzinfo=UTC)
    hi = datetime(2026, 11, 28, 5, 45, tzinfo=UTC)
    stamps = [_ts(x, mta) for x in lines]
    assert not [s for s in stamps if lo <= s < hi]
    assert any(lo.replace(hour=4, minute=45) <= s < lo for s in stamps)
    assert any(hi <= s < hi.replace(hour=6, minute=30) for s in stamps)


def test_record_lists_injected_incidents(tmp_path, capsys):
    """--record writes one JSON line per incident with its kind, entity and UTC window."""
    out, rec = tmp_path / "pf.log", tmp_path / "inc.jsonl"
    rc = main(["--mta", "postfix", "--lines", "20000", "--seed", "1", "-o", str(out),
               "--start", START, "--hours", "24", "-q",
               "--incident", "521_burst:example.net@2h+1h",
               "--incident", "sasl_bruteforce:198.51.100.66@2026-11-28T12:00:00+30m",
               "--incident", "silence@15h+30m",
               "--incident", "microsoft_block@8h+2h",
               "--incident", "deferral_buildup:bigisp.example@18h+3h",
               "--record", str(rec)])
    assert rc == 0
    recs = [json.loads(x) for x in rec.read_text().splitlines()]
    got = [(r["kind"], r["entity"], r["start"], r["end"]) for r in recs]
    assert got == [
        ("521_burst", "example.net", "2026-11-28T02:00:00Z", "2026-11-28T03:00:00Z"),
        ("sasl_bruteforce", "198.51.100.66", "2026-11-28T12:00:00Z", "2026-11-28T12:30:00Z"),
        ("silence", None, "2026-11-28T15:00:00Z", "2026-11-28T15:30:00Z"),
        ("microsoft_block", "microsoft", "2026-11-28T08:00:00Z", "2026-11-28T10:00:00Z"),
        ("deferral_buildup", "bigisp.example", "2026-11-28T18:00:00Z", "2026-11-28T21:00:00Z"),
    ]
    by_kind = {r["kind"]: r for r in recs}
    assert by_kind["silence"]["lines"] == 0
    for kind in ("521_burst", "sasl_bruteforce", "microsoft_block", "deferral_buildup"):
        assert by_kind[kind]["lines"] > 0, kind
    assert by_kind["sasl_bruteforce"]["details"]["attempts"] >= 200


def test_incidents_show_in_the_log():
    """Injected incidents produce their signature lines inside their windows only."""
    lines = _lines(mta="postfix", lines=30000, seed=6, style="rfc3339", start=START, incidents=[
        "sasl_bruteforce:203.0.113.66@2h+1h", "521_burst:example.net@6h+1h"])
    lo, hi = datetime(2026, 11, 28, 2, tzinfo=UTC), datetime(2026, 11, 28, 3, tzinfo=UTC)
    sasl = [_ts(x, "postfix") for x in lines
            if "[203.0.113.66]: SASL" in x and "authentication failed" in x]
    assert len(sasl) >= 200
    assert all(lo <= s < hi for s in sasl)
    g521 = [x for x in lines if "example.net" in x and "refused to talk to me: 521" in x
            and "status=deferred" in x]
    assert g521 and all("dsn=4.3.2" in x for x in g521)
    assert all(datetime(2026, 11, 28, 6, tzinfo=UTC) <= _ts(x, "postfix")
               < datetime(2026, 11, 28, 7, tzinfo=UTC) for x in g521)


@pytest.mark.parametrize("spec", ["nosuch@1h+1h", "521_burst@1h+1h", "silence@1h", "silence@1h+0m"])
def test_bad_incident_specs_are_rejected(spec):
    """Malformed or incomplete incident specs raise ValueError."""
    with pytest.raises(ValueError):
        generate(lines=10, out=None, incidents=[spec])


# Names bench/generate_logs.py defined before its code moved to the bench.gen package;
# importers of any of them keep working.
_PRE_SPLIT_NAMES = (
    "B62", "B64", "BRUTE_NAMES", "DEFAULT_START", "Dest", "EXIM_TLS", "FIRST", "Incident", "KINDS",
    "LAST", "MONTHS", "MS_KINDS", "MY_IP", "NONSMTP", "OUR_DOMAINS", "ROLES", "SPAM_HELO", "SUFFIX",
    "TLDS", "TLS12", "TLS13", "TLS13b", "WORDS", "_DUR_RE", "_DUR_UNITS", "_Exim", "_Gen", "_Pool",
    "_Postfix", "_b62", "_counts", "_exim_dur", "_fmt_delay", "_iso", "_parse_time", "generate",
    "main", "parse_duration", "parse_incident",
)


def test_entry_point_keeps_its_names():
    """Every name the module had before the split is still importable from it."""
    import bench.generate_logs as gl

    missing = [n for n in _PRE_SPLIT_NAMES if not hasattr(gl, n)]
    assert not missing
    assert set(gl.__all__) == {"generate", "Incident", "parse_incident", "parse_duration", "KINDS"}


def test_script_runs_from_another_directory(tmp_path):
    """`python bench/generate_logs.py` works from any directory and writes what generate() does."""
    import subprocess

    out = tmp_path / "x.log"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate_logs.py"), "--mta", "exim",
                    "--lines", "500", "--seed", "4", "--hours", "3", "-o", str(out), "-q"],
                   cwd=tmp_path, check=True)
    assert out.read_text() == generate(mta="exim", lines=500, seed=4, hours=3, out=None)["text"]


@pytest.mark.parametrize("mta,style", [("postfix", "syslog"), ("postfix", "rfc3339"), ("exim", "syslog")])
def test_spilled_runs_write_what_one_sort_writes(monkeypatch, mta, style):
    """A day spilled to many sorted runs on disk comes out byte for byte as the one in memory
    (ties in time keep the order the lines were made in)."""
    kw = dict(mta=mta, lines=6000, seed=13, out=None, style=style, hours=2,
              incidents=["silence@30m+10m", "sasl_bruteforce:203.0.113.66@1h+20m"])
    whole = generate(**kw)["text"]
    monkeypatch.setenv("MAILLENS_GEN_SPOOL", "250")
    spilled = generate(**kw)["text"]
    assert spilled == whole
    assert len(whole.splitlines()) == 6000


def test_new_pid_takes_the_next_free_one_as_a_set_would():
    """new_pid (a byte map searched in C) gives the pids the set-and-step loop gave, also when
    the draws crowd one range and when they start below zero."""
    import random

    from bench.gen.engine import Gen

    g = Gen.__new__(Gen)
    g.start, g.dur = 0.0, 3600.0
    g.used_pids, g.neg_pids = bytearray(10), set()
    g.r = random.Random(4)
    ref_r, used = random.Random(4), set()
    for i in range(20000):
        t = (-1200.0, -2.3, 5.0)[i % 3] + (i % 97) * 0.01  # crowded; below, across and above 0
        frac = (t - g.start) / g.dur
        pid = 2000 + int(frac * 3_500_000) + ref_r.randrange(900)
        while pid in used:
            pid += 1
        used.add(pid)
        assert g.new_pid(t) == pid
