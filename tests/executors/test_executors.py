"""Executors: results in task order and identical (byte for byte) in this process, on a
local process pool and on a local Ray instance; per-worker state made once."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator

import executor_tasks as tasks
import pytest

from evalgap.errors import EvalgapError
from evalgap.executors import LocalExecutor, RayExecutor, get_executor

CHUNKS = [(seed, 200) for seed in range(6)]


def _bytes(arrays) -> list[tuple[str, tuple[int, ...], bytes]]:
    """Each result array's dtype, shape and raw bytes (a pickle of the whole list also
    encodes how objects were shared, which differs between processes)."""
    return [(a.dtype.str, a.shape, a.tobytes()) for a in arrays]


def _run(ex, fn, items):
    seen, calls = [], []
    out = ex.map(
        fn, items, on_result=lambda i, r: seen.append(i), progress=lambda d, n: calls.append((d, n))
    )
    assert sorted(seen) == list(range(len(items)))
    assert calls[-1] == (len(items), len(items))
    return out


def test_local_serial_and_pool_agree_byte_for_byte() -> None:
    with LocalExecutor() as serial:
        want = _run(serial, tasks.bootstrap_chunk, CHUNKS)
    with LocalExecutor(workers=2) as pool:
        got = _run(pool, tasks.bootstrap_chunk, CHUNKS)
        assert pool.map(tasks.slow_square, range(8)) == [x * x for x in range(8)]
    assert _bytes(got) == _bytes(want)


def test_stateful_workers_make_their_state_once() -> None:
    with LocalExecutor() as serial:
        out = serial.map_stateful(tasks.make_state, tasks.use_state, range(5))
    assert [calls for _, calls, _ in out] == [1, 2, 3, 4, 5]
    assert [value for *_, value in out] == [100, 101, 102, 103, 104]
    with LocalExecutor(workers=2) as pool:
        out = pool.map_stateful(tasks.make_state, tasks.use_state, range(8))
    assert [value for *_, value in out] == [100 + x for x in range(8)]
    by_worker: dict[int, list[int]] = {}
    for pid, calls, _ in out:
        by_worker.setdefault(pid, []).append(calls)
    # each worker counted its own calls from 1: its state was made once and reused
    assert all(sorted(c) == list(range(1, len(c) + 1)) for c in by_worker.values())
    assert sum(len(c) for c in by_worker.values()) == 8


def test_a_failing_task_raises_its_own_error() -> None:
    for ex in (LocalExecutor(), LocalExecutor(workers=2)):
        with ex, pytest.raises(ValueError, match="task 3 failed"):
            ex.map(tasks.fail_on_three, range(6))


def test_get_executor_arguments() -> None:
    assert isinstance(get_executor("local", workers=2), LocalExecutor)
    with pytest.raises(EvalgapError, match="unknown executor 'dask'"):
        get_executor("dask")
    with pytest.raises(EvalgapError, match="address is for the Ray executor"):
        get_executor("local", address="127.0.0.1:6379")
    with pytest.raises(EvalgapError, match="workers must be an integer >= 1"):
        LocalExecutor(workers=0)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray instance on 2 CPUs, never a remote cluster, shut down afterwards."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("the ray extra is not installed")
    import ray

    ray.cloudpickle.register_pickle_by_value(tasks)
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
    )
    try:
        yield
    finally:
        ray.shutdown()
        ray.cloudpickle.unregister_pickle_by_value(tasks)


def test_ray_equals_local_byte_for_byte(local_ray: None) -> None:
    with LocalExecutor() as local:
        want = local.map(tasks.bootstrap_chunk, CHUNKS)
        want_state = local.map_stateful(tasks.make_state, tasks.use_state, range(6))
    with RayExecutor(workers=2) as ex:
        assert ex.workers == 2
        assert ex.gpus_per_worker == 0.0  # no GPU on the test machine's local Ray
        got = _run(ex, tasks.bootstrap_chunk, CHUNKS)
        assert ex.map(tasks.slow_square, range(8)) == [x * x for x in range(8)]
        state = ex.map_stateful(tasks.make_state, tasks.use_state, range(6))
        with pytest.raises(ValueError, match="task 3 failed"):
            ex.map(tasks.fail_on_three, range(6))
    assert _bytes(got) == _bytes(want)
    assert [v for *_, v in state] == [v for *_, v in want_state]
    by_actor: dict[int, list[int]] = {}
    for pid, calls, _ in state:
        by_actor.setdefault(pid, []).append(calls)
    assert len(by_actor) == 2  # two actors, each made its state once and counted from 1
    assert all(sorted(c) == list(range(1, len(c) + 1)) for c in by_actor.values())
