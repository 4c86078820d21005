"""Cheap polling: what a site's previous clean run left for the next one.

Per site, ``state/poll/site=NAME.json`` holds the HTTP validators (ETag, Last-Modified) of its
entry points (start pages, feeds, sitemaps) and a watermark: the start time of the last run that
finished cleanly. The next run asks with If-None-Match / If-Modified-Since and stops at a 304,
and skips feed and sitemap entries whose date is older than the watermark. The state is saved
only after a run that finished normally without hitting its page budget, so an interrupted run
can never make a later one skip what it did not fetch. Sitemap indexes are always fetched in
full: many do not change their own validators when a child sitemap changes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field

from archive.keys import poll_state_key
from archive.storage import Storage, StorageError

logger = logging.getLogger(__name__)
# lastmod values are often rounded or late: only entries clearly older than the last run are
# skipped
WATERMARK_MARGIN = dt.timedelta(hours=1)


def parse_date(value: str | None) -> dt.datetime | None:
    """An ISO 8601 date or date-time as aware UTC; a bare date counts as the end of that day."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass
class PollState:
    watermark: dt.datetime | None = None
    validators: dict[str, dict[str, str]] = field(default_factory=dict)

    def conditional_headers(self, url: str) -> dict[str, str]:
        saved = self.validators.get(url, {})
        headers = {}
        if saved.get("etag"):
            headers["If-None-Match"] = saved["etag"]
        if saved.get("last_modified"):
            headers["If-Modified-Since"] = saved["last_modified"]
        return headers

    def is_old(self, published: str | None) -> bool:
        """True when a listed entry's date says it predates the last clean run."""
        moment = parse_date(published)
        return bool(self.watermark and moment and moment < self.watermark - WATERMARK_MARGIN)

    def to_json(self) -> bytes:
        return json.dumps({"watermark": self.watermark.isoformat() if self.watermark else None,
                           "validators": self.validators}, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> PollState:
        raw = json.loads(data)
        return cls(parse_date(raw.get("watermark")), dict(raw.get("validators") or {}))


def load_poll_state(storage: Storage, site: str) -> PollState:
    try:
        return PollState.from_json(storage.get_bytes(poll_state_key(site)))
    except FileNotFoundError:
        return PollState()
    except (ValueError, StorageError, OSError) as exc:
        logger.warning("poll state of %s unreadable, polling everything: %s", site, exc)
        return PollState()
