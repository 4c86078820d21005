"""Replay: the live crawl's spider and pipelines, fed from the archive's WARC files.

:class:`ReplayAddon` switches a crawl into a replay (``NEWSARCHIVE_REPLAY_DAY`` names the day).
The replay spider asks for every HTML page the day's WARC files hold with status 200, crawl
by crawl in the order they ran (CONTRACT §2): a crawl's pages are fed only once the crawl
before has been taken through the pipelines to its end, and each crawl after the first is
announced with the ``archived_crawl_started`` signal, so that per-run decisions (one record
per article per run) start afresh and every version the day held is rebuilt. The replay
download handler, installed for http and https, answers each request from the WARC record it
names (for a page of a ``render = "browser"`` site, the conversion record of its rendered
DOM, which the live crawl extracted from). Nothing goes to the network: no robots.txt, no
DNS, no site guard, no WARC writer (the raw archive is what is being read). Pages then take
the live path: article detection, extraction in the worker pool, dedup, records.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes
from scrapy.settings import BaseSettings

from archive.keys import parse_data_key
from archive.warc_reader import (
    ArchivedPage,
    archived_crawls,
    pages_of_file,
    read_rendered,
    read_warc_response,
)
from crawler.addon import CONFIG_PRIORITY
from crawler.archive_extension import ArchiveExtension, archive_of
from crawler.middlewares import FETCHED_AT_META, SITE_META, WARC_META
from crawler.render import rendered_response
from crawler.signals import archived_crawl_started
from crawler.spiders.news import DEPTH_META, NewsSpider

logger = logging.getLogger(__name__)

REPLAY_META = "newsarchive_replay"
# the conversion record of a rendered page (render = "browser"): replayed instead of the raw
RENDERED_META = "newsarchive_replay_rendered"
UNREADABLE_CRAWL = "replay_unreadable_warc"  # the finish reason when a crawl's WARCs fail


class WarcReplayDownloadHandler:
    """Answers a replay request from its WARC record; anything else is refused, unsent."""

    lazy = False

    def __init__(self, archive: ArchiveExtension) -> None:
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcReplayDownloadHandler:
        return cls(archive_of(crawler))

    async def download_request(self, request: Request) -> Response:
        pointer = request.meta.get(REPLAY_META)
        if pointer is None:
            raise IgnoreRequest(f"replay never goes to the network: {request.url}")
        rendered = request.meta.get(RENDERED_META)
        if rendered is not None:
            # the DOM the browser made of the page, as the live crawl handed it on
            html = await asyncio.to_thread(read_rendered, self.archive.source_storage, rendered)
            return rendered_response(request.url, html, request)
        archived = await asyncio.to_thread(read_warc_response, self.archive.source_storage,
                                           pointer)
        headers = Headers(archived.headers)
        cls = responsetypes.from_args(headers=headers, url=request.url, body=archived.body)
        return cls(url=request.url, status=archived.status, headers=headers,
                   body=archived.body, request=request)

    async def close(self) -> None:
        return None


class ReplaySpider(NewsSpider):
    """The news spider without discovery: the day's archived pages are its requests, fed a
    crawl at a time whenever the spider falls idle, the first crawl included."""

    name = "news-replay"
    follow_links = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listed = False  # the day's crawls have been listed
        self._crawls_left: deque[tuple[str, list[str]]] = deque()
        self._feeding: asyncio.Task[None] | None = None
        self._unreadable = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ReplaySpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._next_crawl, signal=signals.spider_idle)
        return spider  # type: ignore[return-value]

    @property
    def replayed_every_crawl(self) -> bool:
        """True once every archived crawl of the day has been fed whole: what an in-place
        replay needs before it may replace the day's records (with a normal finish)."""
        return (self._listed and not self._crawls_left and not self._unreadable
                and (self._feeding is None or self._feeding.done()))

    async def start(self) -> AsyncIterator[Request]:
        """No start requests: the day's crawls are listed here, and the idle spider is fed
        the first of them like every later one (``_next_crawl``)."""
        await self._open_run()
        day = self.archive.replay_day
        assert day is not None, "a replay needs NEWSARCHIVE_REPLAY_DAY (ReplayAddon)"
        names = {site.name for site in self.sites}
        crawls = await asyncio.to_thread(archived_crawls, self.archive.source_storage, day,
                                         names)
        self._crawls_left.extend(crawls)
        self._listed = True
        return
        yield  # an async generator that yields nothing

    def _next_crawl(self) -> None:
        """On spider_idle: every page fed so far has been through the pipelines (Scrapy's
        idle means no request scheduled or downloading and no response or item in
        progress), so the next archived crawl begins; the spider stays open while one is
        being fed, and closes after the last."""
        if self._feeding is not None and not self._feeding.done():
            raise DontCloseSpider
        if not self._crawls_left or self._unreadable:
            return
        crawl_id, keys = self._crawls_left.popleft()
        logger.info("replaying crawl %s (%d WARC files)", crawl_id, len(keys))
        self.crawler.signals.send_catch_log(archived_crawl_started, crawl_id=crawl_id)
        self._feeding = asyncio.ensure_future(self._feed(keys))
        raise DontCloseSpider

    async def _feed(self, keys: list[str]) -> None:
        """The crawl's pages into the scheduler, a WARC file at a time, read in a thread.
        A crawl's requests (a pointer each) are held in memory until they are taken."""
        engine = self.crawler.engine
        assert engine is not None
        for key in keys:
            captures = pages_of_file(self.archive.source_storage, key)
            try:
                while (capture := await asyncio.to_thread(next, captures, None)) is not None:
                    engine.crawl(self._replay_request(capture))
            except Exception as exc:
                await self._unreadable_file(key, exc)
                return
            finally:
                # a replay stopped early closes the WARC file it was reading
                await asyncio.to_thread(captures.close)

    async def _unreadable_file(self, key: str, exc: Exception) -> None:
        """A day rebuilt without one of its crawls would lose that crawl's versions: the
        replay is counted failed and stops, and an in-place replay keeps the day's records."""
        self._unreadable = True
        parts = parse_data_key(key)
        site = parts["site"] if parts else "?"
        self.errors.add(site, "unreadable_warc", key, f"{type(exc).__name__}: {exc}")
        logger.error("replay could not read %s: %s", key, exc)
        assert self.crawler.engine is not None
        await self.crawler.engine.close_spider_async(reason=UNREADABLE_CRAWL)

    def _replay_request(self, capture: ArchivedPage) -> Request:
        return Request(capture.url, callback=self.parse_page, dont_filter=True,
                       errback=self.on_error,
                       meta={SITE_META: capture.site, DEPTH_META: 0, REPLAY_META: capture.pointer,
                             WARC_META: capture.pointer, FETCHED_AT_META: capture.fetched_at,
                             RENDERED_META: capture.rendered})


class ReplayAddon:
    """Makes a crawl a replay: no network components, no raw writing. Listed after
    :class:`~crawler.addon.NewsarchiveAddon` in ``ADDONS``, so it overrides what the config
    implies (robots.txt, delays), with the same priority."""

    def update_settings(self, settings: BaseSettings) -> None:
        for name, value in _replay_settings().items():
            settings.set(name, value, priority=CONFIG_PRIORITY)


def offline_settings(handler: str) -> dict[str, Any]:
    """A crawl whose responses are captures read from WARC files by ``handler``, not fetched:
    no robots.txt, redirects, retries, politeness delays or rendering (the network is never
    touched)."""
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "ROBOTSTXT_OBEY": False,
        "REDIRECT_ENABLED": False,
        "RETRY_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        # nor a browser: it would fetch the pages' scripts and data from the network
        "NEWSARCHIVE_RENDER": False,
    }


def _replay_settings() -> dict[str, Any]:
    # the archive already holds these responses: no guard, no second WARC copy of them
    return {**offline_settings("crawler.replay.WarcReplayDownloadHandler"),
            "DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.SiteGuardMiddleware": None,
                                       "crawler.middlewares.WarcArchiveMiddleware": None}}
