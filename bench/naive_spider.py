"""The naive baseline: what a user would write first. A plain Scrapy spider that follows links
from the home pages and calls ``trafilatura.extract`` inside ``parse`` for article URLs,
yielding items to a JSON Lines feed. Run: ``python -m bench.naive_spider OUT.jsonl URL...``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import scrapy
import trafilatura
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response

from bench.web import ARTICLE_RE


class NaiveSpider(scrapy.Spider):
    name = "naive"

    def __init__(self, start: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = start
        self.allowed_hosts = {u.split("/")[2] for u in start}
        self.article = re.compile(ARTICLE_RE)

    def parse(self, response: Response) -> Iterator[Any]:
        if self.article.search(response.url):
            found = trafilatura.extract(response.text, url=response.url, output_format="json",
                                        with_metadata=True)
            if found:
                yield json.loads(found)
            return
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if url.split("/")[2] in self.allowed_hosts:
                yield response.follow(url, self.parse)


def main(argv: list[str]) -> None:
    out, starts = argv[0], argv[1:]
    process = CrawlerProcess({
        "ROBOTSTXT_OBEY": True, "DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "LOG_LEVEL": "WARNING",
        "FEEDS": {out: {"format": "jsonlines"}}, "TELNETCONSOLE_ENABLED": False,
    })
    process.crawl(NaiveSpider, start=starts)
    process.start()


if __name__ == "__main__":
    main(sys.argv[1:])
