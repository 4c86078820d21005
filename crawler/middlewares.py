"""Downloader middlewares: what a site's requests carry (user agent, headers, cookies, proxy),
the site guard (scope, SSRF, page budget), Retry-After, the WARC archiver, and compressed
responses kept untyped until Scrapy decompresses them."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import time
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response

from archive.config import Config
from archive.timestamps import utc_now_iso
from archive.warc import HttpExchange, RenderedDom, RevisitOf, WarcPointer
from crawler.addon import config_of
from crawler.archive_extension import ArchiveExtension, archive_of
from crawler.browser import Browser, PageToRender, RenderError
from crawler.cputime import cpu_time
from crawler.errors import ErrorLog, error_log
from crawler.fetch_state import FetchState, fetch_state_of
from crawler.fetching import (
    SECRETS_META,
    cookie_header,
    mask_secrets,
    proxy_authorization,
    proxy_for,
    secret_names,
)
from crawler.render import browser_input, rendered_response, wants_render
from crawler.resolver import HostCheck
from crawler.site_state import Fetch
from crawler.urls import same_site
from crawler.wire import WIRE_META, wire_headers

logger = logging.getLogger(__name__)
SITE_META = "newsarchive_site"
WARC_META = "newsarchive_warc"
FETCHED_AT_META = "newsarchive_fetched_at"
# set on a request charged to its site's page budget; its retries and redirects copy it
CHARGED_META = "newsarchive_charged"
# the URL's last full capture (archive.warc.RevisitOf), set by the spider on a request that
# revisits a URL: a 304 or an unchanged body is then written as a revisit record
REVISIT_META = "newsarchive_revisit_of"
# what the spider fetches a URL for (new, due, entry, lastmod): counted by the WARC writer
REASON_META = "newsarchive_reason"
# an imported capture's own time (crawler/import_spider.py): its WARC record, record and day
CAPTURED_AT_META = "newsarchive_captured_at"


def site_of(request: Request, config: Config) -> str | None:
    """The config site a request belongs to: its meta; else (robots.txt, which Scrapy asks for
    on its own) the site whose start URLs, feeds or sitemaps share its scheme, host and port;
    else the first site owning its host."""
    site = request.meta.get(SITE_META)
    if site:
        return site
    owners = [s for s in config.sites if same_site(request.url, s.domains)]
    parts = urlsplit(request.url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    for candidate in owners:
        if origin in candidate.origins:
            return candidate.name
    return owners[0].name if owners else None


class SiteFetchMiddleware:
    """Gives every request its site's user agent, headers, cookies and proxy (robots.txt
    included, which Scrapy requests on its own: the site is found by its origin).

    Placed before RobotsTxtMiddleware (100), so that robots.txt is read for the user agent the
    site's pages are fetched with. The proxy goes into ``meta["proxy"]`` without credentials,
    and its ``Proxy-Authorization`` header is set here (Scrapy's HttpProxyMiddleware keeps it,
    sends it to the proxy only: in the CONNECT request for an https target); a site without
    a proxy gets ``meta["proxy"] = None``, so the ``http_proxy`` environment variables that
    HttpProxyMiddleware would otherwise apply never route a request around the guard, which
    must know when a request goes through a proxy."""

    def __init__(self, config: Config) -> None:
        self.config = config

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteFetchMiddleware:
        return cls(config_of(crawler.settings))

    def process_request(self, request: Request) -> None:
        site = site_of(request, self.config)
        if site is None:  # the guard refuses it
            return
        fetch = self.config.site(site).fetch
        if fetch.user_agent:
            request.headers[b"User-Agent"] = fetch.user_agent
        for name, value in fetch.headers:
            request.headers[name] = value
        cookies = cookie_header(fetch)
        if cookies:
            request.headers[b"Cookie"] = cookies
        secrets = secret_names(fetch)
        if secrets:
            request.meta[SECRETS_META] = secrets
        proxy = proxy_for(self.config, fetch)
        request.meta["proxy"] = proxy.url if proxy else None
        auth = proxy_authorization(proxy) if proxy else None
        if auth:
            request.headers[b"Proxy-Authorization"] = auth
        else:
            request.headers.pop(b"Proxy-Authorization", None)


class ProxyRefusalMiddleware:
    """A 407 (Proxy Authentication Required) to a proxied request is the proxy's answer, not
    the site's: it is counted as a ``download_failed`` error saying so, and never archived
    as the page. Placed between the network and the WARC archiver (800). Over CONNECT (an
    https target) a refusal is a failed tunnel instead, counted the same way by the spider."""

    def __init__(self, crawler: Crawler, errors: ErrorLog) -> None:
        self.crawler = crawler
        self.errors = errors
        self.config = config_of(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyRefusalMiddleware:
        return cls(crawler, error_log(crawler))

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status != 407 or not request.meta.get("proxy"):
            return response
        site = site_of(request, self.config) or "-"
        why = (f"the proxy {request.meta['proxy']} refused the request (407 Proxy "
               "Authentication Required): check its credentials")
        self.crawler.stats.inc_value(f"newsarchive/{site}/errors/download_failed")
        self.errors.add(site, "download_failed", request.url, why)
        logger.warning("download_failed %s: %s", request.url, why)
        raise BlockedRequest("proxy_refused", f"{request.url}: {why}")


class BudgetExhausted(IgnoreRequest):
    """A page refused by ``max_pages_per_site``: left for the next run (the frontier)."""


class BlockedRequest(IgnoreRequest):
    """A request the site guard refused; ``kind`` says why, for the error counts."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class SiteGuardMiddleware:
    """Refuses requests outside their site's domains, to non-public addresses unless the config
    allows private networks or lists them in ``allowed_networks`` (redirects too, since a
    redirect is a new request through this chain), and beyond ``max_pages_per_site``.

    Address literals are checked here; names are checked early here too, but the check that
    counts is :class:`crawler.resolver.GuardedResolver`'s on the address actually dialled
    (this lookup and Twisted's could differ: DNS rebinding). Names that resolver refused are
    refused here at once, so their retries never reach the network."""

    def __init__(self, crawler: Crawler, config: Config, errors: ErrorLog) -> None:
        self.crawler = crawler
        self.config = config
        self.errors = errors
        self.allow_private = config.crawl.allow_private_networks
        self.networks = config.crawl.allowed_networks
        self.max_pages = config.crawl.max_pages_per_site
        self._pages: dict[str, int] = {}
        self.hosts = HostCheck(self.networks)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteGuardMiddleware:
        return cls(crawler, config_of(crawler.settings), error_log(crawler))

    async def process_request(self, request: Request) -> None:
        site = site_of(request, self.config)
        if site is None:
            self._block(None, "out_of_scope", request, "no configured site owns this host")
        site_config = self.config.site(site)
        if not same_site(request.url, site_config.domains):
            self._block(site, "out_of_scope", request, "outside the site's allowed_domains")
        proxied = bool(request.meta.get("proxy"))
        dialable = True if self.allow_private else await self._dialable(request.url, proxied)
        if dialable is None:
            self._block(site, "private_address", request,
                        "does not resolve here, so its address cannot be checked, and the "
                        "proxy would reach it unchecked")
        if not dialable:
            self._block(site, "private_address", request,
                        "resolves to a private, loopback or link-local address "
                        "(set [crawl].allow_private_networks or allowed_networks to allow)")
        if urlsplit(request.url).path != "/robots.txt" and not request.meta.get(CHARGED_META):
            self._charge(site)
            request.meta[CHARGED_META] = True
        request.meta.setdefault(SITE_META, site)

    def _charge(self, site: str) -> None:
        """One page of the site's budget. Retries and redirects carry their page's meta, so
        they are never charged again: a page that got a request ends archived or counted
        under its error kind, never refused half-way (its failure would go unreported), and
        each page costs at most 1 + RETRY_TIMES requests per redirect hop."""
        count = self._pages.get(site, 0)
        if count >= self.max_pages:
            self.crawler.stats.inc_value(f"newsarchive/{site}/skipped/max_pages")
            raise BudgetExhausted(f"max_pages_per_site reached for {site}")
        self._pages[site] = count + 1

    def _block(self, site: str | None, kind: str, request: Request, why: str) -> None:
        label = site or "-"
        self.crawler.stats.inc_value(f"newsarchive/{label}/blocked/{kind}")
        if site:
            self.errors.add(site, f"blocked_{kind}", request.url, why)
        logger.warning("refused %s: %s", request.url, why)
        raise BlockedRequest(kind, f"{request.url}: {why}")

    async def _dialable(self, url: str, proxied: bool = False) -> bool | None:
        """Public, or in ``allowed_networks``: the literal address, or every address the
        name resolves to. A name that does not resolve passes (the resolver Twisted dials
        through refuses it), unless the request goes through a proxy: Twisted then resolves
        only the proxy's name and the proxy the target's, so this check is the only one the
        target gets, and a name it cannot resolve is refused (None)."""
        ok = await self.hosts.dialable(url)
        if ok is None:
            return None if proxied else True
        return ok


