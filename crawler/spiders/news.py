"""The one generic news spider, driven by the config's [[sites]].

Discovery: links from start_urls up to ``follow_depth`` hops (rel=next pagination does not
count as a hop), RSS/Atom feeds, sitemaps and sitemap indexes (gzipped, Google News), and the
``Sitemap:`` lines of robots.txt. Every fetched response is archived raw by the WARC middleware;
pages judged to be articles are yielded as :class:`ArticlePage` items.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.config import SiteConfig
from crawler.addon import config_of
from crawler.archive_extension import archive_of
from crawler.discovery import XmlTooLarge, read_feed, read_sitemap
from crawler.errors import error_log
from crawler.faults import describe, error_kind
from crawler.fetch_state import FetchState, fetch_state_of
from crawler.filters import too_old
from crawler.items import ArticlePage
from crawler.middlewares import (
    FETCHED_AT_META,
    REASON_META,
    REVISIT_META,
    SITE_META,
    WARC_META,
    BlockedRequest,
    BudgetExhausted,
    RenderFailed,
)
from crawler.pages import (
    charset_check,
    is_article,
    looks_binary,
    next_page_hrefs,
    page_encoding,
    sniffs_as_html,
)
from crawler.site_state import ARTICLE, PAGE, Discovered, listing_time
from crawler.urls import is_asset_url, normalize_url, same_site
from crawler.walls import find_wall

logger = logging.getLogger(__name__)
DEPTH_META = "newsarchive_depth"
LISTED_META = "newsarchive_listed"
SITEMAP_DEPTH_META = "newsarchive_sitemap_depth"
MAX_SITEMAP_NESTING = 4
# browsers' and Scrapy's own limit; longer links are counted (Scrapy would drop them silently)
MAX_URL_LENGTH = 2083
# the scheduler's priorities: discovered links get -depth (DEPTH_PRIORITY), so due revisits
# and then the frontier carried over come after whatever this run's entry points showed
DUE_PRIORITY = -20
FRONTIER_PRIORITY = -30
# a page with this many links is a listing, whatever challenge markup it carries
LISTING_LINKS = 20


def site_names(argument: str | None) -> list[str]:
    """The sites ``-a site=a,b`` asks for; none: every configured site."""
    return [name.strip() for name in argument.split(",")] if argument else []


def _http_error(response: Response) -> tuple[str, str]:
    """The kind and message of an answer HttpErrorMiddleware refused. A 3xx reaches it only
    when RedirectMiddleware would not follow it: no Location, or one that is not http(s)
    (``file:///etc/passwd``), which is a bad redirect, not a client error."""
    status = response.status
    if status < 400:
        location = response.headers.get("Location")
        if not location:
            return "bad_redirect", f"HTTP {status} without a Location"
        target = response.urljoin(location.decode("latin-1"))
        why = "not followed" if target.startswith(("http://", "https://")) \
            else "not an http(s) URL, not followed"
        return "bad_redirect", f"HTTP {status} to {target[:200]}: {why}"
    return ("http_4xx" if status < 500 else "http_5xx"), f"HTTP {status}"


class NewsSpider(scrapy.Spider):
    name = "news"
    # discovery on: links, pagination (the replay spider turns it off)
    follow_links = True

    def __init__(self, site: str | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site_filter = site_names(site)
        self.sites: tuple[SiteConfig, ...] = ()
        self._sitemaps_seen: set[str] = set()
        # our own asset filter replaces Scrapy's extension list, which drops PDFs too
        self._link_extractor = LinkExtractor(unique=True, deny_extensions=[])
        self.fetch_state: FetchState | None = None
        self._queued: dict[str, int] = {}
        # per site: URLs asked for in this run, URLs skipped (each counted once)
        self._asked: dict[str, set[str]] = {}
        self._skipped: dict[str, set[str]] = {}
        self._entry_urls: dict[str, set[str]] = {}
        # per site: URLs a feed or sitemap dated before the site's window, not fetched
        self._listed_too_old: dict[str, set[str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(spider._request_dropped, signal=signals.request_dropped)
        return spider

    async def _open_run(self) -> None:
        """The run's config, error log and archive (opened, leases taken), found through the
        crawler: the spider is built before the add-on and the extensions, so only now."""
        self.config = config_of(self.crawler.settings)
        self.errors = error_log(self.crawler)
        self.archive = archive_of(self.crawler)
        await self.archive.ready()
        self.sites = self.archive.crawl_sites
        self.fetch_state = fetch_state_of(self.crawler)
        # fetched every run as entry points, so never asked again as a discovered link
        self._entry_urls = {site.name: {normalize_url(url) for url in
                                        (*site.start_urls, *site.feeds, *site.sitemaps)}
                            for site in self.sites}
        if self.fetch_state is not None:  # None in a replay, which fetches nothing
            assert self.archive.storage is not None
            await self.fetch_state.load(self.archive.storage, self.sites)

    # -- start ---------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        await self._open_run()
        obey_robots = self.config.crawl.obey_robots
        for site in self.sites:
            for url in site.start_urls:
                yield self._entry(self._page_request(url, site.name, depth=0))
            for url in site.feeds:
                yield self._entry(self._request(url, site.name, self.parse_feed,
                                                depth=site.follow_depth))
            for url in site.sitemaps:
                yield self._sitemap_request(url, site.name, nesting=0)
            if not obey_robots:
                # the robots middleware is off, so read Sitemap: lines ourselves
                for origin in site.origins:
                    yield self._request(f"{origin}/robots.txt", site.name, self.parse_robots,
                                        depth=0)
        for site in self.sites:
            for request in self._carried_over(site):
                yield request

    def _carried_over(self, site: SiteConfig) -> Iterator[Request]:
        """The site's due revisits (oldest fetch first), then the frontier the last run left
        (newest first): after the entry points and what they lead to."""
        if self.fetch_state is None:
            return
        state = self.fetch_state.state(site.name)
        now, policy = self.fetch_state.now, self.fetch_state.policy(site.name)
        for url in state.due(now, policy):
            article = state.urls[url].kind == ARTICLE
            depth = site.follow_depth if article else max(site.follow_depth - 1, 0)
            request = self._discover(url, site, depth, listed=article)
            if request is not None:
                yield request.replace(priority=DUE_PRIORITY)
        for item in state.frontier:
            request = self._discover(item.url, site, item.depth, item.listed, item.when)
            if request is not None:
                yield request.replace(priority=FRONTIER_PRIORITY)

    def _request(self, url: str, site: str, callback: Any, depth: int, **meta: Any) -> Request:
        return Request(url, callback=callback, errback=self.on_error,
                       meta={SITE_META: site, DEPTH_META: depth, **meta})

    def _admit(self, site: str) -> bool:
        """Bounds what one site may queue: twice its page budget (the site guard enforces the
        exact budget on requests that get sent), so a sitemap of millions of URLs costs no
        more memory than a site's budget allows."""
        count = self._queued.get(site, 0)
        if count >= 2 * self.config.crawl.max_pages_per_site:
            self.crawler.stats.inc_value(f"newsarchive/{site}/skipped/queue_full")
            return False
        self._queued[site] = count + 1
        return True

    def _page_request(self, url: str, site: str, depth: int, listed: bool = False) -> Request:
        return self._request(url, site, self.parse_page, depth, **{LISTED_META: listed})

    def _discover(self, url: str, site: SiteConfig, depth: int, listed: bool = False,
                  when: float | None = None) -> Request | None:
        """The request for a URL found by a link, a listing, a due revisit or the frontier,
        or None: asked already this run, not due by the revisit policy (counted once), or
        over the queue bound (then carried over to the next run)."""
        name = site.name
        asked = self._asked.setdefault(name, set())
        if (url in asked or url in self._entry_urls.get(name, ())
                or url in self._listed_too_old.get(name, ())):
            return None
        state = self.fetch_state
        if state is None:  # a replay: no discovery happens
            return self._page_request(url, name, depth, listed)
        fetch, reason = state.state(name).decide(url, state.now, state.policy(name), when)
        if not fetch:
            self._skip(name, url, reason)
            return None
        state.discovered(name, Discovered(url, when, depth, listed))
        if not self._admit(name):
            return None
        asked.add(url)
        return self._revisiting(self._page_request(url, name, depth, listed), reason)

    def _skip(self, site: str, url: str, reason: str) -> None:
        """A URL not fetched, counted once a run under ``skipped/<reason>``."""
        skipped = self._skipped.setdefault(site, set())
        if url not in skipped:
            skipped.add(url)
            self.crawler.stats.inc_value(f"newsarchive/{site}/skipped/{reason}")

    def _listed_before_window(self, site: SiteConfig, url: str, date: str | None) -> bool:
        """Whether a feed or sitemap dates a URL the archive holds no article of before the
        site's window: then it is not fetched (counted ``skipped/too_old``), nor when a link
        leads to it later in the run. A URL archived before is left to the revisit policy,
        so that corrections of what the archive holds are still fetched."""
        state = self.fetch_state
        if state is None or not too_old(date, site.window_start(state.now)):
            return False
        known = state.state(site.name)
        if known.knows(url) and known.filtered(url) is None:
            return False
        self._listed_too_old.setdefault(site.name, set()).add(url)
        self._skip(site.name, url, "too_old")
        return True

    def _sitemap_before_window(self, site: SiteConfig, url: str, date: str | None) -> bool:
        """Whether an index dates a child sitemap (its ``lastmod``) before the site's window:
        then nothing it lists changed since, and it is not fetched (counted once a run,
        ``skipped/too_old_sitemap``): a site's archive sitemaps (a month, a year each) cost
        no request. What the archive holds of them is revisited on its own schedule."""
        state = self.fetch_state
        if state is None or not too_old(date, site.window_start(state.now)):
            return False
        self._skip(site.name, url, "too_old_sitemap")
        return True

    def _window_start(self, response: Response, site: SiteConfig) -> float | None:
        """The site's window as it applies to a page: from the run's clock in a crawl, from
        the capture's own date in an import or a replay (which then judge a capture as the
        crawl that made it would have)."""
        if self.fetch_state is not None:
            return site.window_start(self.fetch_state.now)
        captured = listing_time(response.meta.get(FETCHED_AT_META))
        return site.window_start(captured if captured is not None else time.time())

    def _revisiting(self, request: Request, reason: str) -> Request:
        """Asked conditionally when the archive has a capture of the URL: a 304 or an
        unchanged body is then stored as a revisit record pointing at that capture."""
        request.meta[REASON_META] = reason
        if self.fetch_state is None or self.config.site(request.meta[SITE_META]).renders:
            # a rendered page is always asked in full: an unchanged shell says nothing of
            # what its scripts will fetch
            return request
        site = request.meta[SITE_META]
        state = self.fetch_state.state(site)
        for name, value in state.conditional_headers(request.url).items():
            request.headers[name] = value
        original = self.fetch_state.original_of(site, request.url)
        if original is not None:
            request.meta[REVISIT_META] = original
            request.meta["handle_httpstatus_list"] = [304]
        return request

    def _sitemap_request(self, url: str, site: str, nesting: int) -> Request:
        return self._entry(self._request(url, site, self.parse_sitemap, depth=0,
                                         **{SITEMAP_DEPTH_META: nesting}))

    # -- cheap polling -----------------------------------------------------------------------
    def _entry(self, request: Request) -> Request:
        """An entry point (start page, feed, sitemap): fetched every run, conditionally."""
        return self._revisiting(request, "entry")

    def _settle(self, response: Response) -> bool:
        """The page got its answer (not carried over); True for a 304, which ends the
        branch: the archive holds that capture already."""
        site = response.meta[SITE_META]
        if self.fetch_state is not None:
            first = (response.meta.get("redirect_urls") or [response.request.url])[0]
            self.fetch_state.settled(site, first)
        if response.status == 304:
            self.crawler.stats.inc_value(f"newsarchive/{site}/not_modified")
            return True
        return False

    def _classify(self, response: Response, kind: str, awaiting_item: bool = False) -> None:
        if self.fetch_state is not None and response.meta.get(REASON_META) != "entry":
            self.fetch_state.classify(response.meta[SITE_META], response.url, kind,
                                      awaiting_item)

    # -- robots.txt ----------------------------------------------------------------------
    def _robots_parsed(self, robotparser: Any, request: Request) -> None:
        site = request.meta.get(SITE_META)
        parser = getattr(robotparser, "rp", None)
        sitemaps = list(getattr(parser, "sitemaps", None) or [])
        if not site or not sitemaps or self.crawler.engine is None:
            return
        for url in sitemaps:
            if url not in self._sitemaps_seen:
                self.crawler.engine.crawl(self._sitemap_request(url, site, nesting=0))

    def parse_robots(self, response: Response) -> Iterator[Request]:
        site = response.meta[SITE_META]
        text = response.body[:512 * 1024].decode("utf-8", "replace")
        for line in text.splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == "sitemap" and value.strip():
                yield self._sitemap_request(value.strip(), site, nesting=0)

    # -- pages -----------------------------------------------------------------------------
    def parse_page(self, response: Response) -> Iterator[Request | ArticlePage]:
        if self._settle(response):
            return
        response = self._as_html(response)
        if response is None:
            return
        site = self.config.site(response.meta[SITE_META])
        depth = response.meta.get(DEPTH_META, 0)
        if is_article(response, site.article_urls, response.meta.get(LISTED_META, False)):
            pointer = response.meta.get(WARC_META)
            if pointer is not None and pointer.revisit:
                # the very bytes of the last capture: nothing new to extract
                self._classify(response, ARTICLE)
            else:
                self._classify(response, ARTICLE, awaiting_item=True)
                yield self._article(response, site)
        elif self._walled(response, site.name):
            return
        else:
            self._classify(response, PAGE)
        if not self.follow_links:
            return
        # pagination first, at the same depth: the dupefilter keeps the first request for a
        # URL, and a "Next" anchor seen as an ordinary link would cost the pages a hop
        pages = set()
        for href in next_page_hrefs(response):
            url = normalize_url(response.urljoin(href))
            if same_site(url, site.domains) and url not in pages:
                pages.add(url)
                request = self._discover(url, site, depth)
                if request is not None:
                    yield request
        if depth < site.follow_depth:
            for url in self._links(response, site):
                if url not in pages:
                    request = self._discover(url, site, depth + 1)
                    if request is not None:
                        yield request

    def _walled(self, response: TextResponse, site: str) -> bool:
        """A bot wall served where a listing page was (an article page's is recognised by the
        extraction worker): counted, not learnt by the fetch state, its links not followed.
        A listing page is links, not prose, and often holds a newsletter CAPTCHA or a consent
        manager's container: here only a challenge page with few links is a wall. The tree
        is the one the link extractor reads anyway (crawler/walls.py keeps the check cheap)."""
        tree = response.selector.root
        wall = find_wall(tree, response.body)
        if wall is None or wall.kind != "challenge" or \
                len(tree.xpath("//a[@href]")) >= LISTING_LINKS:
            return False
        self._count_error(site, "bot_wall", response.url,
                          f"{wall.kind} page ({wall.marker}) served instead of the page")
        if self.fetch_state is not None:
            self.fetch_state.walled(site, response.url)
        return True

    def _as_html(self, response: Response) -> TextResponse | None:
        """The response as an HTML page, or None when it is not one. HTML under a wrong
        Content-Type (octet-stream, an image type) is still read as HTML, and counted;
        binary bytes under text/html are counted and not parsed."""
        declared = (response.headers.get("Content-Type") or b"text/html").lower()
        site = response.meta[SITE_META]
        if isinstance(response, TextResponse) and b"html" in declared:
            if looks_binary(response.body, response.encoding):
                self._count_error(site, "not_html", response.url,
                                  "binary content served as text/html")
                return None
            return response
        if not sniffs_as_html(response.body):
            return None  # a PDF, an image, a document: archived raw, nothing to parse
        self._count_error(site, "wrong_content_type", response.url,
                          f"HTML served as {declared.decode('latin-1')[:80]}; read as HTML")
        return response.replace(cls=HtmlResponse)

    def _links(self, response: TextResponse, site: SiteConfig) -> Iterator[str]:
        # scoped by host name here, not by LinkExtractor(allow_domains=...), which compares
        # host:port and so never matches a site served on a non-default port
        for link in self._link_extractor.extract_links(response):
            if (not link.nofollow and same_site(link.url, site.domains)
                    and not is_asset_url(link.url)):
                url = normalize_url(link.url)
                if len(url) > MAX_URL_LENGTH:
                    self._count_error(site.name, "url_too_long", url[:200] + "...",
                                      f"link of {len(url)} characters (limit {MAX_URL_LENGTH})")
                    continue
                yield url

    def _article(self, response: TextResponse, site: SiteConfig) -> ArticlePage:
        pointer = response.meta.get(WARC_META)
        content_type = self._content_type(response, site.name)
        return ArticlePage(
            site=site.name,
            url=response.url,
            fetched_at=response.meta.get(FETCHED_AT_META) or "",
            body=response.body,
            content_type=content_type,
            warc_filename=pointer.filename if pointer else None,
            warc_offset=pointer.offset if pointer else None,
            warc_length=pointer.length if pointer else None,
            window_start=self._window_start(response, site),
            languages=site.languages,
        )

    def _content_type(self, response: TextResponse, site: str) -> str | None:
        """The Content-Type the extractor decodes by, naming the charset chosen here (declared,
        else see :func:`page_encoding`), unless the page does not decode in it (counted; a
        better charset is named when there is one)."""
        encoding = page_encoding(response)
        # Scrapy decodes with replacement characters: without one, the bytes decoded cleanly,
        # and the text is decoded once already (meta-refresh check), so that costs one scan
        if encoding == response.encoding and "\ufffd" not in response.text:
            return f"text/html; charset={encoding}"
        bad, better = charset_check(response.body, encoding)
        if not bad:
            return f"text/html; charset={encoding}"
        fix = f"decoded as {better}" if better else "undecodable bytes replaced"
        self._count_error(site, "bad_encoding", response.url,
                          f"does not decode as {encoding}; {fix}")
        return f"text/html; charset={better or encoding}"

    # -- feeds and sitemaps ----------------------------------------------------------------
    def parse_feed(self, response: Response) -> Iterator[Request]:
        if self._settle(response):
            return
        site = self.config.site(response.meta[SITE_META])
        try:
            entries, problem = read_feed(response.body)
        except (XmlTooLarge, OSError, EOFError) as exc:
            entries, problem = None, str(exc)
        if problem:
            self._count_error(site.name, "bad_feed", response.url, problem)
        if entries is None:
            return
        for entry in entries:
            url = normalize_url(response.urljoin(entry.url))
            if same_site(url, site.domains) and not self._listed_before_window(
                    site, url, entry.published or entry.modified):
                request = self._discover(url, site, site.follow_depth, True,
                                         listing_time(entry.modified or entry.published))
                if request is not None:
                    yield request

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        if self._settle(response):
            return
        site = self.config.site(response.meta[SITE_META])
        nesting = response.meta.get(SITEMAP_DEPTH_META, 0)
        self._sitemaps_seen.add(response.url)
        try:
            kind, entries, problem = read_sitemap(response.body)
        except (XmlTooLarge, OSError, EOFError) as exc:
            kind, entries, problem = "invalid", [], str(exc)
        if problem:
            self._count_error(site.name, "bad_sitemap", response.url, problem)
        if kind == "invalid":
            return
        if kind == "index" and self.fetch_state is not None:
            # an index may keep its validators when a child changes: never skip one
            self.fetch_state.unvalidated(site.name, response.url)
        for entry in entries:
            url = response.urljoin(entry.url)
            if kind == "index":
                if url == response.url or nesting >= MAX_SITEMAP_NESTING:
                    self._count_error(site.name, "bad_sitemap", response.url,
                                      f"sitemap index loops or nests too deep: {url}")
                elif url not in self._sitemaps_seen and not self._sitemap_before_window(
                        site, url, entry.modified or entry.published):
                    self._sitemaps_seen.add(url)
                    yield self._sitemap_request(url, site.name, nesting + 1)
            elif same_site(url, site.domains) and not self._listed_before_window(
                    site, normalize_url(url), entry.published or entry.modified):
                request = self._discover(normalize_url(url), site, site.follow_depth, True,
                                         listing_time(entry.modified or entry.published))
                if request is not None:
                    yield request

    # -- errors ----------------------------------------------------------------------------
    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        site = request.meta.get(SITE_META, "-")
        first = (request.meta.get("redirect_urls") or [request.url])[0]
        if failure.check(BudgetExhausted):
            return  # left for the next run: the frontier
        if self.fetch_state is not None:
            self.fetch_state.settled(site, first)
        if failure.check(BlockedRequest):
            return  # counted by the guard
        if failure.check(RenderFailed):
            # counted by the WARC writer; its raw answer is archived, the page is asked
            # again next run
            if self.fetch_state is not None:
                self.fetch_state.discovered(site, Discovered(
                    first, None, request.meta.get(DEPTH_META, 0),
                    request.meta.get(LISTED_META, False)))
            return
        if failure.check(HttpError):
            kind, message = _http_error(failure.value.response)
            self._count_error(site, kind, request.url, message)
            return
        kind = error_kind(failure.value, request.url, stopping=not self.crawler.crawling)
        if kind is None:
            if self.fetch_state is not None and "robots.txt" in str(failure.value):
                self.fetch_state.refused(site, request.url)
            return  # robots.txt: not an error
        if kind == "cancelled" and self.fetch_state is not None:
            # in flight when the run was stopped: fetched next run
            self.fetch_state.discovered(site, Discovered(first, None,
                                                         request.meta.get(DEPTH_META, 0),
                                                         request.meta.get(LISTED_META, False)))
        message = describe(failure.value, kind)
        # counted under the URL that was linked; where the redirects ended goes in the message
        if first != request.url:
            message = f"{message} (redirected {len(request.meta['redirect_urls'])} times, " \
                      f"last to {request.url})"
        self._count_error(site, kind, first, message)

    def _request_dropped(self, request: Request, **_: Any) -> None:
        """A redirect back to a URL of its own chain (A -> B -> A) is dropped by the
        dupefilter without a word: count it, or the linked page would vanish silently."""
        chain = request.meta.get("redirect_urls") or []
        if self.fetch_state is not None and SITE_META in request.meta:
            self.fetch_state.settled(request.meta[SITE_META], (chain or [request.url])[0])
        if request.url in chain:
            site = request.meta.get(SITE_META, "-")
            self._count_error(site, "redirect_loop", chain[0],
                              f"redirects in a loop: {' -> '.join(chain)} -> {request.url}")

    def _count_error(self, site: str, kind: str, url: str, message: str) -> None:
        self.crawler.stats.inc_value(f"newsarchive/{site}/errors/{kind}")
        self.errors.add(site, kind, url, message)
        logger.warning("%s %s: %s", kind, url, message)

