"""A Parquet file's footer (its ``FileMetaData``, Thrift's compact protocol) read and written
back, for files made of row groups encoded apart (:mod:`analyzer.sink_parquet`).

Each row group of ``parse -o x.parquet`` is encoded as a Parquet file of its own, on one of a
few threads; the output is their column chunks one after the other and one footer: the first
file's, with every file's row groups, their offsets moved to where their chunks now start. The
footer is decoded generically (field ids and types are on the wire): what is not an offset is
written back as it was read, byte for byte (:func:`encode` of :func:`decode` is the identity).
Files with a page index or bloom filters (absolute offsets outside the footer) are refused.
"""

from __future__ import annotations

import struct
from typing import Any

__all__ = ["MAGIC", "FooterError", "Groups", "decode", "encode", "merged", "moved", "split"]

MAGIC = b"PAR1"
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(13)
# field ids (parquet.thrift): FileMetaData, RowGroup, ColumnChunk, ColumnMetaData
_FILE_ROWS, _FILE_GROUPS = 3, 4
_GROUP_COLUMNS, _GROUP_OFFSET, _GROUP_ORDINAL = 1, 5, 7
_CHUNK_OFFSET, _CHUNK_META, _CHUNK_INDEXES = 2, 3, (4, 5, 6, 7)
_META_OFFSETS, _META_BLOOM = (9, 10, 11), 14


class FooterError(ValueError):
    """A footer this module does not take (not Parquet, encrypted, page index, bloom filters)."""


# A struct is a list of [field id, type, value]; a list or set (elem type, [values]); a map
# (key type, value type, [(key, value)]); a boolean field's value is its type (_TRUE/_FALSE).


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        if b < 0x80:
            return out, pos
        shift += 7


def _value(buf: bytes, pos: int, typ: int) -> tuple[Any, int]:
    if typ in (_I16, _I32, _I64):
        v, pos = _varint(buf, pos)
        return (v >> 1) ^ -(v & 1), pos
    if typ == _BINARY:
        n, pos = _varint(buf, pos)
        return buf[pos: pos + n], pos + n
    if typ == _STRUCT:
        return _struct(buf, pos)
    if typ in (_LIST, _SET):
        head = buf[pos]
        pos += 1
        n, elem = head >> 4, head & 0x0F
        if n == 15:
            n, pos = _varint(buf, pos)
        items = []
        for _ in range(n):
            v, pos = _value(buf, pos, elem)
            items.append(v)
        return (elem, items), pos
    if typ == _MAP:
        n, pos = _varint(buf, pos)
        if not n:
            return (0, 0, []), pos
        kinds = buf[pos]
        pos += 1
        pairs = []
        for _ in range(n):
            k, pos = _value(buf, pos, kinds >> 4)
            v, pos = _value(buf, pos, kinds & 0x0F)
            pairs.append((k, v))
        return (kinds >> 4, kinds & 0x0F, pairs), pos
    if typ in (_BYTE, _TRUE, _FALSE):  # (a byte, or a boolean in a list: its byte as it was)
        return buf[pos], pos + 1
    if typ == _DOUBLE:
        return buf[pos: pos + 8], pos + 8
    raise FooterError(f"Thrift type {typ} at {pos}")


def _struct(buf: bytes, pos: int) -> tuple[list, int]:
    fields: list[list] = []
    fid = 0
    while True:
        head = buf[pos]
        pos += 1
        typ = head & 0x0F
        if typ == _STOP:
            return fields, pos
        if head >> 4:
            fid += head >> 4
        else:
            fid, pos = _value(buf, pos, _I16)
        if typ in (_TRUE, _FALSE):
            fields.append([fid, typ, typ])
        else:
            v, pos = _value(buf, pos, typ)
            fields.append([fid, typ, v])


def _put_varint(out: bytearray, v: int) -> None:
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _put(out: bytearray, typ: int, v: Any) -> None:
    if typ in (_I16, _I32, _I64):
        _put_varint(out, (v << 1) ^ (v >> 63))
    elif typ == _BINARY:
        _put_varint(out, len(v))
        out += v
    elif typ == _STRUCT:
        _put_struct(out, v)
    elif typ in (_LIST, _SET):
        elem, items = v
        _put_list_head(out, len(items), elem)
        for item in items:
            _put(out, elem, item)
    elif typ == _MAP:
        kt, vt, pairs = v
        _put_varint(out, len(pairs))
        if pairs:
            out.append(kt << 4 | vt)
            for k, x in pairs:
                _put(out, kt, k)
                _put(out, vt, x)
    elif typ in (_BYTE, _TRUE, _FALSE):
        out.append(v)
    else:  # _DOUBLE
        out += v


