"""Issue 15's record fields and bot walls: lead image and caption, description, tags, modified,
access, and challenge / consent pages served with status 200.

Real crawls (`newsarchive crawl`, then `newsarchive dump`) of a loopback site serving
fictional pages; the wall detector also runs over every page of the dev sets, the fixture web
and the hostile corpus, where it must find nothing.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from archive.local import LocalStorage
from archive.records import OPTIONAL_FIELDS
from archive.run_reports import SiteRun
from crawler.alerts import site_alerts
from crawler.walls import Wall, find_wall
from pipelines.extraction import _parse, decode_html, read_page
from tests.crawlrun import read_records, read_reports, run_cli, warc_target_uris
from tests.fixtureweb import FixtureWeb
from tests.hostileweb import CORPUS, Exchange, HostileWeb, story
from tests.test_webhook import Hook

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DAY = "/news/2026/05/03/"
KEEPER = f"{DAY}lighthouse-keeper-retires-after-forty-winters.html"
TOLL = f"{DAY}harbour-toll-plan-explained-for-members.html"
PLAIN = f"{DAY}bakery-queue-reaches-the-bridge.html"
CONSENT = f"{DAY}ferry-timetable-changes-for-winter.html"
CHALLENGE = f"{DAY}market-hall-roof-repairs-begin.html"
WALLS = (CONSENT, CHALLENGE)
TOWN = "/town/"  # a section page, not an article
SECTIONS = "/sections/"  # a listing page with a newsletter CAPTCHA: not a wall

KEEPER_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Lighthouse keeper retires after forty winters | Coastal Echo</title>
<meta property="og:site_name" content="Coastal Echo"><meta property="og:type" content="article">
<meta property="og:image" content="/media/keeper-gallery-1200.jpg">
<meta name="description"
 content="The keeper of Gullrock light hands the keys to the harbour board.">
<meta property="article:section" content="Coast">
<meta property="article:tag" content="Lighthouses"><meta property="article:tag" content="coast">
<meta property="article:modified_time" content="2026-05-03T16:40:00+0200">
<script type="application/ld+json">{"@type": "NewsArticle", "headline":
 "Lighthouse keeper retires after forty winters", "datePublished": "2026-05-03T08:00:00+02:00",
 "keywords": "retirement, Gullrock"}</script></head><body>
<header><nav><a href="/">Home</a> <a href="/coast/">Coast</a></nav></header>
<main><article><h1>Lighthouse keeper retires after forty winters</h1>
<figure><img src="/media/keeper-gallery-640.jpg" alt="">
<figcaption>Marten Oyelaran on the gallery of Gullrock light at dawn, his last morning on
duty.</figcaption></figure>
<p>For forty winters Marten Oyelaran climbed the hundred and twelve steps of the Gullrock light
every evening, and on Friday he climbed them for the last time before the lamp goes automatic.</p>
<p>The harbour board will turn the keeper's cottage into a small museum, run by volunteers from
the village, with his logbooks and the brass barometer that hung by the door for decades.</p>
<p>"I will miss the storms most of all," he said, standing by the rail as the evening ferry
passed below on its way out to the islands, its deck lights bright against the grey water.</p>
</article></main><footer>Coastal Echo</footer></body></html>"""

TOLL_PAGE = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Harbour toll plan explained</title><meta property="og:type" content="article">
<script type="application/ld+json">{{"@type": "NewsArticle", "headline":
 "Harbour toll plan explained", "isAccessibleForFree": "False", "hasPart": {{"@type":
 "WebPageElement", "isAccessibleForFree": "False", "cssSelector": ".members-only"}}}}</script>
</head><body><main><article><h1>Harbour toll plan explained</h1>
{"".join(f"<p>{p}</p>" for p in story("the new harbour toll"))}
<div class="members-only"><p>The rest of this explainer is for members of the Coastal Echo.</p>
</div></article></main></body></html>"""

PLAIN_PAGE = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Bakery queue reaches the bridge</title><meta property="og:type" content="article"></head>
<body><main><article><h1>Bakery queue reaches the bridge</h1>
{"".join(f"<p>{p}</p>" for p in story("the bakery's new opening hours"))}</article></main>
</body></html>"""

