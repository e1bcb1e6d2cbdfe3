"""Randomised walks over the store: ingest, prune, kill -9, a lost manifest and repair, in random orders; after every step the store holds exactly what a clean single run of the same files (then the same
prunes) holds, and no file that no manifest lists."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

from analyzer.store import KEY, MANIFEST, StoreDamaged, ingest, load_manifest, prune, read_events, repair
from bench.generate_logs import generate

ROOT = Path(__file__).resolve().parents[2]
WHERE = ["source", "line_no"]
DAYS = ["2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28"]


def store_rows(store: Path) -> pd.DataFrame:
    """The store's rows in key order, without where they were read from."""
    df = read_events(store).drop(columns=WHERE)
    return df.sort_values(KEY).reset_index(drop=True)


class Logs:
    """Four rotated pieces of four days of one server, a compressed copy of one, and each file's clean rows."""

    def __init__(self, d: Path) -> None:
        whole = d / "whole.log"
        generate("postfix", 4000, seed=29, out=str(whole), start="2026-11-24T06:00:00", hours=90, host="mx1")
        lines = whole.read_text().splitlines(keepends=True)
        n = len(lines)
        cuts = [0, n // 4, n // 2, 3 * n // 4, n]
        self.files: dict[str, Path] = {}
        self.content: dict[str, str] = {}  # file -> content id (a copy has its original's)
        for i, name in enumerate(["mail.log.3", "mail.log.2", "mail.log.1", "mail.log"]):
            p = d / name
            p.write_text("".join(lines[cuts[i]:cuts[i + 1]]))
            self.files[name] = p
            self.content[name] = name
        copy = d / "mail.log.2.gz"
        copy.write_bytes(gzip.compress(self.files["mail.log.2"].read_bytes()))
        self.files["mail.log.2.gz"] = copy
        self.content["mail.log.2.gz"] = "mail.log.2"
        self.rows: dict[str, pd.DataFrame] = {}
        for name in ["mail.log.3", "mail.log.2", "mail.log.1", "mail.log"]:
            s = d / f"clean-{name}"
            ingest([str(self.files[name])], s, tz="UTC", year=2026)
            self.rows[name] = store_rows(s)
        single = d / "clean-all"  # the union of the per-file rows is what one run over all of them stores
        ingest([str(p) for p in self.files.values()], single, tz="UTC", year=2026)
        union = pd.concat(self.rows.values()).drop_duplicates(KEY).sort_values(KEY).reset_index(drop=True)
        pd.testing.assert_frame_equal(store_rows(single), union)

    env: ClassVar[dict[str, str]] = {**os.environ, "PYTHONPATH": str(ROOT)}

    def command(self, names: list[str], store: Path) -> list[str]:
        return [sys.executable, "-m", "analyzer", "ingest", *[str(self.files[n]) for n in names], "--store",
                str(store), "--tz", "UTC", "--year", "2026", "--part-rows", "150", "-q"]


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Logs:
    return Logs(tmp_path_factory.mktemp("random-logs"))


class Walk:
    """One store driven through a sequence of operations, checked after each against a model: the rows a clean
    single run of the ingested files keeps after the same prunes."""

    def __init__(self, logs: Logs, d: Path, rng: random.Random) -> None:
        self.logs, self.store, self.rng = logs, d / "s", rng
        self.rows = pd.DataFrame()  # the model: rows the store must hold
        self.known: set[str] = set()  # content ids the store's manifest records as ingested
        self.cutoff: str | None = None
        self.did: list[str] = []

    def _model_ingest(self, names: list[str]) -> None:
        new = []
        for name in names:
            cid = self.logs.content[name]
            if cid in self.known:
                continue
            self.known.add(cid)
            r = self.logs.rows[cid]
            if self.cutoff is not None:
                r = r[r.ts >= pd.Timestamp(self.cutoff, tz="UTC")]
            new.append(r)
        if new:
            both = pd.concat([self.rows, *new]) if len(self.rows) else pd.concat(new)
            self.rows = both.drop_duplicates(KEY).sort_values(KEY).reset_index(drop=True)

    def _names(self, lo: int, hi: int, copy: bool = True) -> list[str]:
        pool = list(self.logs.files) if copy else [n for n in self.logs.files if not n.endswith(".gz")]
        return self.rng.sample(pool, self.rng.randint(lo, hi))

    def ingest(self) -> None:
        names = self._names(1, 3)
        ingest([str(self.logs.files[n]) for n in names], self.store, tz="UTC", year=2026, part_rows=150)
        self._model_ingest(names)
        self.did.append(f"ingest {names}")

    def kill(self) -> None:
        """kill -9 an ingest at a random moment; the store is readable and between before and after; run it again."""
        names = self._names(2, 4, copy=False)
        before = set(store_rows(self.store)[KEY]) if (self.store / MANIFEST).exists() else set()
        manifest = self.store / MANIFEST
        stamp = manifest.stat().st_mtime_ns if manifest.exists() else None
        proc = subprocess.Popen(self.logs.command(names, self.store), env=self.logs.env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline and (
                not manifest.exists() or manifest.stat().st_mtime_ns == stamp):
            time.sleep(0.005)  # until the run has recorded itself: it is writing the store from now on
        wait = self.rng.uniform(0, 0.6)
        time.sleep(wait)
        landed = proc.poll() is None
        if landed:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.did.append(f"kill -9 {wait:.2f}s into writing ({'killed' if landed else 'had finished'}) ingest {names}")
        if (self.store / MANIFEST).exists():
            got = set(store_rows(self.store)[KEY])
            allowed = set(self.rows[KEY]) if len(self.rows) else set()
            for n in names:
                allowed |= set(self.logs.rows[self.logs.content[n]][KEY])
            assert before <= got <= allowed
        ingest([str(self.logs.files[n]) for n in names], self.store, tz="UTC", year=2026, part_rows=150)
        self._model_ingest(names)

    def prune(self) -> None:
        day = self.rng.choice(DAYS)
        self.did.append(f"prune before {day}")
        if not (self.store / MANIFEST).exists():
            return
        prune(self.store, dt.timedelta(0), dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC))
        if len(self.rows):
            self.rows = self.rows[self.rows.ts >= pd.Timestamp(day, tz="UTC")].reset_index(drop=True)
        self.cutoff = max(self.cutoff or day, day)

    def repair(self) -> None:
        self.did.append("store repair")
        if (self.store / MANIFEST).exists():
            repair(self.store)

    def lose_manifest(self) -> None:
        """The manifest is deleted: ingest refuses and touches nothing; repair rebuilds it."""
        self.did.append("manifest deleted, then store repair")
        if not (self.store / MANIFEST).exists():
            return
        (self.store / MANIFEST).unlink()
        files = sorted(p for p in self.store.rglob("*") if p.is_file() and p.name != ".lock")
        if not files:  # it held nothing (all pruned): what is left is an empty directory, a new store
            assert len(self.rows) == 0
        else:
            with pytest.raises(StoreDamaged):
                ingest([str(self.logs.files["mail.log"])], self.store, tz="UTC", year=2026)
            assert sorted(p for p in self.store.rglob("*") if p.is_file() and p.name != ".lock") == files
            repair(self.store)
        self.known.clear()  # the record of ingested files went with the manifest
        self.cutoff = None  # and so did the retention cutoff

    def check(self) -> None:
        """The store holds exactly the model's rows, each once, and no file its manifest does not list."""
        if not (self.store / MANIFEST).exists():
            return
        got = store_rows(self.store)
        assert got[KEY].is_unique
        if len(self.rows) == 0:
            assert len(got) == 0
        else:
            pd.testing.assert_frame_equal(got, self.rows)
        listed = set(load_manifest(self.store).parts)
        on_disk = {f"{p.parent.name}/{p.name}" for p in self.store.glob("day=*/*")}
        assert on_disk == listed


#: Each walk does these, in a random order (so every walk kills, prunes and loses its manifest at least once).
STEPS = ["ingest", "ingest", "kill", "prune", "lose_manifest", "repair", "ingest"]


@pytest.mark.parametrize("walk", range(3))
def test_random_orders_of_ingest_prune_kill_repair_keep_the_store_right(logs, tmp_path, walk):
    """ingest, prune, kill -9, a lost manifest and repair in a random order; after each step the store equals the
    model. The seed is printed on failure; MAILLENS_TEST_SEED=N runs other orders."""
    seed = int(os.environ.get("MAILLENS_TEST_SEED", "20261201")) + walk
    rng = random.Random(seed)
    steps = STEPS[:]
    rng.shuffle(steps)
    w = Walk(logs, tmp_path, rng)
    for step in steps:
        getattr(w, step)()
        try:
            w.check()
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}, after: {'; '.join(w.did)}") from exc

