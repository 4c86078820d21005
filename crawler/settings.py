"""Scrapy settings of the project (``scrapy.cfg`` points here).

Values that come from the config file are applied by the spider's ``update_settings`` with
"spider" priority, so ``scrapy crawl news -s DOWNLOAD_DELAY=0`` still overrides them.
"""

from __future__ import annotations

from typing import Any

from archive.config import Config

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# the config file the spider reads when run through `scrapy crawl` (the CLI passes its own)
NEWSARCHIVE_CONFIG = "newsarchive.toml"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CONCURRENT_REQUESTS = 16
# how many of one callback's outputs go down the pipelines at once: an article page yields one
# item, a hub page a few dozen requests that need no waiting. Scrapy's 100 starts 100 asyncio
# tasks for every response (about 1 ms of reactor time a page in the benchmark's profile)
CONCURRENT_ITEMS = 8
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
RETRY_TIMES = 2
DOWNLOAD_TIMEOUT = 30
REDIRECT_MAX_TIMES = 10
# a bounded crawl frontier: breadth-first keeps hubs ahead of the articles they lead to
DEPTH_PRIORITY = 1
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"
LOG_LEVEL = "INFO"
# the resolver Twisted dials through refuses non-public addresses (no DNS-rebinding gap)
TWISTED_DNS_RESOLVER = "crawler.resolver.GuardedResolver"
# Scrapy's own URLLENGTH_LIMIT would drop long links silently; the spider counts them
URLLENGTH_LIMIT = 0
# dropping unchanged or duplicate articles is the normal outcome, counted in the run report
DEFAULT_DROPITEM_LOG_LEVEL = "DEBUG"

DOWNLOADER_MIDDLEWARES = {
    # after robots.txt (100), so refused pages cost no budget; robots.txt fetches pass
    # through the whole chain too, so they meet the scope and SSRF checks all the same
    "crawler.middlewares.SiteGuardMiddleware": 110,
    # just above RetryMiddleware (550): a 429/503 with Retry-After pauses its host
    "crawler.middlewares.RetryAfterMiddleware": 560,
    # right next to the network: sees every response (redirects, retried errors) as received
    "crawler.middlewares.WarcArchiveMiddleware": 800,
    # compressed responses reach decompression (590) untyped: see the class for why
    "crawler.middlewares.EncodedBodyMiddleware": 790,
}

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.dedup.DedupPipeline": 200,
    "pipelines.store.StorePipeline": 300,
}

EXTENSIONS = {
    "crawler.progress.ProgressLine": 500,
}


def settings_from_config(config: Config) -> dict[str, Any]:
    """The Scrapy settings a config implies."""
    crawl = config.crawl
    max_bytes = int(crawl.max_page_mb * 1024 * 1024)
    return {
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "DOWNLOAD_DELAY": crawl.download_delay,
        # AutoThrottle never goes below DOWNLOAD_DELAY; it starts there and backs off from it
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 0.1) if crawl.download_delay
        else 0.0,
        "AUTOTHROTTLE_ENABLED": crawl.download_delay > 0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_requests_per_domain,
        "DOWNLOAD_MAXSIZE": max_bytes,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "DOWNLOAD_WARNSIZE": max_bytes // 2,
    }
