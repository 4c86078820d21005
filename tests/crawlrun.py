"""Running real crawls from tests: a config for the fixture web, the CLI in a child process
(the Twisted reactor cannot be restarted inside one test process), and reading the archive."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archive.records import iter_records
from archive.run_reports import read_run_report, run_report_keys
from archive.storage import Storage

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Archive:
    """Where a test crawl writes: the URI for the config, the storage to read it back."""

    uri: str
    storage: Storage
    env: dict[str, str]
    endpoint_url: str | None = None


def write_config(path: Path, web: Any, archive: Archive, spool: Path, *, private: bool = True,
                 sites: tuple[str, ...] = ("dailyplanet", "partner"), extra_crawl: str = ""
                 ) -> Path:
    lines = ["[archive]", f'uri = "{archive.uri}"', f'spool_dir = "{spool}"']
    if archive.endpoint_url:
        lines.append(f'endpoint_url = "{archive.endpoint_url}"')
    lines += ["", "[crawl]", 'user_agent = "newsarchive-test (+https://example.org/bot)"',
              f"allow_private_networks = {'true' if private else 'false'}",
              "download_delay = 0", "concurrent_requests_per_domain = 8",
              "extract_workers = 2", extra_crawl, ""]
    for name in sites:
        site = web.site(name)
        lines += ["[[sites]]", f'name = "{name}"',
                  f"start_urls = {json.dumps(list(site.start_urls))}",
                  f"feeds = {json.dumps(list(site.feeds))}", "follow_depth = 2", ""]
    path.write_text("\n".join(lines))
    return path


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO,
            module: str = "newsarchive", timeout: float = 300) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def read_records(storage: Storage) -> list[dict[str, Any]]:
    records = []
    for info in storage.list("records/"):
        with storage.open_read(info.key) as stream:
            records.extend(iter_records(stream))
    return records


def read_reports(storage: Storage) -> list[dict[str, Any]]:
    """Every run report, read with the typed reader (so each must be one), as plain dicts."""
    return [read_run_report(storage, key).to_dict() for key in run_report_keys(storage)]


def warc_response(storage: Storage, key: str, offset: int, length: int) -> tuple[str, bytes]:
    """(target URI, decoded payload) of the WARC record a pointer designates."""
    member = storage.read_range(key, offset, length)
    record = next(iter(ArchiveIterator(io.BytesIO(member))))
    assert record.rec_type == "response"
    return record.rec_headers.get_header("WARC-Target-URI"), record.content_stream().read()


def warc_keys(storage: Storage) -> list[str]:
    """The archive's WARC files (raw/ also holds their .cdxj indexes)."""
    return [info.key for info in storage.list("raw/") if info.key.endswith(".warc.gz")]


def gzip_members(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each gzip member of a file: one WARC record each in ours."""
    members, offset = [], 0
    while offset < len(data):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        inflater.decompress(memoryview(data)[offset:])
        length = len(data) - offset - len(inflater.unused_data)
        members.append((offset, length))
        offset += length
    return members


def warc_responses(storage: Storage, key: str) -> list[tuple[int, int, str, int]]:
    """(offset, length, target URI, status) of every response record of one WARC file."""
    data = storage.get_bytes(key)
    found = []
    for offset, length in gzip_members(data):
        member = io.BytesIO(data[offset:offset + length])
        record = next(iter(ArchiveIterator(member)))
        if record.rec_type == "response":
            found.append((offset, length, record.rec_headers.get_header("WARC-Target-URI"),
                          int(record.http_headers.get_statuscode())))
    return found


def warc_target_uris(storage: Storage) -> list[tuple[str, int]]:
    """(URI, status) of every response in the archive's WARC files."""
    found = []
    for key in warc_keys(storage):
        with storage.open_read(key) as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    found.append((record.rec_headers.get_header("WARC-Target-URI"),
                                  int(record.http_headers.get_statuscode())))
    return found


def set_archive_keys(config: Path, **values: float | int) -> Path:
    """Add keys to the config's [archive] table (e.g. short timeouts for dead storage)."""
    lines = "".join(f"{key} = {value}\n" for key, value in values.items())
    config.write_text(config.read_text().replace("[archive]\n", "[archive]\n" + lines, 1))
    return config
