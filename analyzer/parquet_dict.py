"""Column chunks of a Parquet row group encoded by the native core, beside Arrow's writer
(:class:`analyzer.sink_parquet.GroupFiles`).

Arrow's writer spends most of its time per row, not per byte: a nullable column's definition
levels, its dictionary's hashing (bench/RESULTS.md, r21/r22-pout). The event table's
few-valued text columns (event kinds, statuses, stages, programs; the classification's, as
dictionaries already) are written uncompressed, dictionary-encoded, without statistics: their
pages are simple enough to make in Rust (``native/src/pqdict.rs``) in a fraction of the time.
:func:`native_columns` says which columns of a file these are; :func:`chunk` makes one
column's chunk (a dictionary page, PLAIN; one v1 data page, RLE_DICTIONARY with RLE
definition levels: what Arrow writes for them, in the format's spec) and
:func:`assembled` puts a row group's chunks, Arrow's and these, in the schema's order, as one
file's body and footer would hold them. Read back, the columns are the ones Arrow writes.
The other text columns (plain or zstd: ``pqzstd.rs``) and the numbers, times and booleans
(``pqnum.rs``: dictionary or PLAIN pages, with the min/max statistics Arrow gives them; r24)
are made so too, and the integer columns written DELTA_BINARY_PACKED (``pqnum_delta.rs``: line
numbers, Exim's pids, ports and sizes; r28: Arrow's writer was called for them alone, once a
row group). Without the native core (``MAILLENS_ENGINE=python``, not built) Arrow writes every
column.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from . import parquet_footer as footer
from .parquet_footer import _BINARY, _I32, _I64, _LIST, _STRUCT, _TRUE

__all__ = ["DICTIONARY_LIMIT", "Chunk", "Way", "assembled", "chunk", "native_columns"]

#: Bytes of a dictionary page past which Arrow's writer gives up the dictionary (its
#: ``dictionary_pagesize_limit``): a column whose words pass it is left to Arrow.
DICTIONARY_LIMIT = 1 << 20
# parquet.thrift's enums
_BYTE_ARRAY, _PLAIN, _RLE, _DELTA, _RLE_DICTIONARY, _DATA_PAGE, _DICTIONARY_PAGE, _UNCOMPRESSED, _ZSTD = 6, 0, 3, 5, 8, 0, 2, 0, 6
# Arrow's defaults: zstd's level, a data page's bytes and rows
_ZSTD_DEFAULT, _PAGE_BYTES, _PAGE_ROWS = 1, 1 << 20, 20_000
_CODES = pa.dictionary(pa.int32(), pa.string())
# parquet.thrift's physical types of the native core's kinds (analyzer.parquet_dict._kind)
_PHYSICAL = {"bool": 0, "int16": 1, "int32": 1, "int64": 2, "double": 5}


def _native() -> Any:
    from . import native

    if native.engine() != "native":
        return None
    mod = native._module()[0]
    # (a core built before the number chunks has the text ones only: Arrow writes all then)
    return mod if hasattr(mod, "parquet_dict_codes") and hasattr(mod, "parquet_numbers") else None


def _delta_pages(mod: Any) -> bool:
    """Whether the native core makes DELTA_BINARY_PACKED pages (a core built before r28 does not)."""
    return "delta" in (getattr(mod.parquet_numbers, "__text_signature__", None) or "")


def native_columns(schema: pa.Schema, options: dict[str, Any]) -> dict[str, Way]:
    """The columns of ``schema`` whose chunks :func:`chunk` makes under the ``ParquetWriter``
    ``options`` (:func:`analyzer.sinks.parquet_options`), each with its :class:`Way`: nullable
    text or dictionaries of text, dictionary-encoded (text also plain), uncompressed or zstd,
    without statistics nor an encoding of their own, v1 pages; none without the native core."""
    mod = _native()
    if mod is None:
        return {}
    opt = dict(options)
    deltas = _delta_pages(mod)

    def per(key: str, name: str, default: Any) -> Any:
        v = opt.get(key, default)
        return v.get(name, default) if isinstance(v, dict) else (name in v) if isinstance(v, list) else v

    out = {}
    for f in schema:
        dictionary, codec = per("use_dictionary", f.name, True), str(per("compression", f.name, "snappy")).lower()
        kind = _kind(f.type, opt)
        stats = per("write_statistics", f.name, True)
        encoding = per("column_encoding", f.name, None)
        delta = (encoding == "DELTA_BINARY_PACKED" and deltas and dictionary is False
                 and kind in ("int16", "int32", "int64") and pa.types.is_integer(f.type))
        if (f.nullable and (f.type == pa.string() or (f.type == _CODES and dictionary is True) or kind)
                and dictionary in (True, False) and codec in ("none", "zstd") and stats in (True, False)
                and (kind or stats is False) and (encoding is None or delta)
                and opt.get("data_page_version", "1.0") == "1.0"):
            level = per("compression_level", f.name, None)
            out[f.name] = Way(dictionary and kind != "bool", None if codec == "none" else _ZSTD_DEFAULT if level is None else int(level),
                              int(opt.get("data_page_size") or _PAGE_BYTES), int(opt.get("max_rows_per_page") or _PAGE_ROWS),
                              stats, kind, delta)
    return out


def _kind(t: pa.DataType, options: dict[str, Any]) -> str:
    """The native core's name of a number, time or boolean type whose values Arrow's writer
    writes as they are ('' for any other: text, or a time it would convert)."""
    if t in (pa.int16(), pa.int32(), pa.int64(), pa.float64(), pa.bool_()):
        return "double" if t == pa.float64() else str(t)
    converts = options.get("coerce_timestamps") or options.get("use_deprecated_int96_timestamps")
    return "int64" if pa.types.is_timestamp(t) and t.unit == "us" and not converts else ""


class Way(NamedTuple):
    """How a column's chunks are made: dictionary-encoded or plain; the zstd level (None:
    uncompressed); a plain page's bytes and rows (Arrow's ``data_page_size``, ``max_rows_per_page``)."""

    dictionary: bool
    level: int | None
    page_bytes: int = _PAGE_BYTES
    page_rows: int = _PAGE_ROWS
    stats: bool = False  # min/max and nulls in the chunk's metadata (numbers, times, booleans)
    kind: str = ""  # the values' type for the native core (:func:`_kind`); '' text
    delta: bool = False  # integers as DELTA_BINARY_PACKED pages (not dictionary-encoded)


class Chunk:
    """A column chunk made here: its bytes (``pieces``, written one after the other: each page's
    header and body, a dictionary page first, if it has one; ``length`` of them), and its
    ``ColumnMetaData`` once placed (:meth:`meta`)."""

    def __init__(self, name: str, pieces: list[bytes], dict_size: int, size: int, way: Way, page_stats: list,
                 rows: int, nulls: int, text_bytes: int | None, minmax: tuple[bytes, bytes] | None = None) -> None:
        self.name = name
        self.minmax = minmax  # (numbers, times, booleans: PLAIN bytes; None: no value counts)
        self.pieces = pieces  # (not joined: one copy less of the file's bytes)
        self.length = sum(map(len, pieces))
        self.dict_size = dict_size  # (0: no dictionary page)
        self.size = size  # (uncompressed, headers included)
        self.way, self.page_stats = way, page_stats
        self.rows, self.nulls, self.text_bytes = rows, nulls, text_bytes

    def meta(self, at: int) -> list:
        """The ``ColumnChunk`` struct (as :func:`analyzer.parquet_footer.decode` gives one) of
        this chunk written at offset ``at``: the fields Arrow's writer sets for such a chunk."""
        sizes = [*([[1, _I64, self.text_bytes]] if self.text_bytes is not None else []), [2, _LIST, (_I64, [])],
                 [3, _LIST, (_I64, [self.nulls, self.rows - self.nulls])]]
        encodings = [_PLAIN, _RLE, _RLE_DICTIONARY] if self.way.dictionary else [_RLE, _DELTA if self.way.delta else _PLAIN]
        meta = [[1, _I32, _PHYSICAL.get(self.way.kind, _BYTE_ARRAY)], [2, _LIST, (_I32, encodings)],
                [3, _LIST, (_BINARY, [self.name.encode()])],
                [4, _I32, _UNCOMPRESSED if self.way.level is None else _ZSTD], [5, _I64, self.rows],
                [6, _I64, self.size], [7, _I64, self.length], [9, _I64, at + self.dict_size],
                *([[11, _I64, at]] if self.dict_size else []), *([[12, _STRUCT, self._statistics()]] if self.way.stats else []),
                [13, _LIST, (_STRUCT, self.page_stats)], [16, _STRUCT, sizes]]
        return [[2, _I64, 0], [3, _STRUCT, meta]]

    def _statistics(self) -> list:
        """The ``Statistics`` struct Arrow's writer gives such a chunk: min and max (in the
        deprecated fields too, as their sort order is signed), nulls, both exact."""
        if self.minmax is None:
            return [[3, _I64, self.nulls]]
        lo, hi = self.minmax
        return [[1, _BINARY, hi], [2, _BINARY, lo], [3, _I64, self.nulls], [5, _BINARY, hi], [6, _BINARY, lo],
                [7, _TRUE, _TRUE], [8, _TRUE, _TRUE]]


