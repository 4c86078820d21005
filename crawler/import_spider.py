"""Import: WARC files made by anyone, fed through the crawl's spider and pipelines.

``newsarchive import --site NAME FILE...`` is a crawl whose network is a set of foreign WARC
files (``archive/foreign_warc.py``). :class:`ImportAddon` switches a crawl into an import: the
download handler answers each request with the capture it carries, nothing else is sent (no
robots.txt, no DNS, no site guard, no fetch state), and the project's own WARC writer stays on,
so every imported response is copied into ``raw/`` with its capture's WARC-Date. Records and
raw files are dated by that date (``CAPTURED_AT_META``), so a capture of 2024-03-01 lands under
``date=2024-03-01`` and its record's ``warc_*`` fields point into the archive itself: replay,
``replay --url`` and pywb work on imported days as on crawled ones, whatever the foreign file
was (whole-file gzip cannot be range-read; a Common Crawl file may be gone next year).

Captures are fed a day at a time, in file order: when the capture day changes, the spider waits
until the pipelines are idle, commits the day's open files and announces the next day with
``archived_crawl_started`` (dedup's "one record per article per run" starts afresh, so a day's
change of an article is a new version, as a crawl of each day would have made it).
Only 200 HTML responses of the site's domains are imported; the rest is counted under
``skipped`` in the run report, and damaged stretches of a file under the error kind
``bad_warc``. A capture the archive holds already (``archive/imported.py``) is skipped.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes
from scrapy.settings import BaseSettings

from archive.config import SiteConfig
from archive.foreign_warc import Capture, Damaged, Skipped, read_foreign_warc
from archive.imported import KnownCaptures, capture_identity
from crawler.addon import CONFIG_PRIORITY
from crawler.middlewares import CAPTURED_AT_META, SITE_META
from crawler.replay import offline_settings
from crawler.signals import archived_crawl_started
from crawler.spiders.news import DEPTH_META, NewsSpider
from crawler.urls import same_site
from crawler.wire import WIRE_META, WireHeaders, host_header

logger = logging.getLogger(__name__)

IMPORT_META = "newsarchive_import"  # the Capture a request stands for
# captures fed and not yet answered: bounds the memory that bodies waiting in the scheduler take
MAX_WAITING = 64


class ImportDownloadHandler:
    """Answers an import request with the capture it carries; anything else is refused,
    unsent. The capture's header lines go to the WARC writer as they were archived."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ImportDownloadHandler:
        return cls(crawler)

    async def download_request(self, request: Request) -> Response:
        capture: Capture | None = request.meta.pop(IMPORT_META, None)
        if capture is None:
            raise IgnoreRequest(f"an import never goes to the network: {request.url}")
        spider = self.crawler.spider
        if isinstance(spider, ImportSpider):
            spider.capture_taken()
        # the request record is rebuilt: foreign files keep it apart, when at all
        request.meta[WIRE_META] = WireHeaders([(b"Host", host_header(request.url))],
                                              capture.headers)
        headers = Headers(capture.headers)
        cls = responsetypes.from_args(headers=headers, url=request.url, body=capture.body)
        return cls(url=request.url, status=capture.status, headers=headers, body=capture.body,
                   request=request, protocol=capture.protocol,
                   ip_address=_address(capture.ip_address))

    async def close(self) -> None:
        return None


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text) if text else None
    except ValueError:
        return None


def is_html_200(capture: Capture) -> bool:
    return capture.status == 200 and "html" in capture.header("Content-Type").lower()


