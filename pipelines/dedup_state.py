"""The dedup state: where the dedup index comes from, and the one place that knows its format.

State lives with the archive, not on one disk: every record file is followed in the upload order
by one immutable segment ``state/dedup/date=D/site=S/<crawl_id>-<nnnnn>.bin`` listing what the
file archived, so the state never claims a record that is not stored. Loading lists and reads
every segment, cached on this machine by name since segments never change, plus the segments
still waiting in the spool with their records. Two machines crawling into one bucket therefore
agree on what is new.

Two formats, told apart by their magic; new segments are written in format 2, and format 1 is
read for ever (an archive holds millions of such segments, and segments are never rewritten):

- ``NADEDUP1``, 28 bytes an article: id, text hash prefix, 64-bit SimHash, version.
- ``NADEDUP2``, 94 bytes an article: id, text hash prefix, version, published (the page's own
  date, seconds since the epoch UTC; ``UNKNOWN_PUBLISHED`` when it declared none), the number of
  distinct shingles, and the 32 16-bit slots of the MinHash sketch. With the archived day, which
  is the segment key's ``date=``, this is what deciding which of two copies is the original
  needs ("published first, else archived first", CONTRACT §5), without reading any record.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

from archive.keys import (
    DEDUP_STATE_PREFIX,
    SEGMENT_CACHE_GLOB,
    dedup_day_prefix,
    segment_cache_name,
    segment_key_from_cache_name,
    segment_partition,
)
from archive.spool import STATE_CACHE, Spool
from archive.storage import ObjectInfo, Storage, StorageError
from pipelines.dedup_index import (
    UNKNOWN_PUBLISHED,
    DedupIndex,
    Fields,
    StateEntry,
    TableBuilder,
)
from pipelines.fingerprint import SKETCH_SLOTS, Sketch

logger = logging.getLogger(__name__)
SEGMENT_MAGIC_V1 = b"NADEDUP1"
SEGMENT_MAGIC = b"NADEDUP2"
_ENTRY_V1 = struct.Struct("<QQQI")  # id, content hash prefix, simhash, version
# id, content hash prefix, version, published, shingle count, sketch slots
_ENTRY = struct.Struct(f"<QQIqH{2 * SKETCH_SLOTS}s")
_SLOTS = struct.Struct(f"<{SKETCH_SLOTS}H")


def encode_segment(entries: Iterable[StateEntry]) -> bytes:
    """A format-2 segment; every entry needs a sketch."""
    parts = [SEGMENT_MAGIC]
    for e in entries:
        assert e.sketch is not None, "format 2 holds sketches"
        published = UNKNOWN_PUBLISHED if e.published is None else e.published
        parts.append(_ENTRY.pack(e.id, e.content, e.version, published, e.sketch.count,
                                 _SLOTS.pack(*e.sketch.slots)))
    return b"".join(parts)


def _whole(body: memoryview, size: int) -> memoryview:
    return body[:len(body) - len(body) % size]


def iter_segment(data: bytes) -> Iterator[Fields]:
    """The entries of a segment of either format, as ``dedup_index.Fields``."""
    body = memoryview(data)[len(SEGMENT_MAGIC):]
    if data.startswith(SEGMENT_MAGIC):
        for id_, content, version, published, count, slots in _ENTRY.iter_unpack(
                _whole(body, _ENTRY.size)):
            yield (id_, content, version, None if published == UNKNOWN_PUBLISHED else published,
                   None, count, slots)
    elif data.startswith(SEGMENT_MAGIC_V1):
        for id_, content, simhash, version in _ENTRY_V1.iter_unpack(_whole(body, _ENTRY_V1.size)):
            yield id_, content, version, None, simhash, 0, None
    else:
        raise ValueError("not a dedup state segment")


def decode_segment(data: bytes) -> list[StateEntry]:
    return [StateEntry(id_, content, version,
                       None if slots is None else Sketch(_SLOTS.unpack(slots), count),
                       published, simhash)
            for id_, content, version, published, simhash, count, slots in iter_segment(data)]


def superseded_segments(storage: Storage, day: str, sites: set[str] | None) -> list[str]:
    """The day's segments of these sites (of all, for None): what a replay of that day
    replaces."""
    found = []
    for info in storage.list(dedup_day_prefix(day)):
        partition = segment_partition(info.key)
        if partition and (sites is None or partition[1] in sites):
            found.append(info.key)
    return found


class DedupState:
    """Segments in the archive (``keys.DEDUP_STATE_PREFIX``), with a local cache of their bytes."""

    def __init__(self, storage: Storage, cache_dir: Path, spool: Spool | None = None) -> None:
        self.storage = storage
        self.cache_dir = cache_dir
        self.spool = spool

    @classmethod
    def beside(cls, storage: Storage, spool: Spool) -> DedupState:
        """The state of ``storage``, cached in the spool's state cache (where the spool keeps
        the segments it uploads), with the segments still waiting in that spool."""
        return cls(storage, spool.root / STATE_CACHE, spool)

    def load(self, set_aside: tuple[str, frozenset[str]] | None = None,
             recent_from: str = "0000-00-00") -> DedupIndex:
        """Everything archived; near-duplicate candidates from days ``recent_from`` on. With
        ``set_aside=(day, sites)`` (a replay of those sites on that day), what the archive knew
        just before that day's crawls of those sites: later days and that day's segments of
        those sites are left out."""
        builder = TableBuilder()
        try:
            segments = list(self.storage.list(DEDUP_STATE_PREFIX))
        except StorageError as exc:
            logger.error("dedup state unreadable from the archive (%s): using this machine's "
                         "cache of it", exc)
            segments = self._cached_segments()
        for info in segments:
            partition = segment_partition(info.key)
            if partition is None:
                continue
            if set_aside is not None:
                day, site = partition
                if day > set_aside[0] or (day == set_aside[0] and site in set_aside[1]):
                    continue
            builder.add_entries(iter_segment(self._segment_bytes(info.key, info.size)),
                                recent=partition[0] >= recent_from, day=partition[0])
        index = DedupIndex(builder.build())
        for entry in self._waiting():
            index.add(entry)
        return index

    def _waiting(self) -> Iterator[StateEntry]:
        """Segments still in the spool describe records waiting there with them."""
        for entry in self.spool.pending() if self.spool else ():
            if segment_partition(entry.key) is not None:
                yield from decode_segment(entry.data_path.read_bytes())

    def _cached_segments(self) -> list[ObjectInfo]:
        if not self.cache_dir.is_dir():
            return []
        return [ObjectInfo(segment_key_from_cache_name(path.name), path.stat().st_size)
                for path in sorted(self.cache_dir.glob(SEGMENT_CACHE_GLOB))]

    def _segment_bytes(self, key: str, size: int) -> bytes:
        cached = self.cache_dir / segment_cache_name(key)
        if cached.is_file() and cached.stat().st_size == size:
            return cached.read_bytes()
        data = self.storage.get_bytes(key)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(cached)
        return data
