"""The file formats of a daily dump: Parquet with an explicit schema, and JSON Lines.

Writers take one record at a time so that a day never has to fit in memory: JSON Lines goes
straight to disk, Parquet converts small slices of records to Arrow and writes a row group once
about ``ROW_GROUP_ROWS`` rows or ``ROW_GROUP_BYTES`` of Arrow data have gathered.

The contract's columns come first: one per field of ``archive/records.py``'s ``Record``, in its
order, with its name, its type (str: string, int: int64, tuple[str, ...]: list<string>) and
nullable when it may be None; two typed timestamp columns follow, then the record's optional
fields (schema version 2), so that a reader of version 1's columns sees them unchanged. JSON
Lines rows carry the same columns, every one on every row (null when absent), the timestamps
as ISO 8601 UTC strings of one fixed shape, so a reader given the schema (:data:`DUMP_COLUMNS`,
also in each manifest) gets the same types on every day.

No column is called ``date``: in ``dumps/`` that is the Hive partition column (the directory's
``date=D``), and pyarrow, pandas and DuckDB silently let the partition's value win over a file
column of the same name. Downstream tables are built on this schema, so it changes only
on purpose, together with ``SCHEMA_VERSION`` and the docs (docs/dumps.md); tests/test_records.py
pins it, so a change to ``Record`` that moves a column does not go unnoticed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
from pathlib import Path
from types import NoneType, TracebackType
from typing import Any, BinaryIO, Protocol, Self, get_args, get_type_hints

import pyarrow as pa
import pyarrow.parquet as pq

from archive.records import CONTRACT_FIELDS, OPTIONAL_FIELDS, RECORD_FIELDS, Record, record_dict

# 1: the contract's columns and the two timestamps; 2 (issue 15): the optional record fields
# appended after them, so every column of version 1 keeps its name, type and position
SCHEMA_VERSION = 2
# large row groups suit scans (DuckDB, Spark, pyarrow read a row group's columns in one go)
ROW_GROUP_ROWS = 100_000
ROW_GROUP_BYTES = 64 * 1024 * 1024
# records become Arrow this many at a time: Python dicts cost several times their Arrow size
_SLICE_ROWS = 2_000
COMPRESSION = "zstd"

_UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

# a list's item is called "element", as Parquet names it: the schema read back is this one
_ARROW_TYPES = {str: pa.string(), int: pa.int64(),
                tuple[str, ...]: pa.list_(pa.field("element", pa.string()))}


def _column(name: str, hint: Any) -> pa.Field:
    """The Parquet column of one Record field: ``str | None`` is a nullable string,
    ``tuple[str, ...]`` a list of strings."""
    args = get_args(hint) if NoneType in get_args(hint) else (hint,)
    nullable = NoneType in args
    python_type = next(t for t in args if t is not NoneType)
    return pa.field(name, _ARROW_TYPES[python_type], nullable=nullable)


_RECORD_TYPES = get_type_hints(Record)
PARQUET_SCHEMA = pa.schema(
    [
        *(_column(name, _RECORD_TYPES[name]) for name in CONTRACT_FIELDS),
        # typed copies of the two ISO 8601 strings, for range filters without string parsing
        pa.field("published_ts", _UTC_TIMESTAMP),
        pa.field("fetched_at_ts", _UTC_TIMESTAMP, nullable=False),
        *(_column(name, _RECORD_TYPES[name]) for name in OPTIONAL_FIELDS),
    ],
    metadata={"newsarchive.schema_version": str(SCHEMA_VERSION)},
)

# the schema as the manifest states it: JSON Lines readers cast to these (docs/dumps.md)
DUMP_COLUMNS = tuple({"name": field.name, "type": str(field.type), "nullable": field.nullable}
                     for field in PARQUET_SCHEMA)
TIMESTAMP_COLUMNS = tuple(field.name for field in PARQUET_SCHEMA
                          if pa.types.is_timestamp(field.type))

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
    if pa.types.is_list(field.type):
        return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def _type_name(field: pa.Field) -> str:
    if pa.types.is_list(field.type):
        return "a list of strings"
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


def dump_row(record: dict[str, Any]) -> dict[str, Any]:
    """A record as a row of the dump: the contract's fields in contract order, the typed
    timestamps (aware UTC datetimes, or None), then the optional fields (None when the record
    predates them)."""
    fields = record_dict(record)
    row = {name: fields[name] for name in CONTRACT_FIELDS}
    row["published_ts"] = parse_utc(row["published"])
    row["fetched_at_ts"] = parse_utc(row["fetched_at"])
    row.update((name, fields[name]) for name in OPTIONAL_FIELDS)
    return row


def _json_time(value: dt.datetime) -> str:
    """One shape for every JSON Lines timestamp, microseconds always present
    (``2026-11-25T07:15:01.000000Z``); isoformat pads the year to four digits, strftime not."""
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


def jsonl_line(record: dict[str, Any]) -> bytes:
    """A record as a JSON Lines row of the dump: every column of :data:`DUMP_COLUMNS`."""
    row = dump_row(record)
    for name in TIMESTAMP_COLUMNS:
        if row[name] is not None:
            row[name] = _json_time(row[name])
    return json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n"


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
        self._out.write(jsonl_line(record))

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
        self._slice.append(dump_row(record))
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
