"""newsarchive import: WARC files made by other tools, backfilled into the archive offline."""

from __future__ import annotations

import gzip
import http.client
import io
import shutil
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.keys import parse_data_key
from tests.crawlrun import (
    Archive,
    read_records,
    read_reports,
    run_cli,
    warc_response,
    write_config,
)
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import archive, local_archive, s3_archive  # noqa: F401 (fixtures)
from tests.test_replay import Tripwire

CAPTURED = "2025-03-14T09:30:00Z"  # long before the tests run: older than any live state
DAY = CAPTURED[:10]


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as running:
        yield running


def fetch(url: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """One GET on loopback, as a capture tool sees it (headers as sent, body as received)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        # http.client de-chunks: a tool storing the body so drops the transfer framing
        headers = [(k, v) for k, v in response.getheaders()
                   if k.lower() != "transfer-encoding"]
        return response.status, headers, response.read()
    finally:
        conn.close()


def dailyplanet_articles(web: FixtureWeb) -> list:
    return [a for a in web.articles if a.site == "dailyplanet"]


def write_warcio_file(path: Path, web: FixtureWeb, urls: list[str], *, date: str = CAPTURED,
                      gzip_per_record: bool = True, version: str = "1.0") -> list[bytes]:
    """A WARC of these URLs as another tool writes it: warcinfo, a request and a response
    per URL, a metadata record and a revisit, and a capture of another host and of
    robots.txt. Returns each record's bytes (a gzip member each when gzip_per_record)."""
    members = []
    writer = WARCWriter(io.BytesIO(), gzip=gzip_per_record, warc_version=version)

    def add(record: object) -> None:
        writer.out = io.BytesIO()
        writer.write_record(record)
        members.append(writer.out.getvalue())

    add(writer.create_warcinfo_record(path.name, {"software": "another-crawler/3.1"}))
    extra = [web.url("partner", "/"), web.url("dailyplanet", "/robots.txt")]
    for url in [*urls, *extra]:
        status, headers, body = fetch(url)
        http_headers = StatusAndHeaders(f"{status} OK", headers, protocol="HTTP/1.1")
        response = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                             http_headers=http_headers,
                                             warc_headers_dict={"WARC-Date": date})
        request = writer.create_warc_record(
            url, "request", payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(f"GET {urlsplit(url).path} HTTP/1.1",
                                          [("Host", urlsplit(url).netloc)],
                                          is_http_request=True),
            warc_headers_dict={"WARC-Date": date})
        add(response)
        add(request)
    add(writer.create_warc_record(urls[0], "metadata", payload=io.BytesIO(b"outlinks: none"),
                                  warc_content_type="text/plain",
                                  warc_headers_dict={"WARC-Date": date}))
    add(writer.create_revisit_record(urls[0], "sha1:AAAA", urls[0], date,
                                     warc_headers_dict={"WARC-Date": date}))
    path.write_bytes(b"".join(members))
    return members


def import_offline(tmp_path: Path, web: FixtureWeb, target: Archive, warc: Path
                   ) -> tuple[Path, subprocess.CompletedProcess]:
    """The fixture web's config for dailyplanet, the web stopped (an import never fetches),
    and a successful import of ``warc``."""
    config = write_config(tmp_path / "news.toml", web, target, tmp_path / "spool",
                          sites=("dailyplanet",))
    web.stop()
    result = import_cli(config, target, warc)
    assert result.returncode == 0, result.stdout + result.stderr
    return config, result


def import_cli(config: Path, archive: Archive, *files: Path | str) -> subprocess.CompletedProcess:
    return run_cli("import", "--config", str(config), "--site", "dailyplanet",
                   *map(str, files), env=archive.env)


def import_report(archive: Archive) -> dict:
    """The site's part of the latest import run's report. By ``started_at`` (microseconds):
    crawl ids sort by the second only, and two imports can start within one."""
    reports = sorted(read_reports(archive.storage), key=lambda r: r["started_at"])
    return reports[-1]["sites"]["dailyplanet"]


def keys_under(archive: Archive, *prefixes: str) -> set[str]:
    return {info.key for prefix in prefixes for info in archive.storage.list(prefix)}


@pytest.mark.parametrize("layout", ["gzip-per-record-1.0", "whole-file-gzip-1.1",
                                    "uncompressed-1.1"])
