"""Record files: gzipped JSON Lines, one article record (CONTRACT §5) a line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

RECORD_FIELDS = (
    "id", "url", "canonical_url", "site", "title", "author", "published", "language", "text",
    "content_hash", "version", "near_duplicate_of", "fetched_at", "crawl_id", "extractor",
    "warc_filename", "warc_offset", "warc_length",
)


class RecordFile:
    """An open .jsonl.gz in the spool."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.key = key
        self._raw = open(path, "wb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6, mtime=0)
        self.records = 0
        self.uncompressed = 0
        self.states: list[Any] = []  # opaque: what the dedup state learns about each record

    @property
    def size(self) -> int:
        """Bytes this file will take, estimated: gzip holds output back until it has a block,
        so the bytes on disk lag; JSON text compresses about 4:1, so a quarter of the
        uncompressed bytes is the better estimate until the disk catches up."""
        return max(self._raw.tell(), self.uncompressed // 4)

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps({f: record.get(f) for f in RECORD_FIELDS}, ensure_ascii=False)
        data = line.encode("utf-8") + b"\n"
        self._gz.write(data)
        self.uncompressed += len(data)
        self.records += 1

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