def _put_list_head(out: bytearray, n: int, elem: int) -> None:
    """A list's header: its size and its elements' type."""
    if n < 15:
        out.append(n << 4 | elem)
    else:
        out.append(0xF0 | elem)
        _put_varint(out, n)


def _put_field_head(out: bytearray, fid: int, last: int, typ: int) -> None:
    """A struct field's header: its id (as a delta from the field before, ``last``, where it fits) and type."""
    if 0 < fid - last <= 15:
        out.append((fid - last) << 4 | typ)
    else:
        out.append(typ)
        _put_varint(out, (fid << 1) ^ (fid >> 63))


def _put_struct(out: bytearray, fields: list) -> None:
    last = 0
    for fid, typ, v in fields:
        _put_field_head(out, fid, last, typ)
        last = fid
        if typ not in (_TRUE, _FALSE):
            _put(out, typ, v)
    out.append(_STOP)


def decode(footer: bytes) -> list:
    """The ``FileMetaData`` struct Thrift's compact protocol wrote in ``footer``."""
    try:
        fields, _ = _struct(footer, 0)
    except IndexError as exc:
        raise FooterError("a footer cut short") from exc
    return fields


def encode(fields: list) -> bytes:
    """``fields`` (a struct as :func:`decode` gives it) in Thrift's compact protocol."""
    out = bytearray()
    _put_struct(out, fields)
    return bytes(out)


def split(data: bytes | memoryview) -> tuple[memoryview, list]:
    """A whole Parquet file's bytes: its row groups' bytes (between the magic and the footer)
    and its decoded footer."""
    view = memoryview(data)
    if len(view) < 12 or view[:4] != MAGIC or view[-4:] != MAGIC:
        raise FooterError("not a Parquet file (or an encrypted one)")
    (n,) = struct.unpack("<I", view[-8:-4])
    start = len(view) - 8 - n
    if start < len(MAGIC):
        raise FooterError("a footer longer than the file")
    return view[4:start], decode(bytes(view[start:-8]))


def _field(fields: list, fid: int) -> list | None:
    return next((f for f in fields if f[0] == fid), None)


def _moved(group: list, by: int, ordinal: int) -> list:
    """A RowGroup struct with its offsets ``by`` bytes on and its ordinal set (a copy)."""
    out = []
    for fid, typ, v in group:
        if fid == _GROUP_COLUMNS:
            v = (v[0], [_moved_chunk(c, by) for c in v[1]])
        elif fid == _GROUP_OFFSET and v > 0:
            v += by
        elif fid == _GROUP_ORDINAL:
            v = ordinal
        out.append([fid, typ, v])
    return out


def _moved_chunk(chunk: list, by: int) -> list:
    out = []
    for fid, typ, v in chunk:
        if fid in _CHUNK_INDEXES:
            raise FooterError("a page index (offsets outside the footer)")
        if fid == _CHUNK_OFFSET and v > 0:
            v += by
        elif fid == _CHUNK_META:
            if _field(v, _META_BLOOM) is not None:
                raise FooterError("a bloom filter (offsets outside the footer)")
            v = [[f, t, x + by if f in _META_OFFSETS and x > 0 else x] for f, t, x in v]  # (0: none, an empty chunk's)
        out.append([fid, typ, v])
    return out


class Groups(bytes):
    """Row groups encoded (:func:`moved`), written into a footer as they are."""

    count: int = 0
    rows: int = 0


def moved(meta: list, at: int, ordinal: int = 0) -> Groups:
    """The row groups of the file whose footer is ``meta``, encoded, their offsets moved to
    where the file's row groups now start (``at``: the first one's offset, 4 in the file
    itself), the first one's ordinal (where the footer has them) ``ordinal``."""
    got = _field(meta, _FILE_GROUPS)
    out = bytearray()
    groups = got[2][1] if got is not None else []
    rows = 0
    for i, g in enumerate(groups):
        _put_struct(out, _moved(g, at - len(MAGIC), ordinal + i))
        rows += _field(g, 3)[2]
    done = Groups(out)
    done.count, done.rows = len(groups), rows
    return done


def merged(first: list, parts: list[Groups]) -> bytes:
    """The footer of a file of several files' row groups: ``first`` (a decoded footer: the
    schema, key/value metadata ... of them all) with the row groups ``parts`` (:func:`moved`)
    in order."""
    out = bytearray()
    last = 0
    for fid, typ, v in first:
        _put_field_head(out, fid, last, typ)
        last = fid
        if fid == _FILE_ROWS:
            _put(out, typ, sum(p.rows for p in parts))
        elif fid == _FILE_GROUPS:
            _put_list_head(out, sum(p.count for p in parts), _STRUCT)
            for p in parts:
                out += p
        elif typ not in (_TRUE, _FALSE):
            _put(out, typ, v)
    out.append(_STOP)
    return bytes(out)
