"""The jobs ``newsarchive schedule`` runs, each in a child process.

A crawl needs its own process: the Twisted reactor cannot be restarted within one. The child is
the ordinary ``newsarchive crawl --site NAME``, so a scheduled run behaves exactly like a cron
run (leases, reports, exit codes). The jobs are module-level functions so that the SQLite job
store can refer to them by name across restarts.

With ``[cluster]`` the jobs enqueue instead (:func:`enqueue_site_run`, :func:`enqueue_daily_dump`):
each run goes on the queue once per site and slot, the slot being the cron time the job fired
for, so two schedulers, or one restarted, never double a run. While Redis is unreachable the
job keeps trying (its next firings are skipped meanwhile: one job at a time), so a run missed
during an outage is enqueued once when Redis is back.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from archive.config import Config, load_config
from archive.keys import run_report_key
from archive.run_reports import RunReportError, read_run_report
from archive.storage import StorageError, open_storage
from archive.timestamps import crawl_day, new_crawl_id
from cluster.app import build_app
from cluster.enqueue import enqueue_crawl, enqueue_dump
from schedules.triggers import last_fire_time

logger = logging.getLogger("newsarchive.schedule")
_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()
_stopping = threading.Event()  # the scheduler is stopping: enqueue jobs give up their retries
ENQUEUE_RETRY_MAX_SECONDS = 30.0


def _base_args(config_path: str, archive_uri: str | None) -> list[str]:
    args = ["--config", config_path]
    return args + ["--archive", archive_uri] if archive_uri else args


def _run_child(args: list[str]) -> tuple[int, str]:
    """Run ``newsarchive ARGS``; its stderr goes to ours, its stdout comes back."""
    # a session of its own: a Ctrl-C on the scheduler's terminal reaches the scheduler only,
    # which then asks each child to stop and waits for it to commit
    process = subprocess.Popen([sys.executable, "-m", "newsarchive", *args],
                               stdout=subprocess.PIPE, text=True, start_new_session=True)
    with _children_lock:
        _children.add(process)
    try:
        output, _ = process.communicate()
    finally:
        with _children_lock:
            _children.discard(process)
    return process.returncode, output


def _counts(config_path: str, archive_uri: str | None, crawl_id: str) -> str:
    """'12 new, 0 updated, 3 unchanged, 1 near-duplicate, 2 errors' from the run report."""
    config = load_config(config_path).with_archive_uri(archive_uri)
    storage = open_storage(config.archive.uri, config.archive.storage_options)
    try:
        report = read_run_report(storage, run_report_key(crawl_day(crawl_id), crawl_id))
    except (FileNotFoundError, RunReportError, StorageError, OSError):
        return "no report"
    totals: dict[str, int] = {}
    for site in report.sites.values():
        for outcome, count in site.articles.items():
            totals[outcome] = totals.get(outcome, 0) + count
    return (f"{totals.get('new', 0)} new, {totals.get('updated', 0)} updated, "
            f"{totals.get('unchanged', 0)} unchanged, "
            f"{totals.get('near_duplicate', 0)} near-duplicate, "
            f"{report.errors_total or 0} errors")


def run_site_crawl(config_path: str, archive_uri: str | None, site: str) -> int:
    """One scheduled crawl of one site; logs a start and an end line."""
    started = time.monotonic()
    # the id is chosen here and handed to the child, so the report is found by its key
    crawl_id = new_crawl_id()
    logger.info("run start: site %s, crawl %s", site, crawl_id)
    code, _ = _run_child(["crawl", *_base_args(config_path, archive_uri), "--site", site,
                          "--crawl-id", crawl_id])
    counts = _counts(config_path, archive_uri, crawl_id)
    log = logger.info if code in (0, 3) else logger.error
    log("run end: site %s, crawl %s, exit %d, %s, %.1fs", site, crawl_id, code, counts,
        time.monotonic() - started)
    return code


def run_daily_dump(config_path: str, archive_uri: str | None, day: str | None = None) -> int:
    """A day's dump (by default the previous UTC day's), scheduled after that day's crawls."""
    day = day or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    logger.info("run start: dump of %s", day)
    code, output = _run_child(["dump", *_base_args(config_path, archive_uri), "--date", day])
    log = logger.info if code == 0 else logger.error
    log("run end: dump of %s, exit %d: %s", day, code, output.strip().splitlines()[-1:] or "")
    return code


def slot_of(expression: str, config: Config, now: dt.datetime | None = None) -> str:
    """The cron time this firing belongs to (UTC, to the minute): the latest the expression
    fired at or before now within the misfire grace, else now's minute."""
    now = now or dt.datetime.now(dt.UTC)
    grace = dt.timedelta(seconds=config.schedule.misfire_grace_seconds + 60)
    fired = last_fire_time(expression, config.crawl.timezone, now, grace) or now
    return fired.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def _enqueue_until_done(what: str, enqueue: Callable[[], str | None]) -> str | None:
    """``enqueue()`` until Redis takes it or the scheduler stops; its task id (None: the
    slot was enqueued already, by this scheduler before a restart or by another one)."""
    delay = 1.0
    while True:
        try:
            return enqueue()
        except (RedisError, OperationalError, OSError) as exc:
            logger.warning("cannot enqueue %s: Redis unreachable (%s); retrying in %.0fs",
                           what, type(exc).__name__, delay)
        if _stopping.wait(delay):
            logger.error("not enqueued %s: the scheduler is stopping", what)
            return None
        delay = min(delay * 2, ENQUEUE_RETRY_MAX_SECONDS)


def enqueue_site_run(config_path: str, archive_uri: str | None, site: str,
                     expression: str, now: dt.datetime | None = None) -> str | None:
    """One site's run for this firing, on the cluster's queue (``[cluster]``)."""
    config = load_config(config_path).with_archive_uri(archive_uri)
    app = build_app(config, archive_uri)
    slot = slot_of(expression, config, now)
    task_id = _enqueue_until_done(f"site {site} for {slot}",
                                  lambda: enqueue_crawl(app, site, slot))
    if task_id:
        logger.info("enqueued: site %s for %s, task %s", site, slot, task_id)
    else:
        logger.info("not enqueued: site %s for %s is on the queue already", site, slot)
    return task_id


def enqueue_daily_dump(config_path: str, archive_uri: str | None, expression: str,
                       now: dt.datetime | None = None) -> str | None:
    """The previous UTC day's dump for this firing, on the cluster's queue."""
    config = load_config(config_path).with_archive_uri(archive_uri)
    app = build_app(config, archive_uri)
    slot = slot_of(expression, config, now)
    day = (dt.datetime.fromisoformat(slot.replace("Z", "+00:00")).date()
           - dt.timedelta(days=1)).isoformat()
    task_id = _enqueue_until_done(f"the dump of {day}", lambda: enqueue_dump(app, day, slot))
    logger.info("%s: the dump of %s for %s", "enqueued" if task_id else "not enqueued (on the "
                "queue already)", day, slot)
    return task_id


def running_children() -> int:
    with _children_lock:
        return len(_children)


def stop_children(timeout: float) -> None:
    """Ask every running child to stop (SIGTERM: commit what was fetched), then wait."""
    _stopping.set()
    with _children_lock:
        children = list(_children)
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.error("child %d did not stop in %.0fs: killing it", child.pid, timeout)
            child.kill()
            child.wait()
