"""Store faults: a lost manifest, a foreign directory, a full disk, missing and corrupt parts (issue 11, items 1, 4, 5)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.store import KEY, MANIFEST, StoreError, ingest, load_manifest, read_events
from bench.generate_logs import generate

WHERE = ["source", "line_no"]


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> tuple[Path, Path]:
    """Two small logs: three days of mx1 (Nov 25-27) and a later day (Nov 28) to report on."""
    d = tmp_path_factory.mktemp("logs")
    generate("postfix", 3000, seed=3, out=str(d / "mail.log"), start="2026-11-25T00:00:00", hours=72, host="mx1")
    generate("postfix", 600, seed=4, out=str(d / "today.log"), start="2026-11-28T00:00:00", hours=20, host="mx1")
    return d / "mail.log", d / "today.log"


def snapshot(d: Path) -> dict[str, str]:
    """Every file under d (relative name -> sha256 of its bytes)."""
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


def rows(store: Path) -> pd.DataFrame:
    """The store's rows, canonical order, without the where-read columns."""
    return read_events(store).drop(columns=WHERE).sort_values(KEY).reset_index(drop=True)


def cli(*args: str):
    """Run maillens in-process; the result has exit_code and output (stdout and stderr)."""
    return CliRunner().invoke(app, list(args))


def store_of(tmp_path: Path, log: Path) -> Path:
    """A store holding the three days of ``log``."""
    s = tmp_path / "s"
    ingest([str(log)], s, tz="UTC", year=2026)
    return s


# ---------------------------------------------------------------------------------------------
# 1. never delete what maillens did not write


def test_store_without_manifest_is_refused_and_left_untouched(tmp_path, logs):
    """A store whose manifest was lost: ingest refuses (rc 3, says `store repair`) and deletes nothing."""
    s = store_of(tmp_path, logs[0])
    (s / MANIFEST).unlink()
    before = snapshot(s)
    with pytest.raises(StoreError, match=r"no _manifest\.json") as caught:
        ingest([str(logs[0])], s, tz="UTC", year=2026)
    assert "maillens store repair" in caught.value.hint
    r = cli("ingest", str(logs[0]), "--store", str(s), "--tz", "UTC", "--year", "2026")
    assert r.exit_code == 3, r.output
    assert "no _manifest.json" in r.output and "maillens store repair" in r.output
    assert "Traceback" not in r.output
    after = snapshot(s)
    after.pop(".lock", None)
    before.pop(".lock", None)
    assert after == before


def test_foreign_hive_directory_is_never_touched(tmp_path, logs):
    """--store on somebody else's hive-partitioned directory: refused, every file still there, unchanged."""
    d = tmp_path / "warehouse"
    df = pd.DataFrame({"x": [1, 2, 3]})
    for day in ("2026-11-25", "2026-11-26"):
        (d / f"day={day}").mkdir(parents=True)
        df.to_parquet(d / f"day={day}" / "part-0.parquet")
        (d / f"day={day}" / ".part-0.parquet.crc").write_bytes(b"crc")
    (d / "README").write_text("not maillens\n")
    before = snapshot(d)
    with pytest.raises(StoreError):
        ingest([str(logs[0])], d, tz="UTC", year=2026)
    r = cli("ingest", str(logs[0]), "--store", str(d), "--tz", "UTC", "--year", "2026")
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert "no _manifest.json" in r.output
    r = cli("prune", "--store", str(d), "--keep", "1d")
    assert r.exit_code == 3
    r = cli("store", "repair", "--store", str(d))
    assert r.exit_code == 3 and "Traceback" not in r.output
    assert snapshot(d) == before  # not even a lock file was added


def test_files_maillens_did_not_write_survive_in_a_store(tmp_path, logs):
    """Inside a real store, files whose names or runs the manifest does not know are kept by ingest and prune."""
    s = store_of(tmp_path, logs[0])
    day = s / "day=2026-11-26"
    part = next(day.glob("part-*.parquet"))
    foreign = [day / "part-00000-of-spark.parquet", day / "notes.txt", day / "part-19990101T000000-abcdef-0000.parquet"]
    for f in foreign:
        shutil.copy(part, f)
    ingest([str(logs[1])], s, tz="UTC", year=2026)
    cli("prune", "--store", str(s), "--keep", "3650d")
    assert all(f.exists() for f in foreign)


def test_debris_of_a_run_the_manifest_knows_is_removed(tmp_path, logs):
    """An unlisted part of a run the manifest recorded (a killed run), and our temporary names, are deleted."""
    s = store_of(tmp_path, logs[0])
    run = load_manifest(s).runs[-1]["run"]
    day = s / "day=2026-11-26"
    stray = day / f"part-{run}-0099.parquet"
    shutil.copy(next(day.glob("part-*.parquet")), stray)
    tmp = day / f".part-{run}-0100.parquet.tmp"
    tmp.write_bytes(b"half a parquet")
    res = ingest([str(logs[0])], s, tz="UTC", year=2026)
    assert res.debris_removed == 2 and not stray.exists() and not tmp.exists()


