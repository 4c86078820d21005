"""Run a command and measure its process tree from /proc (no psutil here).

CPU: the command is waited for with ``WNOWAIT`` first, so its final ``/proc/<pid>/stat`` (a
zombie's) gives exact totals: utime+stime for the main process, cutime+cstime for the children
it reaped (the extraction workers). RSS: VmHWM/VmRSS of the main process and of every
descendant, sampled every ``interval`` seconds.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class TreeStats:
    wall_s: float = 0.0
    returncode: int | None = None
    main_cpu_s: float = 0.0
    children_cpu_s: float = 0.0
    main_peak_rss_mb: float = 0.0
    worker_peak_rss_mb: float = 0.0
    tree_peak_rss_mb: float = 0.0
    worker_pids: set[int] = field(default_factory=set)
    rss_marks: list[dict] = field(default_factory=list)


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        kids = []
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                kids += [int(k) for k in task.read_text().split()]
            except OSError:
                continue
        found += kids
        todo += kids
    return found


def _cmdline(pid: int) -> bytes:
    """A child still between fork and exec has its parent's command line (and VmHWM)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _cpu_times(pid: int) -> tuple[float, float]:
    """(own utime+stime, reaped children's cutime+cstime) in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / _TICK
    kids = (int(fields[13]) + int(fields[14])) / _TICK
    return own, kids


class _Sampler(threading.Thread):
    def __init__(self, pid: int, stats: TreeStats, interval: float,
                 progress: Callable[[], float] | None) -> None:
        super().__init__(daemon=True)
        self.pid, self.stats, self.interval, self.progress = pid, stats, interval, progress
        self.done = threading.Event()
        self._marks = [0.1, 0.25, 0.5, 0.75, 1.0]
        self.started = time.perf_counter()

    def sample(self) -> None:
        s = self.stats
        main_hwm = _status_kb(self.pid, "VmHWM") / 1024
        s.main_peak_rss_mb = max(s.main_peak_rss_mb, main_hwm)
        kids = [k for k in _children(self.pid) if _cmdline(k) != _cmdline(self.pid)]
        s.worker_pids.update(kids)
        kid_rss = [_status_kb(k, "VmRSS") / 1024 for k in kids]
        for k in kids:
            s.worker_peak_rss_mb = max(s.worker_peak_rss_mb, _status_kb(k, "VmHWM") / 1024)
        main_rss = _status_kb(self.pid, "VmRSS") / 1024
        s.tree_peak_rss_mb = max(s.tree_peak_rss_mb, main_rss + sum(kid_rss))
        if self.progress is not None and self._marks and self.progress() >= self._marks[0]:
            self.mark(self._marks.pop(0), main_rss, kid_rss)

    def mark(self, fraction: float, main_rss: float, kid_rss: list[float]) -> None:
        self.stats.rss_marks.append({"progress": fraction,
                                     "elapsed_s": round(time.perf_counter() - self.started, 1),
                                     "main_rss_mb": round(main_rss, 1),
                                     "workers_rss_mb": [round(r, 1) for r in kid_rss]})

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.sample()


def run_measured(cmd: list[str], cwd: Path, env: dict[str, str], log: Path,
                 interval: float = 0.2, timeout: float = 3600,
                 progress: Callable[[], float] | None = None) -> TreeStats:
    """Run ``cmd`` to completion, measuring its tree; stdout+stderr go to ``log``."""
    stats = TreeStats()
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = _Sampler(proc.pid, stats, interval, progress)
        sampler.start()
        try:
            _wait_nowait(proc, timeout)
            stats.wall_s = time.perf_counter() - start
            sampler.done.set()
            sampler.join()
            stats.main_cpu_s, stats.children_cpu_s = _cpu_times(proc.pid)
        finally:
            sampler.done.set()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    stats.returncode = proc.returncode
    return stats


def _wait_nowait(proc: subprocess.Popen, timeout: float) -> None:
    """Wait for exit without reaping, so /proc/<pid>/stat still holds the final totals."""
    deadline = time.monotonic() + timeout
    while True:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        if info is not None and info.si_pid == proc.pid:
            return
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"{cmd_name(proc)} still running after {timeout:g}s")
        time.sleep(0.05)


def cmd_name(proc: subprocess.Popen) -> str:
    args = proc.args if isinstance(proc.args, list) else [str(proc.args)]
    return " ".join(str(a) for a in args[:4])
