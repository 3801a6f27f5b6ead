"""The executor interface: run picklable tasks, get results back in task order."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Self, TypeVar

__all__ = ["Executor", "OnResult", "Progress"]

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

#: ``progress(done, total)``: called in the calling process as tasks finish.
Progress = Callable[[int, int], None]
#: ``on_result(index, result)``: called in the calling process as each task finishes, in
#: the order they finish (e.g. to store each result at once, so a stopped run can resume).
OnResult = Callable[[int, Any], None]


class Executor(ABC):
    """Runs independent tasks and returns their results in task order.

    The results do not depend on the executor: a task's result is whatever its function
    returns for it, wherever it runs, so local and Ray runs of a deterministic function
    are identical. Functions, tasks, ``init`` and results must be picklable (module-level
    functions, plain data).

    Use as a context manager, or call :meth:`close`.
    """

    #: Number of tasks that run at once.
    workers: int

    @abstractmethod
    def map(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        progress: Progress | None = None,
        on_result: OnResult | None = None,
    ) -> list[R]:
        """``[fn(task) for task in tasks]``, run by the workers.

        Examples
        --------
        >>> from evalgap.executors import LocalExecutor
        >>> with LocalExecutor() as ex:
        ...     ex.map(abs, [-2, 3, -4])
        [2, 3, 4]
        """

    @abstractmethod
    def map_stateful(
        self,
        init: Callable[[], S],
        fn: Callable[[S, T], R],
        tasks: Iterable[T],
        *,
        progress: Progress | None = None,
        on_result: OnResult | None = None,
    ) -> list[R]:
        """``[fn(state, task) for task in tasks]`` where each worker makes its ``state``
        once with ``init()`` (e.g. loads a model replica) and reuses it for every task it
        runs.

        Examples
        --------
        >>> from evalgap.executors import LocalExecutor
        >>> with LocalExecutor() as ex:
        ...     ex.map_stateful(dict, lambda state, k: state.setdefault(k, k * 2), [1, 2])
        [2, 4]
        """

    def close(self) -> None:
        """Release the workers (and a Ray instance this executor started)."""
        return None  # nothing held between calls by default

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
