"""Run the real CLI over the bench web into a local directory or SeaweedFS, and the baseline."""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from archive.keys import DEDUP_STATE_PREFIX, RAW, RECORDS, RUNS, kind_prefix
from archive.local import LocalStorage
from archive.run_reports import RunReport, read_run_report, run_report_keys
from bench.procstat import TreeStats, run_measured
from bench.web import ARTICLE_RE, Site, Web

ROOT = Path(__file__).resolve().parent.parent


def write_config(path: Path, sites: list[Site], archive: str, spool: Path,
                 endpoint: str | None = None) -> Path:
    pages = max(s.articles for s in sites) * 2 + 1000
    lines = ["[archive]", f'uri = "{archive}"', f'spool_dir = "{spool}"']
    if endpoint:
        lines.append(f'endpoint_url = "{endpoint}"')
    lines += ["", "[crawl]", 'user_agent = "newsarchive-bench"', "obey_robots = true",
              "allow_private_networks = true", f"max_pages_per_site = {pages}",
              "download_delay = 0", "concurrent_requests_per_domain = 16",
              "extract_workers = 2", 'timezone = "UTC"']
    for site in sites:
        lines += ["", "[[sites]]", f'name = "{site.name}"', f'start_urls = ["{site.base}/"]',
                  f'feeds = ["{site.base}/feed.xml"]', f'sitemaps = ["{site.base}/sitemap.xml"]',
                  f"article_urls = ['{ARTICLE_RE}']", "follow_depth = 2"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measured(web: Web, cmd: list[str], log: Path, env: dict[str, str] | None = None,
             progress: Callable[[], float] | None = None) -> dict[str, Any]:
    """Run ``cmd`` from the project root; its tree stats plus the web server's view."""
    requests, hits, cpu = web.requests, web.article_hits, _self_cpu()
    stats: TreeStats = run_measured(cmd, ROOT, {**os.environ, **(env or {})}, log,
                                    progress=progress)
    result = asdict(stats)
    result["worker_pids"] = len(stats.worker_pids)
    result["server_requests"] = web.requests - requests
    result["server_article_hits"] = web.article_hits - hits
    result["bench_process_cpu_s"] = round(_self_cpu() - cpu, 2)
    return result


def crawl_cmd(config: Path) -> list[str]:
    return [sys.executable, "-m", "newsarchive", "crawl", "--config", str(config)]


def sum_report(report: RunReport) -> dict[str, Any]:
    sites = report.sites.values()
    outcomes: dict[str, int] = {}
    for site in sites:
        for key, value in site.articles.items():
            outcomes[key] = outcomes.get(key, 0) + value
    return {"crawl_id": report.crawl_id, "finish_reason": report.finish_reason,
            "duration_s": report.duration_s, "cpu_seconds": report.cpu_seconds,
            "pages_fetched": sum(s.pages_fetched for s in sites),
            "records": sum(s.records_written for s in sites), "outcomes": outcomes,
            "errors_total": report.errors_total,
            "errors": [s.errors for s in sites if s.errors]}


def sizes_by_prefix(objects: list[tuple[str, int]]) -> dict[str, int]:
    """Bytes under raw/, records/, state/dedup/, runs/, and everything."""
    out = {"raw": 0, "records": 0, "dedup_state": 0, "runs": 0, "other": 0, "objects": 0}
    for key, size in objects:
        out["objects"] += 1
        if key.startswith(kind_prefix(RAW)):
            out["raw"] += size
        elif key.startswith(kind_prefix(RECORDS)):
            out["records"] += size
        elif key.startswith(DEDUP_STATE_PREFIX):
            out["dedup_state"] += size
        elif key.startswith(kind_prefix(RUNS)):
            out["runs"] += size
        else:
            out["other"] += size
    return out


def local_objects(root: Path) -> list[tuple[str, int]]:
    return [(str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*")
            if p.is_file() and ".tmp" not in p.parts]


def local_report(root: Path) -> RunReport:
    """The last run report of a local archive (by key: by day, then crawl id)."""
    storage = LocalStorage(root)
    return read_run_report(storage, sorted(run_report_keys(storage))[-1])


def count_jsonl(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(1 for _ in f)
