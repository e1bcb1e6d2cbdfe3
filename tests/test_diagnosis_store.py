"""Attribution from the store's history: a retry wait whose real error was logged on an earlier night."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer.attribution import HISTORY_COLUMNS, UNSEEN, attribute_from_store
from analyzer.classify import classify, default_rules
from analyzer.reader import parse_logs
from analyzer.store import ingest, read_events

# night 1: the domain's host answers 521 (real lines from sample_logs/exim/mainlog.1, dates moved)
NIGHT1 = [
    "2026-11-29 15:55:28 1xXhFQ-0003ra-17 H=127.0.0.13 [127.0.0.13]:25: SMTP error from remote mail server "
    "after initial connection: 521 5.3.2 mx.nomail.example does not accept mail (RFC 7504)",
    "2026-11-29 15:55:28 1xXhFQ-0003ra-17 == user@nomail.example R=sandbox_routes T=remote_smtp "
    "H=127.0.0.13 [127.0.0.13]:25: SMTP error from remote mail server after initial connection: "
    "521 5.3.2 mx.nomail.example does not accept mail (RFC 7504) DT=0s",
    "2026-11-29 16:10:00 1xXhFS-0003tt-0a == u@refused.example R=sandbox_routes T=remote_smtp "
    "H=127.0.0.25 [127.0.0.25]:25 defer (111): Connection refused DT=0s",
]
# night 2: only Exim's retry waits and give-ups for that domain, and one for a domain never seen
NIGHT2 = [
    "2026-11-30 09:00:00 1xXhFR-0003t9-0m == other@nomail.example R=sandbox_routes T=remote_smtp defer (-54) "
    "DT=0s: retry time not reached for any host for 'nomail.example'",
    "2026-11-30 10:00:00 1xXhFQ-0003ra-17 ** user@nomail.example: retry timeout exceeded",
    "2026-11-30 11:00:00 1xXhFT-0003zz-1b == x@never.example R=sandbox_routes T=remote_smtp defer (-54) "
    "DT=0s: retry time not reached for any host for 'never.example'",
]


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    log = tmp_path / "night1" / "mainlog"
    log.parent.mkdir()
    log.write_text("\n".join(NIGHT1) + "\n")
    ingest([str(log)], tmp_path / "store", tz="UTC", year=2026)
    return tmp_path / "store"


def night2(tmp_path: Path) -> Path:
    log = tmp_path / "night2" / "mainlog"
    log.parent.mkdir(exist_ok=True)
    log.write_text("\n".join(NIGHT2) + "\n")
    return log


def test_waits_take_the_stored_error_with_a_pointer(tmp_path, store):
    """Retry waits and the give-up of a later night carry host.no_mail and point at the stored 521 line;
    a domain the store never saw fail stays 'earlier error not in these logs'."""
    kb = default_rules()
    ev = classify(parse_logs([str(night2(tmp_path))], tz="UTC", year=2026).events, kb)
    assert list(ev["cause"]) == [UNSEEN] * 3
    got = attribute_from_store(ev, store, kb)
    stored = str(tmp_path / "night1" / "mainlog")
    assert list(got["cause"]) == ["host.no_mail", "host.no_mail", UNSEEN]
    # the give-up matched by its queue id (the stored == line), the other wait by its domain
    assert list(got["cause_ref"][:2]) == [f"{stored}:2", f"{stored}:2"]
    assert pd.isna(got["cause_ref"].iloc[2])
    assert list(got["fix_id"][:2]) == ["host.no_mail", "host.no_mail"]
    assert got["severity"].iloc[0] == kb.causes["host.no_mail"]["severity"]
    assert list(got["action"]) == ["waiting_retry", "expired", "waiting_retry"]


def test_store_lookup_reads_only_needed_columns_and_days(tmp_path, store):
    """The look-up reads only HISTORY_COLUMNS, one day at a time, newest first, and stops once every key is found."""
    calls = []

    def spy(st, *, since, until, columns):
        calls.append((pd.Timestamp(since), pd.Timestamp(until), tuple(columns)))
        return read_events(st, since=since, until=until, columns=columns)

    kb = default_rules()
    ev = classify(parse_logs([str(night2(tmp_path))], tz="UTC", year=2026).events, kb)
    ev = ev[ev["recipient"] != "x@never.example"]  # every key can be found: the search stops
    got = attribute_from_store(ev, store, kb, read=spy)
    assert set(got["cause"]) == {"host.no_mail"}
    assert all(c == HISTORY_COLUMNS for *_, c in calls)
    assert [c[0].date().isoformat() for c in calls] == ["2026-11-30", "2026-11-29"]
    assert all(hi - lo <= pd.Timedelta(days=1) for lo, hi, _ in calls)
    calls.clear()
    attribute_from_store(classify(parse_logs([str(night2(tmp_path))], tz="UTC", year=2026).events, kb),
                         store, kb, read=spy, days=3)
    assert len(calls) == 4  # a key never found: the whole look-back (3 days and the run's own first day), no more


def test_nothing_to_look_up_reads_nothing(tmp_path, store):
    """A run without unexplained waits does not touch the store."""
    kb = default_rules()
    log = tmp_path / "n1.log"
    log.write_text("\n".join(NIGHT1) + "\n")
    ev = classify(parse_logs([str(log)], tz="UTC", year=2026).events, kb)

    def boom(*a, **k):
        raise AssertionError("read the store")

    assert attribute_from_store(ev, store, kb, read=boom) is ev


def test_report_with_store_names_the_stored_cause(tmp_path, store):
    """`maillens report --store` lists the night's waits under the stored cause, not 'not in these logs'."""
    from analyzer.cli import app

    args = ["report", str(night2(tmp_path)), "--format", "json", "--now", "2026-12-01T00:00:00Z", "--tz", "UTC"]
    runner = CliRunner()
    plain = json.loads(runner.invoke(app, args, catch_exceptions=False).stdout)
    with_store = json.loads(runner.invoke(app, [*args, "--store", str(store)], catch_exceptions=False).stdout)
    assert {c["cause"] for c in plain["outcomes"]["by_cause"]} == {UNSEEN}
    causes = {c["cause"]: c for c in with_store["outcomes"]["by_cause"]}
    assert set(causes) == {"host.no_mail", UNSEEN}
    assert causes["host.no_mail"]["messages"] == 2 and causes[UNSEEN]["messages"] == 1


