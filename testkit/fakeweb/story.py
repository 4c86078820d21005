"""Stories: the articles of a fake web, read from a JSON file.

Each entry is one article of one site. An entry with ``copy_of`` ("site/slug") is a
syndicated copy: the original's text with one ``add_line`` (first or last), republished under
the copying site's own URL and date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Story:
    """One article; ``paragraphs`` is the exact body a good extractor should return."""

    site: str
    slug: str
    section: str
    headline: str
    author: str
    published: str  # ISO 8601 with UTC offset
    paragraphs: tuple[str, ...]
    path: str
    standfirst: str | None = None
    tags: tuple[str, ...] = ()
    syndicated_from: str | None = None  # site key of the original, for syndicated copies
    added_line: str | None = None  # the one paragraph a syndicated copy adds

    @property
    def published_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.published)

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def article_path(pattern: str, entry: dict[str, Any]) -> str:
    """The URL path of an entry: its own ``path``, or ``pattern`` with {section}, {date}
    (the publication's local date as YYYY/MM/DD) and {slug}."""
    if "path" in entry:
        return entry["path"]
    date = entry["published"][:10].replace("-", "/")
    return pattern.format(section=entry["section"], date=date, slug=entry["slug"])


def _copy(original: Story, entry: dict[str, Any], path_patterns: dict[str, str]) -> Story:
    line = entry["add_line"]
    paragraphs = ((line, *original.paragraphs) if entry.get("line_first")
                  else (*original.paragraphs, line))
    section = entry.get("section", original.section)
    fields = {"section": section, "slug": original.slug, "published": entry["published"]}
    return dataclasses.replace(
        original, site=entry["site"], section=section, published=entry["published"],
        paragraphs=paragraphs, syndicated_from=original.site, added_line=line,
        path=article_path(path_patterns[entry["site"]], {**fields, **entry}))


def load_stories(path: Path, path_patterns: dict[str, str]) -> list[Story]:
    """Every story in the JSON file at ``path``, in file order; ``path_patterns`` gives each
    site's article path pattern."""
    stories: list[Story] = []
    by_key: dict[str, Story] = {}
    for entry in json.loads(path.read_text(encoding="utf-8")):
        if "copy_of" in entry:
            story = _copy(by_key[entry["copy_of"]], entry, path_patterns)
        else:
            story = Story(
                site=entry["site"], slug=entry["slug"], section=entry["section"],
                headline=entry["headline"], author=entry["author"],
                published=entry["published"], paragraphs=tuple(entry["paragraphs"]),
                path=article_path(path_patterns[entry["site"]], entry),
                standfirst=entry.get("standfirst"), tags=tuple(entry.get("tags", ())))
        stories.append(story)
        by_key[f"{story.site}/{story.slug}"] = story
    return stories
