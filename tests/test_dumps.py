"""Daily dumps (archive/dumps.py, newsarchive/cmd_dump.py) on both storage backends.

The day's records are real record files written with RecordFile, not crawls: two sites whose
names sort differently as keys ("site=harbourtown-herald/" < "site=harbourtown/") than as names,
three record files, and records of another day that must stay out.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from archive import __version__
from archive.config import ArchiveConfig, Config
from archive.dump_formats import DUMP_COLUMNS, PARQUET_SCHEMA, ROW_GROUP_ROWS, SCHEMA_VERSION
from archive.dumps import (
    DumpError,
    EmptyDay,
    build_dump,
    dump_status,
    list_sources,
    read_manifest,
    stream_jsonl,
    verify_dump,
    write_local,
)
from archive.keys import DUMP_FILES, dump_key, raw_key, records_key
from archive.local import LocalStorage
from archive.records import CONTRACT_FIELDS, OPTIONAL_FIELDS, RecordFile
from archive.s3 import S3Storage
from archive.storage import Storage, StorageError
from newsarchive.cli import main as cli_main
from newsarchive.cmd_dump import run_dump, run_dump_range
from newsarchive.cmd_ls import run_ls

DAY, OTHER_DAY = "2026-11-25", "2026-11-24"
MORNING, EVENING = "20261125T061500Z-3f9a1c", "20261125T183000Z-b27e04"
EXTRACTOR = "newsarchive 0.1.0 / trafilatura 2.3.1"
PUBLISHED = [None, "2026-11-24T18:05:00+01:00", "2026-11-24", "2026-11-25T07:30:00Z"]
REPO = Path(__file__).resolve().parents[1]


def make_record(site: str, n: int, crawl_id: str, day: str = DAY) -> dict[str, Any]:
    canonical = f"https://{site}.example/news/{day.replace('-', '/')}/harbour-wall-repairs-{n}/"
    text = (f"Repairs to the harbour wall at {site} will start in spring, the council said.\n"
            f"The café on the quay stays open during works (story {n}).\n"
            "“We have waited long enough,” said one resident.")
    return {
        "id": hashlib.blake2b(canonical.encode(), digest_size=8).hexdigest(),
        "url": canonical + ("?utm_source=rss" if n % 3 == 0 else ""),
        "canonical_url": canonical,
        "site": site,
        "title": f"Harbour wall repairs to start in spring ({n})",
        "author": None if n % 4 == 0 else "Owen Strake",
        "published": PUBLISHED[n % 4],
        "language": "en" if n % 5 else None,
        "text": text,
        "content_hash": hashlib.sha256(" ".join(text.split()).encode()).hexdigest(),
        "version": 1 + n % 2,
        "near_duplicate_of": "0123456789abcdef" if n == 2 else None,
        "fetched_at": f"{day}T{6 + n % 12:02d}:15:{n:02d}.{n:06d}Z",
        "crawl_id": crawl_id,
        "extractor": EXTRACTOR,
        "warc_filename": raw_key(day, site, crawl_id, 0),
        "warc_offset": 1200 * n,
        "warc_length": 4000 + n,
    }


def store_records(storage: Storage, tmp_path: Path, key: str, records: list[dict]) -> None:
    path = tmp_path / f"rec-{hashlib.sha256(key.encode()).hexdigest()[:12]}.jsonl.gz"
    file = RecordFile(path, key)
    for record in records:
        file.write(record)
    file.close()
    storage.put_file(key, path)


def store_day(storage: Storage, tmp_path: Path) -> list[dict]:
    """Three record files of DAY and one of OTHER_DAY; the DAY records in dump order."""
    files = {
        records_key(DAY, "harbourtown-herald", MORNING, 0):
            [make_record("harbourtown-herald", n, MORNING) for n in range(1, 5)],
        records_key(DAY, "harbourtown", MORNING, 0):
            [make_record("harbourtown", n, MORNING) for n in range(1, 4)],
        records_key(DAY, "harbourtown", EVENING, 0):
            [make_record("harbourtown", n, EVENING) for n in range(4, 6)],
        records_key(OTHER_DAY, "harbourtown", MORNING, 0):
            [make_record("harbourtown", 9, MORNING, OTHER_DAY)],
    }
    for key, records in files.items():
        store_records(storage, tmp_path, key, records)
    in_order = sorted((k for k in files if f"date={DAY}" in k), key=lambda k: k.split("/")[2:])
    return [record for key in in_order for record in files[key]]


def dump_names(storage: Storage, day: str = DAY) -> list[str]:
    """The keys under the day's two dump prefixes."""
    return sorted(info.key for prefix in (f"dumps/date={day}/", f"dumps-jsonl/date={day}/")
                  for info in storage.list(prefix))


DUMP_KEYS = sorted(dump_key(DAY, name) for name in DUMP_FILES)
COLUMNS = [column["name"] for column in DUMP_COLUMNS]


def jsonl_rows(data: bytes) -> list[dict]:
    """The rows of a JSON Lines dump, each checked to carry every column, in schema order."""
    rows = [json.loads(line) for line in data.splitlines()]
    assert all(list(row) == COLUMNS for row in rows)
    return rows


