"""``newsarchive crawl --enqueue [--wait]``: the runs go on the cluster's queue (cluster/)."""

from __future__ import annotations

import argparse
import sys

from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from archive.config import Config
from cluster.app import build_app
from cluster.enqueue import enqueue_crawl, exit_code_of, wait_for
from newsarchive.exitcodes import EXIT_FAILED, EXIT_OK


def run(args: argparse.Namespace, config: Config) -> int:
    assert config.cluster is not None
    app = build_app(config, args.archive)
    sites = [site.name for site in config.select_sites(args.site)]
    try:
        task_ids = [task_id for site in sites if (task_id := enqueue_crawl(app, site))]
    except (RedisError, OperationalError, OSError) as exc:
        print(f"newsarchive crawl: cannot enqueue: the broker {config.cluster.masked_url} is "
              f"unreachable ({type(exc).__name__})", file=sys.stderr)
        return EXIT_FAILED
    for site, task_id in zip(sites, task_ids, strict=True):
        print(f"enqueued {site}: task {task_id}")
    if not args.wait:
        return EXIT_OK
    ended = wait_for(app, task_ids)
    for end in ended:
        result = end.result
        detail = f" ({result['detail']})" if result.get("detail") else ""
        print(f"{result.get('site', end.task_id)}: {end.outcome}{detail}, crawl "
              f"{result.get('crawl_id', '?')} on {result.get('worker', '?')}")
    code = exit_code_of(ended)
    if code != EXIT_OK:
        print(f"newsarchive crawl: {sum(e.outcome != 'stored' for e in ended)} of {len(ended)} "
              f"run(s) not stored", file=sys.stderr)
    return code
