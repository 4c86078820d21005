"""Section and tag pages: listings split into pages, each with a pager and its head links.

A site lists a section's stories from ``section_pages`` (explicit slugs per page) or by
``section_pick`` (a pick rule, then ``page_size`` a page); tags by ``tag_pick``. The theme's
``section_*`` and ``tag_*`` templates (title, main, head, description, body_class) draw them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from testkit.fakeweb.layout import page
from testkit.fakeweb.listing import Paging, Query, chunks, listing_routes, teasers
from testkit.fakeweb.picks import pick
from testkit.fakeweb.response import Response, respond
from testkit.fakeweb.site import Site, Web
from testkit.fakeweb.story import Story
from testkit.fakeweb.views import site_values

Handler = Callable[[Query], Response]


def _listing_page(web: Web, site: Site, kind: str, n: int, stories: list[Story],
                  paging: Paging, queries: dict[str, str] | None = None,
                  **values: Any) -> Response:
    theme = site.theme
    suffix = theme.fill("page_suffix", n=n) if n > 1 and theme.has("page_suffix") else ""
    values = {**site_values(web, site), **paging.values(n), **values, "page_suffix": suffix,
              "teasers": teasers(web, site, stories, queries=queries),
              "pager": paging.pager(n), "head_links": paging.head_links(n)}
    extra = {key: theme.fill(f"{kind}_{key}", **values)
             for key in ("description", "body_class") if theme.has(f"{kind}_{key}")}
    head = theme.fill(f"{kind}_head", **values) if theme.has(f"{kind}_head") else ""
    doc = page(web, site, title=theme.fill(f"{kind}_title", **values), path=paging.path(n),
               og_type="website", main=theme.fill(f"{kind}_main", **values), head=head,
               current=values.get("key") if kind == "section" else None, **extra)
    return respond(theme, "page", doc)


def _section_stories(site: Site, key: str) -> list[list[Story]]:
    if "section_pages" in site.table:
        return [site.stories_by_slug(slugs) for slugs in site.section_pages[key]]
    stories = [s for s in pick(site, site.section_pick) if s.section == key]
    return chunks(stories, site.page_size)


def section_routes(web: Web, site: Site, not_found: Callable[[], Response]
                   ) -> dict[str, Handler]:
    routes: dict[str, Handler] = {}
    for key in site.sections:
        base = site.table.get("section_path", "/{key}/").format(key=key)
        routes.update(listing_routes(
            site, base, key, _section_stories(site, key), site.paging,
            lambda n, stories, paging, key=key: _listing_page(
                web, site, "section", n, stories, paging, site.table.get("section_queries"),
                key=key, label=site.label(key)),
            not_found))
    return routes


def tag_routes(web: Web, site: Site, not_found: Callable[[], Response]) -> dict[str, Handler]:
    if "tag_pick" not in site.table:
        return {}
    rule = site.tag_pick
    routes: dict[str, Handler] = {}
    for tag in site.tags:
        pages = chunks(pick(site, rule, tag=tag), rule.get("page_size", 10**9))
        routes.update(listing_routes(
            site, f"/tag/{tag}/", tag, pages, rule.get("paging", site.paging),
            lambda n, stories, paging, tag=tag: _listing_page(
                web, site, "tag", n, stories, paging, tag=tag),
            not_found))
    return routes