def test_import_archives_each_article_under_its_capture_day(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path, layout: str) -> None:  # noqa: F811
    """Records and raw copies dated by the capture, pointers into the archive itself, the
    other records skipped and counted, and not one connection to the sites."""
    articles = dailyplanet_articles(web)
    warc = tmp_path / "capture.warc.gz"
    per_record = layout.startswith("gzip-per-record")
    members = write_warcio_file(warc, web, [a.url for a in articles],
                                gzip_per_record=per_record, version=layout[-3:])
    if layout.startswith("whole-file"):
        warc.write_bytes(gzip.compress(b"".join(members)))
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",))
    port = web.port
    web.stop()
    tripwire = Tripwire(port)
    try:
        result = import_cli(config, local_archive, warc)
    finally:
        tripwire.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert tripwire.connections == 0

    records = read_records(local_archive.storage)
    assert sorted(r["canonical_url"] for r in records) == sorted(a.canonical_url for a in articles)
    for record in records:
        assert record["fetched_at"] == "2025-03-14T09:30:00.000000Z"
        assert parse_data_key(record["warc_filename"])["date"] == DAY
        uri, payload = warc_response(local_archive.storage, record["warc_filename"],
                                     record["warc_offset"], record["warc_length"])
        assert uri == record["url"]
        assert record["title"].encode() in payload
    assert {key.split("/")[1] for key in keys_under(local_archive, "records/", "raw/")} \
        == {f"date={DAY}"}
    site = import_report(local_archive)
    assert site["skipped"] == {"other_host": 1, "not_html_200": 1, "not_response": 2 +
                               len(articles) + 2, "revisit": 1}
    assert site["pages_fetched"] == len(articles)
    assert not site["errors"]


def test_import_of_a_wget_warc(web: FixtureWeb, local_archive: Archive,  # noqa: F811
                               tmp_path: Path) -> None:
    """A real ``wget --warc-file`` capture of the site (its bodies stored chunked, as they
    crossed the wire): every article wget reached gets its record."""
    if shutil.which("wget") is None:
        pytest.skip("wget is not installed (Debian: apt-get install wget)")
    articles = dailyplanet_articles(web)
    listed = tmp_path / "urls.txt"
    listed.write_text("".join(f"{url}\n" for url in [web.url("dailyplanet", "/"),
                                                      *(a.url for a in articles)]))
    subprocess.run(["wget", "--quiet", "--no-verbose", "--tries=1", "--timeout=30",
                    "--no-proxy", "--delete-after", "--input-file", str(listed),
                    "--warc-file", str(tmp_path / "wget"), "--no-warc-keep-log",
                    "--directory-prefix", str(tmp_path / "w")], check=False, timeout=120,
                   cwd=tmp_path)
    warc = tmp_path / "wget.warc.gz"
    assert warc.is_file()
    config, result = import_offline(tmp_path, web, local_archive, warc)
    records = read_records(local_archive.storage)
    assert sorted(r["canonical_url"] for r in records) == sorted(a.canonical_url for a in articles)
    by_url = {a.canonical_url: a for a in articles}
    for record in records:
        assert record["text"].split("\n") == list(by_url[record["canonical_url"]].paragraphs)
    assert not import_report(local_archive)["errors"]


def test_import_then_crawl_writes_no_duplicate_records(web: FixtureWeb, archive: Archive,  # noqa: F811
                                                       tmp_path: Path) -> None:
    """Articles imported from a capture of long ago are known to the next crawl: it writes
    no record for any of them (their dedup state is not left where runs do not look). On S3
    the WARC file is imported from the bucket by its URI."""
    articles = dailyplanet_articles(web)
    warc = tmp_path / "capture.warc.gz"
    write_warcio_file(warc, web, [a.url for a in articles])
    source: Path | str = warc
    if archive.uri.startswith("s3://"):
        archive.storage.put_bytes("incoming/capture.warc.gz", warc.read_bytes())
        source = f"{archive.uri.rstrip('/')}/incoming/capture.warc.gz"
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool",
                          sites=("dailyplanet",))
    result = import_cli(config, archive, source)
    assert result.returncode == 0, result.stdout + result.stderr
    imported = read_records(archive.storage)
    assert len(imported) == len(articles)

    crawled = run_cli("crawl", "--config", str(config), env=archive.env)
    assert crawled.returncode == 0, crawled.stdout + crawled.stderr
    records = read_records(archive.storage)
    new = [r for r in records if parse_data_key(r["warc_filename"])["date"] != DAY]
    assert {r["canonical_url"] for r in new}.isdisjoint(a.canonical_url for a in articles)
    assert len({r["canonical_url"] for r in records}) == len(records)


