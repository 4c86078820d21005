"""The crawl's link to the archive: storage, spool, site leases and the archive session.

An extension shaped like Scrapy's ``FeedExporter``: built by ``from_crawler`` without any I/O,
opened once off the reactor thread (whoever needs it first awaits :meth:`ArchiveExtension.
ready`: the pipelines open before the ``spider_opened`` signal), and closed at
``spider_closed`` by an ``async`` handler that runs every blocking step (commits, fsyncs, the
wait for uploads, lease release) in a thread. Components find it through the crawler
(:func:`archive_of`); nothing else holds the run's storage.

Closing order is the consistency rule of ``archive/session.py``: records first, then the state
that describes them (``records_committed``), then the run report (``run_report_due``), then the
wait for uploads, then the near-duplicate links waiting for these sites' records, and only then
are the leases released.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from twisted.python.failure import Failure

from archive import __version__
from archive.config import Config, SiteConfig
from archive.leases import Lease, LeaseHeld, LeaseKeeper, acquire, release_all
from archive.link_repairs import apply_link_repairs
from archive.session import ArchiveSession
from archive.spool import Spool
from archive.storage import Storage, StorageAccessDenied, open_storage
from archive.timestamps import new_crawl_id, utc_now_iso
from crawler import signals as archive_signals
from crawler.addon import config_of
from crawler.errors import ErrorLog, error_log

logger = logging.getLogger(__name__)
# the spider's close reason when storage refused this client at the start
REFUSED_REASON = "storage_access_denied"


class ArchiveExtension:
    def __init__(self, crawler: Crawler, config: Config, crawl_id: str) -> None:
        self.crawler = crawler
        self.config = config
        self.crawl_id = crawl_id
        self.software = f"newsarchive/{__version__}"
        self.started_at = utc_now_iso()
        self.started_monotonic = time.monotonic()
        settings = crawler.settings
        # a replay reads the raw archive of one day (maybe from another root than it writes)
        self.replay_day: str | None = settings["NEWSARCHIVE_REPLAY_DAY"]
        self._replay_source: str | None = settings["NEWSARCHIVE_REPLAY_SOURCE"]
        self.storage: Storage | None = None
        self.source_storage: Storage | None = None
        self.spool: Spool | None = None
        self.session: ArchiveSession | None = None
        self.crawl_sites: tuple[SiteConfig, ...] = ()
        self.held: list[LeaseHeld] = []
        # per site, this run's lease when the crawl before it died mid-run (``took_over``)
        self.died_runs: dict[str, Lease] = {}
        self.storage_failed = False
        self.refused: StorageAccessDenied | None = None
        self.pending_uploads = 0
        self.closed_cleanly = False
        self._keeper: LeaseKeeper | None = None
        self._opening: asyncio.Future[None] | None = None
        self._errors: ErrorLog | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveExtension:
        settings = crawler.settings
        extension = cls(crawler, config_of(settings),
                        settings["NEWSARCHIVE_CRAWL_ID"] or new_crawl_id())
        crawler.signals.connect(extension.ready, signal=signals.spider_opened)
        crawler.signals.connect(extension.close_spider, signal=signals.spider_closed)
        return extension

    # -- opening -------------------------------------------------------------------------
    async def ready(self) -> None:
        """Open the archive once (storage, spool, leases, session), in a thread.

        Storage refusing this client is no outage to spool through (see
        ``archive/leases.py``): the spider is closed before its first request, with one ERROR
        line, and :attr:`refused` says why. CloseSpider rather than a crash, so Scrapy still
        stops every component it started and prints no traceback."""
        if self._opening is None:
            self._errors = error_log(self.crawler)
            self._opening = asyncio.ensure_future(asyncio.to_thread(self._open))
        try:
            await asyncio.shield(self._opening)
        except StorageAccessDenied as exc:
            if self.refused is None:
                self.refused = exc
                logger.error("the archive refused access, nothing was crawled: %s (check the "
                             "credentials of the AWS chain and that they may write there)", exc)
            raise CloseSpider(REFUSED_REASON) from exc

    def _open(self) -> None:
        archive = self.config.archive
        self.storage = open_storage(archive.uri, archive.storage_options)
        self.source_storage = (open_storage(self._replay_source, archive.storage_options)
                               if self._replay_source else self.storage)
        self.spool = Spool(archive.spool_dir, self.storage.location())
        # the leases first: taking one is the run's first write, so a refusal (wrong
        # credentials, read-only ones) ends the run here, before the drain or any fetch
        self.crawl_sites = self._take_leases(self.config.select_sites(self._site_filter()))
        # files an earlier run left in the spool go next, before any state is read
        left = self.spool.drain(self.storage)
        if left:
            logger.warning("%d file(s) from an earlier run still wait in the spool (%s): "
                           "storage unreachable?", left, self.spool.ready_dir)
        session = ArchiveSession(self.storage, self.spool, self.crawl_id, self.software,
                                 int(archive.roll_size_mb * 1024 * 1024))
        session.on_write_error = self.write_failed
        self.session = session

    def _site_filter(self) -> list[str]:
        return list(getattr(self.crawler.spider, "site_filter", None) or [])

    def _take_leases(self, sites: tuple[SiteConfig, ...]) -> tuple[SiteConfig, ...]:
        """The sites this run may crawl: those whose lease it got. Held ones are remembered
        for the report and the exit code; the keeper renews the leases while the run lasts."""
        assert self.storage is not None
        ttl = self.config.schedule.lease_seconds
        leases: list[Lease] = []
        free = []
        for site in sites:
            try:
                lease = acquire(self.storage, site.name, self.crawl_id, ttl)
                leases.append(lease)
                if lease.took_over:
                    self.died_runs[site.name] = lease
                free.append(site)
            except LeaseHeld as held:
                logger.warning("skipping site %s: %s", site.name, held)
                self.held.append(held)
            except StorageAccessDenied:
                release_all(leases)  # the run ends here: the others need not wait to expire
                raise
        self._keeper = LeaseKeeper(leases)
        self._keeper.start()
        return tuple(free)

    # -- during the run ----------------------------------------------------------------------
    def replay_set_aside(self) -> tuple[str, frozenset[str]] | None:
        """For a replay: the day and sites whose state it rebuilds (the dedup baseline
        leaves them out)."""
        if self.replay_day is None:
            return None
        return self.replay_day, frozenset(site.name for site in self.crawl_sites)

    def write_failed(self, site: str, key: str, message: str) -> None:
        """A file of this run could not be written locally (disk full): the run must not
        exit 0. Logged at ERROR once per site (a full disk fails every write after the
        first)."""
        errors = self._errors or error_log(self.crawler)
        first = not errors.has(site or "-", "storage_write")
        self.storage_failed = True
        if site:  # a run-wide file (state, report) has no site to count it under
            errors.add(site, "storage_write", key, message)
        (logger.error if first else logger.debug)(
            "could not write to the spool for %s: %s", key, message)

    def enqueue_bytes(self, key: str, data: bytes) -> None:
        """A small object (state, report) queued behind everything written so far."""
        assert self.session is not None
        self.session.enqueue_bytes(key, data)

    # -- closing -----------------------------------------------------------------------------
    async def close_spider(self, spider: Any, reason: str) -> None:
        """Commit, state, report, uploads, leases: :attr:`closed_cleanly` only if every step
        ran (Scrapy logs an exception in a signal handler and goes on, so it is kept here)."""
        if self._opening is None:
            return  # never opened: nothing of this run to store
        try:
            # a stop during the open (SIGTERM, a slow storage) waits for it: the leases it
            # takes must be released, and what it found in the spool stays consistent
            await asyncio.shield(self._opening)
        except Exception:
            return  # the open failed (and was reported there): nothing of this run to store
        session = self.session
        assert session is not None and self.spool is not None
        await asyncio.to_thread(session.commit_all)
        failed = await self._send(archive_signals.records_committed, reason)
        failed += await self._send(archive_signals.run_report_due, reason)
        self.pending_uploads = await asyncio.to_thread(session.finish,
                                                       self.config.archive.upload_timeout)
        if not self.pending_uploads:
            await asyncio.to_thread(self._apply_link_repairs)
        if self._keeper is not None:
            # released only now that the run's files are stored
            await asyncio.to_thread(self._keeper.stop)
        if self.pending_uploads:
            logger.error("%d finished file(s) could not be stored yet; they wait in %s and "
                         "will be uploaded by the next run", self.pending_uploads,
                         self.spool.ready_dir)
        self.closed_cleanly = not failed

    def _apply_link_repairs(self) -> None:
        """Links to set in these sites' records (``archive/link_repairs.py``): only now, with
        this run's files stored, and while the leases keep other writers of them away."""
        assert self.storage is not None
        keeper = self._keeper
        # a lease lost, or only local to this machine (storage was down at the start): another
        # run may write the site's records meanwhile
        unsure = {*keeper.lost, *(lease.site for lease in keeper.leases if lease.local)
                  } if keeper is not None else set()
        own = self.crawl_id if self.replay_day is not None else None
        for site in self.crawl_sites:
            if site.name in unsure:
                continue
            try:
                apply_link_repairs(self.storage, site.name, own)
            except Exception as exc:  # never a reason to keep the leases held
                logger.error("near-duplicate links of %s not set yet (the next run tries "
                             "again): %s: %s", site.name, type(exc).__name__, exc)

    async def _send(self, signal: object, reason: str) -> int:
        """Send a closing signal; how many of its handlers failed (each logged by Scrapy)."""
        results = await self.crawler.signals.send_catch_log_async(signal, reason=reason)
        return sum(isinstance(result, Failure) for _, result in results)


def archive_of(crawler: Crawler) -> ArchiveExtension:
    """The crawl's archive extension (a component asks once, when it is built or opened)."""
    extension = crawler.get_extension(ArchiveExtension)
    if extension is None:
        raise RuntimeError("crawler.archive_extension.ArchiveExtension is not in EXTENSIONS")
    return extension