def contract_part(rows: list[dict]) -> list[dict]:
    return [{name: row[name] for name in CONTRACT_FIELDS} for row in rows]


def parquet_rows(data: bytes) -> pa.Table:
    return pq.read_table(pa.BufferReader(data))


def contract_rows(table: pa.Table) -> list[dict]:
    return table.select(list(CONTRACT_FIELDS)).to_pylist()


class Recording:
    """A Storage that logs writes and deletes (by file name) and can fail one of them."""

    def __init__(self, inner: Storage, fail_on: tuple[str, str] | None = None) -> None:
        self.inner, self.fail_on, self.ops = inner, fail_on, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _log(self, op: str, key: str) -> None:
        self.ops.append((op, key.rsplit("/", 1)[-1]))
        if self.ops[-1] == self.fail_on:
            raise StorageError(f"injected failure on {op} {key}")

    def put_file(self, key: str, path: Path) -> None:
        self._log("put", key)
        self.inner.put_file(key, path)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._log("put", key)
        self.inner.put_bytes(key, data)

    def delete(self, key: str) -> None:
        self._log("delete", key)
        self.inner.delete(key)


# --- the dump in the archive ---------------------------------------------------------------

def test_dump_holds_four_files_and_a_manifest_that_matches_them(storage, tmp_path):
    expected = store_day(storage, tmp_path)
    manifest = build_dump(storage, DAY, tmp_path / "work")

    assert dump_names(storage) == DUMP_KEYS
    stored = json.loads(storage.get_bytes(dump_key(DAY, "_manifest.json")))
    assert stored["rows_per_site"] == {"harbourtown": 5, "harbourtown-herald": 4}
    assert stored["rows_total"] == len(expected) == 9
    assert stored["schema_version"] == SCHEMA_VERSION
    assert stored["newsarchive_version"] == __version__
    assert stored["columns"] == [{"name": f.name, "type": str(f.type), "nullable": f.nullable}
                                 for f in PARQUET_SCHEMA]
    assert dt.datetime.strptime(stored["created_at"], "%Y-%m-%dT%H:%M:%SZ")
    for name in ("articles.parquet", "articles.jsonl.gz"):
        data = storage.get_bytes(dump_key(DAY, name))
        assert stored["files"][name] == {"bytes": len(data),
                                         "sha256": hashlib.sha256(data).hexdigest()}
    sources = {info.key: info.size for info in storage.list(f"records/date={DAY}/")}
    assert {s["key"]: s["bytes"] for s in stored["sources"]} == sources
    assert verify_dump(storage, DAY) == manifest == read_manifest(storage, DAY)
    assert dump_status(storage, DAY) == f"complete (9 rows, {manifest.created_at})"


def test_success_is_removed_first_and_written_last(storage, tmp_path):
    store_day(storage, tmp_path)
    recording = Recording(storage)
    build_dump(recording, DAY, tmp_path / "work")

    assert recording.ops == [("delete", "_SUCCESS"), ("put", "articles.parquet"),
                             ("put", "articles.jsonl.gz"), ("put", "_manifest.json"),
                             ("put", "_SUCCESS")]
    marker = json.loads(storage.get_bytes(dump_key(DAY, "_SUCCESS")))
    manifest_bytes = storage.get_bytes(dump_key(DAY, "_manifest.json"))
    assert marker["manifest_sha256"] == hashlib.sha256(manifest_bytes).hexdigest()


def test_one_row_per_record_in_site_file_line_order(storage, tmp_path):
    expected = store_day(storage, tmp_path)
    build_dump(storage, DAY, tmp_path / "work")

    table = parquet_rows(storage.get_bytes(dump_key(DAY, "articles.parquet")))
    assert table.schema.equals(PARQUET_SCHEMA, check_metadata=True)
    assert contract_rows(table) == expected
    jsonl = gzip.decompress(storage.get_bytes(dump_key(DAY, "articles.jsonl.gz")))
    assert contract_part(jsonl_rows(jsonl)) == expected


def test_jsonl_rows_carry_the_parquet_columns_with_nulls_and_one_timestamp_shape(storage,
                                                                                 tmp_path):
    store_day(storage, tmp_path)
    build_dump(storage, DAY, tmp_path / "work")
    assert dump_key(DAY, "articles.jsonl.gz") == f"dumps-jsonl/date={DAY}/articles.jsonl.gz"
    rows = jsonl_rows(gzip.decompress(storage.get_bytes(dump_key(DAY, "articles.jsonl.gz"))))
    table = parquet_rows(storage.get_bytes(dump_key(DAY, "articles.parquet")))
    assert [row["published_ts"] for row in rows[:4]] == [
        "2026-11-24T17:05:00.000000Z", "2026-11-24T00:00:00.000000Z",
        "2026-11-25T07:30:00.000000Z", None]
    assert rows[0]["fetched_at_ts"] == "2026-11-25T07:15:01.000001Z"
    assert rows[3]["author"] is None and rows[3]["published"] is None
    as_parquet = [{name: row[name] for name in CONTRACT_FIELDS} for row in table.to_pylist()]
    assert contract_part(rows) == as_parquet


