"""Near-duplicate link repairs: ``near_duplicate_of`` set on a copy whose record was written
before its original was known (CONTRACT §5: "set on the copy, never on the original, whether
the two were crawled in one run, in parallel runs or on different days").

A record is written when its article is archived, and the original of a copy is not always
known then: an original published first may be archived after its copy (later in the same run,
on a later day), and two sites crawled in parallel runs do not see each other's articles at
all. Whoever finds such a copy (the dedup stage, or the pass over a newly built hour of the
near-duplicate window, ``pipelines/link_pass.py``) stores a request
``state/links/site=S/<crawl_id>.json`` naming the copy (its day, id and text hash) and its
original, queued behind the run's own record files. The next run holding S's lease (so no
other crawl or replay of S rewrites S's record files meanwhile; a run of S itself, once its own
files are stored) applies S's requests: it finds each copy's record among its day's record files,
newest first, writes each file holding one again with the link set (complete, under the same
key: a reader sees the old file or the new one, never a part of either) and only then deletes
the requests. A request whose record is gone (a replay replaced the day) is dropped with a
warning; storage failing leaves the requests for the next run. The day's dump, if built,
shows as stale in ``newsarchive ls`` until it is built again.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from archive.keys import RECORDS, link_repairs_prefix, site_day_prefix
from archive.records import iter_records, record_line
from archive.storage import Storage

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LinkRepair:
    """Set ``near_duplicate_of = original`` on the record of article ``id`` with this text
    (the first 64 bits of its ``content_hash``) in ``site``'s record files of ``day``."""

    site: str
    day: str
    id: int
    content: int
    original: int


def encode_repairs(repairs: Iterable[LinkRepair]) -> bytes:
    rows = [{"day": r.day, "id": f"{r.id:016x}", "content": f"{r.content:016x}",
             "near_duplicate_of": f"{r.original:016x}"} for r in repairs]
    return json.dumps({"repairs": rows}, indent=0).encode()


def decode_repairs(site: str, data: bytes) -> list[LinkRepair]:
    return [LinkRepair(site, row["day"], int(row["id"], 16), int(row["content"], 16),
                       int(row["near_duplicate_of"], 16))
            for row in json.loads(data)["repairs"]]


@dataclass
class Applied:
    """What applying a site's requests did: links set, files rewritten, copies not found."""

    links: int = 0
    files: int = 0
    missing: int = 0


def apply_link_repairs(storage: Storage, site: str) -> Applied:
    """Apply every request waiting for ``site`` (the caller holds its lease)."""
    applied = Applied()
    requests = sorted(info.key for info in storage.list(link_repairs_prefix(site)))
    if not requests:
        return applied
    by_day: dict[str, dict[tuple[int, int], int]] = {}
    for key in requests:  # in crawl id order: a later run's finding wins
        for repair in decode_repairs(site, storage.get_bytes(key)):
            by_day.setdefault(repair.day, {})[(repair.id, repair.content)] = repair.original
    for day, links in sorted(by_day.items()):
        _apply_day(storage, site, day, links, applied)
    for key in requests:
        storage.delete(key)
    if applied.links or applied.missing:
        logger.info("near-duplicate links of %s: %d set in %d record file(s), %d copies no "
                    "longer found", site, applied.links, applied.files, applied.missing)
    return applied


def _apply_day(storage: Storage, site: str, day: str, links: dict[tuple[int, int], int],
               applied: Applied) -> None:
    wanted = dict(links)
    files = sorted((info.key for info in storage.list(site_day_prefix(RECORDS, day, site))
                    if info.key.endswith(".jsonl.gz")), reverse=True)
    for key in files:
        if not wanted:
            break
        with storage.open_read(key) as stream:
            records = list(iter_records(stream))
        changed = 0
        for record in records:
            original = wanted.pop(_identity(record), None)
            if original is not None and record.get("near_duplicate_of") != f"{original:016x}":
                record["near_duplicate_of"] = f"{original:016x}"
                changed += 1
        if changed:
            storage.put_bytes(key, _record_file(records))
            applied.links += changed
            applied.files += 1
    if wanted:
        applied.missing += len(wanted)
        logger.warning("near-duplicate links of %s on %s: %d copies not found in the day's "
                       "record files (replaced by a replay?)", site, day, len(wanted))


def _identity(record: dict[str, Any]) -> tuple[int, int]:
    return int(record["id"], 16), int(str(record["content_hash"])[:16], 16)


def _record_file(records: list[dict[str, Any]]) -> bytes:
    # as archive/records.RecordFile writes them: level 6, no timestamp in the header
    return gzip.compress(b"".join(record_line(r) for r in records), compresslevel=6, mtime=0)
