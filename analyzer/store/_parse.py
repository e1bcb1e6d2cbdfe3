"""Parse and classify one source into the rows the store keeps; what the Dask workers run."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..sources import Input, iter_chunks
from ._keys import Digest, event_keys, fingerprint
from ._layout import KEY, STORE_SCHEMA


@dataclass
class SourceTable:
    """One input parsed and classified: its rows (with keys) and what was read."""

    name: str
    digest: Digest
    table: pa.Table
    lines: int
    events: int
    unrecognised: int
    warnings: list[str]


def _tail_copy(inp: Input, offset: int, folder: str) -> Input:
    """The decompressed content of ``inp`` after ``offset`` bytes, in a file of the same base name and mtime."""
    assert inp.path is not None
    out = Path(folder) / inp.path.name
    skip = offset
    with open(out, "wb") as fh:
        for chunk in iter_chunks(inp, lambda _msg: None):
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            fh.write(chunk[skip:])
            skip = 0
    st = inp.path.stat()
    os.utime(out, (st.st_atime, st.st_mtime))
    return Input(inp.name, out)


def parse_source(inp: Input, *, tz: str | None, year: int | None, now: dt.datetime | None,
                 digest: Digest | None = None, rules: Sequence[str] = ()) -> SourceTable:
    """Parse and classify one input (only what follows ``digest.resume_at``); add ``event_key``.
    ``rules`` are site knowledge-base files added to the shipped one. Pure: safe on a Dask worker."""
    import tempfile

    from ..classify import classify
    from ..reader import parse_logs

    dg = digest or fingerprint(inp)
    with tempfile.TemporaryDirectory(prefix="maillens-tail-") as tmp:
        src = _tail_copy(inp, dg.resume_at, tmp) if dg.resume_at else inp
        res = parse_logs([str(src.path)], tz=tz, year=year, now=now)
    events = res.events
    if len(events):
        if rules:
            from ..rules import load_rules

            events = classify(events, load_rules(tuple(Path(r) for r in rules)))
        else:
            events = classify(events)
    table = pa.Table.from_pandas(events, preserve_index=False)
    if table.num_rows == 0:
        table = STORE_SCHEMA.empty_table()
    else:
        table = table.set_column(table.column_names.index("source"), "source",
                                 pa.array([inp.name] * table.num_rows, pa.string()))
        if dg.resume_lines:
            i = table.column_names.index("line_no")
            table = table.set_column(i, "line_no", pc.add(table.column("line_no"), dg.resume_lines))
        table = table.append_column(KEY, pa.array(event_keys(table), pa.int64()))
        table = table.select(STORE_SCHEMA.names).cast(STORE_SCHEMA)
    warnings = [w.replace(str(src.path), inp.name) for w in res.warnings]
    return SourceTable(inp.name, dg, table, dg.resume_lines + res.counts.lines, res.counts.events,
                       res.counts.unrecognised, warnings)
