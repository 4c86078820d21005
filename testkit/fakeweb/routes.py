"""A site's routes, from its table: home, sections, tags, articles, AMP copies and ``files``
(feeds, sitemaps, robots.txt, documents, redirects, error pages, plain template pages).

``Router.respond`` answers a request target: by path (the query goes to the handler), then,
where the site says ``slash_redirect``, a 301 to the path with a slash, then a ``fallback``
(pages computed rather than listed), then the site's not-found page.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any
from urllib.parse import parse_qs, urlsplit

from testkit.fakeweb.article import amp_page, article_page
from testkit.fakeweb.feeds import feed
from testkit.fakeweb.home import home_page
from testkit.fakeweb.layout import template_page
from testkit.fakeweb.listing import Query
from testkit.fakeweb.pdf import pdf_bytes
from testkit.fakeweb.response import Response, redirect, respond
from testkit.fakeweb.sections import section_routes, tag_routes
from testkit.fakeweb.site import Site, Web
from testkit.fakeweb.sitemaps import sitemap
from testkit.fakeweb.views import site_values

Handler = Callable[[Query], Response]
Fallback = Callable[[str], Response | None]


def _file(web: Web, site: Site, path: str, spec: dict[str, Any]) -> Callable[[], Response]:
    """The renderer of one ``files`` entry."""
    kind = spec["kind"]
    dated = site.epoch if "epoch" in site.table else None
    if kind in ("rss", "atom"):
        return lambda: feed(web, site, spec)
    if kind in ("urlset", "sitemap_index", "news_sitemap"):
        return lambda: sitemap(web, site, spec)
    if kind == "robots":
        return lambda: respond(site.theme, "robots", site.theme.fill_text(
            spec["text"], **site_values(web, site)), modified=dated)
    if kind == "pdf":
        body = pdf_bytes(spec["title"], spec["lines"], spec.get("producer", "fakeweb"))
        return lambda: respond(site.theme, "pdf", body, "application/pdf", modified=dated)
    if kind == "redirect":
        return lambda: redirect(web.url_of(web.find(spec["to"])))
    if kind == "error":
        return lambda: respond(site.theme, "error", spec["text"], status=spec["status"])
    if kind == "page":
        return lambda: template_page(web, site, spec["template"], path)
    raise ValueError(f"unknown file kind {kind!r} for {path}")


def resolve_target(paths: Container[str], target: str, slash_redirect: bool
                   ) -> tuple[str, Query] | Response | None:
    """The known path a request target stands for, with its query; a 301 to the path with a
    slash where only that is known and ``slash_redirect``; None for an unknown path."""
    parts = urlsplit(target)
    if parts.path in paths:
        return parts.path, parse_qs(parts.query)
    slashed = parts.path + "/"
    if slash_redirect and not parts.path.endswith("/") and slashed in paths:
        return redirect(slashed, with_body=False)
    return None


class Router:
    """Every page of one site, rendered on request from the web's current state."""

    def __init__(self, web: Web, site: Site, fallback: Fallback | None = None) -> None:
        self.web = web
        self.site = site
        self.fallback = fallback
        self._frozen_not_found: Response | None = None
        self.routes: dict[str, Handler] = {"/": lambda query: home_page(web, site)}
        self.routes.update(section_routes(web, site, self.not_found))
        self.routes.update(tag_routes(web, site, self.not_found))
        # a site whose article pages come from elsewhere (a fallback) says article_pages = false
        for story in site.stories if site.table.get("article_pages", True) else ():
            self.routes[story.path] = lambda query, story=story: article_page(web, site, story)
        for slug in site.table.get("amp", ()):
            path = site.amp_path.format(slug=slug)
            self.routes[path] = lambda query, slug=slug: amp_page(web, site, site.story(slug))
        for path, spec in site.table.get("files", {}).items():
            render = _file(web, site, path, spec)
            self.routes[path] = lambda query, render=render: render()

    def not_found(self) -> Response:
        if self._frozen_not_found is not None:
            return self._frozen_not_found
        theme = self.site.theme
        if theme.has("not_found_main"):
            return template_page(self.web, self.site, "not_found", None, "not_found", 404)
        return respond(theme, "not_found", theme.fill("not_found"), status=404)

    def respond(self, target: str) -> Response:
        found = resolve_target(self.routes, target, self.site.table.get("slash_redirect", False))
        if isinstance(found, Response):
            return found
        if found is not None:
            path, query = found
            return self.routes[path](query)
        page = self.fallback(urlsplit(target).path) if self.fallback else None
        return page if page is not None else self.not_found()

    def pages(self) -> dict[str, Response]:
        """Every listed page, rendered now, keyed by path (``?page=N`` pages not included)."""
        return {path: handler({}) for path, handler in self.routes.items()}

    def freeze(self) -> Router:
        """Render every listed page once and serve those bytes from now on (for a web that
        never changes while it runs, and to keep rendering off the clock of a benchmark)."""
        self.routes = {path: (lambda query, page=page: page)
                       for path, page in self.pages().items()}
        self._frozen_not_found = self.not_found()
        return self
