"""Checks shared by the crash and storage-fault tests: whole objects, resolvable pointers,
no duplicates, and what a spool still holds."""

from __future__ import annotations

import gzip
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archive.leases import LeaseHeld, acquire
from archive.records import iter_records
from archive.storage import Storage
from tests.crawlrun import read_records, warc_response

CONTRACT_PREFIXES = ("raw/", "records/", "runs/", "dumps/", "state/")


def assert_complete_objects(storage: Storage) -> int:
    """Every object under the contract prefixes is whole: each .gz decompresses to its end,
    each .json parses. Returns how many objects were checked."""
    checked = 0
    for info in storage.list(""):
        if not info.key.startswith(CONTRACT_PREFIXES):
            continue
        data = storage.get_bytes(info.key)
        assert len(data) == info.size, info.key
        if info.key.endswith(".gz"):
            gzip.decompress(data)  # raises on a cut member
        elif info.key.endswith(".json"):
            json.loads(data)
        checked += 1
    return checked


def assert_pointers_resolve(storage: Storage, records: list[dict[str, Any]]) -> None:
    for record in records:
        uri, _ = warc_response(storage, record["warc_filename"], record["warc_offset"],
                               record["warc_length"])
        assert uri == record["url"], record["canonical_url"]


def assert_archive_sound(storage: Storage) -> list[dict[str, Any]]:
    """Whole objects and valid pointers; the records found."""
    assert_complete_objects(storage)
    records = read_records(storage)
    assert_pointers_resolve(storage, records)
    return records


def spool_records(spool_base: Path) -> list[dict[str, Any]]:
    """Records in finished record files still waiting in any spool under ``spool_base``."""
    found = []
    for key_path in spool_base.glob("*/ready/*.key"):
        if key_path.read_text().startswith("records/"):
            data = key_path.with_suffix(".data").read_bytes()
            found.extend(iter_records(io.BytesIO(data)))
    return found


def spool_leftovers(spool_base: Path) -> list[str]:
    """Files left in spools other than the liveness locks of finished processes."""
    return sorted(str(p.relative_to(spool_base)) for p in spool_base.glob("*/*/*")
                  if p.parent.name in ("open", "ready") and not p.name.endswith(".lock"))


def record_ids(records: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
    return {(r["canonical_url"], r["crawl_id"], r["version"]) for r in records}


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step)


def lease_free(storage: Storage, sites: tuple[str, ...]) -> bool:
    """True once no site's lease is held (probing takes and releases each lease)."""
    for site in sites:
        try:
            acquire(storage, site, "probe", ttl=1).release()
        except LeaseHeld:
            return False
    return True
