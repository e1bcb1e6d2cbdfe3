"""Scale-out on Dask: parse and classify the files of an ingest in parallel on a cluster.

The workers parse and classify one file each (:func:`analyzer.store.parse_source`) and send
back an Arrow table with its event keys; the client commits them to the store in input order
under the same manifest protocol as a single-process ingest, so the store is the same whichever
engine built it. The files must be readable by the workers at the same paths (a shared
filesystem). Dask is an optional extra: ``pip install 'maillens[dask]'``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .sources import Input

__all__ = ["DaskMissing", "client_for", "map_days", "parse_on_dask", "require_dask"]


class DaskMissing(ImportError):
    """--engine dask without Dask installed."""

    hint = "pip install 'maillens[dask]' (or use the default --engine local)"


class WorkerError(RuntimeError):
    """A task failed on a Dask worker."""

    hint = ("every worker needs the same maillens version as this machine, and the logs and the store "
            "at the same paths")


def require_dask() -> None:
    """Raise DaskMissing unless dask.distributed can be imported."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise DaskMissing("--engine dask needs dask[distributed], which is not installed") from exc


@contextlib.contextmanager
def client_for(scheduler: str | None) -> Iterator[Any]:
    """A distributed Client on ``scheduler`` (an address, or a Client), or on a new local cluster."""
    require_dask()
    from distributed import Client, LocalCluster

    if scheduler is not None and not isinstance(scheduler, str):
        yield scheduler  # an existing Client
        return
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(processes=True, threads_per_worker=1, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        yield client


def _parse(inp: Input, digest: Any, tz: str, year: int | None, now: dt.datetime | None, rules: tuple[str, ...]):
    from .store import parse_source

    return parse_source(inp, tz=tz, year=year, now=now, digest=digest, rules=rules)


def parse_on_dask(todo: Sequence[tuple[Input, Any]], *, tz: str, year: int | None,
                  now: dt.datetime | None, scheduler: Any = None, rules: tuple[str, ...] = ()) -> Iterator[Any]:
    """Parse the inputs on the cluster; yield their SourceTables in input order."""
    if not todo:
        return
    with client_for(scheduler) as client:
        futures = [client.submit(_parse, inp, dg, tz, year, now, rules, pure=False) for inp, dg in todo]
        try:
            for fut, (inp, _dg) in zip(futures, todo, strict=True):
                try:
                    result = fut.result()
                except Exception as exc:
                    raise WorkerError(f"{inp.name}: failed on a Dask worker: {type(exc).__name__}: {exc}") from exc
                yield result
                fut.release()
        finally:
            for fut in futures:
                fut.cancel()


def map_days(fn: Callable[..., Any], args: Sequence[tuple], scheduler: Any = None) -> list[Any]:
    """Run ``fn(*a)`` for each argument tuple on the cluster; results in order."""
    with client_for(scheduler) as client:
        try:
            return client.gather([client.submit(fn, *a, pure=False) for a in args])
        except OSError as exc:
            from .store import StoreError

            if isinstance(exc, StoreError):  # the store, not the cluster: said as it is (a damaged part: rc 3)
                raise
            raise WorkerError(f"failed on a Dask worker: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            raise WorkerError(f"failed on a Dask worker: {type(exc).__name__}: {exc}") from exc
