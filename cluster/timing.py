"""How long a cluster's runs, results and redeliveries may take, derived from the config: one
home for the bounds the Celery app (``cluster/app.py``) and the tasks (``cluster/tasks.py``)
both use."""

from __future__ import annotations

from archive.config import Config

RESTORE_INTERVAL = 10
# after SIGTERM at the run timeout, a run has its upload timeout and this much more to exit
STOP_MARGIN = 10.0
RESULT_SECONDS = 7 * 86400


def run_timeout(config: Config) -> float:
    """``[cluster] run_timeout``, else 1.5 × the slowest a full site can be fetched at its
    politeness (max_pages_per_site × download_delay), plus 5 minutes for robots.txt, the
    entry points and the commit: 1,800 s with the defaults."""
    if config.cluster is not None and config.cluster.run_timeout is not None:
        return config.cluster.run_timeout
    crawl = config.crawl
    return 1.5 * crawl.max_pages_per_site * crawl.download_delay + 300


def stop_grace(config: Config) -> float:
    """How long a run asked to stop may take to exit: its wait for uploads, and a margin."""
    return config.archive.upload_timeout + STOP_MARGIN


def longest_run(config: Config) -> float:
    """The longest a delivery can last: the run timeout, then the stop (uploads, exit)."""
    return run_timeout(config) + stop_grace(config)


def visibility_timeout(config: Config) -> float:
    """Redelivery after this many seconds unacknowledged: after any run has ended, and after
    a dead run's lease has expired (it was renewed until the death, at most longest_run)."""
    return longest_run(config) + config.schedule.lease_seconds


def redo_bound(config: Config) -> float:
    """At most this long after a run started on a machine that died, another worker (if one
    is free) starts it again."""
    return visibility_timeout(config) + RESTORE_INTERVAL
