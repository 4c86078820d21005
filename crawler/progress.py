"""A live one-line progress display on a terminal: pages, articles, errors."""

from __future__ import annotations

import sys
from typing import TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task


class ProgressLine:
    INTERVAL = 1.0

    def __init__(self, crawler: Crawler, stream: TextIO) -> None:
        self.crawler = crawler
        self.stream = stream
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressLine:
        stream = sys.stderr
        if not crawler.settings.getbool("NEWSARCHIVE_PROGRESS", True) or not stream.isatty():
            raise NotConfigured()
        extension = cls(crawler, stream)
        crawler.signals.connect(extension._start, signal=signals.spider_opened)
        crawler.signals.connect(extension._stop, signal=signals.spider_closed)
        return extension

    def _totals(self) -> tuple[int, int, int]:
        pages = articles = errors = 0
        for key, value in self.crawler.stats.get_stats().items():
            if not key.startswith("newsarchive/"):
                continue
            if key.endswith("/pages"):
                pages += value
            elif key.endswith("/records"):
                articles += value
            elif "/errors/" in key:
                errors += value
        return pages, articles, errors

    def _draw(self) -> None:
        pages, articles, errors = self._totals()
        self.stream.write(f"\r\x1b[K{pages} pages, {articles} articles archived, "
                          f"{errors} errors")
        self.stream.flush()

    def _start(self) -> None:
        self._loop = task.LoopingCall(self._draw)
        self._loop.start(self.INTERVAL, now=True)

    def _stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
