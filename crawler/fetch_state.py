"""The run's view of each site's fetch state (``crawler/site_state.py``): loaded at the start,
taught by the WARC writer and the spider, saved after the records.

An extension found through the crawler (:func:`fetch_state_of`); a replay has none, since it
fetches nothing. The state is read in a thread once the archive is open, and saved on the
``records_committed`` signal (after the run's records and WARCs were committed, queued behind
them), only after a run that ended normally (finished, or stopped by SIGTERM) without losing
files. So the state never claims a fetch whose WARC or record is not stored:

- a response counts once it is in the WARC, and an article's only once its item went through
  the pipelines (scraped or dropped); an article still in the extraction pool when the run
  stopped is left to the frontier, so it is fetched again rather than never recorded;
- what was discovered and not fetched (refused by the page budget, still queued at SIGTERM,
  cancelled in flight) becomes the frontier of the next run, newest first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import replace
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive.config import Config, SiteConfig
from archive.keys import fetch_state_key
from archive.run_reports import NORMAL_ENDINGS
from archive.storage import Storage, StorageError
from archive.warc import RevisitOf
from crawler.addon import config_of
from crawler.archive_extension import archive_of
from crawler.items import Filtered, ItemHeld
from crawler.signals import records_committed
from crawler.site_state import Discovered, Fetch, Policy, SiteState

logger = logging.getLogger(__name__)
# the frontier carried over holds at most this many page budgets (what lies beyond is found
# again from the site's listings)
FRONTIER_BUDGETS = 10


def run_clock(value: str | None) -> float:
    """The run's "now" (epoch seconds): ``NEWSARCHIVE_NOW`` when set (a testing aid that lets
    tests and the steady-state bench simulate time passing between runs), else the clock."""
    if not value:
        return dt.datetime.now(dt.UTC).timestamp()
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def load_site_state(storage: Storage, site: str) -> SiteState | None:
    """The site's stored state; an empty one for a site never crawled; None when it could
    not be read (storage unreachable, a damaged object)."""
    try:
        return SiteState.from_bytes(storage.get_bytes(fetch_state_key(site)))
    except FileNotFoundError:
        return SiteState()
    except (ValueError, KeyError, TypeError, OSError, StorageError) as exc:
        logger.warning("fetch state of %s unreadable, fetching as if new: %s", site, exc)
        return None


class FetchState:
    def __init__(self, crawler: Crawler, config: Config, now: float) -> None:
        self.crawler = crawler
        self.config = config
        self.now = now
        self.states: dict[str, SiteState] = {}
        self._fetches: dict[str, dict[str, tuple[Fetch, str]]] = {}
        self._awaiting: dict[str, set[str]] = {}  # article URLs whose item is in the pipelines
        self._pending: dict[str, dict[str, Discovered]] = {}  # discovered, not fetched yet
        self._refused: dict[str, set[str]] = {}
        self._walled: dict[str, set[str]] = {}  # bot walls served instead of an article
        self._unreadable: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FetchState:
        settings = crawler.settings
        if settings["NEWSARCHIVE_REPLAY_DAY"]:
            raise NotConfigured("a replay fetches nothing")
        extension = cls(crawler, config_of(settings), run_clock(settings["NEWSARCHIVE_NOW"]))
        crawler.signals.connect(extension.save, signal=records_committed)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(extension._item_done, signal=signal)
        return extension

    async def load(self, storage: Storage, sites: tuple[SiteConfig, ...]) -> None:
        loaded = await asyncio.to_thread(
            lambda: {site.name: load_site_state(storage, site.name) for site in sites})
        # a state that could not be read is not overwritten by this run's partial view: the
        # site is crawled as if new (dedup keeps the records right) and its state kept
        self._unreadable = {site for site, state in loaded.items() if state is None}
        self.states = {site: state or SiteState() for site, state in loaded.items()}

    def policy(self, site: str) -> Policy:
        crawl = self.config.crawl
        own = self.config.site(site).revisit_hours
        return Policy(crawl.revisit_hours if own is None else own, crawl.retry_gone_hours)

    def state(self, site: str) -> SiteState:
        return self.states.setdefault(site, SiteState())

    def original_of(self, site: str, url: str) -> RevisitOf | None:
        """The last full capture of ``url``, which a revisit record of it refers to."""
        entry = self.state(site).original(url)
        return RevisitOf(url, entry.capture_date, entry.digest) if entry else None

    # -- what the run does ------------------------------------------------------------------
    def discovered(self, site: str, item: Discovered) -> None:
        self._pending.setdefault(site, {}).setdefault(item.url, item)

    def settled(self, site: str, url: str) -> None:
        """A discovered URL got its answer (or its error): not carried over."""
        self._pending.get(site, {}).pop(url, None)

    def fetched(self, site: str, fetch: Fetch, kind: str) -> None:
        """A response stored in the WARC (the WARC writer's call)."""
        self._fetches.setdefault(site, {})[fetch.url] = (fetch, kind)

    def classify(self, site: str, url: str, kind: str, awaiting_item: bool = False) -> None:
        """The spider's verdict on a stored response; an article sent to the pipelines
        counts only once its item is through them."""
        seen = self._fetches.get(site, {}).get(url)
        if seen is not None:
            self._fetches[site][url] = (seen[0], kind)
        if awaiting_item:
            self._awaiting.setdefault(site, set()).add(url)

    def unvalidated(self, site: str, url: str) -> None:
        """Never ask for this URL conditionally (a sitemap index: many keep their validators
        when a child sitemap changes)."""
        seen = self._fetches.get(site, {}).get(url)
        if seen is not None:
            fetch, kind = seen
            self._fetches[site][url] = (replace(fetch, etag="", last_modified=""), kind)

    def walled(self, site: str, url: str) -> None:
        """A bot wall came back instead of the page: its fetch is not what the page is, so
        the state does not learn it and the URL is fetched again next run."""
        self._walled.setdefault(site, set()).add(url)

    def refused(self, site: str, url: str) -> None:
        """Refused by robots.txt."""
        self._refused.setdefault(site, set()).add(url)

    def _item_done(self, item: Any, exception: BaseException | None = None, **_: Any) -> None:
        if isinstance(exception, ItemHeld):
            return  # back in the pipelines later in the run
        # each pipeline stage has its item type; each names the page's site and fetched URL
        page = getattr(item, "page", None) or getattr(item, "record", None) or item
        site, url = getattr(page, "site", None), getattr(page, "url", None)
        if site and url:
            self._awaiting.get(site, set()).discard(url)
            if isinstance(exception, Filtered):
                self.classify(site, url, exception.outcome)

    # -- saving -----------------------------------------------------------------------------
    async def save(self, reason: str) -> None:
        archive = archive_of(self.crawler)
        if reason not in NORMAL_ENDINGS or archive.storage_failed:
            # the next run must not skip what this one may have lost
            return
        sites = [site for site in self.states if site not in self._unreadable]

        def spool() -> None:
            # in a thread: building a state sorts and gzips every URL the site ever had, and
            # spooling fsyncs; the run has ended, so nothing changes the state meanwhile. The
            # blobs queue behind the records they describe
            for site in sites:
                archive.enqueue_bytes(fetch_state_key(site), self._updated(site).to_bytes())

        await asyncio.to_thread(spool)

    def _updated(self, site: str) -> SiteState:
        state, policy = self.state(site), self.policy(site)
        again = self._again(site)
        pending = dict(self._pending.get(site, {}))
        for url, (fetch, kind) in self._fetches.get(site, {}).items():
            if url in again:  # its record may be lost, or it was a bot wall: fetch it again
                pending.setdefault(url, Discovered(url, None, 0, True))
                continue
            state.record(fetch, kind, self.now)
        for url in self._refused.get(site, ()):
            state.refused(url, self.now)
        state.compact(self.now, policy)
        state.frontier = self._frontier(site, pending)
        stats = self.crawler.stats
        stats.set_value(f"newsarchive/{site}/frontier", len(state.frontier))
        return state

    def _again(self, site: str) -> set[str]:
        """URLs fetched this run that the next run fetches again."""
        return self._awaiting.get(site, set()) | self._walled.get(site, set())

    def _frontier(self, site: str, pending: dict[str, Discovered]) -> list[Discovered]:
        """Newest first by listing date, undated ones after in discovery order."""
        state = self.state(site)
        order = {url: index for index, url in enumerate(pending)}
        again = self._again(site)
        left = [item for url, item in pending.items()
                if url not in state.urls or url in again]
        left.sort(key=lambda item: (item.when is None, -(item.when or 0), order[item.url]))
        return left[:FRONTIER_BUDGETS * self.config.crawl.max_pages_per_site]


def fetch_state_of(crawler: Crawler) -> FetchState | None:
    """The run's fetch state; None in a replay."""
    return crawler.get_extension(FetchState)
