"""The bundled demo news sites: every page built up front, then served from memory on loopback.

The pages (``testkit.fakeweb``'s ``cms`` theme) copy the shape of real CMS output
(WordPress-like classes, donation and co-op boxes inside the article, comments, cookie banner,
tracking parameters on some links) so the crawler and the extractor meet the usual clutter; the
content itself comes from `demo.stories`.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from demo.stories import PUBLICATIONS, load_demo_web
from testkit.fakeweb.response import Response
from testkit.fakeweb.routes import Router, resolve_target
from testkit.fakeweb.server import LoopbackServer

Page = Response  # one HTTP response of a demo site
SERVER_HEADER = "demo-news/1.0"


def _router(site: str, base_url: str = "") -> Router:
    web = load_demo_web()
    if site not in web.sites:
        raise ValueError(f"unknown demo site {site!r}; expected one of {sorted(web.sites)}")
    web.sites[site].base = base_url.rstrip("/")
    return Router(web, web.sites[site])


def build_site(site: str, base_url: str) -> dict[str, Page]:
    """Every page of one demo site, keyed by URL path; absolute URLs start with base_url."""
    return _router(site, base_url).pages()


def article_urls(site: str, base_url: str) -> list[str]:
    """Absolute URLs of the site's article pages, newest first (what a crawl should archive)."""
    demo_site = _router(site, base_url).site
    return [demo_site.url(story.path) for story in demo_site.newest]


def not_found_page(site: str, base_url: str) -> Page:
    """The site's HTML 404 page, served for every unknown path."""
    return _router(site, base_url).not_found()


def resolve(pages: Mapping[str, Page], not_found: Page, target: str) -> Page:
    """The response for a request target, with the lenience of a typical news CMS."""
    found = resolve_target(pages, target, slash_redirect=True)
    if isinstance(found, Response):
        return found
    return pages[found[0]] if found is not None else not_found


@dataclass
class DemoServer:
    """Running demo sites; `base_urls` maps each site to the URL it is actually served on."""

    base_urls: dict[str, str]
    _server: LoopbackServer

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(sites: dict[str, tuple[str, int]], verbose: bool = False) -> DemoServer:
    """Serve each site on its (host, port) from a daemon thread; port 0 picks a free port."""
    server = LoopbackServer(SERVER_HEADER, send_date=True, access_log=verbose).start()
    demo = DemoServer({}, server)
    try:
        for site, (host, port) in sites.items():
            router = _router(site)
            # bind first so port 0 works: the pages need the real port in their absolute URLs
            bound = server.listen(host, port,
                                  lambda request, router=router: router.respond(request.target))
            router.site.base = demo.base_urls[site] = f"http://{host}:{bound}"
            router.freeze()
    except BaseException:
        demo.stop()
        raise
    return demo


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the demo news sites for browsing.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8741,
                        help="harbourtown's port; valleycourier gets the next one")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    sites = {"harbourtown": (args.host, args.port), "valleycourier": (args.host, args.port + 1)}
    demo = serve(sites, verbose=not args.quiet)
    for site, url in demo.base_urls.items():
        print(f"{PUBLICATIONS[site]}: {url}/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
