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
from archive.keys import RECORDS, day_prefix, parse_data_key, segment_partition
from archive.leases import LeaseHeld, acquire
from archive.storage import Storage, open_storage
from archive.timestamps import new_crawl_id
from crawler.replay import ReplaySpider
from crawler.report import format_summary
from newsarchive.cmd_crawl import CrawlOutcome, crawl_settings
from newsarchive.cmd_replay_url import run_replay_url
from newsarchive.console import configure_logging
from newsarchive.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from pipelines.dedup_state import remove_segments, superseded_segments

logger = logging.getLogger("newsarchive.replay")


def superseded_keys(storage: Storage, day: str, sites: set[str]) -> list[str]:
    """The day's record files and dedup segments of these sites, as they are now."""
    found = [info.key for info in storage.list(day_prefix(RECORDS, day))
             if (parts := parse_data_key(info.key)) and parts["site"] in sites]
    return found + superseded_segments(storage, day, sites)


def _site_of(key: str) -> str | None:
    parts = parse_data_key(key)
    if parts:
        return parts["site"]
    partition = segment_partition(key)
    return partition[1] if partition else None


def _remove_under_leases(storage: Storage, config: Config, segments: list[str],
                         crawl_id: str) -> None:
    """Superseded segments go under their sites' leases, as a compaction: live ones deleted,
    compacted ones cut out of their site's objects, with no crawl of the site compacting
    meanwhile. A site whose lease is held keeps them (its next replay removes them)."""
    by_site: dict[str, list[str]] = {}
    for key in segments:
        by_site.setdefault(_site_of(key) or "", []).append(key)
    for site, keys in sorted(by_site.items()):
        try:
            lease = acquire(storage, site, crawl_id, config.schedule.lease_seconds)
        except LeaseHeld as held:
            print(f"newsarchive replay: {held}: the day's earlier state of {site} was kept",
                  file=sys.stderr)
            continue
        try:
            remove_segments(storage, keys)
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
    old_keys = [] if output else superseded_keys(storage, day, selected)
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
    code = outcome.exit_code()
    replayed = {site.name for site in archive.crawl_sites}
    if code == EXIT_OK and old_keys:
        stale = [key for key in old_keys if _site_of(key) in replayed]
        segments = [key for key in stale if segment_partition(key) is not None]
        for key in stale:
            if key not in segments:
                storage.delete(key)
        _remove_under_leases(storage, config, segments, crawl_id)
        print(f"replaced {len(stale)} earlier record and state files of {day}")
    elif old_keys:
        print("newsarchive replay: the earlier records of the day were kept (the replay did not "
              "complete)", file=sys.stderr)
    return code


def run(args: argparse.Namespace, config: Config) -> int:
    """``--url``: one archived body (cmd_replay_url); ``--date``: rebuild that day."""
    if args.url:
        configure_logging(args.verbose)
        return run_replay_url(config, args.url, args.date)
    if not args.date:
        print("newsarchive replay: one of --date or --url is required", file=sys.stderr)
        return EXIT_USAGE
    return run_replay(config, args.date, args.site, args.output, verbose=args.verbose)
