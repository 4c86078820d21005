"""What a finished crawl process left, and whether it failed: one judgement for every command
that runs a crawl (``newsarchive crawl`` and ``replay``, ``scrapy crawl``), which each turn it
into their exit code."""

from __future__ import annotations

from dataclasses import dataclass

from scrapy.crawler import Crawler

from archive.run_reports import RunReport
from crawler.archive_extension import ArchiveExtension
from crawler.report import RunReporter


@dataclass
class CrawlOutcome:
    """The run's archive extension and its report (None when the crawl died before its
    spider closed)."""

    archive: ArchiveExtension | None
    report: RunReport | None

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlOutcome:
        try:
            archive = crawler.get_extension(ArchiveExtension)
            reporter = crawler.get_extension(RunReporter)
        except RuntimeError:  # died before its extensions were built
            return cls(None, None)
        return cls(archive, reporter.report if reporter else None)

    @property
    def failed(self) -> bool:
        """Something fetched is not stored (yet), or the run did not end normally."""
        archive = self.archive
        return (archive is None or not self.report or bool(archive.pending_uploads)
                or not self.report.ended_normally or archive.storage_failed
                or not archive.closed_cleanly)

    @property
    def held(self) -> bool:
        """A site was skipped: another crawl holds its lease."""
        return bool(self.archive and self.archive.held)
