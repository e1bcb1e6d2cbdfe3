"""The event columns the Parquet and JSON lines writers take as dictionaries (:mod:`analyzer.sinks`).

A few text columns hold one value for a whole file: ``source`` (the file's name, ~40 bytes a
row), ``host`` (the server's name; null in Exim's logs), ``mta``, and Exim's ``program``. Written
as text, the Parquet writer hashes every row's value to find its dictionary code, and the JSON
lines renderer does the same to render each value once. Such a column is handed over as a
dictionary (:func:`coded`) when it holds one value (:func:`one_valued`: checked by comparing
bytes, no hash): the Parquet writer decides from the first batch (a later chunk of other values,
the next file of a rotated set, is dictionary-encoded by Arrow: what the writer would have
done), the JSON lines renderer batch by batch. The Parquet file is written from the codes with
the key/value metadata the plain schema stores (:func:`stored_metadata`): read back, the
columns are text, as written before (bench/RESULTS.md, r16-pout).

The classification's columns (reply_class, outcome, cause ...: a few words each) are made by the
classifier from codes per row (:class:`analyzer.class_codes.RowCodes`); where it keeps them for
the writer (``codes_beside``), they are handed over as dictionaries of those words
(:func:`class_dictionaries`): no hash of a million strings to find codes the classifier had
(bench/RESULTS.md, r19-pout). For ``parse -o`` the classifier makes no strings at all: it hands
the dictionaries themselves (``as_dictionaries``, :meth:`analyzer.class_codes.RowCodes.dictionaries`),
which the writer takes as they are (:func:`class_text_schema`: the file's schema has them as
text; r20-pout). Read back, they are text too.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ONE_VALUED", "class_dictionaries", "class_text_schema", "coded", "coded_schema", "dictionary_columns", "one_value", "one_valued",
           "stored_metadata"]

#: Text columns that hold one value per file (per block of it) in the logs maillens reads.
ONE_VALUED = ("source", "host", "mta", "program")
_CODE = pa.int32()  # (the index type Arrow's dictionary_encode gives)


def one_valued(table: pa.Table) -> tuple[str, ...]:
    """The :data:`ONE_VALUED` text columns of ``table`` whose every chunk holds one value (or
    none: all null)."""
    return tuple(f.name for f in table.schema if f.name in ONE_VALUED and f.type == pa.string()
                 and all(one_value(c) is not None for c in table.column(f.name).chunks))


def dictionary_columns(table: pa.Table) -> tuple[str, ...]:
    """The columns of ``table`` that are dictionaries of text."""
    return tuple(f.name for f in table.schema if pa.types.is_dictionary(f.type) and f.type.value_type == pa.string())


def class_dictionaries(table: pa.Table, codes: Any, words: dict[tuple, pa.Array] | None = None) -> pa.Table:
    """``table`` with its classification columns (text) as dictionaries of the words ``codes``
    names (a :class:`analyzer.class_codes.RowCodes` of these rows, in this order: row ``i`` of
    column ``j`` is ``codes.words[j][codes.codes[j][i]]``, code 0 null), the strings they were
    made of; ``table`` as it is where the codes do not fit it. ``words``: the dictionaries made
    so far, by their words: batches with the same words share one (a row group's chunks then
    need no unification)."""
    from .class_codes import CLASS_NAMES, dictionary_array

    if codes is None or len(codes) != table.num_rows or not table.num_rows:
        return table
    words = {} if words is None else words
    for j, name in enumerate(CLASS_NAMES):
        i = table.schema.get_field_index(name)
        if i < 0 or table.schema.field(i).type != pa.string():
            continue
        col = dictionary_array(codes.codes[j], codes.words[j], words)
        table = table.set_column(i, table.schema.field(i).with_type(col.type), col)
    return table


def class_text_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with the classification's columns that are dictionaries of text as text
    (:meth:`analyzer.class_codes.RowCodes.dictionaries`, what the classifier hands the Parquet
    writer); ``schema`` itself when it has none."""
    from .class_codes import CLASS_NAMES

    for name in CLASS_NAMES:
        i = schema.get_field_index(name)
        if i >= 0 and pa.types.is_dictionary(schema.field(i).type):
            schema = schema.set(i, schema.field(i).with_type(schema.field(i).type.value_type))
    return schema


def coded_schema(schema: pa.Schema, names: tuple[str, ...]) -> pa.Schema:
    """``schema`` with its text columns ``names`` as dictionaries of text."""
    for i, f in enumerate(schema):
        if f.name in names and f.type == pa.string():
            schema = schema.set(i, f.with_type(pa.dictionary(_CODE, pa.string())))
    return schema


def coded(table: pa.Table, names: tuple[str, ...]) -> pa.Table:
    """``table`` with its text columns ``names`` as dictionaries: a chunk of one value without a
    hash (:func:`one_value`), any other dictionary-encoded by Arrow."""
    typ = pa.dictionary(_CODE, pa.string())
    for i, f in enumerate(table.schema):
        if f.name in names and f.type == pa.string():
            chunks = [_chunk_codes(c) for c in table.column(i).chunks]
            table = table.set_column(i, f.with_type(typ), pa.chunked_array(chunks, typ))
    return table


def _chunk_codes(col: pa.Array) -> pa.DictionaryArray:
    got = one_value(col)
    return got if got is not None else pc.dictionary_encode(col)


def one_value(col: pa.Array) -> pa.DictionaryArray | None:
    """``col`` (text) as a dictionary of its one value, when every row holds the same value (or
    every row is null); else None. Compares the rows' lengths and bytes with the first row's."""
    n = len(col)
    if n == 0:
        return None
    if col.null_count == n:
        return pa.DictionaryArray.from_arrays(pa.nulls(n, _CODE), pa.array([], pa.string()))
    if col.null_count:
        return None
    _, offsets, data = col.buffers()
    off = np.frombuffer(offsets, np.int32, n + 1, col.offset * 4)
    width = int(off[1] - off[0])
    if not (np.diff(off) == width).all():
        return None
    # every row the first's bytes: the text equals itself shifted by one row (memcmp, no copy)
    rest = (n - 1) * width
    if rest and not data.slice(int(off[0]) + width, rest).equals(data.slice(int(off[0]), rest)):
        return None
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), col.slice(0, 1))


def stored_metadata(plain: pa.Schema) -> dict[bytes, bytes]:
    """The key/value metadata pyarrow's ``store_schema`` writes for ``plain`` (its own metadata,
    pandas', and ``ARROW:schema``: base64 of the serialized schema), for a file written from
    :func:`coded_schema`'s columns without it: read back, its columns have ``plain``'s types."""
    meta = dict(plain.metadata or {})
    meta[b"ARROW:schema"] = base64.b64encode(plain.serialize().to_pybytes())
    return meta