# a consent manager's wall: the site's header and footer, a dialog, no article
CONSENT_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Coastal Echo</title><meta name="robots" content="noindex"></head><body>
<header><nav><a href="/">Home</a> <a href="/coast/">Coast</a> <a href="/town/">Town</a></nav>
</header><div id="sp_message_container_4411"><div class="message">
<h2>We value your privacy</h2><p>We and our partners store and access information on your
device, such as cookies, and process personal data, such as unique identifiers and standard
information sent by a device, for personalised advertising and content, advertising and
content measurement, audience research and services development. You may click to consent to
our and our partners' processing as described above, or to refuse consent.</p>
<button>Accept all</button><button>Reject all</button></div></div>
<footer><a href="/privacy/">Privacy</a> <a href="/contact/">Contact</a></footer></body></html>"""

# a bot-defence vendor's challenge page, as a CDN serves it with status 200
CHALLENGE_PAGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta name="robots" content="noindex,nofollow"></head><body><div class="main-wrapper">
<h1>coastal-echo.example</h1><p id="challenge-body-text">Verify you are human by completing the
action below. The site needs to review the security of your connection before proceeding.</p>
<form id="challenge-form" action="/market-hall?__cf_chl_f_tk=Qx81" method="POST">
<input type="hidden" name="md" value="a1b2"></form>
<script>window._cf_chl_opt = {cType: 'managed', cRay: '8f1e'};</script></div></body></html>"""


def _home() -> bytes:
    links = "".join(f'<li><a href="{p}">story</a></li>'
                    for p in (KEEPER, TOLL, PLAIN, CONSENT, CHALLENGE, TOWN, SECTIONS))
    return (f"<!DOCTYPE html><html><head><title>Coastal Echo</title></head><body><ul>{links}"
            "</ul></body></html>").encode()


class WallWeb(HostileWeb):
    """The site; ``walls_up`` False serves ordinary articles at the wall URLs."""

    walls_up = True

    def serve(self) -> None:
        pages = {KEEPER: KEEPER_PAGE, TOLL: TOLL_PAGE, PLAIN: PLAIN_PAGE}
        walled = {CONSENT: CONSENT_PAGE, CHALLENGE: CHALLENGE_PAGE}
        self.routes["/"] = lambda ex: ex.send(_home())
        self.routes[SECTIONS] = lambda ex: ex.send(_home().replace(
            b"</ul>", b'</ul><form action="/newsletter"><div class="g-recaptcha" '
                      b'data-sitekey="k"></div></form><script src="https://www.google.com'
                      b'/recaptcha/api.js"></script>'))
        self.routes[TOWN] = lambda ex: ex.send(CHALLENGE_PAGE.encode() if self.walls_up else
                                               b"<html><body><h1>Town</h1></body></html>")
        for path, page in pages.items():
            self.routes[path] = lambda ex, page=page: ex.send(page.encode())
        for path, page in walled.items():
            self.routes[path] = lambda ex, path=path, page=page: self._wall(ex, path, page)
        self.default = lambda ex: ex.send(b"not here", "text/plain", "404 Not Found")

    def _wall(self, ex: Exchange, path: str, page: str) -> None:
        if self.walls_up:
            ex.send(page.encode())
        else:
            title = path.rsplit("/", 1)[1].removesuffix(".html").replace("-", " ")
            paragraphs = "".join(f"<p>{p}</p>" for p in story(title))
            ex.send(f"<!DOCTYPE html><html><head><title>{title}</title><meta property="
                    f'"og:type" content="article"></head><body><article><h1>{title}</h1>'
                    f"{paragraphs}</article></body></html>".encode())


def _config(root: Path, web: WallWeb, hook: Hook | None = None) -> Path:
    lines = ["[archive]", f'uri = "{root / "archive"}"', f'spool_dir = "{root / "spool"}"', "",
             "[crawl]", "allow_private_networks = true", "download_delay = 0",
             "extract_workers = 1", ""]
    if hook is not None:
        lines += ["[alerts]", f'webhook_url = "http://127.0.0.1:{hook.port}/hook"', ""]
    lines += ["[[sites]]", 'name = "coastal"', f"start_urls = {json.dumps([web.url('/')])}",
              "follow_depth = 1", ""]
    path = root / "news.toml"
    path.write_text("\n".join(lines))
    return path


