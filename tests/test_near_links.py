"""Near-duplicate links whatever the timing (CONTRACT §5): the syndicated copies of the
fixture web's partner site, published after their Daily Planet originals, point at them and
never the other way, when the two sites are crawled in one run, one after the other, or in
parallel runs; time passes through ``NEWSARCHIVE_NOW`` (crawler/settings.py)."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.keys import (
    LINK_REPAIRS_PREFIX,
    LINKS_CHECKED_PREFIX,
    WINDOW_STATE_PREFIX,
    link_repairs_key,
)
from archive.link_repairs import LinkRepair, apply_link_repairs, encode_repairs
from archive.records import record_file_bytes, record_line
from pipelines.dedup_state import DedupState
from tests.crawlrun import REPO, Archive, read_records, run_cli, write_config
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import archive, local_archive, s3_archive  # noqa: F401 (fixtures)

# a window hour is built once it is over and an hour more has passed (dedup_compaction.py)
LATER = 3


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as fixture:
        yield fixture


def _env(target: Archive, hours: float) -> dict[str, str]:
    """The runs' clock: the real time (the fetch days, the window's hours) plus ``hours``,
    read when the run starts, so a long test session cannot leave the hours unclosed."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    return {**target.env, "NEWSARCHIVE_NOW": later.isoformat()}


def crawl_at(config: Path, target: Archive, hours: float, *sites: str) -> None:
    args = [arg for site in sites for arg in ("--site", site)]
    result = run_cli("crawl", "--config", str(config), *args, env=_env(target, hours))
    assert result.returncode == 0, result.stdout + result.stderr


def links(web: FixtureWeb, target: Archive) -> list[tuple[str | None, ...]]:
    """(copy's link, original's link, original's id) of each syndicated pair archived so
    far (a side not archived yet: None)."""
    found = {r["canonical_url"]: r for r in read_records(target.storage)}
    empty = {"near_duplicate_of": None, "id": None}
    pairs = [(found.get(copy, empty), found.get(original, empty))
             for copy, original in web.near_copies]
    assert len(pairs) == 2
    return [(c["near_duplicate_of"], o["near_duplicate_of"], o["id"]) for c, o in pairs]


def linked(rows: list) -> bool:
    return all(copy == original_id is not None and original is None
               for copy, original, original_id in rows)


def test_copies_archived_before_their_original_get_the_link(
        web: FixtureWeb, archive: Archive, tmp_path: Path) -> None:
    """The partner's copies first, the originals hours later (their copies now in the
    window): the originals stay unlinked, and the copies get the link at the partner's next
    run, which applies the repairs the other run left for it."""
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
    crawl_at(config, archive, 0, "partner")
    assert all(copy is None for copy, _, _ in links(web, archive))
    crawl_at(config, archive, LATER, "dailyplanet")
    assert all(original is None for _, original, _ in links(web, archive))
    assert list(archive.storage.list(LINK_REPAIRS_PREFIX)), "a repair waits for partner"
    crawl_at(config, archive, LATER + 0.2, "partner")
    assert linked(links(web, archive))
    assert not list(archive.storage.list(LINK_REPAIRS_PREFIX))


def test_copies_archived_in_parallel_runs_get_the_link(local_archive: Archive,
                                                        web: FixtureWeb, tmp_path: Path) -> None:
    """The scheduler's way: each site in its own process at the same minute, neither seeing
    the other's articles; the first run to end after their hour of the window is built links
    them (here not the run that built it, which died before its end)."""
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool")
    env = {**os.environ, **_env(local_archive, 0)}
    runs = [subprocess.Popen([sys.executable, "-m", "newsarchive", "crawl", "--config",
                              str(config), "--site", site], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for site in ("dailyplanet", "partner")]
    for run in runs:
        output, _ = run.communicate(timeout=300)
        assert run.returncode == 0, output
    assert all(copy is None for copy, _, _ in links(web, local_archive))
    # a run that built their hour of the window and was killed before its end
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=LATER)
    DedupState(local_archive.storage, tmp_path / "cache").load(
        None, "0000-00-00", sites=["dailyplanet"], now=later, compact=True)
    assert list(local_archive.storage.list(WINDOW_STATE_PREFIX))
    crawl_at(config, local_archive, LATER)
    assert linked(links(web, local_archive))
    checked = list(local_archive.storage.list(LINKS_CHECKED_PREFIX))
    assert checked, "the hours are marked checked, for no run to check them again"


def test_sites_crawled_in_one_run_link_copy_to_original(local_archive: Archive,
                                                         web: FixtureWeb, tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool")
    crawl_at(config, local_archive, 0)
    assert linked(links(web, local_archive))


def test_a_repair_rewrites_only_its_record_and_drops_what_is_gone(local_archive: Archive,
                                                                   caplog) -> None:
    storage = local_archive.storage
    day, site = "2026-11-30", "partner"
    rows = [{"id": f"{n:016x}", "content_hash": f"{n:02x}" * 32, "near_duplicate_of": None,
             "site": site} for n in (1, 2, 3)]
    key = f"records/date={day}/site={site}/run-a-00000.jsonl.gz"
    storage.put_bytes(key, gzip.compress(b"".join(record_line(r) for r in rows)))
    repairs = [LinkRepair(site, day, 2, int("02" * 8, 16), 0xAB),
               LinkRepair(site, day, 9, 9, 0xAB)]  # no such record (a replay replaced it)
    storage.put_bytes(link_repairs_key(site, "run-b"), encode_repairs(repairs))
    applied = apply_link_repairs(storage, site)
    assert (applied.links, applied.files, applied.missing) == (1, 1, 1)
    rewritten = {r["id"]: r["near_duplicate_of"] for r in read_records(storage)}
    assert rewritten == {f"{1:016x}": None, f"{2:016x}": f"{0xAB:016x}", f"{3:016x}": None}
    assert not list(storage.list(LINK_REPAIRS_PREFIX))
    assert "1 copies not found" in caplog.text


def test_a_repair_overrides_only_links_its_finder_knew(local_archive: Archive) -> None:
    """A finder that could not see a record's original (older than its window, archived by
    a parallel run) must not replace that link with a worse one."""
    storage = local_archive.storage
    day, site = "2026-11-30", "partner"
    rows = [{"id": f"{n:016x}", "content_hash": f"{n:02x}" * 32, "site": site,
             "near_duplicate_of": link} for n, link in ((1, f"{0xA:016x}"), (2, f"{0xB:016x}"))]
    storage.put_bytes(f"records/date={day}/site={site}/run-a-00000.jsonl.gz",
                      record_file_bytes(rows))
    repairs = [LinkRepair(site, day, 1, int("01" * 8, 16), 0xC, frozenset({0xB})),
               LinkRepair(site, day, 2, int("02" * 8, 16), 0xC, frozenset({0xB}))]
    storage.put_bytes(link_repairs_key(site, "run-b"), encode_repairs(repairs))
    apply_link_repairs(storage, site)
    links = {r["id"]: r["near_duplicate_of"] for r in read_records(storage)}
    assert links == {f"{1:016x}": f"{0xA:016x}", f"{2:016x}": f"{0xC:016x}"}
