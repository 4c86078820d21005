"""CPU time by stage, kept in the crawl's stats for the run report's ``cpu_seconds``."""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Iterator
from typing import Any

from scrapy.statscollectors import StatsCollector

# not under "newsarchive/<site>/", where a site could be named "cpu"
STAT_PREFIX = "newsarchive_cpu/"


@contextlib.contextmanager
def cpu_time(stats: StatsCollector, stage: str) -> Iterator[None]:
    """Counts the CPU time the calling thread spends in the block under ``stage``: thread
    time, so the work of other threads is not billed to it."""
    start = time.thread_time()
    try:
        yield
    finally:
        stats.inc_value(STAT_PREFIX + stage, time.thread_time() - start)


def cpu_seconds(stats: dict[str, Any]) -> dict[str, float]:
    """CPU so far: the whole process, the extraction workers (exited children), and the stages
    timed with :func:`cpu_time`. The process total less the stages is the rest: fetching,
    Scrapy's own work, the spider, start-up and the uploads done so far (the report is written
    before the last files go up, so those are not in it)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    stages = {key[len(STAT_PREFIX):]: value for key, value in stats.items()
              if key.startswith(STAT_PREFIX)}
    return {"process": round(own.ru_utime + own.ru_stime, 3),
            "extract_workers": round(children.ru_utime + children.ru_stime, 3),
            **{name: round(value, 3) for name, value in sorted(stages.items())}}
