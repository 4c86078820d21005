"""``newsarchive cluster status``: the queue, the workers and each site's last run."""

from __future__ import annotations

import argparse
import sys

import redis
from kombu.exceptions import OperationalError

from archive.config import Config
from cluster.app import build_app
from cluster.status import format_status, gather
from newsarchive.exitcodes import EXIT_FAILED, EXIT_OK


def run(args: argparse.Namespace, config: Config) -> int:
    assert config.cluster is not None
    app = build_app(config, args.archive)
    try:
        status = gather(app, config)
    except (redis.ConnectionError, redis.TimeoutError, OperationalError, OSError) as exc:
        print(f"newsarchive cluster: the broker {config.cluster.masked_url} is unreachable: "
              f"{type(exc).__name__}", file=sys.stderr)
        return EXIT_FAILED
    print(format_status(status, config))
    return EXIT_OK
