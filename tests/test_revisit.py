"""The revisit policy end to end: the real CLI against the fixture web, time passing between
runs through ``NEWSARCHIVE_NOW`` (the testing aid of crawler/settings.py)."""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.keys import fetch_state_key
from archive.url_lookup import latest_capture, read_response
from bench.web import ARTICLE_RE, Web, build_sites, load_templates
from crawler.site_state import SiteState
from tests.crawlrun import (
    REPO,
    Archive,
    read_records,
    read_reports,
    run_cli,
    warc_keys,
    write_config,
)
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import archive, local_archive, s3_archive  # noqa: F401 (fixtures)

# the runs' clock starts at the real time: the fixture webs date their sitemap lastmod and
# corrections by the real clock, and a run clock behind it would read every one as a change
T0 = dt.datetime.now(dt.UTC)


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as fixture:
        yield fixture


def crawl_at(config: Path, target: Archive, hours: float, *extra: str):
    """One crawl whose clock reads T0 + ``hours``."""
    when = (T0 + dt.timedelta(hours=hours)).isoformat()
    result = run_cli("crawl", "--config", str(config), *extra,
                     env={**target.env, "NEWSARCHIVE_NOW": when})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def article_requests(web: FixtureWeb) -> list[str]:
    urls = {a.url for a in web.articles}
    return [f"http://{r.host}:{web.port}{r.path}" for r in web.requests
            if f"http://{r.host}:{web.port}{r.path}" in urls]


def warc_records(storage, rec_type: str) -> list:
    found = []
    for key in warc_keys(storage):
        for record in ArchiveIterator(io.BytesIO(storage.get_bytes(key))):
            if record.rec_type == rec_type:
                found.append(record.rec_headers)
    return found


