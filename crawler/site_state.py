"""What the archive remembers of a site's fetches, and the revisit policy that reads it.

One object per site, ``state/fetch/site=NAME.json.gz`` (``archive/keys.py``), holds:

- **hot entries**, per URL fetched: its kind (``entry`` point, ``article``, other ``page``,
  ``gone``, ``redirect``, or ``too_old`` / ``other_language``: refused by the site's
  filters), last status, validators (ETag, Last-Modified), the payload digest and WARC-Date
  of its last full capture (what a revisit record refers to), and when it was first
  fetched, last fetched and last changed (run clock, epoch seconds);
- **the seen set**: URLs past their last revisit, compacted to 8-byte hashes grouped by the
  month of their last fetch, so a sitemap ``lastmod`` after that month still brings one back;
- **the frontier**: URLs discovered and not fetched (page budget, SIGTERM), newest first,
  each with its listing date, link depth and whether a feed or sitemap listed it.

The policy (:meth:`SiteState.decide`): entry points are fetched every run (conditionally);
an unknown URL is new; an article is due again at each step of its schedule counted from its
first fetch (default 1 h, 6 h, 1 d, 3 d, 7 d, then never), a non-article page once a day, a
gone URL (404, 410, refused by robots.txt), a redirect or a page the site's filters refused
after each step of the retry schedule since its last try; a listing date (sitemap
``lastmod``, feed date) newer than the last fetch makes any URL due at once (but a gone or a
refused one). What one run reads and writes stays small whatever the archive's
age: the hot part holds about a week of articles, and the seen set grows by 8 bytes per
article.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import email.utils
import gzip
import hashlib
import json
import math
from dataclasses import dataclass, field

FORMAT = 1
ENTRY, ARTICLE, PAGE, GONE, REDIRECT = "entry", "article", "page", "gone", "redirect"
# pages fetched and not archived by the site's filters (older than its date window, in a
# language outside its list): retried as rarely as gone URLs, so such a page costs a fetch
# a day, a week, a month after the last try rather than one every run
TOO_OLD, OTHER_LANGUAGE = "too_old", "other_language"
FILTERED = (TOO_OLD, OTHER_LANGUAGE)
RETRIED = (GONE, REDIRECT, *FILTERED)  # on the retry_gone_hours schedule
# a hub (section page 2, a tag page) rarely shows what its entry points did not: once a day
PAGE_REVISIT_HOURS = 24.0
# an entry the schedule could not finish (no longer linked, never due in a run) goes to the
# seen set this long after its last step
COLD_GRACE_HOURS = 168.0
# entry points and gone URLs not fetched for this long (no longer configured, no longer
# linked) are forgotten
FORGET_HOURS = 24 * 365.0
HOUR = 3600.0


def url_hash(url: str) -> int:
    """The 8-byte hash a compacted URL is remembered by (1 false "seen" in 2^64 / n)."""
    return int.from_bytes(hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest(), "big")


def month_of(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m")


def _month_end(month: str) -> float:
    year, number = (int(part) for part in month.split("-"))
    last_day = calendar.monthrange(year, number)[1]
    return dt.datetime(year, number, last_day, 23, 59, 59, tzinfo=dt.UTC).timestamp()


def listing_time(value: str | None) -> float | None:
    """A listing's date (ISO 8601, or RSS's RFC 822) as epoch seconds; a bare date is the
    start of that day, so a lastmod of today never claims a change after a fetch made today."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = (dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
                  if len(text) == 10 else dt.datetime.fromisoformat(text))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


@dataclass
class UrlEntry:
    kind: str
    status: int
    first: float
    last: float
    changed: float
    etag: str = ""
    last_modified: str = ""
    digest: str = ""  # WARC-Payload-Digest of the last full capture ("sha1:...")
    capture_date: str = ""  # its WARC-Date: a revisit record's WARC-Refers-To-Date
    tries: int = 0  # failed tries in a row of a gone URL

    def to_list(self) -> list:
        return [self.kind, self.status, round(self.first, 3), round(self.last, 3),
                round(self.changed, 3), self.etag, self.last_modified, self.digest,
                self.capture_date, self.tries]

    @classmethod
    def from_list(cls, raw: list) -> UrlEntry:
        kind, status, first, last, changed, etag, modified, digest, capture, tries = raw
        return cls(str(kind), int(status), float(first), float(last), float(changed),
                   str(etag), str(modified), str(digest), str(capture), int(tries))


