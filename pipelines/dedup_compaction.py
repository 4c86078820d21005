"""Compaction of the dedup state: what keeps a run's cost independent of the archive's age.

Live segments (``state/dedup/date=D/site=S/<crawl_id>-<nnnnn>.bin``, one per record file) are
merged into immutable objects of two kinds, both in the ``NADEDUPC`` format of
``dedup_format.py`` (whole segments as sections named by their live key):

- **A site's history** (``state/dedup-site/site=S/<period>/<digest>.bin``): versions and "same
  text under another URL" need a site's own articles of all time, and only those (an id is a
  canonical URL on its own site). One object a period, coarser with age: a day of the current
  month, a month of the current year, a year before that. A run of S reads one LIST and about
  ``days this month + months this year + years`` GETs (≤ 31 + 11 + age in years), whatever the
  number of runs behind it. Only a run holding S's lease compacts S, so no other crawl of S
  writes meanwhile, and it merges today's segments too once the window holds them.
- **The near-duplicate window** (``state/dedup-window/month=M/date=D/hour=HH.bin``, then
  ``day.bin``), in the ``NADEDUPW`` format of ``window_index.py`` (a table ready to search, not
  segments): every site's articles of one hour (their crawl's start hour), built by whichever
  run first finds the hour closed (``WINDOW_GRACE`` after its end) and created with
  ``create_exclusive``, so two machines never both store one; a day's 24 hours merge into one
  object. A run reads ≤ ``near_duplicate_days`` day objects and ≤ 48 hour objects.

Crash safety: an object is written complete under its final key before any of its inputs is
deleted, and a reader takes the union of what it finds, counting each section name once; a
kill at any point leaves the inputs, the output, or both, never a gap, and every section is a
segment that was uploaded after its record file, so the state never claims a record that is
not stored. A half-done merge is finished by the next run (the same inputs give the same bytes
and so the same name).

What this gives up: a site's segments of the current and previous hour are not in the window
yet (another site's run sees them only once their hour is built, within about two hours); a
segment uploaded after its hour was built (a run longer than ``WINDOW_GRACE``, a spool that
waited out an outage) is never in the window, only in its site's history; and a live segment
uploaded more than ``LIVE_DAYS`` days after its fetch day, after its site's day was compacted,
is not read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from archive.keys import (
    DEDUP_STATE_PREFIX,
    dedup_day_prefix,
    dedup_live_prefix,
    segment_hour,
    segment_partition,
    site_compacted_marker,
    site_state_key,
    site_state_parts,
    site_state_prefix,
    state_period,
    window_key,
    window_month_prefix,
    window_parts,
)
from archive.storage import ObjectInfo, Storage
from archive.timestamps import days_between
from pipelines.dedup_cache import StateCache
from pipelines.dedup_format import encode_object, iter_object
from pipelines.window_index import Entry, WindowTable

logger = logging.getLogger(__name__)
WINDOW_GRACE = dt.timedelta(hours=1)  # after an hour's end, before its segments are merged
LIVE_DAYS = 7  # a run lists its sites' live segments of this many days back
LIST_THREADS = 8  # under boto3's pool of 10 connections a client


def live_from(today: str) -> str:
    """The first day whose live segments a run of ``today`` lists: the scan, the upgrade
    check and the cache pruning must agree on it."""
    return (dt.date.fromisoformat(today) - dt.timedelta(days=LIVE_DAYS)).isoformat()


def list_all(lister: Callable[[str], Iterable[ObjectInfo]], prefixes: list[str]
             ) -> list[list[ObjectInfo]]:
    """Each prefix's listing, the LISTs sent together: a run's scan is a dozen of them, and
    one after the other they were most of a warm start's state load (their round trips
    add up; against S3 proper each is tens of milliseconds)."""
    if len(prefixes) <= 1:
        return [list(lister(prefix)) for prefix in prefixes]
    with ThreadPoolExecutor(min(len(prefixes), LIST_THREADS)) as pool:
        return list(pool.map(lambda prefix: list(lister(prefix)), prefixes))


def _months(first: str, last: str) -> list[str]:
    return sorted({day[:7] for day in days_between(first, last)})


def window_object(sections: dict[str, bytes]) -> bytes:
    """A window object of these segments (``window_index.py``): their table, ready to search."""
    table, old = WindowTable.from_sections(sections)
    return table.to_bytes(old)


def object_digest(data: bytes) -> str:
    """The name of a compacted site object: its bytes' digest, so one name is one content."""
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _period_start(period: str) -> str:
    value = period.split("=", 1)[1]
    return {10: value, 7: f"{value}-01", 4: f"{value}-01-01"}[len(value)]


