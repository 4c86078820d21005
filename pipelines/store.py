"""StorePipeline: writes records into the day's rolling record files.

No per-article PUT: records go into the session's rolling .jsonl.gz files. Each record file is
followed in the spool by the dedup state segment describing its records, so the archive's
state always matches the record files that are stored.
"""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler

from crawler.context import RunContext
from pipelines.dedup import ArticleRecord
from pipelines.dedup_index import encode_segment

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler: Crawler, context: RunContext) -> None:
        self.crawler = crawler
        self.context = context

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler, RunContext.from_crawler(crawler))

    def open_spider(self) -> None:
        self.context.session.state_encoder = encode_segment

    def process_item(self, item: object) -> object:
        if not isinstance(item, ArticleRecord):
            return item
        try:
            with self.context.cpu_of("records"):
                self.context.session.write_record(item.site, item.day, item.fields, item.state)
        except OSError as exc:
            self.context.storage_failure(item.site, item.fields["url"], exc)
            raise
        stats = self.crawler.stats
        stats.inc_value(f"newsarchive/{item.site}/records")
        for field in ("published", "author"):
            if item.fields.get(field):
                stats.inc_value(f"newsarchive/{item.site}/records_with/{field}")
        return item
