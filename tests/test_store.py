"""The store: ingest is idempotent (same file, rotated copies, grown files), crash-safe, prunable."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.store import KEY, MANIFEST, StoreError, ingest, load_manifest, prune, read_events
from bench.generate_logs import generate

ROOT = Path(__file__).resolve().parent.parent
#: Columns that name where a row was read from; they depend on which copy of a line came first.
WHERE = ["source", "line_no"]


@pytest.fixture(scope="module")
def log_lines(tmp_path_factory) -> list[str]:
    """Three days of one Postfix server, as lines."""
    path = tmp_path_factory.mktemp("gen") / "whole.log"
    generate("postfix", 30000, seed=11, out=str(path), start="2026-11-25T00:00:00", hours=72, host="mx1")
    return path.read_text().splitlines(keepends=True)


def write(path: Path, lines: list[str], gz: bool = False) -> Path:
    """Write lines to a file (gzip-compressed if asked)."""
    data = "".join(lines).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def rows(store: Path, where: bool = False) -> pd.DataFrame:
    """The store's rows in a canonical order (without the where-read columns unless asked)."""
    df = read_events(store)
    if not where:
        df = df.drop(columns=WHERE)
    return df.sort_values(KEY).reset_index(drop=True)


def run_ingest(paths, store: Path):
    """Ingest with the test's fixed year and zone."""
    return ingest([str(p) for p in paths], store, tz="UTC", year=2026)


@pytest.fixture(scope="module")
def clean(log_lines, tmp_path_factory) -> pd.DataFrame:
    """The store a single ingest of the whole log builds."""
    d = tmp_path_factory.mktemp("clean")
    run_ingest([write(d / "whole.log", log_lines)], d / "store")
    return rows(d / "store")


def test_clean_ingest_has_every_event_once(clean, log_lines):
    """One ingest stores every parsed event, with unique keys, partitioned by day."""
    assert len(clean) > 0.8 * len(log_lines)
    assert clean[KEY].is_unique
    assert sorted(clean.ts.dt.strftime("%Y-%m-%d").unique()) == ["2026-11-25", "2026-11-26", "2026-11-27"]


def test_same_file_twice_adds_nothing(tmp_path, log_lines, clean):
    """Ingesting the same file again adds no event and leaves the store unchanged."""
    f = write(tmp_path / "mail.log", log_lines)
    first = run_ingest([f], tmp_path / "s")
    second = run_ingest([f], tmp_path / "s")
    assert first.added == len(clean)
    assert second.added == 0 and second.skipped_sources == [str(f)]
    pd.testing.assert_frame_equal(rows(tmp_path / "s"), clean)


def test_copy_under_another_name_adds_nothing(tmp_path, log_lines, clean):
    """A copy of an ingested file under another name (compressed, too) adds no event."""
    run_ingest([write(tmp_path / "mail.log", log_lines)], tmp_path / "s")
    again = run_ingest([write(tmp_path / "mail.log.2.gz", log_lines, gz=True)], tmp_path / "s")
    assert again.added == 0 and again.skipped_sources
    pd.testing.assert_frame_equal(rows(tmp_path / "s"), clean)


def test_grown_file_adds_only_new_events(tmp_path, log_lines, clean):
    """A file that has grown since the last ingest is parsed from where that ingest ended; same rows, same lines."""
    f = tmp_path / "mail.log"
    write(f, log_lines[:12000])
    a = run_ingest([f], tmp_path / "s")
    write(f, log_lines)
    b = run_ingest([f], tmp_path / "s")
    assert a.added > 0 and b.added > 0
    assert b.resumed_sources == [str(f)] and b.duplicates == 0
    pd.testing.assert_frame_equal(rows(tmp_path / "s"), clean)
    run_ingest([f], tmp_path / "one-run")
    pd.testing.assert_frame_equal(rows(tmp_path / "s", where=True), rows(tmp_path / "one-run", where=True))


