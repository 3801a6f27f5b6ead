"""Executors: run independent, picklable tasks and get their results back in task order,
in this process, on a local process pool, or on Ray (the ``ray`` extra).

:meth:`~Executor.map` runs ``fn(task)``; :meth:`~Executor.map_stateful` gives each worker
a state made once by ``init()`` (a model replica; on Ray an actor, with GPUs reserved per
actor where the cluster has them) and runs ``fn(state, task)``. Nothing in the interface
knows about models: sweep cells and bootstrap chunks run the same way.

Examples
--------
>>> from evalgap.executors import get_executor
>>> with get_executor("local", workers=1) as ex:
...     ex.map(str.upper, ["a", "b"])
['A', 'B']
"""

from __future__ import annotations

from typing import Any

from evalgap.errors import EvalgapError
from evalgap.executors._base import Executor, OnResult, Progress
from evalgap.executors._local import LocalExecutor
from evalgap.executors._ray import RayExecutor

__all__ = [
    "EXECUTORS",
    "Executor",
    "LocalExecutor",
    "OnResult",
    "Progress",
    "RayExecutor",
    "get_executor",
]

#: Executor kinds :func:`get_executor` makes.
EXECUTORS = ("local", "ray")


def get_executor(
    kind: str = "local", *, workers: int | None = None, address: str | None = None, **options: Any
) -> Executor:
    """An executor by name (what the CLI's ``--executor`` and ``--address`` pick).

    Parameters
    ----------
    kind
        ``"local"`` (in this process for 1 worker, else a process pool) or ``"ray"``.
    workers
        Tasks at once (local default 1; Ray default: the cluster's CPUs).
    address
        Ray only: the cluster to connect to; by default a local instance is started.
    options
        More keyword arguments of :class:`RayExecutor`.

    Examples
    --------
    >>> get_executor("local", workers=2)
    LocalExecutor(workers=2)
    """
    if kind == "local":
        if address is not None:
            raise EvalgapError("address is for the Ray executor", source="get_executor")
        return LocalExecutor(workers=workers or 1, **options)
    if kind == "ray":
        return RayExecutor(workers=workers, address=address, **options)
    raise EvalgapError(
        f"unknown executor {kind!r}; expected one of {', '.join(EXECUTORS)}", source="get_executor"
    )
