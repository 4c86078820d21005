"""Feeds: RSS 2.0 and Atom, listing the stories a site's feed spec picks.

A spec (a site's ``files`` entry) has ``kind`` (``rss`` or ``atom``: the theme templates
``<kind>`` and ``<kind>_item``), ``stories`` (a pick rule) and optional ``queries`` (slug ->
tracking parameters on that item's link). The feed is as new as its newest story.
"""

from __future__ import annotations

from typing import Any

from testkit.fakeweb.picks import pick
from testkit.fakeweb.response import Response, respond
from testkit.fakeweb.site import Site, Web
from testkit.fakeweb.views import site_values, views


def feed(web: Web, site: Site, spec: dict[str, Any]) -> Response:
    kind = spec["kind"]
    stories = pick(site, spec["stories"])
    updated = web.modified(stories)
    items = site.theme.each(f"{kind}_item", views(web, stories, spec.get("queries")),
                            **site_values(web, site))
    text = site.theme.fill(kind, items=items, updated=updated, **site_values(web, site))
    return respond(site.theme, kind, text, modified=updated)
