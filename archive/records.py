"""Article records (CONTRACT §5) and record files: gzipped JSON Lines, one record a line.

:class:`Record` is the one place the contract's fields are listed: their order is the order of
the keys in every JSON line, and the dump's columns (``archive/dump_formats.py``) are derived
from its fields and types.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class Record:
    """One article record, fields in contract order (CONTRACT §5 says what each means)."""

    id: str
    url: str
    canonical_url: str
    site: str
    title: str | None
    author: str | None
    published: str | None  # ISO 8601
    language: str | None  # ISO 639-1
    text: str
    content_hash: str
    version: int
    near_duplicate_of: str | None
    fetched_at: str  # ISO 8601 UTC
    crawl_id: str
    extractor: str
    warc_filename: str  # archive key of the WARC holding the raw response
    warc_offset: int
    warc_length: int
    # optional fields (issue 15; README, "Record fields beyond the contract"), after the
    # contract's so that those keep their places; None on records written before them
    image: str | None = None  # the lead image, absolute URL
    image_caption: str | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None  # sections and tags; [] when the page declares none
    modified: str | None = None  # ISO 8601, as the page declares it
    access: str | None = None  # "free" or "paywalled" (on every record written since)

    def to_dict(self) -> dict[str, Any]:
        """The record as the JSON object of its line: the fields, in contract order (tags
        as a list, as JSON and a record read back have it)."""
        fields = {name: getattr(self, name) for name in RECORD_FIELDS}
        if fields["tags"] is not None:
            fields["tags"] = list(fields["tags"])
        return fields


RECORD_FIELDS = tuple(f.name for f in fields(Record))
# the fields CONTRACT §5 lists; the others are optional additions
CONTRACT_FIELDS = RECORD_FIELDS[:RECORD_FIELDS.index("warc_length") + 1]
OPTIONAL_FIELDS = RECORD_FIELDS[len(CONTRACT_FIELDS):]


def record_dict(record: Record | Mapping[str, Any]) -> dict[str, Any]:
    """A record's fields in contract order. A mapping is taken too (records read back from a
    file, or written by tools and tests): a field it lacks is None."""
    if isinstance(record, Record):
        return record.to_dict()
    return {name: record.get(name) for name in RECORD_FIELDS}


def record_line(record: Record | Mapping[str, Any]) -> bytes:
    """One record as a JSON Lines line, as record files and dumps hold it."""
    return _line(record_dict(record))


def _line(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode("utf-8") + b"\n"


# how record files are compressed: the same settings give the same bytes for the same records
_GZIP_LEVEL, _GZIP_MTIME = 6, 0


def record_file_bytes(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """A whole record file of these rows as read back (every key kept, in its order: a
    field a newer writer added survives a rewrite by an older one)."""
    return gzip.compress(b"".join(_line(row) for row in rows), compresslevel=_GZIP_LEVEL,
                         mtime=_GZIP_MTIME)


class RecordFile:
    """An open .jsonl.gz in the spool."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.key = key
        self._raw = open(path, "wb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=_GZIP_LEVEL,
                                 mtime=_GZIP_MTIME)
        self.records = 0
        self.uncompressed = 0
        self.states: list[Any] = []  # opaque: what the dedup state learns about each record

    @property
    def size(self) -> int:
        """Bytes this file will take, estimated: gzip holds output back until it has a block,
        so the bytes on disk lag; JSON text compresses about 4:1, so a quarter of the
        uncompressed bytes is the better estimate until the disk catches up."""
        return max(self._raw.tell(), self.uncompressed // 4)

    def write(self, record: Record | Mapping[str, Any]) -> dict[str, Any]:
        """Append one record; the fields as written (contract order, missing ones None)."""
        fields = record_dict(record)
        data = _line(fields)
        self._gz.write(data)
        self.uncompressed += len(data)
        self.records += 1
        return fields

    def close(self) -> None:
        if not self._gz.closed:
            self._gz.close()
        if not self._raw.closed:
            self._raw.flush()
            self._raw.close()


def iter_records(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Records from a .jsonl.gz stream, decompressed as they are read."""
    with gzip.GzipFile(fileobj=stream, mode="rb") as gz:
        for line in gz:
            if line.strip():
                yield json.loads(line)
