"""StorePipeline: writes records into the day's rolling record files, then the dedup state.

No per-article PUT: records go into the session's rolling .jsonl.gz files, and the state
segment listing them is enqueued after those files at close, so state never runs ahead of
the records it describes.
"""

from __future__ import annotations

import logging

from scrapy.crawler import Crawler

from archive.keys import dedup_segment_key
from crawler.context import RunContext
from pipelines.dedup import ArticleRecord, StateEntry, encode_segment

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler: Crawler, context: RunContext) -> None:
        self.crawler = crawler
        self.context = context
        self.entries: list[StateEntry] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler, RunContext.from_crawler(crawler))

    def process_item(self, item: object) -> object:
        if not isinstance(item, ArticleRecord):
            return item
        self.context.session.write_record(item.site, item.day, item.fields)
        self.entries.append(item.state)
        stats = self.crawler.stats
        stats.inc_value(f"newsarchive/{item.site}/records")
        for field in ("published", "author"):
            if item.fields.get(field):
                stats.inc_value(f"newsarchive/{item.site}/records_with/{field}")
        return item

    def close_spider(self) -> None:
        session = self.context.session
        session.commit_all()
        if self.entries:
            key = dedup_segment_key(self.context.crawl_id)
            session.enqueue_bytes(key, encode_segment(self.entries))
