"""Text from logs and file names made safe for a terminal.

Log lines and file names are untrusted: an ESC byte in a HELO name or a file name must not reach a
terminal, where it could recolour, retitle or rewrite the screen. Every text that came from a log
or a file name passes through :func:`printable` (or a vectorised twin) before it is printed:
control characters (C0 but tab, DEL, C1) and the bidirectional overrides that reorder a line
(U+202A–U+202E, U+2066–U+2069) become ``?``. Newlines are kept only where the caller asks.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported in the functions that need them: the CLI starts without pandas/pyarrow
    import pandas as pd
    import pyarrow as pa

__all__ = ["is_text", "json_safe", "printable", "printable_array", "printable_frame"]

_BIDI = "\u202a-\u202e\u2066-\u2069"
#: One character class, so matching is linear whatever the text.
_CONTROL = re.compile(f"[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f{_BIDI}]")
_CONTROL_KEEP_NL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}]")
#: The same for RE2 (pyarrow.compute); single-line.
_CONTROL_RE2 = f"[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x{{9f}}{_BIDI}]"
#: Characters JSON leaves raw but a terminal may act on (JSON already escapes C0).
_JSON_RAW = re.compile(f"[\\x7f-\\x9f{_BIDI}]")


def is_text(s: pd.Series) -> bool:
    """Whether a column holds text (object, string, Arrow string or categorical)."""
    import pandas as pd

    return isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(s.dtype)


def printable(text: Any, *, newlines: bool = False) -> str:
    """``text`` (any object, ``None`` → ``''``) with control characters shown as ``?``.

    With ``newlines=True`` line breaks (``\\n``) are kept; otherwise they become ``?`` too, so one
    untrusted value cannot forge a second line of output.
    """
    s = "" if text is None else str(text)
    return (_CONTROL_KEEP_NL if newlines else _CONTROL).sub("?", s)


def printable_array(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """:func:`printable` over a pyarrow text array (RE2, vectorised); other arrays unchanged."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return arr
    return pc.replace_substring_regex(arr, _CONTROL_RE2, "?")


def printable_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text columns are :func:`printable`."""
    import pandas as pd
    import pyarrow as pa

    out = df.copy()
    for col in out.columns:
        s = out[col]
        if is_text(s):
            arr = pa.array(s.astype("string[pyarrow]"), type=pa.large_string(), from_pandas=True)
            out[col] = pd.Series(printable_array(arr), index=s.index, dtype="string[pyarrow]")
    return out


def json_safe(text: str) -> str:
    """Serialised JSON with DEL, C1 and bidi characters written as ``\\uXXXX`` (still the same JSON)."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
