"""Reading the archive's WARC files back: one response by its pointer, or a day's pages in turn.

The writing side (``archive/warc.py``) works on spool files and knows nothing of storage; this
side knows only storage, the key layout and warcio, so the URL lookup (``archive/url_lookup.py``)
and the replay (``crawler/replay.py``) read records the same way.

A pointer read is one range read of one gzip member (each record is its own member), so it costs
the same on S3 as on a local path however large the WARC file is. A day is streamed file by file
and record by record: a WARC file is never held in memory whole.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from archive.keys import RAW, day_prefix, parse_data_key
from archive.storage import Storage
from archive.warc import RENDER_FAILED_FIELD, RENDERED_FIELD, WarcPointer


class WarcRecordError(Exception):
    """A pointer designates something that is not the response it should be."""


@dataclass(frozen=True)
class WarcResponse:
    """One archived HTTP response, as read back from its WARC record."""

    url: str  # WARC-Target-URI
    status: int
    headers: list[tuple[str, str]]  # as archived, Content-Encoding included
    body: bytes  # as stored (still content-encoded), or decoded when read with decode=True
    warc_date: str
    pointer: WarcPointer
    # a revisit record: (WARC-Refers-To-Target-URI, WARC-Refers-To-Date) of the capture
    # whose body it stands for; its own body is empty
    refers_to: tuple[str, str] | None = None


@dataclass(frozen=True)
class ArchivedPage:
    """An HTML page a day's WARC files hold with status 200: what replay feeds the spider."""

    site: str
    url: str
    fetched_at: str  # the record's WARC-Date, ISO 8601 UTC ending in Z
    pointer: WarcPointer
    # the conversion record holding the page's rendered DOM (render = "browser"), if any
    rendered: WarcPointer | None = None


def read_warc_response(storage: Storage, pointer: WarcPointer, *, expect_url: str | None = None,
                       decode: bool = False, revisits: bool = False) -> WarcResponse:
    """The response record at ``pointer``, by a range read of its gzip member. ``decode``:
    the body decoded by its Content-Encoding (for people), else as stored (for a client that
    decodes it itself). ``revisits``: a revisit record is taken too (its ``refers_to`` says
    where the body is). WarcRecordError if no response record for ``expect_url`` (when
    given) lies there, or it cannot be read."""
    member = storage.read_range(pointer.filename, pointer.offset, pointer.length)
    where = f"{pointer.filename} at offset {pointer.offset}"
    kinds = ("response", "revisit") if revisits else ("response",)
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(member))), None)
        if record is None or record.rec_type not in kinds:
            raise WarcRecordError(f"no response record in {where}")
        target = record.rec_headers.get_header("WARC-Target-URI")
        if expect_url is not None and target != expect_url:
            raise WarcRecordError(f"{where} holds {target}, not {expect_url}")
        body = (record.content_stream() if decode else record.raw_stream).read()
    except (ArchiveLoadFailed, zlib.error, EOFError) as exc:
        raise WarcRecordError(f"unreadable record in {where}: {exc}") from exc
    http = record.http_headers
    refers_to = None
    if record.rec_type == "revisit":
        refers_to = (record.rec_headers.get_header("WARC-Refers-To-Target-URI") or target,
                     record.rec_headers.get_header("WARC-Refers-To-Date") or "")
    return WarcResponse(url=target, status=int(http.get_statuscode() or 0) if http else 0,
                        headers=list(http.headers) if http else [], body=body,
                        warc_date=record.rec_headers.get_header("WARC-Date", ""),
                        pointer=pointer, refers_to=refers_to)


def _iso_z(warc_date: str) -> str:
    return warc_date if warc_date.endswith("Z") else warc_date.replace("+00:00", "Z")


def _is_html_200(record: ArcWarcRecord) -> bool:
    """A page for replay: a 200 HTML response, unless it is a page of a render = "browser"
    site the live crawl could not render (and so made no record of)."""
    http = record.http_headers
    if record.rec_type != "response" or http is None or \
            record.rec_headers.get_header(RENDER_FAILED_FIELD):
        return False
    mime = http.get_header("Content-Type") or ""
    return http.get_statuscode() == "200" and "html" in mime.lower()


def read_rendered(storage: Storage, pointer: WarcPointer) -> bytes:
    """The rendered DOM in the conversion record at ``pointer``, by one range read."""
    member = storage.read_range(pointer.filename, pointer.offset, pointer.length)
    where = f"{pointer.filename} at offset {pointer.offset}"
    try:
        record = next(iter(ArchiveIterator(io.BytesIO(member))), None)
        if record is None or not _is_rendered(record):
            raise WarcRecordError(f"no rendered DOM record in {where}")
        return record.content_stream().read()
    except (ArchiveLoadFailed, zlib.error, EOFError) as exc:
        raise WarcRecordError(f"unreadable record in {where}: {exc}") from exc


def _is_rendered(record: ArcWarcRecord) -> bool:
    return record.rec_type == "conversion" and bool(record.rec_headers.get_header(RENDERED_FIELD))


def pages_of_file(storage: Storage, key: str) -> Iterator[ArchivedPage]:
    """The 200 HTML responses in one WARC file of the archive, in record order, streamed;
    a page's rendered DOM (the conversion record the writer puts right after its response
    and request) comes with it, so a page is yielded once the next response or the end of
    the file is reached."""
    parts = parse_data_key(key)
    site = parts["site"] if parts else ""
    pending: tuple[ArchivedPage, str] | None = None  # a page, its response's record id
    with storage.open_read(key) as stream:
        records = ArchiveIterator(stream)
        for record in records:
            if record.format != "warc":
                # warcio reads any text as a legacy ARC file rather than fail: a raw file of
                # the archive that is not WARC is damaged, not empty
                raise WarcRecordError(f"{key} is not a WARC file (it reads as {record.format})")
            rendered = _is_rendered(record)
            if not rendered and not _is_html_200(record):
                continue
            # the offset and length are known only once the record is read to its end
            record.content_stream().read()
            records.read_to_end(record)
            pointer = WarcPointer(key, records.get_record_offset(), records.get_record_length())
            if rendered:
                if pending is not None and \
                        record.rec_headers.get_header("WARC-Refers-To") == pending[1]:
                    pending = (replace(pending[0], rendered=pointer), "")
                continue
            if pending is not None:
                yield pending[0]
            pending = (ArchivedPage(site, record.rec_headers.get_header("WARC-Target-URI"),
                                    _iso_z(record.rec_headers.get_header("WARC-Date")),
                                    pointer),
                       record.rec_headers.get_header("WARC-Record-ID"))
        if pending is not None:
            yield pending[0]


def archived_crawls(storage: Storage, day: str, sites: set[str] | None = None
                    ) -> list[tuple[str, list[str]]]:
    """The day's WARC files (of ``sites``, if given) grouped by the crawl that wrote them:
    ``(crawl_id, keys)`` in crawl order (crawl ids sort by start time), keys in listing order."""
    crawls: dict[str, list[str]] = {}
    for info in storage.list(day_prefix(RAW, day)):
        parts = parse_data_key(info.key)
        if parts is None or parts["kind"] != RAW or (sites and parts["site"] not in sites):
            continue
        crawls.setdefault(parts["crawl_id"], []).append(info.key)
    return sorted(crawls.items())
