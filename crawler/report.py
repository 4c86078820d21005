"""The run report (``runs/date=D/<crawl_id>.json``) and the human summary printed after a crawl.

Built from the crawler's stats and the run context only; it never includes credentials: the
archive location is shown without any user info and config values are not copied in.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from crawler.alerts import recent_site_history, site_alerts
from crawler.context import utc_now_iso

if TYPE_CHECKING:
    from crawler.context import RunContext

logger = logging.getLogger(__name__)
OUTCOMES = ("new", "updated", "unchanged", "near_duplicate", "duplicate", "empty")


def _site_stats(stats: dict[str, Any], site: str) -> dict[str, Any]:
    prefix = f"newsarchive/{site}/"
    status = Counter()
    articles = dict.fromkeys(OUTCOMES, 0)
    blocked = Counter()
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
    return {
        "pages_fetched": stats.get(prefix + "pages", 0),
        "status": dict(sorted(status.items())),
        "articles": articles,
        "records_written": stats.get(prefix + "records", 0),
        "records_with_published": stats.get(prefix + "records_with/published", 0),
        "records_with_author": stats.get(prefix + "records_with/author", 0),
        "not_modified": stats.get(prefix + "not_modified", 0),
        "blocked": dict(blocked),
        "skipped_max_pages": stats.get(prefix + "skipped/max_pages", 0),
        # links, feed and sitemap entries not even queued: the queue holds 2 x the page budget
        "skipped_queue_full": stats.get(prefix + "skipped/queue_full", 0),
    }


def build_report_data(context: RunContext, reason: str) -> dict[str, Any]:
    stats = context.crawler.stats.get_stats() if context.crawler.stats else {}
    session = context.session
    sites = {}
    for site in context.site_names():
        data = _site_stats(stats, site)
        out = session.sites.get(site)
        data["errors"] = dict(context.errors.counts.get(site, {}))
        data["bytes_raw"] = out.raw_bytes if out else 0
        data["bytes_records"] = out.record_bytes if out else 0
        data["files"] = list(out.files) if out else []
        if data["pages_fetched"] or data["files"] or data["errors"]:
            data["alerts"] = _alerts(context, site, data)
            sites[site] = data
    return {
        "crawl_id": context.crawl_id,
        "started_at": context.started_at,
        "finished_at": utc_now_iso(),
        "duration_s": round(time.monotonic() - context.started_monotonic, 3),
        "finish_reason": reason,
        "cpu_seconds": context.cpu_seconds(),
        "archive": context.storage.location(),
        "software": context.software,
        "sites": sites,
        "errors_total": context.errors.total,
        "error_examples": context.errors.examples,
        "robots_forbidden": stats.get("robotstxt/forbidden", 0),
        "sites_held": [{"site": h.site, **h.holder} for h in context.held],
    }


def _alerts(context: RunContext, site: str, data: dict[str, Any]) -> list[dict[str, str]]:
    """Yield alerts against the site's recent runs, logged as warnings."""
    try:
        history = recent_site_history(context.storage, site, context.started_at,
                                      dt.datetime.now(dt.UTC).date())
    except Exception as exc:  # no history readable: no comparison, never a failed report
        logger.warning("yield alerts for %s skipped: run history unreadable: %s", site, exc)
        return []
    alerts = site_alerts(data, history)
    for alert in alerts:
        logger.warning("yield alert for %s (%s): %s", site, alert["kind"], alert["message"])
    return alerts


def build_report(context: RunContext, reason: str) -> str:
    data = build_report_data(context, reason)
    context.final_report = data
    return json.dumps(data, indent=2, sort_keys=False)


def _human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def format_summary(report: dict[str, Any], pending_uploads: int, archive: str) -> str:
    """Per site: pages, article outcomes, errors by kind, bytes; then where the files are."""
    lines = [f"crawl {report['crawl_id']} ({report['finish_reason']}, "
             f"{report['duration_s']:.1f}s)"]
    for site, data in report["sites"].items():
        a = data["articles"]
        errors = ", ".join(f"{k} {v}" for k, v in sorted(data["errors"].items())) or "none"
        lines.append(
            f"  {site}: {data['pages_fetched']} pages fetched; articles: {a['new']} new, "
            f"{a['updated']} updated, {a['unchanged']} unchanged, "
            f"{a['near_duplicate']} near-duplicate, {a['duplicate']} duplicate URL variants; "
            f"errors: {errors}; written: {_human_bytes(data['bytes_raw'])} raw, "
            f"{_human_bytes(data['bytes_records'])} records")
    for site, data in report["sites"].items():
        for alert in data.get("alerts", []):
            lines.append(f"  ALERT {site}: {alert['message']}")
    if not report["sites"]:
        lines.append("  nothing fetched")
    lines.append(f"  archive: {archive}")
    if pending_uploads:
        lines.append(f"  NOT STORED YET: {pending_uploads} file(s) wait in the local spool "
                     "and will be uploaded by the next run")
    return "\n".join(lines)