# a site asking for more than this is waited on for this long, then asked again (bounded retries)
MAX_RETRY_AFTER = 300.0


def retry_after_seconds(value: bytes | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), capped at
    MAX_RETRY_AFTER; None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class RetryAfterMiddleware:
    """Honours Retry-After on 429 and 503: the whole host waits that long (at most
    MAX_RETRY_AFTER) before its next request, and Scrapy's RetryMiddleware asks again.

    Placed just above RetryMiddleware (550): sees the answer before it is retried, and every
    request (the retry included) waits here before it reaches the downloader."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._not_before: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).netloc.lower()
        wait = self._not_before.get(host, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in (429, 503):
            seconds = retry_after_seconds(response.headers.get("Retry-After"))
            if seconds:
                host = urlsplit(request.url).netloc.lower()
                until = time.monotonic() + seconds
                self._not_before[host] = max(self._not_before.get(host, 0.0), until)
                logger.warning("%s answered %d: pausing %s for %.0f s (Retry-After)",
                               request.url, response.status, host, seconds)
        return response


class EncodedBodyMiddleware:
    """Hands a content-encoded (still compressed) response on as a plain ``Response``.

    Scrapy types a response by its Content-Type, so a gzipped page arrives as an HtmlResponse
    whose "text" is compressed bytes. HttpCompressionMiddleware's ``response.replace()`` then
    reads that response's ``encoding``, and with no charset in the headers Scrapy guesses it
    by running charset_normalizer over the compressed bytes: about 3 ms of reactor time a page,
    for a value thrown away at once. A plain Response has no encoding to guess; the
    decompressed response gets its proper type from HttpCompressionMiddleware as before.
    Placed between the WARC archiver (800) and decompression (590); off when decompression is
    (COMPRESSION_ENABLED), and HEAD answers, which decompression leaves alone, keep their type."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EncodedBodyMiddleware:
        if not crawler.settings.getbool("COMPRESSION_ENABLED", True):
            raise NotConfigured("nothing decompresses responses")
        return cls()

    def process_response(self, request: Request, response: Response) -> Response:
        if (type(response) is Response or request.method == "HEAD"
                or not response.headers.get("Content-Encoding")):
            return response
        return Response(**{name: getattr(response, name) for name in Response.attributes})


