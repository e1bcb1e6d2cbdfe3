"""Spool files written over: a block's table handed back through a file that an earlier block's
table used reads as sent, and the file is free again only once its table is dropped."""

from __future__ import annotations

import dataclasses
import gc
import os

from analyzer import parallel
from bench.generate_logs import generate


def _job(path, start: int, end: int, spool: str, reuse: str | None = None) -> parallel.BlockJob:
    return parallel.BlockJob("x", str(path), start, end, None, True, "UTC", 2026, None, None, False,
                             parallel.Start(), False, spool=spool, reuse=reuse)


def test_a_dropped_table_frees_its_file_for_the_next_block(tmp_path):
    log = tmp_path / "mail.log"
    generate(mta="postfix", lines=1500, seed=5, out=log, start="2026-11-28T00:00:00", hours=2)
    spool = tmp_path / "spool"
    spool.mkdir()
    size = log.stat().st_size
    big, small = _job(log, 0, size, str(spool)), _job(log, 0, size // 3, str(spool))
    piped = {n: parallel.run_block(dataclasses.replace(j, spool=None)).table() for n, j in (("big", big), ("small", small))}
    recycle = parallel.Recycler(keep=1)
    first = parallel.run_block(big)
    t = first.table(recycle)
    assert t.equals(piped["big"]) and recycle.take() is None  # held while the table lives
    path = os.path.join(spool, os.listdir(spool)[0])
    del t
    gc.collect()
    assert recycle.free == type(recycle.free)([path])
    # a shorter table written over the longer one reads as itself
    again = parallel.run_block(dataclasses.replace(small, reuse=recycle.take()))
    assert again.path == path and os.listdir(spool) == [os.path.basename(path)]
    t2 = again.table(recycle)
    assert t2.equals(piped["small"]) and t2.num_rows < piped["big"].num_rows
    # more free files than kept: the extra one is removed
    other = parallel.run_block(small).table(recycle)
    del t2, other
    gc.collect()
    assert len(recycle.free) == 1 and len(os.listdir(spool)) == 1
