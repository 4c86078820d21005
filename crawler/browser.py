"""The headless browser that renders the pages of ``render = "browser"`` sites.

The system's Chromium (``[crawl] browser_executable``, Debian's ``chromium`` package) driven by
Playwright on the crawl's own asyncio loop: nothing blocks the reactor, and nothing is ever
downloaded (no ``playwright install``). It is started at the first page to render, so a crawl
without such a site never starts it, and Playwright is imported only then.

Each site has a browser context of its own (cookies and storage never cross sites), with its
user agent and proxy (``[[sites]] user_agent``, ``proxy``), its configured cookies set for its
own origins and its configured headers sent to its own hosts only, and at most
``[crawl] render_concurrency`` pages open at once. A page is rendered from the answer Scrapy
already fetched: the browser's navigation is fulfilled with that body, never sent again.
Every other request the page makes (scripts, XHR and fetch, stylesheets, frames) goes through
:meth:`Browser._guard`: refused when its host is, or resolves to, a private, loopback or
link-local address (unless the config allows it, as for Scrapy's requests), else sent by
Playwright with redirects not followed; each redirect's next hop meets the same check before
it is sent, and the final answer is handed to the browser. (Left to the browser, redirects
would be followed unseen: Playwright's routing sees only a request's first URL.)
Images, media and fonts are not fetched: they cost the most bytes and write no
text. WebSockets are answered by a stub that connects nowhere, service workers are blocked
(their requests would bypass the routing), and the main frame never navigates away: the DOM
wanted is the page's own.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from archive.config import Config
from archive.warc import RenderedDom
from crawler.errors import ErrorLog
from crawler.fetching import proxy_for
from crawler.resolver import HostCheck
from crawler.urls import same_site

if TYPE_CHECKING:
    from playwright.async_api import (
        APIResponse,
        BrowserContext,
        Page,
        Playwright,
        Route,
        WebSocketRoute,
    )
    from playwright.async_api import Browser as PlaywrightBrowser
    from playwright.async_api import Request as BrowserRequest
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

SKIPPED_RESOURCES = frozenset({"image", "media", "font"})
# headless, and nothing of its own on the network: without the background-networking flags
# Chromium calls Google's services (updates, safe browsing, sync) at start-up
CHROMIUM_ARGS = ("--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-default-apps", "--dns-prefetch-disable",
                 # WebRTC's UDP goes around any request routing: none of it
                 "--force-webrtc-ip-handling-policy=disable_non_proxied_udp")
# once the load event fired, how long the page may go on fetching (its scripts' XHR) before
# its DOM is taken: until 500 ms without a request, at most this long
SETTLE_MS = 5000
MAX_REDIRECTS = 10  # hops of one request of a page, each checked by the guard


class RenderError(Exception):
    """A page the browser could not render; the message says why, in one line."""


@dataclass(frozen=True)
class PageToRender:
    site: str
    url: str
    status: int
    headers: dict[str, str]  # the answer's, without framing or coding (crawler/render.py)
    body: bytes  # decoded


class Browser:
    """One Chromium for the crawl, a context per site; see the module's docstring."""

    def __init__(self, config: Config, errors: ErrorLog, stats: StatsCollector) -> None:
        crawl = config.crawl
        self.config = config
        self.executable = crawl.browser_executable
        self.user_agent = crawl.user_agent
        self.timeout_ms = crawl.download_timeout * 1000
        self.concurrency = crawl.render_concurrency
        self.allow_private = crawl.allow_private_networks
        self.hosts = HostCheck(crawl.allowed_networks)
        self.errors = errors
        self.stats = stats
        self._lock: asyncio.Lock | None = None
        self._playwright: Playwright | None = None
        self._browser: PlaywrightBrowser | None = None
        self._unavailable: str | None = None
        self._contexts: dict[str, BrowserContext] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}

    async def render(self, page: PageToRender) -> RenderedDom:
        """The page's DOM once its scripts have run; RenderError if it cannot be had."""
        from playwright.async_api import Error as PlaywrightError

        browser = await self._started()
        slots = self._slots.setdefault(page.site, asyncio.Semaphore(self.concurrency))
        async with slots:
            try:
                context = await self._context(page.site)
                tab = await context.new_page()
                tab.on("popup", _close_quietly)  # window.open(): not the page wanted
                try:
                    html = await self._render_in(tab, page)
                finally:
                    await tab.close()
            except PlaywrightError as exc:
                raise RenderError(f"the browser failed: {exc.message.splitlines()[0]}") from exc
        self.stats.inc_value(f"newsarchive/{page.site}/render/pages")
        return RenderedDom(html.encode("utf-8"), f"Chromium {browser.version}")

    async def _render_in(self, tab: Page, page: PageToRender) -> str:
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        served = False
        moved = asyncio.Event()  # the page tried to navigate away

        async def main_frame(route: Route, request: BrowserRequest) -> None:
            nonlocal served
            if not (request.is_navigation_request() and request.frame.parent_frame is None):
                await route.fallback()  # to the context's guard
            elif not served:
                served = True  # the page itself: the body Scrapy fetched, not sent again
                await route.fulfill(status=page.status, headers=page.headers, body=page.body)
            else:
                # a 204 leaves the page where it is (HTML's navigation rules); refusing the
                # request instead would put Chromium's error page in its place
                self.stats.inc_value(f"newsarchive/{page.site}/render/navigation_refused")
                moved.set()
                await route.fulfill(status=204, body=b"")

        await tab.route("**/*", main_frame)
        try:
            await tab.goto(page.url, wait_until="commit", timeout=self.timeout_ms)
            # the document's load event, or the page's own attempt to leave, after which
            # Playwright reports no load state for the document any more
            await _first(tab.wait_for_load_state("load", timeout=self.timeout_ms), moved.wait())
        except PlaywrightTimeout as exc:
            raise RenderError(f"not loaded within {self.timeout_ms / 1000:g} s") from exc
        try:
            await tab.wait_for_load_state("networkidle", timeout=SETTLE_MS)
        except PlaywrightTimeout:
            pass  # a page that polls for ever, or one that tried to leave: its DOM as it stands
        return await tab.content()

    async def _started(self) -> PlaywrightBrowser:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._unavailable is None and self._browser is None:
                await self._launch()
        if self._browser is None:
            raise RenderError(self._unavailable or "the browser is not running")
        return self._browser

    async def _launch(self) -> None:
        try:
            from playwright.async_api import Error as PlaywrightError
            from playwright.async_api import async_playwright
        except ImportError:
            self._unavailable = ("render = \"browser\" needs Playwright, which is not installed "
                                 "(pip install 'newsarchive[render]')")
        else:
            if not os.access(self.executable, os.X_OK):
                self._unavailable = (f"render = \"browser\" needs Chromium at {self.executable}: "
                                     "none there (apt-get install chromium, or set [crawl] "
                                     "browser_executable)")
        if self._unavailable is not None:
            logger.error("%s", self._unavailable)
            return
        try:
            self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.executable, headless=True, args=list(CHROMIUM_ARGS),
                # the sandbox confines a compromised renderer; Chromium refuses it to root
                chromium_sandbox=os.geteuid() != 0)
        except PlaywrightError as exc:
            self._unavailable = f"the browser at {self.executable} did not start: " \
                                f"{exc.message.splitlines()[0]}"
            logger.error("%s", self._unavailable)
            return
        self._browser.on("disconnected", self._lost)
        logger.info("started %s %s for render = \"browser\" sites", self.executable,
                    self._browser.version)

    def _lost(self, browser: PlaywrightBrowser) -> None:
        """Chromium died (a crash, killed): the next page starts a new one."""
        if browser is self._browser:
            logger.error("the browser for render = \"browser\" sites exited; starting it again "
                         "for the next page")
            self._browser = None
            self._contexts.clear()

    async def _context(self, site: str) -> BrowserContext:
        """The site's context: its user agent and proxy, its cookies for its own origins."""
        assert self._lock is not None
        async with self._lock:  # two pages of a site starting at once make one context
            context = self._contexts.get(site)
            if context is None:
                context = await self._new_context(site)
                self._contexts[site] = context
        return context

    async def _new_context(self, site: str) -> BrowserContext:
        assert self._browser is not None
        site_config = self.config.site(site)
        fetch = site_config.fetch
        options: dict[str, Any] = {}
        proxy = proxy_for(self.config, fetch)
        if proxy is not None:
            options["proxy"] = {"server": proxy.url, "username": proxy.user,
                                "password": proxy.password}
        context = await self._browser.new_context(
            user_agent=fetch.user_agent or self.user_agent, service_workers="block",
            accept_downloads=False, **options)
        if fetch.cookies:
            await context.add_cookies([{"name": name, "value": value, "url": origin}
                                       for origin in site_config.origins
                                       for name, value in fetch.cookies])
        await context.route("**/*", lambda route, request: self._guard(site, context, route,
                                                                       request))
        await context.route_web_socket("**", _nowhere)
        return context

    async def _guard(self, site: str, context: BrowserContext, route: Route,
                     request: BrowserRequest) -> None:
        """Every request of a rendered page but its own navigation (see the module)."""
        from playwright.async_api import Error as PlaywrightError

        if request.resource_type in SKIPPED_RESOURCES:
            self.stats.inc_value(f"newsarchive/{site}/render/skipped_{request.resource_type}")
            await route.abort("blockedbyclient")
            return
        if not await self._may_fetch(site, request.url):
            await route.abort("blockedbyclient")
            return
        try:
            answer = await route.fetch(headers=self._headers(site, request.url, request),
                                       max_redirects=0, timeout=self.timeout_ms)
            url = request.url
            for _ in range(MAX_REDIRECTS):
                target = _redirect_target(url, answer)
                if target is None:
                    break
                if not await self._may_fetch(site, target):
                    await route.abort("blockedbyclient")
                    return
                keep = answer.status in (307, 308)  # the others turn into a GET
                answer = await context.request.fetch(
                    target, method=request.method if keep else "GET",
                    headers=self._headers(site, target, request),
                    data=request.post_data_buffer if keep else None,
                    max_redirects=0, timeout=self.timeout_ms)
                url = target
            else:
                if _redirect_target(url, answer) is not None:
                    # one hop too many: handed over, Chromium would follow it unchecked
                    self.stats.inc_value(f"newsarchive/{site}/render/too_many_redirects")
                    await route.abort("blockedbyclient")
                    return
            await route.fulfill(response=answer)
        except PlaywrightError as exc:
            # the page goes on without it, as a browser's would
            logger.debug("rendering %s: %s failed: %s", site, request.url, exc.message)
            await _abort_quietly(route)

    def _headers(self, site: str, url: str, request: BrowserRequest) -> dict[str, str]:
        """The browser's headers for ``url``, with the site's configured ones (``[[sites]]
        headers``) when ``url`` is on the site's own hosts: never sent to a CDN or a third
        party a page loads from (they may be credentials)."""
        site_config = self.config.site(site)
        headers = dict(request.headers)
        if same_site(url, site_config.domains):
            headers.update(site_config.fetch.headers)
        return headers

    async def _may_fetch(self, site: str, url: str) -> bool:
        """An http(s) URL whose host passes the private-address rule (counted if not)."""
        if urlsplit(url).scheme not in ("http", "https"):
            return False
        # a name that does not resolve here is refused too: the browser resolves it itself
        if not self.allow_private and not await self.hosts.dialable(url):
            self._blocked(site, url)
            return False
        self.stats.inc_value(f"newsarchive/{site}/render/requests")
        return True

    def _blocked(self, site: str, url: str) -> None:
        why = ("a request of the rendered page to a private, loopback or link-local address "
               "(set [crawl].allow_private_networks or allowed_networks to allow)")
        self.stats.inc_value(f"newsarchive/{site}/blocked/private_address")
        self.errors.add(site, "blocked_private_address", url, why)
        logger.warning("refused %s: %s", url, why)

    async def close(self) -> None:
        """Closes the contexts and the browser (nothing to do when it never started)."""
        for context in self._contexts.values():
            await _close_quietly(context)
        self._contexts.clear()
        if self._browser is not None:
            browser, self._browser = self._browser, None  # not "lost": closed
            await _close_quietly(browser)
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None


async def _first(*waits: Awaitable[Any]) -> None:
    """Until the first of ``waits`` is done (its exception raised); the others cancelled."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()


def _redirect_target(url: str, answer: APIResponse) -> str | None:
    """Where a 3xx answer to ``url`` sends its client, or None."""
    location = answer.headers.get("location")
    if answer.status not in (301, 302, 303, 307, 308) or not location:
        return None
    return urljoin(url, location)


async def _nowhere(ws: WebSocketRoute) -> None:
    """A WebSocket that never connects: Playwright stubs a routed socket not connected on."""
    await ws.close()


async def _abort_quietly(route: Route) -> None:
    from playwright.async_api import Error as PlaywrightError
    try:
        await route.abort("failed")
    except PlaywrightError:
        pass  # the page is gone already


async def _close_quietly(thing: Any) -> None:
    from playwright.async_api import Error as PlaywrightError
    try:
        await thing.close()
    except PlaywrightError:
        pass
