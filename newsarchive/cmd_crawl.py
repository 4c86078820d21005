"""``newsarchive crawl``: one Scrapy run of the configured sites, then the summary.

Exit codes (also in the README): 0 everything fetched is stored; 1 something fetched is not
stored yet, or the run failed (storage refusing access included: nothing is fetched then);
3 a requested site was skipped because another crawl holds its lease (the other sites were
crawled normally). Configuration errors (2) are the CLI's.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

from archive.config import Config
from archive.run_reports import RunReport
from archive.spool import Spool
from archive.storage import open_storage
from archive.timestamps import new_crawl_id, utc_now_iso
from crawler.outcome import CrawlOutcome
from crawler.report import format_summary
from crawler.spiders.news import NewsSpider
from crawler.webhook import deliver, webhook_body
from newsarchive.exitcodes import EXIT_FAILED, EXIT_HELD, EXIT_OK

logger = logging.getLogger("newsarchive.run")


class _LastError(logging.Handler):
    """Why a run died, for its failure report: the exception that ended the crawl, else the
    last ERROR logged."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.message: str | None = None
        self._crash: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._crash is None:
            self.message = record.getMessage()[:500]

    def crashed(self, failure: Failure) -> None:
        """The crawl's Deferred failed: that is the cause (logged here, not as unhandled)."""
        self._crash = self.message = f"{failure.type.__name__}: {failure.getErrorMessage()}"[:500]
        logger.error("crawl failed: %s", self.message)


def crawl_settings(config: Config, crawl_id: str, verbose: bool = False) -> Settings:
    """The project's settings with the parsed config and this run's crawl id."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("NEWSARCHIVE_CONFIG", config, priority="cmdline")
    settings.set("NEWSARCHIVE_CRAWL_ID", crawl_id, priority="cmdline")
    settings.set("LOG_LEVEL", "INFO" if verbose else "WARNING", priority="cmdline")
    return settings


def exit_code(outcome: CrawlOutcome) -> int:
    if outcome.failed:
        return EXIT_FAILED
    return EXIT_HELD if outcome.held else EXIT_OK


def _failure_report(config: Config, crawl_id: str, started_at: str, error: str | None,
                    upload: bool = True) -> None:
    """A run that died before its spider closed still leaves a report, with the error;
    without ``upload`` it only waits in the spool (storage refused this run already)."""
    report = RunReport.failed(crawl_id, started_at, utc_now_iso(),
                              error or "the crawl stopped before it could close")
    body = webhook_body(report, failed=True) if config.alerts.webhook_url else None
    if body is not None:  # the run is over: nothing left for the POST to hold up
        report = replace(report, webhook=body)
    storage = open_storage(config.archive.uri, config.archive.storage_options)
    spool = Spool(config.archive.spool_dir, storage.location())
    try:
        spool.enqueue_bytes(report.to_json(), report.key)
    except OSError as exc:
        print(f"newsarchive crawl: could not write the failure report to the spool "
              f"{spool.root}: {exc.strerror or exc}", file=sys.stderr)
    if upload:
        spool.drain(storage)
    spool.close()
    if body is not None:
        deliver(config.alerts, body)


def run_crawl(config: Config, sites: list[str], verbose: bool = False,
              crawl_id: str | None = None) -> int:
    """Crawl, print the summary, and return the exit code."""
    crawl_id = crawl_id or new_crawl_id()
    started_at = utc_now_iso()
    last_error = _LastError()
    logging.getLogger().addHandler(last_error)
    process = CrawlerProcess(crawl_settings(config, crawl_id, verbose))
    logging.getLogger().addHandler(last_error)  # Scrapy replaced the root handlers
    crawler = process.create_crawler(NewsSpider)
    logger.info("crawl %s starting: %s", crawl_id, ", ".join(sites) or "all sites")
    crawling = process.crawl(crawler, site=",".join(sites) if sites else None)
    crawling.addErrback(last_error.crashed)
    process.start()
    outcome = CrawlOutcome.of(crawler)
    for held in outcome.archive.held if outcome.archive else []:
        print(f"newsarchive crawl: skipped {held}", file=sys.stderr)
    if outcome.archive is not None and outcome.archive.refused is not None:
        # the extension's ERROR line said why: the one line a cron mail shows
        _failure_report(config, crawl_id, started_at,
                        f"the archive refused access: {outcome.archive.refused}", upload=False)
        return EXIT_FAILED
    if outcome.archive is None or not outcome.report:
        _failure_report(config, crawl_id, started_at, last_error.message)
        print(f"newsarchive crawl: crawl {crawl_id} failed: {last_error.message}",
              file=sys.stderr)
        return EXIT_FAILED
    report = outcome.report
    print(format_summary(report, outcome.archive.pending_uploads,
                         outcome.archive.storage.location() if outcome.archive.storage else ""))
    code = exit_code(outcome)
    logger.info("crawl %s ended (%s, exit %d) in %.1fs", crawl_id, report.finish_reason, code,
                report.duration_s)
    return code


def run(args: argparse.Namespace, config: Config) -> int:
    return run_crawl(config, args.site, verbose=args.verbose, crawl_id=args.crawl_id)
