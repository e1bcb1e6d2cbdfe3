"""BulkFold's held chunks (r15-r1m): the fold's result does not depend on how often it compacts."""

from __future__ import annotations

import pandas as pd
import pytest

from analyzer.anomalies.aggregates import BulkFold, fold_masks
from analyzer.classify import classify, default_rules
from analyzer.reader import parse_logs
from analyzer.report.fold import fold_frame


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> pd.DataFrame:
    from bench.generate_logs import generate

    path = tmp_path_factory.mktemp("chunks") / "mail.log"
    generate(mta="postfix", lines=3000, seed=11, out=path)
    return classify(parse_logs([str(path)], year=2026, tz="UTC", workers=1).events, default_rules())


@pytest.mark.parametrize("split", [None, "mid"])
def test_chunks_give_the_one_batch_result(table, monkeypatch, split):
    """Folded in slices of 23 rows, compacted every 3 slices (many chunks, queue ids across them),
    the Bulk's table and senders equal those of one batch, row for row, and its qids give the same
    first times."""
    ts = table["ts"].dropna()
    at = None if split is None else ts.iloc[len(ts) // 2]

    def folded(rows: int, every: int):
        monkeypatch.setattr(BulkFold, "COMPACT_EVERY", every)
        f = BulkFold(first_only=True, split=at)

        class _Fold:  # the bulk lines and those counted apart (queued: their senders), as the report folds them
            def add(self, batch: pd.DataFrame) -> None:
                bulk, apart = fold_masks(batch)
                f.add(batch, bulk | apart)

        fold_frame(table, [_Fold()], rows=rows)
        return f.result()

    many, one = folded(23, 3), folded(len(table) + 1, 10**9)
    assert len(many.table) and len(many.qids) and len(many.senders)
    pd.testing.assert_frame_equal(many.table, one.table)
    # the qids: each chunk's first entries (a message seen in two chunks has an entry in each);
    # what reads them, the earliest time per queue id on each side of the split, is the same
    assert len(many.qids) >= len(one.qids)
    for lo, hi in [(None, None), (at, None), (None, at)]:
        pd.testing.assert_series_equal(many.cut(lo, hi).first_seen(), one.cut(lo, hi).first_seen())
    pd.testing.assert_frame_equal(many.senders, one.senders)
