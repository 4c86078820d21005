"""The dedup state: where the dedup index comes from.

State lives with the archive, not on one disk: every record file is followed in the upload order
by one immutable live segment ``state/dedup/date=D/site=S/<crawl_id>-<nnnnn>.bin`` listing what
the file archived, so the state never claims a record that is not stored. Two machines crawling
into one bucket therefore agree on what is new. Formats: ``dedup_format.py``.

A run does not read the archive's history: live segments are compacted
(``dedup_compaction.py``) into each site's history and the near-duplicate window, and a run of
sites S reads S's histories (versions and "same text under another URL" are decisions within
one site: an id is a canonical URL on its own site), S's live segments of the last days, and the
window of every site's last ``near_duplicate_days`` (near-duplicates and exact copies across
sites, which appear within days). Figures (300 sites, 96 runs a day, about 100 articles a site
and day): a year of history is 28,800 new live segments a day, 10.5 million a year; a run of one
site reads instead one LIST and ≤ 31 + 11 + years GETs of its history (at most 2,900 articles
a month, 270 kB), 2 LISTs and ≤ 78 GETs of the window (30 day objects of 28,800 articles,
3.7 MB each, loaded in a thread once the run's own tables are built, while the crawl starts)
and ≤ 8 LISTs of its live segments, however old the archive; a scan's LISTs go out together.
A crawl compacts its sites and builds the window's closed hours at start; a replay reads only.
Everything read is cached on this machine by name (``dedup_cache.py``), so a warm run makes
only the LISTs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from archive.keys import (
    DEDUP_STATE_PREFIX,
    SITE_STATE_PREFIX,
    WINDOW_STATE_PREFIX,
    dedup_day_prefix,
    links_checked_key,
    links_checked_prefix,
    segment_hour,
    segment_partition,
    site_state_parts,
    window_parts,
)
from archive.spool import STATE_CACHE, Spool
from archive.storage import ObjectInfo, Storage, StorageError
from pipelines.dedup_cache import StateCache
from pipelines.dedup_compaction import (
    SiteHistory,
    WindowState,
    every_live_segment,
    live_from,
)
from pipelines.dedup_format import (  # noqa: F401  the formats' public names, also from here
    SEGMENT_MAGIC,
    SEGMENT_MAGIC_V1,
    decode_segment,
    encode_segment,
    iter_object,
    iter_segment,
    iter_segments,
)
from pipelines.dedup_index import DedupIndex, Deferred, StateEntry, TableBuilder, Window
from pipelines.window_index import WindowTable

logger = logging.getLogger(__name__)
Lister = Callable[[str], Iterable[ObjectInfo]]
SetAside = tuple[str, frozenset[str]]


def _set_aside(day: str, site: str, set_aside: SetAside | None) -> bool:
    """Whether a replay's baseline leaves this segment out: later days, and the replayed
    day's segments of the replayed sites."""
    return set_aside is not None and (day > set_aside[0] or
                                      (day == set_aside[0] and site in set_aside[1]))


def superseded_segments(storage: Storage, day: str, sites: set[str] | None) -> list[str]:
    """The day's segments of these sites, live or compacted (as their live keys): what a
    replay of that day replaces. ``sites=None``: every site's live segments of the day, and
    the compacted ones of the sites those name (what a replay just stored is live, unless a
    crawl of its site compacted it meanwhile)."""
    found = [info.key for info in storage.list(dedup_day_prefix(day))
             if (partition := segment_partition(info.key))
             and (sites is None or partition[1] in sites)]
    if sites is None:
        sites = {segment_partition(key)[1] for key in found}
    for site in sorted(sites):
        history = SiteHistory(storage, StateCache(storage, None), site)
        history.scan(storage.list, day, lambda: ())
        found += [name for name in history.read().data
                  if segment_partition(name)[0] == day and name not in found]
    return found


def remove_segments(storage: Storage, keys: Iterable[str]) -> int:
    """Remove superseded segments, live ones and those inside compacted site objects (each
    object holding any is rewritten without them first). Only for a holder of the sites'
    leases, as a compaction. Returns how many objects were rewritten."""
    by_site: dict[str, set[str]] = {}
    for key in keys:
        by_site.setdefault(segment_partition(key)[1], set()).add(key)
        storage.delete(key)
    rewritten = 0
    for site, names in sorted(by_site.items()):
        history = SiteHistory(storage, StateCache(storage, None), site)
        history.scan(storage.list, "1970-01-01", lambda: ())
        rewritten += history.forget(names)
    return rewritten


