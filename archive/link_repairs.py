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

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from archive.keys import (
    RECORDS,
    link_repairs_key,
    link_repairs_prefix,
    parse_data_key,
    site_day_prefix,
)
from archive.records import iter_records, record_file_bytes
from archive.storage import Storage

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LinkRepair:
    """Set ``near_duplicate_of = original`` on the record of article ``id`` with this text
    (the first 64 bits of its ``content_hash``) in ``site``'s record files of ``day``, if it
    has no link yet or one of ``replaces``."""

    site: str
    day: str
    id: int
    content: int
    original: int
    # the links it overrides: the other near-copies its finder knew (a record linked to one
    # that finder never saw, say one older than its window, keeps its link)
    replaces: frozenset[int] = frozenset()


def encode_repairs(repairs: Iterable[LinkRepair]) -> bytes:
    rows = [{"day": r.day, "id": f"{r.id:016x}", "content": f"{r.content:016x}",
             "near_duplicate_of": f"{r.original:016x}",
             "replaces": [f"{i:016x}" for i in sorted(r.replaces)]} for r in repairs]
    return json.dumps({"repairs": rows}, indent=0).encode()


def decode_repairs(site: str, data: bytes) -> list[LinkRepair]:
    return [LinkRepair(site, row["day"], int(row["id"], 16), int(row["content"], 16),
                       int(row["near_duplicate_of"], 16),
                       frozenset(int(i, 16) for i in row.get("replaces", ())))
            for row in json.loads(data)["repairs"]]


@dataclass
class Applied:
    """What applying a site's requests did: links set, files rewritten, copies not found."""

    links: int = 0
    files: int = 0
    missing: int = 0


def apply_link_repairs(storage: Storage, site: str, crawl_id: str | None = None) -> Applied:
    """Apply every request waiting for ``site`` (the caller holds its lease), in the order
    they were made (crawl ids sort by time); then delete them. An unreadable request is
    dropped with an ERROR line: it would fail every run. With ``crawl_id`` (a replay): only
    that run's request, to that run's files (the day's old files are about to be replaced,
    and the archive's other requests wait for the site's next crawl)."""
    applied = Applied()
    requests = sorted(info.key for info in storage.list(link_repairs_prefix(site))
                      if crawl_id is None or info.key == link_repairs_key(site, crawl_id))
    by_day: dict[str, dict[tuple[int, int], list[LinkRepair]]] = {}
    for key in requests:
        try:
            repairs = decode_repairs(site, storage.get_bytes(key))
        except (ValueError, KeyError, TypeError) as exc:
            logger.error("unreadable near-duplicate link request %s dropped: %s", key, exc)
            continue
        for repair in repairs:
            by_day.setdefault(repair.day, {}).setdefault((repair.id, repair.content),
                                                         []).append(repair)
    for day, wanted in sorted(by_day.items()):
        _apply_day(storage, site, day, wanted, applied, crawl_id)
    for key in requests:
        storage.delete(key)
    if applied.links or applied.missing:
        logger.info("near-duplicate links of %s: %d set in %d record file(s), %d copies no "
                    "longer found", site, applied.links, applied.files, applied.missing)
    return applied


def _apply_day(storage: Storage, site: str, day: str,
               wanted: dict[tuple[int, int], list[LinkRepair]], applied: Applied,
               crawl_id: str | None) -> None:
    """Each copy's record found by id and text, newest file first; a copy whose text is not
    there (a replay by a newer extractor rewrote the day) by id alone, its newest record."""
    files = sorted((info.key for info in storage.list(site_day_prefix(RECORDS, day, site))
                    if (parts := parse_data_key(info.key)) is not None
                    and (crawl_id is None or parts["crawl_id"] == crawl_id)), reverse=True)
    for match in (_identity, _id_only):
        keyed = {match(*k): repairs for k, repairs in wanted.items()}
        for key in files:
            if not keyed:
                break
            _apply_file(storage, key, keyed, match, applied)
        wanted = {k: repairs for k, repairs in wanted.items() if match(*k) in keyed}
    if wanted:
        applied.missing += len(wanted)
        logger.warning("near-duplicate links of %s on %s: %d copies not found in the day's "
                       "record files", site, day, len(wanted))


def _apply_file(storage: Storage, key: str, keyed: dict[Any, list[LinkRepair]],
                match: Any, applied: Applied) -> None:
    with storage.open_read(key) as stream:
        records = list(iter_records(stream))
    changed = 0
    for record in records:
        repairs = keyed.pop(match(int(record["id"], 16), _text_of(record)), None)
        before = record.get("near_duplicate_of")
        for repair in repairs or ():  # in order, each one only over what it knew
            current = record.get("near_duplicate_of")
            if current is None or int(current, 16) in repair.replaces:
                record["near_duplicate_of"] = f"{repair.original:016x}"
        changed += record.get("near_duplicate_of") != before
    if changed:
        storage.put_bytes(key, record_file_bytes(records))
        applied.links += changed
        applied.files += 1


def _identity(id_: int, content: int) -> tuple[int, int]:
    return id_, content


def _id_only(id_: int, content: int) -> int:
    return id_


def _text_of(record: dict[str, Any]) -> int:
    return int(str(record["content_hash"])[:16], 16)
