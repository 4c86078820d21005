"""``newsarchive replay --date D``: rebuild a day's records from its raw WARC files.

The crawl's own spider and pipelines, fed from the archive by the replay add-on
(``crawler/replay.py``), with the current extractor and dedup; nothing goes to the network.
The dedup baseline is what the archive knew before that day's crawls of the replayed sites.
In place, the new record files and their state segments are stored first, and only then are
the day's old record files and segments of those sites deleted: a reader sees the old day or,
for a moment, both, never a partial one. With ``--output URI`` the rebuilt records go to
another archive root with the same layout.
"""

from __future__ import annotations

import argparse
import logging
import sys

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from archive.config import Config
from archive.keys import RECORDS, day_prefix, parse_data_key, segment_crawl_id, segment_partition
from archive.leases import LeaseHeld, acquire
from archive.storage import Storage, open_storage
from archive.timestamps import new_crawl_id
from crawler.outcome import CrawlOutcome
from crawler.replay import ReplaySpider
from crawler.report import format_summary
from newsarchive.cmd_crawl import crawl_settings, exit_code
from newsarchive.cmd_replay_url import run_replay_url
from newsarchive.console import configure_logging
from newsarchive.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from pipelines.dedup_state import remove_segments, superseded_segments

logger = logging.getLogger("newsarchive.replay")


def day_files(storage: Storage, day: str, sites: set[str] | None = None,
              crawl_id: str | None = None) -> list[str]:
    """The day's record files and dedup segments, as they are now: of these sites (all for
    None), or of the run ``crawl_id`` only."""
    def wanted(site: str, crawl: str | None) -> bool:
        return (sites is None or site in sites) and (crawl_id is None or crawl == crawl_id)

    records = [info.key for info in storage.list(day_prefix(RECORDS, day))
               if (parts := parse_data_key(info.key)) and wanted(parts["site"], parts["crawl_id"])]
    segments = [key for key in superseded_segments(storage, day, sites)
                if wanted(segment_partition(key)[1], segment_crawl_id(key))]
    return records + segments


def _site_of(key: str) -> str | None:
    parts = parse_data_key(key)
    if parts:
        return parts["site"]
    partition = segment_partition(key)
    return partition[1] if partition else None


def _remove(storage: Storage, config: Config, keys: list[str], crawl_id: str) -> None:
    """Record files and dedup segments removed under their sites' leases: no crawl of the
    site compacts its state or sets a near-duplicate link in a record file meanwhile (one
    that did could write back a file just removed). Segments are cut out as a compaction:
    live ones deleted, compacted ones out of their site's history objects. A site whose lease
    is held keeps its state files, said on stderr; its record files still go (a day holding
    both the old and the new records would count every article twice)."""
    by_site: dict[str, list[str]] = {}
    for key in keys:
        by_site.setdefault(_site_of(key) or "", []).append(key)
    for site, found in sorted(by_site.items()):
        records = [key for key in found if segment_partition(key) is None]
        segments = [key for key in found if segment_partition(key) is not None]
        try:
            lease = acquire(storage, site, crawl_id, config.schedule.lease_seconds)
        except LeaseHeld as held:
            for key in records:
                storage.delete(key)
            print(f"newsarchive replay: {held}: the day's state files of {site} were kept",
                  file=sys.stderr)
            continue
        try:
            for key in records:
                storage.delete(key)
            remove_segments(storage, segments)
        finally:
            lease.release()


def replay_settings(config: Config, source: Config, day: str, crawl_id: str,
                    verbose: bool) -> Settings:
    """The crawl's settings with the replay add-on: the day's WARC files of ``source`` feed
    the crawl's spider and pipelines, which write into ``config``'s archive."""
    settings = crawl_settings(config, crawl_id, verbose)
    addons = {**settings.getdict("ADDONS"), "crawler.replay.ReplayAddon": 10}
    settings.set("ADDONS", addons, priority="cmdline")
    settings.set("NEWSARCHIVE_REPLAY_DAY", day, priority="cmdline")
    settings.set("NEWSARCHIVE_REPLAY_SOURCE", source.archive.uri, priority="cmdline")
    return settings


def run_replay(config: Config, day: str, sites: list[str], output: str | None,
               verbose: bool = False) -> int:
    crawl_id = new_crawl_id()
    target = config.with_archive_uri(output) if output else config
    process = CrawlerProcess(replay_settings(target, config, day, crawl_id, verbose))
    crawler = process.create_crawler(ReplaySpider)
    selected = {site.name for site in config.select_sites(sites)}
    storage = open_storage(target.archive.uri, target.archive.storage_options)
    old_keys = [] if output else day_files(storage, day, selected)
    process.crawl(crawler, site=",".join(sorted(selected)))
    process.start()
    outcome = CrawlOutcome.of(crawler)
    archive = outcome.archive
    for held in archive.held if archive else []:
        print(f"newsarchive replay: skipped {held}", file=sys.stderr)
    if archive is None or not outcome.report:
        print(f"newsarchive replay: replay of {day} did not run to its end", file=sys.stderr)
        return EXIT_FAILED
    print(format_summary(outcome.report, archive.pending_uploads, storage.location()))
    code = exit_code(outcome)
    spider = crawler.spider
    complete = (code == EXIT_OK and isinstance(spider, ReplaySpider)
                and spider.replayed_every_crawl and outcome.report.finish_reason == "finished")
    if not complete:
        _remove_partial(storage, config, day, crawl_id, selected, kept_old=bool(old_keys))
        return code if code != EXIT_OK else EXIT_FAILED
    replayed = {site.name for site in archive.crawl_sites}
    stale = [key for key in old_keys if _site_of(key) in replayed]
    _remove(storage, config, stale, crawl_id)
    if stale:
        print(f"replaced {len(stale)} earlier record and state files of {day}")
    return code


def _remove_partial(storage: Storage, config: Config, day: str, crawl_id: str,
                    sites: set[str], kept_old: bool) -> None:
    """A replay that did not rebuild every crawl of the day (stopped, an unreadable WARC)
    takes back what it stored, so that the day never holds two sets of records."""
    written = day_files(storage, day, sites, crawl_id=crawl_id)
    _remove(storage, config, written, crawl_id)
    kept = " the earlier records of the day were kept;" if kept_old else ""
    print(f"newsarchive replay: the replay of {day} did not complete:{kept} removed the "
          f"{len(written)} record and state files it had stored", file=sys.stderr)


def run(args: argparse.Namespace, config: Config) -> int:
    """``--url``: one archived body (cmd_replay_url); ``--date``: rebuild that day."""
    if args.url:
        configure_logging(args.verbose)
        return run_replay_url(config, args.url, args.date)
    if not args.date:
        print("newsarchive replay: one of --date or --url is required", file=sys.stderr)
        return EXIT_USAGE
    return run_replay(config, args.date, args.site, args.output, verbose=args.verbose)
