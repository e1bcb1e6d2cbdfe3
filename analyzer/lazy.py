"""Heavy modules imported when first used, not when a module that may use them is imported.

``pd = lazy_module("pandas")`` gives an object whose attributes are pandas' (``pd.DataFrame``,
``pd.factorize`` ...), importing pandas at the first attribute asked for (~0.3 CPU-s, a third of
``maillens parse``'s start-up): ``parse`` and ``parse -o`` import it only if something reads a
frame (the classifier, the parsers, the workers and the Parquet writer do not), and ``--help``,
``version`` and ``explain`` never do. Annotations naming ``pd.DataFrame`` cost nothing (every
module here has ``from __future__ import annotations``).

pyarrow imports pandas by itself at its first ``pa.array()`` of a Python object (its pandas
shim asks whether the object is a pandas one): :func:`arrow_without_pandas` makes that first
attempt fail, and makes pyarrow see pandas again as soon as anything imports it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

__all__ = ["arrow_without_pandas", "lazy_module", "refuse_arrow_pandas"]


class _Lazy:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        module = sys.modules.get(self._name) or importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"


def lazy_module(name: str) -> Any:
    """``name`` itself if imported already, else a stand-in that imports it on first use."""
    return sys.modules.get(name) or _Lazy(name)


class _Revive:
    """An import hook that, once pandas is imported, tells pyarrow's shim to look again."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "pandas":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader = None if spec is None else spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec

        def exec_and_revive(module: Any) -> None:
            del loader.exec_module  # the class's own again
            loader.exec_module(module)
            _revive()

        loader.exec_module = exec_and_revive  # this one loader only (pandas' __init__)
        return spec


def _revive() -> None:
    """pyarrow's pandas shim, told that pandas is there: its next question imports it again
    (a shim that tried once and failed would otherwise answer 'no pandas' to ``pa.array()``
    for good, and read a pandas Series as a plain sequence)."""
    import pyarrow.lib

    pyarrow.lib._pandas_api.pd  # noqa: B018  (the property that imports pandas, raising on failure)


def arrow_without_pandas() -> None:
    """In a process that may never need pandas (``maillens parse``): pyarrow's own attempt to
    import it (~0.3 CPU-s, at the first ``pa.array()``) is made now and refused; the first
    real import of pandas (a module that reads a frame) then revives pyarrow's pandas support,
    so pyarrow behaves exactly as if pandas had been imported from the start."""
    if "pandas" in sys.modules or any(isinstance(f, _Revive) for f in sys.meta_path):
        return
    refuse_arrow_pandas()
    sys.meta_path.insert(0, _Revive())


class _NoPandas:
    """An import hook that refuses pandas (see :func:`refuse_arrow_pandas`)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas":
            raise ImportError("pandas: refused for pyarrow's shim")


def refuse_arrow_pandas() -> None:
    """pyarrow imports pandas at its first ``pa.array()`` (its pandas shim, to recognise pandas
    objects), ~0.4 CPU-s for nothing in a process that reads no frame. Its one attempt is made
    here and refused; pyarrow remembers there is none. A parsing worker stops here (it never
    reads a frame); :func:`arrow_without_pandas` adds the hook that revives the shim."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    hook = _NoPandas()
    sys.meta_path.insert(0, hook)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(hook)
