"""ExtractPipeline: article pages in, extracted articles out, computed off the reactor thread.

trafilatura is CPU-bound; run inline it would stall every download behind it and use one core.
Pages go to a :class:`ProcessPool` (one worker per core by default); the pipeline awaits the
result, so Scrapy's CONCURRENT_ITEMS and scraper-slot limits give natural backpressure.
The page's declared canonical URL is read by the worker too, from the tree it parses anyway:
the reactor thread then parses an article page only when it needs its links.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import NoReturn

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from archive.config import Config
from crawler.addon import config_of
from crawler.errors import ErrorLog, error_log
from crawler.fetch_state import FetchState, fetch_state_of
from crawler.items import ArticlePage
from crawler.urls import canonical_url
from crawler.walls import Wall
from pipelines.extraction import Extraction, read_page
from pipelines.nesting import MAX_DEPTH, PARSER_DEPTH_LIMIT
from pipelines.template_learning import SiteTemplates, site_templates_of
from pipelines.workers import PoolLimits, ProcessPool, WorkerError

logger = logging.getLogger(__name__)


@dataclass
class ExtractedArticle:
    page: ArticlePage
    extraction: Extraction
    canonical_url: str  # the basis of the article's id (crawler.urls.canonical_url)


class ExtractPipeline:
    def __init__(self, crawler: Crawler, config: Config, errors: ErrorLog,
                 fetch_state: FetchState | None = None) -> None:
        self.crawler = crawler
        self.config = config
        self.errors = errors
        self.fetch_state = fetch_state  # None in a replay
        crawl = config.crawl
        self.limits = PoolLimits(crawl.extract_workers, crawl.extract_timeout,
                                 crawl.extract_max_tasks, crawl.extract_memory_mb)
        self.pool: ProcessPool | None = None
        self.templates: SiteTemplates | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler, config_of(crawler.settings), error_log(crawler),
                   fetch_state_of(crawler))

    def open_spider(self) -> None:
        self.pool = ProcessPool(read_page, self.limits)
        self.templates = site_templates_of(self.crawler)

    async def close_spider(self) -> None:
        if self.pool is not None:
            # joins the worker threads (each may wait for its process): not on the reactor
            await asyncio.to_thread(self.pool.close)

    async def process_item(self, item: object) -> object:
        if not isinstance(item, ArticlePage):
            return item
        assert self.pool is not None
        stats = self.crawler.stats
        template: frozenset[int] = frozenset()
        if self.templates is not None:
            await self.templates.ready()
            template = self.templates.current(item.site, item.url)
        future = self.pool.submit(item.body, item.url, item.content_type, template)
        try:
            extraction = await asyncio.wrap_future(future)
        except WorkerError as exc:
            self._count(item, f"extract_{exc.kind}", str(exc), level=logging.ERROR)
            raise DropItem(f"extraction {exc.kind}: {item.url}") from None
        if isinstance(extraction, Wall):
            self._walled(item, extraction)
        if extraction is None:
            # a JavaScript-only page, a paywall stub, a redesign the extractor misses
            stats.inc_value(f"newsarchive/{item.site}/articles/empty")
            self.errors.add(item.site, "empty", item.url,
                                    "no article text found (JavaScript-only page?)")
            logger.warning("empty %s: no article text found", item.url)
            raise DropItem(f"no article body: {item.url}")
        if extraction.flattened_depth:
            self._count(item, "too_deeply_nested",
                        f"nested {extraction.flattened_depth} levels deep (the HTML parser "
                        f"reads {PARSER_DEPTH_LIMIT}); flattened to {MAX_DEPTH} and read")
        if self.templates is not None:
            self.templates.extracted(item.site, item.url, extraction.line_hashes)
        domains = self.config.site(item.site).domains
        return ExtractedArticle(item, extraction,
                                canonical_url(item.url, extraction.declared_canonical, domains))

    def _walled(self, item: ArticlePage, wall: Wall) -> NoReturn:
        """A bot wall where the article was: counted (the yield alert watches the share),
        kept raw only, and left for the next run to fetch again."""
        self.crawler.stats.inc_value(f"newsarchive/{item.site}/articles/blocked")
        self.errors.add(item.site, "bot_wall", item.url,
                        f"{wall.kind} page ({wall.marker}) served instead of the article")
        logger.warning("bot_wall %s: %s page (%s); not archived as an article", item.url,
                       wall.kind, wall.marker)
        if self.fetch_state is not None:
            self.fetch_state.walled(item.site, item.url)
        raise DropItem(f"bot wall: {item.url}")

    def _count(self, item: ArticlePage, kind: str, message: str,
               level: int = logging.WARNING) -> None:
        self.crawler.stats.inc_value(f"newsarchive/{item.site}/errors/{kind}")
        self.errors.add(item.site, kind, item.url, message)
        logger.log(level, "%s %s: %s", kind, item.url, message)
