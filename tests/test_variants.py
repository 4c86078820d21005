"""Versions come from the article, not from its renderings (CONTRACT §5): the fixture web's AMP
copy (rel=canonical to its article, without the article's credit line) through the real CLI,
time passing between runs through ``NEWSARCHIVE_NOW``, pages whose chrome changes each run
(``page_build``) so that an unchanged article is fetched and extracted again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.crawlrun import Archive, read_records, read_reports, run_cli, write_config
from tests.fixtureweb import FixtureArticle, FixtureWeb
from tests.test_crawl import archive, local_archive, s3_archive  # noqa: F401 (fixtures)

T0 = dt.datetime.now(dt.UTC)
CREDIT = "Ines Varga contributed reporting from the north pier."


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as fixture:
        yield fixture


def crawl_at(config: Path, target: Archive, hours: float) -> dict:
    """One crawl whose clock reads T0 + ``hours``; its dailyplanet report."""
    when = (T0 + dt.timedelta(hours=hours)).isoformat()
    result = run_cli("crawl", "--config", str(config),
                     env={**target.env, "NEWSARCHIVE_NOW": when})
    assert result.returncode == 0, result.stdout + result.stderr
    return read_reports(target.storage)[-1]["sites"]["dailyplanet"]


def amp_article(web: FixtureWeb) -> tuple[FixtureArticle, str]:
    """The article that has an AMP copy, and that copy's URL."""
    amp = web.special_urls["amp"]
    article = next(a for a in web.articles if (amp, a.url) in web.variants)
    return article, amp


def versions_of(target: Archive, article: FixtureArticle) -> list[dict]:
    records = [r for r in read_records(target.storage) if r["canonical_url"] == article.url]
    return sorted(records, key=lambda r: r["version"])


def test_an_amp_copy_of_an_unchanged_article_never_makes_a_version(
        web: FixtureWeb, archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    article, amp = amp_article(web)
    assert CREDIT in article.paragraphs
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool",
                          sites=("dailyplanet",))
    crawl_at(config, archive, 0)
    [first] = versions_of(archive, article)
    assert first["url"] == article.url and first["text"].split("\n") == list(article.paragraphs)

    # two hours later both are due and both pages' bytes changed: the article did not
    web.page_build = 1
    report = crawl_at(config, archive, 2)
    assert versions_of(archive, article) == [first]
    assert report["articles"]["variant"] == 1 and report["articles"]["updated"] == 0

    # a real correction makes one version, from the canonical page, whoever comes first
    web.page_build = 2
    corrected = web.update_article(article.slug, [*article.paragraphs,
                                                  "Correction: the crossing reopened on Monday."])
    report = crawl_at(config, archive, 7)
    v1, v2 = versions_of(archive, article)
    assert v1 == first and v2["version"] == 2 and v2["url"] == article.url
    assert v2["text"].split("\n") == list(corrected.paragraphs)
    assert report["articles"]["updated"] == 1
    assert report["articles"]["variant"] + report["articles"]["duplicate"] == 1
    assert amp not in {r["url"] for r in read_records(archive.storage)}


def test_the_canonical_page_wins_even_when_its_amp_copy_is_extracted_first(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    article, amp = amp_article(web)
    # the article answers late: its AMP copy, linked from the same home page, is fetched and
    # extracted first (the order to prove harmless; the test does not time anything)
    web.slow_paths[urlsplit(article.url).path] = 2.0
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",))
    report = crawl_at(config, local_archive, 0)
    [record] = versions_of(local_archive, article)
    assert record["url"] == article.url
    assert record["text"].split("\n") == list(article.paragraphs)
    assert report["articles"]["duplicate"] == 1  # the AMP copy: a URL variant of this run

    # the copy held back was done with in that run: not fetched again before it is due
    web.clear_log()
    crawl_at(config, local_archive, 0.25)
    assert urlsplit(amp).path not in web.fetched_paths("dailyplanet")


def test_an_article_seen_only_through_its_amp_copy_gets_versions_until_its_page_comes(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    article, amp = amp_article(web)
    web.missing_paths.add(urlsplit(article.url).path)  # the article's own page is 404 for now
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("dailyplanet",))
    crawl_at(config, local_archive, 0)
    [v1] = versions_of(local_archive, article)
    assert v1["url"] == amp and CREDIT not in v1["text"]

    # the copy is all the archive has of the article: its change is a version
    corrected = web.update_article(article.slug, [*article.paragraphs,
                                                  "Correction: the crossing reopened on Monday."])
    crawl_at(config, local_archive, 2)
    _, v2 = versions_of(local_archive, article)
    assert v2["version"] == 2 and v2["url"] == amp and corrected.paragraphs[-1] in v2["text"]

    # the article's page is back (asked again a day after its 404): its text, with the credit
    # line, replaces the copy's as a version, whichever of the two came first
    web.missing_paths.clear()
    web.page_build = 1
    report = crawl_at(config, local_archive, 25)
    *_, v3 = versions_of(local_archive, article)
    assert v3["version"] == 3 and v3["url"] == article.url
    assert v3["text"].split("\n") == list(corrected.paragraphs)
    assert report["articles"]["updated"] == 1

    # from then on the copy, changed or not, makes no version of an unchanged article
    web.page_build = 2
    report = crawl_at(config, local_archive, 73)
    assert len(versions_of(local_archive, article)) == 3
    assert report["articles"]["variant"] == 1
