"""Deduplication: article ids, versions, exact and near-duplicate text (CONTRACT §5).

The decisions are made here against the dedup index; where the index comes from and how the
state is stored is ``pipelines/dedup_state.py``. The site's date window and language filter
(``crawler/filters.py``) are applied here first, since the window spares the articles the
index knows.

Versions come from the article, not from its renderings. A page whose fetched URL is not its
canonical URL (both normalised) is a *variant*: an AMP, print or mobile copy, whose extraction
differs from the article's by what its template leaves out (a credit line, a caption). The
state remembers, per article, whether its latest version was made from a variant (the top bit
of the stored version), and:

- a variant never makes a version of an article whose latest version came from its canonical
  page, nor of one whose canonical page came in this run: outcome ``variant``;
- an article only ever seen through a variant gets versions when that variant's text changes
  (the copy is all the archive has of it);
- when the latest version came from a variant and the canonical page arrives with another
  text, the canonical page's text becomes a new version (once: from then on the first rule
  holds). The canonical page is the article itself, and leaving the copy's text as the
  article's latest would make every later fetch of the canonical page look like a change.
- within a run, a variant that could make a record is held until the run's canonical pages
  are in (Scrapy's ``spider_idle``; in a replay, the end of each archived crawl), so that the
  canonical page wins whichever is extracted first; one record per article per run as before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, DropItem

from archive.keys import link_repairs_key, links_checked_key
from archive.leases import settle_dead_holder
from archive.link_repairs import LinkRepair, encode_repairs
from archive.records import Record
from archive.storage import StorageError
from crawler.archive_extension import ArchiveExtension, archive_of
from crawler.cputime import cpu_time
from crawler.fetch_state import run_clock
from crawler.filters import other_language, too_old, undated
from crawler.items import ArticlePage, Filtered, ItemHeld
from crawler.signals import archived_crawl_started, records_committed
from crawler.urls import normalize_url
from pipelines.dedup_index import (
    DedupIndex,
    Known,
    StateEntry,
    day_number,
    original_among,
    published_seconds,
)
from pipelines.dedup_state import DedupState
from pipelines.extract import ExtractedArticle
from pipelines.extraction import EXTRACTOR, Extraction
from pipelines.link_pass import copies_of, hour_repairs
from pipelines.orphans import recover_segments

logger = logging.getLogger(__name__)
def article_id(canonical: str) -> str:
    """16 hex digits (64 bits) of BLAKE2b over the canonical URL: stable and compact."""
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).hexdigest()


def hash_prefix(content_hash: str) -> int:
    return int(content_hash[:16], 16)


def state_content(extraction: Extraction) -> int:
    """The text an article is known by in the dedup state: its body *before* the site's
    learned template was removed. The template changes as it is learned (a line reaches the
    threshold, a stale one is forgotten): known by its cleaned text, an unchanged article
    would make a new version whenever its site's template moved. The record's own
    ``content_hash`` stays that of its ``text``."""
    return hash_prefix(extraction.untemplated_hash or extraction.content_hash)


def is_variant(fetched_url: str, canonical: str) -> bool:
    """Whether a page is a rendering of its article under another URL (AMP, print, mobile):
    its fetched URL (after redirects), normalised as canonical URLs are, is not the canonical
    URL. Tracking parameters and fragments do not make a variant, and neither do the scheme,
    a leading ``www.`` or a trailing slash: many sites declare an https or www canonical for
    the very page they serve, and those pages are the article, not a copy of it."""
    return _page_key(normalize_url(fetched_url)) != _page_key(canonical)


def _page_key(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    return parts.netloc.removeprefix("www."), parts.path.rstrip("/"), parts.query


@dataclass
class RecordToStore:
    """The dedup stage's output: a record to write into the fetch day's record file, and the
    state entry that will say it was written."""

    day: str
    record: Record
    state: StateEntry


class DedupPipeline:
    def __init__(self, crawler: Crawler, archive: ArchiveExtension) -> None:
        self.crawler = crawler
        self.archive = archive
        self.index = DedupIndex()
        self._recorded_this_run: set[int] = set()
        self._canonical_this_run: set[int] = set()  # ids whose canonical page came this run
        self._held: list[ExtractedArticle] = []  # variants waiting for the canonical pages
        self._releasing: set[asyncio.Future] = set()
        self._windows_loaded = False
        # links to set on records already written (by site, copy id, text hash)
        self.repairs: dict[tuple[str, int, int], LinkRepair] = {}
        self.state: DedupState | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        pipeline = cls(crawler, archive_of(crawler))
        crawler.signals.connect(pipeline._next_archived_crawl, signal=archived_crawl_started)
        crawler.signals.connect(pipeline.store_repairs, signal=records_committed)
        crawler.signals.connect(pipeline._spider_idle, signal=signals.spider_idle)
        return pipeline

    def _next_archived_crawl(self, crawl_id: str) -> None:
        """A replay moves on to the day's next crawl: a new run, as far as dedup can tell
        (the last crawl's held variants are decided first, as that crawl's)."""
        self._release_held()
        self._recorded_this_run.clear()
        self._canonical_this_run.clear()

    def _spider_idle(self) -> None:
        """Every page of the run has been through the pipelines: the held variants are
        decided, and the spider stays open until the records they make are stored."""
        self._release_held()
        self._releasing = {task for task in self._releasing if not task.done()}
        if self._releasing:
            raise DontCloseSpider

    async def open_spider(self) -> None:
        await self.archive.ready()
        # these sites' history and every site's recent window, compacted first (crawls only)
        self.index = await asyncio.to_thread(self._load_index)
        # of these sites; the window of every site goes on loading in a thread
        logger.info("dedup state: %d archived articles of these sites known (%d bytes of "
                    "tables)", len(self.index.tables), self.index.tables.nbytes())

    def _load_index(self) -> DedupIndex:
        archive = self.archive
        assert archive.source_storage is not None and archive.spool is not None
        today = archive.replay_day or archive.started_at[:10]
        recent_from = (dt.date.fromisoformat(today)
                       - dt.timedelta(days=archive.config.crawl.near_duplicate_days)).isoformat()
        if archive.replay_day is None:
            for site, lease in sorted(archive.died_runs.items()):
                try:
                    recover_segments(archive.source_storage, site, str(lease.took_over),
                                     is_variant)
                except (StorageError, OSError, ValueError) as exc:
                    logger.error("site %s: the state of the run %s that died could not be "
                                 "recovered (its records may be stored again): %s", site,
                                 lease.took_over, exc)
                else:
                    settle_dead_holder(lease)
        # where the dedup state is read: the archive a replay reads from, else this one
        state = self.state = DedupState.beside(archive.source_storage, archive.spool)
        sites = [site.name for site in archive.crawl_sites]
        # the run's clock decides which window hours are closed (NEWSARCHIVE_NOW: tests)
        now = dt.datetime.fromtimestamp(run_clock(self.crawler.settings["NEWSARCHIVE_NOW"]),
                                        dt.UTC)
        return state.load(archive.replay_set_aside(), recent_from, sites=sites, now=now,
                          compact=archive.replay_day is None)

    async def store_repairs(self, reason: str) -> None:
        """Queue the run's link repairs behind its records, one request a site; first the
        pass over the window hours no run has checked yet (in a thread: it searches the index),
        each hour's marker queued behind its repairs."""
        checked: list[tuple[str, int]] = []
        if self.archive.replay_day is None and self.state is not None:
            try:
                checked = await asyncio.to_thread(self._check_hours)
            except (StorageError, OSError, ValueError) as exc:
                logger.error("near-duplicate links of the window's new hours not checked "
                             "(the next run tries again): %s", exc)
        by_site: dict[str, list[LinkRepair]] = {}
        for repair in self.repairs.values():
            if self._may_repair(repair):
                by_site.setdefault(repair.site, []).append(repair)
        for site, repairs in sorted(by_site.items()):
            self.archive.enqueue_bytes(link_repairs_key(site, self.archive.crawl_id),
                                       encode_repairs(repairs))
            logger.info("near-duplicate links: %d record(s) of %s to link to their "
                        "original, stored for the next run of %s", len(repairs), site, site)
        for day, hour in checked:
            self.archive.enqueue_bytes(links_checked_key(day, hour),
                                       json.dumps({"crawl_id": self.archive.crawl_id}).encode())

    def _check_hours(self) -> list[tuple[str, int]]:
        assert self.state is not None
        hours = self.state.unchecked_hours(self.archive.started_at[:10])
        articles = (known for _, _, table in hours for known in table.known())
        for repair in hour_repairs(self.index, articles):
            self.repairs.setdefault((repair.site, repair.id, repair.content), repair)
        return [(day, hour) for day, hour, _ in hours]

    def _may_repair(self, repair: LinkRepair) -> bool:
        """A replay repairs only the records it rebuilds: the archive's others are as their
        crawls (and earlier repairs) left them."""
        archive = self.archive
        return archive.replay_day is None or (
            repair.day == archive.replay_day
            and repair.site in {site.name for site in archive.crawl_sites})

    def _count(self, site: str, outcome: str) -> None:
        self.crawler.stats.inc_value(f"newsarchive/{site}/articles/{outcome}")

    def _decide(self, page: ArticlePage, canonical: str, own: Known, simhash: int | None
                ) -> tuple[int, int | None, list[Known]]:
        """(version, near-duplicate id, near-copies) of a record to write, or DropItem with
        the outcome."""
        id_, content = own.id, own.content
        previous = self.index.latest(id_)
        if id_ in self._recorded_this_run:
            self._count(page.site, "duplicate")
            raise DropItem(f"already recorded in this run: {canonical}")
        if previous is not None and previous.content == content:
            self._count(page.site, "unchanged")
            raise DropItem(f"unchanged: {canonical}")
        self._drop_rendering(page, canonical, id_, previous)
        if previous is None and self.index.id_with_content(content) is not None:
            self._count(page.site, "duplicate")
            raise DropItem(f"same text already archived under another URL: {page.url}")
        copies = self.index.near_copies(own.sketch, exclude=id_)
        near = self._original(own, copies, simhash)
        outcome = "updated" if previous else ("near_duplicate" if near is not None else "new")
        self._count(page.site, outcome)
        return (previous.version + 1 if previous else 1), near, copies

    def _original(self, own: Known, copies: list[Known], simhash: int | None) -> int | None:
        """The original this text is a copy of; None: it is an original. Of near-identical
        texts the original is the lowest ranked (``dedup_index.original_rank``: published
        first, else archived first)."""
        if not copies:  # an archive of state format 1 has SimHashes only
            return None if simhash is None else self.index.near_simhash(simhash, own.id)
        original = original_among(own, copies)
        return None if original is own else original.id

    def _known(self, item: ExtractedArticle, published: int | None) -> Known:
        """The article as near-copies rank it: a new version by its first version's day
        and its earliest published time (a CMS may move the date when it updates a page)."""
        page, extraction = item.page, item.extraction
        id_ = int(article_id(item.canonical_url), 16)
        today = day_number(page.fetched_at[:10])
        since, previous = None, self.index.latest(id_)
        if previous is not None:  # older than the window if the index has no day of it
            first = self.index.first_day(id_)
            since = 0 if first is None else first
            dates = [p for p in (published, previous.published) if p is not None]
            published = min(dates, default=None)
        return Known(id_, state_content(extraction), published, today, page.site,
                     extraction.sketch, since)

    def _drop_rendering(self, page: ArticlePage, canonical: str, id_: int,
                        previous: StateEntry | None) -> None:
        """A variant never makes a version of an article whose latest version came from its
        canonical page, nor of one whose canonical page came in this run."""
        if not is_variant(page.url, canonical):
            return
        if (previous is not None and not previous.variant) or id_ in self._canonical_this_run:
            self._count(page.site, "variant")
            raise DropItem(f"a copy of an unchanged article: {page.url}")

    def _may_hold(self, item: ExtractedArticle, id_: int, content: int) -> bool:
        """Whether a page is a variant that could make a record now: it then waits for the
        run's canonical pages, which take precedence whatever order they come in."""
        if id_ in self._recorded_this_run or id_ in self._canonical_this_run:
            return False
        if not is_variant(item.page.url, item.canonical_url):
            return False
        previous = self.index.latest(id_)
        return previous is None or (previous.variant and previous.content != content)

    def _release_held(self) -> None:
        """Decides the held variants (in the order they came) and sends the records they make
        back through the pipelines to be stored; a dropped one is reported dropped, as
        Scrapy would, so the fetch state knows its page is done with."""
        held, self._held = self._held, []
        engine = self.crawler.engine
        for item in held:
            try:
                stored = self._decided(item)
            except DropItem as exc:
                logger.debug("dropped %s: %s", item.page.url, exc)
                self.crawler.signals.send_catch_log(
                    signals.item_dropped, item=item, response=None,
                    spider=self.crawler.spider, exception=exc)
                continue
            assert engine is not None
            self._releasing.add(asyncio.ensure_future(
                engine.scraper.start_itemproc_async(stored, response=None)))

    def _record(self, item: ExtractedArticle, version: int, near: int | None) -> Record:
        page, extraction = item.page, item.extraction
        extras = extraction.extras
        return Record(
            id=article_id(item.canonical_url),
            url=page.url,
            canonical_url=item.canonical_url,
            site=page.site,
            title=extraction.title,
            author=extraction.author,
            published=extraction.published,
            language=extraction.language,
            text=extraction.text,
            content_hash=extraction.content_hash,
            version=version,
            near_duplicate_of=f"{near:016x}" if near is not None else None,
            fetched_at=page.fetched_at,
            crawl_id=self.archive.crawl_id,
            extractor=EXTRACTOR,
            warc_filename=page.warc_filename,
            warc_offset=page.warc_offset,
            warc_length=page.warc_length,
            image=extras.image,
            image_caption=extras.image_caption,
            description=extras.description,
            tags=extras.tags,
            modified=extras.modified,
            access=extras.access,
        )

    async def process_item(self, item: object) -> object:
        if not isinstance(item, ExtractedArticle):
            return item
        if not self._windows_loaded:
            # the recent window of every site is still loading in a thread: wait for it off
            # the reactor (joining that thread here would stop the whole crawl meanwhile)
            await asyncio.to_thread(lambda: self.index.windows)
            self._windows_loaded = True
        id_ = int(article_id(item.canonical_url), 16)
        if self._may_hold(item, id_, state_content(item.extraction)):
            # the page's bytes are extracted and in the WARC already: not kept meanwhile
            self._held.append(replace(item, page=replace(item.page, body=b"")))
            raise ItemHeld(f"held until the run's canonical pages are in: {item.page.url}")
        return self._decided(item)

    def _decided(self, item: ExtractedArticle) -> RecordToStore:
        """The record an extracted page makes, or DropItem with the outcome."""
        page, extraction = item.page, item.extraction
        published = published_seconds(extraction.published)
        own = self._known(item, published)
        self._filter(item, own.id)
        variant = is_variant(page.url, item.canonical_url)
        if not variant:
            self._canonical_this_run.add(own.id)
        with cpu_time(self.crawler.stats, "dedup"):
            version, near, copies = self._decide(page, item.canonical_url, own,
                                                 extraction.simhash)
            entry = StateEntry(own.id, own.content, version, extraction.sketch, published,
                               variant=variant)
            self.index.add(entry, page.site, page.fetched_at[:10], since=own.since,
                           published=own.published)
            if near is None and version == 1:
                # an original archived after some of its copies: their records get the link
                for repair in copies_of(self.index, own, copies):
                    self.repairs[(repair.site, repair.id, repair.content)] = repair
        self._recorded_this_run.add(own.id)
        self._count_unjudged(item)
        return RecordToStore(page.fetched_at[:10], self._record(item, version, near), entry)

    def _filter(self, item: ExtractedArticle, id_: int) -> None:
        """Filtered (outcome ``other_language`` or ``too_old``) when the site's filters refuse
        the page. The window applies to new articles only: a new version of an article the
        archive holds (a correction) is archived however old the article has grown. The
        language filter applies to every page: a site's list says what it archives now."""
        page, extraction = item.page, item.extraction
        if id_ in self._recorded_this_run:
            return  # admitted already: the duplicate it is, is counted as such
        if other_language(extraction.language, page.languages):
            self._count(page.site, "other_language")
            raise Filtered("other_language", f"in {extraction.language}, not in "
                           f"{', '.join(page.languages)}: {page.url}")
        # a guessed date (a related story's, an "originally published" line) never refuses
        if self.index.latest(id_) is None and not extraction.published_guessed and \
                too_old(extraction.published, page.window_start):
            self._count(page.site, "too_old")
            raise Filtered("too_old", f"published {extraction.published}, before the site's "
                           f"date window: {page.url}")

    def _count_unjudged(self, item: ExtractedArticle) -> None:
        """Records the filters kept because the page gave them nothing to judge by."""
        page, extraction = item.page, item.extraction
        stats = self.crawler.stats
        if page.window_start is not None and (undated(extraction.published)
                                              or extraction.published_guessed):
            stats.inc_value(f"newsarchive/{page.site}/kept_unknown/date")
        if page.languages and extraction.language is None:
            stats.inc_value(f"newsarchive/{page.site}/kept_unknown/language")
