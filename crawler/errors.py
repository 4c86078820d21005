"""The run's error log: errors by site and kind, with a bounded list of examples.

An extension, so that the spider, the middlewares, the pipelines and the archive extension
each find the one log through the crawler (``crawler.get_extension(ErrorLog)``) and the run
report reads it at the end.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

from scrapy.crawler import Crawler

MAX_ERROR_EXAMPLES = 200


class ErrorLog:
    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.examples: list[dict[str, str]] = []
        # the archive session's committer thread reports lost files here too
        self._lock = threading.Lock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ErrorLog:
        return cls()

    def add(self, site: str, kind: str, url: str, message: str) -> None:
        with self._lock:
            self.counts[site][kind] += 1
            if len(self.examples) < MAX_ERROR_EXAMPLES:
                self.examples.append({"site": site, "kind": kind, "url": url,
                                      "message": message[:300]})

    def has(self, site: str, kind: str) -> bool:
        return bool(self.counts.get(site, {}).get(kind))

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


def error_log(crawler: Crawler) -> ErrorLog:
    """The crawl's error log (a component asks once, when it is built or opened)."""
    log = crawler.get_extension(ErrorLog)
    if log is None:
        raise RuntimeError("crawler.errors.ErrorLog is not in EXTENSIONS")
    return log
