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

__all__ = ["arrow_without_pandas", "join_preload", "lazy_module", "preload_libraries", "refuse_arrow_pandas"]


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


#: the extension modules whose shared libraries :func:`preload_libraries` loads: (package, module
#: file's stem), in the order the command imports them (numpy's core first: pyarrow imports numpy)
PRELOAD = (("numpy", "_core/_multiarray_umath"), ("pyarrow", "lib"), ("pyarrow", "_compute"))
_PRELOADING: list[Any] = []


def preload_libraries() -> None:
    """numpy's and pyarrow's shared libraries (``_multiarray_umath`` with OpenBLAS, ``lib`` with
    libarrow and libarrow_python, ``_compute`` with libarrow_compute: ~90 MB of code) loaded and
    relocated by the dynamic loader on a thread, while the main thread runs the command's first
    Python (its settings, the rules, the zone): the loader's work for them, 15-25 CPU-ms, was the
    main thread's alone at the start of `parse`, where the second core idles. ``dlopen`` releases
    the GIL (ctypes' ``dlopen``); the import of the module later opens the same file, already
    loaded (the same flags as the import's: ``RTLD_NOW``, local), and only runs its init. Nothing
    is imported; a file not found (another layout, another platform) is skipped. Once a process;
    :func:`join_preload` before a fork (a fork while the loader's lock is held would leave it held
    in the child)."""
    if _PRELOADING or any(pkg in sys.modules for pkg, _ in PRELOAD):
        return
    import os
    import threading
    from importlib.machinery import EXTENSION_SUFFIXES

    files = []
    for pkg, stem in PRELOAD:
        try:
            spec = importlib.util.find_spec(pkg)  # (a top-level package: found, not imported)
        except (ImportError, ValueError):
            continue
        for where in (spec.submodule_search_locations or []) if spec is not None else []:
            found = [f for f in (os.path.join(where, stem + sfx) for sfx in EXTENSION_SUFFIXES) if os.path.isfile(f)]
            files.extend(found[:1])
    if not files:
        return

    def load() -> None:
        try:
            import _ctypes  # (ctypes' own dlopen: ctypes' Python part is not needed)

            for f in files:
                _ctypes.dlopen(f, sys.getdlopenflags())
        except Exception:  # only a head start: the imports load what is missing
            pass

    th = threading.Thread(target=load, name="maillens-preload", daemon=True)
    _PRELOADING.append(th)
    th.start()


def join_preload() -> None:
    """Wait for :func:`preload_libraries`' thread, if one was started (before a fork)."""
    for th in _PRELOADING:
        th.join()
