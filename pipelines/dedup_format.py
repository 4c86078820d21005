"""The dedup state's formats: live segments (one per record file) and compacted objects.

Two segment formats, told apart by their magic; new segments are written in format 2, and
format 1 is read for ever (segments are never rewritten, only copied whole into objects):

- ``NADEDUP1``, 28 bytes an article: id, text hash prefix, 64-bit SimHash, version.
- ``NADEDUP2``, 94 bytes an article: id, text hash prefix, version (its top bit,
  ``VARIANT_BIT``, set when the version was made from a variant of the article: segments
  written before that bit was used hold none, and read as made from the canonical page),
  published (the page's own date, seconds since the epoch UTC; ``UNKNOWN_PUBLISHED`` when it
  declared none), the number of distinct shingles, and the 32 16-bit slots of the MinHash
  sketch. With the archived day, which
  is the segment key's ``date=``, this is what deciding which of two copies is the original
  needs ("published first, else archived first", CONTRACT §5), without reading any record.

A compacted object (``NADEDUPC``) holds whole segments as sections, each under the live key it
was uploaded as (below ``state/dedup/``), sorted by that name: merging is concatenation, a
section's name says its day and site (what a replay's baseline filters on) and which live
segment it came from, so a reader never counts one segment twice, whichever objects and live
segments it finds, and the same segments always make the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from archive.keys import DEDUP_STATE_PREFIX
from pipelines.dedup_index import UNKNOWN_PUBLISHED, Fields, StateEntry, split_version
from pipelines.fingerprint import SKETCH_SLOTS, Sketch

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
        parts.append(_ENTRY.pack(e.id, e.content, e.stored_version, published, e.sketch.count,
                                 _SLOTS.pack(*e.sketch.slots)))
    return b"".join(parts)


def _whole(body: memoryview, size: int) -> memoryview:
    return body[:len(body) - len(body) % size]


def iter_segment(data: bytes) -> Iterator[Fields]:
    """The entries of a segment of either format, as ``dedup_index.Fields`` (the version as
    stored, with its variant bit)."""
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


def iter_segments(segments: Iterable[bytes]) -> Iterator[Fields]:
    """The entries of many segments, in order: consecutive whole segments of one format are
    read as one (a year of a site's history is 35,000 segments of one or two articles each,
    and setting up a read per segment cost more than the reading)."""
    batch: list[bytes] = []
    magic = b""
    for data in segments:
        size = {SEGMENT_MAGIC: _ENTRY.size, SEGMENT_MAGIC_V1: _ENTRY_V1.size}.get(data[:8])
        whole = size is not None and (len(data) - len(SEGMENT_MAGIC)) % size == 0
        if batch and (not whole or data[:8] != magic):
            yield from iter_segment(magic + b"".join(batch))
            batch = []
        if whole:
            magic = data[:8]
            batch.append(data[len(SEGMENT_MAGIC):])
        else:
            yield from iter_segment(data)
    if batch:
        yield from iter_segment(magic + b"".join(batch))


def decode_segment(data: bytes) -> list[StateEntry]:
    entries = []
    for id_, content, stored, published, simhash, count, slots in iter_segment(data):
        version, variant = split_version(stored)
        entries.append(StateEntry(id_, content, version,
                                  None if slots is None else Sketch(_SLOTS.unpack(slots), count),
                                  published, simhash, variant))
    return entries



OBJECT_MAGIC = b"NADEDUPC"
_SECTION = struct.Struct("<HI")  # name length, data length


def encode_object(sections: dict[str, bytes]) -> bytes:
    """A compacted object from ``{live segment key: segment bytes}``: sorted, so the same
    segments always give the same bytes (and the same digest, the object's name)."""
    parts = [OBJECT_MAGIC]
    for key in sorted(sections):
        name = key[len(DEDUP_STATE_PREFIX):].encode("ascii")
        data = sections[key]
        parts += [_SECTION.pack(len(name), len(data)), name, data]
    return b"".join(parts)


def iter_object(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(live segment key, segment bytes) of every section of a compacted object."""
    if not data.startswith(OBJECT_MAGIC):
        raise ValueError("not a compacted dedup state object")
    view, at = memoryview(data), len(OBJECT_MAGIC)
    while at + _SECTION.size <= len(data):
        name_len, data_len = _SECTION.unpack_from(view, at)
        at += _SECTION.size
        name = bytes(view[at:at + name_len]).decode("ascii")
        at += name_len
        yield DEDUP_STATE_PREFIX + name, bytes(view[at:at + data_len])
        at += data_len
