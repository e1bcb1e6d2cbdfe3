"""The report build's lower-memory paths give what the plain ones gave (r29-r10mex, #12).

:func:`analyzer.report.units.value_hash` hashing a slice at a time (of a chunked column, with
nulls, at some positions) is the hash of each value; :func:`analyzer.report.servers.server_codes`
names each row as before, of Categoricals and of plain strings; ``by_server`` and
``attach_finding_servers`` given those codes give what they gave with a name per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from analyzer.keyed import key_hash
from analyzer.report import units
from analyzer.report.servers import attach_finding_servers, by_server, server_codes, server_names


def _want_hashes(values: list) -> np.ndarray:
    valid = np.array([v is not None for v in values], dtype=bool)
    want = np.zeros(len(values), dtype=np.uint64)
    if valid.any():
        want[valid] = key_hash(pa.array([v for v in values if v is not None], pa.string()))
    return want


@pytest.mark.parametrize("seed", range(6))
def test_value_hash_by_slices_is_each_values_hash(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of any length (an empty one, one sliced), nulls, slices of 1..7 values: each value's
    key_hash (0 for a null), of every row and of sorted positions."""
    rng = np.random.default_rng(seed)
    words = ["", "a", "bb", "q1@x.example", "Ünïcode", "x" * 40]
    values = [None if rng.random() < 0.2 else str(rng.choice(words)) + str(rng.integers(0, 50)) for _ in range(120)]
    cuts = sorted(rng.choice(np.arange(1, 120), 3, replace=False))
    chunks = [pa.array(values[a:b], pa.string()) for a, b in zip([0, *cuts], [*cuts, 120], strict=True)]
    chunks.insert(1, pa.array([], pa.string()))
    chunks[0] = pa.array(["pad", "pad", *values[:cuts[0]]], pa.string()).slice(2)  # an offset into its buffers
    col = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks, pa.string())))
    monkeypatch.setattr(units, "HASH_SLICE", int(rng.integers(1, 8)))
    want = _want_hashes(values)
    got = units.value_hash(col)
    np.testing.assert_array_equal(got, want)
    assert got.flags.writeable
    pos = np.flatnonzero(rng.random(120) < 0.4)
    np.testing.assert_array_equal(units.value_hash(col, pos), want[pos])
    np.testing.assert_array_equal(units.value_hash(col, np.zeros(0, dtype=np.intp)), np.zeros(0, np.uint64))


def _servers_table(categorical: bool) -> pd.DataFrame:
    host = ["mx", None, None, None, "vm", "mx", None]
    source = ["/var/log/mail.log", "/var/log/exim4/mainlog", "sample_logs/exim/mainlog.1", "mainlog", None,
              "/var/log/mail.log", "/srv/exim4/mainlog"]
    kind = "category" if categorical else "string"
    return pd.DataFrame({"host": pd.Series(host, dtype=kind), "source": pd.Series(source, dtype=kind)})


@pytest.mark.parametrize("categorical", [False, True])
def test_server_codes_name_each_row_as_before(categorical: bool) -> None:
    """Host, else the file's folder, else its name: from a Categorical's codes as from strings
    (two files of one folder: one name under two codes)."""
    ev = _servers_table(categorical)
    which, names = server_codes(ev)
    assert [names[i] for i in which] == ["mx", "exim4", "exim", "mainlog", "vm", "mx", "exim4"]
    assert list(server_names(ev)) == [names[i] for i in which]


def test_by_server_and_finding_servers_from_codes_are_from_names() -> None:
    """Several servers: the per-server counts and the findings' servers the same whether the rows'
    servers are given as codes or as a name per row."""
    ev = _servers_table(True)
    n = len(ev)
    ev = ev.assign(ts=pd.Series(pd.date_range("2026-11-01", periods=n, freq="min", tz="UTC")),
                   event=pd.Series(["received", "delivery", "delivery", "reject", "connect", "delivery", "received"],
                                   dtype="category"),
                   status=pd.Series([None, "sent", "deferred", None, None, "bounced", None], dtype="category"),
                   program=pd.Series(["postfix/qmgr"] * n, dtype="category"),
                   direction=pd.Series(["inbound"] * n, dtype="category"),
                   delay=pd.Series([None, 1.5, None, None, None, None, None], dtype="float64"),
                   queue_id=pd.Series(["A", "A", "B", None, None, "C", "D"], dtype="string"),
                   line_no=pd.Series(range(1, n + 1), dtype="int64"))
    coded, named = server_codes(ev), server_names(ev)
    assert by_server(ev, coded) == by_server(ev, named)
    assert {r["name"] for r in by_server(ev, coded)} == {"mx", "exim4", "exim", "mainlog", "vm"}
    src = [str(s) for s in ev["source"].astype(object)]
    findings = [{"evidence": [{"file": src[1], "line": 2}, {"file": src[6], "line": 7}]},
                {"evidence": [{"file": src[0], "line": 6}]}]
    a, b = [dict(f) for f in findings], [dict(f) for f in findings]
    attach_finding_servers(a, ev, coded)
    attach_finding_servers(b, ev, named)
    assert a == b and a[0]["servers"] == ["exim4"] and a[1]["servers"] == ["mx"]
