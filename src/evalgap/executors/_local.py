"""The default executor: in this process, or a pool of local processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from evalgap.errors import EvalgapError
from evalgap.executors._base import Executor, OnResult, Progress

__all__ = ["LocalExecutor"]

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

# The state a pool worker made with init(); one per worker process.
_STATE: dict[str, Any] = {}


def _init_worker(init: Callable[[], Any]) -> None:
    _STATE["state"] = init()


def _call_stateful(fn: Callable[[Any, Any], Any], task: Any) -> Any:
    return fn(_STATE["state"], task)


class LocalExecutor(Executor):
    """Runs tasks in this process (``workers=1``, the default) or in a pool of ``workers``
    processes started with ``spawn`` (a fork of a process that holds torch's thread pools
    can hang).

    Parameters
    ----------
    workers
        Processes that run tasks at once; 1 runs them here, one after another.

    Examples
    --------
    >>> with LocalExecutor(workers=1) as ex:
    ...     ex.map(len, ["a", "bb"])
    [1, 2]
    """

    def __init__(self, workers: int = 1) -> None:
        if isinstance(workers, bool) or int(workers) != workers or workers < 1:
            raise EvalgapError(
                f"workers must be an integer >= 1, got {workers!r}", source="LocalExecutor"
            )
        self.workers = int(workers)

    def __repr__(self) -> str:
        return f"LocalExecutor(workers={self.workers})"

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        progress: Progress | None = None,
        on_result: OnResult | None = None,
    ) -> list[R]:
        items = list(tasks)
        if self.workers == 1 or len(items) <= 1:
            return _serial(lambda t: fn(t), items, progress, on_result)
        with self._pool(len(items)) as pool:
            futures = [pool.submit(fn, t) for t in items]
            return _gather(futures, progress, on_result)

    def map_stateful(
        self,
        init: Callable[[], S],
        fn: Callable[[S, T], R],
        tasks: Iterable[T],
        *,
        progress: Progress | None = None,
        on_result: OnResult | None = None,
    ) -> list[R]:
        items = list(tasks)
        if not items:
            return []
        if self.workers == 1 or len(items) == 1:
            state = init()
            return _serial(lambda t: fn(state, t), items, progress, on_result)
        with self._pool(len(items), init) as pool:
            futures = [pool.submit(_call_stateful, fn, t) for t in items]
            return _gather(futures, progress, on_result)

    def _pool(self, n_tasks: int, init: Callable[[], Any] | None = None) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=min(self.workers, n_tasks),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=None if init is None else _init_worker,
            initargs=() if init is None else (init,),
        )


def _serial(
    call: Callable[[Any], Any],
    items: list[Any],
    progress: Progress | None,
    on_result: OnResult | None,
) -> list[Any]:
    out = []
    for i, task in enumerate(items):
        result = call(task)
        out.append(result)
        if on_result is not None:
            on_result(i, result)
        if progress is not None:
            progress(i + 1, len(items))
    return out


def _gather(
    futures: list[Future[Any]], progress: Progress | None, on_result: OnResult | None
) -> list[Any]:
    index = {f: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    pending = set(futures)
    done_count = 0
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            # Report finished tasks in task order within each wake-up, so callbacks see a
            # reproducible order when several finish together.
            for f in sorted(done, key=index.__getitem__):
                result = f.result()  # re-raises a task's exception here
                i = index[f]
                results[i] = result
                done_count += 1
                if on_result is not None:
                    on_result(i, result)
                if progress is not None:
                    progress(done_count, len(futures))
    except BaseException:
        for f in pending:
            f.cancel()
        raise
    return results
