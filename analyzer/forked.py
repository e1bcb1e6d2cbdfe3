"""A call made in a forked child of this process, its result read back later: work that holds the
GIL for most of its time runs beside the caller's on the other core.

:class:`Forked` forks at once (the child sees this process's memory as it is then, copy on write:
nothing is sent to it), makes the call there and writes its pickled result to a pipe;
:meth:`Forked.result` reads it and reaps the child. Where no child can be forked, or the child
ends without a result (the call raised, the child was killed, the result would not pickle),
``result()`` makes the call here instead: the caller gets the same value, or the call's own
error, either way. The call must only read (what it changes in the child stays there), and what
it reads must be as it is at the fork (no other thread changing it then). Fork only where this
process has no other thread of its own running Python or holding a lock the call takes: the
report forks once its stream's threads have ended (:func:`analyzer.report.run.make_report`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["Forked"]

_NOTHING = object()


class Forked:
    """``fn()`` made in a forked child (see the module); :meth:`result` gives its value,
    :meth:`close` ends the child when its value is no longer wanted."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._pid = 0
        self._fd = -1
        self._value: Any = _NOTHING
        fork = getattr(os, "fork", None)
        if fork is None:
            return
        r, w = os.pipe()
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns at a fork while the process has other threads: here native
                # ones only (the allocator's, Arrow's: each library readies its own child), or
                # threads of Python the caller knows hold nothing the call takes (see the module)
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = fork()
        except OSError:  # (no memory or processes left for a child: the call is made here)
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: never returns
            os.close(r)
            _child(fn, w)
        os.close(w)
        self._pid, self._fd = pid, r

    @property
    def forked(self) -> bool:
        """Whether a child is making the call (and has not been reaped yet)."""
        return bool(self._pid)

    def result(self) -> Any:
        """The call's value: the child's when it gave one, else the call made here."""
        if self._value is _NOTHING:
            data = self._read() if self._pid else None
            self._value = pickle.loads(data) if data is not None else self._fn()
        return self._value

    def _read(self) -> bytes | None:
        """The child's pickled value (None when it gave none), the child reaped."""
        chunks = []
        try:
            while chunk := os.read(self._fd, 1 << 20):
                chunks.append(chunk)
        finally:
            status = self._reap()
        return b"".join(chunks) if os.waitstatus_to_exitcode(status) == 0 else None

    def _reap(self, kill: bool = False) -> int:
        pid, self._pid = self._pid, 0
        os.close(self._fd)
        self._fd = -1
        if kill:
            with contextlib.suppress(ProcessLookupError):  # (it ended already: reaped below)
                os.kill(pid, signal.SIGKILL)
        return os.waitpid(pid, 0)[1]

    def close(self) -> None:
        """End the child if it still runs (its value unread) and reap it."""
        if self._pid:
            self._reap(kill=True)

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child(fn: Callable[[], Any], w: int) -> None:
    """The forked child's whole life: ``fn()``'s pickled value written to ``w``, then its end
    without the parent's cleanup (its files, buffers and atexit handlers are the parent's)."""
    code = 1
    try:
        # a signal to the run's process group (a terminal's ^C, a service's stop) ends the child at
        # once: not the parent's handlers, which would have it finish its call first
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        view = memoryview(pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL))
        while view:
            view = view[os.write(w, view):]
        code = 0
    except BaseException:  # (the parent makes the call itself and meets the error)
        pass
    finally:
        os._exit(code)
