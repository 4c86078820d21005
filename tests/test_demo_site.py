"""The bundled demo news sites: content rules, page chrome, feeds, sitemaps and the HTTP server."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import trafilatura
from lxml import html as lxml_html

from demo.site import (
    DemoServer,
    Page,
    article_urls,
    build_site,
    not_found_page,
    resolve,
    serve,
)
from demo.stories import (
    BOILERPLATE_MARKERS,
    CHROME_MARKERS,
    COMMENTS,
    PUBLICATIONS,
    SECTIONS,
    STORIES,
    Story,
)

BASES = {"harbourtown": "http://127.0.0.1:8741", "valleycourier": "http://127.0.0.1:8742"}
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
# a sentence ends at . ! or ? (maybe followed by a closing quote) before a space or the end
SENTENCE_END = re.compile(r"[.!?][”’\"]?(?=\s|$)")

ALL_STORIES = [(site, story) for site, stories in STORIES.items() for story in stories]
ORIGINALS = [(site, story) for site, story in ALL_STORIES if story.syndicated_from is None]


def _id(param: object) -> str:
    return param.slug if isinstance(param, Story) else str(param)


@pytest.fixture(scope="module")
def pages() -> dict[str, dict[str, Page]]:
    return {site: build_site(site, base) for site, base in BASES.items()}


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    demo = serve({site: ("127.0.0.1", 0) for site in STORIES})
    yield demo
    demo.stop()


def _fetch(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def _html(page: Page) -> str:
    assert page.content_type.startswith("text/html")
    return page.body.decode("utf-8")


def _meta(tree: lxml_html.HtmlElement, prop: str) -> str | None:
    found = tree.xpath(f'//meta[@property="{prop}" or @name="{prop}"]/@content')
    return found[0] if found else None


def _json_ld_types(tree: lxml_html.HtmlElement) -> list[str]:
    scripts = tree.xpath('//script[@type="application/ld+json"]/text()')
    return [json.loads(script)["@type"] for script in scripts]


def _news_article(tree: lxml_html.HtmlElement) -> dict[str, object]:
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        data = json.loads(script)
        if data["@type"] == "NewsArticle":
            return data
    raise AssertionError("no NewsArticle JSON-LD")


# --- the content -------------------------------------------------------------------------------


def test_story_counts_and_publications() -> None:
    assert set(STORIES) == set(PUBLICATIONS) == set(SECTIONS) == {"harbourtown", "valleycourier"}
    harbourtown, valley = STORIES["harbourtown"], STORIES["valleycourier"]
    assert len(harbourtown) == 10
    assert {s.section for s in harbourtown} == set(SECTIONS["harbourtown"])
    assert len([s for s in valley if s.syndicated_from is None]) == 4
    assert len([s for s in valley if s.syndicated_from == "harbourtown"]) == 2
    for site, stories in STORIES.items():
        assert len({s.slug for s in stories}) == len(stories)
        assert {s.section for s in stories} <= set(SECTIONS[site])


@pytest.mark.parametrize(("site", "story"), ORIGINALS, ids=_id)
def test_story_shape(site: str, story: Story) -> None:
    assert story.published_at.year == 2026 and story.published_at.utcoffset() is not None
    assert story.headline and story.author and re.fullmatch(r"[a-z0-9-]+", story.slug)
    assert 5 <= len(story.paragraphs) <= 9
    words = sum(len(p.split()) for p in story.paragraphs)
    assert 250 <= words <= 600, words
    for paragraph in story.paragraphs:
        assert 2 <= len(SENTENCE_END.findall(paragraph)) <= 4, paragraph


def test_syndicated_copies_are_near_identical() -> None:
    originals = {s.slug: s for s in STORIES["harbourtown"]}
    copies = [s for s in STORIES["valleycourier"] if s.syndicated_from]
    for copy in copies:
        original = originals[copy.slug]
        assert copy.paragraphs[:-1] == original.paragraphs
        assert copy.paragraphs[-1] == "This story first appeared in The Harbourtown Ledger."
        assert copy.path != original.path and copy.published_at > original.published_at


@pytest.mark.parametrize(("site", "story"), ALL_STORIES, ids=_id)
def test_no_story_text_contains_a_marker(site: str, story: Story) -> None:
    texts = [*story.paragraphs, story.headline, story.standfirst or "", story.author]
    for marker in BOILERPLATE_MARKERS:
        assert not any(marker.lower() in text.lower() for text in texts), marker


def test_markers_are_plain_text() -> None:
    # markers are searched for in raw HTML, so they must not need escaping
    assert all(not set(marker) & set("&<>\"") for marker in BOILERPLATE_MARKERS)
    assert len(set(BOILERPLATE_MARKERS)) == len(BOILERPLATE_MARKERS)


# --- article pages -----------------------------------------------------------------------------


def test_every_story_is_served_with_its_paragraphs(server: DemoServer) -> None:
    for site, story in ALL_STORIES:
        status, content_type, body = _fetch(server.base_urls[site] + story.path)
        assert status == 200 and content_type.startswith("text/html"), story.path
        tree = lxml_html.fromstring(body)
        served = [p.text_content() for p in tree.xpath('//div[contains(@class, "article-body")]/p')]
        assert served == list(story.paragraphs)


def test_article_pages_carry_the_boilerplate(pages: dict[str, dict[str, Page]]) -> None:
    seen_comments = set()
    for site, story in ALL_STORIES:
        doc = _html(pages[site][story.path])
        missing = [marker for marker in CHROME_MARKERS if marker not in doc]
        assert not missing, (story.path, missing)
        shown = doc[doc.index("<body"):]  # the head may repeat the first paragraph
        assert shown.index("Skip to main content") < shown.index(story.paragraphs[0])
        body_end = shown.index(story.paragraphs[-1])
        for marker in ("OWNED BY OUR READERS", "Fighting fund", "Donate today"):
            # inside the article container, after the body, as on the real site
            assert body_end < shown.index(marker) < shown.index("</article>")
        comments = [text for _, text in COMMENTS if text in doc]
        assert 2 <= len(comments) <= 3
        seen_comments.update(comments)
    assert all(any(marker in _html(pages[site][story.path]) for site, story in ALL_STORIES)
               for marker in BOILERPLATE_MARKERS)
    assert seen_comments == {text for _, text in COMMENTS}


@pytest.mark.parametrize(("site", "story"), ALL_STORIES, ids=_id)
def test_article_head_metadata(pages: dict[str, dict[str, Page]], site: str, story: Story) -> None:
    url = BASES[site] + story.path
    tree = lxml_html.fromstring(_html(pages[site][story.path]))
    assert tree.findtext(".//title") == f"{story.headline} | {PUBLICATIONS[site]}"
    assert tree.xpath('//link[@rel="canonical"]/@href') == [url]
    assert _meta(tree, "og:type") == "article" and _meta(tree, "og:url") == url
    assert _meta(tree, "og:title") == story.headline
    assert _meta(tree, "article:published_time") == story.published
    assert _meta(tree, "author") == story.author
    assert tree.xpath("//h1/text()") == [story.headline]
    assert tree.xpath("//article//time/@datetime") == [story.published]
    data = _news_article(tree)
    assert data["headline"] == story.headline and data["datePublished"] == story.published
    assert data["author"][0]["name"] == story.author
    assert data["publisher"]["name"] == PUBLICATIONS[site]


def test_syndicated_copies_point_canonical_at_themselves(pages: dict[str, dict[str, Page]]) -> None:
    for story in (s for s in STORIES["valleycourier"] if s.syndicated_from):
        doc = _html(pages["valleycourier"][story.path])
        tree = lxml_html.fromstring(doc)
        assert tree.xpath('//link[@rel="canonical"]/@href') == [BASES["valleycourier"] + story.path]
        body = tree.xpath('//div[contains(@class, "article-body")]')[0].text_content()
        assert "This story first appeared in The Harbourtown Ledger." in body


@pytest.mark.parametrize(("site", "story"), ALL_STORIES, ids=_id)
def test_trafilatura_finds_the_first_paragraph(
        pages: dict[str, dict[str, Page]], site: str, story: Story) -> None:
    # a sanity check that the pages are extractable at all, not a quality benchmark
    text = trafilatura.extract(_html(pages[site][story.path])) or ""
    assert story.paragraphs[0] in text


# --- other pages -------------------------------------------------------------------------------


def _non_article_paths(site: str, site_pages: dict[str, Page]) -> list[str]:
    articles = {story.path for story in STORIES[site]}
    return [path for path, page in site_pages.items()
            if page.content_type.startswith("text/html") and path not in articles]


@pytest.mark.parametrize("site", list(STORIES))
def test_non_article_pages_are_websites(pages: dict[str, dict[str, Page]], site: str) -> None:
    site_pages = pages[site]
    paths = _non_article_paths(site, site_pages)
    assert {"/", "/about/", "/search/"} <= set(paths)
    assert any(path.startswith("/tag/") for path in paths)
    for path in paths:
        tree = lxml_html.fromstring(_html(site_pages[path]))
        assert _meta(tree, "og:type") == "website", path
        assert "NewsArticle" not in _json_ld_types(tree), path
        assert tree.xpath('//link[@rel="canonical"]/@href') == [BASES[site] + path]


def test_home_page_links_every_section_and_the_lead_story(
        pages: dict[str, dict[str, Page]]) -> None:
    for site, stories in STORIES.items():
        tree = lxml_html.fromstring(_html(pages[site]["/"]))
        hrefs = set(tree.xpath("//a/@href"))
        assert {f"/{section}/" for section in SECTIONS[site]} <= hrefs
        newest = max(stories, key=lambda s: s.published_at)
        assert tree.xpath('//*[contains(@class, "teaser--lead")]//a/@href') == [newest.path]
        assert tree.xpath('//*[contains(@class, "most-read")]//a')


@pytest.mark.parametrize("site", list(STORIES))
def test_sections_are_paginated_and_list_every_story(
        pages: dict[str, dict[str, Page]], site: str) -> None:
    for section in SECTIONS[site]:
        path, listed = f"/{section}/", []
        while path:
            tree = lxml_html.fromstring(_html(pages[site][path]))
            teasers = tree.xpath('//main//article[contains(@class, "teaser")]//h3/a/@href')
            assert 1 <= len(teasers) <= 4
            listed += teasers
            following = tree.xpath('//link[@rel="next"]/@href')
            visible = tree.xpath('//a[text()="Next page"]/@href')
            assert len(following) == len(visible) <= 1
            path = visible[0] if visible else None
            if path:
                assert following == [BASES[site] + path]
        expected = sorted((s for s in STORIES[site] if s.section == section),
                          key=lambda s: s.published_at, reverse=True)
        assert listed == [s.path for s in expected]
    assert "/news/page/2/" in pages[site]


# --- feeds, sitemaps, robots -------------------------------------------------------------------


@pytest.mark.parametrize("site", list(STORIES))
def test_rss_feed_lists_every_article(pages: dict[str, dict[str, Page]], site: str) -> None:
    page = pages[site]["/feed.xml"]
    assert page.content_type.startswith("application/rss+xml")
    channel = ET.fromstring(page.body).find("channel")
    assert channel is not None and channel.findtext("title") == PUBLICATIONS[site]
    items = channel.findall("item")
    assert {item.findtext("link") for item in items} == set(article_urls(site, BASES[site]))
    for item in items:
        assert item.findtext("title") and item.findtext("description") and item.findtext("pubDate")


@pytest.mark.parametrize("site", list(STORIES))
def test_sitemaps_list_every_article(pages: dict[str, dict[str, Page]], site: str) -> None:
    site_pages, base = pages[site], BASES[site]
    index = ET.fromstring(site_pages["/sitemap-index.xml"].body)
    locs = [loc.text for loc in index.iter(f"{SM}loc")]
    assert locs == [f"{base}/sitemap-articles.xml", f"{base}/sitemap-news.xml"]
    expected = set(article_urls(site, base))
    articles = ET.fromstring(site_pages["/sitemap-articles.xml"].body)
    urls = articles.findall(f"{SM}url")
    assert {url.findtext(f"{SM}loc") for url in urls} == expected
    assert all(url.findtext(f"{SM}lastmod") for url in urls)
    news = ET.fromstring(site_pages["/sitemap-news.xml"].body)
    by_url = {url.findtext(f"{SM}loc"): url for url in news.findall(f"{SM}url")}
    assert set(by_url) == expected
    for story in STORIES[site]:
        entry = by_url[base + story.path].find(f"{NEWS}news")
        assert entry is not None
        assert entry.findtext(f"{NEWS}publication_date") == story.published
        assert entry.findtext(f"{NEWS}title") == story.headline
        assert entry.findtext(f"{NEWS}publication/{NEWS}name").strip() == PUBLICATIONS[site]


def test_robots_txt(server: DemoServer) -> None:
    for base in server.base_urls.values():
        status, content_type, body = _fetch(base + "/robots.txt")
        assert status == 200 and content_type.startswith("text/plain")
        lines = body.splitlines()
        assert "Disallow: /search/" in lines
        assert f"Sitemap: {base}/sitemap-index.xml" in lines
        assert _fetch(base + "/search/")[0] == 200


# --- the server --------------------------------------------------------------------------------


def test_unknown_paths_get_an_html_404(server: DemoServer) -> None:
    for base in server.base_urls.values():
        status, content_type, body = _fetch(base + "/news/2026/01/01/no-such-story/")
        assert status == 404 and content_type.startswith("text/html")
        assert "Page not found" in body and "<nav" in body


def test_server_is_lenient_like_a_cms(server: DemoServer) -> None:
    base = server.base_urls["harbourtown"]
    story = STORIES["harbourtown"][0]
    status, _, body = _fetch(f"{base}{story.path}?utm_source=newsletter&fbclid=abc")
    assert status == 200 and story.paragraphs[0] in body
    status, _, body = _fetch(base + "/news")  # redirected to /news/
    assert status == 200 and "Next page" in body


def test_every_internal_link_resolves(pages: dict[str, dict[str, Page]]) -> None:
    for site, site_pages in pages.items():
        missing = not_found_page(site, BASES[site])
        host = urlsplit(BASES[site]).netloc
        for path in _non_article_paths(site, site_pages) + [s.path for s in STORIES[site]]:
            tree = lxml_html.fromstring(_html(site_pages[path]))
            for href in tree.xpath("//a/@href | //link/@href"):
                parts = urlsplit(href)
                if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", host) \
                        or not parts.path:
                    continue  # other sites, mailto: links and same-page anchors
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                assert resolve(site_pages, missing, target).status == 200, (path, href)
