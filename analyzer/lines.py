"""A block's bytes as lines: one rule for cutting them (:func:`block_lines`), and the same lines
held as one Arrow array without a Python string per line (:class:`Lines`, :func:`block_array`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["Lines", "block_array", "block_lines"]


def block_lines(data: bytes, *, ends_file: bool = True) -> list[str]:
    """The lines of a block of whole lines (UTF-8, undecodable bytes replaced, CR LF read as LF).

    A block ends after a newline, or at the end of its input (``ends_file``: the last line may
    then lack one; trailing CRs are dropped from it). Every reader cuts lines with this one rule,
    so a block gives the same lines whether it was read sequentially or by a parallel worker."""
    if not data:
        return []
    text = data.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if text.endswith("\n"):
        return text[:-1].split("\n")
    lines = text.split("\n")
    if ends_file:
        lines[-1] = lines[-1].rstrip("\r")
    return lines


class Lines(Sequence[str]):
    """The lines of a block as one Arrow string array, built from the block's bytes without a
    Python string per line (:func:`block_array`). It reads as a list of str (``len``, indexing,
    iteration: the few places that want a line's text, such as samples, make it on demand);
    parsers take ``array`` as it is. ``nul``: whether a line holds a NUL byte; ``nbytes``: the
    bytes the lines came from."""

    __slots__ = ("_list", "array", "nbytes", "nul")

    def __init__(self, array: Any, nbytes: int, nul: bool) -> None:
        self.array = array
        self.nbytes = nbytes
        self.nul = nul
        self._list: list[str] | None = None

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return self.tolist()[i]
        if self._list is not None:
            return self._list[i]
        if not -len(self.array) <= i < len(self.array):
            raise IndexError("line index out of range")
        return self.array[i].as_py()

    def __iter__(self) -> Iterator[str]:
        return iter(self.tolist())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Lines({len(self)} lines)"

    def tolist(self) -> list[str]:
        if self._list is None:
            self._list = self.array.to_pylist()
        return self._list


def block_array(data: bytes, *, ends_file: bool = True) -> Sequence[str]:
    """:func:`block_lines` as :class:`Lines`: the same lines, cut with numpy and wrapped as an
    Arrow array over the block's bytes (newlines taken out). A block that holds a CR or bytes
    that are not UTF-8 takes :func:`block_lines`' way (the same lines, as a list)."""
    import numpy as np
    import pyarrow as pa

    if not data or len(data) >= 1 << 31:
        return block_lines(data, ends_file=ends_file)
    from . import native

    split = native.split_lines()
    if split is not None:  # the native core: one pass, UTF-8, CRs and NULs checked there (None: a CR or not UTF-8)
        got = split(data)
        if got is None:
            return block_lines(data, ends_file=ends_file)
        # its buffers as Rust built them (no copy); an extension built before the NUL flag: two
        offsets, body, nul = got if len(got) == 3 else (*got, b"\x00" in data)
        n = len(offsets) // 4 - 1
        return Lines(pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body)), len(data), nul)
    if b"\r" in data:
        return block_lines(data, ends_file=ends_file)
    buf = np.frombuffer(data, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    n = len(nl) if len(nl) and nl[-1] == len(data) - 1 else len(nl) + 1  # a last line without newline
    starts = np.empty(n + 1, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl[:n] + 1 if n == len(nl) else np.append(nl + 1, len(data) + 1)
    # without the newlines, line i starts i bytes earlier
    offsets = (starts - np.arange(n + 1, dtype=np.int64)).astype(np.int32)
    body = np.delete(buf, nl) if len(nl) else buf
    arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body))
    try:
        arr.validate(full=True)  # UTF-8
    except pa.ArrowInvalid:
        return block_lines(data, ends_file=ends_file)
    return Lines(arr, len(data), b"\x00" in data)
