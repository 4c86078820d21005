"""``render = "browser"``: a site whose articles are written by JavaScript, crawled through the
system's Chromium beside a plain site, archived raw and rendered, replayed offline, and every
request of the browser held to the private-address rule (tests/jsweb.py is the web)."""

from __future__ import annotations

import asyncio
import io
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.config import ConfigError, parse_config
from archive.local import LocalStorage
from archive.warc import RENDERED_FIELD
from testkit.chromium import browser_missing
from tests.crawlrun import Archive, read_records, read_reports, run_cli, warc_keys
from tests.jsweb import COURIER, LANTERN, JsWeb
from tests.test_crawl import crawl

MISSING = browser_missing()
needs_browser = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


def write_config(path: Path, web: JsWeb, archive: Archive, extra_crawl: str = "") -> Path:
    """The Lantern Post rendered, the Courier plain; the intranet (127.0.0.3) not allowed."""
    path.write_text(f"""
[archive]
uri = "{archive.uri}"
spool_dir = "{path.parent / 'spool'}"

[crawl]
user_agent = "newsarchive-test (+https://example.org/bot)"
allowed_networks = ["127.0.0.1/32", "127.0.0.2/32"]
download_delay = 0
extract_workers = 1
{extra_crawl}

[[sites]]
name = "lantern"
start_urls = ["{web.url(0, '/')}"]
article_urls = ["/2026/"]
render = "browser"
headers = {{ "X-Edition" = "north" }}
cookies = {{ consent = "yes" }}

[[sites]]
name = "courier"
start_urls = ["{web.url(1, '/')}"]
article_urls = ["/2026/"]
""")
    return path


@dataclass
class Crawled:
    web: JsWeb
    archive: Archive
    config: Path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """One crawl of both sites into a local archive; the tests only read it. The web stays
    up, counting requests: replay must send it none."""
    if MISSING is not None:
        pytest.skip(MISSING)
    tmp = tmp_path_factory.mktemp("render")
    archive = Archive(str(tmp / "archive"), LocalStorage(tmp / "archive"), {})
    with JsWeb() as web:
        config = write_config(tmp / "news.toml", web, archive)
        crawl(config, archive)
        yield Crawled(web, archive, config)


def _records(storage: LocalStorage) -> dict[str, dict]:
    return {record["title"]: record for record in read_records(storage)}


def _warc_records(storage: LocalStorage, site: str) -> list:
    """(type, target URI, WARC headers, content) of every record in the site's WARC files,
    read with warcio checking every digest."""
    found = []
    for key in warc_keys(storage):
        if f"site={site}/" not in key:
            continue
        with storage.open_read(key) as stream:
            for record in ArchiveIterator(io.BytesIO(stream.read()), check_digests="raise"):
                found.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI"),
                              record.rec_headers, record.content_stream().read()))
    return found


@needs_browser
def test_a_rendered_site_is_archived_with_the_text_its_scripts_write(crawled: Crawled) -> None:
    records = _records(crawled.archive.storage)
    for story in LANTERN:
        record = records[story.headline]
        assert record["site"] == "lantern"
        assert record["text"].split("\n") == list(story.paragraphs)
        assert record["author"] == story.author
        assert record["published"].startswith(story.published)
    # the page itself was fetched once, by Scrapy: the browser got that body, not a second copy
    paths = [path for path, _ in crawled.web.requests(0)]
    for story in LANTERN:
        assert paths.count(story.path) == 1
        assert paths.count(f"/api/stories/{story.slug}.json") == 1
    # images are not fetched for a rendering
    assert "/static/harbour.jpg" not in paths


