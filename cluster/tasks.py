"""The cluster's tasks: one site's crawl run, one day's dump, each a child process.

A task names only its site (or day): each worker runs it with its own config file and archive
credentials. Each delivery gets a new crawl id, so two deliveries never write files of the
same name. A message delivered twice is harmless: a copy delivered while its task runs finds the
task taken (:func:`~cluster.redis_keys.taken_key`, a ``SET NX`` expiring after the longest a
run can last) and a copy delivered after its task ran to its end (its acknowledgement lost with
a Redis connection, say) finds that task's result under :func:`~cluster.redis_keys.done_key`:
both end as skipped without crawling. Runs of different tasks for one site are kept apart by
the site's lease in the archive: the later one ends as ``skipped`` (exit 3, "held by …").
What each run did is written to Redis for ``newsarchive cluster status``: the site's last run,
the worker's spool, the runs going.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from celery import Celery, Task, shared_task

from archive.config import Config, load_config
from archive.timestamps import new_crawl_id, utc_now_iso
from cluster import timing
from cluster.redis_keys import (
    CRAWL_TASK,
    DUMP_TASK,
    LAST_RUNS,
    RUNNING,
    WORKER_SPOOLS,
    done_key,
    taken_key,
)
from cluster.runs import ChildRun, run_child
from cluster.timing import RESULT_SECONDS

logger = logging.getLogger("newsarchive.cluster")
T = TypeVar("T")
# how long the end of a run waits for Redis to come back before the result is given up
# (the message is then redelivered after the visibility timeout and finds the lease free)
REDIS_RETRY_SECONDS = 300.0
EXIT_OK, EXIT_FAILED, EXIT_HELD = 0, 1, 3


class RunFailed(Exception):
    """A run ended with an exit code a local run would call a failure (1, 2)."""


def with_redis_retry(action: Callable[[], T], what: str,
                     patience: float = REDIS_RETRY_SECONDS) -> T:
    """``action()``, retried while Redis is unreachable (a restart, a network cut)."""
    deadline = time.monotonic() + patience
    delay = 0.5
    while True:
        try:
            return action()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            if time.monotonic() > deadline:
                raise
            logger.warning("Redis unreachable while %s (%s): retrying in %.0fs", what,
                           type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def _worker_config(app: Celery) -> Config:
    uri = app.conf.newsarchive_archive_uri
    return load_config(app.conf.newsarchive_config_path).with_archive_uri(uri)


def _base_args(app: Celery) -> list[str]:
    args = ["--config", app.conf.newsarchive_config_path]
    uri = app.conf.newsarchive_archive_uri
    return args + ["--archive", uri] if uri else args


def _earlier_delivery(task: Task, config: Config) -> dict[str, Any] | None:
    """The result of this task id's delivery that ran to its end, or of the one running, or
    None after taking the task id for this delivery."""
    client = task.app.backend.client
    worker = task.request.hostname or "?"

    def look() -> dict[str, Any] | None:
        raw = client.get(done_key(task.request.id))
        if raw:
            return json.loads(raw)
        if client.set(taken_key(task.request.id), worker, nx=True,
                      ex=max(1, int(timing.longest_run(config)))):
            return None
        holder = client.get(taken_key(task.request.id)) or b"?"
        holder = holder.decode() if isinstance(holder, bytes) else holder
        return {"outcome": "skipped", "exit_code": EXIT_HELD,
                "detail": f"the same task is running on {holder}", "worker": worker}

    return with_redis_retry(look, "checking for an earlier delivery")


def _outcome(child: ChildRun) -> tuple[str, str]:
    if child.exit_code == EXIT_OK:
        return "stored", "stopped at the run timeout" if child.timed_out else ""
    if child.exit_code == EXIT_HELD:
        return "skipped", "held by " + "; ".join(child.held or ["another crawl"])
    if child.not_stored:
        return "failed", f"{child.not_stored} file(s) wait in the worker's spool"
    return "failed", f"exit {child.exit_code}"


def _record(task: Task, result: dict[str, Any], site: str | None) -> None:
    """The result under the task id (for a redelivery), the site's last run (unless skipped:
    the holder's run will say), the worker's spool; the run no longer going."""
    client = task.app.backend.client
    text = json.dumps(result)

    def write() -> None:
        pipe = client.pipeline()
        pipe.set(done_key(task.request.id), text, ex=RESULT_SECONDS)
        if site and result["outcome"] != "skipped":
            pipe.hset(LAST_RUNS, site, text)
            pipe.hset(WORKER_SPOOLS, result["worker"], json.dumps(
                {"not_stored": result["not_stored"], "crawl_id": result["crawl_id"],
                 "at": result["finished_at"]}))
        pipe.hdel(RUNNING, task.request.id)
        pipe.delete(taken_key(task.request.id))  # after the result: no window between
        pipe.execute()

    with_redis_retry(write, "recording a run's result")


def _mark_running(task: Task, info: dict[str, Any]) -> None:
    client = task.app.backend.client
    with_redis_retry(lambda: client.hset(RUNNING, task.request.id, json.dumps(info)),
                     "recording a run's start")


@shared_task(bind=True, name=CRAWL_TASK)
def crawl_site(self: Task, site: str) -> dict[str, Any]:
    """``newsarchive crawl --site SITE`` in a child process; its result as a dict."""
    config = _worker_config(self.app)
    config.site(site)  # ConfigError: a site this worker's config does not know
    earlier = _earlier_delivery(self, config)
    if earlier is not None:
        logger.warning("skipped site %s: task %s was delivered again (%s)", site,
                       self.request.id, earlier.get("detail") or
                       f"it already ran as crawl {earlier.get('crawl_id')}")
        return earlier
    crawl_id = new_crawl_id()
    worker = self.request.hostname or "?"
    started = utc_now_iso()
    _mark_running(self, {"site": site, "crawl_id": crawl_id, "worker": worker,
                         "started_at": started})
    logger.info("run start: site %s, crawl %s, task %s", site, crawl_id, self.request.id)
    child = run_child(["crawl", *_base_args(self.app), "--site", site, "--crawl-id", crawl_id],
                      timing.run_timeout(config), timing.stop_grace(config))
    outcome, detail = _outcome(child)
    result = {"site": site, "crawl_id": crawl_id, "exit_code": child.exit_code,
              "outcome": outcome, "detail": detail, "worker": worker,
              "not_stored": child.not_stored, "started_at": started,
              "finished_at": utc_now_iso()}
    _record(self, result, site)
    log = logger.error if outcome == "failed" else logger.info
    log("run end: site %s, crawl %s, %s%s", site, crawl_id, outcome,
        f" ({detail})" if detail else "")
    if outcome == "failed":
        raise RunFailed(f"site {site}, crawl {crawl_id}: {detail}")
    return result


@shared_task(bind=True, name=DUMP_TASK)
def dump_day(self: Task, day: str | None = None) -> dict[str, Any]:
    """``newsarchive dump --date DAY`` (default: the previous UTC day) in a child process."""
    config = _worker_config(self.app)
    earlier = _earlier_delivery(self, config)
    if earlier is not None:
        logger.warning("skipped the dump of %s: task %s was delivered again", day,
                       self.request.id)
        return earlier
    day = day or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    child = run_child(["dump", *_base_args(self.app), "--date", day],
                      timing.run_timeout(config), timing.stop_grace(config))
    result = {"day": day, "exit_code": child.exit_code,
              "outcome": "stored" if child.exit_code == EXIT_OK else "failed",
              "worker": self.request.hostname or "?", "finished_at": utc_now_iso()}
    _record(self, result, None)
    if child.exit_code != EXIT_OK:
        raise RunFailed(f"dump of {day}: exit {child.exit_code}")
    return result
