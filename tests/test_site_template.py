"""Per-site template learning: body lines repeating across a site's articles are removed
from its records, from the MIN_ARTICLES-th article on and in the next run (state kept), while
text an article repeats, shares with one other article or keeps across versions stays."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.keys import site_template_key
from archive.local import LocalStorage
from archive.storage import Storage
from pipelines.dedup import state_content
from pipelines.extraction import extract_article
from pipelines.site_template import MAX_LINES, MIN_ARTICLES, SiteTemplate, line_hash
from pipelines.template_learning import load_site_template
from tests.crawlrun import Archive, read_records, run_cli
from tests.templateweb import TemplateSite, build_site, serve

LANGUAGES = ["en", "de"]


def _extract(site: TemplateSite, index: int, template: frozenset[int]):
    story = site.stories[index]
    extraction = extract_article(site._article(story).encode("utf-8"), site.url(story), None,
                                 template)
    assert extraction is not None
    return extraction


def _has_template(site: TemplateSite, text: str) -> list[bool]:
    lines = text.split("\n")
    return [line in lines for line in site.template_lines]


@pytest.mark.parametrize("language", LANGUAGES)
def test_template_lines_vanish_from_the_kth_article_on(language: str) -> None:
    site = build_site(language)
    site.pages, site.base_url = len(site.stories), "https://ledger.example"
    learned = SiteTemplate()
    for index, story in enumerate(site.stories):
        extraction = _extract(site, index, learned.template_for(site.url(story)))
        text = extraction.text.split("\n")
        expected = [index < MIN_ARTICLES - 1] * 3
        assert _has_template(site, extraction.text) == expected, index
        # the story's own text stays whole, repeats included
        own = [line for line in text if line not in site.template_lines]
        assert own == story.paragraphs
        learned.learn(site.url(story), extraction.line_hashes, site.url(story))
    # the paragraph two stories share would go from a third one showing it
    expected = {line_hash(line) for line in (*site.template_lines, site.shared_line)}
    assert learned.template() == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_versions_and_copies_of_one_article_count_once(language: str) -> None:
    """Three versions of one article and a syndicated copy of it (the learner's key is the
    record's near_duplicate_of, else its id) teach nothing: they are one article."""
    site = build_site(language)
    site.pages, site.base_url = len(site.stories), "https://ledger.example"
    learned = SiteTemplate()
    first = site.url(site.stories[0])
    for _ in range(3):
        learned.learn(first, _extract(site, 0, learned.template_for(first)).line_hashes, first)
        site.update()
    copy = "https://ledger.example/syndicated/copy.html"
    learned.learn(first, _extract(site, 1, learned.template_for(copy)).line_hashes, copy)
    assert learned.template() == frozenset()
    extraction = _extract(site, 0, learned.template_for(first))
    assert all(_has_template(site, extraction.text))
    assert extraction.text.split("\n").count(site.repeated_line) == 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_article_is_the_same_whatever_part_of_the_template_was_learned(language: str) -> None:
    """Two template lines reach the threshold at different times: a page cleaned of the
    first only, then of both, is one unchanged article to dedup (no version from the
    template moving), though its record text differs."""
    site = build_site(language)
    first, second = (line_hash(line) for line in site.template_lines[:2])
    partly = _extract(site, 0, frozenset({first}))
    wholly = _extract(site, 0, frozenset({first, second}))
    assert partly.text != wholly.text
    assert state_content(partly) == state_content(wholly) == state_content(
        _extract(site, 0, frozenset()))


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_new_version_keeps_the_lines_it_shares_with_one_other_article(language: str) -> None:
    """Stories 1 and 2 share a paragraph: the threshold for a third article, not for the next
    version of story 1, which with story 2 still makes two."""
    site = build_site(language)
    site.pages, site.base_url = len(site.stories), "https://ledger.example"
    learned = SiteTemplate()
    for index in (1, 2):
        url = site.url(site.stories[index])
        learned.learn(url, _extract(site, index, learned.template_for(url)).line_hashes, url)
    site.update(1)
    url = site.url(site.stories[1])
    revisited = _extract(site, 1, learned.template_for(url))
    assert site.shared_line in revisited.text.split("\n")
    assert all(_has_template(site, revisited.text))  # also on stories 1 and 2 only, so far
    other = site.url(site.stories[5])
    assert line_hash(site.shared_line) in learned.template_for(other)


def test_state_stays_bounded_and_keeps_its_template() -> None:
    learned = SiteTemplate()
    template = [line_hash(f"template line {i}") for i in range(5)]
    for article in range(3 * MAX_LINES // 10):
        own = [line_hash(f"article {article} line {i}") for i in range(30)]
        url = f"https://ledger.example/{article}"
        learned.learn(url, own + template, url)
    assert len(learned.lines) <= MAX_LINES
    assert learned.template() == frozenset(template)
    assert len(learned.to_bytes()) < 80 * MAX_LINES


def test_template_state_round_trips_through_storage(storage: Storage, caplog) -> None:
    key = site_template_key("ledger")
    assert key == "state/template/site=ledger.json.gz"
    assert load_site_template(storage, "ledger").template() == frozenset()  # none yet
    learned = SiteTemplate()
    for article in range(MIN_ARTICLES - 1):
        url = f"https://ledger.example/{article}"
        learned.learn(url, [7, 8, article + 100], url)
    storage.put_bytes(key, learned.to_bytes())
    loaded = load_site_template(storage, "ledger")
    assert loaded.template() == {7, 8}
    assert loaded.articles == MIN_ARTICLES - 1 and len(loaded.lines) == 4
    storage.put_bytes(key, b"\x1f\x8b not gzip at all")
    with caplog.at_level(logging.WARNING, logger="pipelines.template_learning"):
        assert load_site_template(storage, "ledger").template() == frozenset()
    assert "site template of ledger unreadable" in caplog.text


# -- through real crawls ------------------------------------------------------------------
@pytest.fixture(params=LANGUAGES)
def template_site(request: pytest.FixtureRequest) -> Iterator[TemplateSite]:
    site = build_site(request.param)
    site.pages = 6
    server = serve(site)
    try:
        yield site
    finally:
        server.stop()


def _config(tmp_path: Path, site: TemplateSite, root: Path) -> Path:
    path = tmp_path / "news.toml"
    path.write_text("\n".join([
        "[archive]", f'uri = "{root}"', f'spool_dir = "{tmp_path / "spool"}"', "",
        "[crawl]", 'user_agent = "newsarchive-test (+https://example.org/bot)"',
        "allow_private_networks = true", "download_delay = 0",
        "concurrent_requests_per_domain = 2", "extract_workers = 2", "",
        "[[sites]]", 'name = "ledger"', f'start_urls = ["{site.base_url}/"]',
        'article_urls = ["/news/\\\\d{4}/"]', "follow_depth = 1", ""]))
    return path


def _crawl(config: Path, *args: str, env: dict[str, str] | None = None) -> None:
    result = run_cli(*args, "--config", str(config), env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_crawl_learns_the_template_and_the_next_run_starts_with_it(
        template_site: TemplateSite, tmp_path: Path) -> None:
    site, root = template_site, tmp_path / "archive"
    storage = LocalStorage(root)
    config = _config(tmp_path, site, root)
    _crawl(config, "crawl")
    first = read_records(storage)
    assert len(first) == 6
    # the site's first pages cannot have been cleaned (which later ones were depends on what
    # the pool had in flight together: the page-by-page order is the test above)
    with_template = [r for r in first if any(_has_template(site, r["text"]))]
    assert len(with_template) >= MIN_ARTICLES - 1
    stored = json.loads(gzip.decompress(storage.get_bytes(site_template_key("ledger"))))
    learned = {line[0] for line in stored["lines"] if line[1] >= MIN_ARTICLES - 1}
    assert learned == {line_hash(line) for line in (*site.template_lines, site.shared_line)}

    # next run, two hours on, every page rebuilt (new bytes): two new stories and an updated
    # one, all clean from the first; the five unchanged ones, revisited, are unchanged, though
    # their text is now without the template their record still has
    site.pages, site.build = 8, 1
    site.update()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    _crawl(config, "crawl", env={"NEWSARCHIVE_NOW": later})
    second = [r for r in read_records(storage) if r["crawl_id"] != first[0]["crawl_id"]]
    assert {r["url"] for r in second} == {site.url(s) for s in
                                          (site.stories[0], *site.stories[6:])}
    for record in second:
        assert not any(_has_template(site, record["text"])), record["url"]
    updated = next(r for r in second if r["url"] == site.url(site.stories[0]))
    assert updated["version"] == 2
    assert updated["text"].split("\n") == site.stories[0].paragraphs
    shared = [r for r in first if site.shared_line in r["text"].split("\n")]
    assert len(shared) == 2  # on two articles only: not template

    # a replay applies the stored template as it is: every rebuilt record is clean
    day = first[0]["fetched_at"][:10]
    out = tmp_path / "replayed"
    _crawl(config, "replay", "--date", day, "--output", str(out))
    replayed = read_records(LocalStorage(out))
    assert len(replayed) == len(first) + len(second)
    for record in replayed:
        assert not any(_has_template(site, record["text"])), record["url"]
