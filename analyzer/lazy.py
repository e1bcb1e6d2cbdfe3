"""Heavy modules imported when first used, not when a module that may use them is imported.

``pd = lazy_module("pandas")`` gives an object whose attributes are pandas' (``pd.DataFrame``,
``pd.factorize`` ...), importing pandas at the first attribute asked for (~0.4 s, a third of
``maillens parse``'s start-up): ``parse`` and ``parse -o`` import it only if something reads a
frame (the classification of new keys does; the parsers, the workers and the Parquet writer do
not), and ``--help``, ``version`` and ``explain`` never do. Annotations naming ``pd.DataFrame``
cost nothing (every module here has ``from __future__ import annotations``).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = ["lazy_module"]


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