@needs_browser
def test_the_warc_holds_the_raw_response_and_the_rendered_dom_beside_it(
        crawled: Crawled) -> None:
    records = _records(crawled.archive.storage)
    warc = _warc_records(crawled.archive.storage, "lantern")
    by_id = {headers.get_header("WARC-Record-ID"): (kind, uri, content)
             for kind, uri, headers, content in warc}
    for story in LANTERN:
        record = records[story.headline]
        url = crawled.web.url(0, story.path)
        # the record's pointer is the raw response: the shell as served, without the story
        member = crawled.archive.storage.read_range(
            record["warc_filename"], record["warc_offset"], record["warc_length"])
        raw = next(iter(ArchiveIterator(io.BytesIO(member))))
        assert raw.rec_type == "response"
        assert raw.http_headers.get_header("Content-Encoding") == "gzip"  # as sent
        shell = raw.content_stream().read().decode()
        assert story.headline in shell and story.paragraphs[0] not in shell
        [(kind, uri, headers, dom)] = [w for w in warc if w[0] == "conversion" and w[1] == url]
        assert headers.get_header("Content-Type") == "text/html; charset=utf-8"
        assert headers.get_header(RENDERED_FIELD).startswith("Chromium ")
        refers = by_id[headers.get_header("WARC-Refers-To")]
        assert refers[:2] == ("response", url)
        assert headers.get_header("WARC-Date") == raw.rec_headers.get_header("WARC-Date")
        assert all(p in dom.decode("utf-8") for p in story.paragraphs)


@needs_browser
def test_a_plain_site_in_the_same_crawl_is_fetched_without_the_browser(
        crawled: Crawled) -> None:
    record = _records(crawled.archive.storage)[COURIER.headline]
    assert record["text"].split("\n") == list(COURIER.paragraphs)
    # nothing of its pages ran: their script was never asked for, no DOM was recorded
    courier = [path for path, _ in crawled.web.requests(1) if not path.startswith("/cdn/")]
    assert courier == ["/robots.txt", "/", COURIER.path]
    kinds = {kind for kind, *_ in _warc_records(crawled.archive.storage, "courier")}
    assert kinds == {"warcinfo", "request", "response"}
    # robots.txt of the rendered site came through Scrapy too, not the browser
    lantern = crawled.web.requests(0)
    [(_, robots_headers)] = [(p, h) for p, h in lantern if p == "/robots.txt"]
    assert not any(name.lower().startswith("sec-") for name in robots_headers)
    # and the browser's requests say who is asking, as the crawl's do
    assert all(value.startswith("newsarchive-test") for _, headers in lantern
               for name, value in headers.items() if name.lower() == "user-agent")


@needs_browser
def test_the_sites_headers_and_cookies_go_with_the_browsers_requests_to_it_only(
        crawled: Crawled) -> None:
    def sent(headers: dict[str, str], name: str) -> str:
        return next((v for k, v in headers.items() if k.lower() == name.lower()), "")

    data = [h for path, h in crawled.web.requests(0) if path.startswith("/api/stories/")]
    assert len(data) == len(LANTERN)
    assert all(sent(h, "X-Edition") == "north" and "consent=yes" in sent(h, "Cookie")
               for h in data)
    # the script the pages load from another host (a CDN) gets neither
    cdn = [h for path, h in crawled.web.requests(1) if path.startswith("/cdn/")]
    assert len(cdn) == len(LANTERN)
    assert not any(sent(h, "X-Edition") or sent(h, "Cookie") for h in cdn)


@needs_browser
def test_the_browser_never_reaches_a_private_address_and_counts_each_refusal(
        crawled: Crawled) -> None:
    # the intranet was asked nothing: neither the script on it nor the redirect hop to it
    assert crawled.web.requests(2) == []
    [report] = read_reports(crawled.archive.storage)
    lantern = report["sites"]["lantern"]
    assert lantern["errors"]["blocked_private_address"] == 2 * len(LANTERN)
    refused = {e["url"] for e in report["error_examples"]
               if e["kind"] == "blocked_private_address"}
    assert refused == {crawled.web.url(2, "/intranet/tracker.js"),
                       crawled.web.url(2, "/intranet/widget.js")}
    # a same-site redirect of a script was followed (the text proves it ran): the hop to the
    # intranet was refused for where it leads, not because redirects are
    assert "/static/story.7f3a.js" in [path for path, _ in crawled.web.requests(0)]
    assert report["sites"]["courier"]["errors"] == {}


