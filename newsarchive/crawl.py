"""``newsarchive crawl``: one Scrapy run of the configured sites, then the summary."""

from __future__ import annotations

import sys

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.context import RunContext
from crawler.report import format_summary
from crawler.spiders.news import NewsSpider
from newsarchive.config import Config

EXIT_OK, EXIT_FAILED = 0, 1


def crawl_settings(config: Config, verbose: bool = False) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("NEWSARCHIVE_CONFIG_OBJECT", config, priority="cmdline")
    settings.set("LOG_LEVEL", "INFO" if verbose else "WARNING", priority="cmdline")
    return settings


def run_crawl(config: Config, sites: list[str], verbose: bool = False,
              settings: Settings | None = None) -> int:
    """Crawl, print the summary, and return the exit code: 0 only when everything fetched
    is stored in the archive and the crawl finished normally."""
    process = CrawlerProcess(settings or crawl_settings(config, verbose))
    crawler = process.create_crawler(NewsSpider)
    process.crawl(crawler, site=",".join(sites) if sites else None)
    process.start()
    context = RunContext.from_crawler(crawler)
    final = context.final
    report = context.final_report
    if not report:
        print("newsarchive crawl: the crawl did not run to its end", file=sys.stderr)
        return EXIT_FAILED
    print(format_summary(report, final.get("pending_uploads", 0), context.storage.location()))
    failed = (final.get("reason") != "finished" or final.get("pending_uploads", 0) > 0
              or crawler.stats.get_value("newsarchive/storage_errors", 0) > 0)
    return EXIT_FAILED if failed else EXIT_OK
