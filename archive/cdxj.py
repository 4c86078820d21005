"""CDXJ indexes (the pywb / OpenWayback format) and the SURT keys they are sorted by.

One line per response record: ``<SURT key> <14-digit timestamp> <JSON>``, sorted as plain
strings, which pywb requires for its binary search. The SURT canonicalisation follows the
defaults of the ``surt`` package that pywb uses to look URLs up, so that pywb finds our lines:
scheme, user info, fragment and default port dropped; host lower-cased, "www." (or "www2." ...)
dropped and reversed with commas; path and query lower-cased, dot segments resolved, a trailing
slash dropped; query parameters sorted. Not done: session-id stripping (``jsessionid`` ...),
which only matters for URLs that carry one.

The JSON fields are those pywb's own indexer (``cdx-indexer --cdxj``, pywb 2.10) writes for the
same record, value for value: the digest as bare base32, the mime type with the case the server
sent, a field without a value left out. Only ``filename`` differs on purpose: it is the WARC's
archive key (``raw/date=D/site=S/....warc.gz``), which is what pywb's indexer writes too when
run with ``-d <archive root>``, because bare WARC names repeat across the sites of one crawl.
``tests/test_pywb.py`` checks both against pywb itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from warcio.recordloader import ArcWarcRecord

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WWW_RE = re.compile(r"^www\d*\.")
_SLASH_RUN_RE = re.compile(r"/{2,}")
_MAX_UNESCAPE_ROUNDS = 10  # a bound for pathological %2525... chains


def _normalise_escapes(text: str) -> str:
    """Unescape fully, then escape only what may not stand raw in a key.

    So ``%7E`` and ``~`` give one key, and a key never holds a space (the CDXJ separator).
    """
    raw = text.encode("utf-8")
    for _ in range(_MAX_UNESCAPE_ROUNDS):
        decoded = unquote_to_bytes(raw)
        if decoded == raw:
            break
        raw = decoded
    return "".join(chr(b) if 0x20 < b < 0x7F and b not in b"%#" else f"%{b:02X}" for b in raw)


def _surt_host(hostname: str) -> str:
    host = hostname.strip(".").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # not a valid IDN: keep it as written, it still makes a stable key
    host = _normalise_escapes(host)  # whatever the name held, the key stays ASCII without spaces
    if ":" in host:  # IPv6: nothing to reverse
        return f"[{host}]"
    return ",".join(reversed(_WWW_RE.sub("", host).split(".")))


def _remove_dot_segments(path: str) -> str:
    segments: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    return "/" + "/".join(segments)


def _surt_path(path: str) -> str:
    path = _remove_dot_segments(_normalise_escapes(path or "/").lower())
    path = _SLASH_RUN_RE.sub("/", path)
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def _surt_query(query: str) -> str:
    params = [p for p in _normalise_escapes(query).lower().split("&") if p]
    # by (name, value) so that "a=1" sorts before "a-b=1", as the surt package does
    params.sort(key=lambda param: tuple(param.split("=", 1)))
    return "&".join(params)


def surt(url: str) -> str:
    """The SURT key of an http(s) URL, e.g. ``org,example)/path?a=1&b=2``.

    Raises ValueError for a URL that cannot be parsed (a bad port, a broken IPv6 literal)."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return text.lower()  # not web content: the URL itself is as good a key as any
    port = parts.port
    netloc = _surt_host(parts.hostname)
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    query = _surt_query(parts.query)
    return f"{netloc}){_surt_path(parts.path)}" + (f"?{query}" if query else "")


def cdx_timestamp(warc_date: str) -> str:
    """``2026-11-25T10:00:00.123456Z`` -> ``20261125100000``."""
    return re.sub(r"\D", "", warc_date)[:14].ljust(14, "0")


_MIME_END_RE = re.compile("[; ]")
_SHA1_PREFIX = "sha1:"
# pywb leaves a field out of a line when its value is empty or "-"
_NO_VALUE = ("", "-")


def _mime(content_type: str | None) -> str:
    # as pywb's indexer: the Content-Type up to a ";" or space, its case kept; "unk" for none
    return _MIME_END_RE.split(content_type, 1)[0] if content_type else "unk"


def pywb_digest(payload_digest: str | None) -> str:
    """A ``WARC-Payload-Digest`` as pywb's indexer writes it: bare base32 for SHA-1
    (``sha1:`` dropped, so lines match those pywb would write for the same WARC), any other
    algorithm kept with its label; ``-`` for none."""
    if not payload_digest:
        return "-"
    if payload_digest.startswith(_SHA1_PREFIX):
        return payload_digest[len(_SHA1_PREFIX):]
    return payload_digest


@dataclass(frozen=True)
class CdxjEntry:
    """One index line: where a URL's response record lies, and what it was."""

    urlkey: str
    timestamp: str
    url: str
    mime: str
    status: int  # 0: none (pywb's "-")
    digest: str  # as :func:`pywb_digest` writes it
    length: int
    offset: int
    filename: str  # the WARC's archive key, as ``warc_filename`` in the records

    def to_line(self) -> str:
        # pywb's field order, and its rule of leaving out fields without a value
        fields = {"url": self.url, "mime": self.mime, "status": str(self.status or "-"),
                  "digest": self.digest, "length": str(self.length),
                  "offset": str(self.offset), "filename": self.filename}
        present = {name: value for name, value in fields.items() if value not in _NO_VALUE}
        return f"{self.urlkey} {self.timestamp} {json.dumps(present)}"

    @classmethod
    def from_line(cls, line: str) -> CdxjEntry:
        """Parse a line; ValueError if it is not a CDXJ capture line. A ``sha1:BASE32``
        digest (what earlier versions wrote) reads as the bare base32 written now."""
        try:
            urlkey, timestamp, blob = line.split(" ", 2)
            fields = json.loads(blob)
            status = str(fields.get("status", ""))
            return cls(urlkey, timestamp, fields["url"], fields.get("mime", "unk"),
                       int(status) if status.isdigit() else 0,
                       pywb_digest(fields.get("digest")),
                       int(fields["length"]), int(fields["offset"]), fields["filename"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a CDXJ capture line: {line[:200]!r}") from exc


REVISIT_MIME = "warc/revisit"


def response_entry(record: ArcWarcRecord, offset: int, length: int, filename: str
                   ) -> CdxjEntry:
    """The index entry of a WARC response or revisit record written at ``offset`` (its gzip
    member). A revisit is indexed as pywb's indexer does: mime ``warc/revisit``, no status,
    the original's payload digest, by which pywb finds the capture it stands for."""
    url = record.rec_headers.get_header("WARC-Target-URI")
    revisit = record.rec_type == "revisit"
    http = record.http_headers
    return CdxjEntry(
        urlkey=surt(url),
        timestamp=cdx_timestamp(record.rec_headers.get_header("WARC-Date", "")),
        url=url,
        mime=REVISIT_MIME if revisit else _mime(http.get_header("Content-Type")),
        status=0 if revisit else int(http.get_statuscode() or 0),
        digest=pywb_digest(record.rec_headers.get_header("WARC-Payload-Digest")),
        length=length, offset=offset, filename=filename)


def sorted_lines(entries: Iterable[CdxjEntry]) -> list[str]:
    # a key never holds a character below "!", so plain string order is (key, timestamp) order
    return sorted(entry.to_line() for entry in entries)


def write_cdxj(path: Path, entries: Iterable[CdxjEntry]) -> int:
    """Write the sorted index; its size in bytes."""
    data = "".join(line + "\n" for line in sorted_lines(entries)).encode("utf-8")
    path.write_bytes(data)
    return len(data)
