"""``newsarchive ls``: days, sites and record counts in the archive."""

from __future__ import annotations

import json
from collections import defaultdict

from archive.config import Config
from archive.dumps import dump_status
from archive.keys import RECORDS, RUNS, day_prefix, kind_prefix, parse_data_key
from archive.records import iter_records
from archive.storage import open_storage


def _count_records(storage, key: str) -> int:
    with storage.open_read(key) as stream:
        return sum(1 for _ in iter_records(stream))


def _run_alerts(storage, key: str) -> list[str]:
    try:
        report = json.loads(storage.get_bytes(key))
    except (ValueError, FileNotFoundError):
        return [f"unreadable run report {key}"]
    found = [f"{site} ({report['crawl_id']}): {alert['message']}"
             for site, data in report.get("sites", {}).items() for alert in data.get("alerts", [])]
    if report.get("finish_reason") not in ("finished", "shutdown"):
        found.append(f"run {report.get('crawl_id')} failed: "
                     f"{report.get('error') or report.get('finish_reason')}")
    return found


def run_ls(config: Config, day: str | None) -> int:
    storage = open_storage(config.archive.uri, config.archive.storage_options)
    prefix = day_prefix(RECORDS, day) if day else kind_prefix(RECORDS)
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
    for info in storage.list(day_prefix(RUNS, day) if day else kind_prefix(RUNS)):
        run_day = info.key.split("/")[1][len("date="):]
        runs[run_day] += 1
        alerts[run_day].extend(_run_alerts(storage, info.key))
    print(f"archive: {storage.location()}")
    days = sorted(set(table) | set(runs))
    if not days:
        print("no records" + (f" for {day}" if day else ""))
    for d in days:
        sites = table.get(d, {})
        total = sum(c[0] for c in sites.values())
        print(f"{d}: {total} records, {len(sites)} sites, {runs.get(d, 0)} runs; "
              f"dump: {dump_status(storage, d)}")
        for site, (count, files) in sorted(sites.items()):
            print(f"  {site}: {count} records in {files} files")
        for alert in alerts.get(d, []):
            print(f"  alert: {alert}")
    return 0
