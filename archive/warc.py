"""WARC 1.1 files: one request and one response record per fetch, each its own gzip member.

warcio builds the records (headers, block and payload digests); the compression is ours, at
gzip level 6 instead of warcio's 9, which costs about half the CPU for a few percent of size.
A response whose body came content-encoded (gzip, br, zstd, ...: most news sites send that) is
stored in its member uncompressed (deflate "stored" blocks, still a valid gzip member every WARC
reader takes): compressing compressed bytes again gains nothing and cost about 0.5 ms a page,
where a level-6 pass over a 190 KB identity page costs about 2.6 ms.
Each record being a separate gzip member is what makes ``warc_offset``/``warc_length`` work:
a reader seeks to the offset and decompresses exactly one record.

Each file also gets its CDXJ index (``archive/cdxj.py``): one entry per response, kept in memory
while the file is open (a few hundred bytes a response) and written sorted when it is closed.
Reading the records back from the archive is ``archive/warc_reader.py``'s.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.cdxj import CdxjEntry, response_entry, sorted_lines, write_cdxj

GZIP_LEVEL = 6
STORED_LEVEL = 0  # for records whose payload is compressed already
_SECRET_REQUEST_HEADERS = {b"authorization", b"proxy-authorization"}
ORIG_PREFIX = "X-Archive-Orig-"  # warcio's and pywb's prefix for a header kept but disarmed


@dataclass(frozen=True)
class WarcPointer:
    filename: str  # the archive key of the .warc.gz
    offset: int
    length: int
    # what the writer learnt, not part of the address: the payload digest ("sha1:...") and
    # whether the record is a revisit (the body is the referred-to capture's)
    digest: str = field(default="", compare=False)
    revisit: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class RevisitOf:
    """The last full capture of a URL, which a revisit record refers to."""

    uri: str
    date: str  # its WARC-Date
    digest: str  # its WARC-Payload-Digest


# the extension field that marks a conversion record as a headless browser's rendered DOM of
# the response it refers to (WARC-Refers-To); its value names the browser
RENDERED_FIELD = "Newsarchive-Rendered-DOM"
RENDERED_CONTENT_TYPE = "text/html; charset=utf-8"
# and the one on a response record of such a site that could not be rendered (its value says
# why): the live crawl made no record of it, so replay makes none either
RENDER_FAILED_FIELD = "Newsarchive-Render-Failed"


@dataclass(frozen=True)
class RenderedDom:
    """What a headless browser made of a response: the DOM its scripts left, serialised."""

    html: bytes  # UTF-8
    browser: str  # e.g. "Chromium 131.0.6778.85"


REVISIT_PROFILES = {
    "server-not-modified": "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
    "identical-payload-digest": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
}


@dataclass(frozen=True)
class HttpExchange:
    """One fetch, as plain values (no Scrapy types): what the WARC needs to record."""

    url: str
    method: str
    request_headers: list[tuple[bytes, bytes]]  # as sent, Host included
    request_body: bytes
    status: int
    response_headers: list[tuple[bytes, bytes]]  # as received, in order
    body: bytes  # de-chunked, still content-encoded
    protocol: str = "HTTP/1.1"
    ip_address: str | None = None
    warc_date: str | None = None  # ISO 8601 UTC with microseconds
    render_failed: str | None = None  # why a page to render was not (RENDER_FAILED_FIELD)


def _headers(pairs: list[tuple[bytes, bytes]], drop: set[bytes], rename: set[bytes]
             ) -> list[tuple[str, str]]:
    out = []
    for name, value in pairs:
        lowered = name.lower()
        if lowered in drop:
            continue
        text_name = name.decode("latin-1")
        if lowered in rename:
            text_name = ORIG_PREFIX + text_name
        out.append((text_name, value.decode("latin-1")))
    return out


def _response_headers(pairs: list[tuple[bytes, bytes]], bodiless: bool
                      ) -> list[tuple[str, str]]:
    """The response's headers as received, the transfer framing disarmed: the block holds the
    body de-chunked, so a ``Transfer-Encoding: chunked`` left as is would have readers (warcio,
    pywb) de-chunk it again. A ``Content-Length`` sent beside it was not the framing (RFC 9112
    6.3: Transfer-Encoding wins) and does not count the stored bytes, so it is disarmed too;
    likewise on an answer that has no body (``bodiless``: HEAD, 1xx, 204, 304), where the
    length names the representation, not bytes that follow, and a client replaying the record
    would wait for them. No length is made up: readers take the body's length from the
    record's own length."""
    names = {name.lower() for name, _ in pairs}
    rename = {b"transfer-encoding"}
    if b"transfer-encoding" in names or bodiless:
        rename.add(b"content-length")
    return _headers(pairs, set(), rename)


