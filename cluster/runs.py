"""One ``newsarchive`` command in a child process, as a worker runs it for a task.

A fresh process each time: Twisted's reactor cannot be restarted within one, and a crawl that
leaks memory or crashes takes only itself down. The child stays in the worker's process group,
so a signal to the worker's group (Ctrl-C, systemd stopping the unit) reaches it too, and its
stderr goes to the worker's as it comes. A run still going at its timeout is asked to stop
(SIGTERM: it commits what it fetched) and killed only if it has not exited after the grace.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

logger = logging.getLogger("newsarchive.cluster")
# the lines `newsarchive crawl` prints for a site it skipped and for files left in the spool
_HELD_LINE = "newsarchive crawl: skipped "
_NOT_STORED = re.compile(r"NOT STORED YET: (\d+) file")


@dataclass
class ChildRun:
    exit_code: int
    held: list[str] = field(default_factory=list)  # "site S is being crawled by ..." lines
    not_stored: int = 0  # files left in the worker's spool
    timed_out: bool = False
    stdout: str = ""


def _pump(stream: IO[str], sink: list[str], echo: IO[str] | None) -> None:
    for line in stream:
        sink.append(line)
        if echo is not None:
            echo.write(line)
            echo.flush()


def run_child(args: Sequence[str], timeout: float, grace: float) -> ChildRun:
    """Run ``python -m newsarchive ARGS``; stop it after ``timeout`` seconds."""
    process = subprocess.Popen([sys.executable, "-m", "newsarchive", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    out: list[str] = []
    err: list[str] = []
    pumps = [threading.Thread(target=_pump, args=(process.stdout, out, None), daemon=True),
             threading.Thread(target=_pump, args=(process.stderr, err, sys.stderr), daemon=True)]
    for pump in pumps:
        pump.start()
    timed_out = False
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        logger.error("run %s still going after %.0fs: asking it to stop and commit",
                     " ".join(args), timeout)
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            logger.error("run did not stop within %.0fs: killing it", grace)
            process.kill()
            process.wait()
    for pump in pumps:
        pump.join()
    stdout = "".join(out)
    found = _NOT_STORED.search(stdout)
    return ChildRun(exit_code=process.returncode,
                    held=[line[len(_HELD_LINE):].strip() for line in err
                          if line.startswith(_HELD_LINE)],
                    not_stored=int(found.group(1)) if found else 0,
                    timed_out=timed_out, stdout=stdout)
