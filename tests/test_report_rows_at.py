"""The report's build reads large row selections without copying them (r14-rfold): the cause
lists over :class:`RowsAt` (a column at a time) equal the lists over the copied rows, and
:func:`count_units` gives the same counts whether the keys are codes or strings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.report.build import _cause_list, _value_counts
from analyzer.report.rows_at import RowsAt, notna, take
from analyzer.report.units import LINE, MESSAGE, NONE, QUEUE, Units, count_units

CAUSES = ("mailbox.unknown", "relay.denied", "tls.failed", "queue.deferred")


def _rows(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def pick(values: tuple, nulls: float = 0.2) -> list:
        return [None if rng.random() < nulls else values[int(i)] for i in rng.integers(0, len(values), n)]

    df = pd.DataFrame({
        "cause": [CAUSES[int(i)] for i in rng.integers(0, len(CAUSES), n)],
        "fix_id": pick(("fix.a", "fix.b")),
        "direction": pick(("inbound", "outbound", "local")),
        "cause_ref": pick(("mail.log:3", "mail.log:9"), 0.8),
        "queue_id": pick(("Q1", "Q2", "Q3", "Q4")),
        "recipient": pick(("a@x.example", "b@y.example", "c@x.example")),
        "event": pick(("reject", "delivery", "auth_failure", "lost_connection")),
        "outcome": pick(("permanent_failure", "transient_failure", "info"), 0.0),
        "source": pick(("mail.log",), 0.1),
        "line_no": pd.array([int(i) for i in range(1, n + 1)], dtype="Int64"),
        "detail": pick(("a detail that says something", "-"), 0.5),
        "reply_text": pick(("550 5.1.1 no such user here", "454 4.7.0 TLS not available now", "x"), 0.3),
        "client_ip": pick(("192.0.2.1", "192.0.2.2", "198.51.100.7")),
        "other": rng.integers(0, 5, n),  # a column the lists do not read
    })
    for c in ("cause", "direction", "event", "outcome", "source"):  # the kept rows' Categoricals
        df[c] = df[c].astype("category")
    return df


class _KB:
    def __init__(self) -> None:
        self.causes = {c: {"title": c.title(), "severity": "warning", "fix": [f"fix {c}"]} for c in CAUSES}


@pytest.mark.parametrize("seed", range(12))
def test_cause_list_over_rows_at_is_the_list_over_the_copy(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    ev = _rows(seed, int(rng.integers(1, 120)))
    mask = rng.random(len(ev)) < 0.6
    cols = tuple(c for c in ev.columns if c != "other")
    full_a: dict[str, int] = {}
    full_b: dict[str, int] = {}
    a = _cause_list(RowsAt(ev, mask, cols), _KB(), 3, ev, full_a, "p")
    b = _cause_list(ev.loc[mask, list(cols)], _KB(), 3, ev, full_b, "p")
    assert a == b
    assert full_a == full_b


def test_rows_at_reads_columns_at_its_rows_only() -> None:
    ev = _rows(1, 20)
    mask = np.zeros(20, dtype=bool)
    mask[[2, 5, 7]] = True
    r = RowsAt(ev, mask, ("queue_id", "reply_text", "absent"))
    assert len(r) == 3 and not r.empty and "queue_id" in r and "absent" not in r and "other" not in r
    pd.testing.assert_series_equal(r["queue_id"], ev.loc[mask, "queue_id"])
    # a take's values are those of the rows, numbered from 0 (not labelled as the table's rows)
    pd.testing.assert_series_equal(take(r, "reply_text", [2, 0]), ev["reply_text"].iloc[[7, 2]].reset_index(drop=True))
    pd.testing.assert_series_equal(take(r, "queue_id", np.array([1])), ev["queue_id"].iloc[[5]].reset_index(drop=True))
    with pytest.raises(KeyError):
        take(r, "other", [0])
    assert notna(r, "queue_id").tolist() == ev.loc[mask, "queue_id"].notna().tolist()
    with pytest.raises(KeyError):
        r["other"]
    assert RowsAt(ev, np.zeros(20, dtype=bool), ("queue_id",)).empty


@pytest.mark.parametrize("seed", range(20))
def test_count_units_codes_and_strings_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 300))
    kinds = np.array([NONE, MESSAGE, QUEUE, LINE], dtype=np.int8)
    units = Units(kinds[rng.integers(0, 4, n)], rng.integers(0, 25, n).astype(np.uint64),
                  rng.integers(0, 8, n).astype(np.uint64))
    codes = rng.integers(0, 6, n)
    names = np.array([f"key{c}" for c in codes], dtype=object)
    by_code = count_units(codes, units)
    by_name = count_units(names, units)
    assert {f"key{k}": int(v) for k, v in by_code.items()} == {k: int(v) for k, v in by_name.items()}
    # the long way: distinct (kind, unit) per key, a queue-only unit dropped where a message unit of
    # the key names its queue id
    want = {}
    for key in set(codes.tolist()):
        at = (codes == key) & (units.kind != NONE)
        named_q = set(units.q[at & (units.kind == MESSAGE)].tolist())
        seen = {(int(k), int(h)) for k, h, q in zip(units.kind[at], units.h[at], units.q[at], strict=True)
                if not (k == QUEUE and int(q) in named_q)}
        if seen:
            want[key] = len(seen)
    assert {int(k): int(v) for k, v in by_code.items()} == want


def test_value_counts_of_a_categorical_is_that_of_its_strings() -> None:
    s = pd.Series(["5xx", None, "4xx", "5xx", "2xx"], dtype="category").cat.add_categories(["never"])
    assert _value_counts(s).to_dict() == s.dropna().astype(str).value_counts().to_dict()
    plain = pd.Series(["a", None, "a"], dtype="string[pyarrow]")
    assert _value_counts(plain).to_dict() == {"a": 2}


@pytest.mark.parametrize("seed", range(6))
def test_timeline_keys_of_the_kind_alone_count_as_keys_per_time(seed: int) -> None:
    from analyzer.report.build import _iso
    from analyzer.report.timeline import timeline

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    ts = pd.Series(pd.to_datetime(rng.integers(0, 3 * 86400, n), unit="s", utc=True))
    ts[rng.random(n) < 0.1] = pd.NaT  # lines without a time: neither form counts them
    mask = rng.random(n) < 0.4
    full = np.array([None if rng.random() < 0.2 else f"Q{int(rng.integers(0, 6))}" for _ in range(n)], dtype=object)
    full[~mask] = None
    kinds = {"deferred": mask, "other": ~mask}
    a = timeline(ts, kinds, iso=_iso, per_message={"deferred": (full, "deferrals")})
    b = timeline(ts, kinds, iso=_iso, per_message={"deferred": (full[mask], "deferrals")})
    assert a == b
