"""Yield alerts: a site's run compared with its own recent history.

Silent zero-output crawls are the commonest complaint about news crawlers: a redesign breaks
extraction, a paywall or a bot wall turns pages away, and the crawl still "succeeds". Each
site's figures are compared with its last clean runs (up to HISTORY_RUNS within HISTORY_DAYS);
a flag needs at least MIN_HISTORY of them, so a new site is not flagged on its first runs.
Frequent polling legitimately yields runs with nothing new, so "no new articles" is flagged
only when most recent runs did bring some.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from statistics import mean

from archive.run_reports import SiteRun, iter_run_reports
from archive.storage import Storage

logger = logging.getLogger(__name__)
HISTORY_DAYS = 7
HISTORY_RUNS = 20
MIN_HISTORY = 3
MIN_SAMPLE = 5  # pages or records a share is computed over

Measure = Callable[[SiteRun], float | None]


def _written(site: SiteRun) -> int:
    a = site.articles
    return a.get("new", 0) + a.get("updated", 0) + a.get("near_duplicate", 0)


def _extract_failure_rate(site: SiteRun) -> float | None:
    failed = sum(v for k, v in site.errors.items() if k.startswith("extract_"))
    failed += site.articles.get("empty", 0)
    attempted = failed + sum(site.articles.values()) - site.articles.get("empty", 0)
    return failed / attempted if attempted >= MIN_SAMPLE else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole >= MIN_SAMPLE else None


def _blocked_rate(site: SiteRun) -> float | None:
    """The share of fetched pages that turned the crawler away: 403 and 429 answers, and bot
    walls (challenge, CAPTCHA and consent pages a site serves with status 200)."""
    turned_away = site.status.get("403", 0) + site.status.get("429", 0)
    return _share(turned_away + site.errors.get("bot_wall", 0), site.pages_fetched)


def _dated_share(site: SiteRun) -> float | None:
    return _share(site.records_with_published, site.records_written)


def _authored_share(site: SiteRun) -> float | None:
    return _share(site.records_with_author, site.records_written)


def _history_mean(history: list[SiteRun], measure: Measure) -> float | None:
    values = [v for v in (measure(h) for h in history) if v is not None]
    return mean(values) if len(values) >= MIN_HISTORY else None


_CHECKS: tuple[tuple[str, Measure, str, Callable[[float, float], bool]], ...] = (
    ("extraction_failures", _extract_failure_rate, "extraction failures or empty bodies",
     lambda now, before: now >= 0.2 and now >= 2 * before + 0.1),
    ("blocked", _blocked_rate, "403/429 answers and bot walls",
     lambda now, before: now >= 0.1 and now >= before + 0.1),
    ("dates_missing", _dated_share, "records with a date",
     lambda now, before: before >= 0.5 and now <= before - 0.3),
    ("authors_missing", _authored_share, "records with an author",
     lambda now, before: before >= 0.5 and now <= before - 0.3),
)


def site_alerts(current: SiteRun, history: Sequence[SiteRun]) -> list[dict[str, str]]:
    """The flags for one site's run; ``history`` holds its earlier clean runs' site sections."""
    if len(history) < MIN_HISTORY:
        return []
    alerts = []
    productive = sum(1 for h in history if _written(h) > 0) / len(history)
    if _written(current) == 0 and productive >= 0.6:
        alerts.append({"kind": "zero_new", "message": f"no new or updated articles, while "
                       f"{productive:.0%} of recent runs had some"})
    for kind, measure, label, fires in _CHECKS:
        now, before = measure(current), _history_mean(history, measure)
        if now is not None and before is not None and fires(now, before):
            alerts.append({"kind": kind,
                           "message": f"{label}: {now:.0%} in this run, {before:.0%} usually"})
    return alerts


def recent_site_history(storage: Storage, site: str, before: str,
                        today: dt.date) -> list[SiteRun]:
    """The site sections of this site's clean runs that started before ``before``, newest
    first, from the run reports of the last HISTORY_DAYS days."""
    found: list[tuple[str, SiteRun]] = []
    for offset in range(HISTORY_DAYS):
        day = (today - dt.timedelta(days=offset)).isoformat()
        for report in iter_run_reports(storage, day):
            section = report.sites.get(site)
            if (section is not None and report.finish_reason == "finished"
                    and report.started_at < before):
                found.append((report.started_at, section))
        if len(found) >= HISTORY_RUNS:
            break
    found.sort(key=lambda item: item[0], reverse=True)
    return [section for _, section in found[:HISTORY_RUNS]]