class DedupState:
    """The dedup state in the archive, with a local cache of the files read."""

    def __init__(self, storage: Storage, cache_dir: Path, spool: Spool | None = None) -> None:
        self.storage = storage
        self.cache = StateCache(storage, cache_dir)
        self.spool = spool
        self.window: WindowState | None = None  # what the last load found of the window

    @classmethod
    def beside(cls, storage: Storage, spool: Spool) -> DedupState:
        """The state of ``storage``, cached in the spool's state cache (where the spool keeps
        the segments it uploads), with the segments still waiting in that spool."""
        return cls(storage, spool.root / STATE_CACHE, spool)

    def load(self, set_aside: SetAside | None = None, recent_from: str = "0000-00-00", *,
             sites: Iterable[str] | None = None, now: dt.datetime | None = None,
             compact: bool = False) -> DedupIndex:
        """What a run of ``sites`` needs: their whole history, and near-duplicate candidates
        of every site from days ``recent_from`` on (``sites=None``: every site's history, the
        old cost, for tools). ``compact``: a crawl holding these sites' leases compacts their
        state and builds the window's closed hours first. With ``set_aside=(day, sites)`` (a
        replay of those sites on that day), what the archive knew just before that day's
        crawls of those sites."""
        now = now or dt.datetime.now(dt.UTC)
        try:
            builder, load_window = self._read(self.storage.list, set_aside, recent_from, sites,
                                              now, compact)
        except (StorageError, FileNotFoundError) as exc:
            logger.error("dedup state unreadable from the archive (%s): using this machine's "
                         "cache of it", exc)
            builder, load_window = self._read(self.cache.cached, set_aside, recent_from, sites,
                                              now, False)
        tables = builder.build()
        # the window (30 days of every site: 115 MB at 300 sites) loads in a thread once these
        # sites' tables are built, not beside them: sharing 2 cores and the link, both took
        # longer (bench.aged, cold: the history's GETs twice as long, the tables' build 4x),
        # and the crawl's first request waits for these tables, only its first article for
        # the window
        index = DedupIndex(tables, Deferred(load_window) if load_window else ())
        for day, site, entry in self._waiting():
            index.add(entry, site, day)
        return index

    def _read(self, lister: Lister, set_aside: SetAside | None, recent_from: str,
              sites: Iterable[str] | None, now: dt.datetime, compact: bool
              ) -> tuple[TableBuilder, Callable[[], list[Window]] | None]:
        """These sites' history into a builder, and the window's loader (None: no window,
        ``sites=None``)."""
        today = set_aside[0] if set_aside else now.date().isoformat()
        builder = TableBuilder()
        every = every_live_segment(lister)
        own = sorted(set(sites)) if sites is not None else self._every_site(lister, every)
        window = self.window = WindowState(self.storage, self.cache, now, lister)
        first = max(recent_from, (dt.date.fromisoformat(today) - dt.timedelta(days=400))
                    .isoformat())
        load_window = None
        if sites is not None:
            window.scan(first, today)
            if compact:
                window.build(first, today)
            load_window = self._window_loader(window, own, set_aside, recent_from)

        def windowed(key: str) -> bool:
            day = segment_partition(key)[0]
            return day < recent_from or window.covers(day, segment_hour(key))
        histories = []
        for site in own:
            history = SiteHistory(self.storage, self.cache, site)
            history.scan(lister, today, every)
            sections = history.read()
            if compact:
                history.compact(sections, today, windowed)
            self._add(builder, sorted(sections.data.items()), set_aside, recent_from, set())
            histories.append(history)
        if compact:
            self._prune(histories, window, first, today)
        return builder, load_window

    def _window_loader(self, window: WindowState, own: list[str], set_aside: SetAside | None,
                       recent_from: str) -> Callable[[], list[Window]]:
        """Loads the window's tables (in a thread, while the crawl starts). A window object
        gone meanwhile (its day merged by another run) means a new listing, once; storage
        failing, what the local cache holds of it, said in one ERROR line."""
        infos = window.objects()

        def load() -> list[Window]:
            nonlocal infos
            for attempt in range(3):
                try:
                    return (self._window_tables(infos, own, set_aside, recent_from)
                            + self._unbuilt_hours(window, own, set_aside))
                except FileNotFoundError:
                    if attempt:
                        raise
                    window.found.clear()
                    window.scan(*window.scanned)
                    infos = window.objects()
                except StorageError as exc:
                    logger.error("dedup window unreadable from the archive (%s): using this "
                                 "machine's cache of it", exc)
                    infos = [info for info in infos if self.cache.holds(info.key)]
            return []
        return load

    def unchecked_hours(self, today: str) -> list[tuple[str, int, WindowTable]]:
        """The window's hour objects of ``today`` and the day before whose articles' links
        no run has checked yet (``pipelines/link_pass.py``), as (day, hour, table): read
        from the cache the window's loading filled, so only the LISTs cost requests."""
        if self.window is None:
            return []
        days = {today, (dt.date.fromisoformat(today) - dt.timedelta(days=1)).isoformat()}
        checked = {info.key for day in sorted(days)
                   for info in self.storage.list(links_checked_prefix(day))}
        hours = []
        for key, info in sorted(self.window.found.items()):
            day, hour = window_parts(key)
            if hour is None or day not in days or links_checked_key(day, hour) in checked:
                continue
            blob = self.cache.get(key, info.size if info.size >= 0 else None)
            hours.append((day, hour, WindowTable.from_bytes(blob)[0]))
        return hours

    def _unbuilt_hours(self, window: WindowState, own: list[str], set_aside: SetAside | None
                       ) -> list[Window]:
        """A replay's other sites' articles of its day and the day before that the window
        does not hold yet (their hours not built): a crawl's links to them are made later by
        the hour pass, which a replay does not run, so it reads them itself (one LIST a day,
        their segments)."""
        if set_aside is None:
            return []
        day = dt.date.fromisoformat(set_aside[0])
        infos = [info for d in (day - dt.timedelta(days=1), day)
                 for info in self.storage.list(dedup_day_prefix(d.isoformat()))
                 if (partition := segment_partition(info.key)) is not None
                 and partition[1] not in own
                 and not window.covers(partition[0], segment_hour(info.key))]
        if not infos:
            return []
        builder = TableBuilder()
        self._add(builder, self.cache.get_many(infos), set_aside, "0000-00-00", skip=set(own))
        return [builder.build()]

    def _window_tables(self, infos: list[ObjectInfo], own: list[str],
                       set_aside: SetAside | None, recent_from: str) -> list[Window]:
        tables: list[Window] = []
        old = TableBuilder()  # format-1 entries, which the tables leave out
        for _key, blob in self.cache.get_many(infos):
            table, segments = WindowTable.from_bytes(blob)
            table.hide(own, set_aside)
            tables.append(table)
            self._add(old, segments, set_aside, recent_from, skip=set(own))
        if len(old.ids):
            tables.append(old.build())
        return tables

    @staticmethod
    def _add(builder: TableBuilder, sections: Iterable[tuple[str, bytes]],
             set_aside: SetAside | None, recent_from: str, skip: set[str]) -> None:
        """Sections sorted by key (so by day), read a day at a time."""
        def kept() -> Iterator[tuple[str, str, bytes]]:
            for key, data in sections:
                day, site = segment_partition(key)
                if site not in skip and not _set_aside(day, site, set_aside):
                    yield day, site, data
        for (day, site), group in groupby(kept(), key=itemgetter(0, 1)):
            builder.add_entries(iter_segments(data for _, _, data in group),
                                recent=day >= recent_from, day=day, site=site)

    @staticmethod
    def _every_site(lister: Lister, every: Callable[[], list[ObjectInfo]]) -> list[str]:
        found = {segment_partition(info.key)[1] for info in every()
                 if segment_partition(info.key)}
        found |= {parts[0] for info in lister(SITE_STATE_PREFIX)
                  if (parts := site_state_parts(info.key))}
        return sorted(found)

    def _prune(self, histories: list[SiteHistory], window: WindowState, first: str,
               today: str) -> None:
        """Keep the cache to what the next runs read: these sites' current objects and live
        segments, the window's current objects; not other sites' live segments (the spool
        keeps what it uploads) once the window holds them."""
        own = {h.site: h for h in histories}
        window_keys = {info.key for info in window.objects()}
        first_live = live_from(today)

        def stale(key: str) -> bool:
            if (partition := segment_partition(key)) is not None:
                history = own.get(partition[1])
                if history is not None:
                    return key not in history.live
                # another site's, which the spool kept: its hour is read from the window
                return partition[0] < first_live or window.covers(partition[0], segment_hour(key))
            if (parts := site_state_parts(key)) is not None:
                return parts[0] in own and key not in own[parts[0]].objects
            if key.startswith(WINDOW_STATE_PREFIX) and (parts := window_parts(key)):
                return key not in window_keys
            return False
        removed = self.cache.prune(stale)
        if removed:
            logger.debug("dedup state cache: %d files no longer needed removed", removed)

    def _waiting(self) -> Iterator[tuple[str, str, StateEntry]]:
        """Segments still in the spool describe records waiting there with them: (day, site,
        entry)."""
        for waiting in self.spool.pending() if self.spool else ():
            if (partition := segment_partition(waiting.key)) is not None:
                for entry in decode_segment(waiting.data_path.read_bytes()):
                    yield (*partition, entry)


__all__ = ["DEDUP_STATE_PREFIX", "DedupState", "remove_segments", "superseded_segments"]