def test_report_with_a_broken_store_says_so(tmp_path):
    """A --store that is not a store: one Error line and a Try line, non-zero exit."""
    from analyzer.cli import app

    bad = tmp_path / "nostore"
    bad.mkdir()
    (bad / "junk").write_text("x")
    res = CliRunner().invoke(app, ["report", str(night2(tmp_path)), "--store", str(bad), "--now",
                                   "2026-12-01T00:00:00Z", "--tz", "UTC"])
    assert res.exit_code != 0
    assert "Error:" in res.output and "Try:" in res.output


@pytest.mark.parametrize("since", [["--since", "2026-11-30"], []])
def test_trace_with_store_names_the_stored_cause(tmp_path, store, since):
    """`maillens trace --store`: a message whose only lines in view are retry waits is explained by the
    error stored on an earlier night (read before --since, or from the earlier ingest run), with its pointer."""
    from analyzer.cli import app

    ingest([str(night2(tmp_path))], store, tz="UTC", year=2026)  # a later nightly ingest
    stored = read_events(store, columns=["queue_id", "cause"])
    assert UNSEEN in set(stored["cause"])  # each ingest run attributes only within itself
    res = CliRunner().invoke(app, ["trace", "other@nomail.example", "--store", str(store), *since,
                                   "--format", "json", "--tz", "UTC"], catch_exceptions=False)
    (story,) = json.loads(res.stdout)
    (r,) = story["recipients"]
    assert (r["cause"], r["cause_ref"], r["direction"]) == (
        "host.no_mail", f"{tmp_path / 'night1' / 'mainlog'}:2", "outbound")
    assert r["explanation"]["cause"] == "host.no_mail" and r["explanation"]["fix"]
    text = CliRunner().invoke(app, ["trace", "other@nomail.example", "--store", str(store), *since, "--tz", "UTC"],
                              catch_exceptions=False).stdout
    assert "the error behind it: " in text and "night1/mainlog:2" in text