def test_store_repair_rebuilds_a_lost_manifest_with_the_same_rows(tmp_path, logs):
    """`maillens store repair` lists the parts that are there; read_events then gives the same rows; ingest adds none."""
    s = store_of(tmp_path, logs[0])
    want = rows(s)
    (s / MANIFEST).unlink()
    r = cli("store", "repair", "--store", str(s))
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(rows(s), want)
    again = ingest([str(logs[0])], s, tz="UTC", year=2026)
    assert again.added == 0 and again.duplicates == len(want)


def test_store_repair_keeps_each_event_once_when_a_killed_run_left_a_copy(tmp_path, logs):
    """Repair over parts that overlap (a killed run's leftovers and the rerun's parts) keeps each event once."""
    s = store_of(tmp_path, logs[0])
    want = rows(s)
    day = s / "day=2026-11-26"
    part = next(day.glob("part-*.parquet"))
    half = pq.read_table(part).slice(0, 50)
    pq.write_table(half, day / "part-20261201T000000-0a0b0c-0000.parquet")
    (s / MANIFEST).unlink()
    r = cli("store", "repair", "--store", str(s))
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(rows(s), want)


def test_store_repair_refuses_a_directory_with_no_maillens_parts(tmp_path):
    """Repair on a foreign directory says so (rc 3) and writes no manifest."""
    d = tmp_path / "w" / "day=2026-11-25"
    d.mkdir(parents=True)
    pd.DataFrame({"x": [1]}).to_parquet(d / "part-0.parquet")
    before = snapshot(tmp_path / "w")
    r = cli("store", "repair", "--store", str(tmp_path / "w"))
    assert r.exit_code == 3 and "Traceback" not in r.output
    assert snapshot(tmp_path / "w") == before


def test_unreadable_manifest_is_rc_3_and_repair_rebuilds_it(tmp_path, logs):
    """A half-written or garbled _manifest.json: rc 3 with `store repair`; repair keeps it aside and rebuilds."""
    s = store_of(tmp_path, logs[0])
    want = rows(s)
    (s / MANIFEST).write_text('{"format": "maillens-store", "parts": {')
    r = cli("search", "--store", str(s), "--code", "5xx")
    assert r.exit_code == 3 and "unreadable manifest" in r.output and "store repair" in r.output
    assert cli("store", "repair", "--store", str(s)).exit_code == 0
    assert (s / f".{MANIFEST}.damaged").exists()
    pd.testing.assert_frame_equal(rows(s), want)


# ---------------------------------------------------------------------------------------------
# 4. disk full while ingesting


def _debris(s: Path) -> list[str]:
    """Files in the store that are neither the manifest, the lock, nor a listed part."""
    listed = set(load_manifest(s).parts) | {MANIFEST, ".lock"}
    return [str(p.relative_to(s)) for p in s.rglob("*") if p.is_file() and str(p.relative_to(s)) not in listed]


def test_disk_full_during_ingest_cleans_up_and_names_the_file(tmp_path, logs, monkeypatch):
    """ENOSPC while writing a part: no .tmp or uncommitted part is left, the error names the file, rc 5, no cluster talk."""
    import analyzer.store._layout as layout

    calls = {"n": 0}

    class Full(layout.pq.ParquetWriter):
        """A part writer whose third batch (of the run) finds the disk full, half written."""

        def __init__(self, where, schema, **kw):
            self.where = where
            super().__init__(where, schema, **kw)

        def write_table(self, table, *args, **kw):
            calls["n"] += 1
            if calls["n"] >= 3:  # the first source's parts go through, then the disk is full
                self.where.write(b"\0" * 1000)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return super().write_table(table, *args, **kw)

    s = tmp_path / "s"
    monkeypatch.setattr(layout.pq, "ParquetWriter", Full)
    with pytest.raises(StoreError, match=r"No space left on device while writing .*part-.*parquet"):
        ingest([str(logs[1]), str(logs[0])], s, tz="UTC", year=2026, part_rows=200)
    assert _debris(s) == []
    read_events(s)  # the committed state is readable
    calls["n"] = 0
    r = cli("ingest", str(logs[1]), str(logs[0]), "--store", str(tmp_path / "s2"), "--tz", "UTC", "--year", "2026",
            "--part-rows", "200")
    assert r.exit_code == 5, r.output
    assert "No space left on device while writing" in r.output
    assert "cluster" not in r.output and "--scheduler" not in r.output
    assert _debris(tmp_path / "s2") == []


