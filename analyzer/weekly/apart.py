"""A read of the whole week whose answer is small, made in a forked child process.

Why: before the weekly folds its days, it reads the week's store twice more for a few small
answers (the deferred messages' queue ids, the (host, source) pairs and whether the line numbers
fit int32). Those reads leave the process larger than they found it (Parquet's metadata and
buffers, Arrow's pools, the heap's pieces pinned by what stays: ~30 MiB RSS at 7x3M Exim lines),
and that stayed under the fold and the detectors, the weekly's peak. A child's leftovers go with
it; its answer comes back through a pipe (a pickle).

Where the system cannot fork (not Linux, ``MAILLENS_WEEKLY_FORK=0``), or the child ends without an
answer, the call runs here instead; an exception it raises in the child is raised here.
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ENV", "call_apart", "forking"]

T = TypeVar("T")
#: ``0`` runs every call in this process (the same answers; for a comparison, or a system that forks badly).
ENV = "MAILLENS_WEEKLY_FORK"
_CHUNK = 1 << 20


def forking() -> bool:
    """Whether :func:`call_apart` forks here: Linux, and not turned off by :data:`ENV`."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and os.environ.get(ENV, "1") != "0"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while len(view):
        view = view[os.write(fd, view[:_CHUNK]):]


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, _CHUNK):
        parts.append(chunk)
    return b"".join(parts)


def call_apart(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` made in a forked child and its value handed back (pickled): for a call whose
    temporaries are large and whose value is small. An exception ``fn`` raises is raised here."""
    if not forking():
        return fn(*args)
    r, w = os.pipe()
    gc.freeze()  # the child's collections do not walk (so do not copy) this process's objects
    try:
        pid = os.fork()
    except OSError:
        gc.unfreeze()
        os.close(r)
        os.close(w)
        return fn(*args)
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(r)
            try:
                data = pickle.dumps((True, fn(*args)), protocol=5)
            except Exception as exc:  # (raised again on this side)
                data = pickle.dumps((False, exc), protocol=5)
            _write_all(w, data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    gc.unfreeze()
    os.close(w)
    try:
        data = _read_all(r)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    try:
        ok, value = pickle.loads(data)
    except Exception:  # (nothing, or a part: the child died) the call is made here
        return fn(*args)
    if not ok:
        raise value
    return value
