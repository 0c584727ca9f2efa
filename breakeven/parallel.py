"""Where the work runs: a Dask cluster when one is at hand, else this process (see docs/scale.md).

llm-breakeven runs its fan-outs — the cells of a sweep, the partitions of a trace dataset, the candidates
of a search — on `dask.distributed <https://distributed.dask.org>`_, not on a scheduler of its own. Dask is
optional (``pip install 'llm-breakeven[dask]'``): without it, or without a client, everything runs here,
one item after the other, with the same results.

- :func:`connect` opens a client: a ``LocalCluster`` of ``workers`` processes, or an existing scheduler
  (checked before any work is submitted: an unreachable address is an :class:`InputError`).
- :func:`current_client` is the client a caller opened (``with connect(...)`` or ``Client(...)``), if any.
- :func:`pmap` maps a function over items on that client, in order, or serially without one.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from breakeven.errors import InputError

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")
R = TypeVar("R")

CONNECT_TIMEOUT_S = 10.0
"""How long :func:`connect` waits for an existing scheduler before giving up."""

_INSTALL_HINT = "install it with: pip install 'llm-breakeven[dask]'"


def dask_available() -> bool:
    """Whether ``dask.distributed`` can be imported."""
    return importlib.util.find_spec("distributed") is not None


def _require_dask(what: str) -> None:
    if not dask_available():
        raise InputError(f"{what}: expected Dask (dask.distributed) to be installed, found none; {_INSTALL_HINT}")


def current_client() -> Client | None:
    """The Dask client in use (the default client of this process or of the worker running us), or None."""
    if not dask_available():
        return None
    from distributed import default_client  # noqa: PLC0415 - optional dependency, imported on use

    try:
        return default_client()
    except ValueError:  # no client opened
        return None


@contextlib.contextmanager
def connect(*, workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A Dask client for the duration of the ``with`` block (closed afterwards, its cluster too).

    ``scheduler``: the address of a running scheduler (``tcp://host:8786``); it must answer within
    :data:`CONNECT_TIMEOUT_S`. Else a ``LocalCluster`` of ``workers`` single-threaded processes (default: one
    per core). Raises :class:`InputError` when Dask is missing, ``workers < 1``, or the scheduler is
    unreachable — before anything is submitted.
    """
    if scheduler is not None and workers is not None:
        raise InputError("options --workers and --scheduler: expected one of them, found both")
    if scheduler is not None:
        _require_dask(f"scheduler {scheduler}")
        client = _remote(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    _require_dask("a local Dask cluster (--workers)")
    if workers is not None and workers < 1:
        raise InputError(f"option --workers: expected at least 1 worker process, found {workers}")
    from distributed import Client, LocalCluster  # noqa: PLC0415 - optional dependency

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,  # the replays are numpy-bound: one process per core, no GIL contention
        processes=True,
        dashboard_address="127.0.0.1:0",  # None still takes port 8787: any free loopback port, no clash
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _remote(address: str) -> Client:
    from distributed import Client  # noqa: PLC0415 - optional dependency

    if "://" not in address:
        raise InputError(f"option --scheduler: expected an address like tcp://HOST:8786, found {address!r}")
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"option --scheduler: cannot reach a Dask scheduler at {address} within {CONNECT_TIMEOUT_S:g} s "
            f"({type(exc).__name__}: {exc}); expected a running scheduler (`dask scheduler`)"
        ) from exc


def worker_count(client: Client | None) -> int:
    """Worker processes (1 without a client)."""
    if client is None:
        return 1
    return max(1, len(client.scheduler_info().get("workers", {})))


def pmap(fn: Callable[..., R], items: Sequence[T], *args: Any, client: Client | None = None) -> list[R]:
    """``[fn(item, *args) for item in items]``, on the Dask client (given, else :func:`current_client`) when
    there is one, in order. Large ``args`` (a trace) are scattered to the workers once, not once per item."""
    client = client if client is not None else current_client()
    if client is None or len(items) <= 1 or _on_worker():
        return [fn(item, *args) for item in items]
    shared = [client.scatter(a, broadcast=True) if _is_large(a) else a for a in args]
    futures = client.map(fn, list(items), *[[s] * len(items) for s in shared], pure=False)
    return list(client.gather(futures))


def _on_worker() -> bool:
    """Inside a Dask task: run nested fan-outs in place (a task that waits on tasks can starve a cluster)."""
    if not dask_available():
        return False
    from distributed import get_worker  # noqa: PLC0415 - optional dependency

    try:
        get_worker()
    except ValueError:
        return False
    return True


def _is_large(value: Any) -> bool:
    """Worth scattering: a trace, a DataFrame or an array (not a number, a string or a small model)."""
    return hasattr(value, "df") or hasattr(value, "nbytes") or hasattr(value, "memory_usage")
