"""``newsarchive dump``: a day's records as one file for downstream tools (docs/dumps.md).

Three destinations: the archive (no ``--output``: ``dumps/date=D/`` with both formats, a manifest
and ``_SUCCESS``), one local file (``--output PATH`` in ``--format``), or stdout (``--output -``,
always JSON Lines, as CONTRACT §2 says). The summary line goes to stdout, except when stdout
carries the records: then it goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from archive.config import Config
from archive.dumps import FORMATS, DumpError, EmptyDay, build_dump, stream_jsonl, write_local
from archive.keys import DUMPS, InvalidName, day_prefix, validate_date
from archive.storage import Storage, StorageError, open_storage
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
            f"{storage.location(day_prefix(DUMPS, day))} ({files}, _SUCCESS)")


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


def run(args: argparse.Namespace, config: Config) -> int:
    return run_dump(config, args.date, args.format, args.output)
