"""A small process pool for CPU-bound page work, with the limits ProcessPoolExecutor lacks.

Each slot is a thread in this process driving one worker process over a pipe. A task that runs
past ``timeout`` gets its worker killed (trafilatura has pages that make it spin), a worker that
dies (crash, memory cap hit) is replaced, and every worker is recycled after ``max_tasks`` tasks
so that slow leaks cannot accumulate. Each failure surfaces as a :class:`WorkerError` with a kind,
so the caller can count it and go on.
"""

from __future__ import annotations

import importlib
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

logger = logging.getLogger(__name__)


class WorkerError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass(frozen=True)
class PoolLimits:
    workers: int = 2
    timeout: float = 30.0
    max_tasks: int = 500
    memory_mb: int = 2048


def _worker_main(conn: Connection, func: Callable[..., Any], memory_mb: int) -> None:
    try:
        import resource  # Unix only: elsewhere the worker runs without a memory cap

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            return
        if args is None:
            return
        try:
            conn.send(("ok", func(*args)))
        except MemoryError:
            conn.send(("memory", "page needed more than the worker memory limit"))
            return
        except Exception as exc:  # a bad page must never take the pool down
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:500]))


def _spawn_worker(func: Callable[..., Any], memory_mb: int) -> tuple[subprocess.Popen, Connection]:
    """A fresh interpreter running this module, talking over a socket pair.

    Not multiprocessing's spawn: that re-imports the parent's ``__main__`` in every worker,
    which re-runs whatever script embedded the crawl (a test, a demo, a CLI shim)."""
    parent_sock, child_sock = socket.socketpair()
    target = f"{func.__module__}:{func.__qualname__}"
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.workers", str(child_sock.fileno()), target,
         str(memory_mb)],
        pass_fds=(child_sock.fileno(),), stdin=subprocess.DEVNULL, close_fds=True)
    child_sock.close()
    return process, Connection(parent_sock.detach())


class _Slot(threading.Thread):
    def __init__(self, pool: ProcessPool, index: int) -> None:
        super().__init__(name=f"newsarchive-extract-{index}", daemon=True)
        self.pool = pool
        self.process: subprocess.Popen | None = None
        self.conn: Connection | None = None
        self.tasks_done = 0

    def _ensure_worker(self) -> Connection:
        if self.process is not None and self.process.poll() is None and self.conn is not None:
            return self.conn
        self._discard_worker()
        self.process, self.conn = _spawn_worker(self.pool.func, self.pool.limits.memory_mb)
        self.tasks_done = 0
        return self.conn

    def _discard_worker(self, kill: bool = False) -> None:
        if self.process is not None:
            if kill and self.process.poll() is None:
                self.process.kill()
            elif self.conn is not None and self.process.poll() is None:
                try:
                    self.conn.send(None)
                except OSError:
                    pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.conn is not None:
            self.conn.close()
        self.process, self.conn = None, None

    def _run_task(self, args: tuple) -> Any:
        conn = self._ensure_worker()
        conn.send(args)
        if not conn.poll(self.pool.limits.timeout):
            self._discard_worker(kill=True)
            raise WorkerError("timeout", f"no result after {self.pool.limits.timeout:g}s")
        try:
            status, value = conn.recv()
        except (EOFError, OSError):
            code = self.process.poll() if self.process else None
            self._discard_worker(kill=True)
            raise WorkerError("crash", f"worker died (exit code {code})") from None
        self.tasks_done += 1
        if status == "memory":
            self._discard_worker(kill=True)
            raise WorkerError("memory", value)
        if status != "ok":
            raise WorkerError("error", value)
        if self.tasks_done >= self.pool.limits.max_tasks:
            self._discard_worker()
        return value

    def run(self) -> None:
        while True:
            job = self.pool.jobs.get()
            if job is None:
                self._discard_worker()
                return
            future, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._run_task(args))
            except WorkerError as exc:
                future.set_exception(exc)
            except Exception as exc:
                self._discard_worker(kill=True)
                future.set_exception(WorkerError("pool", f"{type(exc).__name__}: {exc}"))


class ProcessPool:
    """``submit(*args)`` runs ``func(*args)`` in a worker process; ``func`` must be importable."""

    def __init__(self, func: Callable[..., Any], limits: PoolLimits) -> None:
        self.func = func
        workers = limits.workers or os.cpu_count() or 2
        self.limits = PoolLimits(workers, limits.timeout, limits.max_tasks, limits.memory_mb)
        self.jobs: queue.Queue[tuple[Future, tuple] | None] = queue.Queue()
        self._slots = [_Slot(self, i) for i in range(workers)]
        for slot in self._slots:
            slot.start()

    def submit(self, *args: Any) -> Future:
        future: Future = Future()
        self.jobs.put((future, args))
        return future

    def close(self) -> None:
        for _ in self._slots:
            self.jobs.put(None)
        for slot in self._slots:
            slot.join(timeout=15)


def _main(argv: list[str]) -> None:
    fd, target, memory_mb = int(argv[0]), argv[1], int(argv[2])
    module_name, _, name = target.partition(":")
    func = getattr(importlib.import_module(module_name), name)
    _worker_main(Connection(fd), func, memory_mb)


if __name__ == "__main__":
    _main(sys.argv[1:])
