"""``newsarchive dump``: a day's records as one file for downstream tools (docs/dumps.md).

Three destinations: the archive (no ``--output``: ``dumps/date=D/`` with the Parquet, the manifest
and ``_SUCCESS``, ``dumps-jsonl/date=D/`` with the JSON Lines), one local file (``--output PATH``
in ``--format``), or stdout (``--output -``, always JSON Lines, as CONTRACT §2 says). The summary
line goes to stdout, except when stdout carries the records: then it goes to stderr.

``--from D1 --to D2`` dumps each day of the range into the archive, one summary line a day. It
takes no ``--output``: a single file of many days would have no ``date`` partition, while
``dumps/`` already reads as one dataset of any range (docs/dumps.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from archive.config import Config
from archive.dumps import (
    FORMATS,
    DumpError,
    EmptyDay,
    build_dump,
    stream_jsonl,
    write_local,
)
from archive.keys import DUMPS, DUMPS_JSONL, InvalidName, day_prefix, validate_date
from archive.storage import Storage, StorageError, open_storage
from archive.timestamps import days_between
from newsarchive.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

# names that say which format a file holds; a --format that contradicts one is an error
_SUFFIX_FORMATS = ((".parquet", "parquet"), (".jsonl.gz", "jsonl"), (".jsonl", "jsonl"))
_UNITS = ("B", "KB", "MB", "GB", "TB")
_WORKDIR = "dump-work"  # under the spool dir: local disk the archive never sees


class _Usage(ValueError):
    pass


def output_format(fmt: str | None, output: str) -> str:
    """The format for ``--output PATH``: ``fmt`` if given, else from the file name (parquet
    when the name says nothing); a ``fmt`` the name contradicts is a usage error."""
    named = next((f for suffix, f in _SUFFIX_FORMATS if output.endswith(suffix)), None)
    if fmt is not None and named is not None and fmt != named:
        raise _Usage(f"--format {fmt} does not match the file name {output!r} ({named})")
    return fmt or named or "parquet"


def _check_args(day: str, fmt: str | None, output: str | None) -> None:
    validate_date(day)
    if fmt is not None and fmt not in FORMATS:
        raise _Usage(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if output not in (None, "-"):
        output_format(fmt, output)


def _rows(counts: dict[str, int]) -> str:
    per_site = ", ".join(f"{site} {rows}" for site, rows in counts.items())
    return f"{sum(counts.values())} rows ({per_site})"


def _size(n: int) -> str:
    value, unit = float(n), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{n} B" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"


def _to_archive(storage: Storage, config: Config, day: str) -> str:
    workdir = Path(config.archive.spool_dir).expanduser() / _WORKDIR
    manifest = build_dump(storage, day, workdir)
    files = ", ".join(f"{name} {_size(entry['bytes'])}" for name, entry in manifest.files.items())
    sources = f"{len(manifest.sources)} record file{'s' if len(manifest.sources) > 1 else ''}"
    return (f"dump {day}: {_rows(manifest.rows_per_site)} from {sources} -> "
            f"{storage.location(day_prefix(DUMPS, day))} and "
            f"{storage.location(day_prefix(DUMPS_JSONL, day))} ({files}, _SUCCESS)")


def _to_stdout(storage: Storage, day: str) -> str:
    sys.stdout.flush()  # anything already printed through the text layer goes first
    counts = stream_jsonl(storage, day, sys.stdout.buffer)
    return f"dump {day}: {_rows(counts)} streamed to stdout as JSON Lines"


def _to_file(storage: Storage, day: str, fmt: str, path: Path) -> str:
    counts = write_local(storage, day, fmt, path)
    return f"dump {day}: {_rows(counts)} -> {path} ({fmt}, {_size(path.stat().st_size)})"


def _quiet_stdout() -> None:
    # the reader left (e.g. `| head`): keep the interpreter's final flush from failing again
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _dump(config: Config, day: str, fmt: str | None, output: str | None) -> str:
    storage = open_storage(config.archive.uri, config.archive.storage_options)
    if output is None:
        return _to_archive(storage, config, day)
    if output == "-":
        return _to_stdout(storage, day)
    return _to_file(storage, day, output_format(fmt, output), Path(output))


def run_dump(config: Config, day: str, fmt: str | None, output: str | None) -> int:
    """Run ``newsarchive dump``: 0 written, 1 failed (an empty day included), 2 bad arguments;
    one summary line either way."""
    try:
        _check_args(day, fmt, output)
        summary = _dump(config, day, fmt, output)
    except (InvalidName, _Usage) as exc:
        print(f"newsarchive dump: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except EmptyDay as exc:
        print(f"newsarchive dump: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        _quiet_stdout()
        print("newsarchive dump: stdout closed before all records were written", file=sys.stderr)
        return EXIT_FAILED
    except (DumpError, StorageError, OSError) as exc:
        print(f"newsarchive dump: failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(summary, file=sys.stderr if output == "-" else sys.stdout)
    return EXIT_OK


def _range_day(storage: Storage, config: Config, day: str) -> bool:
    """One day of a range into the archive, its line printed; False when it was not dumped.
    A storage error propagates: every other day would fail the same way."""
    try:
        print(_to_archive(storage, config, day), flush=True)
    except EmptyDay as exc:
        print(f"newsarchive dump: {exc}", file=sys.stderr)
        return False
    except DumpError as exc:
        print(f"newsarchive dump: {day} failed: {exc}", file=sys.stderr)
        return False
    return True


def run_dump_range(config: Config, first: str, last: str) -> int:
    """Run ``newsarchive dump --from FIRST --to LAST``: every day into the archive, a day
    without records or with a bad record file does not stop the others. 0 when every day was
    dumped, 1 when one was not or the storage failed, 2 bad arguments."""
    try:
        days = days_between(first, last)
        if not days:
            raise InvalidName(f"the range ends ({last}) before it starts ({first})")
    except InvalidName as exc:
        print(f"newsarchive dump: {exc}", file=sys.stderr)
        return EXIT_USAGE
    storage = open_storage(config.archive.uri, config.archive.storage_options)
    try:
        dumped = [_range_day(storage, config, day) for day in days]
    except (StorageError, OSError) as exc:
        print(f"newsarchive dump: failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"dump {first}..{last}: {sum(dumped)} of {len(days)} days dumped")
    return EXIT_OK if all(dumped) else EXIT_FAILED


def _arguments_problem(args: argparse.Namespace) -> str | None:
    ranged = args.day_from is not None or args.day_to is not None
    if ranged and args.date is not None:
        return "--date and --from/--to do not go together"
    if ranged and (args.day_from is None or args.day_to is None):
        return "--from and --to go together"
    if ranged and args.output is not None:
        return "--output takes one --date; a range is dumped into the archive"
    if not ranged and args.date is None:
        return "give --date, or --from and --to"
    return None


def run(args: argparse.Namespace, config: Config) -> int:
    problem = _arguments_problem(args)
    if problem:
        print(f"newsarchive dump: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if args.date is None:
        return run_dump_range(config, args.day_from, args.day_to)
    return run_dump(config, args.date, args.format, args.output)
