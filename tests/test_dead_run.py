"""A run that died after storing record files but before their dedup segments (kill -9, a lost
machine whose spool is gone): the site's next run, from another spool, stores none of those
articles again (pipelines/orphans.py)."""

from __future__ import annotations

import collections
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.keys import DEDUP_STATE_PREFIX, fetch_state_key, lease_key
from tests.crawlrun import Archive, read_records, run_cli, write_config
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import archive, local_archive, s3_archive  # noqa: F401 (fixtures)


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as fixture:
        yield fixture


def _crawl(config: Path, target: Archive) -> None:
    result = run_cli("crawl", "--config", str(config), "--site", "dailyplanet", env=target.env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_dead_runs_records_are_not_stored_again(web: FixtureWeb, archive: Archive,
                                                   tmp_path: Path) -> None:
    first = write_config(tmp_path / "a.toml", web, archive, tmp_path / "spool-a",
                         sites=("dailyplanet",))
    _crawl(first, archive)
    [crawl_id] = {r["crawl_id"] for r in read_records(archive.storage)}
    # as the dead run left the archive: its record files stored, its dedup segments and fetch
    # state still in its spool, its lease expired, never released
    storage = archive.storage
    for info in list(storage.list(DEDUP_STATE_PREFIX)):
        storage.delete(info.key)
    storage.delete(fetch_state_key("dailyplanet"))
    expired = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).isoformat()
    storage.put_bytes(lease_key("dailyplanet", 0), json.dumps(
        {"site": "dailyplanet", "crawl_id": crawl_id, "owner": "lost-machine:1",
         "expires_at": expired, "released": False}).encode())
    # another machine, another spool
    second = write_config(tmp_path / "b.toml", web, archive, tmp_path / "spool-b",
                          sites=("dailyplanet",))
    _crawl(second, archive)
    counts = collections.Counter(r["canonical_url"] for r in read_records(storage))
    assert counts and max(counts.values()) == 1, [u for u, n in counts.items() if n > 1]
    assert list(storage.list(DEDUP_STATE_PREFIX)), "the dead run's state written again"
    # seen to once: the dead run's lease is marked released, for later runs not to look again
    assert json.loads(storage.get_bytes(lease_key("dailyplanet", 0)))["released"] is True
