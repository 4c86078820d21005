"""Hostile input: broken markup, wrong charsets, oversized and compressed bombs, XML bombs and
XXE, sitemap loops, malformed and enormous feeds, JavaScript-only pages, markup nested past the
parser's depth limit and odd URLs.

One real crawl (`newsarchive crawl`) of two loopback sites serving the corpus in
``tests/hostile/`` and content built at test time (the 50 MB pages, the gzip bomb, the feed of
100,000 items, a story inside 20,000 nested <div>s: never committed). Each bad input must be
counted in the run report under a clear kind, with its URL among the error examples, and logged
with its URL; the good pages of the same site must be archived, once each; the crawl's memory
must stay bounded.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from archive.local import LocalStorage
from crawler.urls import normalize_url
from tests.crawlrun import read_records, read_reports, run_cli
from tests.hostileweb import (
    CORPUS,
    Exchange,
    HostileWeb,
    article_html,
    assert_archive_complete,
    gzip_bomb,
    story,
    stream,
)

DAY = "/news/2026/05/03/"
BIG_FEED_ITEMS = 100_000
PAGE_BUDGET = 40
MAX_RSS_MIB = 400  # the crawl, its extraction workers included; a 50 MB page must not count

# corpus pages that must become records: path -> (file, Content-Type, words the text must hold)
GOOD = {
    f"{DAY}broken-markup-still-makes-a-story.html":
        ("broken.html", "text/html", "south landing"),
    f"{DAY}a-page-cut-off-mid-sentence-story.html":
        ("truncated.html", "text/html", "gritting lorries"),
    f"{DAY}cafe-owners-face-a-naive-rule.html":
        ("cp1252-declared-utf8.html", "text/html; charset=utf-8", "café on the corner – famous"),
    f"{DAY}shift-jis-harbour-wall-story.html":
        ("shift_jis.html", "text/html", "防波堤"),
    f"{DAY}tide-tables-in-utf-16-with-bom.html":
        ("utf16-bom.html", "text/html", "tide tables"),
    f"{DAY}zoe-and-the-queue-at-the-bakery.html":
        ("no-charset-utf8.html", "text/html", "Zoë Müller"),
}
LISTED = f"{DAY}story-listed-only-in-a-broken-feed.html"
SPACES = f"{DAY}a story with spaces in its name.html"
UNICODE = f"{DAY}größe-überall-café-niño-story.html"
LONG = f"{DAY}long-" + "word-" * 250 + "end.html"
TOO_LONG = f"{DAY}too-long-" + "word-" * 800 + "end.html"
JS_ONLY = f"{DAY}javascript-only-story-renders-nothing.html"
# Windows-1252 with no charset anywhere: decoded as Scrapy guesses it, never as UTF-8
UNDECLARED_CP1252 = f"{DAY}the-creperie-on-the-quay-reopens.html"
CP1252_WORDS = "the crêpe stall by the café façade"
# an article inside 20,000 nested <div>s: past the HTML parser's 256 levels, so flattened
DEEP = f"{DAY}story-wrapped-in-twenty-thousand-divs.html"
DEEP_WORDS = "discuss deeply nested markup"
# path -> the kind the report must count it under
BAD = {
    f"{DAY}fifty-megabytes-declared-length.html": "too_large",
    f"{DAY}fifty-megabytes-streamed-no-length.html": "too_large",
    f"{DAY}gzip-bomb-inflates-to-gigabytes.html": "too_large",
    "/sitemap-bomb.xml": "bad_sitemap",
    "/sitemap-xxe.xml": "bad_sitemap",
    "/sitemap-self.xml": "bad_sitemap",
    "/feed-malformed.xml": "bad_feed",
    JS_ONLY: "empty",
    DEEP: "too_deeply_nested",
    f"{DAY}cafe-owners-face-a-naive-rule.html": "bad_encoding",
}


@dataclass
class Crawl:
    root: Path
    web: HostileWeb
    report: dict[str, Any]
    records: list[dict[str, Any]]
    stderr: str
    stdout: str
    maxrss_mib: float


def _corpus(name: str, content_type: str, base: str) -> Callable[[Exchange], None]:
    data = (CORPUS / name).read_bytes()
    if name.endswith(".xml"):
        data = data.replace(b"{BASE}", base.encode())
    return lambda ex: ex.send(data, content_type)


def _hostile_routes(web: HostileWeb) -> None:
    base = web.url("")
    links = [*GOOD, SPACES, UNICODE, LONG, TOO_LONG, JS_ONLY, UNDECLARED_CP1252,
             *(p for p in BAD if p.startswith(DAY))]
    home = "".join(f'<li><a href="{p}">{p[:60]}</a></li>' for p in links)
    web.routes["/"] = lambda ex: ex.send(
        f'<html><head><meta charset="utf-8"></head><body><ul>{home}</ul></body></html>'
        .encode())
    web.routes["/robots.txt"] = lambda ex: ex.send(b"User-agent: *\nAllow: /\n", "text/plain")
    for path, (name, content_type, _) in GOOD.items():
        web.routes[path] = _corpus(name, content_type, base)
    web.routes[JS_ONLY] = _corpus("js-only.html", "text/html; charset=utf-8", base)
    paragraphs = [f"{p} Regulars said {CP1252_WORDS} was déjà vu, à la française."
                  for p in story("the crêperie on the quay")]
    cp1252 = article_html("Crêperie reopens on the quay", paragraphs, charset=None)
    web.routes[UNDECLARED_CP1252] = lambda ex: ex.send(cp1252.encode("cp1252"), "text/html")
    deep = _nested(article_html("Twenty thousand wrappers", story("deeply nested markup")),
                   20_000).encode()
    web.routes[DEEP] = lambda ex: ex.send(deep)
    for path, topic in ((LISTED, "a story only a broken feed lists"),
                        (SPACES, "a file name with spaces"), (UNICODE, "accented file names"),
                        (LONG, "very long addresses")):
        body = article_html(topic.capitalize(), story(topic)).encode()
        web.routes[path] = lambda ex, b=body: ex.send(b)
    web.routes["/sitemap-bomb.xml"] = _corpus("xml-bomb.xml", "application/xml", base)
    web.routes["/sitemap-xxe.xml"] = _corpus("xxe-sitemap.xml", "application/xml", base)
    web.routes["/sitemap-self.xml"] = _corpus("self-index.xml", "application/xml", base)
    web.routes["/feed-malformed.xml"] = _corpus("malformed-rss.xml", "application/rss+xml", base)
    big = [p for p in BAD if p.startswith(DAY) and "megabytes" in p]
    fifty = 50 * 1024 * 1024
    web.routes[big[0]] = lambda ex: stream(ex, fifty, b"x" * 65536, content_length=True)
    web.routes[big[1]] = lambda ex: stream(ex, fifty, b"x" * 65536, content_length=False)
    bomb = gzip_bomb()
    web.routes[f"{DAY}gzip-bomb-inflates-to-gigabytes.html"] = lambda ex: ex.send(
        bomb, "text/html", headers=(("Content-Encoding", "gzip"),))


def _nested(page: str, levels: int) -> str:
    """The page with its whole body wrapped in ``levels`` nested <div>s."""
    head, body = page.split("<body>", 1)
    inner = body.rsplit("</body>", 1)[0]
    return f"{head}<body>{'<div>' * levels}{inner}{'</div>' * levels}</body></html>"


def _big_feed(web: HostileWeb) -> bytes:
    base = web.url("", host="127.0.0.2")
    items = "".join(f"<item><link>{base}/news/2026/05/04/big-feed-item-{n}-of-many.html"
                    f"</link></item>\n" for n in range(BIG_FEED_ITEMS))
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'.encode()


def _bigfeed_routes(web: HostileWeb) -> None:
    feed = _big_feed(web)
    web.routes["/big-feed.xml"] = lambda ex: ex.send(feed, "application/rss+xml")
    body = article_html("An item of the big feed", story("the big feed")).encode()

    def default(ex: Exchange) -> None:
        if ex.path.startswith("/news/2026/05/04/big-feed-item-"):
            ex.send(body)
        else:
            ex.send(b"not here", "text/plain", "404 Not Found")
    web.default = default


def _config(path: Path, root: Path, web: HostileWeb) -> Path:
    hostile = {"name": "hostile", "start_urls": [web.url("/")],
               "feeds": [web.url("/feed-malformed.xml")],
               "sitemaps": [web.url(p) for p in ("/sitemap-bomb.xml", "/sitemap-xxe.xml",
                                                 "/sitemap-self.xml")]}
    bigfeed = {"name": "bigfeed", "start_urls": [], "feeds": [web.url("/big-feed.xml",
                                                                      host="127.0.0.2")]}
    lines = ["[archive]", f'uri = "{root / "archive"}"', f'spool_dir = "{root / "spool"}"', "",
             "[crawl]", "allow_private_networks = true", "download_delay = 0",
             "concurrent_requests_per_domain = 8", "extract_workers = 2",
             f"max_pages_per_site = {PAGE_BUDGET}", ""]
    for site in (hostile, bigfeed):
        lines += ["[[sites]]", *(f"{k} = {json.dumps(v)}" for k, v in site.items()),
                  "follow_depth = 1", ""]
    path.write_text("\n".join(lines))
    return path


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    root = tmp_path_factory.mktemp("hostile")
    with HostileWeb() as web:
        _hostile_routes(web)
        _bigfeed_routes(web)
        config = _config(root / "news.toml", root, web)
        result = run_cli(sys.executable, "-m", "newsarchive", "crawl", "--config", str(config),
                         module="tests.maxrss", timeout=180)
        storage = LocalStorage(root / "archive")
        [report] = read_reports(storage)
        peak = int(result.stderr.rsplit("maxrss_kib=", 1)[1].split()[0]) / 1024
        yield Crawl(root, web, report, read_records(storage), result.stderr, result.stdout, peak)
        assert result.returncode == 0, result.stderr[-3000:]


def _url(crawl: Crawl, path: str, host: str = "127.0.0.1") -> str:
    """The URL as the crawler requests and reports it (percent-encoded)."""
    return normalize_url(crawl.web.url(path, host))


def test_each_bad_input_is_counted_with_its_url_and_logged(crawl: Crawl) -> None:
    examples = {(e["kind"], e["url"]) for e in crawl.report["error_examples"]}
    for path, kind in BAD.items():
        url = _url(crawl, path)
        assert (kind, url) in examples, (path, crawl.report["sites"]["hostile"]["errors"])
        assert url in crawl.stderr, f"{url} not logged"
    errors = crawl.report["sites"]["hostile"]["errors"]
    assert errors["too_large"] == 3 and errors["bad_sitemap"] >= 3
    assert crawl.report["sites"]["hostile"]["articles"]["empty"] == 1
    [too_long] = [e for e in crawl.report["error_examples"] if e["kind"] == "url_too_long"]
    assert too_long["url"].startswith(_url(crawl, TOO_LONG)[:150])
    assert not any("too-long-" in p for p in crawl.web.paths())
    assert crawl.report["finish_reason"] == "finished"
    assert "errors:" in crawl.stdout and "too_large 3" in crawl.stdout


def test_the_good_pages_of_the_same_site_are_archived_once(crawl: Crawl) -> None:
    by_url: dict[str, dict[str, Any]] = {}
    for record in crawl.records:
        assert record["url"] not in by_url, f"duplicate record for {record['url']}"
        by_url[record["url"]] = record
    for path, (_, _, words) in GOOD.items():
        record = by_url.get(_url(crawl, path))
        assert record is not None, f"{path} not archived"
        assert words in record["text"] and "\ufffd" not in record["text"], record["text"]
    for path in (LISTED, SPACES, UNICODE, LONG):
        assert _url(crawl, path) in by_url, f"{path} not archived"
    cp1252_text = by_url[_url(crawl, UNDECLARED_CP1252)]["text"]
    assert CP1252_WORDS in cp1252_text and "\ufffd" not in cp1252_text
    # flattened, and read like any page: headline, then the story's paragraphs
    deep = by_url[_url(crawl, DEEP)]
    assert deep["title"] == "Twenty thousand wrappers"
    assert deep["text"].startswith("The council met") and DEEP_WORDS in deep["text"]
    hostile = [r for r in crawl.records if r["site"] == "hostile"]
    assert len(hostile) == len(GOOD) + 6


def test_nothing_partial_or_left_behind(crawl: Crawl) -> None:
    """Every record points at its own response in a complete WARC; no temp or spool leftovers."""
    assert_archive_complete(crawl.root, crawl.records)


def test_xml_bombs_and_external_entities_are_never_expanded_nor_fetched(crawl: Crawl) -> None:
    assert "/secret-xxe-target" not in crawl.web.paths()
    assert "lollollol" not in json.dumps(crawl.report)
    assert not any("root:x:0" in r["text"] for r in crawl.records)
    for path in ("/sitemap-bomb.xml", "/sitemap-xxe.xml"):
        [example] = [e for e in crawl.report["error_examples"] if e["url"] == _url(crawl, path)]
        assert "declares XML entities" in example["message"]


def test_a_feed_of_100000_items_stays_within_the_page_budget(crawl: Crawl) -> None:
    fetched = [p for p in crawl.web.paths("127.0.0.2") if p != "/robots.txt"]
    assert len(fetched) <= PAGE_BUDGET
    site = crawl.report["sites"]["bigfeed"]
    assert site["skipped_max_pages"] > 0
    # the rest of the 50,000 entries read were never queued (the queue holds 2 x the budget)
    assert site["skipped_queue_full"] == 50_000 - 2 * PAGE_BUDGET
    assert site["errors"]["bad_feed"] == 1  # more than 50,000 entries: the rest ignored
    assert site["records_written"] >= 1


def test_memory_stays_bounded(crawl: Crawl) -> None:
    # 50 MB pages, a 2 GiB gzip bomb and a 12 MB feed of 100,000 items in one crawl
    assert crawl.maxrss_mib < MAX_RSS_MIB, crawl.maxrss_mib
