"""Scrapy settings of the project (``scrapy.cfg`` points here).

Values that come from the config file are applied by the add-on (``crawler/addon.py``) with
"spider" priority, so ``scrapy crawl news -s DOWNLOAD_DELAY=0`` still overrides them.
"""

import os

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# `scrapy crawl` checks the config and the -a site= names first (crawler/commands/crawl.py)
COMMANDS_MODULE = "crawler.commands"

# -- newsarchive's own settings: every NEWSARCHIVE_* key read anywhere is declared here --------
# the config: a file path (`scrapy crawl`), or the parsed Config the command line puts here;
# the add-on parses a path once and leaves the object in its place
NEWSARCHIVE_CONFIG = "newsarchive.toml"
# overrides [archive].uri when the add-on parses the file (`newsarchive --archive URI`)
NEWSARCHIVE_ARCHIVE_URI = None
# the run's crawl id; None: a new one (the command line sets its own, to print it)
NEWSARCHIVE_CRAWL_ID = None
# replay (crawler/replay.py's add-on): the UTC day whose WARC files feed the crawl, and the
# archive they are read from (None: the archive written to)
NEWSARCHIVE_REPLAY_DAY = None
NEWSARCHIVE_REPLAY_SOURCE = None
# render = "browser" sites rendered in the headless browser (crawler/browser.py); off in an
# import and a replay, which must not touch the network
NEWSARCHIVE_RENDER = True
# the live progress line on a terminal (crawler/progress.py)
NEWSARCHIVE_PROGRESS = True
# a testing aid, not a user setting: the run's "now" for the revisit policy (ISO 8601), so
# tests and the steady-state bench can let hours or days pass between runs
NEWSARCHIVE_NOW = os.environ.get("NEWSARCHIVE_NOW") or None

ADDONS = {
    "crawler.addon.NewsarchiveAddon": 0,
}

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
# An archiver run unattended opens no control socket. Scrapy's default-on extensions, audited
# for 2.19: TelnetConsole (a console on a TCP port) and RemoteControl (a code-execution HTTP
# server on loopback, plus a job file under ~/.local/state/scrapy) are off; CoreStats, LogCount,
# LogStats, CloseSpider and AutoThrottle only count or pace; MemoryUsage only measures (it mails
# nobody unless MEMUSAGE_NOTIFY_MAIL is set); FeedExporter, SpiderState and MemoryDebugger stay
# idle without FEEDS, JOBDIR or MEMDEBUG_ENABLED
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
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

# Scrapy's HTTP/1.1 handler, also keeping the headers as they crossed the wire for the WARC
DOWNLOAD_HANDLERS = {"http": "crawler.wire.WireDownloadHandler",
                     "https": "crawler.wire.WireDownloadHandler"}

DOWNLOADER_MIDDLEWARES = {
    # before robots.txt (100): the site's user agent, headers, cookies and proxy, so robots.txt
    # is read for the user agent the site is fetched with, and fetched the site's way
    "crawler.middlewares.SiteFetchMiddleware": 90,
    # after robots.txt (100), so refused pages cost no budget; robots.txt fetches pass
    # through the whole chain too, so they meet the scope and SSRF checks all the same
    "crawler.middlewares.SiteGuardMiddleware": 110,
    # just above RetryMiddleware (550): a 429/503 with Retry-After pauses its host
    "crawler.middlewares.RetryAfterMiddleware": 560,
    # closer still: a proxy's 407 is not the site's page, never archived
    "crawler.middlewares.ProxyRefusalMiddleware": 810,
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
    "crawler.errors.ErrorLog": 100,
    "crawler.archive_extension.ArchiveExtension": 200,
    "crawler.fetch_state.FetchState": 250,
    # robots.txt Crawl-delay per host, capped; after AutoThrottle (0), whose delay it floors
    "crawler.crawl_delay.CrawlDelay": 260,
    # per-site templates (pipelines/template_learning.py): loaded at start, saved with the state
    "pipelines.template_learning.SiteTemplates": 270,
    "crawler.report.RunReporter": 300,
    "crawler.progress.ProgressLine": 500,
}
