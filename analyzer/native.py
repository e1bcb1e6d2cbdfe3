"""Which parsing engine runs: the native core (``analyzer._native``, Rust) or pure Python.

The pattern tables in :mod:`analyzer.parsers` are the specification; the native core runs the
same tables (passed in here at start, rewritten from RE2 to the Rust regex dialect) and is held
equal to the Python engine by differential tests (``tests/test_native_*.py``). It is optional:
an install without a Rust toolchain has only the Python engine.

On top of matching, the core reads the most frequent Postfix lines into finished event rows
(:func:`fast_postfix`, used by :func:`analyzer.parsers.split_batch`): hand-read twins of the
table's patterns of the same names plus the derivations of ``parsers/fields.py``, each used only
while its pattern is in the table verbatim; ``MAILLENS_FAST=0`` turns that off.

``MAILLENS_ENGINE`` chooses: ``auto`` (default: native when built), ``python``, or ``native``
(an error if it is not built). :func:`engine` names the engine in use; :func:`matcher` gives the
native matcher of a pattern list, or None when the Python engine runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = ["EngineError", "available", "class_keys", "engine", "engine_choice", "fast_postfix", "fold_postfix", "foreign", "masker",
           "matcher", "string_column", "unavailable_reason"]

ENV = "MAILLENS_ENGINE"
#: threads the native core splits one batch over (the GIL is released while it matches)
THREADS = max(1, min(4, os.cpu_count() or 1))
#: a thread that parses one block of several side by side (:mod:`analyzer.parallel_threads`)
#: sets ``ONE_THREAD.on``: its native calls then take one thread, as a worker process's do
ONE_THREAD = threading.local()


class EngineError(RuntimeError):
    hint = "unset MAILLENS_ENGINE, or build the native engine: pip install . with cargo on PATH"


@lru_cache(maxsize=1)
def _module() -> tuple[Any, str | None]:
    try:
        from . import _native  # type: ignore[attr-defined]
    except ImportError:
        return None, "the native engine (analyzer._native) is not built: no Rust toolchain when maillens was installed"
    return _native, None


def available() -> bool:
    """Whether the native core is built and importable."""
    return _module()[0] is not None


def unavailable_reason() -> str | None:
    return _module()[1]


def engine_choice() -> str:
    """What ``MAILLENS_ENGINE`` asks for: auto, native or python."""
    return os.environ.get(ENV, "auto").strip().lower() or "auto"


def engine() -> str:
    """'native' or 'python': the engine the parsers use now (read from the environment each call)."""
    choice = engine_choice()
    if choice == "python":
        return "python"
    if choice not in ("auto", "native"):
        raise EngineError(f"{ENV}={choice!r}: expected auto, native or python")
    if available():
        return "native"
    if choice == "native":
        raise EngineError(f"{ENV}=native but {unavailable_reason()}")
    return "python"


class Matcher:
    """A pattern list compiled by the native core; :meth:`run` is the native twin of the
    capture step of :func:`analyzer.parsers.engine.match_patterns` (and of the header split)."""

    def __init__(self, regexes: Sequence[str], daemons: Sequence[frozenset[str] | None]) -> None:
        mod = _module()[0]
        self._engine = mod.Engine(list(regexes), [None if d is None else sorted(d) for d in daemons])
        self.names: list[str] = self._engine.names
        # each pattern's group names in the order its regex has them (the order RE2 gives)
        import re

        self.groups = [re.findall(r"\(\?P<(\w+)>", r) for r in regexes]

    def run(self, msgs: Any, keys: Any = None) -> tuple[Any, Any, dict[str, Any]]:
        """(rows int64, pattern int32, {group: string column}) for the rows some pattern took, in
        the Python engine's order (by key, then pattern, then row). A group's column is null
        where the row's pattern has no such group and empty where the group took no part."""
        import pyarrow as pa

        offsets, data = _string_buffers(msgs)
        key_bufs = None
        if keys is not None:
            import numpy as np
            import pyarrow.compute as pc

            valid = np.asarray(pc.is_valid(keys).to_numpy(zero_copy_only=False), dtype=np.uint8).tobytes()
            k_off, k_data = _string_buffers(pc.fill_null(keys, "") if keys.null_count else keys)
            key_bufs = (k_off, k_data, valid)
        rows, pats, cols = self._engine.run(offsets, data, key_bufs, THREADS)
        n = len(rows) // 8
        out: dict[str, Any] = {}
        for col, off, dat, validity, nulls in cols:
            out[self.names[col]] = pa.StringArray.from_buffers(
                n, pa.py_buffer(off), pa.py_buffer(dat), pa.py_buffer(validity) if nulls else None, nulls)
        return (pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(rows)]),
                pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(pats)]), out)


    def is_match(self, arr: Any) -> Any:
        """pyarrow's ``match_substring_regex`` for the first pattern (a non-null string array)."""
        import numpy as np
        import pyarrow as pa

        offsets, data = _string_buffers(arr)
        return pa.array(np.frombuffer(self._engine.is_match(offsets, data, THREADS), dtype=np.uint8).astype(bool))


