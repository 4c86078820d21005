"""Synthetic dedup state, written through the state's own writers (no crawling): live segments
as crawls upload them, and compacted objects as the compactor stores them.

For the tests of compaction and for ``python -m bench.aged``. Articles are numbered per site;
each has a deterministic id, text hash and MinHash sketch (random slots, so no two synthetic
articles are near-duplicates unless made so).
"""

from __future__ import annotations

import hashlib
import random
import struct

from archive.keys import DEDUP_STATE_PREFIX, site_state_key, window_key
from archive.storage import Storage
from pipelines.dedup_compaction import object_digest, window_object
from pipelines.dedup_format import encode_object, encode_segment
from pipelines.dedup_index import StateEntry
from pipelines.fingerprint import SKETCH_SLOTS, Sketch


def _u64(*parts: object) -> int:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return struct.unpack("<Q", digest)[0]


def article(site: str, n: int, version: int = 1, text: int | None = None) -> StateEntry:
    """Article ``n`` of ``site`` at ``version``; ``text`` names its text (default: its own,
    a new one per version), so two articles can share one."""
    content = _u64("text", site, n, version) if text is None else _u64("shared", text)
    rng = random.Random(content)
    slots = tuple(rng.randrange(1 << 16) for _ in range(SKETCH_SLOTS))
    return StateEntry(article_id(site, n), content, version, Sketch(slots, 180), None)


def article_id(site: str, n: int) -> int:
    return _u64("id", site, n)


def live_key(day: str, site: str, hour: int, minute: int = 0, seq: int = 1) -> str:
    """A live segment's key as a crawl started at that time names it."""
    crawl_id = f"{day.replace('-', '')}T{hour:02d}{minute:02d}00Z-a9e5d0"
    return f"{DEDUP_STATE_PREFIX}date={day}/site={site}/{crawl_id}-{seq:05d}.bin"


def write_live(storage: Storage, key: str, entries: list[StateEntry]) -> None:
    storage.put_bytes(key, encode_segment(entries))


def write_site_object(storage: Storage, site: str, period: str,
                      sections: dict[str, bytes]) -> str:
    """A compacted object of a site's history, as the compactor names and stores it."""
    data = encode_object(sections)
    key = site_state_key(site, period, object_digest(data))
    storage.put_bytes(key, data)
    return key


def write_window(storage: Storage, day: str, hour: int | None,
                 sections: dict[str, bytes]) -> str:
    key = window_key(day, hour)
    storage.create_exclusive(key, window_object(sections))
    return key
