"""Record files a dead run stored without their dedup segment: their state written from them.

A run uploads each record file, then the dedup segment that vouches for it
(``pipelines/dedup_state.py``), so the state never claims a record that is not stored. A run
killed between the two (kill -9, a lost machine) leaves that segment in its own spool: uploaded
by that machine's next run, or never if the machine is gone. Until then the site's next run,
maybe on another machine, does not know those articles and would store them again. So a run
that takes a site's lease after it expired unreleased (its holder died: ``Lease.took_over``)
first looks at the dead run's record files (its start day and the next) and writes the segment
of each that has none, from the records themselves, before the state is loaded. The segment is
the one the dead run would have written (the same key; the sketch from the same text): if that
machine's spool uploads it later, it replaces it with the same entries. Then the dead run's
lease is marked released (``archive/leases.settle_dead_holder``): it stays the site's newest
generation whenever a later run's own is deleted on release, and would send every later run
looking again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from archive.keys import (
    RECORDS,
    InvalidName,
    dedup_live_prefix,
    dedup_segment_key_for,
    parse_data_key,
    site_day_prefix,
)
from archive.records import iter_records
from archive.storage import Storage
from archive.timestamps import crawl_day
from pipelines.dedup_format import encode_segment
from pipelines.dedup_index import StateEntry, published_seconds
from pipelines.fingerprint import sketch

logger = logging.getLogger(__name__)


def _entry(record: dict[str, Any], is_variant: Callable[[str, str], bool]) -> StateEntry:
    return StateEntry(int(record["id"], 16), int(str(record["content_hash"])[:16], 16),
                      int(record["version"]), sketch(record["text"]),
                      published_seconds(record.get("published")),
                      variant=is_variant(record["url"], record["canonical_url"]))


def recover_segments(storage: Storage, site: str, crawl_id: str,
                     is_variant: Callable[[str, str], bool]) -> int:
    """Write the missing segments of ``crawl_id``'s record files of ``site``; how many."""
    try:
        start = dt.date.fromisoformat(crawl_day(crawl_id))
    except ValueError:
        return 0  # not a crawl id of ours: nothing to look for
    recovered = 0
    for day in (start.isoformat(), (start + dt.timedelta(days=1)).isoformat()):
        try:
            segments = {info.key for info in storage.list(dedup_live_prefix(day, site))}
            files = [info.key for info in storage.list(site_day_prefix(RECORDS, day, site))
                     if (parts := parse_data_key(info.key)) and parts["crawl_id"] == crawl_id]
        except InvalidName:
            return recovered
        for key in files:
            segment = dedup_segment_key_for(key)
            if segment in segments:
                continue
            with storage.open_read(key) as stream:
                entries = [_entry(record, is_variant) for record in iter_records(stream)]
            storage.put_bytes(segment, encode_segment(entries))
            recovered += 1
    if recovered:
        logger.warning("site %s: the run %s died after storing %d record file(s) without their "
                       "dedup state; written from the records", site, crawl_id, recovered)
    return recovered
