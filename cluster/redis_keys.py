"""The only place that spells the cluster's names in Redis: keys, the queue, the task names (as
``archive/keys.py`` for the archive).

Celery and kombu own their own keys (the queue list, ``unacked``, ``celery-task-meta-*``); ours
all start with ``newsarchive:``.
"""

from __future__ import annotations

# the Celery queue every site run and dump goes through: a Redis list of that name
QUEUE = "newsarchive"
# the tasks' names, as the queue's messages carry them
CRAWL_TASK = "newsarchive.crawl_site"
DUMP_TASK = "newsarchive.dump_day"
# kombu's hash of messages delivered and not acknowledged yet (running or about to)
UNACKED = "unacked"
_PREFIX = "newsarchive:"
# site -> JSON of its last run's result (cluster status)
LAST_RUNS = _PREFIX + "last-run"
# worker hostname -> JSON of the run it has going (crawl id, site, start)
RUNNING = _PREFIX + "running"
# worker hostname -> JSON of its spool after its last run (files not stored yet)
WORKER_SPOOLS = _PREFIX + "spool"


def done_key(task_id: str) -> str:
    """The result of a task id that ran to its end: a redelivery finds it and is skipped."""
    return f"{_PREFIX}done:{task_id}"


def taken_key(task_id: str) -> str:
    """Held while a delivery of the task id runs: a copy delivered meanwhile is skipped. It
    expires before the message could be redelivered, so a dead worker's never blocks the redo."""
    return f"{_PREFIX}taken:{task_id}"


def slot_key(job: str, slot: str) -> str:
    """Claimed by the first scheduler to enqueue ``job`` (crawl:SITE, dump:daily) for a slot."""
    return f"{_PREFIX}slot:{job}:{slot}"
