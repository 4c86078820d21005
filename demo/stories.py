"""Fictional content of the demo news sites, kept apart from the HTML so tests can check both.

Every town, person, business and event here is invented. The stories are ``content/stories.json``
and the sites (names, sections, brand texts, comments, chrome markers) ``content/sites.toml``;
this module only reads them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from testkit.fakeweb.site import Web, load_web
from testkit.fakeweb.story import Story

CONTENT = Path(__file__).parent / "content"
SITES_FILE = CONTENT / "sites.toml"


def load_demo_web() -> Web:
    """A fresh web of both demo sites (no base URLs yet)."""
    return load_web(SITES_FILE, CONTENT / "stories.json")


_WEB = load_demo_web()
with SITES_FILE.open("rb") as _stream:
    _MARKERS = tomllib.load(_stream)["markers"]

PUBLICATIONS: dict[str, str] = {key: site.name for key, site in _WEB.sites.items()}
# Navigation order of each site's sections.
SECTIONS: dict[str, tuple[str, ...]] = {key: tuple(site.sections)
                                        for key, site in _WEB.sites.items()}
STORIES: dict[str, list[Story]] = {key: list(site.stories) for key, site in _WEB.sites.items()}
# Reader comments shown under articles; each is boilerplate for extraction purposes.
COMMENTS: tuple[tuple[str, str], ...] = tuple(
    (name, text) for name, text in _WEB.sites["harbourtown"].comments)
# Page chrome present on every article page of both sites, never part of an article body.
CHROME_MARKERS: tuple[str, ...] = tuple(_MARKERS["chrome"])
BOILERPLATE_MARKERS: list[str] = [*CHROME_MARKERS, *(text for _, text in COMMENTS)]

__all__ = ["BOILERPLATE_MARKERS", "CHROME_MARKERS", "COMMENTS", "PUBLICATIONS", "SECTIONS",
           "STORIES", "Story", "load_demo_web"]
