"""The dedup state compacted: a run's cost independent of the archive's age, on both backends."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from archive.keys import (
    DEDUP_STATE_PREFIX,
    SITE_STATE_PREFIX,
    WINDOW_STATE_PREFIX,
    site_compacted_marker,
)
from archive.local import LocalStorage
from archive.storage import Storage
from pipelines.dedup_index import DedupIndex, StateEntry
from pipelines.dedup_state import DedupState
from testkit.agedstate import article, article_id, live_key, write_live
from testkit.counting import CountingStorage

REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 3, 10, 12, 30, tzinfo=dt.UTC)
RECENT_FROM = "2026-02-08"  # NOW's day minus near_duplicate_days (30)
SITES = ("a", "b", "c")
FIRST_DAY = dt.date(2025, 11, 1)
HOURS = (1, 7, 13, 19)  # four runs a day; today's last two are still to come at NOW
STORY, DUPLICATE, COPY, OLD_COPY = 10_000, 20_000, 30_000, 30_001
# the story's versions fall into three compacted periods: year 2025, January, February
STORY_VERSIONS = {"2025-11-05": 1, "2026-01-10": 2, "2026-02-20": 3}


def _runs() -> list[tuple[str, int]]:
    days = (FIRST_DAY + dt.timedelta(days=n) for n in range((NOW.date() - FIRST_DAY).days + 1))
    return [(day.isoformat(), hour) for day in days for hour in HOURS
            if dt.datetime.fromisoformat(day.isoformat()).replace(hour=hour, tzinfo=dt.UTC) < NOW]


def _extras(site: str, day: str, hour: int) -> list[StateEntry]:
    """The articles the checks look for, on their day's first run."""
    if hour != HOURS[0]:
        return []
    found = []
    if site == "a" and day in STORY_VERSIONS:
        found.append(article("a", STORY, STORY_VERSIONS[day]))
    if site == "a" and day == "2025-11-20":
        found.append(article("a", DUPLICATE, text=1))
    if site == "b" and day == "2026-03-05":
        found.append(article("b", COPY, text=2))
    if site == "b" and day == "2025-12-01":
        found.append(article("b", OLD_COPY, text=3))
    return found


def write_aged_archive(storage: Storage) -> int:
    """Four months of live segments of three sites, one article a run, in the layout every
    archive had before compaction; returns how many segments."""
    count = 0
    for n, (day, hour) in enumerate(_runs()):
        for site in SITES:
            entries = [article(site, n), *_extras(site, day, hour)]
            write_live(storage, live_key(day, site, hour), entries)
            count += 1
    return count


def run_of(storage: Storage, site: str, cache: Path, now: dt.datetime = NOW) -> DedupIndex:
    """What a crawl of one site loads at its start: compacting, as it holds the lease."""
    return DedupState(storage, cache).load(None, RECENT_FROM, sites=[site], now=now,
                                           compact=True)


def assert_decisions(index: DedupIndex) -> None:
    """What a run of site a must still decide right, whatever the compaction did."""
    assert index.latest(article_id("a", STORY)).version == 3
    assert index.latest(article_id("a", 0)).version == 1  # the first run's article
    assert index.id_with_content(article("a", 0, text=1).content) == article_id("a", DUPLICATE)
    # another site's article of the window: an exact copy and a near-duplicate candidate
    copy = article("b", 0, text=2)
    assert index.id_with_content(copy.content) == article_id("b", COPY)
    assert index.near_duplicate(copy.sketch, None, exclude=0) == article_id("b", COPY)
    # another site's older than the window is not a candidate
    assert index.near_duplicate(article("b", 0, text=3).sketch, None, exclude=0) is None


def _keys(storage: Storage, prefix: str) -> list[str]:
    return [info.key for info in storage.list(prefix)]


@pytest.fixture
def aged(storage: Storage, tmp_path: Path) -> tuple[Storage, int]:
    return storage, write_aged_archive(storage)


def test_a_run_reads_a_bounded_state_however_old_the_archive(aged, tmp_path: Path) -> None:
    storage, segments = aged
    for site in SITES:  # each site's first run upgrades its history
        run_of(storage, site, tmp_path / "warm")
    counting = CountingStorage(storage)
    index = run_of(counting, "a", tmp_path / "cold")  # a new machine: nothing cached
    assert_decisions(index)
    history = _keys(storage, f"{SITE_STATE_PREFIX}site=a/")
    # one LIST of the history, two of the window's months, eight of the last live days
    assert counting.calls["list"] <= 11
    # a year before this one, two months, ten days of March; 30 window days, 11 hours today
    assert len(history) == 1 + 1 + 2 + 10
    assert counting.calls["get"] == len(history) - 1 + 30 + 11 < segments / 20
    assert counting.listed < 100
    # a warm machine: the LISTs only, and its cache holds what the run read, not the archive
    counting.reset()
    run_of(counting, "a", tmp_path / "cold")
    assert counting.calls["get"] == 0
    assert len(list((tmp_path / "cold").iterdir())) == len(history) - 1 + 30 + 11


