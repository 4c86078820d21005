"""The ``newsarchive`` command line (CONTRACT §2).

Exit codes: 0 the command did what it says; 1 it ran but failed (for ``crawl``: something
fetched is not safely in the archive yet); 2 a config or argument error, reported as one line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

from archive import __version__
from archive.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from archive.keys import TOP_LEVEL, InvalidName, validate_crawl_id, validate_date
from newsarchive.console import configure_logging
from newsarchive.exitcodes import EXIT_USAGE


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as the contract asks
        raise UsageError(f"{self.prog}: {message}")


def _date(value: str) -> str:
    try:
        return validate_date(value)
    except InvalidName as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _crawl_id(value: str) -> str:
    try:
        return validate_crawl_id(value)
    except InvalidName as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _common_options(with_defaults: bool) -> argparse.ArgumentParser:
    """--config, --archive and -v, taken before or after the command's name (CONTRACT §2):
    the main parser holds the defaults, each command's copy sets a value only when given."""
    def default(value: object) -> object:
        return value if with_defaults else argparse.SUPPRESS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=default(DEFAULT_CONFIG_PATH),
                        help=f"config file (default ./{DEFAULT_CONFIG_PATH})")
    common.add_argument("--archive", metavar="URI", default=default(None),
                        help="archive URI, overrides [archive].uri (s3://bucket/prefix or path)")
    common.add_argument("-v", "--verbose", action="store_true", default=default(False),
                        help="log at INFO level")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(with_defaults=False)
    parser = _Parser(prog="newsarchive", description="Scheduled news crawling and archiving.",
                     parents=[_common_options(with_defaults=True)])
    parser.add_argument("--version", action="version", version=f"newsarchive {__version__}",
                        help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    crawl = commands.add_parser("crawl", parents=[common], help="one crawl now")
    crawl.add_argument("--site", action="append", default=[], metavar="NAME",
                       help="crawl only this site (repeatable)")
    crawl.add_argument("--crawl-id", type=_crawl_id, metavar="ID",
                       help="the run's id (default: a new one); for schedulers that follow "
                            "their runs to the report")
    crawl.add_argument("--enqueue", action="store_true",
                       help="with [cluster]: put the runs on the cluster's queue instead")
    crawl.add_argument("--wait", action="store_true",
                       help="with --enqueue: return when the runs ended, with the exit code "
                            "a local crawl would give")

    schedule = commands.add_parser("schedule", parents=[common], help="run crawls on schedule")
    schedule.add_argument("--list", action="store_true", help="print next run times and exit")

    worker = commands.add_parser("worker", parents=[common],
                                 help="with [cluster]: run site runs from the queue")
    worker.add_argument("--concurrency", type=_positive, metavar="K",
                        help="runs at a time (default: one per core)")
    worker.add_argument("--name", default="newsarchive@%h", metavar="NODE",
                        help="the worker's node name (default newsarchive@%%h, %%h: the host "
                             "name); give each worker on one machine its own")

    cluster = commands.add_parser("cluster", parents=[common], help="the cluster (status)")
    cluster.add_argument("action", choices=["status"],
                         help="status: queue depth, workers, running and last runs")

    replay = commands.add_parser("replay", parents=[common], help="rebuild records from WARC")
    replay.add_argument("--date", type=_date,
                        help="the day whose records to rebuild (with --url: that day's capture)")
    replay.add_argument("--url", metavar="URL",
                        help="print the archived body of URL (latest capture, or of --date)")
    replay.add_argument("--site", action="append", default=[], metavar="NAME",
                        help="rebuild only this site's records (repeatable)")
    replay.add_argument("--output", metavar="URI",
                        help="write the rebuilt records into this archive instead of in place")

    imports = commands.add_parser("import", parents=[common],
                                  help="backfill a site from existing WARC files")
    imports.add_argument("--site", action="append", required=True, metavar="NAME",
                         help="the config's site the captures belong to (once)")
    imports.add_argument("files", nargs="+", metavar="FILE_OR_URI",
                         help="WARC files (.warc, .warc.gz), folders of them, or storage URIs")

    dump = commands.add_parser("dump", parents=[common], help="a day's records as one file")
    dump.add_argument("--date", type=_date, help="the UTC day (YYYY-MM-DD)")
    dump.add_argument("--from", dest="day_from", type=_date, metavar="DATE",
                      help="with --to: dump every day of the range into the archive")
    dump.add_argument("--to", dest="day_to", type=_date, metavar="DATE",
                      help="the range's last day (included)")
    dump.add_argument("--format", choices=["parquet", "jsonl"], default=None,
                      help="format of --output PATH (default: from its name, else parquet)")
    dump.add_argument("--output", metavar="PATH",
                      help="a local file, or - for JSON Lines on stdout (default: the archive)")

    ls = commands.add_parser("ls", parents=[common], help="days, sites and record counts")
    ls.add_argument("--date", type=_date, help="only this UTC day (YYYY-MM-DD)")
    return parser


def _load(args: argparse.Namespace) -> Config:
    config = load_config(args.config).with_archive_uri(args.archive)
    for name in getattr(args, "site", None) or []:
        config.site(name)
    if _needs_cluster(args) and config.cluster is None:
        raise ConfigError(f"{config.path}: cluster: missing: `{_needs_cluster(args)}` needs "
                          f'[cluster] broker_url = "redis://host:6379/0"')
    _warn_old_default_store(config)
    return config


def _needs_cluster(args: argparse.Namespace) -> str | None:
    """The command line's words that need [cluster], if it needs it."""
    if args.command in ("worker", "cluster"):
        return args.command
    return "crawl --enqueue" if args.command == "crawl" and args.enqueue else None


def _check_combinations(args: argparse.Namespace) -> None:
    if args.command != "crawl":
        return
    if args.wait and not args.enqueue:
        raise UsageError("newsarchive crawl: --wait goes with --enqueue")
    if args.enqueue and args.crawl_id:
        raise UsageError("newsarchive crawl: --crawl-id cannot go with --enqueue (each "
                         "delivery of a queued run gets its own id)")


def _module_of(args: argparse.Namespace) -> tuple[str, bool]:
    if args.command == "crawl" and args.enqueue:
        return "newsarchive.cmd_enqueue", True
    return COMMANDS[args.command]


def _warn_old_default_store(config: Config) -> None:
    """One line when archive data sits in ./archive, the default store until 2026-12, while
    this config's archive is elsewhere: that data is not lost, but it is not read either."""
    old = Path(config.path).parent / "archive"
    found = [name for name in TOP_LEVEL if (old / name).is_dir()]
    if not found:
        return
    uri = urlparse(config.archive.uri)
    if uri.scheme in ("", "file") and Path(uri.path).absolute() == old.absolute():
        return
    print(f"newsarchive: warning: {old}/ holds archive data ({', '.join(found)}) from the old "
          f"default store; this run uses {config.archive.uri}. Move those folders there, or "
          f'set [archive].uri = "./archive" in {config.path}', file=sys.stderr)


# command -> (the module whose run(args, config) carries it out, whether the CLI sets up logging
# for it: the crawling commands log through Scrapy's own set-up). Imported on use: crawl, replay
# and schedule pull in Scrapy and Twisted, about 0.6 s at every start that ls and --help skip
COMMANDS: dict[str, tuple[str, bool]] = {
    "crawl": ("newsarchive.cmd_crawl", False),
    "schedule": ("newsarchive.cmd_schedule", False),
    "replay": ("newsarchive.cmd_replay", False),
    "import": ("newsarchive.cmd_import", False),
    "dump": ("newsarchive.cmd_dump", True),
    "ls": ("newsarchive.cmd_ls", True),
    "worker": ("newsarchive.cmd_worker", True),
    "cluster": ("newsarchive.cmd_cluster", True),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_combinations(args)
        config = _load(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"newsarchive: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    module, logs_here = _module_of(args)
    if logs_here:
        configure_logging(args.verbose)
    return importlib.import_module(module).run(args, config)


if __name__ == "__main__":
    sys.exit(main())