EXTRAS = {"image": "https://harbourtown.example/media/wall.jpg", "image_caption": "The wall.",
          "description": "Repairs start in spring.", "tags": ["Harbour", "Council"],
          "modified": "2026-11-25T09:00:00+01:00", "access": "paywalled"}


def test_schema_2_appends_the_optional_fields_and_keeps_version_1_columns(local_storage,
                                                                        tmp_path):
    old = [make_record("harbourtown", n, MORNING) for n in (1, 2)]  # written before issue 15
    new = [make_record("harbourtown", 3, EVENING) | EXTRAS]
    store_records(local_storage, tmp_path, records_key(DAY, "harbourtown", MORNING, 0), old)
    store_records(local_storage, tmp_path, records_key(DAY, "harbourtown", EVENING, 0), new)
    manifest = build_dump(local_storage, DAY, tmp_path / "work")
    assert manifest.schema_version == SCHEMA_VERSION == 2
    table = parquet_rows(local_storage.get_bytes(dump_key(DAY, "articles.parquet")))
    # version 1's twenty columns, where a version 1 reader finds them (by name or position)
    assert table.column_names[:20] == [*CONTRACT_FIELDS, "published_ts", "fetched_at_ts"]
    assert table.column_names[20:] == list(OPTIONAL_FIELDS)
    assert contract_rows(table) == old + [make_record("harbourtown", 3, EVENING)]
    rows = table.to_pylist()
    assert [row["tags"] for row in rows] == [None, None, ["Harbour", "Council"]]
    assert {name: rows[2][name] for name in OPTIONAL_FIELDS} == EXTRAS
    assert all(rows[0][name] is None for name in OPTIONAL_FIELDS)
    jsonl = jsonl_rows(gzip.decompress(local_storage.get_bytes(dump_key(DAY,
                                                                        "articles.jsonl.gz"))))
    assert jsonl[2]["tags"] == ["Harbour", "Council"] and jsonl[0]["access"] is None


def test_a_dataset_of_both_schema_versions_reads_whole_with_the_union(tmp_path):
    """A version 1 day beside a version 2 day: each reader, given the union as docs/dumps.md
    says, sees all 26 columns and both days (by default they would drop or refuse 21-26)."""
    root = tmp_path / "dumps"
    version_2 = PARQUET_SCHEMA
    for day, schema in (("2026-11-24", pa.schema(list(version_2)[:20])), (DAY, version_2)):
        (root / f"date={day}").mkdir(parents=True)
        columns = {f.name: pa.nulls(1, f.type) for f in schema}
        pq.write_table(pa.table(columns, schema=pa.schema([f.with_nullable(True)
                                                           for f in schema])),
                       root / f"date={day}" / "articles.parquet")
    newest = root / f"date={DAY}" / "articles.parquet"
    rel = duckdb.read_parquet(f"{root}/**/*.parquet", hive_partitioning=True,
                              union_by_name=True)
    assert set(OPTIONAL_FIELDS) <= set(rel.columns) and len(rel.fetchall()) == 2
    full = pq.read_schema(newest).append(pa.field("date", pa.date32()))
    frame = pd.read_parquet(root, schema=full)
    assert set(OPTIONAL_FIELDS) <= set(frame.columns) and len(frame) == 2
    polars_frame = pl.scan_parquet(root, hidden_file_prefix="_", missing_columns="insert",
                                   schema=pl.read_parquet_schema(newest)).collect()
    assert set(OPTIONAL_FIELDS) <= set(polars_frame.columns) and polars_frame.height == 2


def test_tags_that_are_not_a_list_of_strings_fail_the_dump(local_storage, tmp_path):
    key = records_key(DAY, "harbourtown", MORNING, 0)
    store_records(local_storage, tmp_path, key,
                  [make_record("harbourtown", 1, MORNING) | {"tags": "Harbour, Council"}])
    with pytest.raises(DumpError, match=rf"{key} record 1: tags should be a list of strings"):
        build_dump(local_storage, DAY, tmp_path / "work")


def test_parquet_layout_zstd_row_groups_and_typed_timestamps(storage, tmp_path):
    store_day(storage, tmp_path)
    build_dump(storage, DAY, tmp_path / "work")
    data = storage.get_bytes(dump_key(DAY, "articles.parquet"))

    meta = pq.ParquetFile(pa.BufferReader(data)).metadata
    assert meta.num_row_groups == 1 and meta.num_rows == 9 < ROW_GROUP_ROWS
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"ZSTD"}
    rows = parquet_rows(data).to_pylist()
    by_published = {row["published"]: row["published_ts"] for row in rows}
    utc = dt.UTC
    assert by_published == {
        None: None,
        "2026-11-24T18:05:00+01:00": dt.datetime(2026, 11, 24, 17, 5, tzinfo=utc),
        "2026-11-24": dt.datetime(2026, 11, 24, tzinfo=utc),
        "2026-11-25T07:30:00Z": dt.datetime(2026, 11, 25, 7, 30, tzinfo=utc),
    }
    first = rows[0]
    assert first["fetched_at"] == "2026-11-25T07:15:01.000001Z"
    assert first["fetched_at_ts"] == dt.datetime(2026, 11, 25, 7, 15, 1, 1, tzinfo=utc)