def _crawl(config: Path) -> str:
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@dataclass
class Crawl:
    root: Path
    web: WallWeb
    storage: LocalStorage
    records: dict[str, dict]
    report: dict
    summary: str  # what the crawl printed


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    root = tmp_path_factory.mktemp("walls")
    with WallWeb() as web:
        web.serve()
        config = _config(root, web)
        summary = _crawl(config)
        storage = LocalStorage(root / "archive")
        records = {r["url"].split(str(web.port), 1)[1]: r for r in read_records(storage)}
        [report] = read_reports(storage)
        yield Crawl(root, web, storage, records, report, summary)


def test_records_carry_image_caption_description_tags_modified(crawled: Crawl) -> None:
    keeper = crawled.records[KEEPER]
    assert keeper["image"] == crawled.web.url("/media/keeper-gallery-1200.jpg")
    assert keeper["image_caption"].startswith("Marten Oyelaran on the gallery")
    assert keeper["description"] == "The keeper of Gullrock light hands the keys to the " \
                                    "harbour board."
    # section first, then keywords and tags; "coast" is "Coast" again
    assert keeper["tags"] == ["Coast", "retirement", "Gullrock", "Lighthouses"]
    assert keeper["modified"] == "2026-05-03T16:40:00+02:00"
    assert keeper["access"] == "free"
    # the caption is the record's image_caption, never body text
    assert "gallery" not in keeper["text"] and "climbed the hundred" in keeper["text"]


def test_access_is_on_every_record(crawled: Crawl) -> None:
    assert crawled.records[TOLL]["access"] == "paywalled"
    plain = crawled.records[PLAIN]
    assert (plain["access"], plain["tags"], plain["image"], plain["modified"]) == \
        ("free", [], None, None)


def test_bot_walls_are_counted_with_their_url_and_never_archived(crawled: Crawl) -> None:
    assert not set(WALLS) & set(crawled.records)
    site = crawled.report["sites"]["coastal"]
    assert site["articles"]["blocked"] == 2 and site["articles"]["empty"] == 0
    assert site["errors"]["bot_wall"] == 3  # the two stories and the section page
    assert "2 bot walls (challenge or consent pages)" in crawled.summary
    walled = {e["url"]: e["message"] for e in crawled.report["error_examples"]
              if e["kind"] == "bot_wall"}
    assert set(walled) == {crawled.web.url(p) for p in (*WALLS, TOWN)}  # not SECTIONS
    assert "consent" in walled[crawled.web.url(CONSENT)]
    assert "Cloudflare" in walled[crawled.web.url(CHALLENGE)]
    # kept raw
    stored = {uri for uri, _ in warc_target_uris(crawled.storage)}
    assert {crawled.web.url(p) for p in WALLS} <= stored


def test_a_bot_wall_is_fetched_again_by_the_next_run(crawled: Crawl) -> None:
    before = {p: crawled.web.paths().count(p) for p in (*WALLS, TOWN, KEEPER)}
    _crawl(crawled.root / "news.toml")
    after = {p: crawled.web.paths().count(p) for p in (*WALLS, TOWN, KEEPER)}
    assert all(after[p] == before[p] + 1 for p in (*WALLS, TOWN))
    assert after[KEEPER] == before[KEEPER]  # archived: not due again yet


def test_the_dump_carries_the_new_columns(crawled: Crawl, tmp_path: Path) -> None:
    day = crawled.records[KEEPER]["fetched_at"][:10]
    out = tmp_path / "day.parquet"
    result = run_cli("dump", "--config", str(crawled.root / "news.toml"), "--date", day,
                     "--output", str(out))
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert pa.types.is_list(table.schema.field("tags").type)
    assert table.schema.metadata[b"newsarchive.schema_version"] == b"2"
    rows = {r["url"]: r for r in table.to_pylist()}
    keeper = rows[crawled.web.url(KEEPER)]
    assert keeper["tags"] == ["Coast", "retirement", "Gullrock", "Lighthouses"]
    assert keeper["access"] == "free" and keeper["image"].endswith("keeper-gallery-1200.jpg")
    assert rows[crawled.web.url(TOLL)]["access"] == "paywalled"


