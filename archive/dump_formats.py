"""The file formats of a daily dump: Parquet with an explicit schema, and JSON Lines.

Writers take one record at a time so that a day never has to fit in memory: JSON Lines goes
straight to disk, Parquet converts small slices of records to Arrow and writes a row group once
about ``ROW_GROUP_ROWS`` rows or ``ROW_GROUP_BYTES`` of Arrow data have gathered.

The Parquet schema is spelled out below rather than derived from ``RECORD_FIELDS``: downstream
tables are built on it, so it changes only on purpose, together with ``SCHEMA_VERSION`` and the
docs (docs/dumps.md). The contract's columns come first, in contract order, with their contract
names; two typed timestamp columns follow.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol, Self

import pyarrow as pa
import pyarrow.parquet as pq

from archive.records import RECORD_FIELDS

SCHEMA_VERSION = 1
# large row groups suit scans (DuckDB, Spark, pyarrow read a row group's columns in one go)
ROW_GROUP_ROWS = 100_000
ROW_GROUP_BYTES = 64 * 1024 * 1024
# records become Arrow this many at a time: Python dicts cost several times their Arrow size
_SLICE_ROWS = 2_000
COMPRESSION = "zstd"

_UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

PARQUET_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("canonical_url", pa.string(), nullable=False),
        pa.field("site", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("author", pa.string()),
        pa.field("published", pa.string()),
        pa.field("language", pa.string()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        pa.field("near_duplicate_of", pa.string()),
        pa.field("fetched_at", pa.string(), nullable=False),
        pa.field("crawl_id", pa.string(), nullable=False),
        pa.field("extractor", pa.string(), nullable=False),
        pa.field("warc_filename", pa.string(), nullable=False),
        pa.field("warc_offset", pa.int64(), nullable=False),
        pa.field("warc_length", pa.int64(), nullable=False),
        # typed copies of the two ISO 8601 strings, for range filters without string parsing
        pa.field("published_ts", _UTC_TIMESTAMP),
        pa.field("fetched_at_ts", _UTC_TIMESTAMP, nullable=False),
    ],
    metadata={"newsarchive.schema_version": str(SCHEMA_VERSION)},
)

_FIELD_TYPES = {field.name: field for field in PARQUET_SCHEMA if field.name in RECORD_FIELDS}


def record_problem(record: dict[str, Any]) -> str | None:
    """Why ``record`` cannot be a row of the schema above, or None when it can."""
    for name in RECORD_FIELDS:
        value, field = record.get(name), _FIELD_TYPES[name]
        if value is None:
            if not field.nullable:
                return f"{name} is missing"
        elif not _has_type(value, field):
            return f"{name} should be {_type_name(field)}, not {type(value).__name__} {value!r:.40}"
    if parse_utc(record["fetched_at"]) is None:
        return f"fetched_at is not an ISO 8601 time: {record['fetched_at']!r:.40}"
    return None


def _has_type(value: Any, field: pa.Field) -> bool:
    if pa.types.is_integer(field.type):
        # bool is an int in Python, never a valid version or offset
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def _type_name(field: pa.Field) -> str:
    return "an integer" if pa.types.is_integer(field.type) else "a string"


def parse_utc(value: str | None) -> dt.datetime | None:
    """An ISO 8601 string as an aware UTC datetime; a time without an offset, or a bare date
    (midnight), is read as UTC; None when it does not parse."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


def record_line(record: dict[str, Any]) -> bytes:
    """One record as a JSON Lines line, fields in contract order (as record files have them)."""
    line = json.dumps({name: record.get(name) for name in RECORD_FIELDS}, ensure_ascii=False)
    return line.encode("utf-8") + b"\n"


class DumpWriter(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class _Closing:
    """``with`` support: finish the file on success; after an error just release it (the
    caller deletes the partial file)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.close()
        else:
            self.abort()

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


class JsonlWriter(_Closing):
    """JSON Lines, gzipped when ``compress``; gzip header without name or time, so the same
    records always give the same bytes (and the same sha256 in the manifest)."""

    def __init__(self, path: Path, compress: bool) -> None:
        self._raw: BinaryIO = open(path, "wb")
        self._out: BinaryIO = self._raw
        if compress:
            self._out = gzip.GzipFile(filename="", fileobj=self._raw, mode="wb", compresslevel=6,
                                      mtime=0)

    def write(self, record: dict[str, Any]) -> None:
        self._out.write(record_line(record))

    def close(self) -> None:
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()

    def abort(self) -> None:
        # closing the gzip layer first keeps it from writing into a closed file when collected
        with contextlib.suppress(OSError, ValueError):
            self.close()


class ParquetWriter(_Closing):
    """Parquet in row groups of about ``ROW_GROUP_ROWS`` rows or ``ROW_GROUP_BYTES``, zstd."""

    def __init__(self, path: Path) -> None:
        self._writer = pq.ParquetWriter(path, PARQUET_SCHEMA, compression=COMPRESSION)
        self._slice: list[dict[str, Any]] = []
        self._group: list[pa.RecordBatch] = []
        self._group_rows = 0
        self._group_bytes = 0
        self.row_groups = 0

    def write(self, record: dict[str, Any]) -> None:
        row = {name: record.get(name) for name in RECORD_FIELDS}
        row["published_ts"] = parse_utc(row["published"])
        row["fetched_at_ts"] = parse_utc(row["fetched_at"])
        self._slice.append(row)
        if len(self._slice) >= _SLICE_ROWS:
            self._convert_slice()

    def _convert_slice(self) -> None:
        batch = pa.RecordBatch.from_pylist(self._slice, schema=PARQUET_SCHEMA)
        self._slice = []
        self._group.append(batch)
        self._group_rows += batch.num_rows
        self._group_bytes += batch.nbytes
        if self._group_rows >= ROW_GROUP_ROWS or self._group_bytes >= ROW_GROUP_BYTES:
            self._write_group()

    def _write_group(self) -> None:
        table = pa.Table.from_batches(self._group, PARQUET_SCHEMA)
        self._writer.write_table(table, row_group_size=table.num_rows)
        self.row_groups += 1
        self._group, self._group_rows, self._group_bytes = [], 0, 0

    def close(self) -> None:
        if self._slice:
            self._convert_slice()
        if self._group:
            self._write_group()
        self._writer.close()

    def abort(self) -> None:
        self._writer.close()


def open_writer(path: Path, fmt: str) -> ParquetWriter | JsonlWriter:
    """A writer for ``fmt`` ("parquet" or "jsonl"; JSON Lines is gzipped when the name ends
    in .gz)."""
    if fmt == "parquet":
        return ParquetWriter(path)
    if fmt == "jsonl":
        return JsonlWriter(path, compress=path.name.endswith(".gz"))
    raise ValueError(f"unknown dump format {fmt!r} (parquet or jsonl)")