def _string_buffers(arr: Any) -> tuple[bytes, bytes]:
    """The offsets (sliced to the array) and data buffers of a string array, as bytes. Nulls
    read as empty strings."""
    return _string_buffers_of(_plain_strings(arr))


def one_chunk(col: Any) -> Any:
    """A chunked array as one array: its chunk where it has one (not copied: ``combine_chunks``
    copies even a single chunk, ~0.3 ms a 30k-row text column), else the chunks combined."""
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def _plain_strings(arr: Any) -> Any:
    """A string array (one chunk, type string) of ``arr``, nulls as empty strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        arr = one_chunk(arr)
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    return arr


@lru_cache(maxsize=32)
def _compiled(key: tuple[tuple[str, frozenset[str] | None], ...]) -> Matcher:
    return Matcher([r for r, _ in key], [d for _, d in key])


def mask(arr: Any, regex: str) -> Any:
    """``pc.match_substring_regex(arr, regex)`` by the native core, or None when Python runs (or
    the array has nulls, which pyarrow answers with null)."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = one_chunk(arr)
    if arr.null_count or engine() != "native":
        return None
    return _compiled(((regex, None),)).is_match(arr)


def matcher(regexes: Sequence[str], daemons: Sequence[frozenset[str] | None] | None = None) -> Matcher | None:
    """The native matcher of a pattern list (compiled once), or None when Python runs."""
    if engine() != "native":
        return None
    ds = list(daemons) if daemons is not None else [None] * len(regexes)
    return _compiled(tuple(zip(regexes, ds, strict=True)))


# ---- the whole-row fast path for Postfix lines (native/src/batch.rs, postfix.rs, rows.rs) ----

#: the native fold's objects (:func:`_fast_postfix`, :func:`_foreign`, :func:`_masker`) built once,
#: under this lock (:func:`analyzer.early_fold.start` builds them on the main thread): the blocks
#: folded early are taken only where the fold is given the same objects
_BUILD = threading.Lock()


def _once(build: Any) -> Any:
    """``build`` cached (``lru_cache``: ``cache_clear`` as before) and built under :data:`_BUILD`."""
    cached = lru_cache(maxsize=1)(build)

    def get() -> Any:
        with _BUILD:
            return cached()

    get.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    get.__doc__ = build.__doc__
    return get


@_once
def _fast_postfix() -> Any:
    # (the tables without pyarrow: built on analyzer.early_fold's thread while pyarrow is imported)
    from . import line_patterns as lp
    from .postfix_patterns import DAEMON_DIRECTION, PATTERNS, REJECT_ACTIONS

    table = [(p.name, p.regex, p.event, None if p.daemons is None else sorted(p.daemons)) for p in PATTERNS]
    return _module()[0].FastPostfix(
        table, dict(DAEMON_DIRECTION), dict(REJECT_ACTIONS), (lp.CODE, lp.ENH_ANY, lp.STAGE_TEXT, lp.QUEUED_AS),
        [tuple(r) for r in lp.STAGE_RULES], list(lp.MONTHS))


def fast_postfix() -> Any:
    """The native reader of whole Postfix rows (None when the Python engine runs, or when
    ``MAILLENS_FAST=0`` turns the fast path off: the native matcher alone then runs)."""
    if engine() != "native" or os.environ.get("MAILLENS_FAST", "1") == "0":
        return None
    fp = _fast_postfix()
    return fp if fp.enabled else None


def fold_postfix() -> Any:
    """The native summary fold of a block's Postfix lines (``fold_postfix(fast, offsets, data,
    threads)``, native/src/fold.rs), or None where the fast path is off or the build has none."""
    if fast_postfix() is None:
        return None
    return getattr(_module()[0], "fold_postfix", None)


def foreign() -> Any:
    """What a line of another program is, for the Postfix fold (``fold_postfix(..., foreign=)``,
    native/src/fold.rs: such lines are counted there, as ``finish_batch`` counts them): built from
    the Postfix and Exim program patterns and ``EXIM_WRAPPED``. None without the native engine
    or where the build has none (the lines then go to ``finish_batch``)."""
    return _foreign() if engine() == "native" else None


@_once
def _foreign() -> Any:
    from .line_patterns import EXIM_PROGRAM, EXIM_WRAPPED
    from .postfix_patterns import POSTFIX_PROGRAM

    return _built("Foreign", POSTFIX_PROGRAM, EXIM_PROGRAM, EXIM_WRAPPED)


