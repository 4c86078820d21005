"""A large loopback news web built at run time from the eval pages, served by testkit.fakeweb.

Each site has a home page, paginated sections, an RSS feed, a sitemap and robots.txt (the
``minimal`` theme); each article URL serves one of the eval pages with a unique sentence
inserted into its longest body paragraph, so every article's extracted text differs (and so
gets its own record and its own dedup entry). Every ``dup_every``-th article repeats the
previous article's sentence under a new URL: an exact duplicate the dedup stage must drop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipelines.extraction import extract_article
from testkit.fakeweb import site as fakeweb
from testkit.fakeweb.evalpages import load_spliced_pages
from testkit.fakeweb.gzipped import ENCODING_HEADERS, SplicedPage, accepts_gzip
from testkit.fakeweb.response import Response
from testkit.fakeweb.routes import Router
from testkit.fakeweb.server import LoopbackServer, Request
from testkit.fakeweb.story import Story

ROOT = Path(__file__).resolve().parent.parent
EVAL_PAGES = ROOT.parent / "shared" / "eval" / "pages"
ARTICLE_RE = r"/news/\d{4}/\d{2}/\d{2}/story-\d+\.html$"
SECTIONS = ("world", "politics", "business", "culture")
PER_SECTION_PAGE = 50
FEED_ITEMS = 100
HOME_ITEMS = 20
Template = SplicedPage  # an eval page split where the marker sentence goes
_KEEP_ALIVE = (("Connection", "keep-alive"),)


def marker_for(site: int, n: int) -> str:
    return f"Benchmark reference zq{site}x{n:07d} is filed here. "


def _reaches_text(page: bytes, marker: str) -> bool:
    result = extract_article(page, "http://127.0.0.1/news/x.html", "text/html")
    return result is not None and marker.split()[2] in result.text


def load_templates(pages_dir: Path = EVAL_PAGES) -> tuple[list[Template], list[str]]:
    """Templates for the eval pages, and the names of pages no marker could be placed in."""
    return load_spliced_pages(pages_dir, marker_for(9, 9999999), _reaches_text)


@dataclass
class Site:
    index: int
    articles: int
    templates: list[Template]
    dup_every: int
    port: int = 0
    hubs: dict[str, Response] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"bench{self.index}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def article_path(self, n: int) -> str:
        day = 1 + n % 28
        return f"/news/2026/11/{day:02d}/story-{n:06d}.html"

    def is_duplicate(self, n: int) -> bool:
        return self.dup_every > 0 and n % self.dup_every == self.dup_every - 1

    def article_template(self, n: int) -> tuple[Template, str]:
        """The page behind article ``n`` and its marker (a duplicate repeats n - 1's)."""
        if self.is_duplicate(n):
            n -= 1
        return (self.templates[(n * 7 + self.index) % len(self.templates)],
                marker_for(self.index, n))

    def article_body(self, n: int) -> bytes:
        tpl, marker = self.article_template(n)
        return tpl.render(marker)

    def article_number(self, path: str) -> int | None:
        m = re.fullmatch(r"/news/2026/11/(\d{2})/story-(\d{6})\.html", path)
        if m is None:
            return None
        n = int(m.group(2))
        return n if n < self.articles and self.article_path(n) == path else None

    def stories(self, now: datetime) -> list[Story]:
        """What the hub pages list: article ``n`` in section ``n % 4``, 30 s apart up to now."""
        return [Story(site=self.name, slug=f"story-{n:06d}", section=SECTIONS[n % len(SECTIONS)],
                      headline=f"Story {n}", author="", paragraphs=(),
                      published=(now - timedelta(seconds=(self.articles - n) * 30)).isoformat(),
                      path=self.article_path(n))
                for n in range(self.articles)]

    def table(self) -> dict[str, object]:
        """This site as a testkit.fakeweb site table."""
        newest = {"pick": "listed", "last": FEED_ITEMS}
        return {
            "name": self.name, "theme": "minimal", "sections": list(SECTIONS),
            "article_pages": False,  # spliced eval pages, served by Web.respond
            "paging": "/section/{key}/{n}", "page_size": PER_SECTION_PAGE,
            "section_pick": {"pick": "listed"},
            "home": {"lists": {"latest": {"pick": "listed", "last": HOME_ITEMS}}},
            "files": {
                "/feed.xml": {"kind": "rss", "stories": newest},
                "/sitemap.xml": {"kind": "urlset", "stories": {"pick": "listed"}},
                "/robots.txt": {"kind": "robots", "text": "User-agent: *\nDisallow: /private/\n"
                                                          "Sitemap: {site.base}/sitemap.xml\n"},
            },
        }


class Web:
    """All sites on 127.0.0.1 (one port each), served by one asyncio loop in a thread."""

    def __init__(self, sites: list[Site], gzip_articles: bool = True) -> None:
        self.sites = sites
        # news sites send their pages gzip-encoded to clients that accept it; the crawl then
        # archives (and pays for) the bytes as a real site would send them
        self.gzip_articles = gzip_articles
        self.requests = 0
        self.article_hits = 0
        self._server = LoopbackServer()
        self._routers: dict[int, Router] = {}

    def respond(self, site: Site, request: Request) -> Response:
        self.requests += 1
        path = request.target.split("?", 1)[0]
        hub = site.hubs.get(path)
        if hub is not None:
            return hub
        n = site.article_number(path)
        if n is None:
            return self._routers[site.index].not_found()
        self.article_hits += 1
        tpl, marker = site.article_template(n)
        if self.gzip_articles and accepts_gzip(request.header("Accept-Encoding")):
            return Response(200, "text/html", tpl.render_gzip(marker),
                            headers=(*ENCODING_HEADERS, *_KEEP_ALIVE))
        return Response(200, "text/html", tpl.render(marker), headers=_KEEP_ALIVE)

    def _publish(self, site: Site, now: datetime) -> None:
        """Bind the site's port, then render its hub pages once (they need the port)."""
        site.port = self._server.listen("127.0.0.1", 0,
                                        lambda request, site=site: self.respond(site, request))
        self.render_hubs(site, now)
        if self.gzip_articles:
            for tpl in site.templates:
                _ = tpl.gzip_parts  # compressed before the clock starts

    def render_hubs(self, site: Site, now: datetime) -> None:
        """(Re)render the site's hub pages (home, sections, feed, sitemap) from its stories."""
        hub_site = fakeweb.Site(site.name, site.table(), site.stories(now))
        hub_site.base = site.base
        router = Router(fakeweb.Web({site.name: hub_site}), hub_site).freeze()
        self._routers[site.index] = router
        site.hubs = {path: router.respond(path) for path in router.routes}

    def start(self) -> Web:
        self._server.start()
        now = datetime.now(UTC).replace(microsecond=0)
        for site in self.sites:
            self._publish(site, now)
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Web:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_sites(templates: list[Template], sites: int, articles: int, dup_every: int) -> list[Site]:
    return [Site(i, articles, templates, dup_every) for i in range(sites)]
