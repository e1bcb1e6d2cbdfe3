"""The report's shortcuts (r10-report) give what the long way gives: the peers' tables ranked to
their top rows, the native queue-id hash, a stream batch that builds each column once, the cause
lists' examples taken at row positions, and the reject reasons' rules on Arrow arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer.keyed import key_hash
from analyzer.report.build import _example
from analyzer.report.fold import _Batch
from analyzer.report.peers import _rank
from analyzer.report.peers_pf_rejects import _pf_reject_reason


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("top", [1, 3, 10])
def test_rank_to_top_is_the_head_of_the_full_ranking(seed: int, top: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    df = pd.DataFrame({"name": [f"k{int(v)}" for v in rng.integers(0, 30, n)],  # repeated names: full ties
                       "messages": rng.integers(0, 4, n), "bytes": rng.integers(0, 3, n)})
    full = _rank(df, ["messages", "bytes"], "name")
    cut = _rank(df, ["messages", "bytes"], "name", top)
    pd.testing.assert_frame_equal(cut.reset_index(drop=True), full.head(top).reset_index(drop=True))
    assert cut.attrs.get("rows_total", len(cut)) == len(df)


def test_key_hash_equal_strings_equal_hashes_across_calls() -> None:
    a = key_hash(pa.array(["4Bc1", "x", "4Bc1", ""]))
    b = key_hash(pa.array(["y", "4Bc1"]).slice(1))
    assert a[0] == a[2] == b[0]
    assert len(set(a.tolist())) == 3
    assert key_hash(pa.array([], pa.string())).shape == (0,)


def test_stream_batch_columns_are_the_frames() -> None:
    t = pa.table({"a": pa.array(["x", None, "y"]), "b": pa.array([1, 2, None])})
    plain = t.to_pandas(types_mapper=pd.ArrowDtype)
    batch = _Batch(plain)
    assert batch["a"] is batch["a"]
    pd.testing.assert_series_equal(batch["a"], plain["a"])
    sub = batch[batch["b"].notna().to_numpy(dtype=bool)]
    assert type(sub) is pd.DataFrame and len(sub) == 2
    assert type(batch[["a"]]) is pd.DataFrame


def test_example_at_positions_is_the_example_of_those_rows() -> None:
    rows = pd.DataFrame({
        "source": ["f", "f", None, "f", "f"], "line_no": [1, 2, 3, 4, 5],
        "cause_ref": [None, "f:1", None, None, None], "queue_id": [None, "Q1", "Q2", "Q3", None],
        "detail": [None, "a detail that means something", None, "-", None],
        "reply_text": ["550 short", "550 5.1.1 user unknown here", "550 5.1.1 no such user here", None,
                       "450 4.7.1 try again later please"]})
    for at in ([0, 1, 2, 3, 4], [1, 3], [0, 4], [2], [3, 1]):
        pos = np.array(sorted(at))
        assert _example(rows, pos) == _example(rows.iloc[pos].reset_index(drop=True)), at


def test_reject_reasons_by_kind() -> None:
    text = pd.Series(["554 5.7.1 <a@b.test>: Recipient address rejected: Access denied; x",
                      "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]",
                      "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
                      None, "503 5.5.1 Error: Improper use of SMTP command pipelining; more"], dtype=object)
    kind = pd.Series(["RCPT", "RCPT", "CONNECT", "MAIL", "MAIL"], dtype=object)
    got = _pf_reject_reason(text, kind).tolist()
    # pflogsumm's cuts (the values the pandas implementation of 9e9df62 gives for these texts)
    assert got == ["Recipient address rejected: Access denied", "cannot find your hostname",
                   "blocked using zen.spamhaus.org", "; from=<>", "5.5.1 Error"]


def test_units_value_hash_equal_values_equal_hashes() -> None:
    from analyzer.report.units import value_hash

    chunked = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([pa.array(["Q1", None, "Q2"]),
                                                                         pa.array(["Q1", "Q3"])])))
    h = value_hash(chunked)
    assert h[0] == h[3] and len({h[0], h[2], h[4]}) == 3
    plain = value_hash(pd.Series(["Q1", None, "Q2", "Q1", "Q3"], dtype=object))
    assert plain[0] == plain[3] and len({plain[0], plain[2], plain[4]}) == 3
