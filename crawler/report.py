"""The run report (``runs/date=D/<crawl_id>.json``) and the human summary printed after a crawl.

Built from the crawler's stats, the error log and the archive extension only; it never includes
credentials: the archive location is shown without any user info and config values are not
copied in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import replace
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from archive.run_reports import RunReport, SiteRun
from archive.timestamps import utc_now_iso
from crawler import signals as archive_signals
from crawler.alerts import recent_site_history, site_alerts
from crawler.archive_extension import ArchiveExtension, archive_of
from crawler.cputime import cpu_seconds
from crawler.errors import ErrorLog, error_log
from crawler.webhook import WebhookThread, webhook_body

logger = logging.getLogger(__name__)
# "variant": an AMP, print or mobile copy of an article whose canonical page is unchanged;
# "too_old", "other_language": refused by the site's filters (crawler/filters.py);
# "blocked": a bot wall (challenge, CAPTCHA, consent page) served instead of the article
OUTCOMES = ("new", "updated", "unchanged", "near_duplicate", "duplicate", "variant", "empty",
            "too_old", "other_language", "blocked")
# skips of the revisit policy and of the site's filters (the budget's and the queue's have
# fields of their own); prefixes: "skipped/too_old" takes "skipped/too_old_sitemap" too
POLICY_SKIPS = ("skipped/not_due", "skipped/gone", "skipped/too_old", "skipped/other_language")
# what an import leaves out of its WARC files (crawler/import_spider.py)
IMPORT_SKIPS = tuple(f"skipped/{reason}" for reason in (
    "not_response", "revisit", "bad_date", "too_large", "other_host", "not_html_200",
    "imported_before"))


def _site_stats(stats: dict[str, Any], site: str) -> dict[str, Any]:
    prefix = f"newsarchive/{site}/"
    status = Counter()
    articles = dict.fromkeys(OUTCOMES, 0)
    blocked = Counter()
    kept_unknown = Counter()
    policy: dict[str, Counter] = {"fetched": Counter(), "skipped": Counter(),
                                  "revisits": Counter()}
    for key, value in stats.items():
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        if rest.startswith("status/"):
            status[rest[len("status/"):]] += value
        elif rest.startswith("articles/"):
            articles[rest[len("articles/"):]] = value
        elif rest.startswith("blocked/"):
            blocked[rest[len("blocked/"):]] += value
        elif rest.startswith("kept_unknown/"):
            kept_unknown[rest[len("kept_unknown/"):]] += value
        elif rest.startswith(POLICY_SKIPS + IMPORT_SKIPS):
            policy["skipped"][rest[len("skipped/"):]] += value
        elif rest.split("/", 1)[0] in ("fetched", "revisits"):
            group, _, name = rest.partition("/")
            policy[group][name] += value
    return {
        "pages_fetched": stats.get(prefix + "pages", 0),
        "status": dict(sorted(status.items())),
        "articles": articles,
        "records_written": stats.get(prefix + "records", 0),
        "records_with_published": stats.get(prefix + "records_with/published", 0),
        "records_with_author": stats.get(prefix + "records_with/author", 0),
        "not_modified": stats.get(prefix + "not_modified", 0),
        "blocked": dict(blocked),
        "kept_unknown": dict(sorted(kept_unknown.items())),
        "skipped_max_pages": stats.get(prefix + "skipped/max_pages", 0),
        # links, feed and sitemap entries not even queued: the queue holds 2 x the page budget
        "skipped_queue_full": stats.get(prefix + "skipped/queue_full", 0),
        **{name: dict(sorted(counts.items())) for name, counts in policy.items()},
        "frontier": stats.get(prefix + "frontier", 0),
    }


def build_report(stats: dict[str, Any], archive: ArchiveExtension, errors: ErrorLog,
                 reason: str) -> RunReport:
    """The run report; reads the sites' recent reports for the yield alerts (blocking I/O:
    called in a thread, with a copy of the stats taken on the reactor thread)."""
    assert archive.session is not None and archive.storage is not None
    session = archive.session
    sites = {}
    for site in (s.name for s in archive.config.sites):
        out = session.sites.get(site)
        run = SiteRun(**_site_stats(stats, site), errors=dict(errors.counts.get(site, {})),
                      bytes_raw=out.raw_bytes if out else 0,
                      bytes_records=out.record_bytes if out else 0,
                      files=tuple(out.files) if out else ())
        if run.pages_fetched or run.files or run.errors or run.skipped:
            sites[site] = replace(run, alerts=tuple(_alerts(archive, site, run)))
    return RunReport(
        crawl_id=archive.crawl_id,
        started_at=archive.started_at,
        finished_at=utc_now_iso(),
        duration_s=round(time.monotonic() - archive.started_monotonic, 3),
        finish_reason=reason,
        cpu_seconds=cpu_seconds(stats),
        archive=archive.storage.location(),
        software=archive.software,
        sites=sites,
        errors_total=errors.total,
        error_examples=tuple(errors.examples),
        robots_forbidden=stats.get("robotstxt/forbidden", 0),
        sites_held=tuple({"site": h.site, **h.holder} for h in archive.held),
    )


def _alerts(archive: ArchiveExtension, site: str, run: SiteRun) -> list[dict[str, str]]:
    """Yield alerts against the site's recent runs, logged as warnings."""
    assert archive.storage is not None
    try:
        history = recent_site_history(archive.storage, site, archive.started_at,
                                      dt.datetime.now(dt.UTC).date())
    except Exception as exc:  # no history readable: no comparison, never a failed report
        logger.warning("yield alerts for %s skipped: run history unreadable: %s", site, exc)
        return []
    alerts = site_alerts(run, history)
    for alert in alerts:
        logger.warning("yield alert for %s (%s): %s", site, alert["kind"], alert["message"])
    return alerts


