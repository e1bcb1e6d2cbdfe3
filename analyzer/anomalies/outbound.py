"""The outbound deliveries the failure-spike and concentration detectors count, as codes.

Both detectors count, per (destination domain or provider, bucket) and per bucket, the failed
deliveries and all deliveries: the outbound delivery rows (each weighing 1) and the sent
deliveries folded apart from them (:mod:`.sent`: one per step and key, weighing its count, never
failed). They read rows only for a flagged entity's failures (cause, outcome, evidence). So the
lines are held here as arrays (a bucket, whether failed, a weight, the key codes) over the rows
and then the folded keys, the keys coded in the order a group-by of the rows and the folded keys
together gives them (:func:`.bucket_counts.group_codes`: a Categorical provider's categories,
those only the folded keys name added as :func:`_provider_codes` says; sorted domains), and
the rows are a table of the outbound rows alone: no table of the folded keys as rows, no
bucket column, no group-by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .bucket_counts import floor_ns, group_codes
from .client_counts import codes_of
from .context import FAILURES, _domain, _str_eq

#: The columns of the outbound rows a finding reads (evidence, cause, outcome) and the keys' sources.
_COLUMNS = ["ts", "recipient", "provider", "outcome", "cause", "severity", "source", "line_no", "relay_host", "status"]


def outbound_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The outbound delivery attempts of ``df`` with their recipient's ``domain`` and whether they
    ``failed`` (greylisting and other info-severity failures are the destination's normal)."""
    m = _str_eq(df["event"], ("delivery", "expired")) & _str_eq(df["direction"], "outbound")
    out = df.loc[m, _COLUMNS]  # a new table already (copy-on-write: no .copy())
    out["domain"] = _domain(out["recipient"])
    out["failed"] = _str_eq(out["outcome"], FAILURES) & ~_str_eq(out["severity"], "info")
    return out


@dataclass
class Outbound:
    """Outbound deliveries as lines: the :func:`outbound_rows` (``rows``) then the sent keys
    folded apart from them (``sent``), each with its ``bucket`` (start, int64 ns), ``failed`` and
    weight ``w``."""

    rows: pd.DataFrame
    sent: pd.DataFrame | None
    bucket: np.ndarray
    failed: np.ndarray
    w: np.ndarray
    _codes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not len(self.bucket)

    def codes(self, dim: str) -> tuple[np.ndarray, np.ndarray]:
        """The codes of ``dim`` (``domain`` or ``provider``) per line (-1 none) and their names,
        in the order a group-by of the rows and folded keys together sorts them."""
        if dim not in self._codes:
            if dim == "provider":
                self._codes[dim] = _provider_codes(self.rows["provider"], self.sent)
            else:
                self._codes[dim] = _joint_codes(self.rows[dim], self.sent[dim] if self.sent is not None else None)
        return self._codes[dim]

    def failures(self, sel: np.ndarray) -> pd.DataFrame:
        """The failed rows among the lines ``sel`` (a mask over the lines), in table order."""
        n = len(self.rows)
        return self.rows.iloc[np.flatnonzero(sel[:n] & self.failed[:n])]


def outbound_lines(ctx: Any, rows: pd.DataFrame, bulks: list[Any]) -> Outbound:
    """The :class:`Outbound` lines of ``rows`` and of the sent deliveries folded in ``bulks``."""
    out = outbound_rows(rows)
    step = int(ctx.bucket.value)
    bucket = floor_ns(out["ts"], np.arange(len(out)), step)
    failed = out["failed"].to_numpy(dtype=bool)
    w = np.ones(len(out), dtype=np.int64)
    parts = [b for b in bulks if b is not None and b.sent is not None and len(b.sent)]
    if not parts:
        return Outbound(out, None, bucket, failed, w)
    step_s = step // 10**9
    if any(step_s % b.sent_step for b in parts):
        raise ValueError(f"sent deliveries folded per {parts[0].sent_step} s cannot be bucketed per {step_s} s")
    s = pd.concat([b.sent for b in parts], ignore_index=True)
    # a folded key is at its step's start, which a bucket holds whole
    return Outbound(out, s, np.r_[bucket, s["sec"].to_numpy(dtype=np.int64) // step_s * step],
                    np.r_[failed, np.zeros(len(s), dtype=bool)], np.r_[w, s["n"].to_numpy(dtype=np.int64)])


def _joint_codes(rows: pd.Series, folded: pd.Series | None) -> tuple[np.ndarray, np.ndarray]:
    """Codes of string keys over the rows then the folded keys, the keys sorted (nulls -1): of
    an Arrow string column (the domains) by Arrow (:func:`.client_counts.codes_of`)."""
    data = getattr(rows.array, "_pa_array", None)
    # (pandas' Arrow strings are large_string: the domains were made Python strings, then factorized)
    if data is not None and (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        if folded is not None and len(folded):
            data = pa.chunked_array([*_chunks(data), pa.array(folded.to_numpy(dtype=object), type=data.type,
                                                              from_pandas=True)], type=data.type)
        return codes_of(pd.Series(pd.arrays.ArrowStringArray(data)), sort=True)
    if folded is None or not len(folded):
        return group_codes(rows)
    both = np.concatenate([rows.to_numpy(dtype=object, na_value=None), folded.to_numpy(dtype=object)])
    return group_codes(pd.Series(both, dtype=object))


def _chunks(data: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(data.chunks) if isinstance(data, pa.ChunkedArray) else [data]


def _provider_codes(rows: pd.Series, sent: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the provider over the rows then the folded keys. A Categorical column keeps its
    categories' order, the providers only the folded keys name added after them (sorted with
    them where the categories are sorted); other columns' values are sorted."""
    if not isinstance(rows.dtype, pd.CategoricalDtype):
        return _joint_codes(rows, sent["provider"] if sent is not None else None)
    cats = rows.cat.categories
    row_codes = rows.cat.codes.to_numpy().astype(np.int64)
    if sent is None or not len(sent):
        return row_codes, np.asarray(cats, dtype=object)
    prov = sent["provider"].to_numpy(dtype=object)
    new = sorted(set(pd.unique(prov[pd.notna(prov)])) - set(cats))
    names = pd.Index(sorted([*cats, *new]) if new and cats.is_monotonic_increasing else [*cats, *new], dtype=object)
    if len(names) != len(cats) or not names.equals(pd.Index(cats, dtype=object)):
        at = names.get_indexer(pd.Index(cats, dtype=object))
        row_codes = np.where(row_codes >= 0, at[row_codes], -1)
    fold_codes = names.get_indexer(pd.Index(prov, dtype=object)).astype(np.int64)
    return np.r_[row_codes, fold_codes], np.asarray(names, dtype=object)