def test_parquet_row_groups_close_at_the_row_and_byte_limits(local_storage, tmp_path,
                                                             monkeypatch):
    expected = store_day(local_storage, tmp_path)
    monkeypatch.setattr("archive.dump_formats._SLICE_ROWS", 2)
    monkeypatch.setattr("archive.dump_formats.ROW_GROUP_ROWS", 4)
    write_local(local_storage, DAY, "parquet", tmp_path / "rows.parquet")
    monkeypatch.setattr("archive.dump_formats.ROW_GROUP_BYTES", 1)
    write_local(local_storage, DAY, "parquet", tmp_path / "bytes.parquet")

    for name, sizes in (("rows.parquet", [4, 4, 1]), ("bytes.parquet", [2, 2, 2, 2, 1])):
        meta = pq.ParquetFile(tmp_path / name).metadata
        assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == sizes
        assert contract_rows(pq.read_table(tmp_path / name)) == expected


def test_rerun_replaces_the_dump_with_no_leftovers(storage, tmp_path):
    expected = store_day(storage, tmp_path)
    first = build_dump(storage, DAY, tmp_path / "work")
    late = [make_record("harbourtown", n, EVENING) for n in (6, 7)]
    store_records(storage, tmp_path, records_key(DAY, "harbourtown", EVENING, 1), late)
    assert dump_status(storage, DAY).startswith("stale (9 rows, ")

    second = build_dump(storage, DAY, tmp_path / "work")

    assert second.rows_per_site == {"harbourtown": 7, "harbourtown-herald": 4}
    assert len(second.sources) == len(first.sources) + 1
    assert second.files["articles.parquet"]["sha256"] != first.files["articles.parquet"]["sha256"]
    assert dump_names(storage) == DUMP_KEYS
    table = parquet_rows(storage.get_bytes(dump_key(DAY, "articles.parquet")))
    assert contract_rows(table) == expected[:5] + late + expected[5:]
    assert verify_dump(storage, DAY) == second
    assert dump_status(storage, DAY) == f"complete (11 rows, {second.created_at})"
    assert list((tmp_path / "work").iterdir()) == []
    if isinstance(storage, LocalStorage):
        assert list((storage.root / ".tmp").iterdir()) == []


def test_rerun_removes_objects_that_are_not_dump_files(storage, tmp_path):
    store_day(storage, tmp_path)
    storage.put_bytes(f"dumps/date={DAY}/articles-old.parquet", b"stale")
    storage.put_bytes(f"dumps-jsonl/date={DAY}/articles-old.jsonl.gz", b"stale")
    build_dump(storage, DAY, tmp_path / "work")
    assert dump_names(storage) == DUMP_KEYS


@pytest.mark.parametrize("failing", ["articles.parquet", "articles.jsonl.gz", "_manifest.json",
                                     "_SUCCESS"])
def test_interrupted_rerun_is_never_trusted_and_a_rerun_repairs_it(storage, tmp_path, failing):
    store_day(storage, tmp_path)
    build_dump(storage, DAY, tmp_path / "work")
    store_records(storage, tmp_path, records_key(DAY, "harbourtown", EVENING, 1),
                  [make_record("harbourtown", 6, EVENING)])

    with pytest.raises(StorageError, match="injected"):
        build_dump(Recording(storage, ("put", failing)), DAY, tmp_path / "work")

    assert dump_status(storage, DAY) == "incomplete (no _SUCCESS)"
    with pytest.raises(DumpError, match="no _SUCCESS"):
        read_manifest(storage, DAY)
    assert build_dump(storage, DAY, tmp_path / "work").rows_total == 10
    assert dump_status(storage, DAY).startswith("complete (10 rows, ")


def test_a_mix_of_two_dumps_is_detected(storage, tmp_path):
    store_day(storage, tmp_path)
    build_dump(storage, DAY, tmp_path / "work")
    old_parquet = storage.get_bytes(dump_key(DAY, "articles.parquet"))
    old_manifest = storage.get_bytes(dump_key(DAY, "_manifest.json"))
    store_records(storage, tmp_path, records_key(DAY, "harbourtown", EVENING, 1),
                  [make_record("harbourtown", 6, EVENING)])
    build_dump(storage, DAY, tmp_path / "work")

    storage.put_bytes(dump_key(DAY, "articles.parquet"), old_parquet)
    with pytest.raises(DumpError, match="articles.parquet does not match the manifest"):
        verify_dump(storage, DAY)
    assert dump_status(storage, DAY) == "incomplete (articles.parquet does not match the manifest)"
    storage.put_bytes(dump_key(DAY, "_manifest.json"), old_manifest)
    with pytest.raises(DumpError, match="the manifest does not match _SUCCESS"):
        read_manifest(storage, DAY)


def test_same_records_give_byte_identical_files(storage, tmp_path):
    store_day(storage, tmp_path)
    first = build_dump(storage, DAY, tmp_path / "work")
    second = build_dump(storage, DAY, tmp_path / "work")
    assert first.files == second.files


