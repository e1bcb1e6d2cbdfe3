"""The store's reader hands back the pages Arrow's own allocators keep after each part it read
(:func:`analyzer.heap.release_arrow`): once per part, after that part's last batch,
and the batches are those of a read without it."""

from __future__ import annotations

import pyarrow as pa

from analyzer import heap
from analyzer.store import ingest, iter_event_batches
from bench.generate_logs import generate


def test_pages_go_back_after_each_part(tmp_path, monkeypatch):
    log = tmp_path / "mail.log"
    generate("postfix", 3000, seed=3, out=str(log), start="2026-11-25T20:00:00", hours=30, host="mx1")
    store = tmp_path / "store"
    ingest([str(log)], store, tz="UTC", year=2026, part_rows=700)
    scan = iter_event_batches(store, since="2026-11-25", until="2026-11-27", columns=["ts", "line_no"], batch_rows=300)
    assert len(scan.rels) > 2  # several parts, over two days
    plain = pa.concat_tables(list(scan))

    seen: list[object] = []  # batches read and releases, in the order they happen
    monkeypatch.setattr(heap, "release_arrow", lambda: seen.append("release"))
    parts = []
    for rel in scan.rels:  # each part's batches, read alone
        parts.append(sum(1 for _ in scan._part(rel)))
    got = []
    for t in scan:
        seen.append(t.num_rows)
        got.append(t)
    assert pa.concat_tables(got).equals(plain)
    assert seen.count("release") == len(scan.rels)
    want: list[object] = []
    for n in parts:
        want.extend([int] * n + ["release"])
    assert [int if isinstance(x, int) else x for x in seen] == want

