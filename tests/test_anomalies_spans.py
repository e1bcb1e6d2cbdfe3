"""Detectors over long spans: slow brute force and dictionary attacks, networks as one finding,
silence judged per log file, quiet nights that are no silence."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from analyzer.anomalies import default_params, detect_anomalies
from analyzer.anomalies.health import detect_silence
from analyzer.anomalies.longwindow import _networks, detect_slow_abuse
from analyzer.classify import classify
from analyzer.reader import parse_lines, parse_logs
from bench.generate_rotated import generate_rotated

START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
#: sessions per hour of day on a small server: nothing from 23:00 to 05:00
PROFILE = (0, 0, 0, 0, 0, 1, 3, 8, 15, 20, 22, 22, 20, 20, 22, 20, 18, 15, 10, 6, 4, 2, 1, 0)


def _stamp(t: dt.datetime) -> str:
    return f"{t:%b} {t.day:2d} {t:%H:%M:%S}"


def _session(t: dt.datetime, ip: str, pid: int) -> list[tuple[dt.datetime, str]]:
    who = f"client.example[{ip}]"
    return [(t, f"{_stamp(t)} mx1 postfix/smtpd[{pid}]: connect from {who}"),
            (t + dt.timedelta(seconds=2), f"{_stamp(t + dt.timedelta(seconds=2))} mx1 postfix/smtpd[{pid}]: "
                                          f"disconnect from {who} ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5")]


def _sasl(t: dt.datetime, ip: str, pid: int) -> tuple[dt.datetime, str]:
    return (t, f"{_stamp(t)} mx1 postfix/smtpd[{pid}]: warning: unknown[{ip}]: SASL LOGIN authentication failed: "
               f"UGFzc3dvcmQ6, sasl_username=admin")


def _days(days: int, seed: int, skip: tuple[dt.datetime, dt.datetime] | None = None,
          extra: list[tuple[dt.datetime, str]] | None = None) -> list[tuple[dt.datetime, str]]:
    """Ordinary sessions over ``days`` days following PROFILE, minus the ``skip`` interval."""
    r = random.Random(seed)
    lines = list(extra or [])
    pid = 100
    for d in range(days):
        for hour, n in enumerate(PROFILE):
            for _ in range(n):
                t = START + dt.timedelta(days=d, hours=hour, seconds=r.randrange(3600))
                if skip and skip[0] <= t < skip[1]:
                    continue
                pid += 1
                lines += _session(t, f"203.0.113.{r.randrange(1, 250)}", pid)
    return lines


def _events(lines: list[tuple[dt.datetime, str]], source: str = "mail.log") -> pd.DataFrame:
    ordered = [line for _, line in sorted(lines, key=lambda x: x[0])]
    return classify(parse_lines(ordered, source=source, year=2026, tz="UTC").events)


def _found(events: pd.DataFrame, detector: str, **kw) -> list:
    return [f for f in detect_anomalies(events, **kw) if f.detector == detector]


def test_slow_brute_force_over_14_days_is_found():
    """At most 3 SASL failures an hour from one IP over 14 days: never an hourly finding, one long-window finding."""
    r = random.Random(14)
    attack = [_sasl(START + dt.timedelta(days=d, hours=h, seconds=s), "198.18.7.7", 9000 + d * 100 + h)
              for d in range(14) for h in range(24) for s in sorted(r.sample(range(3600), r.choice((0, 1, 2, 3))))]
    ev = _events(_days(14, 1, extra=attack))
    assert not [f for f in _found(ev, "abuse") if f.entity == "198.18.7.7"]
    slow = [f for f in _found(ev, "long_window") if f.entity == "198.18.7.7"]
    assert len(slow) == 1
    assert slow[0].observed == len(attack)
    assert slow[0].severity == "critical"  # it persisted for two weeks
    assert slow[0].window_end - slow[0].window_start > pd.Timedelta(days=13)


def test_issue_case_540_from_one_ip_among_1271_over_weeks():
    """1,271 failures over three weeks, 540 from one IP at most 4 an hour, the rest one or two from each of
    hundreds of addresses: the one IP is found, the scattered ones are not."""
    r = random.Random(1271)
    hours = sorted(r.sample(range(21 * 24), 180))
    attack = [_sasl(START + dt.timedelta(hours=h, seconds=s), "198.18.7.7", 7000 + i)
              for i, h in enumerate(hours) for s in r.sample(range(3600), 3)]
    noise = [_sasl(START + dt.timedelta(seconds=r.randrange(21 * 86400)), f"203.0.{r.randrange(256)}.{r.randrange(1, 255)}",
                   8000 + i) for i in range(1271 - 540)]
    ev = _events(_days(21, 2, extra=attack + noise))
    found = _found(ev, "long_window")
    assert [f.entity for f in found] == ["198.18.7.7"]
    assert found[0].observed == 540


def test_network_is_one_finding():
    """Six addresses of one /64 and five of one /24, each slow, give one finding per network, none per address."""
    r = random.Random(64)
    lines = []
    for d in range(10):
        for i in range(6):
            for _ in range(5):
                lines.append(_sasl(START + dt.timedelta(days=d, seconds=r.randrange(86400)), f"2001:db8:bad:1::{i + 16:x}",
                                   5000 + d))
        for i in range(5):
            for _ in range(5):
                lines.append(_sasl(START + dt.timedelta(days=d, seconds=r.randrange(86400)), f"198.18.9.{i + 10}",
                                   6000 + d))
    ev = _events(_days(10, 3, extra=lines))
    found = {f.entity: f for f in _found(ev, "long_window")}
    assert set(found) == {"2001:db8:bad:1::/64", "198.18.9.0/24"}
    assert found["2001:db8:bad:1::/64"].observed == 300 and "6 addresses" in found["2001:db8:bad:1::/64"].title


def test_networks_of_addresses():
    """IPv4 addresses map to their /24, IPv6 (compressed or not) to their /64, anything else to null."""
    got = _networks(pd.Series(["198.18.9.77", "2001:db8:bad:1::10", "2001:0db8:0bad:0001:0:0:0:1", "unknown", None]))
    assert got.tolist()[:3] == ["198.18.9.0/24", "2001:db8:bad:1::/64", "2001:db8:bad:1::/64"]
    assert got.isna().tolist()[3:] == [True, True]


def test_slow_dictionary_attack_is_found():
    """Unknown recipients from one client, a handful at a time over days, make one dictionary-attack finding."""
    r = random.Random(5)
    lines = []
    for d in range(8):
        for k in range(8):
            t = START + dt.timedelta(days=d, hours=8 + k, seconds=r.randrange(3600))
            for j in range(4):
                rcpt = f"user{d}x{k}x{j}@ourdomain.test"
                lines.append((t, f"{_stamp(t)} mx1 postfix/smtpd[{4000 + d}]: NOQUEUE: reject: RCPT from "
                                 f"unknown[198.19.44.44]: 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown "
                                 f"in virtual mailbox table; from=<a@spam.example> to=<{rcpt}> proto=ESMTP helo=<x>"))
    ev = _events(_days(8, 4, extra=lines))
    found = [f for f in _found(ev, "long_window") if f.entity == "198.19.44.44"]
    assert found and found[0].observed == 256 and "dictionary" in found[0].title.lower()


def test_normal_quiet_nights_are_no_silence():
    """Mail that tapers off in the evening and stops from 23:00 to 05:00: no silence, over one night or a week."""
    for days in (2, 7):
        ev = _events(_days(days, 10 + days))
        assert not _found(ev, "silence"), days
        assert not _found(ev, "long_window")


def test_quiet_night_against_a_history_is_no_silence():
    """With a history of earlier days (a store), the same quiet night is expected and no silence."""
    ev = _events(_days(4, 20))
    cut = pd.Timestamp(START + dt.timedelta(days=3))
    hist, cur = ev[ev["ts"] < cut], ev[ev["ts"] >= cut]
    assert not [f for f in detect_anomalies(cur, baseline=hist, now=cut + pd.Timedelta(hours=30))
                if f.detector == "silence"]


def test_daytime_outage_is_still_a_silence():
    """Ninety minutes without mail at midday on a day of the same profile is a silence."""
    a = START + dt.timedelta(days=1, hours=12)
    ev = _events(_days(2, 30, skip=(a, a + dt.timedelta(minutes=90))))
    found = _found(ev, "silence")
    assert len(found) == 1 and found[0].entity == "all traffic"
    assert abs(found[0].window_start - pd.Timestamp(a)) < pd.Timedelta(minutes=20)


def test_sparse_file_beside_a_busy_one_makes_no_silence():
    """A mail.warn with a warning every few hours beside a busy mail.log: its gaps are no silence, since each
    file is judged only against its own traffic."""
    busy = _events(_days(3, 40))
    warn_lines = [(START + dt.timedelta(hours=h, minutes=7),
                   f"{_stamp(START + dt.timedelta(hours=h, minutes=7))} mx1 postfix/smtpd[77]: warning: "
                   f"hostname nowhere.example does not resolve to address 203.0.113.9") for h in range(0, 72, 5)]
    warn = _events(warn_lines, source="mail.warn")
    ev = pd.concat([busy, warn], ignore_index=True).sort_values("ts", kind="stable").reset_index(drop=True)
    params = default_params()
    found = detect_anomalies(ev, params=params, detectors=[detect_silence])
    assert not found


def test_rotated_set_finds_its_slow_attacks_and_one_silence(tmp_path: Path):
    """The generated 28-day rotated set: the slow brute force, the /64 network and the slow dictionary attack are
    found, and of the silences only the injected one (no quiet night)."""
    rec = generate_rotated(tmp_path, days=28)
    files = sorted(str(p) for p in tmp_path.iterdir())
    ev = classify(parse_logs(files, year=2026, tz="UTC").events)
    found = detect_anomalies(ev, now=pd.Timestamp("2026-11-30T06:00:00Z"))
    slow = {f.entity: f for f in found if f.detector == "long_window"}
    assert set(slow) == {"198.18.7.7", "2001:db8:bad:1::/64", "198.19.44.44"}
    assert slow["198.18.7.7"].observed == rec["slow_brute_force"]["failures"]
    assert rec["slow_brute_force"]["max_per_hour"] <= 4
    silences = [f for f in found if f.detector == "silence"]
    assert len(silences) == 1
    assert abs(silences[0].window_start - pd.Timestamp(rec["silence"]["start"])) < pd.Timedelta(minutes=15)
    assert json.dumps(rec)  # the record is plain data


@pytest.mark.parametrize("key", ["sasl_per_day", "sasl_per_span", "unknown_per_day", "network_min_ips"])
def test_long_window_thresholds_are_documented(key):
    """Every long-window threshold is in anomalies.toml with a comment."""
    text = (Path(__file__).resolve().parent.parent / "analyzer" / "anomalies.toml").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith(f"{key} ="))
    assert "#" in line and default_params()["long_window"][key] > 0


def test_slow_abuse_without_clients_is_empty():
    """No client addresses at all: no long-window finding and no error."""
    ev = _events(_days(1, 50))
    from analyzer.anomalies.context import Context

    ctx = Context(events=ev.assign(client_ip=None), history=ev.iloc[0:0], params=default_params())
    assert detect_slow_abuse(ctx) == []


def test_sparse_file_against_a_busy_history_makes_no_silence():
    """A report over a sparse mail.warn alone, with a history holding the busy mail.log: the history of another
    file sets no expectation for mail.warn, so its five-hour gaps are no silence."""
    hist = _events(_days(3, 41))
    day = START + dt.timedelta(days=3)
    warn = _events([(day + dt.timedelta(hours=h, minutes=7),
                     f"{_stamp(day + dt.timedelta(hours=h, minutes=7))} mx1 postfix/smtpd[77]: warning: "
                     f"hostname nowhere.example does not resolve to address 203.0.113.9") for h in range(0, 24, 5)],
                   source="mail.warn")
    assert not [f for f in detect_anomalies(warn, baseline=hist, now=day + dt.timedelta(hours=23))
                if f.detector == "silence"]