@dataclass
class Sections:
    """Segments by live key, gathered from objects and live segments, each counted once."""

    data: dict[str, bytes] = field(default_factory=dict)

    def add_object(self, blob: bytes) -> list[str]:
        names = []
        for key, segment in iter_object(blob):
            self.data.setdefault(key, segment)
            names.append(key)
        return names


class WindowState:
    """The near-duplicate window's objects across every site, and their building."""

    def __init__(self, storage: Storage, cache: StateCache, now: dt.datetime,
                 lister: Callable[[str], Iterable[ObjectInfo]]) -> None:
        self.storage, self.cache, self.now, self.lister = storage, cache, now, lister
        self.found: dict[str, ObjectInfo] = {}
        self.scanned = ("", "")

    def scan(self, first: str, last: str) -> None:
        self.scanned = (first, last)
        months = [window_month_prefix(month) for month in _months(first, last)]
        for listing in list_all(self.lister, months):
            for info in listing:
                parts = window_parts(info.key)
                if parts and first <= parts[0] <= last:
                    self.found[info.key] = info

    def covers(self, day: str, hour: int) -> bool:
        return window_key(day, None) in self.found or window_key(day, hour) in self.found

    def objects(self) -> list[ObjectInfo]:
        """What to read: each day's object, else the hours found of that day."""
        whole = {window_parts(key)[0] for key in self.found if window_parts(key)[1] is None}
        return [info for key, info in sorted(self.found.items())
                if window_parts(key)[1] is None or window_parts(key)[0] not in whole]

    def _closed(self, day: str, hour: int) -> bool:
        end = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC) + dt.timedelta(hours=hour + 1)
        return end + WINDOW_GRACE <= self.now

    def build(self, first: str, last: str) -> int:
        """Build every closed hour of these days that no run built yet, and each day whose
        24 hours are built; returns how many objects this run stored."""
        built = 0
        for day in days_between(first, last):
            if window_key(day, None) in self.found:
                continue
            missing = [h for h in range(24) if not self.covers(day, h) and self._closed(day, h)]
            if len(missing) == 24:  # a whole closed day none built (an upgrade, a quiet day)
                built += self._create(window_key(day, None), window_object(
                    dict(self.cache.get_many(self._segments(day)))))
                continue
            if missing:
                built += self._build_hours(day, missing)
            if all(self.covers(day, h) for h in range(24)):
                built += self._build_day(day)
        return built

    def _segments(self, day: str) -> list[ObjectInfo]:
        return [info for info in self.lister(dedup_day_prefix(day))
                if segment_partition(info.key) is not None]

    def _build_hours(self, day: str, hours: list[int]) -> int:
        by_hour: dict[int, list[ObjectInfo]] = defaultdict(list)
        for info in self._segments(day):
            by_hour[segment_hour(info.key)].append(info)
        stored = 0
        for hour in hours:
            data = window_object(dict(self.cache.get_many(by_hour.get(hour, ()))))
            stored += self._create(window_key(day, hour), data)
        return stored

    def _build_day(self, day: str) -> int:
        hours = [self.found[window_key(day, h)] for h in range(24)]
        entries: list[Entry] = []
        old: dict[str, bytes] = {}
        for _key, blob in self.cache.get_many(hours):
            table, segments = WindowTable.from_bytes(blob)
            entries.extend(table.entries())
            old.update(segments)
        data = WindowTable.build(entries).to_bytes(old)
        stored = self._create(window_key(day, None), data)
        for info in hours:  # the day object is complete: its hours are no longer read
            self.storage.delete(info.key)
            del self.found[info.key]
        return stored

    def _create(self, key: str, data: bytes) -> int:
        created = self.storage.create_exclusive(key, data)
        if created:
            self.cache.keep(key, data)
        # another machine's, if not ours: the same hour's segments as it saw them
        self.found[key] = ObjectInfo(key, len(data) if created else -1)
        return int(created)


