"""The arrival time an Exim message id holds: its first six characters, base 62, in seconds
(eximstats' "Time spent on the queue" of a message whose '<=' line was not read)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["arrow_id_seconds", "id_seconds"]


def _base62(code: np.ndarray) -> np.ndarray:
    """Seconds of rows of six ASCII bytes (0-9, A-Z, a-z; anything else clipped into 0..61)."""
    val = np.clip(np.where(code >= 97, code - 61, np.where(code >= 65, code - 55, code - 48)), 0, 61)
    total = np.zeros(len(code), dtype="int64")
    for i in range(6):  # six characters, not one step per line
        total = total * 62 + val[:, i]
    return total


def id_seconds(ids: pd.Series) -> np.ndarray:
    """The arrival time an Exim message id holds (its first six characters, base 62), in seconds."""
    raw = np.array(ids.str.slice(0, 6).str.ljust(6, "0").tolist(), dtype="S6")
    return _base62(raw.view(np.uint8).reshape(-1, 6).astype("int64") if len(raw) else np.zeros((0, 6), dtype="int64"))


def arrow_id_seconds(ids: pa.Array) -> np.ndarray:
    """:func:`id_seconds` of Arrow strings: their first six characters read from Arrow's buffer when
    every id is ASCII (Exim's are), without a Python string per id."""
    six = pc.utf8_rpad(pc.utf8_slice_codeunits(ids, 0, 6), 6, "0")
    if not len(six) or six.null_count or not pc.all(pc.string_is_ascii(six)).as_py():
        return id_seconds(pd.Series(ids.to_numpy(zero_copy_only=False), dtype=object).astype(str))
    off = np.frombuffer(six.buffers()[1], dtype=np.int32)[six.offset:six.offset + len(six) + 1]
    raw = np.frombuffer(six.buffers()[2], dtype=np.uint8)[off[0]:off[-1]]
    return _base62(raw.reshape(-1, 6).astype("int64"))