def _page(kind: int, body: bytes, size: int, head: bytes) -> tuple[list[bytes], int]:
    """A page: its ``PageHeader`` and ``body`` (``size`` bytes before compression), and its size
    so (the header's and ``size``); ``head``: the header's struct of its kind (:func:`_data_head`,
    :func:`_dict_head`). The header is what :func:`analyzer.parquet_footer.encode` makes of it
    (its three sizes, then that struct), written here without the generic encoder: a day's
    ~1,400 pages took it ~13 µs each."""
    head_bytes = b"".join((b"\x15", _zz(kind), b"\x15", _zz(size), b"\x15", _zz(len(body)), head))
    return [head_bytes, body], len(head_bytes) + size


def _zz(v: int) -> bytes:
    """``v`` (≥ 0) as Thrift's compact protocol writes an i32: zigzag, then a varint."""
    v <<= 1
    if v < 0x80:
        return _SMALL[v]
    out = bytearray()
    footer._put_varint(out, v)
    return bytes(out)


_SMALL = [bytes((v,)) for v in range(0x80)]


def _data_head(rows: int, encoding: int) -> bytes:
    """A ``PageHeader``'s field 5 (``DataPageHeader``: rows, encoding, RLE levels, empty
    statistics) and the header's end."""
    return b"".join((b"\x2c\x15", _zz(rows), b"\x15", _zz(encoding), b"\x15\x06\x15\x06\x1c\x00\x00\x00"))