@dataclass
class SiteHistory:
    """One site's compacted objects and live segments, and their compaction."""

    storage: Storage
    cache: StateCache
    site: str
    objects: dict[str, str] = field(default_factory=dict)  # key -> period
    sizes: dict[str, int] = field(default_factory=dict)
    live: dict[str, int] = field(default_factory=dict)  # live segment key -> size
    upgraded: bool = False
    # object key -> the sections it holds, as ``read`` found them (so compacting does not
    # parse every object a second time: 35,000 sections a year)
    sections_of: dict[str, list[str]] = field(default_factory=dict)

    def scan(self, lister: Callable[[str], Iterable[ObjectInfo]], today: str,
             every_live: Callable[[], Iterable[ObjectInfo]]) -> None:
        """List the site's objects; then its live segments of the last ``LIVE_DAYS`` days,
        or of every day (``every_live``, one listing of all live segments) before its first
        compaction, which is how an archive of the old layout is upgraded."""
        # the last days' live segments are listed with the objects, before knowing whether
        # the site was compacted yet (if not, those listings go unused, once)
        days = [dedup_live_prefix(day, self.site) for day in days_between(live_from(today),
                                                                          today)]
        objects, *live = list_all(lister, [site_state_prefix(self.site), *days])
        for info in objects:
            if info.key == site_compacted_marker(self.site):
                self.upgraded = True
            elif (parts := site_state_parts(info.key)) is not None:
                self.objects[info.key], self.sizes[info.key] = parts[1], info.size
        if self.upgraded:
            infos: Iterable[ObjectInfo] = (info for listing in live for info in listing)
        else:
            infos = (info for info in every_live()
                     if (segment_partition(info.key) or ("", ""))[1] == self.site)
        for info in infos:
            if segment_partition(info.key) is not None:
                self.live[info.key] = info.size

    def read(self) -> Sections:
        sections = Sections()
        blobs = self.cache.get_many(ObjectInfo(k, self.sizes[k]) for k in sorted(self.objects))
        for key, blob in blobs:
            self.sections_of[key] = sections.add_object(blob)
        fresh = [ObjectInfo(k, s) for k, s in sorted(self.live.items()) if k not in sections.data]
        for key, data in self.cache.get_many(fresh):
            sections.data[key] = data
        return sections

    def compact(self, sections: Sections, today: str, windowed: Callable[[str], bool]) -> int:
        """Merge into one object a period each: live segments the window already holds (or
        that are older than it, ``windowed``), and objects of periods that became coarser.
        Returns how many objects were stored."""
        groups: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for key, period in self.objects.items():
            groups[state_period(_period_start(period), today)][0].append(key)
        in_objects = self._object_sections()
        for key in self.live:
            if key in in_objects or windowed(key):
                groups[state_period(segment_partition(key)[0], today)][1].append(key)
        stored = 0
        for period, (objects, live) in sorted(groups.items()):
            if live or len(objects) > 1 or (objects and self.objects[objects[0]] != period):
                stored += self._merge(period, objects, live, sections)
        if not self.upgraded and self._all_recent(today):
            self.storage.put_bytes(site_compacted_marker(self.site),
                                   json.dumps({"site": self.site, "compacted": today}).encode())
            self.upgraded = True
        return stored

    def _object_sections(self) -> set[str]:
        found: set[str] = set()
        for key in self.objects:
            found.update(self._names(key))
        return found

    def _names(self, key: str) -> list[str]:
        if key not in self.sections_of:
            blob = self.cache.get(key, self.sizes[key])
            self.sections_of[key] = [name for name, _ in iter_object(blob)]
        return self.sections_of[key]

    def _merge(self, period: str, objects: list[str], live: list[str], sections: Sections
               ) -> int:
        names: set[str] = set(live)
        for key in objects:
            names.update(self._names(key))
        data = encode_object({name: sections.data[name] for name in names})
        key = site_state_key(self.site, period, object_digest(data))
        stored = 0
        if key not in self.objects:
            self.storage.put_bytes(key, data)
            self.cache.keep(key, data)
            stored = 1
        # only now, with everything they hold stored under ``key``, do the inputs go
        for old in [*(k for k in objects if k != key), *live]:
            self.storage.delete(old)
            self.objects.pop(old, None)
            self.live.pop(old, None)
        self.objects[key], self.sizes[key] = period, len(data)
        self.sections_of[key] = sorted(names)
        return stored

    def _all_recent(self, today: str) -> bool:
        first = live_from(today)
        return all(segment_partition(key)[0] >= first for key in self.live)

    def forget(self, names: set[str]) -> int:
        """Drop these sections (a replay's superseded segments) from the site's objects: each
        object holding any is rewritten without them, then removed. Returns how many."""
        rewritten = 0
        for key, period in list(self.objects.items()):
            blob = self.cache.get(key, self.sizes[key])
            kept = {name: data for name, data in iter_object(blob) if name not in names}
            if len(kept) == sum(1 for _ in iter_object(blob)):
                continue
            if kept:
                data = encode_object(kept)
                new = site_state_key(self.site, period, object_digest(data))
                self.storage.put_bytes(new, data)
                self.objects[new], self.sizes[new] = period, len(data)
                self.sections_of[new] = sorted(kept)
            self.storage.delete(key)
            del self.objects[key]
            rewritten += 1
        return rewritten


def every_live_segment(lister: Callable[[str], Iterable[ObjectInfo]]) -> Callable[[], list]:
    """All live segments of the archive, listed once however many sites ask (the upgrade of
    an archive of the old layout; afterwards no run needs it)."""
    listed: list[ObjectInfo] | None = None

    def every() -> list[ObjectInfo]:
        nonlocal listed
        if listed is None:
            listed = list(lister(DEDUP_STATE_PREFIX))
        return listed
    return every

