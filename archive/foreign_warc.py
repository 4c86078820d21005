"""Reading WARC files made by anyone (CC-NEWS, Browsertrix, Heritrix, ``wget --warc-file``, this
project) for ``newsarchive import``: their HTTP responses, one at a time, and what was not one.

Tolerant where the archive's own reader (``warc_reader.py``) is strict: a foreign file is
whatever its tool wrote, so a damaged stretch (a truncated or corrupt gzip member, a record
cut short, bytes that are no WARC) is reported as :class:`Damaged` and reading goes on at the
next gzip member or ``WARC/`` line after it. One damaged stretch is one report, however many
false starts the search for the next record makes. Files are read from a seekable local file,
streamed: a record's body is held in memory only up to ``max_body`` bytes.

Bodies come out as a client received them from the server, minus the transfer framing: a body
a tool stored chunked (wget keeps the bytes as they crossed the wire) is de-chunked, and a
``Content-Encoding`` body stays encoded, as the project's own WARC writer expects.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

# where a damaged stretch may end: the next gzip member, or the next uncompressed record
_RESYNC_MARKS = (b"\x1f\x8b\x08", b"WARC/1.")
_SCAN_CHUNK = 1 << 20
_READ_ERRORS = (ArchiveLoadFailed, zlib.error, EOFError, ValueError, IndexError, KeyError)


@dataclass(frozen=True)
class Capture:
    """One HTTP response of a foreign WARC file."""

    url: str  # WARC-Target-URI
    warc_date: str  # ISO 8601 UTC, ending in Z
    status: int
    protocol: str
    headers: list[tuple[bytes, bytes]]  # as archived
    body: bytes  # de-chunked, still content-encoded
    ip_address: str | None

    @property
    def day(self) -> str:
        return self.warc_date[:10]

    @property
    def digest(self) -> str:
        """The payload's SHA-1 in base32, as the project's CDXJ lines name it."""
        return base64.b32encode(hashlib.sha1(self.body).digest()).decode("ascii")

    def header(self, name: str) -> str:
        lowered = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == lowered:
                return value.decode("latin-1")
        return ""


@dataclass(frozen=True)
class Skipped:
    """A record that is no HTTP response to import: ``reason`` is ``not_response`` (request,
    metadata, warcinfo, resource, conversion), ``revisit``, ``bad_date`` (no readable
    WARC-Date) or ``too_large``."""

    reason: str
    url: str


@dataclass(frozen=True)
class Damaged:
    """A stretch of the file that could not be read; reading went on after it."""

    offset: int
    message: str


def archive_time(warc_date: str) -> str | None:
    """A WARC-Date (WARC 1.0: seconds; 1.1: maybe a fraction) in the archive's one time
    format, ISO 8601 UTC with microseconds and a Z; None if it is no date."""
    try:
        when = dt.datetime.fromisoformat(warc_date.strip())
    except ValueError:
        return None
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _target(record: ArcWarcRecord) -> str:
    # WARC 1.0's grammar put the URI in angle brackets, and some tools still write them
    return (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")


def _body(record: ArcWarcRecord, max_body: int) -> bytes | None:
    """The payload de-chunked, or None if over ``max_body``. ValueError if the record ends
    before its declared length (a truncated file)."""
    chunked = "chunked" in (record.http_headers.get_header("Transfer-Encoding") or "").lower()
    stream = record.raw_stream
    if chunked:
        stream = ChunkedDataReader(stream)
    body = stream.read(max_body + 1)
    if len(body) > max_body:
        return None
    if record.raw_stream.limit > 0:
        raise ValueError(f"record of {_target(record)} ends {record.raw_stream.limit} bytes "
                         "short of its Content-Length")
    return body


def _item(record: ArcWarcRecord, max_body: int) -> Capture | Skipped:
    url = _target(record)
    if record.rec_type == "revisit":
        return Skipped("revisit", url)
    http = record.http_headers
    if record.rec_type != "response" or http is None or not url.startswith(("http:", "https:")):
        return Skipped("not_response", url)
    when = archive_time(record.rec_headers.get_header("WARC-Date") or "")
    if when is None:
        return Skipped("bad_date", url)
    body = _body(record, max_body)
    if body is None:
        return Skipped("too_large", url)
    status = http.get_statuscode() or ""
    return Capture(url=url, warc_date=when,
                   status=int(status) if status.isdigit() else 0,
                   protocol=http.protocol or "HTTP/1.1",
                   headers=[(k.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
                            for k, v in http.headers],
                   body=body, ip_address=record.rec_headers.get_header("WARC-IP-Address"))


def read_foreign_warc(fh: BinaryIO, max_body: int) -> Iterator[Capture | Skipped | Damaged]:
    """Every record of a WARC file (gzip per record, whole-file gzip or uncompressed; WARC
    1.0 or 1.1) as a Capture or Skipped, and each damaged stretch as Damaged."""
    start = 0
    damaged_at: int | None = None  # inside a damaged stretch since this offset
    while True:
        fh.seek(start)
        records = ArchiveIterator(fh)
        done, end = 0, start  # records read from ``start``; where the last one ended
        try:
            for record in records:
                item = _checked_item(record, max_body)
                records.read_to_end(record)
                damaged_at, done = None, done + 1
                end = records.get_record_offset() + records.get_record_length()
                yield item
            # warcio ends quietly at a gzip member cut short: bytes left unread are damage
            if not _rest_is_blank(fh, end):
                raise EOFError(f"the bytes after offset {end} do not read as a whole record")
            return
        except _READ_ERRORS as exc:
            if _whole_file_gzip(exc):
                yield from _read_whole_gzip(fh, start, done, max_body)
                return
            failed = max(records.offset, end)
            if damaged_at is None:
                damaged_at = failed
                yield Damaged(failed, f"{type(exc).__name__}: {exc}")
            following = _next_mark(fh, failed + 1)
            if following is None:
                return
            start = following


def _checked_item(record: ArcWarcRecord, max_body: int) -> Capture | Skipped:
    if record.format != "warc":
        # warcio reads any text as a legacy ARC file rather than fail
        raise ValueError(f"not a WARC record (it reads as {record.format})")
    return _item(record, max_body)


def _whole_file_gzip(exc: Exception) -> bool:
    # warcio reads only gzip-per-record files, and says so in this error (warcio is pinned)
    return isinstance(exc, ArchiveLoadFailed) and ArchiveIterator.GZIP_ERR_MSG[:20] in str(exc)


def _read_whole_gzip(fh: BinaryIO, start: int, done: int, max_body: int
                     ) -> Iterator[Capture | Skipped | Damaged]:
    """The records of a file compressed as a whole, from ``start`` on, decompressed here so
    warcio reads plain WARC; the first ``done`` were read already. A compressed stream cannot
    be searched for a next record: damage ends the file."""
    fh.seek(start)
    records = ArchiveIterator(gzip.GzipFile(fileobj=fh))
    try:
        for index, record in enumerate(records):
            item = _checked_item(record, max_body)
            records.read_to_end(record)
            if index >= done:
                yield item
    except (*_READ_ERRORS, OSError) as exc:
        yield Damaged(start, f"{type(exc).__name__} in a whole-file gzip: {exc}")


def _rest_is_blank(fh: BinaryIO, offset: int) -> bool:
    fh.seek(offset)
    while chunk := fh.read(_SCAN_CHUNK):
        if chunk.strip():
            return False
    return True


def _next_mark(fh: BinaryIO, after: int) -> int | None:
    """The offset of the first gzip member or ``WARC/1.`` line at or after ``after``."""
    position = after
    keep = max(len(mark) for mark in _RESYNC_MARKS) - 1
    while True:
        fh.seek(position)
        chunk = fh.read(_SCAN_CHUNK)
        if not chunk:
            return None
        found = [i for mark in _RESYNC_MARKS if (i := chunk.find(mark)) >= 0]
        if found:
            return position + min(found)
        if len(chunk) <= keep:
            return None
        position += len(chunk) - keep
