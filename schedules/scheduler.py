"""``newsarchive schedule``: each site's crawl on its cron ``schedule``, for months unattended.

APScheduler 3 with a SQLite job store, so a restart neither forgets nor double-fires runs: jobs
whose schedule did not change are left alone (their next run time survives the restart, and a
run missed while the scheduler was down fires once, within ``misfire_grace_seconds``);
``max_instances=1`` and coalescing keep one run per site at a time. Signals only post events;
the main thread acts on them: SIGTERM/SIGINT stop scheduling, ask running crawls to stop and
commit, and exit 0; SIGHUP re-reads the config and updates the jobs.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from archive.config import Config, ConfigError, load_config
from schedules import jobs
from schedules.triggers import cron_trigger

logger = logging.getLogger("newsarchive.schedule")
TriggerFactory = Callable[[str, str], BaseTrigger]
STOP_TIMEOUT = 600.0


def build_scheduler(config: Config) -> BackgroundScheduler:
    store = Path(config.schedule.jobstore).expanduser().absolute()
    store.parent.mkdir(parents=True, exist_ok=True)
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{store}")},
        executors={"default": {"type": "threadpool",
                               "max_workers": max(4, len(config.sites) + 1)}},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": config.schedule.misfire_grace_seconds},
        timezone=ZoneInfo(config.crawl.timezone),
    )


def wanted_jobs(config: Config, archive_uri: str | None) -> dict[str, tuple[str, str, list]]:
    """Job id -> (cron expression, function reference, arguments), from the config; with
    ``[cluster]``, jobs that enqueue the runs for the workers instead of running them."""
    path = str(Path(config.path).absolute())
    wanted: dict[str, tuple[str, str, list]] = {}
    for site in config.sites:
        if not site.schedule:
            continue
        if config.cluster:
            job = ("schedules.jobs:enqueue_site_run", [path, archive_uri, site.name,
                                                       site.schedule])
        else:
            job = ("schedules.jobs:run_site_crawl", [path, archive_uri, site.name])
        wanted[f"crawl:{site.name}"] = (site.schedule, *job)
    if config.dumps.schedule:
        expression = config.dumps.schedule
        wanted["dump:daily"] = ((expression, "schedules.jobs:enqueue_daily_dump",
                                 [path, archive_uri, expression]) if config.cluster else
                                (expression, "schedules.jobs:run_daily_dump", [path, archive_uri]))
    return wanted


def sync_jobs(scheduler: BackgroundScheduler, config: Config, archive_uri: str | None,
              trigger_factory: TriggerFactory = cron_trigger) -> None:
    """Make the job store match the config, leaving unchanged jobs (and their next run) be."""
    timezone = config.crawl.timezone
    wanted = wanted_jobs(config, archive_uri)
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            logger.info("removing job %s (no longer in the config)", job.id)
            job.remove()
    for job_id, (expression, func, args) in wanted.items():
        name = f"{job_id} [{expression}, {timezone}]"
        existing = scheduler.get_job(job_id)
        if existing is not None and existing.name == name and list(existing.args) == args:
            continue
        scheduler.add_job(func, trigger_factory(expression, timezone), args=args, id=job_id,
                          name=name, replace_existing=True)
        logger.info("scheduled %s", name)


def print_next_runs(config: Config, now: dt.datetime | None = None) -> None:
    """Each job's next run, in the configured zone and in UTC."""
    now = now or dt.datetime.now(ZoneInfo(config.crawl.timezone))
    wanted = wanted_jobs(config, None)
    if not wanted:
        print("no site has a schedule")
    for job_id, (expression, _, _) in wanted.items():
        fire = cron_trigger(expression, config.crawl.timezone).get_next_fire_time(None, now)
        local = fire.strftime("%Y-%m-%d %H:%M %Z") if fire else "never"
        utc = fire.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if fire else ""
        print(f"{job_id:30s} {expression:16s} next: {local} ({utc})")
    unscheduled = [s.name for s in config.sites if not s.schedule]
    if unscheduled:
        print(f"not scheduled (no schedule set): {', '.join(unscheduled)}")


def _install_signal_events(events: queue.SimpleQueue) -> None:
    # SimpleQueue.put is reentrant: safe to call from a signal handler
    signal.signal(signal.SIGTERM, lambda *_: events.put("stop"))
    signal.signal(signal.SIGINT, lambda *_: events.put("stop"))
    signal.signal(signal.SIGHUP, lambda *_: events.put("reload"))


def _reload(scheduler: BackgroundScheduler, config: Config, archive_uri: str | None) -> Config:
    try:
        fresh = load_config(config.path).with_archive_uri(archive_uri)
    except ConfigError as exc:
        logger.error("config not reloaded, keeping the running one: %s", exc)
        return config
    sync_jobs(scheduler, fresh, archive_uri)
    logger.info("config reloaded from %s", config.path)
    return fresh


def run_schedule(config: Config, archive_uri: str | None, list_only: bool = False) -> int:
    if list_only:
        print_next_runs(config)
        return 0
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = build_scheduler(config)
    events: queue.SimpleQueue = queue.SimpleQueue()
    _install_signal_events(events)
    scheduler.start(paused=True)
    sync_jobs(scheduler, config, archive_uri)
    scheduler.resume()
    logger.info("scheduler started with %d jobs (job store %s)", len(scheduler.get_jobs()),
                config.schedule.jobstore)
    if config.cluster is not None:
        logger.info("runs are enqueued for the workers at %s", config.cluster.masked_url)
    while True:
        try:
            event = events.get(timeout=1.0)
        except queue.Empty:
            continue
        if event == "reload":
            config = _reload(scheduler, config, archive_uri)
        elif event == "stop":
            break
    logger.info("stopping: no new runs; %d running crawl(s) asked to stop and commit",
                jobs.running_children())
    scheduler.shutdown(wait=False)
    jobs.stop_children(STOP_TIMEOUT)
    logger.info("scheduler stopped")
    return 0
