"""Daily dumps: one day's records as one Parquet and one JSON Lines file (CONTRACT §4).

``dumps/date=D/`` holds ``articles.parquet``, ``_manifest.json`` and ``_SUCCESS``;
``dumps-jsonl/date=D/`` holds ``articles.jsonl.gz``. Only Parquet lies under ``dumps/`` besides
files whose names start with ``_`` (which Hive-style readers skip), so ``dumps/`` opens as one
Hive-partitioned Parquet dataset. Each object is replaced atomically, but four objects cannot be
replaced together, so a re-run follows a protocol that lets readers tell one whole dump from a
mix of two.

Writer (:func:`build_dump`):

1. build both data files in a local temp dir, hash them and prepare the manifest; the archive
   is untouched so far, so a failure here (an empty day included) leaves the old dump whole;
2. delete ``_SUCCESS``: from here on the day reads as "incomplete";
3. delete anything else under the day's two prefixes that is not one of the four files (an
   old-layout ``manifest.json`` and ``articles.jsonl.gz`` beside the Parquet included);
4. store ``articles.parquet``, then ``articles.jsonl.gz``;
5. store ``_manifest.json``: counts, schema, sources, and the size and sha256 of both files;
6. store ``_SUCCESS`` last: a small JSON object holding the sha256 of ``_manifest.json``.

Reader (:func:`read_manifest`, :func:`verify_dump`):

1. no ``_SUCCESS``: there is no usable dump (never built, being rebuilt, or its writer died);
2. a manifest whose sha256 differs from the one in ``_SUCCESS``: a rebuild is under way;
3. a data file whose sha256 differs from the manifest's: likewise. Readers that scan in place by
   byte ranges (DuckDB, Spark, pyarrow over S3) instead read ``_SUCCESS`` before and after the
   scan and keep the result only if it did not change.

Days dumped before issue 11 have the old layout: ``manifest.json`` and ``articles.jsonl.gz``
beside the Parquet in ``dumps/date=D/``. The readers here take both (``_manifest.json`` first);
dumping such a day again moves it to the new layout.

A crash anywhere after step 2 leaves no ``_SUCCESS``, so a half-replaced dump is never trusted;
running the dump again repairs it. The same records always give byte-identical data files.
One writer per day at a time (the scheduler runs one): two concurrent dumps of one day may end
with files of both, which the sha256 checks reject until the day is dumped again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from archive import __version__
from archive.dump_formats import (
    DUMP_COLUMNS,
    SCHEMA_VERSION,
    DumpWriter,
    JsonlWriter,
    ParquetWriter,
    jsonl_line,
    open_writer,
    record_problem,
)
from archive.keys import (
    DUMP_JSONL,
    DUMP_MANIFEST,
    DUMP_PARQUET,
    DUMP_SUCCESS,
    DUMPS,
    DUMPS_JSONL,
    LEGACY_DUMP_MANIFEST,
    RECORDS,
    InvalidName,
    day_prefix,
    dump_key,
    legacy_dump_key,
    parse_data_key,
    validate_date,
)
from archive.records import iter_records
from archive.storage import Storage

PARQUET, JSONL, MANIFEST, SUCCESS = DUMP_PARQUET, DUMP_JSONL, DUMP_MANIFEST, DUMP_SUCCESS
# where each file of a dump lies: the new layout, and the one of days dumped before issue 11
KeyOf = Callable[[str, str], str]
FORMATS = ("parquet", "jsonl")
_CHUNK = 1024 * 1024


class DumpError(Exception):
    """A dump could not be built, or a stored dump is not whole."""


class EmptyDay(DumpError):
    """The day has no records: no dump is written (a complete but empty dump would tell
    downstream jobs that a day whose crawls failed is done)."""


@dataclass(frozen=True)
class Source:
    """One record file a dump reads."""

    key: str
    site: str
    size: int


@dataclass(frozen=True)
class Manifest:
    day: str
    created_at: str
    rows_per_site: dict[str, int]
    files: dict[str, dict[str, Any]]  # name -> {"bytes": int, "sha256": str}
    sources: list[dict[str, Any]]  # [{"key": str, "bytes": int}], in the order read
    schema_version: int = SCHEMA_VERSION
    newsarchive_version: str = __version__
    # the columns of both files, as JSON Lines readers should type them (old dumps: none)
    columns: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_total(self) -> int:
        return sum(self.rows_per_site.values())

    def to_json(self) -> bytes:
        data = {"schema_version": self.schema_version, "day": self.day,
                "created_at": self.created_at, "newsarchive_version": self.newsarchive_version,
                "rows_total": self.rows_total, "rows_per_site": self.rows_per_site,
                "columns": self.columns, "files": self.files, "sources": self.sources}
        return json.dumps(data, indent=2).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            # a field with a default may be missing (old manifests have no columns)
            return cls(**{name: raw[name] for name in cls.__dataclass_fields__ if name in raw})
        except (ValueError, KeyError, TypeError) as exc:
            raise DumpError(f"the manifest is not a newsarchive manifest: {exc}") from None


def list_sources(storage: Storage, day: str) -> list[Source]:
    """The day's record files in dump order: by site name, then key (a key-ordered listing
    would put ``site=a-b/`` before ``site=a/``)."""
    found = []
    for info in storage.list(day_prefix(RECORDS, validate_date(day))):
        parts = parse_data_key(info.key)
        if parts is not None and parts["kind"] == "records":
            found.append(Source(info.key, parts["site"], info.size))
    return sorted(found, key=lambda source: (source.site, source.key))


def _read_source(storage: Storage, source: Source) -> Iterator[dict[str, Any]]:
    with storage.open_read(source.key) as stream:
        number = 0
        try:
            for number, record in enumerate(iter_records(stream), 1):
                problem = record_problem(record)
                if problem is None and record["site"] != source.site:
                    problem = f"site {record['site']!r} in a file of site {source.site!r}"
                if problem:
                    raise DumpError(f"{storage.location(source.key)} record {number}: {problem}")
                yield record
        except (OSError, EOFError, ValueError) as exc:
            where = f"{storage.location(source.key)} after record {number}"
            raise DumpError(f"{where}: unreadable record file: {exc}") from exc


def _write_all(storage: Storage, sources: Iterable[Source],
               writers: Iterable[DumpWriter]) -> dict[str, int]:
    """Every record of ``sources`` to every writer, one record at a time; rows per site."""
    writers = tuple(writers)
    counts: Counter[str] = Counter()
    for source in sources:
        for record in _read_source(storage, source):
            for writer in writers:
                writer.write(record)
            counts[source.site] += 1
    return dict(sorted(counts.items()))


def _sources_or_fail(storage: Storage, day: str) -> list[Source]:
    sources = list_sources(storage, day)
    if not sources:
        raise EmptyDay(f"no records for {day} in {storage.location()}: nothing to dump")
    return sources


def _require_rows(counts: dict[str, int], storage: Storage, day: str) -> None:
    if not counts:
        raise EmptyDay(f"the record files for {day} in {storage.location()} hold no records")


def _file_entry(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _build_files(storage: Storage, day: str, sources: list[Source], tmp: Path) -> Manifest:
    with ParquetWriter(tmp / PARQUET) as parquet, JsonlWriter(tmp / JSONL, compress=True) as jl:
        counts = _write_all(storage, sources, (parquet, jl))
    _require_rows(counts, storage, day)
    return Manifest(
        day=day, created_at=_now(), rows_per_site=counts,
        files={name: _file_entry(tmp / name) for name in (PARQUET, JSONL)},
        sources=[{"key": source.key, "bytes": source.size} for source in sources],
        columns=list(DUMP_COLUMNS),
    )


def _success_marker(manifest_bytes: bytes, manifest: Manifest) -> bytes:
    marker = {"manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
              "created_at": manifest.created_at, "rows_total": manifest.rows_total}
    return json.dumps(marker).encode("utf-8") + b"\n"


def _day_objects(storage: Storage, day: str) -> Iterator[str]:
    """Every key under the day's two dump prefixes."""
    for kind in (DUMPS, DUMPS_JSONL):
        for info in storage.list(day_prefix(kind, day)):
            yield info.key