def test_grown_file_cut_mid_line_is_parsed_again(tmp_path, log_lines, clean):
    """A file ingested while a line was half written is not resumed from there; keys still add each event once."""
    f = tmp_path / "mail.log"
    text = "".join(log_lines)
    cut = len("".join(log_lines[:12000])) - 10
    f.write_text(text[:cut])
    run_ingest([f], tmp_path / "s")
    f.write_text(text)
    b = run_ingest([f], tmp_path / "s")
    assert b.resumed_sources == [] and b.duplicates > 0
    got = rows(tmp_path / "s")
    assert len(got) >= len(clean) and set(clean[KEY]) <= set(got[KEY])


def test_rotation_over_three_nights(tmp_path, log_lines, clean):
    """mail.log → mail.log.1 → mail.log.2.gz over three nights: each event is stored exactly once."""
    cut = [0, 7000, 13000, 19000, 24000, len(log_lines)]
    part = [log_lines[cut[i]:cut[i + 1]] for i in range(5)]
    d, s = tmp_path / "log", tmp_path / "s"
    d.mkdir()
    # night 1: mail.log holds A
    write(d / "mail.log", part[0])
    run_ingest([d / "mail.log"], s)
    # night 2: mail.log grew to A+B and was rotated to mail.log.1; mail.log holds C
    write(d / "mail.log.1", part[0] + part[1])
    write(d / "mail.log", part[2])
    run_ingest(sorted(d.iterdir()), s)
    # night 3: mail.log.1 → mail.log.2.gz, mail.log grew to C+D → mail.log.1, mail.log holds E
    write(d / "mail.log.2.gz", part[0] + part[1], gz=True)
    write(d / "mail.log.1", part[2] + part[3])
    write(d / "mail.log", part[4])
    last = ingest([str(d / "mail.log*")], s, tz="UTC", year=2026)
    assert str(d / "mail.log.2.gz") in last.skipped_sources
    assert last.resumed_sources == [str(d / "mail.log.1")]  # C was ingested as mail.log: only D is parsed
    pd.testing.assert_frame_equal(rows(s), clean)


def test_repeated_identical_lines_are_all_kept(tmp_path):
    """Identical lines within one file are distinct events (occurrence number in the key)."""
    line = "Nov 28 10:00:00 mx1 postfix/smtpd[100]: warning: hostname x.test does not resolve to address 192.0.2.1\n"
    f = write(tmp_path / "mail.log", [line] * 3)
    assert run_ingest([f], tmp_path / "s").added == 3
    assert run_ingest([write(tmp_path / "mail.log.1", [line] * 3)], tmp_path / "s").added == 0


def test_read_events_reads_only_the_days_asked(tmp_path, log_lines, clean):
    """since/until select rows by ts and open only the day partitions in range; columns and hosts filter."""
    run_ingest([write(tmp_path / "mail.log", log_lines)], tmp_path / "s")
    one = read_events(tmp_path / "s", since="2026-11-26", until=dt.datetime(2026, 11, 27, tzinfo=dt.UTC),
                      columns=["ts", "event"])
    assert list(one.columns) == ["ts", "event"]
    lo, hi = pd.Timestamp("2026-11-26", tz="UTC"), pd.Timestamp("2026-11-27", tz="UTC")
    assert len(one) == ((clean.ts >= lo) & (clean.ts < hi)).sum() > 0
    # a missing partition of another day does not matter when that day is not asked for
    shutil.rmtree(tmp_path / "s" / "day=2026-11-25")
    assert len(read_events(tmp_path / "s", since="2026-11-26", until="2026-11-27")) == len(one)
    assert len(read_events(tmp_path / "s", since="2026-11-26", hosts=["mx2"])) == 0


def test_debris_of_a_killed_run_is_never_read_and_is_removed(tmp_path, log_lines, clean):
    """A part file of a run the manifest knows but does not list is ignored by readers and deleted by the next
    ingest; a part-like file of a run it does not know is left alone."""
    f = write(tmp_path / "mail.log", log_lines)
    run_ingest([f], tmp_path / "s")
    run = load_manifest(tmp_path / "s").runs[-1]["run"]
    day = tmp_path / "s" / "day=2026-11-26"
    stray = day / f"part-{run}-0900.parquet"
    shutil.copy(next(day.glob("part-*.parquet")), stray)
    (day / f".part-{run}-0901.parquet.tmp").write_bytes(b"half a parquet")
    unknown = day / "part-20200101T000000-000000-0000.parquet"
    shutil.copy(stray, unknown)
    assert len(read_events(tmp_path / "s")) == len(clean)
    res = run_ingest([f], tmp_path / "s")
    assert res.debris_removed == 2 and not stray.exists() and unknown.exists()


