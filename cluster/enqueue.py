"""Putting runs on the queue, once per slot, and waiting for them.

A scheduled run is enqueued under a claim, a Redis ``SET NX`` of ``slot_key(job, slot)`` that
expires after ``SLOT_SECONDS``, and its task id is derived from the job and the slot: a second
scheduler started by mistake, or the same one restarted, finds the slot claimed and enqueues
nothing. A run asked for by hand (``crawl --enqueue``) has no slot and always goes on the queue.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from celery import Celery

from archive.timestamps import new_crawl_id
from cluster.redis_keys import CRAWL_TASK, DUMP_TASK, done_key, slot_key
from cluster.tasks import with_redis_retry

# a claim outlives any scheduler restart or misfire grace it must guard against
SLOT_SECONDS = 2 * 86400
WAIT_POLL_SECONDS = 1.0


def crawl_job(site: str) -> str:
    return f"crawl:{site}"


DUMP_JOB = "dump:daily"


def _send(app: Celery, task: str, args: list[Any], task_id: str, job: str,
          slot: str | None) -> str | None:
    client = app.backend.client
    if slot is not None and not client.set(slot_key(job, slot), task_id, nx=True,
                                           ex=SLOT_SECONDS):
        return None
    try:
        app.send_task(task, args=args, task_id=task_id)
    except BaseException:
        if slot is not None:  # nothing was queued: let the next attempt claim the slot
            client.delete(slot_key(job, slot))
        raise
    return task_id


def enqueue_crawl(app: Celery, site: str, slot: str | None = None) -> str | None:
    """Queue one run of ``site``: its task id, or None when ``slot`` was already enqueued."""
    job = crawl_job(site)
    task_id = f"{job}@{slot}" if slot else f"{job}@{new_crawl_id()}"
    return _send(app, CRAWL_TASK, [site], task_id, job, slot)


def enqueue_dump(app: Celery, day: str | None, slot: str) -> str | None:
    """Queue the daily dump of ``day`` (None: the day before the worker's today) for ``slot``."""
    return _send(app, DUMP_TASK, [day], f"{DUMP_JOB}@{slot}", DUMP_JOB, slot)


@dataclass(frozen=True)
class Ended:
    task_id: str
    result: dict[str, Any]

    @property
    def outcome(self) -> str:
        return str(self.result.get("outcome", "failed"))


def wait_for(app: Celery, task_ids: list[str], timeout: float | None = None) -> list[Ended]:
    """Each task's result once it ended, reading what the worker recorded (robust to a Redis
    restart meanwhile); a task that died before recording counts as failed."""
    client = app.backend.client
    deadline = None if timeout is None else time.monotonic() + timeout
    ended: dict[str, Ended] = {}
    while len(ended) < len(task_ids):
        for task_id in task_ids:
            if task_id not in ended:
                end = with_redis_retry(lambda t=task_id: _ended(app, client, t), "waiting")
                if end is not None:
                    ended[task_id] = end
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{len(task_ids) - len(ended)} run(s) still not ended")
        if len(ended) < len(task_ids):
            time.sleep(WAIT_POLL_SECONDS)
    return [ended[t] for t in task_ids]


def _ended(app: Celery, client: Any, task_id: str) -> Ended | None:
    raw = client.get(done_key(task_id))
    if raw:
        return Ended(task_id, json.loads(raw))
    state = app.AsyncResult(task_id)
    if state.state == "FAILURE":  # raised before it could record (a config error, say)
        return Ended(task_id, {"outcome": "failed", "exit_code": 1, "detail": str(state.result)})
    return None


def exit_code_of(ended: list[Ended]) -> int:
    """What a local crawl of the same sites would exit with: 1 if a run failed, else 3 if a
    site was held by another crawl, else 0."""
    outcomes = {e.outcome for e in ended}
    if "failed" in outcomes:
        return 1
    return 3 if "skipped" in outcomes else 0
