"""The dedup index: what the archive holds, compact enough for archives of millions of articles.

In memory only; where it comes from (the segments in the archive) is ``pipelines/dedup_state.py``.

What the archive held when the run started is frozen into sorted arrays (about 120 bytes an
article: id, text hash, simhash, version; a text-hash index over every version; ten band tables
for near-duplicate candidates) searched by bisection. What the run adds goes into small dicts on
top. Near-duplicate candidates come from the last ``near_duplicate_days`` of the archive only:
syndicated and re-posted copies appear within days, and the window bounds the band search however
large the archive grows; exact duplicates and versions are checked against everything.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipelines.fingerprint import NEAR_DUPLICATE_BITS, hamming

# NEAR_DUPLICATE_BITS + 1 bands: two simhashes within the threshold differ in at most that
# many bands, so they share at least one band value exactly (pigeonhole) and are compared
_BAND_COUNT = NEAR_DUPLICATE_BITS + 1
_BANDS = [(round(i * 64 / _BAND_COUNT), round((i + 1) * 64 / _BAND_COUNT))
          for i in range(_BAND_COUNT)]
_LOW32 = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class StateEntry:
    id: int
    content: int
    simhash: int
    version: int


def _band_values(simhash: int) -> Iterator[tuple[int, int]]:
    for band, (lo, hi) in enumerate(_BANDS):
        yield band, (simhash >> lo) & ((1 << (hi - lo)) - 1)


class TableBuilder:
    """Collects segment entries into flat arrays, then freezes them into ArchiveTables."""

    def __init__(self) -> None:
        self.ids, self.contents, self.simhashes = array("Q"), array("Q"), array("Q")
        self.versions = array("L")
        self.recent = bytearray()

    def add_entries(self, entries: Iterable[tuple[int, int, int, int]], recent: bool) -> None:
        """(id, content hash prefix, simhash, version) tuples, as a segment decodes to."""
        for id_, content, simhash, version in entries:
            self.ids.append(id_)
            self.contents.append(content)
            self.simhashes.append(simhash)
            self.versions.append(version)
            self.recent.append(recent)

    def build(self) -> ArchiveTables:
        return ArchiveTables(self)


class ArchiveTables:
    """Sorted, read-only arrays over the archive's state at the start of the run."""

    def __init__(self, raw: TableBuilder) -> None:
        order = sorted(range(len(raw.ids)), key=lambda i: (raw.ids[i], raw.versions[i]))
        # every version's text counts for exact duplicates
        self.content_keys = array("Q", sorted(raw.contents))
        content_owner = {}
        latest = [i for n, i in enumerate(order)
                  if n + 1 == len(order) or raw.ids[order[n + 1]] != raw.ids[i]]
        self.ids = array("Q", (raw.ids[i] for i in latest))
        self.contents = array("Q", (raw.contents[i] for i in latest))
        self.simhashes = array("Q", (raw.simhashes[i] for i in latest))
        self.versions = array("L", (raw.versions[i] for i in latest))
        for i in order:  # the owner of a text: the article that has (or had) it
            content_owner.setdefault(raw.contents[i], raw.ids[i])
        self.content_owners = array("Q", (content_owner[c] for c in self.content_keys))
        bands: list[array] = [array("Q") for _ in _BANDS]
        for pos, i in enumerate(latest):
            if raw.recent[i]:
                for band, value in _band_values(self.simhashes[pos]):
                    bands[band].append((value << 32) | pos)
        self.bands = [array("Q", sorted(table)) for table in bands]

    def __len__(self) -> int:
        return len(self.ids)

    def nbytes(self) -> int:
        arrays = [self.ids, self.contents, self.simhashes, self.versions, self.content_keys,
                  self.content_owners, *self.bands]
        return sum(a.itemsize * len(a) for a in arrays)

    def latest(self, id_: int) -> StateEntry | None:
        pos = bisect_left(self.ids, id_)
        if pos < len(self.ids) and self.ids[pos] == id_:
            return StateEntry(id_, self.contents[pos], self.simhashes[pos], self.versions[pos])
        return None

    def id_with_content(self, content: int) -> int | None:
        pos = bisect_left(self.content_keys, content)
        if pos < len(self.content_keys) and self.content_keys[pos] == content:
            return self.content_owners[pos]
        return None

    def candidates(self, simhash: int) -> Iterator[tuple[int, int]]:
        """(id, simhash) of recent articles sharing a band value with ``simhash``."""
        for band, value in _band_values(simhash):
            table = self.bands[band]
            start = bisect_left(table, value << 32)
            stop = bisect_left(table, (value + 1) << 32)
            for k in range(start, stop):
                pos = table[k] & _LOW32
                yield self.ids[pos], self.simhashes[pos]


class DedupIndex:
    """The archive's tables plus what this run added: latest version by id, ids by text hash,
    and near-duplicate candidates."""

    def __init__(self, tables: ArchiveTables | None = None) -> None:
        self.tables = tables or TableBuilder().build()
        self._by_id: dict[int, StateEntry] = {}
        self._by_content: dict[int, int] = {}
        self._bands: list[dict[int, list[int]]] = [defaultdict(list) for _ in _BANDS]

    def __len__(self) -> int:
        added = sum(1 for id_ in self._by_id if self.tables.latest(id_) is None)
        return len(self.tables) + added

    def add(self, entry: StateEntry) -> None:
        previous = self.latest(entry.id)
        if previous is not None and previous.version > entry.version:
            return
        self._by_id[entry.id] = entry
        self._by_content.setdefault(entry.content, entry.id)
        for band, value in _band_values(entry.simhash):
            bucket = self._bands[band][value]
            if entry.id not in bucket:
                bucket.append(entry.id)

    def latest(self, id_: int) -> StateEntry | None:
        return self._by_id.get(id_) or self.tables.latest(id_)

    def id_with_content(self, content: int) -> int | None:
        found = self._by_content.get(content)
        return found if found is not None else self.tables.id_with_content(content)

    def _candidates(self, simhash: int) -> Iterator[tuple[int, int]]:
        yield from self.tables.candidates(simhash)
        for band, value in _band_values(simhash):
            for id_ in self._bands[band].get(value, ()):
                yield id_, self._by_id[id_].simhash

    def near_duplicate(self, simhash: int, exclude: int) -> int | None:
        """The id whose text is nearest to ``simhash`` within the threshold (ties: lowest id)."""
        best, best_distance = None, NEAR_DUPLICATE_BITS + 1
        for candidate, other in self._candidates(simhash):
            if candidate == exclude:
                continue
            current = self._by_id.get(candidate)
            distance = hamming(current.simhash if current else other, simhash)
            if distance < best_distance or (best is not None and distance == best_distance
                                            and candidate < best):
                best, best_distance = candidate, distance
        return best