def test_replay_rebuilds_the_fields_and_still_refuses_the_walls(crawled: Crawl,
                                                               tmp_path: Path) -> None:
    day = crawled.records[KEEPER]["fetched_at"][:10]
    out = tmp_path / "replayed"
    result = run_cli("replay", "--config", str(crawled.root / "news.toml"), "--date", day,
                     "--output", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    replayed = {r["url"].split(str(crawled.web.port), 1)[1]: r
                for r in read_records(LocalStorage(out))}
    assert set(replayed) == set(crawled.records)  # the walls still have no record
    for path, record in crawled.records.items():
        assert {k: replayed[path][k] for k in OPTIONAL_FIELDS} == \
            {k: record[k] for k in OPTIONAL_FIELDS}


def test_the_alert_fires_when_a_site_s_share_of_bot_walls_rises(tmp_path: Path) -> None:
    hook = Hook()
    try:
        with WallWeb() as web:
            web.serve()
            web.walls_up = False
            config = _config(tmp_path, web, hook)
            _crawl(config)
            storage = LocalStorage(tmp_path / "archive")
            [first] = read_reports(storage)
            assert first["sites"]["coastal"]["articles"]["blocked"] == 0
            day = first["started_at"][:10]
            for n in range(3):  # earlier clean runs of the site, without walls
                earlier = {**first, "crawl_id": f"20000101T00000{n}Z-aaaaaa",
                           "started_at": f"{day}T00:00:0{n}.000000Z"}
                storage.put_bytes(f"runs/date={day}/{earlier['crawl_id']}.json",
                                  json.dumps(earlier).encode())
            web.walls_up = True
            # a later run, when every page is due for a revisit
            result = run_cli("crawl", "--config", str(config), "--site", "coastal",
                             env={"NEWSARCHIVE_NOW": "2099-01-01T00:00:00Z"})
            assert result.returncode == 0, result.stderr[-3000:]
    finally:
        hook.close()
    latest = max(read_reports(storage), key=lambda r: r["started_at"])
    alerts = latest["sites"]["coastal"]["alerts"]
    [blocked] = [a for a in alerts if a["kind"] == "blocked"]
    # 3 walls among the run's 9 pages (robots.txt, the home page, 2 section pages, 5 stories)
    assert blocked["message"] == "403/429 answers and bot walls: 33% in this run, 0% usually"
    events = json.loads(hook.posts[-1][2])["events"]
    assert {"event": "yield_alert", "site": "coastal", **blocked} in events


def test_the_alert_counts_bot_walls_beside_403_and_429() -> None:
    def run(blocked: int) -> SiteRun:
        return SiteRun(pages_fetched=20, status={"200": 20}, errors={"bot_wall": blocked},
                       articles={"new": 10 - blocked, "unchanged": 5, "blocked": blocked},
                       records_written=10 - blocked, records_with_published=10 - blocked,
                       records_with_author=10 - blocked)
    usual = [run(0) for _ in range(4)]
    assert [a["kind"] for a in site_alerts(run(6), usual)] == ["blocked"]
    assert site_alerts(run(1), usual) == []


# -- the fields' sources, one page each ----------------------------------------------------------
def _extras(head: str, body: str = "") -> object:
    page = (f"<!DOCTYPE html><html><head>{head}</head><body><article><h1>A ferry story</h1>"
            f"{body}{''.join(f'<p>{p}</p>' for p in story('the night ferry'))}</article>"
            "</body></html>")
    extraction = read_page(page.encode(), "http://news.example/2026/05/03/ferry.html")
    return extraction.extras


def _jsonld(node: dict) -> str:
    return f'<script type="application/ld+json">{json.dumps(node)}</script>'


def test_each_field_from_its_other_sources() -> None:
    # JSON-LD ImageObject with its caption, a relative URL; hasPart alone marks a paywall
    extras = _extras(_jsonld({"@type": "NewsArticle", "image": [{"@type": "ImageObject",
                              "url": "/img/ferry.jpg", "caption": "The night ferry."}],
                              "hasPart": [{"@type": "WebPageElement",
                                           "isAccessibleForFree": False}],
                              "dateModified": "2026-05-03 18:00:00+0100"}))
    assert (extras.image, extras.image_caption) == ("http://news.example/img/ferry.jpg",
                                                    "The night ferry.")
    assert extras.access == "paywalled" and extras.modified == "2026-05-03T18:00:00+01:00"
    # rel=tag links; keywords meta only when nothing else; bounded and deduplicated
    tags = _extras("", '<a rel="tag" href="/t/ferries">Ferries</a> <a rel="tag">ferries</a>')
    assert tags.tags == ("Ferries",)
    many = ", ".join(f"keyword {n}" for n in range(50))
    keywords = _extras(f'<meta name="keywords" content="{many}, Keyword 1">')
    assert len(keywords.tags) == 30 and keywords.tags[:2] == ("keyword 0", "keyword 1")
    assert _extras('<meta property="article:content_tier" content="locked">').access == \
        "paywalled"
    assert _extras('<meta property="article:content_tier" content="metered">').access == "free"
    # a modified time that is not ISO 8601 is not guessed
    assert _extras('<meta property="article:modified_time" content="yesterday">').modified \
        is None


# -- no false positives ------------------------------------------------------------------------
def _fixture_web_pages() -> list[tuple[str, bytes]]:
    with FixtureWeb() as web:
        urls = [a.url for a in web.articles] + [a.url for a in web.syndicated]
        urls += [web.site(s.name).start_urls[0] for s in web.sites]
        pages = []
        for url in urls:
            with urllib.request.urlopen(url, timeout=10) as answer:  # loopback only
                pages.append((url, answer.read()))
        return pages


def _walls(pages: list[tuple[str, bytes]]) -> list[tuple[str, object]]:
    found = []
    for name, body in pages:
        tree, html, _ = _parse(decode_html(body))
        if tree is not None and (wall := find_wall(tree, html)) is not None:
            found.append((name, wall))
    return found


def test_no_real_page_is_taken_for_a_bot_wall() -> None:
    pages = [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.html"))]
    pages += _fixture_web_pages()
    dev = sorted(SHARED.glob("eval*/pages/*.html"))
    pages += [(p.name, p.read_bytes()) for p in dev]
    assert len(pages) > 20 and _walls(pages) == []
    if not dev:
        pytest.skip(f"the dev sets are not in {SHARED}: checked the fixture pages only")


def test_the_walls_themselves_are_recognised() -> None:
    for page, kind in ((CONSENT_PAGE, "consent"), (CHALLENGE_PAGE, "challenge")):
        wall = read_page(page.encode(), "http://127.0.0.1/x.html")
        assert getattr(wall, "kind", None) == kind
    assert not hasattr(read_page(KEEPER_PAGE.encode(), "http://127.0.0.1/x.html"), "kind")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


BRIEF = ("<p>The council voted on Tuesday to repair the old footbridge over the river before "
         "winter, after residents had complained for two years. Work starts next month and "
         "the bridge is closed for six weeks; a ferry runs meanwhile, the mayor said.</p>")
BANNER = ('<div id="onetrust-consent-sdk"><p>We and our partners use cookies to measure '
          'audiences and show you personalised content.</p><button>Accept all</button></div>')
RECAPTCHA_FORM = ('<form action="/comments"><p>Leave a comment</p><textarea></textarea>'
                  '<div class="g-recaptcha" data-sitekey="k"></div><button>Send</button></form>')


@pytest.mark.parametrize("overlay", [BANNER, RECAPTCHA_FORM], ids=["consent", "captcha"])
def test_a_short_article_beside_a_banner_or_a_captcha_form_is_an_article(overlay: str) -> None:
    """A brief (under the prose a wall may hold) with a consent manager's banner or a
    comment form's CAPTCHA is archived, without the overlay's text; the overlay alone is
    still a wall."""
    page = (f"<html><head><title>Footbridge</title></head><body><h1>Footbridge repair "
            f"approved</h1><article>{BRIEF}</article>{overlay}</body></html>").encode()
    result = read_page(page, "https://gazette.example/news/footbridge", "text/html")
    assert not isinstance(result, Wall) and result is not None
    assert result.text.startswith("The council voted") and "cookies" not in result.text
    assert "comment" not in result.text.lower()
    alone = (f"<html><head><title>Gazette</title></head><body><nav><a href='/'>Home</a></nav>"
             f"{overlay}</body></html>").encode()
    assert isinstance(read_page(alone, "https://gazette.example/news/x", "text/html"), Wall)


@pytest.mark.parametrize("head", [
    '<meta property="og:image" content="http://[broken/lead.jpg">',
    '<base href="http://[broken/">',
    '<link rel="canonical" href="http://[broken/story">',
], ids=["image", "base", "canonical"])
def test_a_malformed_url_in_the_head_costs_the_field_not_the_article(head: str) -> None:
    page = (f"<html><head><title>Footbridge</title>{head}</head><body><h1>Footbridge repair "
            f"approved</h1><article>{BRIEF * 3}</article></body></html>").encode()
    result = read_page(page, "https://gazette.example/news/footbridge", "text/html")
    assert not isinstance(result, Wall) and result is not None
    assert result.text.startswith("The council voted")
    assert result.extras.image is None