def _publish(storage: Storage, day: str, tmp: Path, manifest: Manifest) -> None:
    """Steps 2 to 6 of the protocol in the module docstring; the order is the protocol."""
    manifest_bytes = manifest.to_json()
    storage.delete(dump_key(day, SUCCESS))
    wanted = {dump_key(day, name) for name in (PARQUET, JSONL, MANIFEST, SUCCESS)}
    for key in list(_day_objects(storage, day)):
        if key not in wanted:
            storage.delete(key)
    for name in (PARQUET, JSONL):
        storage.put_file(dump_key(day, name), tmp / name)
    storage.put_bytes(dump_key(day, MANIFEST), manifest_bytes)
    storage.put_bytes(dump_key(day, SUCCESS), _success_marker(manifest_bytes, manifest))


def build_dump(storage: Storage, day: str, workdir: Path) -> Manifest:
    """Build the day's dump in a temp dir under ``workdir`` and store it into the archive;
    EmptyDay (nothing written) when the day has no records."""
    sources = _sources_or_fail(storage, validate_date(day))
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"dump-{day}-", dir=workdir) as tmp:
        manifest = _build_files(storage, day, sources, Path(tmp))
        _publish(storage, day, Path(tmp), manifest)
    return manifest


class _StreamWriter:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def write(self, record: dict[str, Any]) -> None:
        self._out.write(jsonl_line(record))

    def close(self) -> None:
        self._out.flush()