def _dict_head(count: int) -> bytes:
    """A ``PageHeader``'s field 7 (``DictionaryPageHeader``: words, PLAIN, not sorted) and the header's end."""
    return b"".join((b"\x4c\x15", _zz(count), b"\x15\x00\x12\x00\x00"))


def _valid(arr: pa.Array) -> tuple[Any, int] | None:
    return (arr.buffers()[0], arr.offset) if arr.null_count else None


def _texts(col: pa.ChunkedArray) -> list:
    return [(len(a), _valid(a), a.buffers()[1], a.offset, a.buffers()[2] or b"") for a in col.chunks]


def chunk(name: str, col: pa.ChunkedArray, way: Way = Way(True, None), mod: Any = None) -> Chunk | None:
    """Column ``name``'s chunk of a row group (``col``: text, or dictionaries of text sharing
    one dictionary) made the :class:`Way` given, or None where Arrow is to write it (a
    dictionary past :data:`DICTIONARY_LIMIT`, chunks with dictionaries of their own, no rows).
    ``mod``: the native core (looked up when not given: :class:`analyzer.sink_parquet.GroupFiles` gives it)."""
    mod = _native() if mod is None else mod
    if mod is None or not len(col):
        return None
    if way.kind:
        return _numbers(mod, name, col, way)
    if not way.dictionary:
        if col.type != pa.string():
            return None
        got, nulls, text_bytes = mod.parquet_plain_texts(_texts(col), way.page_rows, way.page_bytes, way.level)
        pages = [_page(_DATA_PAGE, body, size, _data_head(rows, _PLAIN)) for body, size, rows in got]
        stats = [[[1, _I32, _DATA_PAGE], [2, _I32, _PLAIN], [3, _I32, len(pages)]]]
        return Chunk(name, [b for p, _ in pages for b in p], 0, sum(n for _, n in pages), way, stats, len(col), nulls, text_bytes)
    if col.type == pa.string():
        got = mod.parquet_dict_texts(_texts(col), DICTIONARY_LIMIT, way.level)
        if got is None:
            return None
    elif col.type == _CODES:
        words = col.chunk(0).dictionary
        if words.null_count or any(not a.dictionary.equals(words) for a in col.chunks[1:]):
            return None
        if (pc.sum(pc.binary_length(words)).as_py() or 0) + 4 * len(words) > DICTIONARY_LIMIT:
            return None
        _, w_off, w_data = words.buffers()
        got = mod.parquet_dict_codes([(len(a), _valid(a), a.buffers()[1], a.offset) for a in col.chunks],
                                     (w_off, words.offset, w_data or b""), len(words), way.level)
    else:
        return None
    dict_body, dict_size, count, data_body, data_size, rows, nulls, text_bytes = got
    dict_page, dict_all = _page(_DICTIONARY_PAGE, dict_body, dict_size, _dict_head(count))
    data_page, data_all = _page(_DATA_PAGE, data_body, data_size, _data_head(rows, _RLE_DICTIONARY))
    stats = [[[1, _I32, _DICTIONARY_PAGE], [2, _I32, _PLAIN], [3, _I32, 1]],
             [[1, _I32, _DATA_PAGE], [2, _I32, _RLE_DICTIONARY], [3, _I32, 1]]]
    return Chunk(name, [*dict_page, *data_page], sum(map(len, dict_page)), dict_all + data_all, way, stats, rows, nulls, text_bytes)


