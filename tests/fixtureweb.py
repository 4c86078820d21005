"""A fixture news web on loopback: two real HTTP sites on one port for the crawl tests.

``127.0.0.1:P`` is "dailyplanet", a news site with sections, pagination, an RSS feed, a sitemap
index (gzip urlset + Google News sitemap), robots.txt and every awkward case a news crawler
meets: tracking-parameter and fragment variants, an AMP copy (without the article's credit
line), a 301, a 404, a 500, a PDF and a robots-disallowed article. ``127.0.0.2:P`` is
"partner", a syndication partner with its own articles, an Atom feed and two near-identical
copies of dailyplanet articles.

The sites are data (``tests/webdata``) drawn and served by ``testkit.fakeweb``; tests assert
against ``web.articles``, ``web.near_copies``, ``web.non_articles`` and ``web.disallowed_urls``
instead of hard-coding URLs. All text is invented fiction.
"""

from __future__ import annotations

import dataclasses
import re
import ssl
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from testkit.fakeweb.conditional import conditional
from testkit.fakeweb.gzipped import accepts_gzip, encode
from testkit.fakeweb.response import Response
from testkit.fakeweb.routes import Router
from testkit.fakeweb.server import LoopbackServer, Request
from testkit.fakeweb.site import Web, load_web
from testkit.fakeweb.story import Story

DATA = Path(__file__).parent / "webdata"
DAILYPLANET = "dailyplanet"
PARTNER = "partner"
SITE_NAMES = (DAILYPLANET, PARTNER)
HOSTS = ("127.0.0.1", "127.0.0.2")
# like http.server's, which the fixture web once ran on
SERVER_HEADER = f"fixtureweb/1.0 Python/{sys.version.split()[0]}"


def _load() -> Web:
    return load_web(DATA / "fixture-sites.toml", DATA / "fixture-stories.json")


def _boilerplate(web: Web) -> tuple[str, ...]:
    dailyplanet, partner = web.sites[DAILYPLANET], web.sites[PARTNER]
    return (dailyplanet.cookie_text, dailyplanet.donate_text, partner.newsletter_text,
            *(text for _, text in dailyplanet.comments), *dailyplanet.extra_boilerplate,
            *partner.extra_boilerplate)


BOILERPLATE_PHRASES = _boilerplate(_load())


@dataclass(frozen=True)
class FixtureArticle:
    """An article as served right now; ``url`` is where it lives, without any variant."""

    site: str
    slug: str
    url: str
    canonical_url: str
    title: str
    author: str
    published: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class FixtureSite:
    """The entry points a crawler config needs for one site."""

    name: str
    base_url: str
    start_urls: tuple[str, ...]
    feeds: tuple[str, ...]
    sitemaps: tuple[str, ...]


class LoggedRequest(NamedTuple):
    host: str
    method: str
    path: str
    headers: dict[str, str]


