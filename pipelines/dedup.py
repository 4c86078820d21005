"""Deduplication: article ids, versions, exact and near-duplicate text (CONTRACT §5).

State lives with the archive, not on one disk: every crawl appends one immutable segment
``state/dedup/date=D/site=S/<crawl_id>.bin`` per fetch day and site, listing what it archived
(28 bytes an article), written only after
its record files (the spool uploads in order), so the state never claims a record that is not
there. Loading reads every segment, cached locally by name since segments never change. Two
machines crawling into one bucket on different days therefore agree on what is new.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from archive.keys import segment_partition
from archive.storage import ObjectInfo, Storage, StorageError
from crawler.archive_extension import ArchiveExtension, archive_of
from crawler.cputime import cpu_time
from crawler.items import ArticlePage
from pipelines.dedup_index import (
    DedupIndex,
    StateEntry,
    TableBuilder,
    decode_segment,
)
from pipelines.extract import ExtractedArticle
from pipelines.extraction import EXTRACTOR

logger = logging.getLogger(__name__)
def article_id(canonical: str) -> str:
    """16 hex digits (64 bits) of BLAKE2b over the canonical URL: stable and compact."""
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).hexdigest()


def hash_prefix(content_hash: str) -> int:
    return int(content_hash[:16], 16)


class DedupState:
    """Segments in the archive under ``state/dedup/``, with a local cache of their bytes."""

    PREFIX = "state/dedup/"

    def __init__(self, storage: Storage, cache_dir: Path) -> None:
        self.storage = storage
        self.cache_dir = cache_dir

    def load(self, set_aside: tuple[str, frozenset[str]] | None = None,
             recent_from: str = "0000-00-00") -> DedupIndex:
        """Everything archived; near-duplicate candidates from days ``recent_from`` on. With
        ``set_aside=(day, sites)`` (a replay of those sites on that day), what the archive knew
        just before that day's crawls of those sites: later days and that day's segments of
        those sites are left out."""
        builder = TableBuilder()
        try:
            segments = list(self.storage.list(self.PREFIX))
        except StorageError as exc:
            logger.error("dedup state unreadable from the archive (%s): using this machine's "
                         "cache of it", exc)
            segments = self._cached_segments()
        for info in segments:
            partition = segment_partition(info.key)
            if partition is None:
                continue
            if set_aside is not None:
                day, site = partition
                if day > set_aside[0] or (day == set_aside[0] and site in set_aside[1]):
                    continue
            builder.add_segment(self._segment_bytes(info.key, info.size),
                                recent=partition[0] >= recent_from)
        return DedupIndex(builder.build())

    def _cached_segments(self) -> list[ObjectInfo]:
        if not self.cache_dir.is_dir():
            return []
        return [ObjectInfo(self.PREFIX + path.name.replace("_", "/", 2), path.stat().st_size)
                for path in sorted(self.cache_dir.glob("date=*.bin"))]

    def _segment_bytes(self, key: str, size: int) -> bytes:
        cached = self.cache_dir / key[len(self.PREFIX):].replace("/", "_")
        if cached.is_file() and cached.stat().st_size == size:
            return cached.read_bytes()
        data = self.storage.get_bytes(key)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(cached)
        return data


@dataclass
class ArticleRecord:
    """A record ready to be written, and the state entry that says it was."""

    site: str
    day: str
    fields: dict[str, Any]
    state: StateEntry


class DedupPipeline:
    def __init__(self, crawler: Crawler, archive: ArchiveExtension) -> None:
        self.crawler = crawler
        self.archive = archive
        self.index = DedupIndex()
        self._recorded_this_run: set[int] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        return cls(crawler, archive_of(crawler))

    async def open_spider(self) -> None:
        await self.archive.ready()
        # every segment ever written is listed and read (or taken from the local cache)
        self.index = await asyncio.to_thread(self._load_index)
        logger.info("dedup state: %d archived articles known (%d bytes of tables)",
                    len(self.index), self.index.tables.nbytes())

    def _load_index(self) -> DedupIndex:
        archive = self.archive
        assert archive.source_storage is not None and archive.spool is not None
        # where the dedup state is read: the archive a replay reads from, else this one
        state = DedupState(archive.source_storage, archive.spool.root / "state-cache")
        today = archive.replay_day or archive.started_at[:10]
        recent_from = (dt.date.fromisoformat(today)
                       - dt.timedelta(days=archive.config.crawl.near_duplicate_days)).isoformat()
        index = state.load(archive.replay_set_aside(), recent_from)
        # segments still waiting in the spool describe records waiting with them
        for entry in archive.spool.pending():
            if segment_partition(entry.key) is not None:
                for state_entry in decode_segment(entry.data_path.read_bytes()):
                    index.add(state_entry)
        return index

    def _count(self, site: str, outcome: str) -> None:
        self.crawler.stats.inc_value(f"newsarchive/{site}/articles/{outcome}")

    def _decide(self, page: ArticlePage, canonical: str, id_: int, content: int, simhash: int
                ) -> tuple[int, int | None]:
        """(version, near-duplicate id) of a record to write, or DropItem with the outcome."""
        previous = self.index.latest(id_)
        if id_ in self._recorded_this_run:
            self._count(page.site, "duplicate")
            raise DropItem(f"already recorded in this run: {canonical}")
        if previous is not None and previous.content == content:
            self._count(page.site, "unchanged")
            raise DropItem(f"unchanged: {canonical}")
        if previous is None and self.index.id_with_content(content) is not None:
            self._count(page.site, "duplicate")
            raise DropItem(f"same text already archived under another URL: {page.url}")
        near = self.index.near_duplicate(simhash, exclude=id_)
        outcome = "updated" if previous else ("near_duplicate" if near is not None else "new")
        self._count(page.site, outcome)
        return (previous.version + 1 if previous else 1), near

    def _fields(self, item: ExtractedArticle, version: int, near: int | None
                ) -> dict[str, Any]:
        """The record, CONTRACT §5."""
        page, extraction = item.page, item.extraction
        return {
            "id": article_id(item.canonical_url),
            "url": page.url,
            "canonical_url": item.canonical_url,
            "site": page.site,
            "title": extraction.title,
            "author": extraction.author,
            "published": extraction.published,
            "language": extraction.language,
            "text": extraction.text,
            "content_hash": extraction.content_hash,
            "version": version,
            "near_duplicate_of": f"{near:016x}" if near is not None else None,
            "fetched_at": page.fetched_at,
            "crawl_id": self.archive.crawl_id,
            "extractor": EXTRACTOR,
            "warc_filename": page.warc_filename,
            "warc_offset": page.warc_offset,
            "warc_length": page.warc_length,
        }

    def process_item(self, item: object) -> object:
        if not isinstance(item, ExtractedArticle):
            return item
        page, extraction = item.page, item.extraction
        id_ = int(article_id(item.canonical_url), 16)
        content = hash_prefix(extraction.content_hash)
        with cpu_time(self.crawler.stats, "dedup"):
            version, near = self._decide(page, item.canonical_url, id_, content,
                                         extraction.simhash)
        entry = StateEntry(id_, content, extraction.simhash, version)
        self.index.add(entry)
        self._recorded_this_run.add(id_)
        return ArticleRecord(page.site, page.fetched_at[:10],
                             self._fields(item, version, near), entry)