def test_import_twice_writes_nothing_new(web: FixtureWeb, local_archive: Archive,  # noqa: F811
                                         tmp_path: Path) -> None:
    articles = dailyplanet_articles(web)
    warc = tmp_path / "capture.warc.gz"
    write_warcio_file(warc, web, [a.url for a in articles])
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",))
    web.stop()
    first = import_cli(config, local_archive, warc)
    assert first.returncode == 0, first.stdout + first.stderr
    before = keys_under(local_archive, "records/", "raw/")

    second = import_cli(config, local_archive, warc, warc)
    assert second.returncode == 0, second.stdout + second.stderr
    assert keys_under(local_archive, "records/", "raw/") == before
    site = import_report(local_archive)
    assert site["skipped"]["imported_before"] == 2 * len(articles)
    assert site["pages_fetched"] == 0


def test_a_truncated_member_is_counted_and_the_rest_imported(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    articles = dailyplanet_articles(web)
    warc = tmp_path / "capture.warc.gz"
    members = write_warcio_file(warc, web, [a.url for a in articles])
    # the response of the second article cut in half: members are warcinfo, then a
    # response and a request per URL
    damaged = 1 + 2 * 1
    assert zlib.decompress(members[damaged], wbits=31).startswith(b"WARC/1.0")
    members[damaged] = members[damaged][:len(members[damaged]) // 2]
    warc.write_bytes(b"".join(members))
    config, result = import_offline(tmp_path, web, local_archive, warc)
    records = read_records(local_archive.storage)
    lost = articles[1].canonical_url
    assert sorted(r["canonical_url"] for r in records) == \
        sorted(a.canonical_url for a in articles if a.canonical_url != lost)
    site = import_report(local_archive)
    assert site["errors"] == {"bad_warc": 1}


def test_replay_of_an_imported_day(web: FixtureWeb, local_archive: Archive,  # noqa: F811
                                   tmp_path: Path) -> None:
    """An imported day is a day of the archive like any other: replay rebuilds its records
    from the raw copies alone."""
    articles = dailyplanet_articles(web)
    warc = tmp_path / "capture.warc"
    write_warcio_file(warc, web, [a.url for a in articles], gzip_per_record=False)
    config, result = import_offline(tmp_path, web, local_archive, warc)
    imported = {r["id"]: r for r in read_records(local_archive.storage)}

    replay = run_cli("replay", "--config", str(config), "--date", DAY, env=local_archive.env)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    replayed = {r["id"]: r for r in read_records(local_archive.storage)}
    assert set(replayed) == set(imported)
    for id_, record in replayed.items():
        assert record["text"] == imported[id_]["text"]
        assert record["fetched_at"] == imported[id_]["fetched_at"]
        assert (record["warc_filename"], record["warc_offset"]) == \
            (imported[id_]["warc_filename"], imported[id_]["warc_offset"])



def test_captures_of_two_days_make_two_versions_of_a_changed_article(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    """A file holding two days of captures is imported day by day: an article whose text
    changed in between gets version 2 under the second day, the unchanged ones nothing."""
    articles = dailyplanet_articles(web)
    first, second = tmp_path / "day1.warc.gz", tmp_path / "day2.warc.gz"
    write_warcio_file(first, web, [a.url for a in articles])
    changed = web.update_article(articles[0].slug, [*articles[0].paragraphs,
                                                    "Correction: the vote was on Tuesday."])
    write_warcio_file(second, web, [a.url for a in articles], date="2025-03-15T08:00:00Z")
    warc = tmp_path / "both.warc.gz"
    warc.write_bytes(first.read_bytes() + second.read_bytes())
    config, result = import_offline(tmp_path, web, local_archive, warc)
    records = read_records(local_archive.storage)
    later = [r for r in records if r["fetched_at"].startswith("2025-03-15")]
    assert [(r["canonical_url"], r["version"]) for r in later] == [(changed.canonical_url, 2)]
    assert later[0]["text"].endswith("Correction: the vote was on Tuesday.")
    assert parse_data_key(later[0]["warc_filename"])["date"] == "2025-03-15"
    assert len(records) == len(articles) + 1
