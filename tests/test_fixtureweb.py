"""Quick checks that the fixture news web serves what its data model promises."""

from __future__ import annotations

import gzip
import itertools
import json
import re
import urllib.error
import urllib.request
import urllib.robotparser
from collections.abc import Iterator
from urllib.parse import urldefrag, urljoin, urlsplit
from xml.etree import ElementTree

import lxml.html
import pytest

from tests.fixtureweb import BOILERPLATE_PHRASES, FixtureWeb

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # tests look at the 301 itself


# no proxies: an http_proxy in the environment must not swallow loopback requests
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as running:
        yield running


def _paragraph_texts(body: bytes) -> list[str]:
    return [p.text_content() for p in lxml.html.fromstring(body).iter("p")]


def _jsonld_types(body: bytes) -> set[str]:
    types = set()
    for script in lxml.html.fromstring(body).xpath('//script[@type="application/ld+json"]'):
        data = json.loads(script.text)
        for node in data.get("@graph", [data]):
            types.add(node["@type"])
    return types


def test_both_hosts_answer_on_the_same_port(web: FixtureWeb) -> None:
    first, second = web.base_url(0), web.base_url(1)
    assert first == f"http://127.0.0.1:{web.port}" and second == f"http://127.0.0.2:{web.port}"
    status1, headers1, home1 = fetch(first + "/")
    status2, _, home2 = fetch(second + "/")
    assert (status1, status2) == (200, 200)
    assert headers1["Content-Type"] == "text/html; charset=utf-8"
    assert b"The Daily Planet" in home1 and b"Partner Wire" in home2