def test_prune_removes_old_days_and_keeps_them_out(tmp_path, log_lines):
    """prune drops whole days before now - keep; events of pruned days are not ingested again."""
    f = write(tmp_path / "mail.log", log_lines)
    run_ingest([f], tmp_path / "s")
    res = prune(tmp_path / "s", dt.timedelta(days=1), dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    assert res.removed_days == ["2026-11-25"] and res.kept_from == "2026-11-26"
    assert not (tmp_path / "s" / "day=2026-11-25").exists()
    other_head = ["Nov 25 00:00:00 mx1 dovecot: imap-login: Login: user=<a>\n", *log_lines]
    again = run_ingest([write(tmp_path / "copy.log", other_head)], tmp_path / "s")
    assert again.added == 0 and again.too_old > 0
    assert read_events(tmp_path / "s").ts.min() >= pd.Timestamp("2026-11-26", tz="UTC")


def test_not_a_store_is_an_error(tmp_path):
    """A manifest that is not ours is refused with StoreError."""
    (tmp_path / MANIFEST).write_text(json.dumps({"hello": 1}))
    with pytest.raises(StoreError):
        read_events(tmp_path)


def test_cli_ingest_and_prune(tmp_path, log_lines):
    """`maillens ingest` then `maillens prune`: counts printed, bad --keep is a usage error (exit 2)."""
    f = write(tmp_path / "mail.log", log_lines)
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", str(f), "--store", str(tmp_path / "s"), "--tz", "UTC", "--year", "2026"])
    assert r.exit_code == 0, r.output
    assert "events added" in r.output
    r = runner.invoke(app, ["prune", "--store", str(tmp_path / "s"), "--keep", "ninety"])
    assert r.exit_code == 2 and "not a duration" in r.output
    r = runner.invoke(app, ["prune", "--store", str(tmp_path / "s"), "--keep", "3650d"])
    assert r.exit_code == 0 and "0 day(s) removed" in r.output
    r = runner.invoke(app, ["ingest", str(tmp_path / "nope.log"), "--store", str(tmp_path / "s")])
    assert r.exit_code == 3


def _uncommitted(store: Path) -> bool:
    """Some part file on disk is not (yet) listed in the manifest."""
    try:
        listed = set(load_manifest(store).parts)
    except StoreError:  # caught between the manifest's write and rename: there is none half-written
        return False
    return any(f"{p.parent.name}/{p.name}" not in listed for p in store.glob("day=*/*"))


def _wait_for_uncommitted_part(store: Path, proc: subprocess.Popen, deadline: float) -> None:
    while proc.poll() is None and time.monotonic() < deadline and not _uncommitted(store):
        time.sleep(0.005)


def test_kill_9_at_random_points_then_rerun_equals_a_clean_run(tmp_path, log_lines, clean):
    """SIGKILL an ingest at 12 seeded random moments; one more run then yields the clean store, row for row."""
    d = tmp_path / "log"
    d.mkdir()
    n = len(log_lines)
    write(d / "mail.log.3.gz", log_lines[: n // 4], gz=True)
    write(d / "mail.log.2.gz", log_lines[n // 4: n // 2], gz=True)
    write(d / "mail.log.1", log_lines[n // 2: 3 * n // 4])
    write(d / "mail.log", log_lines[3 * n // 4:])
    store = tmp_path / "s"
    cmd = [sys.executable, "-m", "analyzer", "ingest", str(d), "--store", str(store), "--tz", "UTC",
           "--year", "2026", "--part-rows", "1500", "-q"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    subprocess.run(cmd, env=env, check=True, cwd=ROOT, capture_output=True)
    full = time.monotonic() - t0
    clean_run = rows(store, where=True)
    shutil.rmtree(store)
    rng = random.Random(20261129)
    killed = attempts = mid_write = 0
    while killed < 12 and attempts < 40:
        attempts += 1
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, full))
        if attempts % 2 == 0:  # every other time, wait on until parts are written but not yet committed
            _wait_for_uncommitted_part(store, proc, deadline=time.monotonic() + 5)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        rc = proc.wait()
        mid_write += _uncommitted(store)
        if (store / MANIFEST).exists():
            read_events(store)  # readable at every point
        if rc == 0:  # it finished before the kill: complete and right; start again from nothing
            pd.testing.assert_frame_equal(rows(store, where=True), clean_run)
            shutil.rmtree(store)
    assert killed >= 10 and mid_write >= 1  # some kills landed between writing parts and committing
    subprocess.run(cmd, env=env, check=True, cwd=ROOT, capture_output=True)
    final = rows(store, where=True)
    pd.testing.assert_frame_equal(final, clean_run)
    pd.testing.assert_frame_equal(final.drop(columns=WHERE), clean)
    listed = set(load_manifest(store).parts)
    on_disk = {f"{p.parent.name}/{p.name}" for p in store.glob("day=*/*")}
    assert on_disk == listed


def test_store_at_an_fsspec_url_equals_a_local_store(tmp_path, log_lines, clean):
    """A store at an fsspec URL (memory://) gets the same rows, and re-ingesting adds nothing."""
    pytest.importorskip("fsspec")
    f = write(tmp_path / "mail.log", log_lines[:9000])
    url = f"memory://maillens-test-{os.getpid()}/store"
    local = run_ingest([f], tmp_path / "s")
    remote = ingest([str(f)], url, tz="UTC", year=2026)
    assert remote.added == local.added > 0
    pd.testing.assert_frame_equal(read_events(url).sort_values(KEY).reset_index(drop=True),
                                  rows(tmp_path / "s", where=True))
    write(f, log_lines[:12000])
    grown = ingest([str(f)], url, tz="UTC", year=2026)
    assert grown.resumed_sources == [str(f)] and grown.added > 0 and grown.duplicates == 0
    assert prune(url, dt.timedelta(days=0), dt.datetime(2026, 11, 26, tzinfo=dt.UTC)).removed_days == ["2026-11-25"]


def test_event_keys_ignore_file_name_and_row_order(log_lines):
    """Keys depend on what happened, not on the file's name or the order rows arrive in; none collide."""
    import numpy as np
    import pyarrow as pa

    from analyzer.reader import parse_lines
    from analyzer.store import event_keys

    table = pa.Table.from_pandas(parse_lines(log_lines[:3000], source="mail.log").events, preserve_index=False)
    keys = event_keys(table)
    renamed = table.set_column(table.column_names.index("source"), "source",
                               pa.array(["mail.log.2.gz"] * table.num_rows))
    assert (event_keys(renamed) == keys).all()
    perm = np.random.default_rng(5).permutation(table.num_rows)
    assert (event_keys(table.take(pa.array(perm))) == keys[perm]).all()
    assert len(set(keys.tolist())) == table.num_rows


def test_site_rules_are_used_and_recorded_and_a_broken_file_fails_first(tmp_path, log_lines):
    """--rules: a site file is recorded with the run; a broken one is a one-line error before the store is touched."""
    f = write(tmp_path / "mail.log", log_lines[:2000])
    site = tmp_path / "site.toml"
    site.write_text('[causes."site.x"]\ntitle = "X"\n')
    r = CliRunner().invoke(app, ["ingest", str(f), "--store", str(tmp_path / "s"), "--rules", str(site)])
    assert r.exit_code == 3 and "site.toml" in r.output
    assert not (tmp_path / "s").exists()
    site.write_text("")
    ingest([str(f)], tmp_path / "s", tz="UTC", year=2026, rules=[site])
    assert load_manifest(tmp_path / "s").runs[-1]["rules"] == [str(site)]


def test_the_store_is_a_plain_hive_dataset(tmp_path, log_lines, clean):
    """pandas reads the store directory as it is: the same rows, with `day` from the partition names."""
    run_ingest([write(tmp_path / "mail.log", log_lines)], tmp_path / "s")
    df = pd.read_parquet(tmp_path / "s")
    assert len(df) == len(clean)
    assert sorted(df["day"].astype(str).unique()) == ["2026-11-25", "2026-11-26", "2026-11-27"]
    assert (df["ts"].dt.strftime("%Y-%m-%d") == df["day"].astype(str)).all()