def test_a_cold_run_reads_its_sites_history_before_any_of_the_window(aged, tmp_path: Path
                                                                   ) -> None:
    """The crawl's first request waits for its sites' history, only its first article for the
    window (30 days of every site): a new machine asks for the whole history first, so those
    reads do not share the link and the cores with the window's (which made them take twice
    as long, ``bench.aged``)."""
    storage, _ = aged
    for site in SITES:
        run_of(storage, site, tmp_path / "warm")
    counting = CountingStorage(storage)
    index = run_of(counting, "a", tmp_path / "cold")
    assert_decisions(index)  # the window was loaded all the same
    windowed = [key.startswith(WINDOW_STATE_PREFIX) for key in counting.got]
    assert windowed.count(False) == len(_keys(storage, f"{SITE_STATE_PREFIX}site=a/")) - 1
    assert windowed.count(True) == 30 + 11
    assert windowed == sorted(windowed), "a window object was read before the history"


def test_the_old_layout_is_upgraded_by_each_sites_first_run(aged, tmp_path: Path) -> None:
    storage, _ = aged
    run_of(storage, "a", tmp_path / "cache")
    live = {site: [k for k in _keys(storage, DEDUP_STATE_PREFIX) if f"/site={site}/" in k]
            for site in SITES}
    # a's segments are all in its history (today's runs too: their hours are in the window)
    assert live["a"] == [] and storage.exists(site_compacted_marker("a"))
    assert len(live["b"]) == len(_runs()) and not storage.exists(site_compacted_marker("b"))
    counting = CountingStorage(storage)
    run_of(counting, "b", tmp_path / "cache")
    assert counting.listed >= len(_runs())  # b's first run: every live segment, once
    counting.reset()
    run_of(counting, "b", tmp_path / "cache")
    assert counting.listed < 100 and counting.calls["put"] == 0
    # a run later in the day compacts what the next hour closed, and nothing else moves
    counting.reset()
    later = NOW + dt.timedelta(hours=7)
    write_live(storage, live_key("2026-03-10", "a", 13), [article("a", 99_999)])
    index = run_of(counting, "a", tmp_path / "cache", now=later)
    assert index.latest(article_id("a", 99_999)).version == 1
    assert _keys(storage, f"{DEDUP_STATE_PREFIX}date=2026-03-10/site=a/") == []


KILL_CHILD = """
import datetime as dt, os, signal, sys
from pathlib import Path
from archive.local import LocalStorage
from testkit.counting import CountingStorage
from tests.test_dedup_compaction import run_of

class KillAt(CountingStorage):
    def _mutated(self):
        if self.calls["put"] + self.calls["delete"] >= int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
    def put_bytes(self, key, data):
        super().put_bytes(key, data); self._mutated()
    def create_exclusive(self, key, data):
        created = super().create_exclusive(key, data); self._mutated(); return created
    def delete(self, key):
        super().delete(key); self._mutated()

run_of(KillAt(LocalStorage(Path(sys.argv[1]))), "a", Path(sys.argv[1]) / "cache")
"""


def _decisions(index: DedupIndex) -> dict[str, object]:
    ids = [article_id(site, n) for site in SITES for n in range(len(_runs()))]
    ids += [article_id("a", STORY), article_id("a", DUPLICATE), article_id("b", COPY)]
    return {"latest": {i: index.latest(i) for i in ids}, "size": len(index)}


def test_a_kill_at_any_point_of_a_compaction_loses_and_doubles_nothing(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    write_aged_archive(LocalStorage(pristine))
    reference = tmp_path / "reference"
    shutil.copytree(pristine, reference)
    expected = _decisions(run_of(LocalStorage(reference), "a", tmp_path / "ref-cache"))
    # the first run's 573 writes: the window's 30 closed days and 11 hours of today, then
    # from the 42nd a's history objects, the deletion of its 516 live segments, the marker
    for kill_at in (1, 20, 41, 42, 43, 44, 45, 50, 100, 300, 572):
        victim = tmp_path / f"kill-{kill_at}"
        shutil.copytree(pristine, victim)
        child = subprocess.run([sys.executable, "-c", KILL_CHILD, str(victim), str(kill_at)],
                               cwd=REPO, capture_output=True, text=True, timeout=300)
        if child.returncode != -signal.SIGKILL:
            assert child.returncode == 0, child.stderr
            continue  # that run made fewer writes
        shutil.rmtree(victim / "cache", ignore_errors=True)
        after = run_of(LocalStorage(victim), "a", tmp_path / f"cache-{kill_at}")
        assert _decisions(after) == expected, f"killed after {kill_at} writes"
        assert_decisions(after)
        assert os.listdir(victim / DEDUP_STATE_PREFIX)  # other sites' segments are untouched
