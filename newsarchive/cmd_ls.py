"""``newsarchive ls``: days, sites and record counts in the archive."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

from archive.config import Config
from archive.dumps import dump_status
from archive.keys import RECORDS, dated_prefix, parse_data_key, run_report_day
from archive.records import iter_records
from archive.run_reports import RunReportError, read_run_report, run_report_keys
from archive.storage import Storage, StorageError, open_storage
from newsarchive.exitcodes import EXIT_FAILED, EXIT_OK


def _count_records(storage: Storage, key: str) -> int:
    with storage.open_read(key) as stream:
        return sum(1 for _ in iter_records(stream))


def _run_alerts(storage: Storage, key: str) -> list[str]:
    try:
        report = read_run_report(storage, key)
    except (RunReportError, FileNotFoundError):
        return [f"unreadable run report {key}"]
    found = [f"{site} ({report.crawl_id}): {alert['message']}"
             for site, data in report.sites.items() for alert in data.alerts]
    if not report.ended_normally:
        found.append(f"run {report.crawl_id} failed: {report.error or report.finish_reason}")
    return found


def run_ls(config: Config, day: str | None) -> int:
    """Print the listing; a storage that cannot be read ends in one line and exit 1."""
    storage = open_storage(config.archive.uri, config.archive.storage_options)
    try:
        lines = _listing(storage, day)
    except (StorageError, OSError) as exc:
        print(f"newsarchive ls: failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(lines))
    return EXIT_OK


def _listing(storage: Storage, day: str | None) -> list[str]:
    prefix = dated_prefix(RECORDS, day)
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for info in storage.list(prefix):
        parts = parse_data_key(info.key)
        if parts is None:
            continue
        cell = table[parts["date"]][parts["site"]]
        cell[0] += _count_records(storage, info.key)
        cell[1] += 1
    runs: dict[str, int] = defaultdict(int)
    alerts: dict[str, list[str]] = defaultdict(list)
    for key in run_report_keys(storage, day):
        run_day = run_report_day(key)
        runs[run_day] += 1
        alerts[run_day].extend(_run_alerts(storage, key))
    lines = [f"archive: {storage.location()}"]
    days = sorted(set(table) | set(runs))
    if not days:
        lines.append("no records" + (f" for {day}" if day else ""))
    for d in days:
        sites = table.get(d, {})
        total = sum(c[0] for c in sites.values())
        lines.append(f"{d}: {total} records, {len(sites)} sites, {runs.get(d, 0)} runs; "
                     f"dump: {dump_status(storage, d)}")
        for site, (count, files) in sorted(sites.items()):
            lines.append(f"  {site}: {count} records in {files} files")
        for alert in alerts.get(d, []):
            lines.append(f"  alert: {alert}")
    return lines


def run(args: argparse.Namespace, config: Config) -> int:
    return run_ls(config, args.date)
