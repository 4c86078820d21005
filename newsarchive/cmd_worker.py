"""``newsarchive worker [--concurrency K]``: a Celery worker on the cluster's queue.

A thin wrapper: ``celery -A cluster.app worker`` (with NEWSARCHIVE_CONFIG_FILE) is the same
worker. Its pool is threads: each run is a child process of its own (cluster/runs.py), so a
thread only waits for it, and a prefork pool would add a process per slot for nothing.
Mingle and gossip (workers syncing with each other) are off: the runs need neither, and both
cost a second and an error line at every reconnection to Redis.
"""

from __future__ import annotations

import argparse

from archive.config import Config
from cluster.app import build_app
from cluster.redis_keys import QUEUE
from newsarchive.exitcodes import EXIT_OK


def run(args: argparse.Namespace, config: Config) -> int:
    app = build_app(config, args.archive)
    argv = ["worker", "--pool", "threads", "--queues", QUEUE, "--hostname", args.name,
            "--without-mingle", "--without-gossip",
            "--loglevel", "INFO" if args.verbose else "WARNING"]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    app.worker_main(argv)
    return EXIT_OK