@needs_browser
def test_replay_rebuilds_the_rendered_records_offline(crawled: Crawled,
                                                      tmp_path: Path) -> None:
    live = read_records(crawled.archive.storage)
    [day] = {r["fetched_at"][:10] for r in live}
    output = tmp_path / "replayed"
    before = len(crawled.web.requests(0)) + len(crawled.web.requests(1))
    # no browser either: replay reads the DOM the live crawl rendered
    offline = tmp_path / "offline.toml"
    offline.write_text(crawled.config.read_text().replace(
        "[crawl]", '[crawl]\nbrowser_executable = "/nonexistent/chromium"'))
    result = run_cli("replay", "--date", day, "--config", str(offline), "--output",
                     str(output), env=crawled.archive.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(crawled.web.requests(0)) + len(crawled.web.requests(1)) == before
    replayed = read_records(LocalStorage(output))

    def essence(records: list[dict]) -> set[tuple]:
        return {(r["id"], r["url"], r["title"], r["text"], r["content_hash"], r["version"])
                for r in records}
    assert essence(replayed) == essence(live)
    assert {r["title"] for r in replayed} >= {s.headline for s in LANTERN}


def test_without_a_browser_rendered_pages_are_archived_raw_and_counted(
        tmp_path: Path) -> None:
    """Runs everywhere: Chromium's path is one that does not exist."""
    archive = Archive(str(tmp_path / "archive"), LocalStorage(tmp_path / "archive"), {})
    with JsWeb() as web:
        config = write_config(tmp_path / "news.toml", web, archive,
                              'browser_executable = "/nonexistent/chromium"')
        # an article among the start pages: its links are in the home page's DOM only
        article = web.url(0, LANTERN[0].path)
        config.write_text(config.read_text().replace(
            f'start_urls = ["{web.url(0, "/")}"]', f'start_urls = ["{web.url(0, "/")}", '
                                                   f'"{article}"]'))
        result = run_cli("crawl", "--config", str(config), env=archive.env)
    assert "render_failed" in result.stdout, result.stdout + result.stderr
    assert "/nonexistent/chromium" in result.stderr
    records = _records(archive.storage)
    # no record from an unrendered shell; the plain site is archived as ever
    assert set(records) == {COURIER.headline}
    [report] = read_reports(archive.storage)
    lantern = report["sites"]["lantern"]
    # its start pages fetched and archived raw, each counted
    assert lantern["errors"] == {"render_failed": 2}
    assert lantern["pages_fetched"] == 3  # robots.txt, the home page, the article
    warc = _warc_records(archive.storage, "lantern")
    assert "conversion" not in [kind for kind, *_ in warc]
    [raw] = [headers for kind, uri, headers, _ in warc if kind == "response" and uri == article]
    assert "/nonexistent/chromium" in raw.get_header("Newsarchive-Render-Failed")
    # replay makes no record of it either (the shell is not the page)
    day = report["started_at"][:10]
    result = run_cli("replay", "--date", day, "--config", str(config), "--output",
                     str(tmp_path / "replayed"), env=archive.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(_records(LocalStorage(tmp_path / "replayed"))) == {COURIER.headline}


def test_render_is_http_or_browser() -> None:
    text = '[[sites]]\nname = "a"\nstart_urls = ["https://a.example/"]\nrender = "{}"\n'
    assert parse_config(text.format("browser")).sites[0].renders
    assert not parse_config(text.format("http")).sites[0].renders
    assert not parse_config(text.replace('render = "{}"\n', "")).sites[0].renders
    with pytest.raises(ConfigError) as caught:
        parse_config(text.format("chrome"), "news.toml")
    message = str(caught.value)
    assert message.startswith("news.toml: sites[0] (a).render:") and "\n" not in message
    assert "'http'" in message and "'browser'" in message
    with pytest.raises(ConfigError, match="render_concurrency"):
        parse_config("[crawl]\nrender_concurrency = 0\n")
    with pytest.raises(ConfigError, match="browser_executable"):
        parse_config('[crawl]\nbrowser_executable = "chromium"\n')


@needs_browser
def test_pywb_reads_a_rendered_sites_warc_and_our_index_keeps_the_raw_capture(
        crawled: Crawled) -> None:
    """pywb's indexer opens the file and lists our index's lines, plus one line a rendered
    page for the conversion record (no HTTP status), which our index leaves out so that a
    wayback replays the page as it was served."""
    from archive import keys
    from testkit.pywb import installed_pywb
    from tests.test_pywb import PYWB_VENV, _parsed, pywb_index

    root = Path(crawled.archive.uri)
    [warc] = [key for key in warc_keys(crawled.archive.storage) if "site=lantern/" in key]
    ours = _parsed(crawled.archive.storage.get_bytes(keys.cdxj_key_for(warc)).decode()
                   .splitlines())
    theirs = _parsed(pywb_index(installed_pywb(PYWB_VENV), root, warc))
    extra = [entry for entry in theirs if entry not in ours]
    assert [entry for entry in theirs if entry in ours] == ours
    # the home page and both articles were rendered
    assert sorted(fields["url"] for _, _, fields in extra) == sorted(
        crawled.web.url(0, path) for path in ("/", *(s.path for s in LANTERN)))
    assert all("status" not in fields and fields["mime"] == "text/html"
               for _, _, fields in extra)


class _Stats:
    """Scrapy's stats interface, as much as the browser uses."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


@needs_browser
def test_a_page_whose_script_navigates_away_is_rendered_as_itself(tmp_path: Path) -> None:
    """The browser used directly (no crawl): a page that sends the browser elsewhere keeps
    its own DOM, the other page is never asked for, and after Chromium is gone (closed here,
    as a crash would) the next page starts a new one."""
    from crawler.browser import Browser, PageToRender
    from crawler.errors import ErrorLog

    with JsWeb() as web:
        url = web.url(0, "/2026/11/moved-on/")
        with urllib.request.urlopen(url) as answer:  # loopback
            page = PageToRender("lantern", url, 200, {"Content-Type": "text/html"},
                                answer.read())
        stats = _Stats()
        config = parse_config(f'[[sites]]\nname = "lantern"\nstart_urls = ["{web.url(0, "/")}"]\n'
                              'render = "browser"\n')
        browser = Browser(config, ErrorLog(), stats)

        async def twice() -> list[bytes]:
            try:
                first = await browser.render(page)
                assert browser._browser is not None
                await browser._browser.close()
                return [first.html, (await browser.render(page)).html]
            finally:
                await browser.close()

        doms = asyncio.run(twice())
    assert doms[0] == doms[1] and b"This page stays." in doms[0]
    assert "/2026/11/elsewhere/" not in [path for path, _ in web.requests(0)]
    assert stats.values["newsarchive/lantern/render/navigation_refused"] == 2


@needs_browser
def test_an_import_into_a_rendered_site_never_starts_the_browser(crawled: Crawled,
                                                                 tmp_path: Path) -> None:
    """Captures imported for a render = "browser" site are read as archived: a browser would
    fetch their scripts and data from the network, which an import never touches."""
    target = Archive(str(tmp_path / "archive"), LocalStorage(tmp_path / "archive"), {})
    config = tmp_path / "news.toml"
    config.write_text(crawled.config.read_text().replace(crawled.archive.uri, target.uri))
    [warc] = [key for key in warc_keys(crawled.archive.storage) if "site=lantern/" in key]
    before = len(crawled.web.requests(0))
    result = run_cli("import", "--config", str(config), "--site", "lantern",
                     str(Path(crawled.archive.uri) / warc), env=target.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(crawled.web.requests(0)) == before  # the web is up: nothing asked it
    assert "render_failed" not in result.stdout and "chromium" not in result.stderr.lower()
    kinds = {kind for kind, *_ in _warc_records(target.storage, "lantern")}
    assert "conversion" not in kinds
