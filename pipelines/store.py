"""StorePipeline: writes records into the day's rolling record files.

No per-article PUT: records go into the session's rolling .jsonl.gz files. Each record file is
followed in the spool by the dedup state segment describing its records, so the archive's
state always matches the record files that are stored.
"""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler

from crawler.archive_extension import ArchiveExtension, archive_of
from crawler.cputime import cpu_time
from pipelines.dedup import ArticleRecord
from pipelines.dedup_state import encode_segment

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler: Crawler, archive: ArchiveExtension) -> None:
        self.crawler = crawler
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler, archive_of(crawler))

    async def open_spider(self) -> None:
        await self.archive.ready()
        assert self.archive.session is not None
        self.archive.session.state_encoder = encode_segment

    def process_item(self, item: object) -> object:
        if not isinstance(item, ArticleRecord):
            return item
        session = self.archive.session
        assert session is not None
        try:
            with cpu_time(self.crawler.stats, "records"):
                session.write_record(item.site, item.day, item.fields, item.state)
        except OSError as exc:
            self.archive.write_failed(item.site, item.fields["url"], str(exc))
            raise
        stats = self.crawler.stats
        stats.inc_value(f"newsarchive/{item.site}/records")
        for field in ("published", "author"):
            if item.fields.get(field):
                stats.inc_value(f"newsarchive/{item.site}/records_with/{field}")
        return item
