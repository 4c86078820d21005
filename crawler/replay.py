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
import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes
from scrapy.settings import BaseSettings
from warcio.archiveiterator import ArchiveIterator

from archive.keys import day_prefix, parse_data_key
from archive.storage import Storage
from archive.warc import WarcPointer
from crawler.addon import CONFIG_PRIORITY
from crawler.archive_extension import ArchiveExtension, archive_of
from crawler.middlewares import FETCHED_AT_META, SITE_META, WARC_META
from crawler.spiders.news import DEPTH_META, NewsSpider

REPLAY_META = "newsarchive_replay"


@dataclass(frozen=True)
class Capture:
    site: str
    url: str
    fetched_at: str
    pointer: WarcPointer


def _iso_z(warc_date: str) -> str:
    return warc_date if warc_date.endswith("Z") else warc_date.replace("+00:00", "Z")


def day_captures(storage: Storage, day: str, sites: set[str] | None) -> Iterator[Capture]:
    """The 200 HTML responses in the day's WARC files, in file order, streamed."""
    for info in storage.list(day_prefix("raw", day)):
        parts = parse_data_key(info.key)
        if parts is None or parts["kind"] != "raw" or (sites and parts["site"] not in sites):
            continue
        with storage.open_read(info.key) as stream:
            records = ArchiveIterator(stream)
            for record in records:
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                mime = record.http_headers.get_header("Content-Type") or ""
                if record.http_headers.get_statuscode() != "200" or "html" not in mime.lower():
                    continue
                # the offset is known only once the record is read to its end
                record.content_stream().read()
                records.read_to_end(record)
                yield Capture(parts["site"], record.rec_headers.get_header("WARC-Target-URI"),
                              _iso_z(record.rec_headers.get_header("WARC-Date")),
                              WarcPointer(info.key, records.get_record_offset(),
                                          records.get_record_length()))


def read_capture(storage: Storage, pointer: WarcPointer) -> tuple[int, list, bytes]:
    """(status, headers, body as stored) of one archived response."""
    member = storage.read_range(pointer.filename, pointer.offset, pointer.length)
    record = next(iter(ArchiveIterator(io.BytesIO(member))))
    status = int(record.http_headers.get_statuscode())
    return status, list(record.http_headers.headers), record.raw_stream.read()


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
        status, headers, body = await asyncio.to_thread(read_capture,
                                                        self.archive.source_storage, pointer)
        scrapy_headers = Headers(headers)
        cls = responsetypes.from_args(headers=scrapy_headers, url=request.url, body=body)
        return cls(url=request.url, status=status, headers=scrapy_headers, body=body,
                   request=request)

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
        captures = day_captures(self.archive.source_storage, day, names)
        # the WARC files are read in a thread, one capture at a time: streamed, never on the
        # reactor thread
        while (capture := await asyncio.to_thread(next, captures, None)) is not None:
            yield Request(capture.url, callback=self.parse_page, dont_filter=True,
                          errback=self.on_error,
                          meta={SITE_META: capture.site, DEPTH_META: 0, REPLAY_META:
                                capture.pointer, WARC_META: capture.pointer,
                                FETCHED_AT_META: capture.fetched_at})


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