def test_empty_day_writes_nothing(storage, tmp_path):
    store_day(storage, tmp_path)
    with pytest.raises(EmptyDay, match="no records for 2026-11-26"):
        build_dump(storage, "2026-11-26", tmp_path / "work")
    assert dump_status(storage, "2026-11-26") == "missing"
    with pytest.raises(EmptyDay):
        write_local(storage, "2026-11-26", "parquet", tmp_path / "empty.parquet")
    assert not (tmp_path / "empty.parquet").exists()


def test_a_bad_record_names_its_file_and_keeps_the_old_dump(local_storage, tmp_path):
    store_day(local_storage, tmp_path)
    good = build_dump(local_storage, DAY, tmp_path / "work")
    bad = make_record("harbourtown", 6, EVENING) | {"warc_offset": "12"}
    key = records_key(DAY, "harbourtown", EVENING, 1)
    store_records(local_storage, tmp_path, key, [make_record("harbourtown", 7, EVENING), bad])

    with pytest.raises(DumpError, match=rf"{key} record 2: warc_offset should be an integer"):
        build_dump(local_storage, DAY, tmp_path / "work")
    assert verify_dump(local_storage, DAY) == good


# --- local files and stdout ----------------------------------------------------------------

def test_stream_jsonl_writes_every_record_as_one_line(storage, tmp_path):
    expected = store_day(storage, tmp_path)
    out = io.BytesIO()
    counts = stream_jsonl(storage, DAY, out)
    assert counts == {"harbourtown": 5, "harbourtown-herald": 4}
    assert contract_part(jsonl_rows(out.getvalue())) == expected


@pytest.mark.parametrize(("name", "fmt"), [("day.parquet", "parquet"),
                                           ("day.jsonl.gz", "jsonl"), ("day.jsonl", "jsonl")])
def test_write_local_file(storage, tmp_path, name, fmt):
    expected = store_day(storage, tmp_path)
    path = tmp_path / "out" / name
    path.parent.mkdir()
    assert write_local(storage, DAY, fmt, path) == {"harbourtown": 5, "harbourtown-herald": 4}
    data = path.read_bytes()
    if fmt == "parquet":
        assert contract_rows(parquet_rows(data)) == expected
    else:
        text = gzip.decompress(data) if name.endswith(".gz") else data
        assert contract_part(jsonl_rows(text)) == expected
    assert sorted(p.name for p in path.parent.iterdir()) == [name]


def test_duckdb_reads_the_local_parquet(local_storage, tmp_path):
    store_day(local_storage, tmp_path)
    path = tmp_path / f"articles-{DAY}.parquet"
    write_local(local_storage, DAY, "parquet", path)
    # the docs/dumps.md snippet
    result = duckdb.sql(f"select site, count(*) from '{path}' group by site order by site")
    assert result.fetchall() == [("harbourtown", 5), ("harbourtown-herald", 4)]


def test_duckdb_reads_every_archived_day_with_hive_partitions(local_storage, tmp_path):
    store_day(local_storage, tmp_path)
    build_dump(local_storage, DAY, tmp_path / "work")
    build_dump(local_storage, OTHER_DAY, tmp_path / "work")
    root = local_storage.root
    # the docs/dumps.md snippet
    result = duckdb.sql(f"""
        select date, count(*) as articles
        from read_parquet('{root}/dumps/date=*/articles.parquet', hive_partitioning = true)
        group by date order by date""")
    assert result.fetchall() == [(dt.date(2026, 11, 24), 1), (dt.date(2026, 11, 25), 9)]


def test_pyarrow_reads_the_parquet_straight_from_s3(s3_storage, s3_server, tmp_path):
    expected = store_day(s3_storage, tmp_path)
    build_dump(s3_storage, DAY, tmp_path / "work")
    endpoint = s3_server.endpoint_url.removeprefix("http://")
    key_id, secret = s3_server.access_key, s3_server.secret_key
    path = f"{s3_storage.bucket}/archive/dumps/date={DAY}/articles.parquet"
    # the docs/dumps.md snippet
    from pyarrow import fs

    s3 = fs.S3FileSystem(endpoint_override=endpoint, access_key=key_id, secret_key=secret,
                         scheme="http", region="us-east-1")
    table = pq.read_table(path, filesystem=s3)
    assert contract_rows(table) == expected


# --- the command ---------------------------------------------------------------------------

@pytest.fixture
def config(storage, tmp_path, monkeypatch, request) -> Config:
    """A Config on the test's archive; S3 credentials come from the environment, as in use."""
    spool = str(tmp_path / "spool")
    if isinstance(storage, S3Storage):
        server = request.getfixturevalue("s3_server")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        archive = ArchiveConfig(uri=f"s3://{storage.bucket}/archive",
                                endpoint_url=server.endpoint_url, spool_dir=spool)
    else:
        archive = ArchiveConfig(uri=str(storage.root), spool_dir=spool)
    return Config(path=str(tmp_path / "newsarchive.toml"), archive=archive)


def test_run_dump_into_the_archive(storage, config, tmp_path, capsys):
    store_day(storage, tmp_path)
    assert run_dump(config, DAY, None, None) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"dump {DAY}: 9 rows (harbourtown 5, harbourtown-herald 4) "
                          "from 3 record files -> ")
    assert storage.location(f"dumps/date={DAY}/") in out
    assert dump_status(storage, DAY).startswith("complete (9 rows, ")
    assert list((tmp_path / "spool" / "dump-work").iterdir()) == []