def test_robots_txt(web: FixtureWeb) -> None:
    status, headers, body = fetch(web.base_url(0) + "/robots.txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "Disallow: /private/" in text
    assert f"Sitemap: {web.base_url(0)}/sitemap_index.xml" in text
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(text.splitlines())
    assert web.disallowed_urls
    assert not any(parser.can_fetch("newsarchive", url) for url in web.disallowed_urls)
    own = [a.url for a in web.articles if a.site == "dailyplanet"]
    assert all(parser.can_fetch("newsarchive", url) for url in own)
    partner = urllib.robotparser.RobotFileParser()
    partner.parse(fetch(web.base_url(1) + "/robots.txt")[2].decode().splitlines())
    assert all(partner.can_fetch("newsarchive", a.url) for a in web.syndicated)


def test_sitemap_index_gzip_urlset_and_news_sitemap(web: FixtureWeb) -> None:
    _, headers, body = fetch(web.base_url(0) + "/sitemap_index.xml")
    assert headers["Content-Type"].startswith("application/xml")
    children = [loc.text for loc in ElementTree.fromstring(body).iter(SM + "loc")]
    base = web.base_url(0)
    assert children == [f"{base}/sitemap-1.xml.gz", f"{base}/news-sitemap.xml"]

    status, headers, body = fetch(children[0])
    assert status == 200 and headers["Content-Type"] == "application/x-gzip"
    assert "Content-Encoding" not in headers  # a gzip file, not a gzip transfer
    listed = {loc.text for loc in ElementTree.fromstring(gzip.decompress(body)).iter(SM + "loc")}
    assert web.sitemap_only.url in listed
    assert web.feed_only.url not in listed
    assert not listed & {a.url for a in web.deep_only}

    _, _, body = fetch(children[1])
    news = ElementTree.fromstring(body)
    assert len(list(news.iter(NEWS + "publication_date"))) == len(list(news.iter(SM + "url")))
    assert web.sitemap_only.url not in {loc.text for loc in news.iter(SM + "loc")}


@pytest.mark.parametrize("path", ["/feed.xml", "/sitemap_index.xml", "/news-sitemap.xml",
                                  "/sitemap-1.xml.gz"])
def test_conditional_get_on_feed_and_sitemaps(web: FixtureWeb, path: str) -> None:
    status, headers, _ = fetch(web.base_url(0) + path)
    assert status == 200 and headers["ETag"] and headers["Last-Modified"]
    status, again, body = fetch(web.base_url(0) + path, {"If-None-Match": headers["ETag"]})
    assert (status, body, again["ETag"]) == (304, b"", headers["ETag"])
    assert fetch(web.base_url(0) + path, {"If-None-Match": '"other"'})[0] == 200


def test_feeds_list_their_articles(web: FixtureWeb) -> None:
    _, headers, body = fetch(web.base_url(0) + "/feed.xml")
    assert headers["Content-Type"].startswith("application/rss+xml")
    links = [link.text for link in ElementTree.fromstring(body).iter("link")]
    assert web.feed_only.url in links
    assert any("utm_source=rss" in link for link in links)
    _, headers, body = fetch(web.base_url(1) + "/feed.xml")
    assert headers["Content-Type"].startswith("application/atom+xml")
    atom = {e.get("href") for e in ElementTree.fromstring(body).iter("{http://www.w3.org/2005/Atom}link")}
    assert {copy for copy, _ in web.near_copies} <= atom


def test_redirect_404_500_and_pdf(web: FixtureWeb) -> None:
    urls = web.special_urls
    status, headers, _ = fetch(urls["redirect"])
    assert status == 301 and headers["Location"] == urls["redirect_target"]
    assert fetch(urls["not_found"])[0] == 404
    assert fetch(urls["server_error"])[0] == 500
    status, headers, body = fetch(urls["pdf"])
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
    xref_at = int(body.rsplit(b"startxref", 1)[1].split()[0])
    assert body[xref_at:].startswith(b"xref")  # a reader can find its objects
    assert urls["pdf"].removeprefix(web.base_url(0)).encode() in fetch(urls["pdf_linked_from"])[2]


def test_every_article_is_served_with_its_paragraphs(web: FixtureWeb) -> None:
    assert len([a for a in web.articles if a.site == "dailyplanet"]) == 12
    for article in [*web.articles, *web.syndicated]:
        status, headers, body = fetch(article.url)
        assert status == 200, article.url
        assert headers["Content-Type"] == "text/html; charset=utf-8" and headers["Last-Modified"]
        texts = _paragraph_texts(body)
        assert all(p in texts for p in article.paragraphs), article.url
        assert not [p for p in BOILERPLATE_PHRASES if p in article.paragraphs]
        doc = lxml.html.fromstring(body)
        assert doc.xpath('//link[@rel="canonical"]/@href') == [article.canonical_url]
        assert doc.xpath('//meta[@property="og:type"]/@content') == ["article"]
        assert doc.xpath('//meta[@name="author"]/@content') == [article.author]
        assert "NewsArticle" in _jsonld_types(body)


def test_non_articles_look_like_non_articles(web: FixtureWeb) -> None:
    for url in web.non_articles:
        status, _, body = fetch(url)
        assert status == 200, url
        doc = lxml.html.fromstring(body)
        assert doc.xpath('//meta[@property="og:type"]/@content') == ["website"], url
        assert "NewsArticle" not in _jsonld_types(body)
        assert not re.search(r"/\d{4}/\d{2}/\d{2}/", urlsplit(url).path)


def test_variants_lead_to_their_article(web: FixtureWeb) -> None:
    for variant, target in web.variants:
        status, headers, body = fetch(urldefrag(variant).url)
        if status == 301:
            assert headers["Location"] == target
            continue
        assert status == 200, variant
        canonical = lxml.html.fromstring(body).xpath('//link[@rel="canonical"]/@href')
        assert canonical == [target], variant


def test_texts_are_distinct_and_sized(web: FixtureWeb) -> None:
    def shingles(paragraphs: tuple[str, ...]) -> set[tuple[str, ...]]:
        words = re.findall(r"\w+", " ".join(paragraphs).lower())
        return {tuple(words[i:i + 4]) for i in range(len(words) - 3)}

    for article in web.articles:
        assert 5 <= len(article.paragraphs) <= 8
        assert 250 <= len(" ".join(article.paragraphs).split()) <= 500
    sets = {a.url: shingles(a.paragraphs) for a in web.articles}
    for one, two in itertools.combinations(sets.values(), 2):
        assert len(one & two) / len(one | two) < 0.05
    originals = {a.url: a for a in web.articles}
    for copy in web.syndicated:
        copy_url, original_url = next(pair for pair in web.near_copies if pair[0] == copy.url)
        extra = set(copy.paragraphs) - set(originals[original_url].paragraphs)
        assert len(copy.paragraphs) == len(originals[original_url].paragraphs) + 1
        assert len(extra) == 1


def _off_limits(web: FixtureWeb, url: str, skip_deep_pages: bool) -> bool:
    parts = urlsplit(url)
    offsite = f"{parts.scheme}://{parts.netloc}" not in (web.base_url(0), web.base_url(1))
    deep = "page=" in parts.query and parts.query != "page=1"
    return offsite or url in web.disallowed_urls or (skip_deep_pages and deep)


def _crawl_links(web: FixtureWeb, skip_deep_pages: bool) -> set[str]:
    """Every URL (query kept, fragment dropped) reachable by links from both home pages."""
    seen: set[str] = set()
    queue = [web.base_url(0) + "/", web.base_url(1) + "/"]
    while queue:
        url = urldefrag(queue.pop()).url
        if url in seen or _off_limits(web, url, skip_deep_pages):
            continue
        seen.add(url)
        status, headers, body = fetch(url)
        if status == 301:
            queue.append(headers["Location"])
        elif status == 200 and headers["Content-Type"].startswith("text/html"):
            hrefs = lxml.html.fromstring(body).xpath("//a/@href")
            queue += [urljoin(url, href) for href in hrefs if not href.startswith("mailto:")]
    return seen


def test_reachability_claims_hold(web: FixtureWeb) -> None:
    everything = {u.split("?")[0] for u in _crawl_links(web, skip_deep_pages=False)}
    shallow = {u.split("?")[0] for u in _crawl_links(web, skip_deep_pages=True)}
    assert web.feed_only.url not in everything
    assert web.sitemap_only.url not in everything
    for article in web.deep_only:
        assert article.url in everything and article.url not in shallow
    others = {a.url for a in web.articles} - {web.feed_only.url, web.sitemap_only.url}
    assert others <= everything
    assert set(web.non_articles) <= _crawl_links(web, skip_deep_pages=False)


def test_update_article_changes_the_served_page() -> None:
    with FixtureWeb() as fresh:
        before = fresh.article("river-treaty-talks")
        _, headers, _ = fetch(before.url)
        new = (*before.paragraphs[:-1], "The talks collapsed late on Friday without a deal.")
        after = fresh.update_article("river-treaty-talks", new)
        assert after.paragraphs == new and fresh.article("river-treaty-talks") == after
        status, changed, body = fetch(before.url, {"If-None-Match": headers["ETag"]})
        assert status == 200 and changed["ETag"] != headers["ETag"]
        assert new[-1] in _paragraph_texts(body)
        assert before.paragraphs[-1] not in _paragraph_texts(body)
        assert changed["Last-Modified"] != headers["Last-Modified"]


def test_request_log(web: FixtureWeb) -> None:
    web.clear_log()
    fetch(web.base_url(0) + "/world/?page=2", {"User-Agent": "fixture-test"})
    fetch(web.base_url(1) + "/about/")
    assert web.fetched_paths(0) == ["/world/?page=2"]
    assert web.fetched_paths("partner") == web.fetched_paths("127.0.0.2") == ["/about/"]
    host, method, path, headers = web.requests[0]
    assert (host, method, path) == ("127.0.0.1", "GET", "/world/?page=2")
    assert headers["User-Agent"] == "fixture-test"
    web.clear_log()
    assert web.requests == []
