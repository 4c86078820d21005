"""Listing pages: teaser lists, and sections or tags split into pages with a pager.

Pages are numbered from 1. A site's ``paging`` says how page N is addressed: ``query``
(``/world/?page=N``, the pager linking relatively with ``?page=N``), ``single`` (one page), or a
path pattern such as ``{base}page/{n}/`` or ``/section/{key}/{n}`` (page 1 of a ``{base}``
pattern is the base itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from testkit.fakeweb.site import Site, Web
from testkit.fakeweb.story import Story
from testkit.fakeweb.views import StoryView, site_values

Query = dict[str, list[str]]


def teasers(web: Web, site: Site, stories: Sequence[Story], template: str = "teaser",
            queries: dict[str, str] | None = None, variants: dict[str, str] | None = None,
            sep: str | None = None) -> str:
    """One teaser per story; ``queries`` adds tracking parameters to some slugs' links,
    ``variants`` gives some slugs another template, ``sep`` overrides the theme's separator."""
    theme = site.theme
    items = [theme.fill((variants or {}).get(s.slug, template), **site_values(web, site),
                        s=StoryView(web, s, (queries or {}).get(s.slug, "")))
             for s in stories]
    return (theme.separators.get(template, "\n") if sep is None else sep).join(items)


def chunks(stories: Sequence[Story], size: int) -> list[list[Story]]:
    """``stories`` in pages of ``size``; an empty list still makes one (empty) page."""
    pages = [list(stories[i:i + size]) for i in range(0, len(stories), size)]
    return pages or [[]]


class Paging:
    """Where page N of a listing lives, and its pager."""

    def __init__(self, site: Site, base: str, key: str, total: int, style: str) -> None:
        self.site = site
        self.base = base  # page 1's path
        self.key = key
        self.total = total
        self.style = style

    def path(self, n: int) -> str:
        if n == 1 and (self.style in ("query", "single") or "{base}" in self.style):
            return self.base
        if self.style == "query":
            return f"{self.base}?page={n}"
        return self.style.format(base=self.base, key=self.key, n=n)

    def href(self, n: int) -> str:
        """The pager's link to page ``n``."""
        # relative "?page=N" hrefs on purpose: crawlers must resolve query-only references
        if self.style == "query" and n != 1:
            return f"?page={n}"
        return self.path(n)

    def values(self, n: int) -> dict[str, Any]:
        values: dict[str, Any] = {"n": n, "total": self.total, "path": self.path(n)}
        for name, other in (("prev", n - 1), ("next", n + 1)):
            if 1 <= other <= self.total:
                values[f"{name}_path"] = self.path(other)
                values[f"{name}_href"] = self.href(other)
                values[f"{name}_url"] = self.site.url(self.path(other))
        return values

    def _parts(self, prefix: str, values: dict[str, Any]) -> list[str]:
        theme = self.site.theme
        # a theme without a prev (or count) template shows none
        wanted = [("prev", "prev_path" in values), ("count", True), ("next", "next_path" in values)]
        return [theme.fill(f"{prefix}_{part}", **values) for part, shown in wanted
                if shown and theme.has(f"{prefix}_{part}")]

    def pager(self, n: int) -> str:
        theme = self.site.theme
        values = self.values(n)
        parts = theme.separators.get("pager", "\n").join(self._parts("pager", values))
        return theme.fill("pager", parts=parts, **values)

    def head_links(self, n: int) -> str:
        parts = self._parts("head", self.values(n))
        return self.site.theme.separators.get("head_links", "\n").join(parts)


def listing_routes(site: Site, base: str, key: str, pages: list[list[Story]], style: str,
                   render: Callable[[int, list[Story], Paging], Any],
                   not_found: Callable[[], Any]) -> dict[str, Callable[[Query], Any]]:
    """Routes for every page of a listing: one path reading ``?page=`` for the ``query``
    style (any other value: ``not_found``), one path ignoring its query for ``single`` (one
    page only), one path per page otherwise."""
    paging = Paging(site, base, key, len(pages), style)
    if style == "single":
        return {base: lambda query: render(1, pages[0], paging)}
    if style == "query":
        def by_query(query: Query) -> Any:
            try:
                n = int(query.get("page", ["1"])[0])
            except ValueError:
                return not_found()
            return render(n, pages[n - 1], paging) if 1 <= n <= len(pages) else not_found()
        return {base: by_query}
    return {paging.path(n): (lambda query, n=n: render(n, pages[n - 1], paging))
            for n in range(1, len(pages) + 1)}