def stream_jsonl(storage: Storage, day: str, out: BinaryIO) -> dict[str, int]:
    """The day's records to ``out`` as uncompressed JSON Lines; rows per site. EmptyDay when
    there are none (nothing is written then)."""
    sources = _sources_or_fail(storage, validate_date(day))
    writer = _StreamWriter(out)
    counts = _write_all(storage, sources, (writer,))
    writer.close()
    _require_rows(counts, storage, day)
    return counts


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_beside(path: Path) -> Path:
    """A hidden temp file next to ``path`` (same file system, so the final rename is atomic);
    its name ends like ``path``'s, which tells the JSON Lines writer whether to gzip."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=f".{path.name}")
    # mkstemp makes 0600 files; an output file gets the usual permissions
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    return Path(name)


def write_local(storage: Storage, day: str, fmt: str, path: Path) -> dict[str, int]:
    """The day's records as one local file in ``fmt`` ("parquet" or "jsonl", gzipped when the
    name ends in .gz); rows per site. The file appears only when complete."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown dump format {fmt!r} (one of {', '.join(FORMATS)})")
    sources = _sources_or_fail(storage, validate_date(day))
    tmp = _temp_beside(path)
    try:
        with open_writer(tmp, fmt) as writer:
            counts = _write_all(storage, sources, (writer,))
        _require_rows(counts, storage, day)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return counts


def _legacy_key(day: str, name: str) -> str:
    return legacy_dump_key(day, LEGACY_DUMP_MANIFEST if name == MANIFEST else name)


def _trusted_manifest(storage: Storage, day: str) -> tuple[Manifest, KeyOf]:
    """The manifest ``_SUCCESS`` vouches for, and where the files of its layout lie."""
    try:
        marker = json.loads(storage.get_bytes(dump_key(day, SUCCESS)))
    except FileNotFoundError:
        raise DumpError("no _SUCCESS") from None
    except ValueError:
        raise DumpError("_SUCCESS was not written by newsarchive") from None
    for key_of in (dump_key, _legacy_key):
        try:
            data = storage.get_bytes(key_of(day, MANIFEST))
            break
        except FileNotFoundError:
            continue
    else:
        raise DumpError(f"no {MANIFEST}")
    wanted = marker.get("manifest_sha256") if isinstance(marker, dict) else None
    if wanted != hashlib.sha256(data).hexdigest():
        raise DumpError("the manifest does not match _SUCCESS (being replaced?)")
    return Manifest.from_json(data), key_of


def read_manifest(storage: Storage, day: str) -> Manifest:
    """The manifest of the day's dump, once ``_SUCCESS`` vouches for it; DumpError otherwise.
    Days dumped in the old layout (``manifest.json`` beside the Parquet) are read too."""
    return _trusted_manifest(storage, day)[0]


def _object_sha256(storage: Storage, key: str) -> str:
    digest = hashlib.sha256()
    with storage.open_read(key) as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_dump(storage: Storage, day: str) -> Manifest:
    """Read the whole dump back and check every file against the manifest; DumpError if the
    dump is not whole. Costs a full download: :func:`dump_status` is the cheap check."""
    manifest, key_of = _trusted_manifest(storage, day)
    for name, entry in manifest.files.items():
        try:
            digest = _object_sha256(storage, key_of(day, name))
        except (FileNotFoundError, InvalidName):
            raise DumpError(f"{name} is missing") from None
        if digest != entry["sha256"]:
            raise DumpError(f"{name} does not match the manifest (being replaced?)")
    return manifest


def _size_problem(manifest: Manifest, sizes: dict[str, int], day: str,
                  key_of: KeyOf) -> str | None:
    for name, entry in manifest.files.items():
        try:
            size = sizes.get(key_of(day, name))
        except InvalidName:
            size = None
        if size != entry["bytes"]:
            return f"{name} does not match the manifest"
    return None


def dump_status(storage: Storage, day: str) -> str:
    """One line on the day's dump: "complete (N rows, CREATED_AT)", "stale (...; record files
    changed since)", "missing" or "incomplete (why)". Checks sizes, not checksums."""
    sizes = {info.key: info.size for kind in (DUMPS, DUMPS_JSONL)
             for info in storage.list(day_prefix(kind, day))}
    if not sizes:
        return "missing"
    if dump_key(day, SUCCESS) not in sizes:
        return "incomplete (no _SUCCESS)"
    try:
        manifest, key_of = _trusted_manifest(storage, day)
    except DumpError as exc:
        return f"incomplete ({exc})"
    problem = _size_problem(manifest, sizes, day, key_of)
    if problem:
        return f"incomplete ({problem})"
    summary = f"{manifest.rows_total} rows, {manifest.created_at}"
    current = [{"key": s.key, "bytes": s.size} for s in list_sources(storage, day)]
    if current != manifest.sources:
        return f"stale ({summary}; record files changed since)"
    return f"complete ({summary})"
