"""Views: a story as a template sees it on one site right now (raw values; templates escape)."""

from __future__ import annotations

import zlib
from typing import Any

from testkit.fakeweb.dates import Moment
from testkit.fakeweb.site import Site, Web
from testkit.fakeweb.story import Story


class StoryView:
    """The fields templates use: ``{s.headline!t}``, ``{s.url}``, ``{s.when:%H:%M}``..."""

    def __init__(self, web: Web, story: Story, query: str = "") -> None:
        site = web.sites[story.site]
        paragraphs, modified = web.current(story)
        self.story = story
        self.slug = story.slug
        self.headline = story.headline
        self.standfirst = story.standfirst or ""
        self.summary = story.standfirst or (paragraphs[0] if paragraphs else "")
        self.author = story.author
        self.section = story.section
        self.label = site.label(story.section)
        self.published = story.published
        self.when = Moment.parse(story.published)
        self.modified = modified
        self.path = story.path
        self.url = web.url_of(story)
        self.link = self.url + query  # the URL as a page links it, tracking parameters and all
        self.href = story.path + query
        self.paragraphs = paragraphs
        # a CMS's numeric post id: stable per site and slug
        self.post_id = 1000 + zlib.crc32(f"{story.site}/{story.slug}".encode()) % 9000


def views(web: Web, stories: list[Story], queries: dict[str, str] | None = None
          ) -> list[dict[str, Any]]:
    """One ``{"s": view}`` per story, for ``Theme.each``; ``queries`` adds one to some slugs."""
    return [{"s": StoryView(web, story, (queries or {}).get(story.slug, ""))}
            for story in stories]


def site_values(web: Web, site: Site) -> dict[str, Any]:
    """What every template of a site may use: the site itself and every site's base URL."""
    return {"site": site, "bases": web.bases}
