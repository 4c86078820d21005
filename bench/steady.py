"""``python -m bench --steady``: consecutive crawls of a living web, as cron runs them.

The web is bench.web's (eval pages behind home, sections, an RSS feed and a sitemap, no
validators on any page, as most news sites send their pages) made to live: before each run a
few new articles appear on every site and a few older ones are corrected (their text changes
and the sitemap's ``lastmod`` says when); the home and section pages change with them. Time
passes between runs through ``NEWSARCHIVE_NOW`` (the crawl's testing aid): 30 minutes a run.
The second run comes before anything changed, to measure a run over an unchanged site.

Per run: the site's requests by reason (the run report's ``fetched``), article pages fetched
(the server's count), what the revisits found, and the WARC and record bytes written.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from archive.local import LocalStorage
from archive.run_reports import read_run_report, run_report_keys
from bench import crawls
from bench.web import Site, Template, Web, load_templates, marker_for
from testkit.fakeweb.story import Story

RUN_EVERY = timedelta(minutes=30)


@dataclass
class LivingSite(Site):
    """A bench site whose articles are published, and corrected, as runs go by."""

    published: dict[int, datetime] = field(default_factory=dict)
    corrections: dict[int, int] = field(default_factory=dict)

    def article_template(self, n: int) -> tuple[Template, str]:
        template, marker = super().article_template(n)
        times = self.corrections.get(n)
        return template, marker if not times else \
            f"{marker}Correction {times} to report {marker_for(self.index, n).split()[2]}. "

    def stories(self, now: datetime) -> list[Story]:
        """Each article with its own date: when it appeared, or when it was last corrected
        (what the sitemap's lastmod says)."""
        stories = [replace(story, published=self.published[n].isoformat())
                   for n, story in enumerate(super().stories(now))]
        # oldest first, as bench.web lists them: the feed and the home page take the last
        return sorted(stories, key=lambda story: story.published)

    def publish(self, count: int, now: datetime) -> None:
        for n in range(self.articles, self.articles + count):
            self.published[n] = now - timedelta(minutes=count - n % count)
        self.articles += count

    def correct(self, count: int, run: int, now: datetime) -> list[int]:
        """Correct ``count`` older articles (spread over the archive, not the newest)."""
        chosen = [(run * 37 + k * 101) % max(self.articles // 2, 1) for k in range(count)]
        for n in chosen:
            self.corrections[n] = self.corrections.get(n, 0) + 1
            self.published[n] = now - timedelta(minutes=5)
        return chosen


def living_sites(templates: list[Template], sites: int, articles: int, start: datetime
                 ) -> list[LivingSite]:
    out = []
    for index in range(sites):
        site = LivingSite(index, articles, templates, dup_every=0)
        site.published = {n: start - timedelta(minutes=30 + (articles - n))
                          for n in range(articles)}
        out.append(site)
    return out


@dataclass
class RunFigures:
    run: int
    new_articles: int  # published on the web since the last run
    corrected: int
    server_requests: int
    article_fetches: int
    fetched: dict[str, int]
    skipped: dict[str, int]
    revisits: dict[str, int]
    records: dict[str, int]  # new / updated records written
    bytes_raw: int
    bytes_records: int
    seconds: float


def _crawl(config: Path, now: datetime, log: Path) -> None:
    env = {**os.environ, "NEWSARCHIVE_NOW": now.isoformat()}
    with log.open("a") as out:
        done = subprocess.run(crawls.crawl_cmd(config), cwd=crawls.ROOT, env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"crawl failed with exit {done.returncode}: see {log}")


def _figures(run: int, archive: Path, before: tuple[int, int], web: Web, new: int,
             corrected: int, seconds: float, known: set[str]) -> RunFigures:
    storage = LocalStorage(archive)
    # the report this run added: crawl ids sort by their start second only, and two short
    # runs can start within one
    [key] = set(run_report_keys(storage)) - known
    known.add(key)
    report = read_run_report(storage, key)
    sum_of = {"fetched": {}, "skipped": {}, "revisits": {}, "records": {}}
    raw = records = 0
    for site in report.sites.values():
        for group in ("fetched", "skipped", "revisits"):
            for name, count in getattr(site, group).items():
                sum_of[group][name] = sum_of[group].get(name, 0) + count
        for name in ("new", "updated", "near_duplicate"):
            sum_of["records"][name] = sum_of["records"].get(name, 0) + site.articles.get(name, 0)
        raw += site.bytes_raw
        records += site.bytes_records
    return RunFigures(run, new, corrected, web.requests - before[0],
                      web.article_hits - before[1], sum_of["fetched"], sum_of["skipped"],
                      sum_of["revisits"], sum_of["records"], raw, records, round(seconds, 2))


def run_steady(sites: int, articles: int, runs: int, new_per_run: int, corrections: int,
               work: Path, log: Any) -> list[RunFigures]:
    """``runs`` consecutive crawls (the second over an unchanged web) into a local archive."""
    log("loading eval pages and placing markers")
    templates, _ = load_templates()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    living = living_sites(templates, sites, articles, start)
    archive = work / "archive-steady"
    figures = []
    reports: set[str] = set()
    with Web(list(living)) as web:
        config = crawls.write_config(work / "steady.toml", list(living), str(archive),
                                     work / "spool-steady")
        for run in range(runs):
            now = start + run * RUN_EVERY
            new = changed = 0
            if run >= 2:  # the second run sees the web as the first left it
                for site in living:
                    site.publish(new_per_run, now)
                    changed += len(site.correct(corrections, run, now))
                    web.render_hubs(site, now)
                new = new_per_run * len(living)
            before, began = (web.requests, web.article_hits), time.monotonic()
            _crawl(config, now, work / "steady.log")
            figures.append(_figures(run + 1, archive, before, web, new, changed,
                                    time.monotonic() - began, reports))
            log(f"run {run + 1}: {figures[-1].article_fetches} article fetches")
    return figures


def render_steady(figures: list[RunFigures], archived: int) -> str:
    head = ("run", "new", "corr", "requests", "art.fetch", "entry", "new f", "due", "lastmod",
            "not due", "304", "same", "changed", "rec new", "rec upd", "raw KB", "rec KB")
    # a record is new or a near-duplicate (the eval pages repeat under many markers)
    rows = [head]
    for f in figures:
        rows.append((f.run, f.new_articles, f.corrected, f.server_requests, f.article_fetches,
                     f.fetched.get("entry", 0), f.fetched.get("new", 0), f.fetched.get("due", 0),
                     f.fetched.get("lastmod", 0), f.skipped.get("not_due", 0),
                     f.revisits.get("not_modified", 0), f.revisits.get("identical", 0),
                     f.revisits.get("changed", 0),
                     f.records.get("new", 0) + f.records.get("near_duplicate", 0),
                     f.records.get("updated", 0), f.bytes_raw // 1024, f.bytes_records // 1024))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    lines = ["  ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=True))
             for row in rows]
    lines += ["", *_targets(figures, archived)]
    return "\n".join(lines)


def _targets(figures: list[RunFigures], archived: int) -> list[str]:
    later = figures[2:]
    over = [f.run for f in later if f.article_fetches >
            f.fetched.get("new", 0) + f.fetched.get("due", 0) + f.fetched.get("lastmod", 0)]
    second = figures[1].article_fetches if len(figures) > 1 else 0
    share = second / archived if archived else 0.0
    return [
        f"article fetches <= new + due revisits (+ lastmod) in runs 3..{len(figures)}: "
        f"{'met' if not over else 'NOT met in runs ' + ', '.join(map(str, over))}",
        f"second run over the unchanged web: {second} article fetches of {archived} archived "
        f"({share:.1%}; target <= 5%): {'met' if share <= 0.05 else 'NOT met'}",
        "corrections caught (updated records) over the runs: "
        f"{sum(f.records.get('updated', 0) for f in figures)} of "
        f"{sum(f.corrected for f in figures)} made",
    ]


def main_steady(args: Any, log: Any) -> tuple[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="newsarchive-steady-") as tmp:
        figures = run_steady(args.sites, max(1, args.pages // args.sites), args.runs,
                             args.new_per_run, args.corrections, Path(tmp), log)
    archived = max(1, args.pages // args.sites) * args.sites
    return render_steady(figures, archived), {"runs": [f.__dict__ for f in figures]}


if __name__ == "__main__":  # pragma: no cover - python -m bench --steady is the entry point
    sys.exit("use: python -m bench --steady")
