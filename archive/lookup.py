"""Finding a URL's captures through the CDXJ indexes beside the WARC files, and reading them.

A lookup reads only indexes (small) and then one WARC record by a range read of its gzip
member, so it costs the same on S3 as on a local path however large the WARC files are.
"""

from __future__ import annotations

import io
import zlib
from collections import defaultdict
from dataclasses import dataclass

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archive import keys
from archive.cdxj import CdxjEntry, surt
from archive.storage import Storage


class CaptureError(Exception):
    """The index points at something that is not the response it describes."""


@dataclass(frozen=True)
class Capture:
    entry: CdxjEntry
    warc_key: str  # archive key of the WARC holding the response


@dataclass(frozen=True)
class ArchivedResponse:
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # decoded by its Content-Encoding
    warc_date: str


def index_keys_by_day(storage: Storage, day: str | None = None) -> dict[str, list[str]]:
    """The CDXJ keys of one day, or of every day, grouped by day."""
    # the Storage interface has no delimiter listing, so all days come from one pass over raw/
    prefix = keys.day_prefix(keys.RAW, day) if day else keys.kind_prefix(keys.RAW)
    found: dict[str, list[str]] = defaultdict(list)
    for info in storage.list(prefix):
        day_of_key = keys.index_day(info.key)
        if day_of_key:
            found[day_of_key].append(info.key)
    return dict(found)


def _warc_key(index_key: str, filename: str) -> str:
    # our indexes name the WARC by its archive key; a bare file name (as pywb's own indexer
    # writes) lies beside the index
    if "/" not in filename:
        filename = index_key.rsplit("/", 1)[0] + "/" + filename
    return keys.validate_key(filename)


def captures_in_index(storage: Storage, index_key: str, urlkey: str) -> list[Capture]:
    """The lines of one CDXJ file whose SURT key is ``urlkey``."""
    text = storage.get_bytes(index_key).decode("utf-8")
    prefix = urlkey + " "
    captures = []
    for line in text.splitlines():
        if not line.startswith(prefix):
            continue
        try:
            entry = CdxjEntry.from_line(line)
            captures.append(Capture(entry, _warc_key(index_key, entry.filename)))
        except ValueError as exc:  # InvalidName included: a filename that is no archive key
            raise CaptureError(f"bad line in {index_key}: {exc}") from exc
    return captures


def _order(capture: Capture) -> tuple[str, str, int]:
    return capture.entry.timestamp, capture.warc_key, capture.entry.offset


def find_captures(storage: Storage, url: str, day: str | None = None) -> list[Capture]:
    """Captures of ``url`` (same SURT key), oldest first: those of ``day``, or without a day
    those of the newest day that has any. ValueError if ``url`` cannot be parsed."""
    urlkey = surt(url)
    by_day = index_keys_by_day(storage, day)
    for index_day in sorted(by_day, reverse=True):
        captures = [capture for index_key in by_day[index_day]
                    for capture in captures_in_index(storage, index_key, urlkey)]
        if captures:
            return sorted(captures, key=_order)
    return []


def latest_capture(storage: Storage, url: str, day: str | None = None) -> Capture | None:
    """The newest capture of ``url`` (of ``day`` if given); the exact URL wins over a variant
    with the same SURT key (another case, ``www.``, parameter order)."""
    captures = find_captures(storage, url, day)
    if not captures:
        return None
    return max(captures, key=lambda c: (c.entry.url == url, *_order(c)))


def read_response(storage: Storage, capture: Capture) -> ArchivedResponse:
    """Read the response record a capture points at, by a range read of its gzip member."""
    entry = capture.entry
    member = storage.read_range(capture.warc_key, entry.offset, entry.length)
    where = f"{capture.warc_key} at offset {entry.offset}"
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(member))), None)
        if record is None or record.rec_type != "response":
            raise CaptureError(f"no response record in {where}")
        target = record.rec_headers.get_header("WARC-Target-URI")
        if target != entry.url:
            raise CaptureError(f"{where} holds {target}, not {entry.url}")
        body = record.content_stream().read()
    except (ArchiveLoadFailed, zlib.error, EOFError) as exc:
        raise CaptureError(f"unreadable record in {where}: {exc}") from exc
    http = record.http_headers
    return ArchivedResponse(url=entry.url, status=int(http.get_statuscode() or 0),
                            headers=list(http.headers), body=body,
                            warc_date=record.rec_headers.get_header("WARC-Date", ""))