@dataclass(frozen=True)
class Policy:
    """A site's schedules, in hours: revisits after the first fetch, retries of gone URLs."""

    revisit_hours: tuple[float, ...]
    retry_gone_hours: tuple[float, ...]


@dataclass(frozen=True)
class Fetch:
    """One response as the WARC writer saw it, for :meth:`SiteState.record`."""

    url: str
    status: int
    etag: str
    last_modified: str
    digest: str
    warc_date: str
    revisit: bool  # written as a revisit record: the body is the last capture's


@dataclass(frozen=True)
class Discovered:
    """A URL found and not fetched yet."""

    url: str
    when: float | None  # the listing's date
    depth: int
    listed: bool  # by a feed or sitemap

    def to_list(self) -> list:
        return [self.url, None if self.when is None else round(self.when), self.depth,
                self.listed]

    @classmethod
    def from_list(cls, raw: list) -> Discovered:
        url, when, depth, listed = raw
        return cls(str(url), None if when is None else float(when), int(depth), bool(listed))


@dataclass
class SiteState:
    urls: dict[str, UrlEntry] = field(default_factory=dict)
    seen: dict[str, set[int]] = field(default_factory=dict)  # month of last fetch -> hashes
    frontier: list[Discovered] = field(default_factory=list)

    # -- the policy -------------------------------------------------------------------------
    def decide(self, url: str, now: float, policy: Policy, listed: float | None = None
               ) -> tuple[bool, str]:
        """(fetch?, reason): ``new``, ``due``, ``lastmod``; or skip ``not_due``, ``gone``,
        ``too_old``, ``other_language``."""
        entry = self.urls.get(url)
        if entry is None:
            month = self._seen_month(url)
            if month is None:
                return True, "new"
            if listed is not None and listed > _month_end(month):
                return True, "lastmod"
            return False, "not_due"
        # listing dates have a resolution of a second at best: one in the second of the last
        # fetch may be a change made just after it
        if listed is not None and listed >= math.floor(entry.last) \
                and entry.kind not in (GONE, *FILTERED):
            return True, "lastmod"
        if self.is_due(entry, now, policy):
            return True, "due"
        return False, entry.kind if entry.kind in (GONE, *FILTERED) else "not_due"

    def filtered(self, url: str) -> str | None:
        """The filter that refused this URL's page when last fetched, if one did."""
        entry = self.urls.get(url)
        return entry.kind if entry is not None and entry.kind in FILTERED else None

    def knows(self, url: str) -> bool:
        """Whether the URL was fetched before (hot, or compacted into the seen set)."""
        return url in self.urls or self._seen_month(url) is not None

    @staticmethod
    def is_due(entry: UrlEntry, now: float, policy: Policy) -> bool:
        if entry.kind == ENTRY:
            return True
        if entry.kind in RETRIED:
            # a moved URL rarely changes where it points, and its target is revisited on
            # its own schedule: asked as rarely as a gone one
            steps = policy.retry_gone_hours
            wait = steps[min(max(entry.tries - 1, 0), len(steps) - 1)]
            return now >= entry.last + wait * HOUR
        if entry.kind == PAGE:
            return now >= entry.last + PAGE_REVISIT_HOURS * HOUR
        passed = [entry.first + hours * HOUR for hours in policy.revisit_hours
                  if entry.first + hours * HOUR <= now]
        return bool(passed) and entry.last < passed[-1]

    def due(self, now: float, policy: Policy) -> list[str]:
        """Known articles and pages whose revisit is due, oldest fetch first. Gone URLs are
        retried only when a page still links them; entry points are fetched anyway."""
        found = [(entry.last, url) for url, entry in self.urls.items()
                 if entry.kind in (ARTICLE, PAGE) and self.is_due(entry, now, policy)]
        return [url for _, url in sorted(found)]

    def _seen_month(self, url: str) -> str | None:
        if not self.seen:
            return None
        value = url_hash(url)
        for month in sorted(self.seen, reverse=True):
            if value in self.seen[month]:
                return month
        return None

    def original(self, url: str) -> UrlEntry | None:
        """The entry whose capture a revisit of ``url`` would refer to."""
        entry = self.urls.get(url)
        return entry if entry and entry.digest and entry.capture_date else None

    def conditional_headers(self, url: str) -> dict[str, str]:
        entry = self.urls.get(url)
        headers = {}
        if entry and entry.kind not in (GONE, *FILTERED) and entry.digest:
            if entry.etag:
                headers["If-None-Match"] = entry.etag
            if entry.last_modified:
                headers["If-Modified-Since"] = entry.last_modified
        return headers

    # -- learning ---------------------------------------------------------------------------
    def record(self, fetch: Fetch, kind: str, now: float) -> None:
        """What a stored response teaches: a 304 or an unchanged digest confirms the last
        capture; a new digest is a change; 404/410 make the URL gone."""
        old = self.urls.get(fetch.url)
        if fetch.status in (404, 410):
            tries = old.tries + 1 if old and old.kind == GONE else 1
            self.urls[fetch.url] = UrlEntry(GONE, fetch.status, old.first if old else now, now,
                                            now, tries=tries)
            return
        if 300 <= fetch.status < 400 and fetch.status != 304:
            tries = old.tries + 1 if old and old.kind == REDIRECT else 1
            self.urls[fetch.url] = UrlEntry(REDIRECT, fetch.status, old.first if old else now,
                                            now, now, tries=tries)
            return
        if kind in FILTERED:
            # no validators, no digest: its next fetch is a full one, judged afresh
            tries = old.tries + 1 if old and old.kind == kind else 1
            self.urls[fetch.url] = UrlEntry(kind, fetch.status, old.first if old else now,
                                            now, now, tries=tries)
            return
        if old is None or old.kind in RETRIED:
            old = UrlEntry(kind, fetch.status, now, now, now)
        entry = UrlEntry(kind, fetch.status, old.first, now,
                         old.changed, old.etag, old.last_modified, old.digest, old.capture_date)
        if fetch.status != 304:
            entry.etag, entry.last_modified = fetch.etag, fetch.last_modified
            if not fetch.revisit:
                if fetch.digest != old.digest:
                    entry.changed = now
                entry.digest, entry.capture_date = fetch.digest, fetch.warc_date
        else:
            entry.status = old.status
        self.urls[fetch.url] = entry

    def refused(self, url: str, now: float) -> None:
        """Refused by robots.txt: retried as rarely as a gone URL."""
        old = self.urls.get(url)
        tries = old.tries + 1 if old and old.kind == GONE else 1
        self.urls[url] = UrlEntry(GONE, 0, old.first if old else now, now, now, tries=tries)

    def compact(self, now: float, policy: Policy) -> None:
        """Entries past their last revisit join the seen set; entry points and gone URLs
        untried for a year are dropped."""
        last_step = (policy.revisit_hours or (0.0,))[-1]
        for url, entry in list(self.urls.items()):
            if entry.kind in (ENTRY, *RETRIED):
                # an entry point no longer configured, a dead or moved link no longer tried
                if now - entry.last > FORGET_HOURS * HOUR:
                    del self.urls[url]
                continue
            end = entry.first + last_step * HOUR
            if entry.last >= end or now >= end + COLD_GRACE_HOURS * HOUR:
                self.seen.setdefault(month_of(entry.last), set()).add(url_hash(url))
                del self.urls[url]

    # -- bytes ------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        seen = {month: base64.b64encode(b"".join(
            value.to_bytes(8, "big") for value in sorted(values))).decode("ascii")
            for month, values in sorted(self.seen.items())}
        data = {"format": FORMAT,
                "urls": {url: entry.to_list() for url, entry in self.urls.items()},
                "seen": seen,
                "frontier": [item.to_list() for item in self.frontier]}
        return gzip.compress(json.dumps(data, separators=(",", ":")).encode("utf-8"), 6,
                             mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> SiteState:
        raw = json.loads(gzip.decompress(data))
        if raw.get("format") != FORMAT:
            raise ValueError(f"unknown fetch state format {raw.get('format')!r}")
        seen = {}
        for month, text in raw.get("seen", {}).items():
            packed = base64.b64decode(text)
            seen[month] = {int.from_bytes(packed[i:i + 8], "big")
                           for i in range(0, len(packed), 8)}
        return cls({url: UrlEntry.from_list(value) for url, value in raw["urls"].items()},
                   seen, [Discovered.from_list(item) for item in raw.get("frontier", [])])
