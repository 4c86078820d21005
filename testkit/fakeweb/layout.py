"""An HTML page in its site's chrome: the theme's ``page`` template around a page's main part.

The chrome parts a theme may show (section menu, "most read", footer links, today's date)
are filled in here, the same for every page of the site; ``current`` marks the open section.
"""

from __future__ import annotations

from typing import Any

from testkit.fakeweb.dates import Moment
from testkit.fakeweb.picks import pick
from testkit.fakeweb.response import Response, respond
from testkit.fakeweb.site import Site, Web
from testkit.fakeweb.views import site_values, views


def _nav(site: Site, current: str | None) -> str:
    theme = site.theme
    marked = "nav_current" if theme.has("nav_current") else "nav_item"
    items = [theme.fill(marked if section == current else "nav_item",
                        section=section, label=site.label(section)) for section in site.sections]
    return theme.separators.get("nav_item", "\n").join(items)


def chrome(web: Web, site: Site, current: str | None) -> dict[str, Any]:
    """The chrome values the site's theme has templates for."""
    theme = site.theme
    values: dict[str, Any] = {}
    if theme.has("nav_item"):
        values["nav"] = _nav(site, current)
    if theme.has("most_read_item"):
        values["most_read"] = theme.each("most_read_item",
                                         views(web, pick(site, site.most_read)),
                                         **site_values(web, site))
    if theme.has("footer_section"):
        values["footer_sections"] = theme.each(
            "footer_section", [{"section": s, "label": site.label(s)} for s in site.sections])
    if site.stories:
        values["today"] = Moment(site.newest[0].published_at)
    return values


def page(web: Web, site: Site, *, title: str, path: str | None, og_type: str, main: str,
         head: str = "", current: str | None = None, **values: Any) -> str:
    """The whole document; ``path`` None leaves out the canonical link (error pages)."""
    theme = site.theme
    canonical = "" if path is None else theme.fill("canonical", url=site.url(path))
    return theme.fill("page", title=title, og_title=title.split(" | ")[0], og_type=og_type,
                      canonical=canonical, head=head, main=main, **chrome(web, site, current),
                      **site_values(web, site), **values)


def template_page(web: Web, site: Site, name: str, path: str | None, kind: str = "page",
                  status: int = 200, **values: Any) -> Response:
    """A page whose main part is the theme's ``<name>_main`` template and whose title is its
    ``<name>_title``: about, search, error pages. Optional ``<name>_head``, ``<name>_class``."""
    theme = site.theme
    common = {**site_values(web, site), **values}
    extra = {key: theme.fill(f"{name}_{key}", **common)
             for key in ("head", "body_class", "description") if theme.has(f"{name}_{key}")}
    doc = page(web, site, title=theme.fill(f"{name}_title", **common), path=path,
               og_type="website", main=theme.fill(f"{name}_main", **common), **extra)
    return respond(theme, kind, doc, status=status)
