"""The dedup state an import leaves, merged where later runs read it.

A run of a site reads that site's compacted history and its live segments of the last
``LIVE_DAYS`` days only (``dedup_compaction.py``). An import writes live segments under its
captures' days, which may be years back: left live, no later crawl or import would see them,
and it would archive the same articles again. So once the import's files are stored, and
under the site's lease, the imported days older than that are merged into the site's history
right away, as a crawl merges its own days when they age. Recent days stay live, where runs
read them anyway.
"""

from __future__ import annotations

from collections.abc import Iterable

from archive.keys import dedup_live_prefix, segment_partition
from archive.storage import Storage
from pipelines.dedup_cache import StateCache
from pipelines.dedup_compaction import SiteHistory, every_live_segment, live_from


def settle_imported_days(storage: Storage, site: str, days: Iterable[str], today: str) -> int:
    """Merge the site's live segments of ``days`` before ``live_from(today)`` into its
    history objects; returns how many objects were stored. Call under the site's lease."""
    first_live = live_from(today)
    old = sorted({day for day in days if day < first_live})
    if not old:
        return 0
    history = SiteHistory(storage, StateCache(storage, None), site)
    history.scan(storage.list, today, every_live_segment(storage.list))
    for day in old:
        for info in storage.list(dedup_live_prefix(day, site)):
            if segment_partition(info.key) is not None:
                history.live[info.key] = info.size
    sections = history.read()
    return history.compact(sections, today,
                           lambda key: segment_partition(key)[0] < first_live)
