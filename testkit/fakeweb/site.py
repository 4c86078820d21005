"""Sites and webs: a site's definition (a TOML table), its stories and theme; a web of sites.

A site table names its ``theme``, its ``article_path`` pattern and whatever its theme's
templates and the renderers read: section labels, brand texts, which stories a page lists.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

from testkit.fakeweb.dates import Moment
from testkit.fakeweb.state import StoryState
from testkit.fakeweb.story import Story, load_stories
from testkit.fakeweb.template import Theme, load_theme


class Site:
    """One site of a web; ``base`` is set once its listener is bound."""

    def __init__(self, key: str, table: dict[str, Any], stories: list[Story]) -> None:
        self.key = key
        self.table = table
        self.name: str = table["name"]
        self.theme: Theme = load_theme(table["theme"])
        self.stories = stories
        self.base = ""
        self._by_slug = {story.slug: story for story in stories}

    def __getattr__(self, name: str) -> Any:
        # templates read the site's own data as attributes: {site.tagline}
        try:
            return self.__dict__["table"][name]
        except KeyError:
            raise AttributeError(name) from None

    def url(self, path: str) -> str:
        return self.base + path

    def story(self, slug: str) -> Story:
        return self._by_slug[slug]

    def find(self, slug: str) -> Story | None:
        return self._by_slug.get(slug)

    def stories_by_slug(self, slugs: Iterable[str]) -> list[Story]:
        return [self._by_slug[slug] for slug in slugs]

    def label(self, section: str) -> str:
        labels = self.table.get("section_labels", {})
        return labels.get(section, self.table.get("default_label", section))

    @property
    def sections(self) -> list[str]:
        return list(self.table.get("sections", ()))

    @property
    def tags(self) -> list[str]:
        return sorted({tag for story in self.stories for tag in story.tags})

    @cached_property
    def newest(self) -> list[Story]:
        return sorted(self.stories, key=lambda s: s.published_at, reverse=True)

    @property
    def epoch(self) -> Moment:
        """The site's fixed date for files that never change (robots.txt, documents)."""
        return Moment.parse(self.table["epoch"])


class Web:
    """Sites that link to each other, with the one state of all their stories."""

    def __init__(self, sites: dict[str, Site]) -> None:
        self.sites = sites
        self.state = StoryState(s for site in sites.values() for s in site.stories)

    @property
    def bases(self) -> dict[str, str]:
        return {key: site.base for key, site in self.sites.items()}

    def url_of(self, story: Story) -> str:
        return self.sites[story.site].base + story.path

    def find(self, slug: str, sites: Iterable[str] | None = None) -> Story:
        """The first story called ``slug`` on ``sites`` (default: all, in order)."""
        for key in sites or self.sites:
            story = self.sites[key].find(slug)
            if story is not None:
                return story
        raise KeyError(f"no story {slug!r}")

    def current(self, story: Story) -> tuple[tuple[str, ...], Moment]:
        paragraphs, modified = self.state.get(story)
        return paragraphs, Moment(modified)

    def modified(self, stories: Iterable[Story]) -> Moment:
        """The latest modification among ``stories``."""
        return Moment(max(self.state.get(story)[1] for story in stories))


def load_web(sites_file: Path, stories_file: Path) -> Web:
    """The web defined by a sites TOML file (a table per site under [sites], shared values in
    [defaults]) and a stories JSON file."""
    with sites_file.open("rb") as stream:
        data = tomllib.load(stream)
    # [defaults] holds what every site of the web shares (theme, comments...)
    tables = {key: {**data.get("defaults", {}), **table} for key, table in data["sites"].items()}
    patterns = {key: table["article_path"] for key, table in tables.items()}
    stories = load_stories(stories_file, patterns)
    return Web({key: Site(key, table, [s for s in stories if s.site == key])
                for key, table in tables.items()})