# compressed content codings; servers also send "none", "utf-8" and the like on plain bodies
_COMPRESSED_CODINGS = {b"gzip", b"x-gzip", b"deflate", b"br", b"zstd", b"compress",
                       b"x-compress"}


def _level_for(headers: list[tuple[bytes, bytes]]) -> int:
    """gzip level of a response record: none when its body is compressed already."""
    for name, value in headers:
        if name.lower() == b"content-encoding" and any(
                coding.strip().lower() in _COMPRESSED_CODINGS for coding in value.split(b",")):
            return STORED_LEVEL
    return GZIP_LEVEL


def _request_line(exchange: HttpExchange) -> str:
    parts = urlsplit(exchange.url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return f"{exchange.method} {target} HTTP/1.1"


class WarcFile:
    """An open .warc.gz in the spool, appended to record by record."""

    def __init__(self, path: Path, key: str, software: str, index_path: Path | None = None
                 ) -> None:
        self.path = path
        self.key = key
        self.index_path = index_path  # where close() writes the CDXJ; None: no index file
        self.index_size = 0
        self._index: list[CdxjEntry] = []
        # unbuffered: each record is one write of whole gzip members, so a failed write (disk
        # full) is known at once and cut back off (see _append) instead of surfacing later
        self._fh = open(path, "wb", buffering=0)
        self._builder = WARCWriter(io.BytesIO(), gzip=False, warc_version="1.1")
        self.size = 0
        self.records = 0
        info = {"software": software, "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/"}
        self._append(self._builder.create_warcinfo_record(key.rsplit("/", 1)[-1], info))

    def _append(self, record: ArcWarcRecord, level: int = GZIP_LEVEL) -> tuple[int, int]:
        buffer = io.BytesIO()
        self._builder.out = buffer
        self._builder.write_record(record)
        compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        data = compressor.compress(buffer.getvalue()) + compressor.flush()
        offset = self.size
        try:
            view = memoryview(data)
            while view:
                view = view[self._fh.write(view):]
        except OSError:
            # a partial member would shift every later offset: the file stays as it was
            self._fh.truncate(offset)
            self._fh.seek(offset)
            raise
        self.size += len(data)
        return offset, len(data)

    def write_exchange(self, exchange: HttpExchange, original: RevisitOf | None = None,
                       rendered: RenderedDom | None = None) -> WarcPointer:
        """Append the response and its request; the pointer is the response record's.
        With ``rendered``, its conversion record follows them (:meth:`_conversion`).

        With ``original`` (the URL's last full capture), a 304 or a 200 whose payload digest
        equals the original's is written as a WARC 1.1 revisit record instead, without the
        body: see :meth:`_revisit`."""
        reason = ""
        try:
            reason = HTTPStatus(exchange.status).phrase
        except ValueError:
            pass
        bodiless = (exchange.method == "HEAD" or exchange.status in (204, 304)
                    or 100 <= exchange.status < 200)
        resp_headers = _response_headers(exchange.response_headers, bodiless)
        http_headers = StatusAndHeaders(f"{exchange.status} {reason}".strip(), resp_headers,
                                        protocol=exchange.protocol or "HTTP/1.1")
        warc_headers = {}
        if exchange.warc_date:
            warc_headers["WARC-Date"] = exchange.warc_date
        if exchange.ip_address:
            warc_headers["WARC-IP-Address"] = exchange.ip_address
        if exchange.render_failed:
            warc_headers[RENDER_FAILED_FIELD] = " ".join(exchange.render_failed.split())[:300]
        response = self._builder.create_warc_record(
            exchange.url, "response", payload=io.BytesIO(exchange.body), length=None,
            http_headers=http_headers, warc_headers_dict=warc_headers)
        digest = response.rec_headers.get_header("WARC-Payload-Digest") or ""
        revisit = original is not None and original.uri == exchange.url and (
            exchange.status == 304 or (exchange.status == 200 and digest == original.digest))
        if revisit:
            assert original is not None
            response, digest = self._revisit(exchange, original, http_headers, warc_headers)
        req_headers = _headers(exchange.request_headers, _SECRET_REQUEST_HEADERS, set())
        request = self._builder.create_warc_record(
            exchange.url, "request", payload=io.BytesIO(exchange.request_body), length=None,
            http_headers=StatusAndHeaders(_request_line(exchange), req_headers,
                                          is_http_request=True),
            warc_headers_dict={})
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        request.rec_headers.replace_header("WARC-Concurrent-To", response_id)
        request.rec_headers.replace_header("WARC-Date",
                                           response.rec_headers.get_header("WARC-Date"))
        level = GZIP_LEVEL if revisit else _level_for(exchange.response_headers)
        offset, length = self._append(response, level)
        self._append(request)
        if rendered is not None:
            self._append(self._conversion(exchange.url, response_id, rendered,
                                          response.rec_headers.get_header("WARC-Date")))
        self.records += 1
        self._index.append(response_entry(response, offset, length, self.key))
        return WarcPointer(self.key, offset, length, digest, revisit)

    def _conversion(self, url: str, response_id: str, rendered: RenderedDom, date: str
                    ) -> ArcWarcRecord:
        """The rendered DOM as a WARC 1.1 ``conversion`` record ("an alternative version of
        another record's content"), referring to the response it was rendered from, dated as
        that response. Not a response of its own: it is not indexed (CDXJ), so pywb and the
        URL lookups serve the raw response, and only replay reads it (by its reference)."""
        return self._builder.create_warc_record(
            url, "conversion", payload=io.BytesIO(rendered.html), length=None,
            warc_content_type=RENDERED_CONTENT_TYPE,
            warc_headers_dict={"WARC-Refers-To": response_id, "WARC-Date": date,
                               RENDERED_FIELD: rendered.browser})

    def _revisit(self, exchange: HttpExchange, original: RevisitOf,
                 http_headers: StatusAndHeaders, warc_headers: dict[str, str]
                 ) -> tuple[ArcWarcRecord, str]:
        """A revisit record pointing at ``original`` (WARC-Refers-To-Target-URI and -Date,
        its payload digest), so pywb and our lookups serve the original's body.

        identical-payload-digest (a 200 with the same body) keeps the response's headers.
        server-not-modified (a 304) has an empty block: pywb replays a revisit's own status
        line, and a 3xx one without any payload, so the 304's headers would replay as an empty
        304; without them it serves the original's status, headers and body."""
        profile = "identical-payload-digest" if exchange.status == 200 else "server-not-modified"
        record = self._builder.create_revisit_record(
            exchange.url, original.digest, original.uri, original.date,
            http_headers=http_headers if exchange.status == 200 else None,
            warc_headers_dict=dict(warc_headers))
        record.rec_headers.replace_header("WARC-Profile", REVISIT_PROFILES[profile])
        return record, original.digest

    def index_lines(self) -> list[str]:
        """The CDXJ lines of the responses written so far, sorted."""
        return sorted_lines(self._index)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            self._fh.close()
            if self.index_path is not None:
                self.index_size = write_cdxj(self.index_path, self._index)