def _built(name: str, *args: Any) -> Any:
    """An object of the native class ``name`` built from ``args``, or None where the build has
    no such class or a pattern cannot be rewritten faithfully (ValueError)."""
    cls = getattr(_module()[0], name, None)
    if cls is None:
        return None
    try:
        return cls(*args)
    except ValueError:
        return None


def masker() -> Any:
    """:func:`analyzer.classify.mask_texts` in Rust (``Masker``, native/src/classkey.rs), built
    from classify's MASK, OPAQUE and DETAIL_IGNORED: the fold computes its groups'
    classification keys with it (``fold_postfix(..., masker=)``). None without the native engine
    or where a pattern cannot be rewritten faithfully (the keys are then computed in Python)."""
    return _masker() if engine() == "native" else None


@_once
def _masker() -> Any:
    from .mask_patterns import DETAIL_IGNORED, MASK, MASKED, OPAQUE

    return _built("Masker", MASK, MASKED, [tuple(p) for p in OPAQUE], list(DETAIL_IGNORED))


def exim_reader() -> Any:
    """The native Exim row reader (``EximReader``, native/src/exim.rs) built from the reply-text
    patterns and Exim's own codes (:mod:`analyzer.line_patterns`, :mod:`analyzer.exim_codes`,
    without pyarrow), or None where the build has none. Whether it may run (the engine, the
    Exim table it was written against) is :func:`analyzer.parsers.exim_fast.reader`'s to say."""
    return _exim_reader()


@_once
def _exim_reader() -> Any:
    from . import exim_codes as ec
    from . import line_patterns as lp

    mod = _module()[0]
    if mod is None or not hasattr(mod, "EximReader"):
        return None
    return mod.EximReader(
        lp.CODE, lp.ENH_ANY, lp.STAGE_TEXT, lp.QUEUED_AS, [(k, v) for k, v in lp.STAGE_RULES],
        list(ec.ACL_DENY_CODES.items()), ec.ACL_DENY_DEFAULT, ec.ACL_DEFER_CODE, list(ec.TEXT_CODES),
        *(ec.FIXED_CODES[f"exim.{k}"] for k in ("dropped", "auth_failed", "sync_error")))


def string_column(n: int, col: tuple) -> Any:
    """An Arrow string array from (offsets, data, validity, nulls) buffers built in Rust."""
    import pyarrow as pa

    offsets, data, validity, nulls = col
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data),
                                       pa.py_buffer(validity) if nulls else None, nulls)


def rows_columns(n: int, cols: list[tuple]) -> dict[str, Any]:
    """Arrow arrays (zero-copy over the bytes Rust built) from :func:`FastPostfix.run`'s columns."""
    import numpy as np
    import pyarrow as pa

    out: dict[str, Any] = {}
    for name, kind, values, data, validity, nulls in cols:
        valid = pa.py_buffer(validity) if nulls else None
        if kind == "string":
            out[name] = pa.StringArray.from_buffers(n, pa.py_buffer(values), pa.py_buffer(data), valid, nulls)
        elif kind == "bool":
            bits = np.packbits(np.frombuffer(values, dtype=np.uint8), bitorder="little")
            out[name] = pa.Array.from_buffers(pa.bool_(), n, [valid, pa.py_buffer(bits.tobytes())], nulls)
        elif kind == "ts":
            from .schema import TS

            out[name] = pa.Array.from_buffers(TS, n, [valid, pa.py_buffer(values)], nulls)
        else:
            out[name] = pa.Array.from_buffers(pa.type_for_alias(kind), n, [valid, pa.py_buffer(values)], nulls)
    return out


def naive_stamps(clock: Any, months: Any, days: Any, secs: Any) -> Any:
    """Yearless header stamps (the native readers' months and days as uint8 bytes, seconds of
    the day as uint32) placed in years by ``clock`` (an :class:`analyzer.parsers.syslog.Clock`,
    its state moved on past them) as int64 microseconds of the local wall clock
    (native/src/syslog.rs ``naive_stamps``, the arithmetic of ``Clock.years`` and
    :func:`analyzer.parsers.classic._utc_stamps`); None without the native function."""
    import numpy as np

    fn = getattr(_module()[0], "naive_stamps", None) if engine() == "native" else None
    if fn is None or len(months) == 0:
        return None
    m0, d0 = np.frombuffer(months, np.uint8, 1), np.frombuffer(days, np.uint8, 1)
    clock.years(m0.astype(np.int64), d0.astype(np.int64))  # the clock placed at the first (its year, and what it records)
    ts, clock._current, clock._prev_month = fn(months, days, secs, clock._current, clock._prev_month)
    return np.frombuffer(ts, np.int64)


def threads() -> int:
    """Threads for one batch: :data:`THREADS` in the main process, one in a worker process or a
    thread that parses one of several blocks (the pipeline already runs one per core)."""
    import multiprocessing

    if multiprocessing.parent_process() is not None or getattr(ONE_THREAD, "on", False):
        return 1
    return THREADS


