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
from pipelines.dedup import RecordToStore
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
        if not isinstance(item, RecordToStore):
            return item
        session = self.archive.session
        assert session is not None
        record = item.record
        try:
            with cpu_time(self.crawler.stats, "records"):
                session.write_record(record.site, item.day, record, item.state)
        except OSError as exc:
            self.archive.write_failed(record.site, record.url, str(exc))
            raise
        stats = self.crawler.stats
        stats.inc_value(f"newsarchive/{record.site}/records")
        if record.published:
            stats.inc_value(f"newsarchive/{record.site}/records_with/published")
        if record.author:
            stats.inc_value(f"newsarchive/{record.site}/records_with/author")
        return item
