"""kill -9 at random moments of slowed crawls, on both backends: the archive never holds a
partial object, nothing finished is lost, and once runs complete each article is there once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.spool import Spool
from tests.archivecheck import (
    assert_archive_sound,
    lease_free,
    record_ids,
    spool_leftovers,
    spool_records,
    wait_for,
)
from tests.crawlrun import REPO, Archive, read_records, run_cli, write_config
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import archive, local_archive, s3_archive, web  # noqa: F401  fixtures

KILLS = 5
SEED = 20261125
SITES = ("dailyplanet", "partner")


def killable_config(web: FixtureWeb, target: Archive, tmp_path: Path) -> Path:
    """Slow (0.15 s between requests, one at a time), files rolled every few KB so a kill
    can land while files are committed, and 5-second leases so a killed run's expires soon."""
    config = write_config(tmp_path / "news.toml", web, target, tmp_path / "spool")
    text = config.read_text().replace("download_delay = 0", "download_delay = 0.15")
    text = text.replace("concurrent_requests_per_domain = 8", "concurrent_requests_per_domain = 1")
    text = text.replace("spool_dir", "roll_size_mb = 0.004\nspool_dir")
    config.write_text(text + "\n[schedule]\nlease_seconds = 5\n")
    return config


def start(config: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "newsarchive", "crawl", "--config",
                             str(config)], cwd=REPO, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_after(config: Path, target: Archive, web: FixtureWeb, requests: int, delay: float
               ) -> str:
    """Start a crawl, let it make ``requests`` requests and ``delay`` seconds more, kill -9."""
    web.clear_log()
    victim = start(config, target.env)
    wait_for(lambda: len(web.requests) >= requests or victim.poll() is not None, timeout=60,
             step=0.02)
    time.sleep(delay)
    victim.send_signal(signal.SIGKILL)
    _, stderr = victim.communicate(timeout=30)
    return stderr


def test_random_kills_leave_no_partial_object_and_no_duplicate(
        web: FixtureWeb, archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    kill_repeatedly(web, archive, tmp_path, SEED)


def kill_repeatedly(web: FixtureWeb, archive: Archive, tmp_path: Path,  # noqa: F811
                    seed: int) -> None:
    config = killable_config(web, archive, tmp_path)
    spool = tmp_path / "spool"
    rng = random.Random(seed)
    finished: set[tuple[str, str, int]] = set()
    for _ in range(KILLS):
        wait_for(lambda: lease_free(archive.storage, SITES), timeout=30)
        kill_after(config, archive, web, rng.randint(4, 44), rng.uniform(0.0, 0.3))
        # after each kill: nothing partial under the contract prefixes, pointers resolve
        stored = assert_archive_sound(archive.storage)
        finished |= record_ids(stored) | record_ids(spool_records(spool))
    wait_for(lambda: lease_free(archive.storage, SITES), timeout=30)
    done = run_cli("crawl", "--config", str(config), env=archive.env)
    assert done.returncode == 0, done.stdout + done.stderr
    records = assert_archive_sound(archive.storage)
    urls = [r["canonical_url"] for r in records]
    assert len(urls) == len(set(urls)) == len(web.articles) + len(web.near_copies)
    assert {r["version"] for r in records} == {1}
    assert finished <= record_ids(records), "a record finished before a kill was lost"
    assert spool_leftovers(spool) == []
    recovered = [line for line in done.stderr.splitlines() if "spool:" in line]
    print(f"\n{archive.uri.split(':')[0]}: {len(finished)} records finished before the kills, "
          f"{len(records)} in the end; {recovered}")


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(10))
def test_kill_soak(web: FixtureWeb, archive: Archive, tmp_path: Path,  # noqa: F811
                   seed: int, request: pytest.FixtureRequest) -> None:
    """The same with other seeds: 100 more kills (``pytest -m soak``)."""
    # deselected by default even before pyproject's addopts says -m "not soak"
    if (request.config.getoption("markexpr") or "").strip() != "soak":
        pytest.skip("soak test: run with -m soak")
    kill_repeatedly(web, archive, tmp_path, seed)


# -- the spool's recovery, file by file ------------------------------------------------------
DEAD = "00000000000000000001-deadbeef"  # a token whose process is gone (no lock held)


def test_spool_recovery_after_a_kill(tmp_path: Path) -> None:
    live = Spool(tmp_path, "archive")
    live_file = live.new_path(".warc.gz")
    live_file.write_bytes(b"being written by a live process")
    root = live.root
    # a killed writer: a WARC cut mid-write, an enqueue cut before its key, and a batch
    # (records + dedup segment) whose manifest was written but only one key
    (root / "open" / f"{DEAD}-000001.warc.gz").write_bytes(b"\x1f\x8b partial")
    (root / "ready" / f"{DEAD}-00000002.data").write_bytes(b"no key: never enqueued")
    for name in ("00000003", "00000004"):
        (root / "ready" / f"{DEAD}-{name}.data").write_bytes(b"whole")
    (root / "ready" / f"{DEAD}-00000003.key").write_text("records/x")
    batch = [[f"{DEAD}-00000003", "records/date=2026-11-25/site=a/x-00000.jsonl.gz"],
             [f"{DEAD}-00000004", "state/dedup/date=2026-11-25/site=a/x-00000.bin"]]
    (root / "open" / f"{DEAD}-00000003.batch").write_text(json.dumps(batch))
    # and an upload killed after it removed the data but before the key
    orphan = root / "ready" / f"{DEAD}-00000005.key"
    orphan.write_text("raw/date=2026-11-25/site=a/x-00000.warc.gz")

    other = Spool(tmp_path, "archive")
    assert other.recovery.completed == 1 and other.recovery.removed_files == 2
    assert [e.key for e in other.pending()] == ["records/x", batch[1][1]]
    assert not orphan.exists(), "a key without its data would wait in ready/ for ever"
    assert live_file.exists(), "a live process's files are never touched"
    assert not list((root / "open").glob(f"{DEAD}*"))
    live.close()
    other.close()
