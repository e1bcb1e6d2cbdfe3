"""Time buckets and robust baselines: median and 1.4826 x MAD of earlier buckets, runs of
consecutive flagged buckets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .context import Context

MAD_SCALE = 1.4826


def _runs(buckets: list[pd.Timestamp], step: pd.Timedelta) -> list[list[pd.Timestamp]]:
    """Group sorted bucket starts into runs of consecutive buckets."""
    runs: list[list[pd.Timestamp]] = []
    for b in sorted(buckets):
        if runs and b - runs[-1][-1] <= step:
            runs[-1].append(b)
        else:
            runs.append([b])
    return runs


def _robust(values: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (1.4826 x MAD) of ``values``."""
    if len(values) == 0:
        return 0.0, 0.0
    med = float(np.median(values))
    return med, MAD_SCALE * float(np.median(np.abs(values - med)))


def robust_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_robust` of each row of a 2-D array (the same numbers: numpy's median along an axis
    partitions each row as it does one), in two calls rather than two a row."""
    if values.shape[1] == 0:
        zero = np.zeros(len(values))
        return zero, zero.copy()
    med = np.median(values, axis=1)
    return med, MAD_SCALE * np.median(np.abs(values - med[:, None]), axis=1)


def _with_bucket(ctx: Context, df: pd.DataFrame) -> pd.DataFrame:
    # a new table sharing ``df``'s columns (copy-on-write: no copy of every column)
    return df.assign(bucket=df["ts"].dt.floor(ctx.bucket))
