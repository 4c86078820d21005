"""``scrapy crawl``, with the config and the ``-a site=`` names checked before the crawl starts.

Scrapy runs the add-on and builds the spider inside the running crawl, where an exception is
printed as a 40-line traceback and the command exits 1. Here the config named by
``-s NEWSARCHIVE_CONFIG`` is parsed, and the sites asked for looked up, while the command reads
its options: a problem is the one line ``newsarchive`` prints for it (the file, the field, what
is wrong), on stderr, and the exit code is 2, the contract's code for config errors. The parsed
config then travels in the settings, so the add-on does not parse the file again.

Scrapy's own command exits 0 whatever the run's end; this one exits 1 when the run failed as
``newsarchive crawl`` judges it (``crawler/outcome.py``): a refused archive, files still in the
spool, a run that did not end normally. (Exit 3, a site held by another crawl, is
``newsarchive crawl``'s alone: ``scrapy crawl`` exits 0 then, as before.)
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler

from archive.config import ConfigError
from crawler.addon import read_config
from crawler.outcome import CrawlOutcome
from crawler.spiders.news import site_names

EXIT_CONFIG = 2  # README's "config or argument error"
EXIT_FAILED = 1  # README's "the run failed"


class Command(ScrapyCrawlCommand):
    crawler: Crawler | None = None

    def _create_crawler(self, spname: str) -> Crawler:
        self.crawler = super()._create_crawler(spname)
        return self.crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        if self.crawler is None or CrawlOutcome.of(self.crawler).failed:
            self.exitcode = EXIT_FAILED

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        try:
            config = read_config(self.settings)
            config.select_sites(site_names(opts.spargs.get("site")))
        except ConfigError as exc:
            sys.stderr.write(f"scrapy crawl: {exc}\n")
            raise SystemExit(EXIT_CONFIG) from None
        priority = self.settings.getpriority("NEWSARCHIVE_CONFIG") or "project"
        self.settings.set("NEWSARCHIVE_CONFIG", config, priority=priority)