def test_archived_articles_are_fetched_again_only_when_due_as_revisit_records(
        web: FixtureWeb, archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
    crawl_at(config, archive, 0)
    first = read_records(archive.storage)
    originals = {h.get_header("WARC-Target-URI"): h for h in warc_records(archive.storage,
                                                                          "response")}

    web.clear_log()
    crawl_at(config, archive, 0.25)  # a quarter of an hour later: nothing is due
    assert article_requests(web) == []
    report = read_reports(archive.storage)[-1]["sites"]["dailyplanet"]
    assert set(report["fetched"]) == {"entry"}  # answered 304: no link was even read

    web.clear_log()
    crawl_at(config, archive, 2)  # past the 1 h step: every article once, conditionally
    asked = article_requests(web)
    assert sorted(asked) == sorted({a.url for a in web.articles})
    assert all("If-None-Match" in r.headers for r in web.requests
               if f"http://{r.host}:{web.port}{r.path}" in set(asked))
    assert len(read_records(archive.storage)) == len(first)
    revisits = {h.get_header("WARC-Target-URI"): h
                for h in warc_records(archive.storage, "revisit")}
    for url in asked:
        revisit, original = revisits[url], originals[url]
        assert revisit.get_header("WARC-Profile") == \
            "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
        assert revisit.get_header("WARC-Refers-To-Target-URI") == url
        assert revisit.get_header("WARC-Refers-To-Date") == original.get_header("WARC-Date")
        assert revisit.get_header("WARC-Payload-Digest") == \
            original.get_header("WARC-Payload-Digest")
    report = read_reports(archive.storage)[-1]["sites"]
    # the articles, the syndicated copies and the PDF, all unchanged
    assert sum(site["revisits"].get("not_modified", 0) for site in report.values()) >= \
        len(asked) + len(web.near_copies)

    # the URL lookup (replay --url) resolves a revisit to the original's body
    article = web.articles[0]
    capture = latest_capture(archive.storage, article.url)
    assert capture is not None and capture.entry.mime == "warc/revisit"
    response = read_response(archive.storage, capture)
    assert response.status == 200 and article.title.encode() in response.body
    shown = run_cli("replay", "--url", article.url, "--config", str(config), env=archive.env)
    assert shown.returncode == 0 and article.title in shown.stdout


def test_an_unchanged_body_without_validators_is_an_identical_payload_revisit(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    web.send_validators = False
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",))
    crawl_at(config, local_archive, 0)
    count = len(read_records(local_archive.storage))
    crawl_at(config, local_archive, 2)
    assert len(read_records(local_archive.storage)) == count
    profiles = {h.get_header("WARC-Target-URI"): h.get_header("WARC-Profile")
                for h in warc_records(local_archive.storage, "revisit")}
    for article in web.articles:
        if article.site == "dailyplanet":
            assert profiles[article.url].endswith("/revisit/identical-payload-digest")
    report = read_reports(local_archive.storage)[-1]["sites"]["dailyplanet"]
    assert report["revisits"]["identical"] >= 12 and report["articles"]["new"] == 0

    # a replay of the day rebuilds the same records: a revisit holds nothing new
    day = read_records(local_archive.storage)[0]["fetched_at"][:10]
    out = tmp_path / "replayed"
    result = run_cli("replay", "--date", day, "--config", str(config), "--output", str(out))
    assert result.returncode == 0, result.stderr
    from archive.local import LocalStorage
    rebuilt = {(r["id"], r["version"], r["content_hash"])
               for r in read_records(LocalStorage(out))}
    assert rebuilt == {(r["id"], r["version"], r["content_hash"])
                       for r in read_records(local_archive.storage)}


def test_a_correction_is_caught_by_the_sitemap_lastmod_before_it_is_due(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",))
    crawl_at(config, local_archive, 0)
    article = web.sitemap_only
    web.update_article(article.slug, [*article.paragraphs, "A correction was appended."])
    web.clear_log()
    # ten minutes later by the run's clock, but the site's lastmod is the real time of the
    # change, which is after the first run's real start
    crawl_at(config, local_archive, 0.5)
    assert article_requests(web) == [article.url]
    report = read_reports(local_archive.storage)[-1]["sites"]["dailyplanet"]
    assert report["fetched"]["lastmod"] == 1 and report["articles"]["updated"] == 1


def test_gone_urls_are_retried_rarely(web: FixtureWeb, local_archive: Archive,
                                      tmp_path: Path) -> None:  # noqa: F811
    web.send_validators = False  # every page is read again each run, so the dead link is seen
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",))
    missing = web.special_urls["not_found"]
    path = missing.split(str(web.port), 1)[1]
    asked = []
    for hours in (0, 2, 20, 25, 30, 25 + 160, 25 + 170):
        web.clear_log()
        crawl_at(config, local_archive, hours)
        asked.append(path in web.fetched_paths(0))
    # after 1 day, then after 7 more days
    assert asked == [True, False, False, True, False, False, True]
    report = read_reports(local_archive.storage)[1]["sites"]["dailyplanet"]
    assert report["skipped"]["gone"] >= 1


def big_site_config(path: Path, target: Archive, site, budget: int = 1000,
                    delay: float = 0) -> Path:
    """A config for one site of bench.web (home, sections, feed, sitemap; eval pages)."""
    lines = ["[archive]", f'uri = "{target.uri}"', f'spool_dir = "{path.parent}/spool"',
             "[crawl]", "allow_private_networks = true", f"download_delay = {delay}",
             "concurrent_requests_per_domain = 8", "extract_workers = 2",
             f"max_pages_per_site = {budget}",
             "[[sites]]", f'name = "{site.name}"', f'start_urls = ["{site.base}/"]',
             f'feeds = ["{site.base}/feed.xml"]', f"article_urls = ['{ARTICLE_RE}']"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_site_larger_than_its_budget_is_archived_completely(
        local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    templates, _ = load_templates()
    articles, budget = 96, 40
    with Web(build_sites(templates, 1, articles, dup_every=0)) as bench_web:
        site = bench_web.sites[0]
        config = big_site_config(tmp_path / "big.toml", local_archive, site, budget)
        runs = math.ceil(articles / budget) + 1
        for run in range(runs):
            crawl_at(config, local_archive, run * 0.1)
            if run == 0:
                state = SiteState.from_bytes(local_archive.storage.get_bytes(
                    fetch_state_key(site.name)))
                dates = [item.when for item in state.frontier if item.when is not None]
                assert dates and dates == sorted(dates, reverse=True)  # newest first
        records = read_records(local_archive.storage)
    assert len({r["canonical_url"] for r in records}) == articles == len(records)
    reports = read_reports(local_archive.storage)
    assert reports[0]["sites"][site.name]["frontier"] > 0
    assert reports[-1]["sites"][site.name]["frontier"] == 0


def test_what_a_stopped_run_had_not_fetched_is_fetched_by_the_next(
        local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    templates, _ = load_templates()
    articles = 96
    with Web(build_sites(templates, 1, articles, dup_every=0)) as bench_web:
        site = bench_web.sites[0]
        slow = big_site_config(tmp_path / "slow.toml", local_archive, site, delay=0.2)
        env = {**os.environ, **local_archive.env, "NEWSARCHIVE_NOW": T0.isoformat()}
        crawl = subprocess.Popen([sys.executable, "-m", "newsarchive", "crawl", "--config",
                                  str(slow)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        while bench_web.article_hits < 10 and crawl.poll() is None:
            time.sleep(0.05)
        crawl.send_signal(signal.SIGTERM)
        _, stderr = crawl.communicate(timeout=120)
        assert crawl.returncode == 0, stderr
        [report] = read_reports(local_archive.storage)
        assert report["finish_reason"] == "shutdown"
        stopped = len(read_records(local_archive.storage))
        assert stopped < articles and report["sites"][site.name]["frontier"] > 0
        crawl_at(big_site_config(tmp_path / "fast.toml", local_archive, site), local_archive,
                 0.1)
        records = read_records(local_archive.storage)
    assert len({r["canonical_url"] for r in records}) == articles == len(records)
    assert read_reports(local_archive.storage)[-1]["sites"][site.name]["fetched"]["new"] == \
        articles - stopped