def test_disk_full_while_committing_the_manifest_leaves_no_tmp(tmp_path, logs, monkeypatch):
    """ENOSPC while writing the manifest: its .tmp and the parts it would have listed are removed."""
    import analyzer.store._layout as layout

    s = store_of(tmp_path, logs[0])
    want = rows(s)
    calls = {"n": 0}

    class Full:
        """A file that takes a few bytes, then reports a full disk."""

        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, text):
            self.fh.write(text[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def opener(path, *args, **kw):
        fh = open(path, *args, **kw)  # noqa: SIM115 - a wrapper of open(): the caller closes it
        if MANIFEST in str(path):
            calls["n"] += 1
            if calls["n"] >= 2:  # the run's opening record goes through; the commit of the new parts does not
                return Full(fh)
        return fh

    monkeypatch.setattr(layout, "open", opener, raising=False)
    with pytest.raises(StoreError, match="No space left on device while writing"):
        ingest([str(logs[1])], s, tz="UTC", year=2026)
    monkeypatch.undo()
    assert _debris(s) == []
    pd.testing.assert_frame_equal(rows(s), want)


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 1 MiB tmpfs (needs root and mount privileges; skipped otherwise)."""
    d = tmp_path / f"tmpfs-{uuid.uuid4().hex[:6]}"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(d)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], capture_output=True)


def test_disk_full_on_a_real_tmpfs(tmp_path, tiny_tmpfs):
    """A store on a 1 MiB tmpfs fills up: rc 5 naming ENOSPC and a file, nothing but committed parts left."""
    big = tmp_path / "big.log"
    generate("postfix", 40000, seed=9, out=str(big), start="2026-11-20T00:00:00", hours=24 * 8, host="mx1")
    s = tiny_tmpfs / "s"
    r = cli("ingest", str(big), "--store", str(s), "--tz", "UTC", "--year", "2026", "--part-rows", "2000")
    assert r.exit_code == 5, r.output
    assert "No space left on device while writing" in r.output and "cluster" not in r.output
    assert _debris(s) == []


# ---------------------------------------------------------------------------------------------
# 5. a manifest that lists a missing or corrupt part


def _damage(s: Path, how: str) -> str:
    """Remove or corrupt one listed part of 2026-11-26; its relative name."""
    rel = load_manifest(s).parts_of("2026-11-26")[0]
    p = s / rel
    if how == "missing":
        p.unlink()
    elif how == "truncated":
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    else:
        p.write_bytes(os.urandom(p.stat().st_size))
    return rel


@pytest.mark.parametrize("how", ["missing", "truncated", "garbage"])
def test_damaged_part_is_named_with_rc_3_by_every_command(tmp_path, logs, how):
    """search --store, weekly, report --store, prune and ingest name the bad part, say `store repair`, exit 3."""
    s = store_of(tmp_path, logs[0])
    rel = _damage(s, how)
    name = rel.split("/")[-1]
    commands = [
        ["search", "--store", str(s), "--code", "5xx"],
        ["weekly", "--store", str(s), "--week", "2026-W48"],
        ["report", str(logs[1]), "--store", str(s), "--tz", "UTC", "--year", "2026"],
        ["prune", "--store", str(s), "--keep", "3650d"],
        ["prune", "--store", str(s), "--keep", "3650d", "--dry-run"],
        ["ingest", str(logs[1]), "--store", str(s), "--tz", "UTC", "--year", "2026"],
    ]
    manifest = (s / MANIFEST).read_text()
    for args in commands:
        r = cli(*args)
        assert r.exit_code == 3, (args, r.output)
        assert name in r.output and "store repair" in r.output, (args, r.output)
        assert "Traceback" not in r.output
    assert json.loads((s / MANIFEST).read_text())["parts"] == json.loads(manifest)["parts"]


def test_repair_after_a_damaged_part_makes_the_store_usable_again(tmp_path, logs):
    """store repair drops a missing part and sets a corrupt one aside (kept, not deleted); re-ingest restores the rows."""
    s = store_of(tmp_path, logs[0])
    want = rows(s)
    gone = _damage(s, "missing")
    bad = load_manifest(s).parts_of("2026-11-27")[0]
    (s / bad).write_bytes(b"garbage")
    r = cli("store", "repair", "--store", str(s))
    assert r.exit_code == 0, r.output
    assert gone.split("/")[-1] in r.output and bad.split("/")[-1] in r.output
    assert list((s / "day=2026-11-27").glob(".*.damaged")), "the corrupt part is kept aside, not deleted"
    assert gone not in load_manifest(s).parts and bad not in load_manifest(s).parts
    assert cli("search", "--store", str(s), "--code", "5xx").exit_code == 0
    ingest([str(logs[0])], s, tz="UTC", year=2026)
    pd.testing.assert_frame_equal(rows(s), want)


def test_damaged_part_on_a_dask_cluster_is_named_too(tmp_path, logs):
    """weekly --engine dask: a missing part read on a worker comes back as the same rc 3 naming it, not a worker error."""
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    s = store_of(tmp_path, logs[0])
    name = _damage(s, "missing").split("/")[-1]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        r = cli("weekly", "--store", str(s), "--week", "2026-W48", "--engine", "dask", "--scheduler",
                c.scheduler_address)
    assert r.exit_code == 3, r.output
    assert name in r.output and "store repair" in r.output and "Dask worker" not in r.output


def test_store_repair_is_documented():
    """`maillens store repair --help` teaches with an example, and the README names the command and exit code 3."""
    r = cli("store", "repair", "--help")
    assert r.exit_code == 0 and "maillens store repair --store" in r.output
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "maillens store repair" in readme and "### What maillens will never do" in readme
    assert "| 3 |" in readme and "store repair" in readme.split("| 3 |")[1].split("\n")[0]