def hash_strings() -> Any:
    """The native hash of a string column's values (``hash_strings(offsets, data, valid)`` ->
    little-endian uint64 bytes; native/src/hash.rs), or None when the Python engine runs."""
    if engine() != "native":
        return None
    return getattr(_module()[0], "hash_strings", None)


def split_lines() -> Any:
    """The native cutting of a block into lines (``split_lines(data)`` -> (offsets, bytes) or
    None; native/src/lines.rs), or None when the Python engine runs."""
    if engine() != "native":
        return None
    return getattr(_module()[0], "split_lines", None)


def read_lines() -> Any:
    """The native reading of a file's byte range as a block's lines (``read_lines(path, start,
    end)`` -> (offsets, bytes, nul, bytes read) or None; native/src/lines.rs: read in chunks,
    each cut while in cache), or None when the Python engine runs or the core has none."""
    if engine() != "native":
        return None
    read = getattr(_module()[0], "read_lines", None)
    if read is None:
        return None
    from .early_fold import reading

    return reading(read)  # (blocks folded ahead: analyzer.early_fold)


def string_buffers(arr: Any) -> tuple[bytes, bytes]:
    """The offsets and data of a string array (see :func:`_string_buffers`)."""
    return _string_buffers(arr)


#: The string columns :func:`class_keys` hands over, in the native function's order
#: (native/src/classkey_py.rs); with reply_code and quit, :data:`analyzer.class_cache.CLASS_KEY`
#: but the relay host.
_KEY_STRINGS = ("event", "status", "smtp_stage", "mta", "dsn", "enhanced_code", "reply_text", "detail", "direction")


def class_keys(table: Any) -> Any:
    """The classification keys of a table's rows without the relay host (uint64; the texts
    masked as classify masks them, each distinct text once: native/src/classkey.rs), for
    :func:`analyzer.class_cache.folded_key` to mix the relay host's provider in; None when the
    native engine or its masker is not there, or a column is not of the event schema's type."""
    import numpy as np
    import pyarrow as pa

    m, fn = masker(), getattr(_module()[0], "class_keys", None)
    if m is None or fn is None:
        return None
    n = table.num_rows

    def arr(name: str, kind: Any) -> Any:
        col = table.column(name)
        col = one_chunk(col) if isinstance(col, pa.ChunkedArray) else col
        return col if col.type == kind else None

    def valid(a: Any) -> Any:
        bits = a.buffers()[0]
        return (bits.to_pybytes(), a.offset) if a.null_count and bits is not None else None

    strs = []
    for name in _KEY_STRINGS:
        a = arr(name, pa.string())
        if a is None:
            return None
        strs.append((*_string_views_of(a), valid(a)))
    code, quit = arr("reply_code", pa.int16()), arr("quit", pa.bool_())
    if code is None or quit is None:
        return None
    values = code.buffers()[1]
    codes = b"" if values is None else values.to_pybytes()[code.offset * 2:(code.offset + n) * 2]
    qbits = quit.buffers()[1]
    out = fn(m, n, strs, (codes.ljust(2 * n, b"\x00"), valid(code)),
             (b"" if qbits is None else qbits.to_pybytes(), quit.offset, valid(quit)))
    return np.frombuffer(out, dtype=np.uint64)


def string_views(arr: Any) -> tuple[Any, Any]:
    """:func:`string_buffers` without copying: the offsets and data as Arrow buffers (the
    native folds read any buffer, ``ByteView`` in native/src/lib.rs; a block's 4 MiB copied
    once less)."""
    return _string_views_of(_plain_strings(arr))


def _string_views_of(arr: Any) -> tuple[Any, Any]:
    """:func:`_string_buffers_of` without copying: the offsets (sliced to the array) and data as
    Arrow buffers, for a native function that takes any buffer (``ByteView``); of a string or
    large_string array (offsets of 4 or 8 bytes)."""
    import pyarrow as pa

    width = 8 if pa.types.is_large_string(arr.type) else 4
    _, off, data = arr.buffers()
    if off is None:  # an empty array may come without buffers
        return bytes(width * (len(arr) + 1)), b""
    return off.slice(arr.offset * width, (len(arr) + 1) * width), b"" if data is None else data


def _string_buffers_of(arr: Any) -> tuple[bytes, bytes]:
    """The offsets (sliced to the array) and data buffers of a string array, nulls as they are."""
    _, off, data = arr.buffers()
    if off is None:  # an empty array may come without buffers
        return (0).to_bytes(4, "little") * (len(arr) + 1), b""
    o = arr.offset * 4
    return off.to_pybytes()[o:o + (len(arr) + 1) * 4], b"" if data is None else data.to_pybytes()
