"""Replay: the live crawl's spider and pipelines, fed from the archive's WARC files.

:class:`ReplayAddon` switches a crawl into a replay (``NEWSARCHIVE_REPLAY_DAY`` names the day).
The replay spider asks for every HTML page the day's WARC files hold with status 200; the
replay download handler, installed for http and https, answers each request from the WARC
record it names. Nothing goes to the network: no robots.txt, no DNS, no site guard, no WARC
writer (the raw archive is what is being read). Pages then take the live path: article
detection, extraction in the worker pool, dedup, records.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes
from scrapy.settings import BaseSettings

from archive.warc_reader import archived_pages, read_warc_response
from crawler.addon import CONFIG_PRIORITY
from crawler.archive_extension import ArchiveExtension, archive_of
from crawler.middlewares import FETCHED_AT_META, SITE_META, WARC_META
from crawler.spiders.news import DEPTH_META, NewsSpider

REPLAY_META = "newsarchive_replay"


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
        archived = await asyncio.to_thread(read_warc_response, self.archive.source_storage,
                                           pointer)
        headers = Headers(archived.headers)
        cls = responsetypes.from_args(headers=headers, url=request.url, body=archived.body)
        return cls(url=request.url, status=archived.status, headers=headers,
                   body=archived.body, request=request)

    async def close(self) -> None:
        return None


class ReplaySpider(NewsSpider):
    """The news spider without discovery: the day's archived pages are its start requests."""

    name = "news-replay"
    follow_links = False

    async def _save_poll_state(self, reason: str) -> None:
        """A replay fetches nothing: the polling state stays as the crawls left it."""

    async def start(self) -> AsyncIterator[Request]:
        await self._open_run()
        day = self.archive.replay_day
        assert day is not None, "a replay needs NEWSARCHIVE_REPLAY_DAY (ReplayAddon)"
        names = {site.name for site in self.sites}
        captures = archived_pages(self.archive.source_storage, day, names)
        # the WARC files are read in a thread, one capture at a time: streamed, never on the
        # reactor thread
        try:
            while (capture := await asyncio.to_thread(next, captures, None)) is not None:
                yield Request(capture.url, callback=self.parse_page, dont_filter=True,
                              errback=self.on_error,
                              meta={SITE_META: capture.site, DEPTH_META: 0, REPLAY_META:
                                    capture.pointer, WARC_META: capture.pointer,
                                    FETCHED_AT_META: capture.fetched_at})
        finally:
            # a replay stopped early closes the WARC file it was reading
            await asyncio.to_thread(captures.close)


class ReplayAddon:
    """Makes a crawl a replay: no network components, no raw writing. Listed after
    :class:`~crawler.addon.NewsarchiveAddon` in ``ADDONS``, so it overrides what the config
    implies (robots.txt, delays), with the same priority."""

    def update_settings(self, settings: BaseSettings) -> None:
        for name, value in _replay_settings().items():
            settings.set(name, value, priority=CONFIG_PRIORITY)


def _replay_settings() -> dict[str, Any]:
    handler = "crawler.replay.WarcReplayDownloadHandler"
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "ROBOTSTXT_OBEY": False,
        "DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.SiteGuardMiddleware": None,
                                   "crawler.middlewares.WarcArchiveMiddleware": None},
        "REDIRECT_ENABLED": False,
        "RETRY_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    }
