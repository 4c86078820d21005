"""The extraction pool's limits: a hanging, crashing or ballooning page costs bounded time and
memory, is reported with its kind, and the pool keeps working."""

from __future__ import annotations

import pytest

from pipelines.workers import PoolLimits, ProcessPool, WorkerError
from tests import worker_tasks


@pytest.fixture
def pool():
    pool = ProcessPool(worker_tasks.behave, PoolLimits(workers=2, timeout=2.0, max_tasks=3,
                                                       memory_mb=512))
    yield pool
    pool.close()


def _kind(future) -> str:
    with pytest.raises(WorkerError) as info:
        future.result(timeout=60)
    return info.value.kind


def test_results_come_back(pool) -> None:
    futures = [pool.submit("echo", i) for i in range(10)]
    assert [f.result(timeout=60) for f in futures] == list(range(10))


def test_hang_is_killed_and_pool_goes_on(pool) -> None:
    assert _kind(pool.submit("hang", 0)) == "timeout"
    assert pool.submit("echo", 7).result(timeout=60) == 7


def test_crash_and_exception_are_reported(pool) -> None:
    assert _kind(pool.submit("crash", 0)) == "crash"
    assert _kind(pool.submit("raise", 0)) == "error"
    assert pool.submit("echo", 1).result(timeout=60) == 1


def test_memory_cap(pool) -> None:
    assert _kind(pool.submit("balloon", 0)) in ("memory", "crash")
    assert pool.submit("echo", 2).result(timeout=60) == 2


def test_workers_are_recycled(pool) -> None:
    pids = {pool.submit("pid", 0).result(timeout=60) for _ in range(12)}
    # 12 tasks over 2 workers recycled every 3 tasks: at least 4 distinct processes
    assert len(pids) >= 4
