"""``newsarchive import --site NAME FILE_OR_URI...``: backfill a site from existing WARC files.

The crawl's own spider and pipelines, fed from the files by the import add-on
(``crawler/import_spider.py``); nothing goes to the network. Then, under the site's lease, the
dedup state of the imported days that runs no longer list is merged into the site's history
(``pipelines/import_state.py``), so later crawls and imports know those articles.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from scrapy.crawler import CrawlerProcess

from archive.config import Config
from archive.imported import local_sources
from archive.leases import LeaseHeld, acquire
from archive.storage import StorageError, open_storage
from archive.timestamps import crawl_day, new_crawl_id
from crawler.import_spider import ImportSpider
from crawler.outcome import CrawlOutcome
from crawler.report import format_summary
from newsarchive.cmd_crawl import crawl_settings, exit_code
from newsarchive.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from pipelines.import_state import settle_imported_days


def _sources(config: Config, names: list[str], scratch: Path) -> list[Path]:
    files: list[Path] = []
    for name in names:
        files.extend(local_sources(name, config.archive.storage_options, scratch))
    return files


def run_import(config: Config, site: str, sources: list[str], verbose: bool = False) -> int:
    crawl_id = new_crawl_id()
    scratch = Path(tempfile.mkdtemp(prefix="import-", dir=_scratch_root(config)))
    try:
        try:
            files = _sources(config, sources, scratch)
        except (OSError, StorageError) as exc:
            print(f"newsarchive import: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return _import(config, site, files, crawl_id, verbose)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _scratch_root(config: Config) -> Path:
    root = Path(config.archive.spool_dir)
    root.mkdir(parents=True, exist_ok=True)
    return root


def _import(config: Config, site: str, files: list[Path], crawl_id: str, verbose: bool) -> int:
    settings = crawl_settings(config, crawl_id, verbose)
    settings.set("ADDONS", {**settings.getdict("ADDONS"), "crawler.import_spider.ImportAddon": 10},
                 priority="cmdline")
    settings.set("NEWSARCHIVE_IMPORT_FILES", [str(path) for path in files], priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ImportSpider)
    process.crawl(crawler, site=site)
    process.start()
    outcome = CrawlOutcome.of(crawler)
    archive = outcome.archive
    for held in archive.held if archive else []:
        print(f"newsarchive import: skipped {held}", file=sys.stderr)
    if archive is None or not outcome.report or archive.storage is None:
        print("newsarchive import: the import did not run to its end", file=sys.stderr)
        return EXIT_FAILED
    print(format_summary(outcome.report, archive.pending_uploads, archive.storage.location()))
    code = exit_code(outcome)
    spider = crawler.spider
    if code != EXIT_OK or not isinstance(spider, ImportSpider):
        return code
    if not spider.read_every_file:
        print("newsarchive import: stopped before the end of its files", file=sys.stderr)
        return EXIT_FAILED
    return _settle(config, site, spider.days, crawl_id)


def _settle(config: Config, site: str, days: set[str], crawl_id: str) -> int:
    storage = open_storage(config.archive.uri, config.archive.storage_options)
    try:
        lease = acquire(storage, site, crawl_id, config.schedule.lease_seconds)
    except LeaseHeld as held:
        print(f"newsarchive import: {held}: the dedup state of the imported days is not merged "
              "yet; run the same import again once that crawl is done (it writes nothing "
              "twice)", file=sys.stderr)
        return EXIT_FAILED
    try:
        settle_imported_days(storage, site, days, crawl_day(crawl_id))
    except (StorageError, OSError) as exc:
        print(f"newsarchive import: merging the dedup state of the imported days failed (run "
              f"the same import again): {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        lease.release()
    return EXIT_OK


def run(args: argparse.Namespace, config: Config) -> int:
    if len(args.site) != 1:
        print("newsarchive import: --site names the one site the files are of",
              file=sys.stderr)
        return EXIT_USAGE
    return run_import(config, args.site[0], args.files, verbose=args.verbose)
