"""The run report type (archive/run_reports.py): the JSON a crawl writes, byte for byte, and
the typed readers over an archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from archive.keys import run_report_key
from archive.local import LocalStorage
from archive.run_reports import (
    RunReport,
    RunReportError,
    SiteRun,
    iter_run_reports,
    read_run_report,
    run_report_keys,
)


def _site_section() -> dict[str, Any]:
    # the keys in the order crawler/report.py builds them
    return {"pages_fetched": 28, "status": {"200": 27, "404": 1},
            "articles": {"new": 10, "updated": 0, "unchanged": 0, "near_duplicate": 1,
                         "duplicate": 0, "empty": 0},
            "records_written": 11, "records_with_published": 10, "records_with_author": 9,
            "not_modified": 0, "blocked": {"private_address": 1}, "kept_unknown": {},
            "skipped_max_pages": 0,
            "skipped_queue_full": 11, "fetched": {"entry": 3, "new": 25},
            "skipped": {"not_due": 40}, "revisits": {}, "frontier": 0,
            "errors": {"http_404": 1}, "bytes_raw": 111990,
            "bytes_records": 9020,
            "files": ["raw/date=2026-12-01/site=a/c1-00000.warc.gz",
                      "records/date=2026-12-01/site=a/c1-00000.jsonl.gz"],
            "alerts": [{"kind": "zero_new", "message": "no new or updated articles"}]}


def _report() -> dict[str, Any]:
    return {"crawl_id": "20261201T210719Z-7083c6", "started_at": "2026-12-01T21:07:19.279987Z",
            "finished_at": "2026-12-01T21:07:22.432251Z", "duration_s": 3.0,
            "finish_reason": "finished",
            "cpu_seconds": {"process": 0.812, "extract_workers": 0.471, "dedup": 0.001},
            "archive": "/srv/data", "software": "newsarchive/0.1.0",
            "sites": {"a": _site_section(), "b-c": {**_site_section(), "alerts": []}},
            "errors_total": 1,
            "error_examples": [{"site": "a", "kind": "http_404", "url": "http://a/x",
                                "message": "Ünicode – not found"}],
            "robots_forbidden": 2,
            "sites_held": [{"site": "d", "owner": "host:1", "crawl_id": "c0",
                            "expires_at": "2026-12-01T21:12:19+00:00", "released": False}]}


def test_a_report_gives_back_the_bytes_a_crawl_writes() -> None:
    data = _report()
    stored = json.dumps(data, indent=2, sort_keys=False).encode("utf-8")
    report = RunReport.from_json(stored)
    assert report.to_json() == stored
    assert report.to_dict() == data
    assert RunReport.from_dict(report.to_dict()) == report
    assert isinstance(report.sites["a"], SiteRun) and report.sites["a"].records_written == 11
    assert report.sites["a"].files == tuple(data["sites"]["a"]["files"])
    assert report.ended_normally


def test_the_failure_report_is_the_one_a_dead_run_leaves() -> None:
    as_written = {"crawl_id": "c1", "started_at": "2026-12-01T21:07:19.279987Z",
                  "finished_at": "2026-12-01T21:07:20.000000Z", "finish_reason": "error",
                  "error": "the crawl stopped before it could close", "sites": {}}
    failed = RunReport.failed("c1", as_written["started_at"], as_written["finished_at"],
                              as_written["error"])
    assert failed.to_json() == json.dumps(as_written, indent=2).encode()
    assert RunReport.from_json(failed.to_json()) == failed
    assert not failed.ended_normally


def test_a_site_section_lacking_fields_reads_as_zero() -> None:
    site = SiteRun.from_dict({"pages_fetched": 3, "articles": {"new": 1}})
    assert site == SiteRun(pages_fetched=3, articles={"new": 1})
    assert site.records_written == 0 and site.files == () and site.alerts == ()


@pytest.mark.parametrize("data", [b"not json", b"\xff\xfe", b"[1, 2]", b'{"crawl_id": "c1"}',
                                  b'{"crawl_id": 1, "started_at": "a", "finished_at": "b", '
                                  b'"finish_reason": "finished"}',
                                  b'{"crawl_id": "c", "started_at": "a", "finished_at": "b", '
                                  b'"finish_reason": "finished", "sites": []}'])
def test_what_is_not_a_report_is_refused(data: bytes) -> None:
    with pytest.raises(RunReportError):
        RunReport.from_json(data)


def test_readers_find_the_reports_of_a_day_and_skip_unreadable_ones(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    good = RunReport.from_dict(_report())
    storage.put_bytes(run_report_key("2026-12-01", good.crawl_id), good.to_json())
    storage.put_bytes(run_report_key("2026-12-01", "broken"), b"{")
    storage.put_bytes(run_report_key("2026-12-02", "c2"), good.to_json())
    storage.put_bytes("runs/date=2026-12-01/notes.txt", b"not a report")
    keys = sorted(run_report_keys(storage, "2026-12-01"))
    assert keys == [run_report_key("2026-12-01", "20261201T210719Z-7083c6"),
                    run_report_key("2026-12-01", "broken")]
    assert len(list(run_report_keys(storage))) == 3
    assert list(iter_run_reports(storage, "2026-12-01")) == [good]
    assert read_run_report(storage, keys[0]) == good
    with pytest.raises(RunReportError):
        read_run_report(storage, keys[1])
    with pytest.raises(FileNotFoundError):
        read_run_report(storage, run_report_key("2026-12-03", "c3"))