def test_run_dump_to_stdout(storage, config, tmp_path, capsys):
    expected = store_day(storage, tmp_path)
    assert run_dump(config, DAY, "parquet", "-") == 0  # "-" is JSON Lines whatever --format says
    captured = capsys.readouterr()
    assert contract_part(jsonl_rows(captured.out.encode())) == expected
    assert "9 rows" in captured.err and "stdout" in captured.err
    assert dump_names(storage) == []


@pytest.mark.parametrize(("name", "fmt"), [("a.parquet", None), ("a.jsonl.gz", None),
                                           ("a.data", "jsonl")])
def test_run_dump_to_a_file(storage, config, tmp_path, capsys, name, fmt):
    expected = store_day(storage, tmp_path)
    path = tmp_path / name
    assert run_dump(config, DAY, fmt, str(path)) == 0
    assert str(path) in capsys.readouterr().out
    if name.endswith(".parquet"):
        assert contract_rows(parquet_rows(path.read_bytes())) == expected
    else:
        data = path.read_bytes()
        text = gzip.decompress(data) if name.endswith(".gz") else data
        assert len(text.splitlines()) == len(expected)


def test_run_dump_failures_are_one_line(local_storage, tmp_path, capsys):
    config = Config(path="x.toml", archive=ArchiveConfig(uri=str(local_storage.root),
                                                         spool_dir=str(tmp_path / "spool")))
    assert run_dump(config, DAY, None, None) == 1
    assert capsys.readouterr().err == (f"newsarchive dump: no records for {DAY} in "
                                       f"{local_storage.root}: nothing to dump\n")
    assert run_dump(config, DAY, "parquet", str(tmp_path / "a.jsonl.gz")) == 2
    assert "does not match the file name" in capsys.readouterr().err
    assert run_dump(config, "2026-02-30", None, None) == 2
    assert "invalid date" in capsys.readouterr().err
    store_day(local_storage, tmp_path)
    assert run_dump(config, DAY, None, str(tmp_path / "no-such-dir" / "a.parquet")) == 1
    assert capsys.readouterr().err.startswith("newsarchive dump: failed: ")


