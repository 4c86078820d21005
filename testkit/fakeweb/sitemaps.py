"""Sitemaps: a urlset (plain or as a .gz file), a sitemap index, a Google News sitemap.

A spec (a site's ``files`` entry) has ``kind`` (``urlset``, ``sitemap_index`` or
``news_sitemap``: the theme templates of those names and their ``_item``s) and ``stories`` (a
pick rule); a urlset may also list ``pages`` (listing paths) and be ``gzip``ped, an index
names its ``children``. Each file is as new as the newest story it stands for.
"""

from __future__ import annotations

import gzip
from typing import Any

from testkit.fakeweb.picks import pick
from testkit.fakeweb.response import Response, respond
from testkit.fakeweb.site import Site, Web
from testkit.fakeweb.views import site_values, views


def sitemap(web: Web, site: Site, spec: dict[str, Any]) -> Response:
    kind = spec["kind"]
    theme = site.theme
    stories = pick(site, spec["stories"])
    updated = web.modified(stories)
    common = site_values(web, site)
    if kind == "sitemap_index":
        items = theme.each("sitemap_index_item", [{"url": site.url(path), "updated": updated}
                                                  for path in spec["children"]], **common)
    else:
        items = theme.each(f"{kind}_item", views(web, stories), **common)
    pages = theme.each("urlset_page", [{"url": site.url(path)} for path in spec.get("pages", ())])
    text = theme.fill(kind, items=items, pages=pages, updated=updated, **common)
    if spec.get("gzip"):
        # mtime=0 keeps the bytes, and so the ETag, stable while nothing changes
        return respond(theme, "sitemap_gz", gzip.compress(text.encode("utf-8"), mtime=0),
                       content_type="application/x-gzip", modified=updated)
    return respond(theme, "sitemap", text, modified=updated)
