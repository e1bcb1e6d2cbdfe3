"""Folds: how the report reads a day of events without holding the day.

**The protocol.** A *fold* is any object with two methods:

* ``add(batch: pandas.DataFrame) -> None`` takes one batch of classified events and keeps what its
  section needs (counts, first examples, a few rows), never the batch itself;
* ``result() -> Any`` returns what it kept, once every batch was added (called once, last).

**What a batch is.** A :class:`pandas.DataFrame` with the columns of
:data:`analyzer.report.run.REPORT_COLUMNS` (classified events, Arrow-backed dtypes as
:func:`analyzer.schema.to_pandas` gives them), rows in the order of their input file, and two
entries in ``batch.attrs``:

* ``"input"``: the position of the batch's input in the run's input order. Batches of one input
  come in line order; the batches of secondary logs (``mail.warn``, Exim's ``rejectlog``, see
  :mod:`analyzer.pipeline`) come after those of the primary logs whatever their position. A fold
  whose result depends on order sorts by ``(input, first_row)``.
* ``"first_row"``: the number of rows of the same input that came before this batch, so
  ``(input, first_row + i)`` is the place of row ``i`` in the input order (:func:`row_order`).

A fold must not keep a reference to the batch (or to a slice of it) after ``add`` returns, and
must not change it. It may keep state that grows with the distinct entities seen (destination
domains, client addresses, queue ids, seconds of the day), never with the number of lines.

**Plugging a section in.** :func:`register_section` names a section's fold factory:
``factory(window)`` (a :class:`analyzer.report.ReportWindow`) returns a fresh fold, which sees
every batch of the run, before and after the window too (it keeps what lies inside the window: a
line's ``ts`` is ``since <= ts < until``, a limit of None being no limit). The report's fold
(:class:`analyzer.report.run.ReportFold`) runs every registered fold beside its own;
``build_report`` receives their results as ``sections[name]``. A section fold whose
``takes_bulk`` is true is called ``add(batch, bulk=mask)`` by the report's fold, ``mask`` being
:func:`analyzer.anomalies.aggregates.is_bulk` of the batch (computed once for all); it computes
the mask itself when called without it (over a table in memory). The same factories run over a table
in memory when :func:`analyzer.report.make_report` is given one.

**Who feeds folds.** :func:`fold_stream` runs folds over an event stream (:mod:`analyzer.pipeline`),
classifying each batch as it comes; :func:`fold_frame` runs the same folds over a table already in
memory, in slices, so that :func:`analyzer.report.make_report` gives the same report for a table
as for the stream it came from. :class:`RowsFold` is the fold of a section that still needs rows:
it keeps only the rows and columns it is told to, compactly (dictionary-encoded Arrow).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from .. import heap
from ..anomalies.aggregates import _order_base, row_order
from .fold_categories import narrowest as _narrow
from .fold_categories import sorted_categories
from .rows_packed import Packed, held_rows, pack, pack_codes, unpack, unpack_codes
from .rows_table import pack_place, pack_table, place_of, table_of

__all__ = ["SECTION_FOLDS", "SLICE_ROWS", "Fold", "RowsFold", "fold_frame", "fold_stream", "register_section",
           "row_order"]

#: Rows per slice when folds run over a table in memory (about one stream batch).
SLICE_ROWS = 28_000


@runtime_checkable
class Fold(Protocol):
    """Folds batches of classified events into what one report section needs."""

    def add(self, batch: pd.DataFrame) -> None:
        """Take one batch (see the module docstring for what ``batch`` holds)."""

    def result(self) -> Any:
        """What was kept, after the last batch."""


#: The registered section folds: name -> factory(window) -> :class:`Fold` (see the module docstring).
SECTION_FOLDS: dict[str, Callable[[Any], Fold]] = {}


def register_section(name: str, factory: Callable[[Any], Fold]) -> None:
    """Have every report run ``factory(window)``'s fold over its batches; its result reaches
    ``build_report`` as ``sections[name]``."""
    SECTION_FOLDS[name] = factory


def _feed(batch: pd.DataFrame, folds: Iterable[Fold], index: int, first_row: int) -> None:
    batch.attrs["input"] = index
    batch.attrs["first_row"] = first_row
    for f in folds:
        f.add(batch)


def fold_frame(events: pd.DataFrame, folds: Sequence[Fold], *, rows: int = SLICE_ROWS) -> None:
    """Run ``folds`` over a table in memory, ``rows`` rows at a time (one input, in table order)."""
    if rows <= 0:
        raise ValueError("rows must be positive")
    for start in range(0, len(events), rows):
        _feed(events.iloc[start:start + rows], folds, 0, start)


def fold_stream(stream: Any, folds: Sequence[Fold], *, kb: Any = None,
                columns: Sequence[str] | None = None, group_bytes: int = 0) -> None:
    """Run ``folds`` over an event stream (:class:`analyzer.pipeline.EventStream`): each batch
    classified as it comes (:class:`analyzer.classify_stream.StreamClassifier`, whose cache and
    retry-wait attribution carry across batches, unless the stream classifies itself), cut to
    ``columns``, turned into a pandas batch and handed to every fold.

    A batch is made ready on a thread of its own ("maillens-prep": classified, turned into pandas,
    and given to each fold's ``prepare(batch)`` if it has one: work that depends on the batch
    alone, such as the report's masks) while the folds add the one before it, in order.

    ``group_bytes``: the stream's classifier classifies its batches together up to about that many
    bytes of tables (:func:`analyzer.pipeline.classify_grouped`; 0: up to its rows' limit)."""
    from concurrent.futures import ThreadPoolExecutor

    from ..classify_stream import StreamClassifier
    from ..schema import to_pandas

    classify_batch = StreamClassifier(kb) if stream.classifier is None else None
    prepares = [f.prepare for f in folds if callable(getattr(f, "prepare", None))]

    # the stream's classifier keeps each batch's classification codes (analyzer.class_codes), which
    # the batch's masks read instead of encoding its strings again
    beside = getattr(stream.classifier, "codes_beside", None)
    if beside is not None:
        stream.classifier.keep_codes = True
    if group_bytes and stream.classifier is not None:
        stream.classifier.group_bytes = group_bytes

    def ready(table: Any, index: int, first: int, codes: Any = None) -> _Batch:
        t = classify_batch(table) if classify_batch is not None else table
        if columns is not None:
            t = t.select(list(columns))
        batch = _Batch.of(t, to_pandas(t), codes)
        batch.attrs["input"] = index
        batch.attrs["first_row"] = first
        for prepare in prepares:
            prepare(batch)
        return batch

    done: dict[int, int] = {}  # rows seen so far per input
    pool = ThreadPoolExecutor(1, thread_name_prefix="maillens-prep")
    try:
        pending = None  # the batch being made ready: folded once the next one is under way
        for b in stream:
            if not b.table.num_rows:
                continue
            first = done.get(b.index, 0)
            done[b.index] = first + b.table.num_rows  # (classifying and cutting keep the rows)
            made = pool.submit(ready, b.table, b.index, first, None if beside is None else beside(b.table))
            if pending is not None:
                _feed_ready(pending.result(), folds)
            pending = made
        if pending is not None:
            _feed_ready(pending.result(), folds)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _feed_ready(batch: pd.DataFrame, folds: Iterable[Fold]) -> None:
    for f in folds:
        f.add(batch)


class _Batch(pd.DataFrame):
    """A stream batch whose columns, read by name, are built once: pandas 3 builds a new Series at
    every ``batch[name]``, and the report's folds read the same few columns of a batch a hundred
    times (their masks; measured: 6% of the report's main thread). A fold never changes a batch
    (the protocol above), so one Series per column serves them all; what is derived from the
    batch (a selection, a copy) is a plain DataFrame. It also keeps the Arrow table it was made
    from (:attr:`arrow`: its columns without a Series) and the tests its masks share
    (:meth:`batch_tests`, :mod:`analyzer.anomalies.batch_tests`)."""

    @property
    def _constructor(self) -> Any:
        return pd.DataFrame

    @classmethod
    def of(cls, table: Any, frame: pd.DataFrame, codes: Any = None) -> _Batch:
        """``frame`` (``table`` as pandas, Arrow-backed columns) as a batch that keeps ``table``
        and, when given, its classification codes (:class:`analyzer.class_codes.RowCodes`, rows
        as ``table``'s: they name the strings its rows have)."""
        b = cls(frame)
        object.__setattr__(b, "arrow", table)
        object.__setattr__(b, "class_codes", codes)
        return b

    def batch_tests(self) -> Any:
        """The batch's :class:`analyzer.anomalies.batch_tests.BatchTests`, made once."""
        got = self.__dict__.get("_tests")
        if got is None:
            from ..anomalies.batch_tests import BatchTests

            got = BatchTests(self, self.__dict__.get("arrow"), self.__dict__.get("class_codes"))
            object.__setattr__(self, "_tests", got)
        return got

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, str):
            return super().__getitem__(key)
        cache = self.__dict__.get("_by_name")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_by_name", cache)
        s = cache.get(key)
        if s is None:
            s = cache[key] = super().__getitem__(key)
        return s


class RowsFold:
    """Keeps the rows (``keep(batch)`` -> boolean mask, or all) and ``columns`` of each batch,
    the columns in ``few_values`` dictionary-encoded while held; ``result()`` is one pandas table
    in input order (the section that still reads rows reads that), the ``categorical`` ones of
    ``few_values`` as pandas Categoricals (string categories), the others Arrow-backed.

    The ``categorical`` columns are held as codes (int8 while a column has few values) into one table of values per column
    shared by every batch (not a dictionary per batch): the result's Categoricals are made from
    those codes, without unifying dictionaries nor converting them at the end (less memory at
    the peak, which is there).

    The ``texts`` columns (strings that repeat within a batch: reply texts, client addresses,
    senders) are held as each batch's distinct values and a narrow index per row (int8/int16
    while the batch has few), given back as the strings they were (Arrow, the type they came
    in). A column with no value in a batch's rows kept is not held for that batch at all (its
    nulls are made again in ``result()``). (Measured: the kept rows of 3M Exim lines 43.7 -> 25.6 MiB.)

    A run of one input's stream batches waits (as the Arrow rows kept) until :data:`HOLD_ROWS`
    rows are kept, then is encoded and packed as one piece (:meth:`_hold`).

    ``result()`` lets go of what it holds, the values seen too: rows added after it are coded afresh."""

    #: Rows kept that wait as Arrow rows before they are encoded and packed as one piece.
    HOLD_ROWS = 4096
    #: The held pieces' bytes (texts and codes as they are) from which on the next pieces are
    #: packed (:mod:`.rows_packed`): below it a piece is held as it is, neither compressed while the
    #: stream runs nor uncompressed (twice, :func:`_text_column`) at the result. A 1M-line day's kept
    #: rows hold 5.7 (Postfix) to 7.2 (Exim) MB of them, packed 1.4 to 2.1: the first few MiB held
    #: as they are cost that much memory and save the zstd calls of most of the pieces at that size.
    PACK_FROM = 4 << 20

    def __init__(self, columns: Sequence[str], keep: Callable[[pd.DataFrame], np.ndarray] | None = None,
                 few_values: Iterable[str] = (), order_column: str | None = None,
                 categorical: Iterable[str] = (), blank_columns: Iterable[str] = (), texts: Iterable[str] = ()) -> None:
        self.columns = list(columns)
        self.blank_columns = [c for c in blank_columns if c in self.columns]  # see add(blank=)
        self.keep = keep
        self.few_values = [c for c in few_values if c in self.columns]
        # of those, the ones the result gives as pandas Categoricals (a code per row, not a string)
        self.categorical = frozenset(categorical) & frozenset(self.few_values)
        self.order_column = order_column  # also keep each row's row_order() under this name
        texts = frozenset(texts) | (frozenset(self.few_values) - self.categorical)  # (those held per batch)
        self.texts = [c for c in self.columns if c in texts and c not in self.categorical]
        self._pieces: list[tuple[int, int, Any, dict[str, np.ndarray], dict[str, tuple[np.ndarray, Any]]]] = []
        self._schema: Any = None
        self._types: dict[str, Any] = {}  # a text's or a column's type, from the first batch it had a value in
        self._values: dict[str, dict[Any, int]] = {c: {} for c in self.categorical}  # value -> code
        self._waiting: list[tuple[tuple[int, int], Any, Any]] = []  # rows kept not yet held as a piece (_hold)
        self._waiting_rows = 0
        self._plain_bytes = 0  # the held pieces' bytes not packed (PACK_FROM)

    def add(self, batch: pd.DataFrame, mask: np.ndarray | None = None, blank: np.ndarray | None = None) -> None:
        """Keep the rows of ``batch`` that ``keep`` (or ``mask``, when given) selects; of those,
        the ``blank_columns`` of the rows ``blank`` marks (a mask over ``batch``) are kept null."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if mask is None and self.keep is not None:
            mask = np.asarray(self.keep(batch), dtype=bool)
        # the batch's columns as Arrow (no copy of Arrow-backed ones), the rows kept taken there: one
        # take per column in Arrow, cheaper than pandas' (measured: less CPU and memory at 1M lines)
        table = batch.__dict__.get("arrow")  # a stream batch's own table (_Batch): its columns, no Series
        dtypes = batch.dtypes if table is None else None  # (a new Series at every call: once, not once per column)
        if table is not None:
            t = table.select(self.columns)
            t = t.replace_schema_metadata(None) if t.schema.metadata else t
        elif all(isinstance(dtypes[c], pd.ArrowDtype) for c in self.columns):
            # the stream's batches: their Arrow columns as they are (from_pandas cost as much as the take)
            t = pa.Table.from_arrays([batch[c].array.__arrow_array__() for c in self.columns], names=self.columns)
        else:
            t = pa.Table.from_pandas(batch[self.columns], preserve_index=False)
        if self._schema is None:
            self._schema = t.schema
        kept = None
        if mask is not None:
            if not mask.any():
                return
            kept = np.flatnonzero(mask)
            if blank is not None:
                blank = blank[mask]
        if not t.num_rows:
            return
        schema, blanked = t.schema, {}
        if blank is not None and blank.any() and self.blank_columns:
            # the texts blanked (QUIET_BLANK) taken with their rows at once: a take whose index is
            # null where the row is blanked (not a filter of every kept text, then a copy without
            # the blanked ones by replace_with_mask)
            at = pa.array(np.arange(t.num_rows, dtype=np.int64) if kept is None else kept, mask=blank)
            blanked = {name: t.column(name).take(at) for name in self.blank_columns}
            t = t.drop_columns(self.blank_columns)
        if kept is not None:
            t = pc.filter(t, pa.array(mask))
        if blanked:
            t = pa.Table.from_arrays([blanked[c] if c in blanked else t.column(c) for c in schema.names], schema=schema)
        key = (int(batch.attrs.get("input", 0)), int(batch.attrs.get("first_row", 0)))
        # each row's place: the batch's first (row_order's base) and the row's number in the batch
        place = (_order_base(batch), np.arange(len(batch)) if kept is None else kept) \
            if self.order_column is not None else None
        if self._waiting and (table is None or key[0] != self._waiting[-1][0][0] or key <= self._waiting[-1][0]
                              or t.schema != self._waiting[-1][1].schema):
            self._hold()
        self._waiting.append((key, t, place))
        self._waiting_rows += t.num_rows
        if table is None or self._waiting_rows >= self.HOLD_ROWS:
            self._hold()

    def _hold(self) -> None:
        """The rows waiting (a run of one input's stream batches, in order, or one other batch)
        encoded and packed as one piece: a column's encoding, packing and Arrow calls made once for
        the run, not once per batch (a 1M-line day's batches keep ~1.2k rows each, and the
        per-column calls cost ~6 CPU-ms a batch whatever its rows: most of the fold thread's
        RowsFold time)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        waiting, self._waiting, self._waiting_rows = self._waiting, [], 0
        if not waiting:
            return
        t = waiting[0][1] if len(waiting) == 1 else pa.concat_tables([w[1] for w in waiting])
        segments = [(*w[0], w[1].num_rows) for w in waiting]  # each batch's key and rows, for result()'s order
        place = None
        if self.order_column is not None:  # the run's first batch's base and each row's offset from it, narrow
            base = waiting[0][2][0]
            rel = np.concatenate([w[2][1].astype(np.int64) + (w[2][0] - base) for w in waiting])
            top = int(rel.max()) if len(rel) else 0
            place = (base, rel.astype(np.uint16 if top < 1 << 16 else np.uint32 if top < 1 << 32 else np.int64))
        codes: dict[str, np.ndarray] = {}
        encoded = [name for name in self.few_values if name in self.categorical and name not in codes]
        for name in encoded:
            codes[name] = self._codes(name, t.column(name))
        if encoded:
            t = t.drop_columns(encoded)
        # each text and coded column compressed while held (rows_packed: the held pieces ~3.5x smaller),
        # once the pieces held as they are reach PACK_FROM bytes
        texts = {name: self._held_text(name, t.column(name)) for name in self.texts}
        packed = self._plain_bytes >= self.PACK_FROM  # (the table and places too: .rows_table)
        if packed:
            texts = {name: pack(*held) for name, held in texts.items()}
            codes = {name: pack_codes(c) for name, c in codes.items()}
        else:
            self._plain_bytes += sum(idx.nbytes + (0 if v is None else v.nbytes) for idx, v in texts.values()) \
                + sum(c.nbytes for c in codes.values())
        # the other columns with no value in these rows (a day's Exim delays): not held, their nulls made in result()
        empty = [f.name for f in t.schema if f.name not in texts and t.column(f.name).null_count == t.num_rows
                 and not pa.types.is_null(f.type) and not pa.types.is_dictionary(f.type)]
        for name in empty:
            self._types.setdefault(name, t.schema.field(name).type)
        if texts or empty:
            t = t.drop_columns([*texts, *empty])
        for i, f in enumerate(t.schema):  # (line numbers) int32 while held, when they fit
            if pa.types.is_int64(f.type) and t.num_rows:
                low, high = pc.min_max(t.column(i)).values()
                if low.is_valid and low.as_py() >= -(1 << 31) and high.as_py() < 1 << 31:
                    t = t.set_column(i, f.name, t.column(i).cast(pa.int32()))
                    self._types.setdefault(f.name, f.type)
        self._pieces.append((*segments[0][:2], pack_table(t) if packed else t, codes, texts,
                             pack_place(place) if packed else place, segments))

    def _held_text(self, name: str, col: Any) -> tuple[np.ndarray, Any]:
        """Column ``name`` of the rows kept as (each row's index into the batch's distinct values,
        -1 for null; those values, None where the rows have none)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if not pa.types.is_null(arr.type):  # (a table's column of None alone comes as Arrow's null type)
            self._types.setdefault(name, arr.type)
        if arr.null_count == len(arr):
            return np.full(len(arr), -1, dtype=np.int8), None
        enc = pc.dictionary_encode(arr)
        idx = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
        return idx.astype(_narrow(len(enc.dictionary))), enc.dictionary

    def _codes(self, name: str, col: Any) -> np.ndarray:
        """``col`` (an Arrow column) as int32 codes into ``self._values[name]`` (-1: null). A
        dictionary column's whole dictionary is taken in, as unifying the pieces' dictionaries did."""
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if not pa.types.is_dictionary(arr.type):
            arr = pc.dictionary_encode(arr)
        seen = self._values[name]
        local = np.array([seen.setdefault(v, len(seen)) for v in arr.dictionary.to_pylist()] + [-1], dtype=np.int32)
        idx = pc.fill_null(arr.indices, -1).to_numpy(zero_copy_only=False)
        # the narrowest codes that hold every value seen so far: most of these columns have fewer
        # than 127 values, one byte a row instead of four (measured: 32 -> 8 MiB at 1M Exim lines)
        return local[idx].astype(_narrow(len(seen)))  # index -1 (null) takes the trailing -1

    def held_rows(self) -> int:
        """How many rows are kept so far."""
        return sum(p[2].num_rows for p in self._pieces) + self._waiting_rows

    def result(self) -> pd.DataFrame:
        import pyarrow as pa

        from ..schema import to_pandas

        self._hold()
        self._pieces.sort(key=lambda p: (p[0], p[1]))
        order = _batch_order([p[6] for p in self._pieces])
        if not self._pieces:
            if self._schema is None:  # no batch at all: the columns, the order column too
                empty = {c: pd.Series([], dtype=object) for c in self.columns}
                if self.order_column is not None:
                    empty[self.order_column] = pd.Series([], dtype="int64")
                return pd.DataFrame(empty)
            t = self._schema.empty_table()
            if self.order_column is not None:
                t = t.append_column(self.order_column, pa.array([], pa.int64()))
            return to_pandas(t)
        names = [*self.columns, *([self.order_column] if self.order_column is not None else [])]
        # the Categoricals' codes stay in their pieces (packed) until each column is made, at the end
        coded = [p[3] for p in self._pieces]
        texts = [p[4] for p in self._pieces]
        places = [p[5] for p in self._pieces]
        table = pa.concat_tables([table_of(p[2]) for p in self._pieces], promote_options="permissive")
        self._pieces, self._plain_bytes = [], 0
        if self.order_column is not None:
            table = table.append_column(self.order_column, pa.array(
                np.concatenate([place_of(place) for place in places])))
        for name in self.texts:  # a column at a time, its pieces freed as it is made
            col = _text_column([piece.pop(name) for piece in texts], self._types.get(name))
            table = table.append_column(pa.field(name, col.type), col)
            if table.num_rows >= GIVE_BACK_ROWS:
                heap.give_back()  # (the column's pieces and temporaries, before the next column is made)
        for name, typ in self._types.items():  # a column no batch's rows had a value in; one held narrow
            if name not in table.column_names:
                table = table.append_column(pa.field(name, typ), _nulls(table.num_rows, typ))
            elif table.schema.field(name).type != typ and pa.types.is_integer(table.schema.field(name).type):
                i = table.schema.get_field_index(name)
                table = table.set_column(i, pa.field(name, typ), table.column(i).cast(typ))
        table = table.select([c for c in names if c in table.column_names])
        # one chunk per column, a column at a time (its pieces freed as it is copied): a take from a
        # column of many chunks (every row selection the report makes) concatenates them first,
        # a copy of the column per selection (measured: +100 MiB in a 3M-line report's sections)
        for i in range(table.num_columns):
            if table.column(i).num_chunks > 1:
                table = table.set_column(i, table.field(i), table.column(i).combine_chunks())
                if table.num_rows >= TRIM_ROWS:
                    heap.trim()  # the column's pieces, before the next column is copied
        if order is not None:
            table = table.take(order)
        if not self.categorical:
            return to_pandas(table)
        df = table.to_pandas(types_mapper=lambda t: None if pa.types.is_dictionary(t) else pd.ArrowDtype(t),
                             self_destruct=True)
        # every column's categories and recoding before any column is made: the values seen let go
        # of first, the categories made again as fresh strings (fold_categories)
        sorted_values = {name: sorted_categories(self._values.pop(name)) for name in self.categorical}
        self._values = {c: {} for c in self.categorical}
        for name in self.categorical:
            categories, new = sorted_values.pop(name)
            # a column's codes unpacked and joined only as it is made, its pieces' codes dropped: one
            # column's at a time beside the table, not every column's (the week's end at 7x3M lines)
            codes = np.concatenate([unpack_codes(part.pop(name)) for part in coded])
            if order is not None:
                codes = codes[order]
            codes = new[codes]
            if isinstance(categories, pa.Array):
                categories = categories.to_pylist()
            df[name] = pd.Categorical.from_codes(codes, categories=categories)
            del codes, categories
        return df[names]


#: From this many rows kept on, :meth:`RowsFold.result` gives what each text column's making freed
#: back to the system before the next is made: freed, it stayed in the heap and Arrow's pool, the
#: next columns' bytes came on top (measured at 10M Postfix lines, 412k rows: the rows' result's
#: peak 641 -> ~603 MiB RSS, the end's highest); below it (a 1M-line day's 40k-250k rows) the
#: calls' time on the end's critical path is not paid.
GIVE_BACK_ROWS = 300_000
#: From this many rows kept on, :meth:`RowsFold.result` trims the heap after each column made one
#: chunk; below it (a 1M-line day's 40k-80k rows: a few MiB a column) the ~1 CPU-ms calls and the
#: pages faulted in again after them are not paid on the end's critical path.
TRIM_ROWS = 100_000


def _batch_order(segments: list[list[tuple[int, int, int]]]) -> np.ndarray | None:
    """The rows' order by their batches' (input, first row) where the pieces (in order, each its
    batches' (input, first row, rows kept)) do not give it already (stream batches of one input
    that came out of order), else None."""
    flat = [s for piece in segments for s in piece]
    keys = [s[:2] for s in flat]
    if all(a <= b for a, b in itertools.pairwise(keys)):
        return None
    starts = np.cumsum([0] + [s[2] for s in flat])
    by = sorted(range(len(flat)), key=lambda i: keys[i])
    return np.concatenate([np.arange(starts[i], starts[i + 1], dtype=np.int64) for i in by])


def _nulls(n: int, typ: Any) -> Any:
    """``pa.nulls(n, typ)``; of a fixed-width type (a day's all-null Exim delays), its buffers
    zeroed by the system's allocation (``calloc``: pages not written, so not resident until
    read) rather than written with zeros by Arrow's (measured: 6.3 MiB at 812k rows, held to the
    report's end)."""
    import pyarrow as pa

    width = typ.bit_width if pa.types.is_floating(typ) or pa.types.is_integer(typ) or pa.types.is_temporal(typ) \
        else 0
    if width < 8 or width % 8 or pa.types.is_dictionary(typ):
        return pa.nulls(n, typ)
    valid = pa.py_buffer(np.zeros((n + 7) // 8, dtype=np.uint8))
    return pa.Array.from_buffers(typ, n, [valid, pa.py_buffer(np.zeros(n * (width // 8), dtype=np.uint8))],
                                 null_count=n)


def _text_column(parts: list[tuple[np.ndarray, Any]], typ: Any) -> Any:
    """One Arrow array of a :attr:`RowsFold.texts` column from its pieces ((index, values) of
    each batch, :meth:`RowsFold._held_text`), of type ``typ`` (None: no piece had a value); the
    pieces are emptied as they are read.

    A column of strings is made in place: each row's length read from its piece's values, then
    its bytes copied into one buffer of the column's final size, a piece at a time (not the
    pieces as dictionary arrays, their dictionaries unified, then decoded: two more copies of the
    column at the rows' result, measured +80 MiB over the table made at 10M Exim lines)."""
    import pyarrow as pa

    total = sum(map(held_rows, parts))
    if typ is None:
        return pa.nulls(total)
    large = pa.types.is_large_string(typ) or pa.types.is_large_binary(typ)
    if not (large or pa.types.is_string(typ) or pa.types.is_binary(typ)):
        return _decoded_column(parts, typ)
    ends = np.zeros(total + 1, dtype=np.int64)  # each row's length, then (summed) its end
    valid = np.empty(total, dtype=bool)
    at = 0
    for k, held in enumerate(parts):
        idx, values = unpack(held)  # (a packed piece unpacked here for its lengths, again below for its bytes)
        n = len(idx)
        valid[at:at + n] = idx >= 0
        if values is not None and n:
            values = values if values.type == typ else values.cast(typ)
            if not isinstance(held, Packed):
                parts[k] = (idx, values)
            lens = np.diff(_offsets(values, large))
            got = np.append(lens, 0)[idx]  # (index -1, a null, takes the trailing 0)
            ends[at + 1:at + 1 + n] = got
        at += n
    np.cumsum(ends, out=ends)
    if not large and ends[-1] >= 1 << 31:  # (more than a string array holds: a large one's work)
        return _decoded_column(parts, typ)
    offsets = ends.astype(np.int64 if large else np.int32)
    del ends
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    at = 0
    for k, held in enumerate(parts):
        idx, values = unpack(held)
        n = len(idx)
        parts[k] = held = None  # each piece freed once copied (the list is its only holder)
        if values is not None and n:
            values = values if values.type == typ else values.cast(typ)
            taken = values.take(pa.array(idx, mask=idx < 0))  # the piece's rows' strings, in order
            t_off = _offsets(taken, large)
            lo, hi = int(t_off[0]), int(t_off[-1])
            start = int(offsets[at])
            data[start:start + hi - lo] = np.frombuffer(taken.buffers()[2], dtype=np.uint8)[lo:hi] if hi > lo else 0
            del taken, values
        at += n
    parts.clear()
    nulls = total - int(np.count_nonzero(valid))
    bits = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(typ, total, [bits, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls)


def _offsets(arr: Any, large: bool) -> np.ndarray:
    """The ``len(arr) + 1`` offsets of a string or binary Arrow array (its slice of them)."""
    buf = arr.buffers()[1]
    if buf is None:  # (an empty array may have none)
        return np.zeros(1, dtype=np.int64)
    return np.frombuffer(buf, dtype=np.int64 if large else np.int32)[arr.offset:arr.offset + len(arr) + 1]


def _decoded_column(parts: list[tuple[np.ndarray, Any]], typ: Any) -> Any:
    """:func:`_text_column` of a type other than strings: the pieces as dictionary arrays, one
    dictionary for all, decoded."""
    import pyarrow as pa

    empty = pa.array([], typ)
    chunks = [pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32), mask=idx < 0),
                                             empty if values is None else values.cast(typ))
              for idx, values in map(unpack, parts)]
    parts.clear()
    return pa.chunked_array(chunks, pa.dictionary(pa.int32(), typ)).combine_chunks().dictionary_decode()
