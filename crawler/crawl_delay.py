"""robots.txt ``Crawl-delay``: a host that asks for it gets at most one request that often.

Scrapy reads robots.txt (RobotsTxtMiddleware, Protego) but ignores its ``Crawl-delay``
(scrapy#892). This extension takes it from each parsed robots.txt (the ``robots_parsed``
signal, sent before the first page of the host is let through), caps it at ``[crawl]
max_crawl_delay`` and never lets it go below ``download_delay``, and makes it the floor of
the host's downloader slot: the slot's delay (Scrapy spaces a slot's requests by it) is raised
to the floor whenever a request reaches the slot, and again after AutoThrottle adjusted it on
a response, so AutoThrottle may slow the host further, never speed it past the floor. The
slot's jitter is turned off (Scrapy's default ±50% would go below what the site asked).

Floors are kept by host name, as Scrapy's slots are, so a slot that Scrapy dropped after a
minute idle gets its floor back with its next request. robots.txt is fetched per host and
port; the delay of a host's first robots.txt read applies to the host.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.addon import config_of

logger = logging.getLogger(__name__)


def crawl_delay_floor(asked: float | None, download_delay: float, cap: float) -> float | None:
    """The spacing a host gets for a robots.txt that asks ``asked`` seconds: capped at
    ``cap``, never below ``download_delay``; None when it asks nothing more than that."""
    if asked is None or asked <= 0:
        return None
    floor = max(min(asked, cap), download_delay)
    return floor if floor > download_delay else None


class CrawlDelay:
    """Keeps every host's downloader slot at least its robots.txt Crawl-delay apart."""

    def __init__(self, crawler: Crawler, download_delay: float, cap: float) -> None:
        self.crawler = crawler
        self.download_delay = download_delay
        self.cap = cap
        self.user_agent = (crawler.settings.get("ROBOTSTXT_USER_AGENT")
                           or crawler.settings.get("USER_AGENT") or "")
        self.floors: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelay:
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured("robots.txt is not read")
        crawl = config_of(crawler.settings).crawl
        ext = cls(crawler, crawl.download_delay, crawl.max_crawl_delay)
        crawler.signals.connect(ext.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(ext.request_reached, signal=signals.request_reached_downloader)
        # connected after AutoThrottle's handler (a base extension, built first): runs after it
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        return ext

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        user_agent = request.headers.get(b"User-Agent") or self.user_agent
        try:
            asked = robotparser.crawl_delay(user_agent)
        except (AttributeError, TypeError, ValueError):  # a parser without Crawl-delay
            return
        floor = crawl_delay_floor(asked, self.download_delay, self.cap)
        host = urlparse_cached(request).hostname or ""
        if floor is None or host in self.floors:
            return
        self.floors[host] = floor
        note = f" (capped at max_crawl_delay = {self.cap:g})" if asked and asked > self.cap \
            else ""
        logger.info("%s: robots.txt asks a Crawl-delay of %g s; requests are spaced %g s%s",
                    host, asked, floor, note)

    def request_reached(self, request: Request, spider: Any = None) -> None:
        self._raise_slot(request)

    def response_downloaded(self, response: Response, request: Request,
                            spider: Any = None) -> None:
        self._raise_slot(request)

    def _raise_slot(self, request: Request) -> None:
        key = request.meta.get("download_slot")
        floor = self.floors.get(key) if key else None
        if floor is None or self.crawler.engine is None:
            return
        slot = self.crawler.engine.downloader.slots.get(key)
        if slot is not None:
            slot.jitter = 0.0
            slot.delay = max(slot.delay, floor)
