"""The dedup index: what the archive holds, compact enough for archives of millions of articles.

In memory only; where it comes from (the segments in the archive) is ``pipelines/dedup_state.py``.

What the archive held when the run started is frozen into sorted arrays searched by bisection: for
every article its id, text hash, version and a text-hash index over every version (36 bytes an
article); for the articles of the last ``near_duplicate_days`` only, the near-duplicate candidates,
each with its MinHash sketch, shingle count, published time, archived day, first day and site, and
16 band tables that hold only positions (a band's key is read from the sketch itself when the table
is searched), 148 bytes more. What the run adds goes into small dicts on top. Syndicated and
re-posted copies appear within days: the window bounds the band search however large the archive
grows; exact duplicates and versions are checked against everything. Entries of state format 1 (a
SimHash, no sketch, no published time) are still candidates, compared by SimHash.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

from pipelines.fingerprint import (
    BAND_ROWS,
    NEAR_DUPLICATE_BITS,
    SKETCH_SLOTS,
    SLOT_BITS,
    Sketch,
    band_keys,
    hamming,
    is_near_copy,
)

# NEAR_DUPLICATE_BITS + 1 SimHash bands: two simhashes within the threshold differ in at most
# that many bands, so they share at least one band value exactly (pigeonhole) and are compared
_BAND_COUNT = NEAR_DUPLICATE_BITS + 1
_BANDS = [(round(i * 64 / _BAND_COUNT), round((i + 1) * 64 / _BAND_COUNT))
          for i in range(_BAND_COUNT)]
_LOW32 = 0xFFFFFFFF
_SKETCH_BANDS = SKETCH_SLOTS // BAND_ROWS
# the tables keep a sketch as 32-bit words, one a band
assert BAND_ROWS * SLOT_BITS == 32
_SLOT_MASK = (1 << SLOT_BITS) - 1
UNKNOWN_PUBLISHED = -(2 ** 63)  # in arrays: the page declared no date
# a stored version's top bit: that version was made from a variant of the article (an AMP,
# print or mobile copy), not from its canonical page. Versions never come near 2**31, and
# segments written before the bit was used read as made from the canonical page
VARIANT_BIT = 1 << 31
_EPOCH_DAY = dt.date(1970, 1, 1)
_SLOT_BYTES = SKETCH_SLOTS * SLOT_BITS // 8
_NO_SLOTS = bytes(_SLOT_BYTES)


@dataclass(frozen=True, slots=True)
class StateEntry:
    """What the state knows of an article's latest version. ``published``: the page's own date,
    seconds since the epoch (UTC), None when unknown. Entries of format 1 carry a ``simhash``
    and no sketch; new entries a ``sketch`` and no simhash. ``variant``: the version was made
    from a variant (stored as ``VARIANT_BIT`` of the version)."""

    id: int
    content: int
    version: int
    sketch: Sketch | None = None
    published: int | None = None
    simhash: int | None = None
    variant: bool = False

    @property
    def stored_version(self) -> int:
        return self.version | (VARIANT_BIT if self.variant else 0)


def split_version(stored: int) -> tuple[int, bool]:
    """(version, made from a variant) of a version as stored."""
    return stored & ~VARIANT_BIT, bool(stored & VARIANT_BIT)


_DAY_SECONDS = 86_400


def original_rank(published: int | None, day: int, id_: int) -> tuple[int, int, int]:
    """Which of near-copies is the original (CONTRACT §5: "published first, else archived
    first"): the lowest rank. A page's own date first; an undated page counts as published at
    the end of the day it was first archived (it was published by then), so a dated copy
    archived that day is not taken for its copy, and a date without a time (or midnight) as the
    end of that day. Then the day first archived, then the lower id. Decision: no finer
    "archived first" than the day. The state keeps the segment's day, not the fetch time (4
    bytes an article more in every segment and window object); ties within a day are wire
    copies dated alike or undated pages, where no order is meaningful, and the id decides the
    same way in one run, in parallel runs and in a replay."""
    if published is None:
        stamp = (day + 1) * _DAY_SECONDS - 1
    elif published % _DAY_SECONDS == 0:  # a date alone (or midnight): any time of that day
        stamp = published + _DAY_SECONDS - 1
    else:
        stamp = published
    return stamp, day, id_


@dataclass(frozen=True, slots=True)
class Known:
    """A near-copy candidate as the index knows it: what ranks it (its earliest published
    time, the day it was first archived, its id) and what finds its latest record for a link
    repair (site, that version's day and text hash). An article is ranked by its first
    version: an original updated after its copies appeared is still their original."""

    id: int
    content: int
    published: int | None
    day: int
    site: str
    sketch: Sketch
    since: int | None = None  # the day its first version was archived, if not ``day``

    @property
    def first_day(self) -> int:
        return self.day if self.since is None else self.since

    def rank(self) -> tuple[int, int, int]:
        return original_rank(self.published, self.first_day, self.id)

    def merged(self, other: Known) -> Known:
        """Two versions of one article as one: the later one's text and day, the earliest
        published time and first day of both."""
        later = self if self.day >= other.day else other
        dates = [p for p in (self.published, other.published) if p is not None]
        return replace(later, published=min(dates, default=None),
                       since=min(self.first_day, other.first_day))


def original_among(known: Known, near: Iterable[Known]) -> Known:
    """The original of ``known`` and its near-copies ``near``: the lowest ranked."""
    return min([known, *near], key=Known.rank)


# a segment entry as dedup_state decodes it, whatever its format:
# (id, content, version as stored, published or None, simhash or None, shingle count,
# slots bytes or None)
Fields = tuple[int, int, int, int | None, int | None, int, bytes | None]


def published_seconds(published: str | None) -> int | None:
    """An ISO 8601 date or time (``Extraction.published``) as seconds since the epoch; a time
    without an offset counts as UTC, a date alone as its midnight UTC; None if unreadable."""
    if not published:
        return None
    try:
        when = dt.datetime.fromisoformat(published.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp())


def day_number(day: str) -> int:
    return (dt.date.fromisoformat(day) - _EPOCH_DAY).days


def day_string(number: int) -> str:
    return (_EPOCH_DAY + dt.timedelta(days=number)).isoformat()


def _band_values(simhash: int) -> Iterator[tuple[int, int]]:
    for band, (lo, hi) in enumerate(_BANDS):
        yield band, (simhash >> lo) & ((1 << (hi - lo)) - 1)


class TableBuilder:
    """Collects segment entries into flat arrays, then freezes them into ArchiveTables.

    Flat arrays, not objects an entry: a run's window holds about a million entries, and a
    tuple with its bytes costs some 300 bytes where these take 120."""

    def __init__(self) -> None:
        self.ids, self.contents, self.versions = array("Q"), array("Q"), array("I")
        # the recent entries' fingerprints: ``recent_at[i]`` is entry i's place here, or -1
        self.recent_at = array("i")
        self.published, self.simhashes = array("q"), array("Q")
        self.counts, self.days = array("H"), array("H")
        self.slots = bytearray()  # 2 * SKETCH_SLOTS bytes a recent entry (zeros: format 1)
        self.has_sketch = bytearray()
        self.sites = array("H")  # a recent entry's site, a number in ``site_names``
        self.site_names: list[str] = []
        self._site_numbers: dict[str, int] = {}

    def add_entries(self, entries: Iterable[Fields], recent: bool, day: str = "1970-01-01",
                    site: str = "") -> None:
        """Entries of one segment of ``site``, archived on ``day``."""
        day_no = day_number(day)
        site_no = self._site_numbers.setdefault(site, len(self.site_names))
        if site_no == len(self.site_names):
            self.site_names.append(site)
        for id_, content, version, published, simhash, count, slots in entries:
            if recent:
                self.recent_at.append(len(self.counts))
                self.published.append(UNKNOWN_PUBLISHED if published is None else published)
                self.simhashes.append(simhash or 0)
                self.counts.append(count)
                self.days.append(day_no)
                self.sites.append(site_no)
                self.slots += slots if slots is not None else _NO_SLOTS
                self.has_sketch.append(slots is not None)
            else:
                self.recent_at.append(-1)
            self.ids.append(id_)
            self.contents.append(content)
            self.versions.append(version)

    def recent(self, i: int
               ) -> tuple[int | None, int | None, int, bytes | None, int, int] | None:
        """(published, simhash, count, slots, day, site number) of entry i, None if it is
        not recent."""
        k = self.recent_at[i]
        if k < 0:
            return None
        stamp = self.published[k]
        slots = bytes(self.slots[k * _SLOT_BYTES:(k + 1) * _SLOT_BYTES])
        return (None if stamp == UNKNOWN_PUBLISHED else stamp, self.simhashes[k] or None,
                self.counts[k], slots if self.has_sketch[k] else None, self.days[k],
                self.sites[k])

    def build(self) -> ArchiveTables:
        return ArchiveTables(self)


class Candidates:
    """Recent articles with a sketch: positions, sketches, counts, published times, days, and
    one table a band of candidate numbers sorted by that band's key. The slots are kept as
    32-bit words, each one band's key (two 16-bit slots, the first in the low bits)."""

    def __init__(self) -> None:
        self.pos, self.counts, self.days = array("I"), array("H"), array("H")
        self.published = array("q")
        self.words = array("I")
        self.bands: list[array] = []

    def add(self, pos: int, published: int | None, count: int, slots: bytes, day: int) -> None:
        self.pos.append(pos)
        self.published.append(UNKNOWN_PUBLISHED if published is None else published)
        self.counts.append(count)
        self.words.frombytes(slots)
        self.days.append(day)

    def freeze(self) -> None:
        if sys.byteorder == "big":  # segments are little-endian
            self.words.byteswap()
        self.bands = [array("I", sorted(range(len(self.pos)),
                                        key=self.words[band::_SKETCH_BANDS].__getitem__))
                      for band in range(_SKETCH_BANDS)]

    def sketch(self, k: int) -> Sketch:
        words = self.words[k * _SKETCH_BANDS:(k + 1) * _SKETCH_BANDS]
        slots = tuple(slot for word in words for slot in (word & _SLOT_MASK, word >> SLOT_BITS))
        return Sketch(slots, self.counts[k])

    def matching(self, sketch: Sketch) -> Iterator[int]:
        """Candidates sharing a band with ``sketch`` (a candidate may come more than once)."""
        words = self.words
        for band, key in enumerate(band_keys(sketch)):
            table = self.bands[band]
            start = bisect_left(table, key, key=lambda k, b=band: words[k * _SKETCH_BANDS + b])
            while start < len(table) and words[table[start] * _SKETCH_BANDS + band] == key:
                yield table[start]
                start += 1

    def nbytes(self) -> int:
        arrays = [self.pos, self.counts, self.days, self.published, self.words, *self.bands]
        return sum(a.itemsize * len(a) for a in arrays)


def _first_versions(raw: TableBuilder) -> dict[int, tuple[int, int]]:
    """Per recent article: the first archived day and earliest published time (or
    UNKNOWN_PUBLISHED) over its recent versions."""
    firsts: dict[int, tuple[int, int]] = {}
    for i, k in enumerate(raw.recent_at):
        if k < 0:
            continue
        day, stamp = raw.days[k], raw.published[k]
        seen = firsts.get(raw.ids[i])
        if seen is not None:
            known = [p for p in (seen[1], stamp) if p != UNKNOWN_PUBLISHED]
            day, stamp = min(day, seen[0]), min(known, default=UNKNOWN_PUBLISHED)
        firsts[raw.ids[i]] = (day, stamp)
    return firsts


class ArchiveTables:
    """Sorted, read-only arrays over the archive's state at the start of the run."""

    def __init__(self, raw: TableBuilder) -> None:
        ids, contents, versions = raw.ids, raw.contents, raw.versions
        # one int a key (id and version side by side) sorts faster and smaller than tuples
        order = array("I", sorted(range(len(ids)),
                                  key=lambda i: (ids[i] << 32) | (versions[i] & ~VARIANT_BIT)))
        latest = array("I", (i for n, i in enumerate(order)
                             if n + 1 == len(order) or ids[order[n + 1]] != ids[i]))
        del order
        self.ids = array("Q", (ids[i] for i in latest))
        self.contents = array("Q", (contents[i] for i in latest))
        self.versions = array("I", (versions[i] for i in latest))
        # every version's text counts for exact duplicates; the owner of a text is the
        # article that has (or had) it, the lowest id (then version) of those
        by_text = sorted(range(len(ids)), key=lambda i: (contents[i] << 96) | (ids[i] << 32)
                         | (versions[i] & ~VARIANT_BIT))
        self.content_keys = array("Q", (contents[i] for i in by_text))
        self.content_owners = array("Q", (ids[i] for i in by_text))
        del by_text
        self.near = Candidates()
        self.near_sites = array("H")  # a candidate's site, a number in ``site_names``
        self.near_since = array("H")  # the day a candidate's first version was archived
        self.site_names = raw.site_names
        firsts = _first_versions(raw)
        # format-1 candidates: position, simhash, archived day; ten simhash band tables
        self.old_pos, self.old_simhashes, self.old_days = array("I"), array("Q"), array("H")
        bands: list[array] = [array("Q") for _ in _BANDS]
        for pos, i in enumerate(latest):
            fields = raw.recent(i)
            if fields is None:
                continue
            published, simhash, count, slots, day, site = fields
            if slots is not None:
                since, earliest = firsts[ids[i]]
                # a candidate's published time: its versions' earliest (it ranks the article)
                self.near.add(pos, None if earliest == UNKNOWN_PUBLISHED else earliest, count,
                              slots, day)
                self.near_sites.append(site)
                self.near_since.append(since)
                continue
            for band, value in _band_values(simhash or 0):
                bands[band].append((value << 32) | len(self.old_pos))
            self.old_pos.append(pos)
            self.old_simhashes.append(simhash or 0)
            self.old_days.append(day)
        self.near.freeze()
        self.old_bands = [array("Q", sorted(table)) for table in bands]

    def __len__(self) -> int:
        return len(self.ids)

    def visible_count(self) -> int:
        return len(self.ids)

    def nbytes(self) -> int:
        arrays = [self.ids, self.contents, self.versions, self.content_keys, self.content_owners,
                  self.near_sites, self.near_since, self.old_pos, self.old_simhashes,
                  self.old_days, *self.old_bands]
        return sum(a.itemsize * len(a) for a in arrays) + self.near.nbytes()

    def _position(self, id_: int) -> int | None:
        pos = bisect_left(self.ids, id_)
        return pos if pos < len(self.ids) and self.ids[pos] == id_ else None

    def latest(self, id_: int) -> StateEntry | None:
        pos = self._position(id_)
        if pos is None:
            return None
        sketch, published, simhash = None, None, None
        k = bisect_left(self.near.pos, pos)
        if k < len(self.near.pos) and self.near.pos[k] == pos:
            sketch = self.near.sketch(k)
            stamp = self.near.published[k]
            published = None if stamp == UNKNOWN_PUBLISHED else stamp
        k = bisect_left(self.old_pos, pos)
        if k < len(self.old_pos) and self.old_pos[k] == pos:
            simhash = self.old_simhashes[k]
        version, variant = split_version(self.versions[pos])
        return StateEntry(id_, self.contents[pos], version, sketch, published, simhash, variant)

    def archived_day(self, id_: int) -> str | None:
        """The day a recent article's latest version was archived (its segment's day)."""
        pos = self._position(id_)
        for positions, days in ((self.near.pos, self.near.days), (self.old_pos, self.old_days)):
            k = bisect_left(positions, pos) if pos is not None else len(positions)
            if k < len(positions) and positions[k] == pos:
                return day_string(days[k])
        return None

    def id_with_content(self, content: int) -> int | None:
        pos = bisect_left(self.content_keys, content)
        if pos < len(self.content_keys) and self.content_keys[pos] == content:
            return self.content_owners[pos]
        return None

    def sketch_candidates(self, sketch: Sketch) -> Iterator[Known]:
        """Recent articles sharing a band with ``sketch``."""
        near = self.near
        for k in set(near.matching(sketch)):
            pos, stamp = near.pos[k], near.published[k]
            yield Known(self.ids[pos], self.contents[pos],
                        None if stamp == UNKNOWN_PUBLISHED else stamp, near.days[k],
                        self.site_names[self.near_sites[k]], near.sketch(k),
                        self.near_since[k])

    def first_day(self, id_: int) -> int | None:
        """The day a recent article's first version was archived; None if not recent."""
        pos = self._position(id_)
        k = bisect_left(self.near.pos, pos) if pos is not None else len(self.near.pos)
        if k < len(self.near.pos) and self.near.pos[k] == pos:
            return self.near_since[k]
        return None

    def simhash_candidates(self, simhash: int) -> Iterator[tuple[int, int]]:
        """(id, simhash) of recent format-1 articles sharing a band value with ``simhash``."""
        for band, value in _band_values(simhash):
            table = self.old_bands[band]
            start = bisect_left(table, value << 32)
            stop = bisect_left(table, (value + 1) << 32)
            for k in range(start, stop):
                at = table[k] & _LOW32
                yield self.ids[self.old_pos[at]], self.old_simhashes[at]


class Window(Protocol):
    """Other sites' recent articles, searched beside the tables (``window_index.WindowTable``,
    or ``ArchiveTables`` of their format-1 entries)."""

    def visible_count(self) -> int: ...
    def id_with_content(self, content: int) -> int | None: ...
    def sketch_candidates(self, sketch: Sketch) -> Iterator[Known]: ...
    def simhash_candidates(self, simhash: int) -> Iterator[tuple[int, int]]: ...


class Deferred:
    """A list of windows loaded in a thread while the crawl starts, waited for at first use:
    the window is most of what a run loads (30 days of every site), and nothing needs it
    before the first article is extracted."""

    def __init__(self, load: Callable[[], list[Window]] | None = None,
                 ready: Iterable[Window] = ()) -> None:
        self._value: list[Window] = list(ready)
        self._error: BaseException | None = None
        self._thread = None
        if load is not None:
            self._thread = threading.Thread(target=self._run, args=(load,),
                                            name="newsarchive-dedup-window", daemon=True)
            self._thread.start()

    def _run(self, load: Callable[[], list[Window]]) -> None:
        try:
            self._value = load()
        except BaseException as exc:  # raised where the value is used
            self._error = exc

    def result(self) -> list[Window]:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        return self._value


class DedupIndex:
    """The archive's tables plus what this run added: latest version by id, ids by text hash,
    and near-duplicate candidates."""

    def __init__(self, tables: ArchiveTables | None = None,
                 windows: Iterable[Window] | Deferred = ()) -> None:
        self.tables = tables or TableBuilder().build()
        # other sites' recent articles, one frozen table a window object (window_index.py)
        self._windows = windows if isinstance(windows, Deferred) else Deferred(ready=windows)
        self._by_id: dict[int, StateEntry] = {}
        # of _by_id's: site, archived day, first day (None: that day), published (earliest)
        self._where: dict[int, tuple[str, int, int | None, int | None]] = {}
        self._by_content: dict[int, int] = {}
        self._sketch_bands: list[dict[int, list[int]]] = [
            defaultdict(list) for _ in range(_SKETCH_BANDS)]
        self._simhash_bands: list[dict[int, list[int]]] = [defaultdict(list) for _ in _BANDS]

    @property
    def windows(self) -> list[Window]:
        return self._windows.result()

    def __len__(self) -> int:
        added = sum(1 for id_ in self._by_id if self.tables.latest(id_) is None)
        return len(self.tables) + added + sum(w.visible_count() for w in self.windows)

    def add(self, entry: StateEntry, site: str = "", day: str = "1970-01-01", *,
            since: int | None = None, published: int | None = None) -> None:
        """An entry of ``site`` archived on ``day`` (this run's, or a segment still waiting
        in the spool); for a new version, ``since`` (its article's first day) and
        ``published`` (the earliest of its versions) rank it (``Known``)."""
        previous = self.latest(entry.id)
        if previous is not None and previous.version > entry.version:
            return
        self._by_id[entry.id] = entry
        self._where[entry.id] = (site, day_number(day), since,
                                 entry.published if published is None else published)
        self._by_content.setdefault(entry.content, entry.id)
        if entry.sketch is not None:
            buckets = zip(self._sketch_bands, band_keys(entry.sketch), strict=True)
        else:  # a format-1 entry of a segment still waiting in the spool
            buckets = ((self._simhash_bands[band], value)
                       for band, value in _band_values(entry.simhash or 0))
        for table, value in buckets:
            if entry.id not in table[value]:
                table[value].append(entry.id)

    def first_day(self, id_: int) -> int | None:
        """The day an archived article's first version was archived, as far as the index
        knows (this run's, the recent tables'); None for an article older than the window."""
        where = self._where.get(id_)
        if where is not None:
            return where[1] if where[2] is None else where[2]
        return self.tables.first_day(id_)

    def latest(self, id_: int) -> StateEntry | None:
        return self._by_id.get(id_) or self.tables.latest(id_)

    def id_with_content(self, content: int) -> int | None:
        found = self._by_content.get(content)
        if found is None:
            found = self.tables.id_with_content(content)
        for window in self.windows if found is None else ():
            if (found := window.id_with_content(content)) is not None:
                break
        return found

    def _added(self, id_: int) -> Known | None:
        entry = self._by_id[id_]
        if entry.sketch is None:
            return None
        site, day, since, published = self._where[id_]
        return Known(id_, entry.content, published, day, site, entry.sketch, since)

    def _sketch_candidates(self, sketch: Sketch) -> Iterator[Known]:
        yield from self.tables.sketch_candidates(sketch)
        for window in self.windows:
            yield from window.sketch_candidates(sketch)
        # a copy shares most bands with its original: each candidate is compared once
        found = {id_ for table, key in zip(self._sketch_bands, band_keys(sketch), strict=True)
                 for id_ in table.get(key, ())}
        for id_ in found:
            if (known := self._added(id_)) is not None:
                yield known

    def near_copies(self, sketch: Sketch, exclude: int) -> list[Known]:
        """Every article (but ``exclude``) whose text is near-identical to this one, once
        each: its latest version's text and record, ranked by its versions' earliest date and
        first day among those found (another site's versions are the window's entries)."""
        found: dict[int, Known] = {}
        for known in self._sketch_candidates(sketch):
            if known.id != exclude:
                seen = found.get(known.id)
                found[known.id] = known if seen is None else seen.merged(known)
        for id_ in found.keys() & self._by_id.keys():  # a newer version this run wins
            added = self._added(id_)
            if added is not None:
                found[id_] = added.merged(found[id_])
        return sorted((k for k in found.values() if is_near_copy(sketch, k.sketch)),
                      key=Known.rank)

    def original_of(self, known: Known) -> Known:
        """The original of ``known`` among its near-copies: the lowest rank, maybe itself."""
        return original_among(known, self.near_copies(known.sketch, known.id))

    def near_duplicate(self, sketch: Sketch, simhash: int | None, exclude: int) -> int | None:
        """The best-ranked near-copy's id (of this text's copies and originals alike:
        :meth:`near_copies` tells them apart), else, among format-1 entries, the nearest
        SimHash."""
        copies = self.near_copies(sketch, exclude)
        if copies:
            return copies[0].id
        return None if simhash is None else self.near_simhash(simhash, exclude)

    def _simhash_candidates(self, simhash: int) -> Iterator[tuple[int, int | None]]:
        yield from self.tables.simhash_candidates(simhash)
        for window in self.windows:
            yield from window.simhash_candidates(simhash)
        for band, value in _band_values(simhash):
            for id_ in self._simhash_bands[band].get(value, ()):
                yield id_, self._by_id[id_].simhash

    def near_simhash(self, simhash: int, exclude: int) -> int | None:
        """Among format-1 entries (no sketch, no published time: archives written before state
        format 2), the one whose SimHash is nearest within NEAR_DUPLICATE_BITS (ties: the
        lowest id)."""
        best, best_distance = None, NEAR_DUPLICATE_BITS + 1
        for candidate, old in self._simhash_candidates(simhash):
            current = self._by_id.get(candidate)
            old = current.simhash if current is not None else old
            if candidate == exclude or old is None:
                continue
            distance = hamming(old, simhash)
            if distance < best_distance or (best is not None and distance == best_distance
                                            and candidate < best):
                best, best_distance = candidate, distance
        return best
