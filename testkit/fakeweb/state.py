"""The part of a fake web that changes while it runs: each story's body and modification time."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable

from testkit.fakeweb.story import Story


def story_key(story: Story) -> str:
    return f"{story.site}/{story.slug}"


class StoryState:
    """Current paragraphs and Last-Modified of every story, safe to change from another thread."""

    def __init__(self, stories: Iterable[Story]) -> None:
        stories = list(stories)
        self._lock = threading.Lock()
        self._paragraphs = {story_key(s): s.paragraphs for s in stories}
        self._modified = {story_key(s): s.published_at for s in stories}

    def get(self, story: Story) -> tuple[tuple[str, ...], dt.datetime]:
        key = story_key(story)
        with self._lock:
            return self._paragraphs[key], self._modified[key]

    def update(self, story: Story, paragraphs: tuple[str, ...]) -> None:
        key = story_key(story)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        with self._lock:
            # HTTP dates have one-second resolution: every update must move Last-Modified on
            later = self._modified[key] + dt.timedelta(seconds=1)
            self._paragraphs[key] = paragraphs
            self._modified[key] = max(now, later)
