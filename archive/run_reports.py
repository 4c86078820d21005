"""The run report, ``runs/date=D/<crawl_id>.json`` (CONTRACT §4): its type, JSON and readers.

A crawl (or replay) writes one report when it ends; the yield alerts, ``newsarchive ls`` and the
benchmark read them back. The JSON object's keys are the fields below, in field order, so the
field lists here are the report's schema. A field that is None is not written: the report of a
run that died before its spider closed (:meth:`RunReport.failed`) holds only ``crawl_id``,
``started_at``, ``finished_at``, ``finish_reason``, ``error`` and ``sites``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from archive.keys import RUNS, dated_prefix, run_report_day, run_report_key
from archive.storage import Storage
from archive.timestamps import crawl_day

# finish reasons of a run that ended as asked: a signal (SIGTERM from a scheduler or systemd)
# makes Scrapy close the spider with "shutdown" after committing what it fetched
NORMAL_ENDINGS = ("finished", "shutdown")


_REQUIRED_TEXT = ("crawl_id", "started_at", "finished_at", "finish_reason")


class RunReportError(ValueError):
    """Stored bytes that are not a run report."""


def _plain(value: Any) -> Any:
    # the JSON of a tuple is a list: to_dict gives what json.loads would
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class SiteRun:
    """One site's part of a run. A field missing from a stored section (an older report, a
    hand-made one) reads as zero or empty."""

    pages_fetched: int = 0
    status: dict[str, int] = field(default_factory=dict)  # HTTP status -> responses
    articles: dict[str, int] = field(default_factory=dict)  # dedup outcome -> articles
    records_written: int = 0
    records_with_published: int = 0
    records_with_author: int = 0
    not_modified: int = 0
    blocked: dict[str, int] = field(default_factory=dict)  # reason -> requests
    # records the site's filters kept for want of a date ("date") or a language ("language")
    kept_unknown: dict[str, int] = field(default_factory=dict)
    skipped_max_pages: int = 0
    skipped_queue_full: int = 0
    # the revisit policy: pages fetched by reason (new, due, entry, lastmod), URLs not
    # fetched by reason (not_due, gone, too_old, other_language), what the revisits found
    # (not_modified, identical, changed), and how many discovered URLs were carried over to
    # the next run
    fetched: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    revisits: dict[str, int] = field(default_factory=dict)
    frontier: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # kind -> count
    bytes_raw: int = 0
    bytes_records: int = 0
    files: tuple[str, ...] = ()  # archive keys, in the order they were stored
    alerts: tuple[dict[str, str], ...] = ()  # {"kind", "message"} (crawler/alerts.py)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SiteRun:
        if not isinstance(raw, Mapping):
            raise RunReportError(f"a site section is an object, not {type(raw).__name__}")
        values = {f.name: raw[f.name] for f in fields(cls) if f.name in raw}
        for name in ("files", "alerts"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class RunReport:
    """One run: timings, outcome, where it wrote, and each site's figures."""

    crawl_id: str
    started_at: str  # ISO 8601 UTC
    finished_at: str
    duration_s: float | None = None
    finish_reason: str  # Scrapy's close reason ("finished", "shutdown", ...), or "error"
    error: str | None = None  # why a run died (only in a failure report)
    cpu_seconds: dict[str, float] | None = None  # process, extract_workers, then per stage
    archive: str | None = None  # the archive's location, never with credentials
    software: str | None = None
    sites: dict[str, SiteRun] = field(default_factory=dict)  # the sites that did anything
    errors_total: int | None = None
    error_examples: tuple[dict[str, str], ...] | None = None  # {"site", "kind", "url", "message"}
    robots_forbidden: int | None = None
    sites_held: tuple[dict[str, Any], ...] | None = None  # {"site", **the lease holder}
    # the body POSTed to [alerts] webhook_url about this run (crawler/webhook.py), if any
    webhook: dict[str, Any] | None = None

    @classmethod
    def failed(cls, crawl_id: str, started_at: str, finished_at: str, error: str) -> RunReport:
        """The report of a run that died before its spider closed."""
        return cls(crawl_id=crawl_id, started_at=started_at, finished_at=finished_at,
                   finish_reason="error", error=error)

    @property
    def key(self) -> str:
        """Where the report is stored: under the UTC day its crawl started."""
        return run_report_key(crawl_day(self.crawl_id), self.crawl_id)

    @property
    def ended_normally(self) -> bool:
        return self.finish_reason in NORMAL_ENDINGS

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "sites":
                out["sites"] = {name: site.to_dict() for name, site in value.items()}
            elif value is not None:
                out[f.name] = _plain(value)
        return out

    def to_json(self) -> bytes:
        """The stored bytes: indented JSON, keys in field order, ASCII only."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False).encode("utf-8")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RunReport:
        if not isinstance(raw, Mapping):
            raise RunReportError(f"a run report is an object, not {type(raw).__name__}")
        values = {f.name: raw[f.name] for f in fields(cls) if f.name in raw}
        if not all(isinstance(values.get(name), str) for name in _REQUIRED_TEXT):
            raise RunReportError(f"not a run report: needs {', '.join(_REQUIRED_TEXT)}")
        try:
            values["sites"] = {name: SiteRun.from_dict(site)
                               for name, site in values.get("sites", {}).items()}
            for name in ("error_examples", "sites_held"):
                if values.get(name) is not None:
                    values[name] = tuple(values[name])
            return cls(**values)
        except (TypeError, AttributeError) as exc:  # a required key missing, a list not one
            raise RunReportError(f"not a run report: {exc}") from None

    @classmethod
    def from_json(cls, data: bytes) -> RunReport:
        """RunReportError (a ValueError) if ``data`` is not a run report's JSON."""
        try:
            raw = json.loads(data)
        except ValueError as exc:  # UnicodeDecodeError included
            raise RunReportError(f"not JSON: {exc}") from None
        return cls.from_dict(raw)


def read_run_report(storage: Storage, key: str) -> RunReport:
    """The report stored under ``key``: FileNotFoundError if there is none, RunReportError
    if it is not one."""
    return RunReport.from_json(storage.get_bytes(key))


def run_report_keys(storage: Storage, day: str | None = None) -> Iterator[str]:
    """The keys of the run reports of ``day``, or of every day, in listing order."""
    for info in storage.list(dated_prefix(RUNS, day)):
        if run_report_day(info.key) is not None:
            yield info.key


def iter_run_reports(storage: Storage, day: str | None = None) -> Iterator[RunReport]:
    """The readable run reports of ``day``, or of every day; unreadable ones are skipped, as
    are those deleted between the listing and the read."""
    for key in run_report_keys(storage, day):
        try:
            yield read_run_report(storage, key)
        except (RunReportError, FileNotFoundError):
            continue
