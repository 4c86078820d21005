"""End-to-end crawls of the loopback fixture web into both backends, through the real CLI."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.keys import fetch_state_key
from archive.local import LocalStorage
from crawler.site_state import SiteState
from demo.site import serve
from tests.crawlrun import (
    Archive,
    read_records,
    read_reports,
    run_cli,
    warc_keys,
    warc_response,
    warc_responses,
    warc_target_uris,
    write_config,
)
from tests.fixtureweb import FixtureWeb


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as fixture:
        yield fixture


@pytest.fixture
def local_archive(tmp_path: Path) -> Archive:
    root = tmp_path / "archive"
    return Archive(str(root), LocalStorage(root), {})


@pytest.fixture
def s3_archive(s3_server, make_s3_storage) -> Archive:
    bucket = f"crawl-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(bucket)
    env = {"AWS_ACCESS_KEY_ID": s3_server.access_key,
           "AWS_SECRET_ACCESS_KEY": s3_server.secret_key, "AWS_DEFAULT_REGION": "us-east-1"}
    return Archive(f"s3://{bucket}/archive", make_s3_storage(bucket), env,
                   endpoint_url=s3_server.endpoint_url)


@pytest.fixture(params=["local", "s3"])
def archive(request: pytest.FixtureRequest) -> Archive:
    return request.getfixturevalue(f"{request.param}_archive")


def crawl(config: Path, archive: Archive, *extra: str):
    result = run_cli("crawl", "--config", str(config), *extra, env=archive.env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def by_canonical(records: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for record in records:
        assert record["canonical_url"] not in out, f"two records for {record['canonical_url']}"
        out[record["canonical_url"]] = record
    return out


def test_first_crawl_archives_each_article_once(web: FixtureWeb, archive: Archive,
                                                tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
    result = crawl(config, archive)
    assert "dailyplanet:" in result.stdout and "partner:" in result.stdout

    records = read_records(archive.storage)
    found = by_canonical(records)
    copies = {copy for copy, _ in web.near_copies}
    # one record per article, plus one for each syndicated copy on the partner site
    assert set(found) == {a.canonical_url for a in web.articles} | copies
    for article in web.articles:
        record = found[article.canonical_url]
        assert record["site"] == article.site
        assert record["title"] == article.title
        assert record["author"] == article.author
        assert record["published"][:10] == article.published[:10]
        assert record["language"] == "en"
        assert record["version"] == 1
        assert record["text"].split("\n") == list(article.paragraphs)
        for phrase in web.boilerplate_phrases:
            assert phrase not in record["text"]
    # the records of the special routes
    assert web.feed_only.canonical_url in found and web.sitemap_only.canonical_url in found
    assert all(a.canonical_url in found for a in web.deep_only)

    # each syndicated copy (published after its original) points at the original, whichever
    # of the two was archived first
    for copy_url, original_url in web.near_copies:
        copy, original = found[copy_url], found[original_url]
        assert (copy["near_duplicate_of"], original["near_duplicate_of"]) == (original["id"], None)
    assert sum(1 for r in records if r["near_duplicate_of"]) == len(web.near_copies)

    # nothing requested from the path robots.txt disallows, nor non-articles recorded
    assert not any(p.startswith("/private/") for p in web.fetched_paths(0))
    assert not set(web.non_articles) & set(found)

    # every record's WARC pointer lands on its own response
    for record in records:
        uri, payload = warc_response(archive.storage, record["warc_filename"],
                                     record["warc_offset"], record["warc_length"])
        assert uri == record["url"]
        assert record["text"].split("\n")[0].encode() in payload.replace(b"&#39;", b"'") \
            or record["title"].encode() in payload

    # every response is in the WARC, errors and redirects included
    captured = dict(warc_target_uris(archive.storage))
    special = web.special_urls
    assert captured[special["redirect"]] == 301
    assert captured[special["not_found"]] == 404
    assert captured[special["server_error"]] == 500
    assert captured[special["pdf"]] == 200

    [report] = read_reports(archive.storage)
    dp = report["sites"]["dailyplanet"]
    assert dp["errors"].get("http_4xx") == 1 and dp["errors"].get("http_5xx") == 1
    assert dp["articles"]["new"] + dp["articles"]["near_duplicate"] == 12
    assert report["sites"]["partner"]["records_written"] == 5
    # timings by stage: the main process's own, and the extraction workers'
    cpu = report["cpu_seconds"]
    assert {"process", "extract_workers", "warc", "dedup", "records"} <= set(cpu)
    assert cpu["extract_workers"] > 0 and cpu["warc"] > 0
    assert cpu["process"] >= cpu["warc"] + cpu["dedup"] + cpu["records"]


def test_second_run_adds_nothing_and_a_change_becomes_version_2(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool")
    crawl(config, local_archive)
    first = read_records(local_archive.storage)

    second = crawl(config, local_archive)
    assert len(read_records(local_archive.storage)) == len(first)
    assert "0 new" in second.stdout

    article = web.articles[0]
    web.update_article(article.slug, [*article.paragraphs[:-1],
                                      "A correction was added to this report on Monday."])
    crawl(config, local_archive)
    records = read_records(local_archive.storage)
    assert len(records) == len(first) + 1
    [updated] = [r for r in records if r["version"] == 2]
    [original] = [r for r in first if r["canonical_url"] == article.canonical_url]
    assert updated["id"] == original["id"]
    assert updated["text"].endswith("A correction was added to this report on Monday.")
    assert updated["content_hash"] != original["content_hash"]
    assert len(read_reports(local_archive.storage)) == 3


def test_local_and_s3_archives_agree(web: FixtureWeb, local_archive: Archive,
                                     s3_archive: Archive, tmp_path: Path) -> None:
    results = []
    for name, target in (("local", local_archive), ("s3", s3_archive)):
        config = write_config(tmp_path / f"{name}.toml", web, target, tmp_path / f"spool-{name}",
                              sites=("dailyplanet",))
        crawl(config, target)
        results.append({(r["id"], r["canonical_url"], r["content_hash"], r["version"])
                        for r in read_records(target.storage)})
        keys = {info.key.split("/")[0] for info in target.storage.list("")}
        assert {"raw", "records", "runs", "state"} <= keys
    assert results[0] == results[1] and len(results[0]) == 12


def test_private_addresses_are_refused_by_default(web: FixtureWeb, local_archive: Archive,
                                                  tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          private=False)
    result = crawl(config, local_archive)
    assert web.requests == []
    assert read_records(local_archive.storage) == []
    [report] = read_reports(local_archive.storage)
    assert report["sites"]["dailyplanet"]["errors"]["blocked_private_address"] >= 1
    assert "blocked_private_address" in result.stdout


def test_scrapy_command_runs_the_same_spider(web: FixtureWeb, local_archive: Archive,
                                             tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool")
    listed = run_cli("list", module="scrapy.cmdline")
    assert listed.returncode == 0 and listed.stdout.split() == ["news"]
    result = run_cli("crawl", "news", "-a", "site=partner", "-s", f"NEWSARCHIVE_CONFIG={config}",
                     "-s", "LOG_LEVEL=WARNING", module="scrapy.cmdline")
    assert result.returncode == 0, result.stderr
    records = read_records(local_archive.storage)
    assert {r["site"] for r in records} == {"partner"}
    assert len(records) == 5


def test_page_budget_per_site(web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",), extra_crawl="max_pages_per_site = 5")
    crawl(config, local_archive)
    pages = [p for p in web.fetched_paths(0) if p != "/robots.txt"]
    assert 0 < len(pages) <= 5
    [report] = read_reports(local_archive.storage)
    assert report["sites"]["dailyplanet"]["skipped_max_pages"] > 0


def test_two_machines_sharing_a_bucket_agree_on_what_is_new(
        web: FixtureWeb, s3_archive: Archive, tmp_path: Path) -> None:
    # each "machine" has its own spool and state cache; only the bucket is shared
    first = write_config(tmp_path / "a.toml", web, s3_archive, tmp_path / "machine-a",
                         sites=("partner",))
    second = write_config(tmp_path / "b.toml", web, s3_archive, tmp_path / "machine-b",
                          sites=("partner",))
    crawl(first, s3_archive)
    count = len(read_records(s3_archive.storage))
    # without the fetch state the second machine refetches every article: only the dedup
    # state in the bucket can tell it they are already archived
    for info in list(s3_archive.storage.list("state/fetch/")):
        s3_archive.storage.delete(info.key)
    result = crawl(second, s3_archive)
    assert len(read_records(s3_archive.storage)) == count == 5
    assert "0 new" in result.stdout and "5 unchanged" in result.stdout


def test_files_roll_by_size_and_pointers_stay_valid(web: FixtureWeb, local_archive: Archive,
                                                    tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",))
    text = config.read_text().replace('spool_dir', 'roll_size_mb = 0.003\nspool_dir')
    config.write_text(text)
    crawl(config, local_archive)
    warcs = [i.key for i in local_archive.storage.list("raw/") if i.key.endswith(".warc.gz")]
    record_files = [i.key for i in local_archive.storage.list("records/")]
    assert len(warcs) > 3 and len(record_files) > 1
    assert warcs[0].endswith("-00000.warc.gz") and warcs[1].endswith("-00001.warc.gz")
    records = read_records(local_archive.storage)
    assert len(records) == 12
    for record in records:
        uri, _ = warc_response(local_archive.storage, record["warc_filename"],
                               record["warc_offset"], record["warc_length"])
        assert uri == record["url"]
    assert not list((tmp_path / "spool").glob("*/ready/*")), "everything uploaded"


def test_polling_an_unchanged_site_costs_a_handful_of_requests(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool")
    crawl(config, local_archive)
    web.clear_log()
    crawl(config, local_archive)
    fetched = {f"http://{r.host}:{web.port}{r.path}" for r in web.requests}
    # robots.txt, start pages, feeds and sitemaps only, answered 304 where asked conditionally
    assert len(web.requests) <= 12, fetched
    assert not fetched & {a.url for a in web.articles}
    assert sum(1 for r in web.requests if "If-None-Match" in r.headers) >= 5

    article = web.sitemap_only
    web.update_article(article.slug, [*article.paragraphs, "An update was added this morning."])
    crawl(config, local_archive)
    versions = {r["canonical_url"]: r["version"] for r in read_records(local_archive.storage)
                if r["version"] == 2}
    assert versions == {article.canonical_url: 2}


def test_an_incomplete_run_does_not_let_the_next_one_skip(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",), extra_crawl="max_pages_per_site = 6")
    crawl(config, local_archive)
    # the state claims only what the run fetched; what it found and did not fetch is its
    # frontier, fetched first by the next run
    state = SiteState.from_bytes(local_archive.storage.get_bytes(
        fetch_state_key("dailyplanet")))
    assert state.frontier and not {item.url for item in state.frontier} & set(state.urls)
    config.write_text(config.read_text().replace("max_pages_per_site = 6", ""))
    crawl(config, local_archive)
    assert len(read_records(local_archive.storage)) == 12


def test_an_unattended_crawl_opens_no_control_server(web: FixtureWeb, local_archive: Archive,
                                                     tmp_path: Path) -> None:
    """Scrapy 2.19 starts a code-execution HTTP server (remote control, token-guarded) on
    loopback in every crawl and writes a job file naming it; the telnet console is another
    one. An archiver run from cron starts neither."""
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",), extra_crawl="max_pages_per_site = 5")
    state = tmp_path / "state"
    result = crawl(config, Archive(local_archive.uri, local_archive.storage,
                                   {"XDG_STATE_HOME": str(state)}), "-v")
    assert "Enabled extensions" in result.stderr  # the list Scrapy logs at INFO
    for server in ("RemoteControl", "Remote control HTTP server", "TelnetConsole"):
        assert server not in result.stderr
    assert not (state / "scrapy").exists()


def test_sites_sharing_a_host_get_their_own_robots_txt(local_archive: Archive,
                                                       tmp_path: Path) -> None:
    """The demo's two papers share 127.0.0.1 on two ports: each one's robots.txt (which
    Scrapy asks for without saying for which site) is archived under that site, by port."""
    with serve({"harbourtown": ("127.0.0.1", 0), "valleycourier": ("127.0.0.1", 0)}) as demo:
        lines = ["[archive]", f'uri = "{local_archive.uri}"', f'spool_dir = "{tmp_path}/spool"',
                 "[crawl]", "allow_private_networks = true", "download_delay = 0",
                 "max_pages_per_site = 8"]
        for site, base in demo.base_urls.items():
            lines += ["[[sites]]", f'name = "{site}"', f'start_urls = ["{base}/"]']
        config = tmp_path / "demo.toml"
        config.write_text("\n".join(lines) + "\n")
        crawl(config, local_archive)
    robots_under: dict[str, list[str]] = {}
    for key in warc_keys(local_archive.storage):
        site = key.split("/site=")[1].split("/")[0]
        robots_under.setdefault(site, []).extend(
            uri for _, _, uri, _ in warc_responses(local_archive.storage, key)
            if uri.endswith("/robots.txt"))
    assert robots_under == {site: [f"{base}/robots.txt"]
                            for site, base in demo.base_urls.items()}
