"""``make bench-cluster``: articles per second with 1, 2 and 4 workers on many small sites.

Every site is politeness-bound as real crawls are (``download_delay = 1``, one request at a
time), so one run of one site lasts about its page count in seconds and the speed-up comes only
from running sites side by side. For each worker count: a fresh local archive and a fresh Redis
(``testkit.redis``), K ``newsarchive worker --concurrency 1`` processes, every site enqueued at
once, and the wall time until the last run ended. The per-run overhead is what a run costs
beyond its crawl: the task's wall time (child process start, config load, Redis writes) minus
the crawl's own ``duration_s`` from its run report, and the wait between a worker ending one run
and starting the next (the queue). Results go to ``bench/results/cluster-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from archive.config import load_config
from archive.local import LocalStorage
from archive.run_reports import iter_run_reports
from bench.crawls import write_config
from bench.web import Web, build_sites, load_templates
from cluster.app import build_app
from cluster.enqueue import enqueue_crawl, wait_for
from testkit.redis import RedisServer

ROOT = Path(__file__).resolve().parent.parent
POLITE = {"download_delay = 0": "download_delay = 1",
          "concurrent_requests_per_domain = 16": "concurrent_requests_per_domain = 1",
          "extract_workers = 2": "extract_workers = 1"}


def _config(work: Path, web: Web, broker: str) -> Path:
    path = write_config(work / "news.toml", web.sites, str(work / "archive"), work / "spool")
    text = path.read_text()
    for old, new in POLITE.items():
        text = text.replace(old, new)
    path.write_text(text + f'\n[cluster]\nbroker_url = "{broker}"\n')
    return path


def _start_workers(config: Path, count: int, logs: Path) -> list[subprocess.Popen]:
    workers = []
    for index in range(count):
        log = (logs / f"worker{index}.log").open("w")
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "newsarchive", "worker", "--config", str(config),
             "--concurrency", "1", "--name", f"bench{index}@%h"],
            cwd=ROOT, stdout=log, stderr=log, start_new_session=True))
    return workers


def _wait_ready(app: Any, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(app.control.inspect(timeout=0.5).ping() or {}) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} workers did not come up in 60 s")


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.wait(60)


def _iso(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _overheads(results: list[dict[str, Any]], durations: dict[str, float]) -> dict[str, float]:
    """Per run: task wall time minus crawl time; per worker: gaps between its runs."""
    beyond = [(_iso(r["finished_at"]) - _iso(r["started_at"])) - durations[r["crawl_id"]]
              for r in results if r["crawl_id"] in durations]
    gaps = []
    by_worker: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_worker.setdefault(result["worker"], []).append(result)
    for runs in by_worker.values():
        runs.sort(key=lambda r: r["started_at"])
        gaps += [_iso(later["started_at"]) - _iso(earlier["finished_at"])
                 for earlier, later in zip(runs, runs[1:], strict=False)]
    return {"run_overhead_s": statistics.mean(beyond) if beyond else 0.0,
            "queue_gap_s": statistics.mean(gaps) if gaps else 0.0}


def measure(workers: int, sites: int, articles: int, templates: list[Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp, \
            Web(build_sites(templates, sites, articles, dup_every=0)) as web, \
            RedisServer(Path(tmp) / "redis") as redis:
        work = Path(tmp)
        config = _config(work, web, redis.url)
        app = build_app(load_config(config))
        processes = _start_workers(config, workers, work)
        try:
            _wait_ready(app, workers)
            started = time.monotonic()
            task_ids = [enqueue_crawl(app, site.name) for site in web.sites]
            ended = wait_for(app, [t for t in task_ids if t], timeout=3600)
            wall = time.monotonic() - started
        finally:
            _stop(processes)
        reports = list(iter_run_reports(LocalStorage(work / "archive")))
        records = sum(site.records_written for r in reports for site in r.sites.values())
        results = [e.result for e in ended]
        row = {"workers": workers, "sites": sites, "runs": len(ended),
               "outcomes": sorted({e.outcome for e in ended}), "records": records,
               "wall_s": round(wall, 1), "articles_per_s": round(records / wall, 2),
               "requests": web.requests}
        row.update({k: round(v, 2) for k, v in _overheads(
            results, {r.crawl_id: r.duration_s or 0.0 for r in reports}).items()})
        return row


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster")
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--articles", type=int, default=8, help="articles per site")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    args = parser.parse_args()
    templates, _ = load_templates()
    rows = []
    for count in (int(n) for n in args.workers.split(",")):
        rows.append(measure(count, args.sites, args.articles, templates))
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]["articles_per_s"]
    print(f"\n{'workers':>7} {'wall s':>7} {'articles':>8} {'articles/s':>10} {'speed-up':>8} "
          f"{'run overhead s':>14} {'queue gap s':>11}")
    for row in rows:
        print(f"{row['workers']:>7} {row['wall_s']:>7} {row['records']:>8} "
              f"{row['articles_per_s']:>10} {row['articles_per_s'] / base:>8.2f} "
              f"{row['run_overhead_s']:>14} {row['queue_gap_s']:>11}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"cluster-{stamp}.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
