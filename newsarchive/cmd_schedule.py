"""``newsarchive schedule [--list]``: the long-running scheduler (``schedules/``)."""

from __future__ import annotations

import argparse

from archive.config import Config
from schedules.scheduler import run_schedule


def run(args: argparse.Namespace, config: Config) -> int:
    return run_schedule(config, args.archive, list_only=args.list)