class FixtureWeb:
    """Both fixture sites on one free port: ``with FixtureWeb() as web: ...`` or start()/stop()."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        # with a TLS context both sites are served over https only
        self._tls = tls
        self._web = _load()
        self._log: list[LoggedRequest] = []
        self._times: list[float] = []  # time.monotonic() when each logged request was read
        self._log_lock = threading.Lock()
        self._server: LoopbackServer | None = None
        self._routers: dict[str, Router] = {}
        self._port: int | None = None
        # False: no ETag or Last-Modified on any page, as many news sites send their pages
        self.send_validators = True
        # above 0: every HTML page ends with a build marker, so its bytes (and ETag) change
        # with each new value while its text does not, as real pages' chrome changes
        self.page_build = 0
        # path -> seconds: those pages answer late
        self.slow_paths: dict[str, float] = {}
        # paths answered with the site's 404 page for now
        self.missing_paths: set[str] = set()
        # path -> language code: those pages declare it in <html lang> instead of their
        # theme's language ("": they declare none), as a bilingual site's pages do
        self.declared_languages: dict[str, str] = {}
        # site -> seconds: its robots.txt asks for this Crawl-delay
        self.crawl_delays: dict[str, float] = {}

    # -- lifecycle

    def start(self, attempts: int = 50) -> FixtureWeb:
        if self._port is not None:
            raise RuntimeError("FixtureWeb already started")
        # idle keep-alive connections must not pin the server forever
        self._server = LoopbackServer(SERVER_HEADER, send_date=True, idle_timeout=10).start()
        responders = [lambda request, site=site: self._respond(site, request)
                      for site in SITE_NAMES]
        self._port = self._server.listen_together(HOSTS, responders, attempts, self._tls)
        for index, site in enumerate(SITE_NAMES):
            self._web.sites[site].base = self.base_url(index)
        self._routers = {site: Router(self._web, self._web.sites[site]) for site in SITE_NAMES}
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server, self._port = None, None

    def __enter__(self) -> FixtureWeb:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FixtureWeb is not started")
        return self._port

    def base_url(self, host_index: int) -> str:
        """``http://127.0.0.1:P`` for 0 (dailyplanet), ``http://127.0.0.2:P`` for 1 (partner);
        https with TLS."""
        return f"{'https' if self._tls else 'http'}://{HOSTS[host_index]}:{self.port}"

    def url(self, site: str | int, path: str) -> str:
        return self.base_url(_host_index(site)) + path

    @property
    def sites(self) -> tuple[FixtureSite, ...]:
        dp, pt = self.base_url(0), self.base_url(1)
        return (
            FixtureSite(DAILYPLANET, dp, (f"{dp}/", f"{dp}/world/", f"{dp}/science/"),
                        (f"{dp}/feed.xml",), (f"{dp}/sitemap_index.xml",)),
            FixtureSite(PARTNER, pt, (f"{pt}/",), (f"{pt}/feed.xml",), ()),
        )

    def site(self, name: str) -> FixtureSite:
        return next(s for s in self.sites if s.name == name)

    # -- the data model

    @property
    def _specials(self) -> dict[str, object]:
        return self._web.sites[DAILYPLANET].specials

    def _originals(self) -> list[Story]:
        dailyplanet, partner = self._web.sites[DAILYPLANET], self._web.sites[PARTNER]
        return [s for s in (*dailyplanet.stories, *partner.stories)
                if s.syndicated_from is None and s.section not in dailyplanet.noindex_sections]

    @property
    def articles(self) -> list[FixtureArticle]:
        """Every article that must end up with exactly one record, as currently served."""
        return [self._article(story) for story in self._originals()]

    def article(self, slug: str) -> FixtureArticle:
        return self._article(self._story(slug))

    def update_article(self, slug: str, paragraphs: Iterable[str]) -> FixtureArticle:
        """Replace an article's body; served from the next request on, with a newer
        Last-Modified (and so a new ETag, sitemap lastmod and feed date)."""
        body = tuple(paragraphs)
        if not body or not all(isinstance(p, str) and p.strip() for p in body):
            raise ValueError("paragraphs must be non-empty strings")
        self._web.state.update(self._story(slug), body)  # only real articles can change
        return self.article(slug)

    @property
    def syndicated(self) -> list[FixtureArticle]:
        """The partner's near-identical copies (not in ``articles``)."""
        copies = [s for s in self._web.sites[PARTNER].stories if s.syndicated_from]
        return [self._article(story) for story in copies]

    @property
    def near_copies(self) -> list[tuple[str, str]]:
        """(partner copy URL, original dailyplanet article URL) pairs."""
        return [(copy.url, self.article(copy.slug).url) for copy in self.syndicated]

    @property
    def non_articles(self) -> list[str]:
        dailyplanet = self._web.sites[DAILYPLANET]
        dp, pt = self.base_url(0), self.base_url(1)
        sections = [dp + (f"/{key}/" if number == 1 else f"/{key}/?page={number}")
                    for key, pages in dailyplanet.section_pages.items()
                    for number in range(1, len(pages) + 1)]
        tags = [f"{dp}/tag/{tag}/" for tag in dailyplanet.tags]
        return [f"{dp}/", *sections, *tags, f"{dp}/about/", f"{pt}/", f"{pt}/about/"]

    @property
    def disallowed_urls(self) -> list[str]:
        dailyplanet = self._web.sites[DAILYPLANET]
        return [self._web.url_of(s) for s in dailyplanet.stories
                if s.section in dailyplanet.noindex_sections]

    @property
    def feed_only(self) -> FixtureArticle:
        """Linked from no page and no sitemap: only dailyplanet's RSS feed lists it."""
        return self.article(str(self._specials["feed_only"]))

    @property
    def sitemap_only(self) -> FixtureArticle:
        """Listed only in the gzip urlset behind the sitemap index."""
        return self.article(str(self._specials["sitemap_only"]))

    @property
    def deep_only(self) -> list[FixtureArticle]:
        """Linked only from section pages 2+ (not home, feed, sitemaps, tags or related)."""
        return [self.article(slug) for slug in self._specials["deep_only"]]

    @property
    def variants(self) -> list[tuple[str, str]]:
        """(URL as linked somewhere, the article URL it stands for): tracking parameters,
        fragments, the AMP copy and the 301."""
        special = self.special_urls
        pairs = [(self.article(slug).url + suffix, self.article(slug).url)
                 for slug, suffix in self._specials["variants"]]
        return [*pairs, (special["amp"], self.article(self._amp_slug()).url),
                (special["redirect"], special["redirect_target"])]

    @property
    def special_urls(self) -> dict[str, str]:
        dailyplanet = self._web.sites[DAILYPLANET]
        dp = self.base_url(0)
        files = dailyplanet.files
        old_path = str(self._specials["old_path"])
        pdf_slug, pdf_path = next(iter(dailyplanet.documents.items()))
        return {
            "redirect": dp + old_path,
            "redirect_target": self.article(files[old_path]["to"]).url,
            "not_found": dp + str(self._specials["missing_path"]),
            "server_error": dp + str(self._specials["server_error_path"]),
            "pdf": dp + pdf_path,
            "pdf_linked_from": self.article(pdf_slug).url,
            "amp": dp + str(self._specials["amp_path"]),
        }

    @property
    def boilerplate_phrases(self) -> tuple[str, ...]:
        """Chrome text (cookie banner, donation box, comments, newsletter, share and related
        headings) that must never appear in an article record's text."""
        return BOILERPLATE_PHRASES

    def _amp_slug(self) -> str:
        return self._web.sites[DAILYPLANET].amp[0]

    def _story(self, slug: str) -> Story:
        for story in self._originals():
            if story.slug == slug:
                return story
        raise KeyError(f"no fixture article {slug!r}")

    def _article(self, story: Story) -> FixtureArticle:
        paragraphs, _ = self._web.current(story)
        url = self._web.url_of(story)
        return FixtureArticle(story.site, story.slug, url, url, story.headline, story.author,
                              story.published, paragraphs)

    # -- request log

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._log_lock:
            return list(self._log)

    def fetched_paths(self, host: str | int) -> list[str]:
        """Paths (with query) requested from one host, given as index, IP or site name."""
        ip = HOSTS[_host_index(host)]
        return [entry.path for entry in self.requests if entry.host == ip]

    def request_times(self, host: str | int) -> list[float]:
        """When the server read each request to one host (``time.monotonic()``), in order."""
        ip = HOSTS[_host_index(host)]
        with self._log_lock:
            return [at for entry, at in zip(self._log, self._times, strict=True)
                    if entry.host == ip]

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()
            self._times.clear()

    def _respond(self, site: str, request: Request) -> Response:
        with self._log_lock:
            self._log.append(LoggedRequest(request.host, request.method, request.target,
                                           request.headers))
            self._times.append(time.monotonic())
        router = self._routers[site]
        missing = request.target in self.missing_paths
        response = router.not_found() if missing else router.respond(request.target)
        if self.page_build and response.content_type.startswith("text/html"):
            marker = f"\n<!-- page build {self.page_build} -->\n".encode()
            response = dataclasses.replace(response, body=response.body + marker)
        if request.target in self.declared_languages:
            response = _declaring(response, self.declared_languages[request.target])
        if request.target == "/robots.txt" and site in self.crawl_delays:
            line = f"User-agent: *\nCrawl-delay: {self.crawl_delays[site]:g}\n".encode()
            response = dataclasses.replace(
                response, body=response.body.replace(b"User-agent: *\n", line, 1))
        if request.target in self.slow_paths:
            response = dataclasses.replace(response, delay=self.slow_paths[request.target])
        # the partner sends its HTML gzip-encoded to clients that accept it; dailyplanet sends
        # it plain: the crawl must archive and read both
        if (self._web.sites[site].table.get("gzip_html") and response.content_type.startswith(
                "text/html") and accepts_gzip(request.header("Accept-Encoding"))):
            response = encode(response)
        if not self.send_validators:
            return dataclasses.replace(response, last_modified=None)
        return conditional(response, request.header("If-None-Match"))


_HTML_LANG = re.compile(rb'(<html\b[^>]*?)\s+lang="[^"]*"')


def _declaring(response: Response, language: str) -> Response:
    """The page with its <html lang> replaced (removed for "")."""
    value = rb'\1 lang="' + language.encode("ascii") + rb'"' if language else rb"\1"
    return dataclasses.replace(response, body=_HTML_LANG.sub(value, response.body, count=1))


def _host_index(host: str | int) -> int:
    if isinstance(host, int):
        return host
    if host in SITE_NAMES:
        return SITE_NAMES.index(host)
    if host in HOSTS:
        return HOSTS.index(host)
    raise KeyError(f"unknown fixture host {host!r}")
