"""Ray executor: tasks on a Ray cluster (a local one by default), model replicas as actors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from evalgap.errors import EvalgapError
from evalgap.executors._base import Executor, OnResult, Progress

__all__ = ["RayExecutor"]

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EvalgapError(
            "ray is not installed; install it with pip install 'evalgap[ray]'",
            source="evalgap[ray]",
        ) from None
    return ray


def _call(fn: Callable[[Any], Any], task: Any) -> Any:
    return fn(task)


class _Replica:
    """A Ray actor holding one worker's state (e.g. a loaded model)."""

    def __init__(self, init: Callable[[], Any]) -> None:
        self.state = init()

    def run(self, fn: Callable[[Any, Any], Any], task: Any) -> Any:
        return fn(self.state, task)


class RayExecutor(Executor):
    """Runs tasks on Ray: plain tasks for :meth:`map`, one actor per worker for
    :meth:`map_stateful` (each actor makes its state once, then runs many tasks).

    Parameters
    ----------
    workers
        Tasks or actors at once (default: the cluster's CPUs / ``cpus_per_worker``).
    address
        A Ray cluster to connect to (``ray.init(address=...)``). By default a new local
        instance is started (``address="local"``, so a ``RAY_ADDRESS`` in the environment
        is not followed) and shut down by :meth:`close`. If Ray is already initialised in
        this process, that instance is used and left running.
    cpus_per_worker
        CPUs Ray reserves for each task or actor.
    gpus_per_worker
        GPUs reserved per task or actor; ``"auto"`` (default) spreads the cluster's GPUs
        over the workers (at most one each) when it has any, else 0.
    init_kwargs
        More ``ray.init`` arguments for an instance this executor starts.

    Examples
    --------
    >>> with RayExecutor(workers=2) as ex:  # doctest: +SKIP
    ...     ex.map(abs, [-1, 2])
    [1, 2]
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        address: str | None = None,
        cpus_per_worker: float = 1.0,
        gpus_per_worker: float | str = "auto",
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        ray = _ray()
        if workers is not None and (
            isinstance(workers, bool) or int(workers) != workers or workers < 1
        ):
            raise EvalgapError(
                f"workers must be an integer >= 1, got {workers!r}", source="RayExecutor"
            )
        self._owns = False
        if not ray.is_initialized():
            kw: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.ERROR,
            }
            if address is None:
                kw["address"] = "local"
                kw["num_cpus"] = int(workers * cpus_per_worker) if workers else None
            else:
                kw["address"] = address
            kw.update(init_kwargs or {})
            try:
                ray.init(**kw)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise EvalgapError(
                    f"cannot start or reach Ray ({exc})", source=address or "ray"
                ) from None
            self._owns = True
        resources = ray.cluster_resources()
        self.cpus_per_worker = float(cpus_per_worker)
        self.workers = int(workers or max(1, int(resources.get("CPU", 1) // self.cpus_per_worker)))
        if gpus_per_worker == "auto":
            gpus = float(resources.get("GPU", 0.0))
            gpus_per_worker = min(1.0, gpus / self.workers) if gpus else 0.0
        self.gpus_per_worker = float(gpus_per_worker)
        self.address = address

    def __repr__(self) -> str:
        return (
            f"RayExecutor(workers={self.workers}, address={self.address!r}, "
            f"gpus_per_worker={self.gpus_per_worker})"
        )

    def close(self) -> None:
        if self._owns:
            _ray().shutdown()
            self._owns = False

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        progress: Progress | None = None,
        on_result: OnResult | None = None,
    ) -> list[R]:
        ray = _ray()
        items = list(tasks)
        remote = ray.remote(num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker)(_call)
        fn_ref = ray.put(fn)
        refs = [remote.remote(fn_ref, t) for t in items]
        index = {r: i for i, r in enumerate(refs)}
        results: list[Any] = [None] * len(items)
        pending = list(refs)
        done_count = 0
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    i = index[ref]
                    results[i] = _get(ray, ref)
                    done_count += 1
                    if on_result is not None:
                        on_result(i, results[i])
                    if progress is not None:
                        progress(done_count, len(items))
        except BaseException:
            for ref in pending:
                ray.cancel(ref)
            raise
        return results

    def map_stateful(
        self,
        init: Callable[[], S],
        fn: Callable[[S, T], R],
        tasks: Iterable[T],
        *,
        progress: Progress | None = None,
        on_result: OnResult | None = None,
    ) -> list[R]:
        ray = _ray()
        items = list(tasks)
        if not items:
            return []
        actor_cls = ray.remote(num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker)(
            _Replica
        )
        actors = [actor_cls.remote(init) for _ in range(min(self.workers, len(items)))]
        fn_ref = ray.put(fn)
        results: list[Any] = [None] * len(items)
        running: dict[Any, tuple[int, Any]] = {}
        next_task = 0
        done_count = 0
        try:
            # Keep every actor busy with one task; give it the next when it finishes.
            for actor in actors:
                if next_task < len(items):
                    running[actor.run.remote(fn_ref, items[next_task])] = (next_task, actor)
                    next_task += 1
            while running:
                done, _ = ray.wait(list(running), num_returns=1)
                ref = done[0]
                i, actor = running.pop(ref)
                results[i] = _get(ray, ref)
                done_count += 1
                if next_task < len(items):
                    running[actor.run.remote(fn_ref, items[next_task])] = (next_task, actor)
                    next_task += 1
                if on_result is not None:
                    on_result(i, results[i])
                if progress is not None:
                    progress(done_count, len(items))
        finally:
            for actor in actors:
                ray.kill(actor)
        return results


def _get(ray: Any, ref: Any) -> Any:
    """``ray.get``, re-raising a task's own exception rather than Ray's wrapper."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise
