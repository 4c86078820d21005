"""The article record type (archive/records.py): the one list of the contract's fields, the
JSON lines it gives, and the dump schema derived from it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from archive.dump_formats import PARQUET_SCHEMA
from archive.records import RECORD_FIELDS, Record, RecordFile, iter_records, record_line

RECORD = Record(
    id="6c144050700da264", url="https://example.org/a?utm_source=x",
    canonical_url="https://example.org/a", site="harbourtown", title="Ferry – «late»",
    author=None, published="2026-11-30T08:00:00+00:00", language="en",
    text="First paragraph.\nSecond, with ünïcode.", content_hash="ab" * 32, version=2,
    near_duplicate_of=None, fetched_at="2026-12-01T21:07:20.123456Z",
    crawl_id="20261201T210719Z-7083c6", extractor="newsarchive 0.1 / trafilatura 2.3.1",
    warc_filename="raw/date=2026-12-01/site=harbourtown/20261201T210719Z-7083c6-00000.warc.gz",
    warc_offset=1234, warc_length=5678)


def test_the_fields_are_the_contract_s_in_its_order() -> None:
    assert RECORD_FIELDS == (
        "id", "url", "canonical_url", "site", "title", "author", "published", "language",
        "text", "content_hash", "version", "near_duplicate_of", "fetched_at", "crawl_id",
        "extractor", "warc_filename", "warc_offset", "warc_length",
        # optional, after the contract's (issue 15)
        "image", "image_caption", "description", "tags", "modified", "access")
    assert list(RECORD.to_dict()) == list(RECORD_FIELDS)


def test_a_record_and_its_dict_give_the_same_line(tmp_path: Path) -> None:
    as_dict = RECORD.to_dict()
    assert record_line(RECORD) == record_line(as_dict)
    assert record_line(RECORD).decode("utf-8").count("\n") == 1
    assert "ünïcode" in record_line(RECORD).decode("utf-8")  # not \\u-escaped
    files = []
    for name, record in (("typed", RECORD), ("dict", as_dict)):
        # one file name: gzip writes it into the header
        path = tmp_path / name / "r.jsonl.gz"
        path.parent.mkdir()
        file = RecordFile(path, f"records/{name}")
        file.write(record)
        file.write(replace(RECORD, version=3))
        file.close()
        files.append(path.read_bytes())
    assert files[0] == files[1]
    with open(tmp_path / "typed" / "r.jsonl.gz", "rb") as stream:
        assert [r["version"] for r in iter_records(stream)] == [2, 3]


def test_the_dump_schema_is_pinned() -> None:
    # downstream tables are built on these columns: a change to Record must show up here
    text, number = pa.string(), pa.int64()
    expected = [("id", text, False), ("url", text, False), ("canonical_url", text, False),
                ("site", text, False), ("title", text, True), ("author", text, True),
                ("published", text, True), ("language", text, True), ("text", text, False),
                ("content_hash", text, False), ("version", number, False),
                ("near_duplicate_of", text, True), ("fetched_at", text, False),
                ("crawl_id", text, False), ("extractor", text, False),
                ("warc_filename", text, False), ("warc_offset", number, False),
                ("warc_length", number, False),
                ("published_ts", pa.timestamp("us", tz="UTC"), True),
                ("fetched_at_ts", pa.timestamp("us", tz="UTC"), False),
                # schema version 2: appended, so version 1's columns keep their positions
                ("image", text, True), ("image_caption", text, True),
                ("description", text, True), ("tags", pa.list_(pa.field("element", text)), True),
                ("modified", text, True), ("access", text, True)]
    assert [(f.name, f.type, f.nullable) for f in PARQUET_SCHEMA] == expected
    assert PARQUET_SCHEMA.metadata == {b"newsarchive.schema_version": b"2"}
