"""The run's site templates (``pipelines/site_template.py``): loaded at the start, applied by
the extraction workers, taught by the records the run stores, saved with the run's state.

An extension found through the crawler (:func:`site_templates_of`):

- **loading**: once the archive is open, one GET per site whose lease the run holds,
  ``state/template/site=NAME.json.gz`` (``archive/keys.py``), in a thread. A missing object
  is an empty template; an unreadable one is an empty template and a WARNING line, never a
  dead crawl (the template is a cache of repetition: it is learned again in a few pages).
- **applying**: ``ExtractPipeline`` sends each page's task with its site's current template
  (a frozenset of line hashes, rebuilt only when a line crosses the threshold; without the
  lines that only an earlier fetch of that same URL brought to the threshold, so a revisited
  article's next version never loses its own lines), so removing it is the workers' CPU.
- **learning**: the extraction returns the hashes of the body's lines before removal; they
  wait here under the page's URL until its record is stored (``item_scraped``), and are then
  learned under the record's article key: ``near_duplicate_of``, else ``id``. A page dedup
  drops (unchanged, already recorded, the same text under another URL, a copy of an
  unchanged article) teaches nothing: it is an article already counted.
- **saving**: on ``records_committed``, after a run that ended normally without losing files,
  each site's template is queued whole behind the run's records, like the fetch state; only
  the run holding the site's lease has it, so one writer per site.

A replay (``NEWSARCHIVE_REPLAY_DAY``) loads the stored templates of the archive it reads and
applies them frozen: it learns nothing and writes nothing. Replay must be deterministic, and
learning as pages complete depends on the order the worker pool finishes them; applying the
site's current template is, like applying the current extractor, what a crawl made now would
write for a site whose template has converged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from archive.keys import site_template_key
from archive.run_reports import NORMAL_ENDINGS
from archive.storage import Storage, StorageError
from crawler.archive_extension import archive_of
from crawler.items import ItemHeld
from crawler.signals import records_committed
from pipelines.site_template import SiteTemplate

logger = logging.getLogger(__name__)


def load_site_template(storage: Storage, site: str) -> SiteTemplate:
    """The site's stored template; empty when there is none or it cannot be read."""
    try:
        return SiteTemplate.from_bytes(storage.get_bytes(site_template_key(site)))
    except FileNotFoundError:
        return SiteTemplate()
    except (ValueError, KeyError, TypeError, OSError, EOFError, StorageError) as exc:
        logger.warning("site template of %s unreadable, starting from an empty one: %s",
                       site, exc)
        return SiteTemplate()


class SiteTemplates:
    def __init__(self, crawler: Crawler, replay: bool) -> None:
        self.crawler = crawler
        self.replay = replay
        self.templates: dict[str, SiteTemplate] = {}
        self._loading: asyncio.Future[None] | None = None
        self._waiting: dict[tuple[str, str], tuple[int, ...]] = {}  # (site, url) -> hashes
        # sites that learned from a record this run: only their templates are written back
        # (a run of a quiet site, nothing new, costs no PUT)
        self._learned: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteTemplates:
        extension = cls(crawler, bool(crawler.settings["NEWSARCHIVE_REPLAY_DAY"]))
        if not extension.replay:
            crawler.signals.connect(extension.save, signal=records_committed)
            crawler.signals.connect(extension._stored, signal=signals.item_scraped)
            crawler.signals.connect(extension._dropped, signal=signals.item_dropped)
            crawler.signals.connect(extension._dropped, signal=signals.item_error)
        return extension

    async def ready(self) -> None:
        """Load the templates of the run's sites once (whoever needs them first waits)."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load())
        await asyncio.shield(self._loading)

    async def _load(self) -> None:
        archive = archive_of(self.crawler)
        await archive.ready()
        storage = archive.source_storage if self.replay else archive.storage
        assert storage is not None
        names = [site.name for site in archive.crawl_sites]
        self.templates = await asyncio.to_thread(
            lambda: {name: load_site_template(storage, name) for name in names})

    def current(self, site: str, url: str) -> frozenset[int]:
        """What the workers remove from the site's page at ``url`` now."""
        template = self.templates.get(site)
        return template.template_for(url) if template is not None else frozenset()

    # -- learning ---------------------------------------------------------------------------
    def extracted(self, site: str, url: str, line_hashes: tuple[int, ...]) -> None:
        """A page's body lines, to be learned once its record is stored."""
        if not self.replay and site in self.templates:
            self._waiting[(site, url)] = line_hashes
            template = self.current(site, url)
            removed = sum(value in template for value in set(line_hashes))
            if removed:
                self.crawler.stats.inc_value(f"newsarchive/{site}/template_lines_removed",
                                             removed)

    def _stored(self, item: Any, **_: Any) -> None:
        record = getattr(item, "record", None)
        if record is None:
            return
        hashes = self._waiting.pop((record.site, record.url), None)
        if hashes is not None:
            key = record.near_duplicate_of or record.id
            self.templates[record.site].learn(key, hashes, record.url)
            self._learned.add(record.site)

    def _dropped(self, item: Any, exception: BaseException | None = None, **_: Any) -> None:
        if isinstance(exception, ItemHeld):
            return  # back in the pipelines later in the run
        page = getattr(item, "page", None) or getattr(item, "record", None) or item
        site, url = getattr(page, "site", None), getattr(page, "url", None)
        if site and url:
            self._waiting.pop((site, url), None)

    # -- saving -----------------------------------------------------------------------------
    async def save(self, reason: str) -> None:
        archive = archive_of(self.crawler)
        if reason not in NORMAL_ENDINGS or archive.storage_failed or not self._learned:
            return
        templates = {site: self.templates[site] for site in sorted(self._learned)}
        for site, template in templates.items():
            self.crawler.stats.set_value(f"newsarchive/{site}/template_lines",
                                         len(template.template()))

        def spool() -> None:
            for site, template in templates.items():
                archive.enqueue_bytes(site_template_key(site), template.to_bytes())

        await asyncio.to_thread(spool)


def site_templates_of(crawler: Crawler) -> SiteTemplates | None:
    """The run's site templates; None where the extension is not enabled."""
    return crawler.get_extension(SiteTemplates)
