"""``newsarchive cluster status``: what the queue, the workers and the last runs look like.

From the engine: the queue's depth (the Redis list's length), the messages delivered and not
acknowledged yet, the workers answering a ping and the runs each has going (``inspect
active``). From what the workers record after each run: each site's last run and each worker's
spool (files it could not store). From the archive: the figures of each last run's report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from archive.config import Config
from archive.keys import run_report_key
from archive.run_reports import RunReportError, read_run_report
from archive.storage import StorageError, open_storage
from archive.timestamps import crawl_day
from cluster.redis_keys import LAST_RUNS, QUEUE, RUNNING, UNACKED, WORKER_SPOOLS

PING_TIMEOUT = 2.0


@dataclass
class ClusterStatus:
    broker: str
    queued: int
    unacked: int
    workers: dict[str, list[dict[str, Any]]]  # hostname -> its runs going
    running: dict[str, dict[str, Any]]  # task id -> site, crawl id, start
    spools: dict[str, dict[str, Any]]  # hostname -> files not stored after its last run
    last_runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, str] = field(default_factory=dict)  # site -> figures from its report


def _json_hash(client: Any, name: str) -> dict[str, dict[str, Any]]:
    return {(k.decode() if isinstance(k, bytes) else k): json.loads(v)
            for k, v in client.hgetall(name).items()}


def gather(app: Celery, config: Config) -> ClusterStatus:
    client = app.backend.client
    assert config.cluster is not None
    inspect = app.control.inspect(timeout=PING_TIMEOUT)
    pings = inspect.ping() or {}
    active = inspect.active() or {}
    status = ClusterStatus(
        broker=config.cluster.masked_url, queued=client.llen(QUEUE),
        unacked=client.hlen(UNACKED),
        workers={name: active.get(name, []) for name in sorted(pings)},
        running=_json_hash(client, RUNNING), spools=_json_hash(client, WORKER_SPOOLS),
        last_runs=_json_hash(client, LAST_RUNS))
    status.counts = dict(_report_counts(config, status.last_runs))
    return status


def _report_counts(config: Config, last_runs: dict[str, dict[str, Any]]
                   ) -> Iterator[tuple[str, str]]:
    """'12 new, 0 updated, 3 unchanged, 2 errors' of each site's last run, from its report."""
    try:
        storage = open_storage(config.archive.uri, config.archive.storage_options)
    except (StorageError, OSError):
        return
    for site, run in last_runs.items():
        crawl_id = run.get("crawl_id")
        if not crawl_id:
            continue
        try:
            report = read_run_report(storage, run_report_key(crawl_day(crawl_id), crawl_id))
        except (FileNotFoundError, RunReportError, StorageError, OSError):
            yield site, "no report in the archive"
            continue
        part = report.sites.get(site)
        articles = part.articles if part else {}
        errors = sum(part.errors.values()) if part else 0
        yield site, (f"{articles.get('new', 0)} new, {articles.get('updated', 0)} updated, "
                     f"{articles.get('unchanged', 0)} unchanged, {errors} errors")


def format_status(status: ClusterStatus, config: Config) -> str:
    lines = [f"broker: {status.broker}",
             f"queue: {status.queued} waiting, {status.unacked} delivered and not "
             f"acknowledged yet (running, or of a worker that died: redelivered after the "
             f"visibility timeout)",
             f"workers: {len(status.workers)}"]
    running_by_task = status.running
    for name, active in status.workers.items():
        runs = []
        for task in active:
            info = running_by_task.get(task.get("id", ""), {})
            site = info.get("site") or (task.get("args") or ["?"])[0]
            runs.append(f"{site} (crawl {info.get('crawl_id', '?')}, since "
                        f"{info.get('started_at', '?')})")
        spool = status.spools.get(name, {})
        pending = spool.get("not_stored", 0)
        spool_text = (f"spool: {pending} file(s) NOT STORED (after crawl {spool.get('crawl_id')}:"
                      f" storage unreachable?)" if pending else "spool: empty")
        lines.append(f"  {name}: {'running ' + ', '.join(runs) if runs else 'idle'}; "
                     f"{spool_text}")
    lines.append("sites:")
    for site in config.sites:
        run = status.last_runs.get(site.name)
        if run is None:
            lines.append(f"  {site.name}: no run through the cluster yet")
            continue
        detail = f" ({run['detail']})" if run.get("detail") else ""
        figures = status.counts.get(site.name)
        lines.append(f"  {site.name}: last run {run.get('crawl_id')} {run.get('outcome')}"
                     f"{detail}, exit {run.get('exit_code')}, on {run.get('worker')}, "
                     f"ended {run.get('finished_at')}" + (f": {figures}" if figures else ""))
    return "\n".join(lines)
