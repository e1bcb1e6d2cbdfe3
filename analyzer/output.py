"""Writing the event table: Parquet, CSV or JSON lines, chosen by file name, written atomically."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = ["EVENT_FORMATS", "OutputError", "atomic_path", "write_events"]

EVENT_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class OutputError(OSError):
    """An output could not be written."""

    hint = "check that the directory exists and is writable"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    Readers never see a half-written file, and a failed run leaves the old file in place.
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    except OSError as exc:
        raise OutputError(f"{target}: cannot write here ({exc.strerror or exc})") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _jsonl(df: pd.DataFrame, out: IO[str]) -> None:
    frame = df.copy()
    if "ts" in frame:
        frame["ts"] = frame["ts"].astype("string[pyarrow]")
    frame.to_json(out, orient="records", lines=True, date_format="iso", force_ascii=False)


def write_events(df: pd.DataFrame, path: str) -> None:
    """Write the event table to ``path`` (.parquet, .csv or .jsonl), or JSON lines to stdout for '-'."""
    if path == "-":
        _jsonl(df, sys.stdout)
        return
    suffix = Path(path).suffix.lower()
    fmt = EVENT_FORMATS.get(suffix)
    if fmt is None:
        raise OutputError(f"{path}: unknown output type {suffix or '(none)'}; use .parquet, .csv or .jsonl")
    table = pa.Table.from_pandas(df, preserve_index=False)
    writers: dict[str, Callable[[Path], None]] = {
        "parquet": lambda p: pq.write_table(table, p, compression="zstd"),
        "csv": lambda p: pacsv.write_csv(table, p),
        "jsonl": lambda p: _write_jsonl(df, p),
    }
    try:
        with atomic_path(path) as tmp:
            writers[fmt](tmp)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"{path}: {exc.strerror or exc}") from exc


def _write_jsonl(df: pd.DataFrame, p: Path) -> None:
    with open(p, "w", encoding="utf-8") as fh:
        _jsonl(df, fh)
