"""Scale-out: an ingest on a Dask cluster builds the same store as a single process."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.store import KEY, ingest, read_events
from bench.generate_logs import generate

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


def _rows(store: Path) -> pd.DataFrame:
    return read_events(store).sort_values(KEY).reset_index(drop=True)


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    """Two servers' rotated logs (Postfix and Exim, one of them compressed)."""
    d = tmp_path_factory.mktemp("logs")
    generate("postfix", 8000, seed=21, out=str(d / "mx1.log"), start="2026-11-26T00:00:00", hours=48, host="mx1")
    generate("exim", 6000, seed=22, out=str(d / "mx2.log.1"), start="2026-11-26T00:00:00", hours=24, host="mx2")
    generate("postfix", 5000, seed=23, out=str(d / "mx3.log"), start="2026-11-27T00:00:00", hours=24, host="mx3")
    (d / "mx3.log.2.gz").write_bytes(gzip.compress((d / "mx3.log").read_bytes()))
    return d


@pytest.fixture(scope="module")
def cluster():
    """A two-worker LocalCluster in separate processes."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as c:
        yield c


def test_dask_store_equals_single_process_store(logs, cluster, tmp_path):
    """Parsing on a LocalCluster's workers and committing gives the single-process store, row for row."""
    local = ingest([str(logs)], tmp_path / "local", tz="UTC", year=2026)
    res = ingest([str(logs)], tmp_path / "dask", tz="UTC", year=2026, engine="dask",
                 scheduler=cluster.scheduler_address)
    assert res.added == local.added > 10000
    assert len(res.skipped_sources) == 1  # mx3.log.2.gz has the content of mx3.log
    pd.testing.assert_frame_equal(_rows(tmp_path / "dask"), _rows(tmp_path / "local"))


def test_dask_ingest_is_idempotent_with_local_runs(logs, cluster, tmp_path):
    """A Dask ingest over a store a local run built adds nothing."""
    ingest([str(logs / "mx1.log")], tmp_path / "s", tz="UTC", year=2026)
    res = ingest([str(logs)], tmp_path / "s", tz="UTC", year=2026, engine="dask",
                 scheduler=cluster.scheduler_address)
    assert str(logs / "mx1.log") in res.skipped_sources
    assert res.added == len(read_events(tmp_path / "s")) - len(read_events(tmp_path / "s", hosts=["mx1"]))


def test_cli_engine_dask_with_scheduler(logs, cluster, tmp_path):
    """`maillens ingest --engine dask --scheduler tcp://…` works and prints what it added."""
    r = CliRunner().invoke(app, ["ingest", str(logs / "mx1.log"), "--store", str(tmp_path / "s"), "--tz", "UTC",
                                 "--year", "2026", "--engine", "dask", "--scheduler", cluster.scheduler_address])
    assert r.exit_code == 0, r.output
    assert "events added" in r.output


def test_cli_engine_dask_without_dask_is_a_usage_error(logs, tmp_path, monkeypatch):
    """Without dask installed, --engine dask is a one-line error with exit 2."""
    monkeypatch.setitem(sys.modules, "distributed", None)
    r = CliRunner().invoke(app, ["ingest", str(logs / "mx1.log"), "--store", str(tmp_path / "s"),
                                 "--engine", "dask"])
    assert r.exit_code == 2
    assert "pip install 'maillens[dask]'" in r.output
    assert not (tmp_path / "s").exists()


def test_scheduler_needs_engine_dask(logs, tmp_path):
    """--scheduler without --engine dask is refused (exit 2)."""
    r = CliRunner().invoke(app, ["ingest", str(logs / "mx1.log"), "--store", str(tmp_path / "s"),
                                 "--scheduler", "tcp://127.0.0.1:8786"])
    assert r.exit_code == 2


def test_engine_dask_without_scheduler_starts_a_local_cluster(logs, tmp_path):
    """engine='dask' with no scheduler runs on a LocalCluster of its own and gives the same rows."""
    a = ingest([str(logs / "mx3.log")], tmp_path / "a", tz="UTC", year=2026, engine="dask")
    b = ingest([str(logs / "mx3.log")], tmp_path / "b", tz="UTC", year=2026)
    assert a.added == b.added > 0
    pd.testing.assert_frame_equal(_rows(tmp_path / "a"), _rows(tmp_path / "b"))


def test_weekly_facts_on_dask_equal_local(logs, cluster, tmp_path):
    """The weekly report aggregated per day on the cluster equals the single-process one."""
    import datetime as dt

    from analyzer.weekly import build_weekly

    ingest([str(logs)], tmp_path / "s", tz="UTC", year=2026)
    now = dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
    local = build_weekly(tmp_path / "s", "2026-W48", now=now)
    on_dask = build_weekly(tmp_path / "s", "2026-W48", now=now, engine="dask", scheduler=cluster.scheduler_address)
    assert on_dask == local
    assert local["volumes"][1]["count"] > 0


def test_a_failure_on_a_worker_names_the_file(cluster, tmp_path):
    """A file the workers cannot read is a WorkerError naming it, with what to check."""
    from analyzer.scale import WorkerError, parse_on_dask
    from analyzer.sources import Input
    from analyzer.store import Digest

    missing = Input("gone.log", tmp_path / "gone.log")
    with pytest.raises(WorkerError, match=r"gone\.log") as info:
        list(parse_on_dask([(missing, Digest("x", 1, "y", True))], tz="UTC", year=2026, now=None,
                           scheduler=cluster.scheduler_address))
    assert "same paths" in info.value.hint