class ImportSpider(NewsSpider):
    """The news spider without discovery: the captures of the files in
    ``NEWSARCHIVE_IMPORT_FILES`` are its requests, fed a capture day at a time."""

    name = "news-import"
    follow_links = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.days: set[str] = set()  # capture days met, imported or found imported already
        self._feeding: asyncio.Task[None] | None = None
        self._day: str | None = None
        self._day_done: asyncio.Future[None] | None = None
        self._waiting = 0
        self._room = asyncio.Event()
        self._broke = False  # the feeder stopped at an unexpected error

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ImportSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._stop_feeding, signal=signals.spider_closed)
        return spider  # type: ignore[return-value]

    @property
    def read_every_file(self) -> bool:
        """True once every file was read to its end (damaged stretches counted, not fatal)."""
        return (self._feeding is not None and self._feeding.done()
                and not self._feeding.cancelled() and not self._broke)

    async def start(self) -> AsyncIterator[Request]:
        """No start requests: the files are read by a task that feeds the engine."""
        await self._open_run()
        files = [Path(name) for name in self.crawler.settings.getlist("NEWSARCHIVE_IMPORT_FILES")]
        if self.sites:  # none when another crawl holds the site's lease
            self._feeding = asyncio.ensure_future(self._feed(self.sites[0], files))
        return
        yield  # an async generator that yields nothing

    def _idle(self) -> None:
        """On spider_idle: everything fed so far has been through the pipelines. A feeder
        waiting at a day's end may go on; the spider closes once every file is read."""
        if self._feeding is None or self._feeding.done():
            return
        if self._day_done is not None and not self._day_done.done():
            self._day_done.set_result(None)
        raise DontCloseSpider

    def _stop_feeding(self) -> None:
        """A run stopped early (SIGTERM, Ctrl-C) stops reading; what it fed is stored."""
        if self._feeding is not None:
            self._feeding.cancel()

    def capture_taken(self) -> None:
        self._waiting -= 1
        if self._waiting < MAX_WAITING:
            self._room.set()

    async def _feed(self, site: SiteConfig, files: list[Path]) -> None:
        known = KnownCaptures(self.archive.storage, site.name)
        try:
            for path in files:
                await self._feed_file(site, path, known)
        except Exception as exc:  # the run must end with what it stored, not hang open
            logger.exception("import stopped at an unexpected error")
            self._broke = True
            self.errors.add(site.name, "download_failed", "-", f"{type(exc).__name__}: {exc}")

    async def _feed_file(self, site: SiteConfig, path: Path, known: KnownCaptures) -> None:
        max_body = int(self.config.crawl.max_page_mb * 1024 * 1024)
        with open(path, "rb") as fh:
            items = read_foreign_warc(fh, max_body)
            while (item := await asyncio.to_thread(self._next_item, items, site, known)):
                if isinstance(item, Damaged):
                    where = f"{path}@{item.offset}"
                    self.errors.add(site.name, "bad_warc", where, item.message)
                    logger.warning("damaged WARC data at %s: %s", where, item.message)
                elif isinstance(item, Skipped):
                    self._skip(site.name, item.reason)
                else:
                    await self._feed_capture(site, item)

    def _next_item(self, items: Iterator[Capture | Skipped | Damaged], site: SiteConfig,
                   known: KnownCaptures) -> Capture | Skipped | Damaged | None:
        """In a thread: the next item of the file, with the site's checks made (the
        archive's indexes are read here)."""
        item = next(items, None)
        if not isinstance(item, Capture):
            return item
        if not same_site(item.url, site.domains):
            return Skipped("other_host", item.url)
        if not is_html_200(item):
            return Skipped("not_html_200", item.url)
        self.days.add(item.day)
        if known.seen(item.day, capture_identity(item.url, item.warc_date, item.digest)):
            return Skipped("imported_before", item.url)
        return item

    def _skip(self, site: str, reason: str) -> None:
        self.crawler.stats.inc_value(f"newsarchive/{site}/skipped/{reason}")

    async def _feed_capture(self, site: SiteConfig, capture: Capture) -> None:
        if capture.day != self._day:
            if self._day is not None:
                await self._next_day(capture.day)
            self._day = capture.day
        while self._waiting >= MAX_WAITING:
            self._room.clear()
            await self._room.wait()
        self._waiting += 1
        engine = self.crawler.engine
        assert engine is not None
        engine.crawl(Request(capture.url, callback=self.parse_page, errback=self.on_error,
                             dont_filter=True,
                             meta={SITE_META: site.name, DEPTH_META: 0, IMPORT_META: capture,
                                   CAPTURED_AT_META: capture.warc_date}))

    async def _next_day(self, day: str) -> None:
        """Wait until the day fed so far is through the pipelines, store its files (so no
        more than one day's files are open), then start the next day as a new run."""
        engine = self.crawler.engine
        assert engine is not None
        if not engine.spider_is_idle():
            # else the next spider_idle would come only at Scrapy's 5-second heartbeat
            self._day_done = asyncio.get_running_loop().create_future()
            await self._day_done
        session = self.archive.session
        assert session is not None
        await asyncio.to_thread(session.commit_all)
        logger.info("importing captures of %s", day)
        self.crawler.signals.send_catch_log(archived_crawl_started, crawl_id=day)


class ImportAddon:
    """Makes a crawl an import: no network components, the WARC writer kept. Listed after
    :class:`~crawler.addon.NewsarchiveAddon` in ``ADDONS``, with the same priority."""

    def update_settings(self, settings: BaseSettings) -> None:
        for name, value in _import_settings().items():
            settings.set(name, value, priority=CONFIG_PRIORITY)
        # the revisit policy is about the live site: old captures must not make it skip pages
        off = {"EXTENSIONS": "crawler.fetch_state.FetchState",
               "DOWNLOADER_MIDDLEWARES": "crawler.middlewares.SiteGuardMiddleware"}
        for name, component in off.items():
            settings.set(name, {**settings.getdict(name), component: None},
                         priority=CONFIG_PRIORITY)


def _import_settings() -> dict[str, Any]:
    return offline_settings("crawler.import_spider.ImportDownloadHandler")
