"""Which stories (or comments) a page shows, by a rule a site table names.

A rule is a table: ``pick`` is one of ``slugs`` (the listed ``slugs``), ``own`` (the site's
originals, in data order), ``copies`` (its syndicated copies), ``newest``, ``listed``
(data order), ``hash`` (a stable shuffle by slug, like a "most read" widget), or ``tagged``
(with ``tag``, among ``slugs``); ``skip`` and ``limit`` then cut the list, ``last`` keeps only
its last N.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from testkit.fakeweb.site import Site
from testkit.fakeweb.story import Story


def _crc(text: str) -> int:
    return zlib.crc32(text.encode())


def pick(site: Site, rule: dict[str, Any], tag: str | None = None) -> list[Story]:
    kind = rule["pick"]
    if kind in ("slugs", "tagged"):
        stories = site.stories_by_slug(rule["slugs"])
    elif kind == "own":
        stories = [s for s in site.stories if s.syndicated_from is None]
    elif kind == "copies":
        stories = [s for s in site.stories if s.syndicated_from is not None]
    elif kind == "newest":
        stories = site.newest
    elif kind == "listed":
        stories = list(site.stories)
    elif kind == "hash":
        stories = sorted(site.stories, key=lambda s: _crc(s.slug))
    else:
        raise ValueError(f"unknown pick rule {kind!r}")
    if tag is not None:
        stories = [s for s in stories if tag in s.tags]
    skip = rule.get("skip", 0)
    limit = rule.get("limit")
    stories = stories[skip:None if limit is None else skip + limit]
    return stories[-rule["last"]:] if "last" in rule else stories


def related(site: Site, story: Story, rule: dict[str, Any]) -> list[Story]:
    """Stories shown next to ``story``: from a rule's list (``pick``, minus itself), or
    ``same-section`` first then newest, as CMS "related" boxes do."""
    if rule["pick"] == "same-section":
        others = [s for s in site.stories if s.slug != story.slug]
        others.sort(key=lambda s: (s.section != story.section, -s.published_at.timestamp()))
    else:
        others = [s for s in pick(site, {**rule, "limit": None}) if s.slug != story.slug]
    return others[:rule.get("limit")]


def comments(story: Story, all_comments: Sequence[Sequence[str]], rule: str
             ) -> list[dict[str, Any]]:
    """Reader comments under ``story``: ``all`` of them, or ``hash``: two or three chosen by
    the slug, each with a stable comment id."""
    if rule == "all":
        chosen = list(enumerate(all_comments))
        return [{"name": name, "text": text, "id": i} for i, (name, text) in chosen]
    seed = _crc(story.slug)
    count = 2 + seed % 2
    return [{"name": all_comments[(seed + i) % len(all_comments)][0],
             "text": all_comments[(seed + i) % len(all_comments)][1], "id": seed % 9000 + i}
            for i in range(count)]
