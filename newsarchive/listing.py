"""``newsarchive ls``: days, sites and record counts in the archive."""

from __future__ import annotations

from collections import defaultdict

from archive.dumps import dump_status
from archive.keys import parse_data_key
from archive.records import iter_records
from archive.storage import open_storage
from newsarchive.config import Config


def _count_records(storage, key: str) -> int:
    with storage.open_read(key) as stream:
        return sum(1 for _ in iter_records(stream))


def run_ls(config: Config, day: str | None) -> int:
    storage = open_storage(config.archive.uri, config.archive.endpoint_url)
    prefix = f"records/date={day}/" if day else "records/"
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for info in storage.list(prefix):
        parts = parse_data_key(info.key)
        if parts is None:
            continue
        cell = table[parts["date"]][parts["site"]]
        cell[0] += _count_records(storage, info.key)
        cell[1] += 1
    runs: dict[str, int] = defaultdict(int)
    for info in storage.list(f"runs/date={day}/" if day else "runs/"):
        runs[info.key.split("/")[1][len("date="):]] += 1
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
    return 0
