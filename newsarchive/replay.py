"""``newsarchive replay --date D``: rebuild a day's records from its raw WARC files.

The crawl's own spider and pipelines, fed from the archive (``crawler/replay.py``), with the
current extractor and dedup; nothing goes to the network. The dedup baseline is what the archive
knew before that day's crawls of the replayed sites. In place, the new record files and their
state segments are stored first, and only then are the day's old record files and segments of
those sites deleted: a reader sees the old day or, for a moment, both, never a partial one.
With ``--output URI`` the rebuilt records go to another archive root with the same layout.
"""

from __future__ import annotations

import logging
import sys

from scrapy.crawler import CrawlerProcess

from archive.config import Config
from archive.keys import day_prefix, parse_data_key, segment_partition
from archive.storage import Storage
from crawler.context import RunContext, new_crawl_id
from crawler.replay import ReplaySpider, replay_settings
from crawler.report import format_summary
from newsarchive.crawl import crawl_settings, exit_code
from newsarchive.exitcodes import EXIT_FAILED, EXIT_OK

logger = logging.getLogger("newsarchive.replay")


def superseded_keys(storage: Storage, day: str, sites: set[str]) -> list[str]:
    """The day's record files and dedup segments of these sites, as they are now."""
    found = [info.key for info in storage.list(day_prefix("records", day))
             if (parts := parse_data_key(info.key)) and parts["site"] in sites]
    for info in storage.list(f"state/dedup/date={day}/"):
        partition = segment_partition(info.key)
        if partition and partition[1] in sites:
            found.append(info.key)
    return found


def _site_of(key: str) -> str | None:
    parts = parse_data_key(key)
    if parts:
        return parts["site"]
    partition = segment_partition(key)
    return partition[1] if partition else None


def run_replay(config: Config, day: str, sites: list[str], output: str | None,
               verbose: bool = False) -> int:
    crawl_id = new_crawl_id()
    target = config.with_archive_uri(output) if output else config
    settings = crawl_settings(target, crawl_id, verbose)
    for name, value in replay_settings().items():
        settings.set(name, value, priority="cmdline")
    settings.set("NEWSARCHIVE_REPLAY", {"day": day, "source": config.archive.uri},
                 priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ReplaySpider)
    selected = {site.name for site in config.select_sites(sites)}
    context = RunContext.from_crawler(crawler)
    old_keys = [] if output else superseded_keys(context.storage, day, selected)
    process.crawl(crawler, site=",".join(sorted(selected)))
    process.start()
    for held in context.held:
        print(f"newsarchive replay: skipped {held}", file=sys.stderr)
    if not context.final_report:
        print(f"newsarchive replay: replay of {day} did not run to its end", file=sys.stderr)
        return EXIT_FAILED
    print(format_summary(context.final_report, context.final.get("pending_uploads", 0),
                         context.storage.location()))
    code = exit_code(context)
    replayed = {site.name for site in context.crawl_sites}
    if code == EXIT_OK and old_keys:
        stale = [key for key in old_keys if _site_of(key) in replayed]
        for key in stale:
            context.storage.delete(key)
        print(f"replaced {len(stale)} earlier record and state files of {day}")
    elif old_keys:
        print("newsarchive replay: the earlier records of the day were kept (the replay did not "
              "complete)", file=sys.stderr)
    return code
