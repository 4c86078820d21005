"""The run context: the validated config, the crawl id and the archive session of one crawl.

Created once per Scrapy crawler (``RunContext.from_crawler`` memoises it on the crawler), so the
spider, the middlewares and the pipelines share one config object and one archive session
instead of each reading settings or files on their own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import resource
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from archive import __version__
from archive.config import Config, SiteConfig, load_config
from archive.keys import run_report_key
from archive.leases import LeaseHeld, LeaseKeeper, acquire
from archive.session import ArchiveSession
from archive.spool import Spool
from archive.storage import Storage, open_storage

logger = logging.getLogger(__name__)
_ATTR = "_newsarchive_context"
MAX_ERROR_EXAMPLES = 200


def new_crawl_id(now: dt.datetime | None = None) -> str:
    """Sortable by start time, unique across machines: 20261125T103500Z-3f9a1c."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def crawl_day(crawl_id: str) -> str:
    """The UTC day a crawl started, from its id: where its run report lives."""
    return f"{crawl_id[0:4]}-{crawl_id[4:6]}-{crawl_id[6:8]}"


def utc_now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def config_from_settings(settings: BaseSettings) -> Config:
    """The Config the CLI put into the settings, or the file NEWSARCHIVE_CONFIG names."""
    config = settings.get("NEWSARCHIVE_CONFIG_OBJECT")
    if isinstance(config, Config):
        return config
    config = load_config(settings.get("NEWSARCHIVE_CONFIG") or "newsarchive.toml")
    return config.with_archive_uri(settings.get("NEWSARCHIVE_ARCHIVE_URI"))


@dataclass
class ErrorLog:
    """Errors by site and kind, with a bounded list of examples for the run report."""

    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    examples: list[dict[str, str]] = field(default_factory=list)

    def add(self, site: str, kind: str, url: str, message: str) -> None:
        self.counts[site][kind] += 1
        if len(self.examples) < MAX_ERROR_EXAMPLES:
            self.examples.append({"site": site, "kind": kind, "url": url,
                                  "message": message[:300]})

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


