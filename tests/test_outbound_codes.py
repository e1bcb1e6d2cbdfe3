"""The outbound deliveries counted on codes (analyzer/anomalies/outbound.py, bucket_counts.py)
give the failure-spike and concentration detectors what the group-by of the rows joined with the
folded sent keys (``with_sent`` below: the joined table the detectors grouped before outbound.py, kept here as
the reference) gave them: the same (entity, bucket) pairs in the same order,
the same failures and deliveries, with the provider as a Categorical of sorted or unsorted
categories (the folded keys naming providers the rows do not) or as strings."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.anomalies.baseline import _with_bucket
from analyzer.anomalies.bucket_counts import pair_sums
from analyzer.anomalies.outbound import outbound_lines, outbound_rows


def _like(col: pd.Series, n: int) -> pd.Series:
    """``n`` missing values of ``col``'s dtype (a Categorical stays one with the same categories)."""
    return pd.Series(col.array.take(np.full(n, -1), allow_fill=True))


def with_sent(ctx: Any, out: pd.DataFrame, bulks: list[Any]) -> pd.DataFrame:
    """``out`` (outbound delivery rows with ``domain`` and ``failed``) with a weight ``w`` (1 per
    row) and, after its rows, the sent deliveries folded in ``bulks`` (their ``sent`` counts): one
    row per step and key, at the step's start, not failed, weighing its count."""
    out = out.assign(w=np.ones(len(out), dtype=np.int64))
    parts = [b for b in bulks if b is not None and b.sent is not None and len(b.sent)]
    if not parts:
        return out
    step = int(ctx.bucket / pd.Timedelta(seconds=1))
    if any(step % b.sent_step for b in parts):
        raise ValueError(f"sent deliveries folded per {parts[0].sent_step} s cannot be bucketed per {step} s")
    s = pd.concat([b.sent for b in parts], ignore_index=True)
    n = len(s)
    add = {c: _like(out[c], n) for c in out.columns}
    ts = pd.Series(pd.to_datetime(s["sec"].to_numpy(), unit="s", utc=True))
    add["ts"] = ts.astype(out["ts"].dtype) if len(out) else ts
    add["domain"] = pd.Series(s["domain"].to_numpy(dtype=object)).astype(out["domain"].dtype)
    prov = s["provider"].to_numpy(dtype=object)
    if isinstance(out["provider"].dtype, pd.CategoricalDtype):
        cats = out["provider"].cat.categories
        new = sorted(set(pd.unique(prov[pd.notna(prov)])) - set(cats))  # distinct values, not a set per row
        if new:
            keep_sorted = bool(cats.is_monotonic_increasing)
            allc = sorted([*cats, *new]) if keep_sorted else [*cats, *new]
            out = out.assign(provider=out["provider"].cat.set_categories(allc))
            cats = out["provider"].cat.categories
        add["provider"] = pd.Series(pd.Categorical(prov, categories=cats))
    else:
        add["provider"] = pd.Series(prov).astype(out["provider"].dtype) if len(out) else pd.Series(prov)
    add["failed"] = pd.Series(np.zeros(n, dtype=bool))
    add["w"] = pd.Series(s["n"].to_numpy(dtype=np.int64))
    return pd.concat([out, pd.DataFrame(add)], ignore_index=True)


_PROVIDERS = ["gmail", "microsoft", "yahoo", "apple", "zoho"]
_DOMAINS = ["a.example", "b.example", "Ä.example", "c.example", "z.example"]