class RunReporter:
    """Writes the run report when the archive extension asks (``run_report_due``), after the
    records and their state: the report's one writer. The command line reads :attr:`report`
    once the crawl is over."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.report: RunReport | None = None
        self.webhook: WebhookThread | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReporter:
        reporter = cls(crawler)
        crawler.signals.connect(reporter.write_report, signal=archive_signals.run_report_due)
        crawler.signals.connect(reporter._webhook_told, signal=signals.engine_stopped)
        return reporter

    async def write_report(self, reason: str) -> None:
        archive = archive_of(self.crawler)
        stats = dict(self.crawler.stats.get_stats())
        self.report = await asyncio.to_thread(self._write, stats, archive, reason)

    def _write(self, stats: dict[str, Any], archive: ArchiveExtension, reason: str
               ) -> RunReport:
        report = build_report(stats, archive, error_log(self.crawler), reason)
        alerts = archive.config.alerts
        body = webhook_body(report, failed=not report.ended_normally or archive.storage_failed)
        if body is not None and alerts.webhook_url:
            report = replace(report, webhook=body)
        archive.enqueue_bytes(report.key, report.to_json())
        if report.webhook is not None:
            # sent while the run's files upload; the run's end waits for it (engine_stopped)
            self.webhook = WebhookThread(alerts, report.webhook)
        return report

    async def _webhook_told(self) -> None:
        if self.webhook is not None:
            await asyncio.to_thread(self.webhook.join)


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _policy(run: SiteRun) -> str:
    """`` (3 entry, 2 due; 40 not due, 1 carried over)``: why pages were fetched or not."""
    fetched = ", ".join(f"{count} {name}" for name, count in run.fetched.items() if count)
    skipped = [f"{count} {name.replace('_', ' ')}" for name, count in run.skipped.items()
               if count]
    if run.frontier:
        skipped.append(f"{run.frontier} carried over")
    if not fetched and not skipped:
        return ""
    return f" ({fetched}{'; ' if fetched and skipped else ''}{', '.join(skipped)})"


def _filtered(run: SiteRun) -> str:
    """``, 3 too old, 1 in another language`` when the site's filters refused pages."""
    a = run.articles
    parts = [f"{a['too_old']} too old" if a.get("too_old") else "",
             f"{a['other_language']} in another language" if a.get("other_language") else ""]
    return "".join(f", {part}" for part in parts if part)


def _walls(run: SiteRun) -> str:
    blocked = run.articles.get("blocked", 0)
    return f", {blocked} bot walls (challenge or consent pages)" if blocked else ""


def format_summary(report: RunReport, pending_uploads: int, archive: str) -> str:
    """Per site: pages, article outcomes, errors by kind, bytes; then where the files are."""
    lines = [f"crawl {report.crawl_id} ({report.finish_reason}, {report.duration_s or 0:.1f}s)"]
    for site, run in report.sites.items():
        a = run.articles
        errors = ", ".join(f"{k} {v}" for k, v in sorted(run.errors.items())) or "none"
        lines.append(
            f"  {site}: {run.pages_fetched} pages fetched{_policy(run)}; articles: {a['new']} new, "
            f"{a['updated']} updated, {a['unchanged']} unchanged, "
            f"{a['near_duplicate']} near-duplicate, {a['duplicate']} duplicate URL variants, "
            f"{a.get('variant', 0)} copies (AMP, print) of unchanged articles{_filtered(run)}"
            f"{_walls(run)}; errors: {errors}; written: {_human_bytes(run.bytes_raw)} raw, "
            f"{_human_bytes(run.bytes_records)} records")
    for site, run in report.sites.items():
        for alert in run.alerts:
            lines.append(f"  ALERT {site}: {alert['message']}")
    if not report.sites:
        lines.append("  nothing fetched")
    lines.append(f"  archive: {archive}")
    if pending_uploads:
        lines.append(f"  NOT STORED YET: {pending_uploads} file(s) wait in the local spool "
                     "and will be uploaded by the next run")
    return "\n".join(lines)