def test_run_dump_streams_to_a_real_stdout_pipe(storage, config, tmp_path):
    expected = store_day(storage, tmp_path)
    lines = ["[archive]", f'uri = "{config.archive.uri}"',
             f'spool_dir = "{config.archive.spool_dir}"']
    if config.archive.endpoint_url:
        lines.append(f'endpoint_url = "{config.archive.endpoint_url}"')
    config_path = tmp_path / "newsarchive.toml"
    config_path.write_text("\n".join(lines) + "\n")
    code = ("import sys; from archive.config import load_config; "
            "from newsarchive.cmd_dump import run_dump; "
            f"sys.exit(run_dump(load_config({str(config_path)!r}), {DAY!r}, None, '-'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert contract_part(jsonl_rows(done.stdout)) == expected
    assert done.stderr.decode().startswith(f"dump {DAY}: 9 rows")


# --- downstream readers: the documented calls, run as documented ----------------------------

UNDATED_DAY, LATER_DAY = "2026-11-23", "2026-11-26"


def docs_snippet(name: str) -> str:
    """The fenced block after ``<!-- tested: NAME -->`` in docs/dumps.md."""
    text = (REPO / "docs" / "dumps.md").read_text()
    marker = f"<!-- tested: {name} -->\n```"
    assert marker in text, f"docs/dumps.md has no {name!r} snippet"
    return text.split(marker, 1)[1].split("\n", 1)[1].split("\n```", 1)[0]


def run_snippet(code: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    exec(compile(code, "docs/dumps.md", "exec"), found)  # noqa: S102 - the docs' own code
    return found


@pytest.fixture
def data_dir(local_storage, tmp_path, monkeypatch) -> Path:
    """The docs' paths start with data/ (the default store): here, the test's archive."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "data").symlink_to(local_storage.root, target_is_directory=True)
    monkeypatch.chdir(cwd)
    return cwd / "data"


def dump_two_days(storage: Storage, tmp_path: Path) -> list[dict]:
    expected = store_day(storage, tmp_path)
    for day in (DAY, OTHER_DAY):
        build_dump(storage, day, tmp_path / "work")
    return expected


def test_dumps_opens_as_one_dataset_in_every_reader(local_storage, tmp_path, data_dir):
    expected = dump_two_days(local_storage, tmp_path)
    per_day = {OTHER_DAY: 1, DAY: 9}

    found = run_snippet(docs_snippet("dataset-readers"))

    assert found["df"].groupby("date", observed=True).size().to_dict() == per_day
    table = found["table"]
    assert dict(Counter(table.column("date").to_pylist())) == per_day
    day_rows = table.filter(pc.field("date") == DAY).select(list(CONTRACT_FIELDS)).to_pylist()
    assert day_rows == expected
    rel_dates = found["rel"].select("date").fetchall()
    assert Counter(str(day) for (day,) in rel_dates) == per_day
    assert Counter(str(day) for day in found["pl_df"]["date"].to_list()) == per_day
    # the partition is the only date: a file column of that name would be silently shadowed
    assert "date" not in pq.read_schema(data_dir / "dumps" / f"date={DAY}" / "articles.parquet")


def test_a_dataset_read_during_a_rebuild_sees_every_day_whole(local_storage, tmp_path):
    dump_two_days(local_storage, tmp_path)
    store_records(local_storage, tmp_path, records_key(DAY, "harbourtown", EVENING, 1),
                  [make_record("harbourtown", 6, EVENING)])
    seen = []

    class ReadingMidway(Recording):
        def put_bytes(self, key: str, data: bytes) -> None:
            if key.endswith("_manifest.json"):  # the new Parquet is in, _SUCCESS is not
                table = ds.dataset(local_storage.root / "dumps", partitioning="hive").to_table()
                seen.append(dict(Counter(table.column("date").to_pylist())))
            super().put_bytes(key, data)

    build_dump(ReadingMidway(local_storage), DAY, tmp_path / "work")
    assert seen == [{OTHER_DAY: 1, DAY: 10}]


def undated_records() -> list[dict]:
    """A day on which no page gave a date, an author, a title or a language."""
    blank = {"published": None, "author": None, "title": None, "language": None}
    return [make_record("harbourtown", n, MORNING, UNDATED_DAY) | blank for n in (4, 8)]


def test_jsonl_reader_calls_give_the_same_types_on_a_day_without_dates(local_storage, tmp_path,
                                                                     data_dir):
    store_day(local_storage, tmp_path)
    store_records(local_storage, tmp_path, records_key(UNDATED_DAY, "harbourtown", MORNING, 0),
                  undated_records())
    snippet = docs_snippet("jsonl-readers")
    types = {}
    for day in (DAY, UNDATED_DAY):
        build_dump(local_storage, day, tmp_path / "work")
        found = run_snippet(snippet.replace("date=2026-11-25", f"date={day}"))
        types[day] = (found["df"].dtypes.astype(str).to_dict(),
                      dict(zip(found["rel"].columns, found["rel"].types, strict=True)),
                      found["pl_df"].schema)
        assert len(found["df"]) == len(found["rel"].fetchall()) == len(found["pl_df"])

    assert types[DAY] == types[UNDATED_DAY]
    pandas_types, duckdb_types, _ = types[DAY]
    assert pandas_types["published"] == "string" and pandas_types["version"] == "int64"
    assert pandas_types["published_ts"] == "datetime64[us, UTC]"
    published_ts = str(duckdb_types["published_ts"])
    assert published_ts == "TIMESTAMP WITH TIME ZONE"
    manifest = read_manifest(local_storage, UNDATED_DAY)
    assert [c["name"] for c in manifest.columns] == list(pandas_types) == COLUMNS
    # what the schema is for: left to guess, DuckDB types `published` differently each day
    guessed = {day: duckdb.read_json(str(data_dir / "dumps-jsonl" / f"date={day}" /
                                         "articles.jsonl.gz")).types for day in types}
    assert guessed[DAY] != guessed[UNDATED_DAY]


def test_duckdb_reads_the_dumps_straight_from_s3(s3_storage, s3_server, tmp_path, monkeypatch):
    dump_two_days(s3_storage, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    code = (docs_snippet("duckdb-s3")
            .replace("127.0.0.1:8333", s3_server.endpoint_url.removeprefix("http://"))
            .replace("s3://news/archive/", f"s3://{s3_storage.bucket}/archive/"))

    found = run_snippet(code)

    assert found["per_day"].fetchall() == [
        (dt.date(2026, 11, 24), "harbourtown", 1), (dt.date(2026, 11, 25), "harbourtown", 5),
        (dt.date(2026, 11, 25), "harbourtown-herald", 4)]


def version_of(record: dict, day: str, version: int, crawl_id: str, hour: int) -> dict:
    """The same article (same id and canonical URL) as archived on another day or run."""
    text = f"{record['text']}\nUpdated (version {version})."
    return record | {"version": version, "text": text, "crawl_id": crawl_id,
                     "fetched_at": f"{day}T{hour:02d}:00:00Z",
                     "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                     "warc_filename": raw_key(day, record["site"], crawl_id, 0)}


def test_the_latest_versions_query_gives_each_articles_latest_version(local_storage, tmp_path,
                                                                      data_dir):
    first, only_earlier, only_later = (
        make_record("harbourtown", n, MORNING, day) | {"version": 1}
        for n, day in ((1, OTHER_DAY), (2, OTHER_DAY), (3, DAY)))
    evening = "20261125T190000Z-c0ffee"
    days = {
        OTHER_DAY: [first, only_earlier],
        # version 2 archived twice on DAY (a replay): the later fetch is the answer
        DAY: [version_of(first, DAY, 2, MORNING, 7), only_later,
              version_of(first, DAY, 2, evening, 19)],
        LATER_DAY: [version_of(first, LATER_DAY, 3, MORNING, 7)],  # outside the range
    }
    for day, records in days.items():
        crawl = records[0]["crawl_id"]
        store_records(local_storage, tmp_path, records_key(day, "harbourtown", crawl, 0),
                      [r for r in records if r["crawl_id"] == crawl])
        rest = [r for r in records if r["crawl_id"] != crawl]
        if rest:
            store_records(local_storage, tmp_path, records_key(day, "harbourtown", evening, 0),
                          rest)
        build_dump(local_storage, day, tmp_path / "work")

    result = duckdb.sql(docs_snippet("latest-versions"))
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.fetchall()]

    got = {row["id"]: (row["version"], row["crawl_id"], str(row["date"])) for row in rows}
    assert got == {first["id"]: (2, evening, DAY), only_earlier["id"]: (1, MORNING, OTHER_DAY),
                   only_later["id"]: (1, MORNING, DAY)}
    assert len(rows) == 3


# --- a range of days, and days dumped in the old layout -------------------------------------

def write_config(tmp_path: Path, storage: LocalStorage) -> Path:
    path = tmp_path / "newsarchive.toml"
    path.write_text(f'[archive]\nuri = "{storage.root}"\nspool_dir = "{tmp_path / "spool"}"\n')
    return path


def test_dump_from_to_dumps_each_day_and_reports_the_empty_ones(local_storage, tmp_path,
                                                              capsys):
    store_day(local_storage, tmp_path)
    config = write_config(tmp_path, local_storage)

    code = cli_main(["dump", "--config", str(config), "--from", OTHER_DAY, "--to", LATER_DAY])

    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"dump {OTHER_DAY}: 1 rows (harbourtown 1) from 1 record file")
    assert lines[1].startswith(f"dump {DAY}: 9 rows (harbourtown 5, harbourtown-herald 4)")
    assert lines[2] == f"dump {OTHER_DAY}..{LATER_DAY}: 2 of 3 days dumped"
    assert f"no records for {LATER_DAY}" in err
    for day in (OTHER_DAY, DAY):
        assert dump_status(local_storage, day).startswith("complete (")
    assert dump_status(local_storage, LATER_DAY) == "missing"
    assert cli_main(["dump", "--config", str(config), "--from", OTHER_DAY, "--to", DAY]) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--from", DAY, "--to", OTHER_DAY], "ends (2026-11-24) before it starts"),
    (["--from", OTHER_DAY, "--to", DAY, "--output", "-"], "--output takes one --date"),
    (["--from", OTHER_DAY], "--from and --to go together"),
    (["--date", DAY, "--to", DAY], "do not go together"),
    ([], "give --date, or --from and --to"),
])
def test_dump_range_argument_errors_are_one_line(local_storage, tmp_path, capsys, args,
                                                 message):
    store_day(local_storage, tmp_path)
    config = write_config(tmp_path, local_storage)
    assert cli_main(["dump", "--config", str(config), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1
    assert dump_names(local_storage) == []


def store_old_layout_dump(storage: Storage, tmp_path: Path, day: str) -> str:
    """A day dumped before issue 11: every file in dumps/date=D/, manifest.json beside the
    Parquet, no columns in it. Returns its created_at."""
    files = {"articles.parquet": tmp_path / "old.parquet", "articles.jsonl.gz": tmp_path / "o.gz"}
    write_local(storage, day, "parquet", files["articles.parquet"])
    write_local(storage, day, "jsonl", files["articles.jsonl.gz"])
    sources = [{"key": s.key, "bytes": s.size} for s in list_sources(storage, day)]
    manifest = {"schema_version": 1, "day": day, "created_at": "2025-11-26T00:15:02Z",
                "newsarchive_version": "0.1.0", "rows_total": 9,
                "rows_per_site": {"harbourtown": 5, "harbourtown-herald": 4},
                "files": {name: {"bytes": path.stat().st_size,
                                 "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
                          for name, path in files.items()},
                "sources": sources}
    data = json.dumps(manifest, indent=2).encode() + b"\n"
    for name, path in files.items():
        storage.put_file(f"dumps/date={day}/{name}", path)
    storage.put_bytes(f"dumps/date={day}/manifest.json", data)
    marker = {"manifest_sha256": hashlib.sha256(data).hexdigest(),
              "created_at": manifest["created_at"], "rows_total": 9}
    storage.put_bytes(f"dumps/date={day}/_SUCCESS", json.dumps(marker).encode())
    return manifest["created_at"]


def test_old_layout_dumps_still_read_and_a_rerun_moves_them(storage, config, tmp_path,
                                                           capsys):
    store_day(storage, tmp_path)
    created = store_old_layout_dump(storage, tmp_path, DAY)

    assert dump_status(storage, DAY) == f"complete (9 rows, {created})"
    assert verify_dump(storage, DAY).columns == []
    assert run_ls(config, DAY) == 0
    assert f"{DAY}: 9 records, 2 sites, 0 runs; dump: complete (9 rows, {created})" in (
        capsys.readouterr().out)

    assert run_dump_range(config, DAY, DAY) == 0
    assert dump_names(storage) == DUMP_KEYS  # the old manifest.json and JSON Lines are gone
    assert verify_dump(storage, DAY).columns == list(DUMP_COLUMNS)