class RunContext:
    def __init__(self, crawler: Crawler, config: Config, crawl_id: str) -> None:
        self.crawler = crawler
        self.config = config
        self.crawl_id = crawl_id
        self.started_at = utc_now_iso()
        self.started_monotonic = time.monotonic()
        self.errors = ErrorLog()
        self.software = f"newsarchive/{__version__}"
        self.storage: Storage = open_storage(config.archive.uri,
                                             config.archive.storage_options)
        self.spool = Spool(config.archive.spool_dir, self.storage.location())
        self.storage_failed = False
        # a replay reads the raw archive of one day (maybe from another root than it writes)
        self.replay_day: str | None = None
        self.source_storage: Storage = self.storage
        self.crawl_sites: tuple[SiteConfig, ...] = ()
        # files an earlier run left in the spool go first, before any state is read
        left = self.spool.drain(self.storage)
        if left:
            logger.warning("%d file(s) from an earlier run still wait in the spool (%s): "
                           "storage unreachable?", left, self.spool.ready_dir)
        self._session: ArchiveSession | None = None
        self.final: dict[str, Any] = {}
        self.held: list[LeaseHeld] = []
        # run after the last records are enqueued, before the report: state that must follow
        # the records it describes (each gets the finish reason)
        self.close_steps: list[Callable[[str], None]] = []
        self._lease_keeper: LeaseKeeper | None = None
        self.final_report: dict[str, Any] = {}
        self.stage_cpu: Counter[str] = Counter()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunContext:
        context = getattr(crawler, _ATTR, None)
        if context is None:
            settings = crawler.settings
            crawl_id = settings.get("NEWSARCHIVE_CRAWL_ID") or new_crawl_id()
            context = cls(crawler, config_from_settings(settings), crawl_id)
            replay = settings.getdict("NEWSARCHIVE_REPLAY")
            if replay:
                context.replay_day = replay["day"]
                context.source_storage = open_storage(
                    replay["source"], context.config.archive.storage_options)
            setattr(crawler, _ATTR, context)
        return context

    @property
    def session(self) -> ArchiveSession:
        if self._session is None:
            roll = int(self.config.archive.roll_size_mb * 1024 * 1024)
            self._session = ArchiveSession(self.storage, self.spool, self.crawl_id,
                                           self.software, roll)
            self._session.on_write_error = self._session_write_failed
        return self._session

    def take_leases(self, sites: tuple[SiteConfig, ...]) -> tuple[SiteConfig, ...]:
        """The sites this run may crawl: those whose lease it got. Held ones are remembered
        for the report and the exit code; the keeper renews the leases while the run lasts."""
        ttl = self.config.schedule.lease_seconds
        leases, free = [], []
        for site in sites:
            try:
                leases.append(acquire(self.storage, site.name, self.crawl_id, ttl))
                free.append(site)
            except LeaseHeld as held:
                logger.warning("skipping site %s: %s", site.name, held)
                self.held.append(held)
        self._lease_keeper = LeaseKeeper(leases)
        self._lease_keeper.start()
        self.crawl_sites = tuple(free)
        return self.crawl_sites

    @property
    def state_storage(self) -> Storage:
        """Where the dedup state is read: the archive a replay reads from, else this one."""
        return self.source_storage

    def replay_set_aside(self) -> tuple[str, frozenset[str]] | None:
        """For a replay: the day and sites whose state it rebuilds (the dedup baseline
        leaves them out)."""
        if self.replay_day is None:
            return None
        return self.replay_day, frozenset(site.name for site in self.crawl_sites)

    def storage_failure(self, site: str, url: str, exc: Exception) -> None:
        """A file of this run could not be written locally: the run must not exit 0. Logged
        at ERROR once per site (a full disk fails every write after the first)."""
        self._session_write_failed(site, url, str(exc))

    def _session_write_failed(self, site: str, key: str, message: str) -> None:
        first = not self.errors.counts.get(site or "-", {}).get("storage_write")
        self.storage_failed = True
        if site:  # a run-wide file (state, report) has no site to count it under
            self.errors.add(site, "storage_write", key, message)
        (logger.error if first else logger.debug)(
            "could not write to the spool for %s: %s", key, message)

    @contextlib.contextmanager
    def cpu_of(self, stage: str) -> Iterator[None]:
        """Counts the CPU time the calling thread spends in the block under ``stage`` (the
        run report's ``cpu_seconds``): thread time, so other threads' work is not billed."""
        start = time.thread_time()
        try:
            yield
        finally:
            self.stage_cpu[stage] += time.thread_time() - start

    def cpu_seconds(self) -> dict[str, float]:
        """CPU so far: the whole process, the extraction workers (exited children), and the
        stages timed with :meth:`cpu_of`. The process total less the stages is the rest:
        fetching, Scrapy's own work, the spider, start-up and the uploads done so far (the
        report is written before the last files go up, so those are not in it)."""
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"process": round(own.ru_utime + own.ru_stime, 3),
                "extract_workers": round(children.ru_utime + children.ru_stime, 3),
                **{name: round(value, 3) for name, value in sorted(self.stage_cpu.items())}}

    def site_names(self) -> list[str]:
        return [s.name for s in self.config.sites]

    def connect(self) -> None:
        self.crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    def _spider_closed(self, spider: Any, reason: str) -> None:
        from crawler.report import build_report

        session = self.session
        session.commit_all()
        for step in self.close_steps:
            step(reason)
        report = build_report(self, reason)
        key = run_report_key(crawl_day(self.crawl_id), self.crawl_id)
        session.enqueue_bytes(key, report.encode("utf-8"))
        pending = session.finish(self.config.archive.upload_timeout)
        if self._lease_keeper is not None:
            self._lease_keeper.stop()  # released only now that the run's files are stored
        self.final = {"reason": reason, "pending_uploads": pending, "report_key": key}
        if pending:
            logger.error("%d finished file(s) could not be stored yet; they wait in %s and "
                         "will be uploaded by the next run", pending, self.spool.ready_dir)
