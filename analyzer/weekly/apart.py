"""A generator run in a forked child, what it yields handed back through a pipe as it comes: what
it allocates and frees on the way (a day's batches, its fold's temporaries) never lands in this
process's heap.

Why: the weekly folds its days one at a time into tables it then holds under the detectors. Folded
in-process, each day's temporaries interleave with the small blocks that stay (categories, frames,
the folds' own state), and glibc cannot give back a page that one live block pins: at 7x3M Exim
lines the process held ~70 MiB more after the fold than the same tables loaded in a fresh process
(bench/RESULTS.md, r30-wkexim). A child's heap goes with it.

Each value is pickled (protocol 5) with its large buffers (numpy arrays, Arrow buffers) sent out
of band, each read here into a buffer of its own that the unpickled objects use as they are (no
second copy). Every page is in a process of the run's tree all the time (the child's until it
exits, this process's once read): a sampler of the tree's memory sees them.

Where the system cannot fork (not Linux, ``MAILLENS_WEEKLY_FORK=0``), or the child dies before its
first value, the generator runs here instead; an exception it raises in the child is raised here.
"""

from __future__ import annotations

import gc
import os
import pickle
import struct
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["ENV", "call_apart", "forking", "run_apart"]

T = TypeVar("T")
#: ``0`` runs every call in-process (the same results; for a comparison or a system that forks badly).
ENV = "MAILLENS_WEEKLY_FORK"
_HEAD = struct.Struct("<BQQ")  # a value (1), raised (0) or the end (2); the pickle's length, its buffers
_VALUE, _RAISED, _END = 1, 0, 2
_NOTHING = object()
_CHUNK = 1 << 20


def forking() -> bool:
    """Whether :func:`run_apart` forks here: Linux, and not turned off by :data:`ENV`."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and os.environ.get(ENV, "1") != "0"


def _write_all(fd: int, data: Any) -> None:
    view = memoryview(data).cast("B")
    while len(view):
        n = os.write(fd, view[:_CHUNK])
        view = view[n:]


def _read_into(fd: int, buf: bytearray | memoryview) -> None:
    view = memoryview(buf).cast("B")
    got = 0
    while got < len(view):
        n = os.readv(fd, [view[got:got + _CHUNK]])
        if n == 0:
            raise EOFError("the child closed its pipe early")
        got += n


def _send(fd: int, kind: int, value: Any) -> None:
    buffers: list[pickle.PickleBuffer] = []

    def out_of_band(buf: pickle.PickleBuffer) -> bool:
        # a buffer that is not one contiguous run of bytes goes in the pickle (True: in band)
        try:
            buf.raw()
        except BufferError:
            return True
        buffers.append(buf)
        return False

    meta = pickle.dumps(value, protocol=5, buffer_callback=out_of_band)
    raws = [b.raw() for b in buffers]
    _write_all(fd, _HEAD.pack(kind, len(meta), len(raws)))
    if raws:
        _write_all(fd, struct.pack(f"<{len(raws)}Q", *(r.nbytes for r in raws)))
    _write_all(fd, meta)
    del meta
    for r in raws:
        _write_all(fd, r)


def _receive(fd: int) -> tuple[int, Any]:
    head = bytearray(_HEAD.size)
    _read_into(fd, head)
    kind, n_meta, n_bufs = _HEAD.unpack(head)
    sizes = bytearray(8 * n_bufs)
    if n_bufs:
        _read_into(fd, sizes)
    meta = bytearray(n_meta)
    _read_into(fd, meta)
    bufs = []
    for size in struct.unpack(f"<{n_bufs}Q", sizes) if n_bufs else ():
        b = bytearray(size)
        _read_into(fd, b)
        bufs.append(b)
    return kind, pickle.loads(meta, buffers=bufs)


def run_apart(fn: Callable[..., Iterator[T]], *args: Any) -> Iterator[T]:
    """What the generator ``fn(*args)`` yields, run in a forked child (see the module docstring).
    The child makes each value after the first only when this side asks for it: what this side
    does with a value (the week's fold of a day's rows) does not run beside the child's next step
    (that day's Bulk), as the two ran one after the other in one process."""
    if not forking():
        yield from fn(*args)
        return
    r, w = os.pipe()
    go_r, go_w = os.pipe()
    gc.freeze()  # the child's collections do not walk (so do not copy) this process's objects
    try:
        pid = os.fork()
    except OSError:
        gc.unfreeze()
        for fd in (r, w, go_r, go_w):
            os.close(fd)
        yield from fn(*args)
        return
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(r)
            os.close(go_w)
            try:
                values = fn(*args)
                value = next(values, _NOTHING)
                while value is not _NOTHING:
                    _send(w, _VALUE, value)
                    del value
                    if not os.read(go_r, 1):  # this side wants no more
                        break
                    value = next(values, _NOTHING)
                else:
                    _send(w, _END, None)
            except BaseException as exc:
                _send(w, _RAISED, exc)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    gc.unfreeze()
    os.close(w)
    os.close(go_r)
    got = 0
    try:
        while True:
            try:
                if got:
                    os.write(go_w, b"+")
                kind, value = _receive(r)
            except (EOFError, OSError, pickle.UnpicklingError):
                if got:
                    raise RuntimeError("the weekly's fold of a day stopped in its child process") from None
                kind = None
            if kind is None:  # nothing came: the generator runs here
                break
            if kind == _RAISED:
                raise value
            if kind == _END:
                return
            got += 1
            yield value
            del value
    finally:
        os.close(go_w)  # the child, waiting to be asked, ends
        os.close(r)
        os.waitpid(pid, 0)
    yield from fn(*args)


def _one(fn: Callable[..., T], args: tuple[Any, ...]) -> Iterator[T]:
    yield fn(*args)


def call_apart(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, made in a forked child (:func:`run_apart`): for a read whose temporaries
    are large and its value small."""
    parts = run_apart(_one, fn, args)
    try:
        return next(parts)
    finally:
        parts.close()