def _numbers(mod: Any, name: str, col: pa.ChunkedArray, way: Way) -> Chunk | None:
    """:func:`chunk` of numbers, times or booleans (``way.kind``): with the statistics Arrow's writer gives."""
    arrays = [(len(a), _valid(a), a.buffers()[1], a.offset) for a in col.chunks]
    # (``delta`` passed only when asked: a core built before r28 has no such argument; a delta
    # column's way is never dictionary-encoded, see native_columns)
    got = mod.parquet_numbers(way.kind, arrays, way.dictionary, DICTIONARY_LIMIT, way.page_rows, way.page_bytes,
                              way.level, **({"delta": True} if way.delta else {}))
    if got is None:
        return None
    dict_page, data, nulls, minmax = got
    encoding = _RLE_DICTIONARY if dict_page else _DELTA if way.delta else _PLAIN
    pages = [_page(_DATA_PAGE, body, size, _data_head(rows, encoding)) for body, size, rows in data]
    stats = [[[1, _I32, _DATA_PAGE], [2, _I32, encoding], [3, _I32, len(pages)]]]
    dict_size = 0
    if dict_page is not None:
        body, size, count = dict_page
        pages.insert(0, _page(_DICTIONARY_PAGE, body, size, _dict_head(count)))
        stats.insert(0, [[1, _I32, _DICTIONARY_PAGE], [2, _I32, _PLAIN], [3, _I32, 1]])
        dict_size = sum(map(len, pages[0][0]))
    return Chunk(name, [b for p, _ in pages for b in p], dict_size, sum(n for _, n in pages), way, stats, len(col), nulls, None,
                 minmax if way.stats else None)


def _start(chunk_meta: list) -> tuple[int, int]:
    """Where an Arrow-written column chunk's bytes start in its file, and how many they are."""
    meta = footer._field(chunk_meta, 3)[2]
    at = footer._field(meta, 9)[2]
    got = footer._field(meta, 11)
    if got is not None and 0 < got[2] < at:
        at = got[2]
    return at, footer._field(meta, 7)[2]


def assembled(names: list[str], template: list, rows: int, chunks: dict[str, Chunk],
              body: memoryview | None, meta: list | None) -> tuple[list, list]:
    """One row group of ``rows`` rows as a file of the columns ``names`` would hold it: its body
    (every column's chunk in that order, from the first byte after the magic: the pieces to
    write one after the other) and its footer
    (``template``: the footer of the whole schema with no row group; decoded). ``chunks``: the
    columns made here; ``body`` and ``meta``: the file Arrow wrote of the others (in the same
    order), or None when there are none."""
    theirs: list = []
    if meta is not None:
        group = footer._field(meta, footer._FILE_GROUPS)[2][1][0]
        theirs = footer._field(group, 1)[2][1]
    pieces, columns, at, k = [], [], len(footer.MAGIC), 0
    total = 0
    for name in names:
        got = chunks.get(name)
        if got is not None:
            columns.append(got.meta(at))
            pieces.extend(got.pieces)
            at += got.length
        else:
            start, size = _start(theirs[k])
            columns.append(footer._moved_chunk(theirs[k], at - start))
            pieces.append(body[start - len(footer.MAGIC): start - len(footer.MAGIC) + size])
            at += size
            k += 1
        total += footer._field(footer._field(columns[-1], 3)[2], 6)[2]
    if k != len(theirs):
        raise footer.FooterError("Arrow's file has columns not asked for")
    group = [[1, _LIST, (_STRUCT, columns)], [2, _I64, total], [3, _I64, rows], [5, _I64, len(footer.MAGIC)],
             [6, _I64, at - len(footer.MAGIC)]]
    fields = [f if f[0] != footer._FILE_GROUPS else [f[0], f[1], (_STRUCT, [group])] for f in template]
    if footer._field(fields, footer._FILE_GROUPS) is None:
        fields = sorted([*fields, [footer._FILE_GROUPS, _LIST, (_STRUCT, [group])]], key=lambda f: f[0])
    fields = [f if f[0] != footer._FILE_ROWS else [f[0], f[1], rows] for f in fields]
    return pieces, fields