class RenderFailed(IgnoreRequest):
    """A page of a render = "browser" site the browser could not render: its raw answer is
    archived, no record is made from it (the shell its scripts fill is not the article), and
    it is counted as ``render_failed``."""


class WarcArchiveMiddleware:
    """Writes every response that comes off the network to the WARC, before redirects, retries
    and decompression touch it, and leaves its WARC pointer in the request's meta. The headers
    recorded are those that crossed the wire (``crawler/wire.py``), not Scrapy's view of them.

    A page of a ``render = "browser"`` site is rendered first (``crawler/render.py``), and its
    DOM written right after its response and request, as a conversion record; the spider then
    gets the DOM. Such a page is never written as a revisit (nor asked for conditionally, see
    the spider): its shell can stay byte-identical while its scripts fetch a new story."""

    def __init__(self, crawler: Crawler, config: Config, archive: ArchiveExtension,
                 fetch_state: FetchState | None, errors: ErrorLog) -> None:
        self.crawler = crawler
        self.config = config
        self.archive = archive
        self.fetch_state = fetch_state
        self.errors = errors
        self.browser: Browser | None = None
        self.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        if crawler.settings.getbool("NEWSARCHIVE_RENDER") and any(
                site.renders for site in config.sites):
            self.browser = Browser(config, errors, crawler.stats)  # started at its first page
            crawler.signals.connect(self._close_browser, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        return cls(crawler, config_of(crawler.settings), archive_of(crawler),
                   fetch_state_of(crawler), error_log(crawler))

    async def _close_browser(self) -> None:
        assert self.browser is not None
        await self.browser.close()

    async def process_response(self, request: Request, response: Response) -> Response:
        site = site_of(request, self.config)
        if site is None:
            request.meta.pop(WIRE_META, None)  # a redirect copied from it must not carry it
            return response
        session = self.archive.session
        if session is None:  # cannot happen: responses come after the spider's start
            self.archive.write_failed(site, response.url, "the archive is not open")
            raise IgnoreRequest(f"not archived: {response.url}")
        fetched_at = request.meta.get(CAPTURED_AT_META) or utc_now_iso()
        day = fetched_at[:10]
        wire = wire_headers(request, response)
        renders = self.browser is not None and self.config.site(site).renders
        rendered: RenderedDom | str | None = None
        if renders and wants_render(request, response):
            rendered = await self._render(site, response)
        exchange = HttpExchange(
            url=response.url,
            method=request.method,
            request_headers=mask_secrets(wire.request, request.meta.get(SECRETS_META, ())),
            request_body=request.body or b"",
            status=response.status,
            response_headers=wire.response,
            body=response.body,
            protocol=getattr(response, "protocol", None) or "HTTP/1.1",
            # behind a proxy the address dialled is the proxy's, not the site's: none is kept
            ip_address=str(response.ip_address) if response.ip_address and
            not request.meta.get("proxy") else None,
            warc_date=fetched_at,
            render_failed=rendered if isinstance(rendered, str) else None,
        )
        original: RevisitOf | None = None if renders else request.meta.get(REVISIT_META)
        if self.fetch_state is not None and not renders and (
                original is None or original.uri != response.url):
            # a redirect's target, asked unconditionally: its last capture, if any, still
            # turns an unchanged body into a revisit record
            original = self.fetch_state.original_of(site, response.url)
        dom = rendered if isinstance(rendered, RenderedDom) else None
        try:
            with cpu_time(self.crawler.stats, "warc"):
                pointer = session.write_exchange(site, day, exchange, original, dom)
        except OSError as exc:
            self.archive.write_failed(site, response.url, str(exc))
            raise IgnoreRequest(f"not archived: {response.url}") from exc
        request.meta[WARC_META] = pointer
        request.meta[FETCHED_AT_META] = fetched_at
        self._count(site, request, response, pointer)
        if isinstance(rendered, str):
            # archived raw, not rendered: fetched again next run, as a page never fetched
            self.errors.add(site, "render_failed", response.url, rendered)
            self.crawler.stats.inc_value(f"newsarchive/{site}/errors/render_failed")
            logger.warning("render_failed %s: %s", response.url, rendered)
            raise RenderFailed(f"{response.url}: {rendered}")
        if self.fetch_state is not None and response.status < 500:
            # a server error is no news about the page: it is fetched as before next time
            self.fetch_state.fetched(site, fetch_of(response, pointer, fetched_at),
                                     "entry" if request.meta.get(REASON_META) == "entry"
                                     else "article")
        if dom is not None:
            return rendered_response(response.url, dom.html, request)
        return response

    async def _render(self, site: str, response: Response) -> RenderedDom | str | None:
        """The page's rendered DOM; None when its body does not decode (it then goes on as
        fetched, and decompression counts it); a str saying why when rendering failed."""
        given = browser_input(response, self.max_size)
        if given is None:
            return None
        assert self.browser is not None
        headers, body = given
        try:
            # the browser's work is its own processes' (not timed here: an await is no
            # thread-time measure)
            return await self.browser.render(
                PageToRender(site, response.url, response.status, headers, body))
        except RenderError as exc:
            return str(exc)

    def _count(self, site: str, request: Request, response: Response, pointer: WarcPointer
               ) -> None:
        stats = self.crawler.stats
        stats.inc_value(f"newsarchive/{site}/pages")
        stats.inc_value(f"newsarchive/{site}/status/{response.status}")
        reason = request.meta.get(REASON_META)
        if reason and not request.meta.get("redirect_times") and \
                not request.meta.get("retry_times"):
            stats.inc_value(f"newsarchive/{site}/fetched/{reason}")
        if request.meta.get(REVISIT_META) is not None and reason != "entry":
            caught = ("not_modified" if response.status == 304 else
                      "identical" if pointer.revisit else "changed")
            stats.inc_value(f"newsarchive/{site}/revisits/{caught}")


def fetch_of(response: Response, pointer: WarcPointer, fetched_at: str) -> Fetch:
    """What the fetch state learns from a stored response."""
    def header(name: str) -> str:
        value = response.headers.get(name)
        return value.decode("latin-1") if value else ""
    return Fetch(url=response.url, status=response.status, etag=header("ETag"),
                 last_modified=header("Last-Modified"), digest=pointer.digest,
                 warc_date=fetched_at, revisit=pointer.revisit)