def _rows(r: random.Random, n: int, provider: str) -> pd.DataFrame:
    t0 = pd.Timestamp("2026-11-23T00:00Z").value
    df = pd.DataFrame({
        "ts": pd.to_datetime(sorted(t0 + r.randrange(86_400) * 10**9 for _ in range(n)), unit="ns", utc=True),
        "event": [r.choice(["delivery", "delivery", "expired", "reject"]) for _ in range(n)],
        "direction": [r.choice(["outbound", "outbound", "inbound"]) for _ in range(n)],
        "recipient": [None if r.random() < 0.1 else f"u{r.randrange(5)}@{r.choice(_DOMAINS)}" for _ in range(n)],
        "provider": [None if r.random() < 0.2 else r.choice(_PROVIDERS[:3]) for _ in range(n)],
        "outcome": [r.choice(["delivered", "transient_failure", "permanent_failure"]) for _ in range(n)],
        "cause": [r.choice(["mailbox.unknown", "policy.spam"]) for _ in range(n)],
        "severity": [r.choice(["info", "warning"]) for _ in range(n)],
        "source": "mail.log", "line_no": np.arange(1, n + 1), "relay_host": None, "status": "sent",
    })
    df["ts"] = df["ts"].astype("timestamp[us, tz=UTC][pyarrow]")
    for c in ("recipient", "source", "relay_host", "status"):
        df[c] = df[c].astype("string[pyarrow]")
    for c in ("event", "direction", "outcome", "cause", "severity"):
        df[c] = df[c].astype("category")
    if provider == "string":
        df["provider"] = df["provider"].astype("string[pyarrow]")
    else:
        cats = _PROVIDERS[:3] if provider == "sorted" else _PROVIDERS[:3][::-1]
        df["provider"] = df["provider"].astype(pd.CategoricalDtype(sorted(cats) if provider == "sorted" else cats))
    return df


def _sent(r: random.Random, n: int) -> pd.DataFrame:
    sec = [pd.Timestamp("2026-11-23T00:00Z").value // 10**9 + 3600 * r.randrange(24) for _ in range(n)]
    return pd.DataFrame({"sec": np.array(sec, np.int64), "domain": [r.choice([*_DOMAINS, None]) for _ in range(n)],
                         "provider": [r.choice([*_PROVIDERS, None]) for _ in range(n)],
                         "n": np.array([r.randrange(1, 9) for _ in range(n)], np.int64),
                         "ts_min": np.array(sec, np.int64) * 10**9, "ts_max": np.array(sec, np.int64) * 10**9})


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), provider=st.sampled_from(["sorted", "unsorted", "string"]), folded=st.booleans(),
       hours=st.sampled_from([1, 2]))
def test_codes_count_what_the_group_by_counted(seed: int, provider: str, folded: bool, hours: int):
    r = random.Random(seed)
    rows = _rows(r, r.randrange(1, 300), provider)
    bulk = SimpleNamespace(sent=_sent(r, r.randrange(1, 60)) if folded else None, sent_step=3600)
    ctx = SimpleNamespace(bucket=pd.Timedelta(hours=hours))
    ob = outbound_lines(ctx, rows, [bulk])
    ref = _with_bucket(ctx, with_sent(ctx, outbound_rows(rows), [bulk]))
    assert ob.empty == ref.empty
    step = int(ctx.bucket.value)
    for dim in ("domain", "provider"):
        code, names = ob.codes(dim)
        kc, kb, (fails, n) = pair_sums(code, ob.bucket, step, [ob.failed, ob.w])
        g = ref.dropna(subset=[dim]).groupby([dim, "bucket"], observed=True).agg(
            fail=("failed", "sum"), n=("w", "sum")).reset_index()
        assert [str(x) for x in names[kc]] == [str(x) for x in g[dim]]
        assert kb.tolist() == [pd.Timestamp(b).value for b in g["bucket"]]
        assert fails.tolist() == g["fail"].astype(int).tolist() and n.tolist() == g["n"].astype(int).tolist()
    # a flagged entity's failed rows are the rows' failures of its lines, in table order
    code, _ = ob.codes("domain")
    if (code >= 0).any():
        c = int(code[code >= 0][0])
        got = ob.failures(code == c)
        want = ref.iloc[:len(ob.rows)]
        want = want[(np.asarray(code[:len(ob.rows)]) == c) & want["failed"].to_numpy(dtype=bool)]
        assert got["line_no"].tolist() == want["line_no"].tolist()
