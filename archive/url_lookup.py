"""Looking a URL up in the archive: its captures, through the CDXJ indexes beside the WARC
files, and the response a capture points at.

A lookup reads only indexes (small) and then one WARC record by a range read of its gzip
member (``archive/warc_reader.py``), so it costs the same on S3 as on a local path however large
the WARC files are.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from archive import keys
from archive.cdxj import REVISIT_MIME, CdxjEntry, cdx_timestamp, surt
from archive.storage import Storage
from archive.warc import WarcPointer
from archive.warc_reader import WarcRecordError, WarcResponse, read_warc_response


class CaptureError(Exception):
    """The index points at something that is not the response it describes."""


@dataclass(frozen=True)
class IndexedCapture:
    """One CDXJ line of a URL: the index entry, and where the response it describes lies."""

    entry: CdxjEntry
    warc_key: str  # archive key of the WARC holding the response

    @property
    def pointer(self) -> WarcPointer:
        return WarcPointer(self.warc_key, self.entry.offset, self.entry.length)


def index_keys_by_day(storage: Storage, day: str | None = None) -> dict[str, list[str]]:
    """The CDXJ keys of one day, or of every day, grouped by day."""
    # the Storage interface has no delimiter listing, so all days come from one pass over raw/
    prefix = keys.dated_prefix(keys.RAW, day)
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


def captures_in_index(storage: Storage, index_key: str, urlkey: str) -> list[IndexedCapture]:
    """The lines of one CDXJ file whose SURT key is ``urlkey``."""
    text = storage.get_bytes(index_key).decode("utf-8")
    prefix = urlkey + " "
    captures = []
    for line in text.splitlines():
        if not line.startswith(prefix):
            continue
        try:
            entry = CdxjEntry.from_line(line)
            captures.append(IndexedCapture(entry, _warc_key(index_key, entry.filename)))
        except ValueError as exc:  # InvalidName included: a filename that is no archive key
            raise CaptureError(f"bad line in {index_key}: {exc}") from exc
    return captures


def _order(capture: IndexedCapture) -> tuple[str, str, int]:
    return capture.entry.timestamp, capture.warc_key, capture.entry.offset


def find_captures(storage: Storage, url: str, day: str | None = None) -> list[IndexedCapture]:
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


def latest_capture(storage: Storage, url: str, day: str | None = None) -> IndexedCapture | None:
    """The newest capture of ``url`` (of ``day`` if given); the exact URL wins over a variant
    with the same SURT key (another case, ``www.``, parameter order)."""
    captures = find_captures(storage, url, day)
    if not captures:
        return None
    return max(captures, key=lambda c: (c.entry.url == url, *_order(c)))


def read_response(storage: Storage, capture: IndexedCapture) -> WarcResponse:
    """The response a capture points at, its body decoded by its Content-Encoding; for a
    revisit record, the original capture it refers to (its status, headers and body; the
    revisit's date and pointer). CaptureError if the record there is not that response or
    the original cannot be found."""
    try:
        response = read_warc_response(storage, capture.pointer, expect_url=capture.entry.url,
                                      decode=True, revisits=True)
        if response.refers_to is None:
            return response
        original = _original_of(storage, capture, *response.refers_to)
        body = read_warc_response(storage, original.pointer, expect_url=original.entry.url,
                                  decode=True)
    except WarcRecordError as exc:
        raise CaptureError(str(exc)) from exc
    return replace(body, warc_date=response.warc_date, pointer=response.pointer)


def _original_of(storage: Storage, revisit: IndexedCapture, uri: str, date: str
                 ) -> IndexedCapture:
    """The capture a revisit refers to: same URL, its WARC-Date, its payload digest."""
    timestamp = cdx_timestamp(date)
    day = f"{timestamp[:4]}-{timestamp[4:6]}-{timestamp[6:8]}" if date else None
    for capture in find_captures(storage, uri, day):
        entry = capture.entry
        if (entry.mime != REVISIT_MIME and entry.digest == revisit.entry.digest
                and (not date or entry.timestamp == timestamp)):
            return capture
    raise CaptureError(f"the original of the revisit of {revisit.entry.url} "
                       f"({uri} at {date or 'an unknown date'}) is not in the archive")
