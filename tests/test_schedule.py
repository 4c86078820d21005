"""Schedules: DST, leases, the scheduler's persistence, signals, and cron-style overlap."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES
from apscheduler.triggers.interval import IntervalTrigger

from archive.config import load_config
from archive.leases import LeaseHeld, acquire
from archive.storage import Storage
from schedules.scheduler import build_scheduler, sync_jobs
from schedules.triggers import cron_trigger
from tests.crawlrun import REPO, Archive, read_records, read_reports, run_cli, write_config
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import local_archive, s3_archive, web  # fixtures

UTC = dt.UTC


def _fires(expression: str, zone: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Every fire time in [start, end), asking the trigger the way the scheduler does."""
    trigger, tz = cron_trigger(expression, zone), ZoneInfo(zone)
    fires, previous, now = [], None, start.astimezone(tz)
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire >= end:
            return fires
        fires.append(fire)
        previous, now = fire, (fire.astimezone(UTC) + dt.timedelta(microseconds=1)).astimezone(tz)


@pytest.mark.parametrize("days", [("2026-03-27", "2026-04-02"), ("2026-10-22", "2026-10-29")])
def test_daily_runs_neither_skip_nor_double_fire_across_dst(days: tuple[str, str]) -> None:
    tz = ZoneInfo("Europe/Berlin")
    start = dt.datetime.fromisoformat(days[0]).replace(tzinfo=tz)
    end = dt.datetime.fromisoformat(days[1]).replace(tzinfo=tz)
    for expression in ("30 2 * * *", "0 3 * * *", "15 1 * * *"):
        fires = _fires(expression, "Europe/Berlin", start, end)
        local_days = [f.astimezone(tz).date() for f in fires]
        assert len(local_days) == len(set(local_days)) == (end - start).days, expression


def test_interval_like_schedule_follows_real_time_on_the_long_day() -> None:
    tz = ZoneInfo("Europe/Berlin")
    start, end = dt.datetime(2026, 10, 25, tzinfo=tz), dt.datetime(2026, 10, 26, tzinfo=tz)
    fires = _fires("*/30 * * * *", "Europe/Berlin", start, end)
    # the fall-back day lasts 25 hours: 50 half-hours, each run 30 minutes of real time apart
    assert len(fires) == 50
    gaps = {(b.astimezone(UTC) - a.astimezone(UTC)) for a, b in zip(fires, fires[1:],
                                                                     strict=False)}
    assert gaps == {dt.timedelta(minutes=30)}


def test_schedule_list_prints_local_and_utc(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[crawl]\ntimezone = "Europe/Paris"\n[[sites]]\nname = "a"\n'
                      'start_urls = ["https://a.example/"]\nschedule = "0 6 * * *"\n'
                      '[[sites]]\nname = "b"\nstart_urls = ["https://b.example/"]\n')
    result = run_cli("schedule", "--list", "--config", str(config))
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("crawl:a"))
    assert "06:00 CE" in line and ("04:00 UTC" in line or "05:00 UTC" in line)
    assert "not scheduled" in result.stdout and "b" in result.stdout.splitlines()[-1]


def _complete_objects_only(storage: Storage) -> None:
    """Every object under the contract prefixes is whole: gzip members end, JSON parses."""
    for info in storage.list(""):
        if not info.key.startswith(("raw/", "records/", "runs/", "dumps/", "state/")):
            continue
        data = storage.get_bytes(info.key)
        if info.key.endswith(".gz"):
            gzip.decompress(data)
        elif info.key.endswith(".json"):
            json.loads(data)


def _slow_config(web: FixtureWeb, archive: Archive, tmp_path: Path, *,
                 scheduled: tuple[str, ...] = (), dumps: bool = False,
                 lease_seconds: int = 300) -> Path:
    """A config whose crawls take a few seconds: a delay between requests, one at a time."""
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
    text = config.read_text().replace("download_delay = 0", "download_delay = 0.2")
    text = text.replace("concurrent_requests_per_domain = 8", "concurrent_requests_per_domain = 1")
    for site in scheduled:
        text = text.replace(f'name = "{site}"', f'name = "{site}"\nschedule = "0 0 1 1 *"')
    text += (f'\n[schedule]\njobstore = "{tmp_path / "jobs.sqlite"}"\n'
             f"lease_seconds = {lease_seconds}\n")
    if not dumps:
        text += '\n[dumps]\nschedule = ""\n'
    config.write_text(text)
    return config


def _wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _start_crawl(config: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "newsarchive", "crawl", "--config", str(config)],
                            cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_held_site_is_refused_with_exit_3(web: FixtureWeb, local_archive: Archive,
                                            tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("partner",))
    acquire(local_archive.storage, "partner", "other-crawl", ttl=300)
    result = run_cli("crawl", "--config", str(config), env=local_archive.env)
    assert result.returncode == 3
    [line] = [x for x in result.stderr.splitlines() if "skipped" in x]
    assert "partner" in line and "other-crawl" in line
    assert read_records(local_archive.storage) == [] and web.requests == []


def test_a_killed_crawls_lease_expires_and_the_next_run_completes(
        web: FixtureWeb, s3_archive: Archive, tmp_path: Path) -> None:
    config = _slow_config(web, s3_archive, tmp_path, lease_seconds=5)
    victim = _start_crawl(config, s3_archive.env)
    _wait_for(lambda: len(web.requests) >= 8)
    victim.kill()  # kill -9: no chance to release or commit
    victim.wait()
    refused = run_cli("crawl", "--config", str(config), env=s3_archive.env)
    assert refused.returncode == 3, refused.stderr
    _complete_objects_only(s3_archive.storage)

    def lease_expired() -> bool:
        try:
            acquire(s3_archive.storage, "dailyplanet", "probe", ttl=1).release()
            return True
        except LeaseHeld:
            return False

    _wait_for(lease_expired, timeout=30)
    done = run_cli("crawl", "--config", str(config), env=s3_archive.env)
    assert done.returncode == 0, done.stdout + done.stderr
    records = read_records(s3_archive.storage)
    urls = [r["canonical_url"] for r in records]
    assert len(urls) == len(set(urls)) == len(web.articles) + len(web.near_copies)
    _complete_objects_only(s3_archive.storage)


def _due_soon(seconds: float):
    """A trigger whose first run is ``seconds`` away and whose next is an hour later."""
    start = dt.datetime.now(UTC) + dt.timedelta(seconds=seconds)
    return lambda expression, zone: IntervalTrigger(hours=1, start_date=start)


def _prepare_jobs(config_path: Path, due_in: float | None = None) -> dict[str, dt.datetime]:
    """Fill the job store as a scheduler that then stopped would have left it."""
    config = load_config(config_path)
    scheduler = build_scheduler(config)
    scheduler.start(paused=True)
    if due_in is None:
        sync_jobs(scheduler, config, None)
    else:
        sync_jobs(scheduler, config, None, trigger_factory=_due_soon(due_in))
    jobs = {job.id: job.next_run_time for job in scheduler.get_jobs()}
    scheduler.shutdown()
    return jobs


def test_restarted_scheduler_keeps_its_jobs(web: FixtureWeb, local_archive: Archive,
                                            tmp_path: Path) -> None:
    config_path = _slow_config(web, local_archive, tmp_path,
                               scheduled=("dailyplanet", "partner"), dumps=True)
    before = _prepare_jobs(config_path)
    assert set(before) == {"crawl:dailyplanet", "crawl:partner", "dump:daily"}
    config = load_config(config_path)
    again = build_scheduler(config)
    again.start(paused=True)
    sync_jobs(again, config, None)
    assert {job.id: job.next_run_time for job in again.get_jobs()} == before
    again.shutdown()
    # a changed schedule replaces the job; a site dropped from the schedule loses its job
    text = config_path.read_text().replace('schedule = "0 0 1 1 *"', 'schedule = "5 4 * * *"', 1)
    config_path.write_text(text.replace('schedule = "0 0 1 1 *"', "", 1))
    changed = load_config(config_path)
    later = build_scheduler(changed)
    later.start(paused=True)
    sync_jobs(later, changed, None)
    assert "5 4 * * *" in later.get_job("crawl:dailyplanet").name
    assert later.get_job("crawl:partner") is None
    later.shutdown()


def test_a_run_missed_while_the_scheduler_was_down_fires_once(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:
    config_path = _slow_config(web, local_archive, tmp_path, scheduled=("partner",))
    _prepare_jobs(config_path, due_in=2.0)
    time.sleep(3.0)  # the scheduler is down when the run falls due
    config = load_config(config_path)
    restarted = build_scheduler(config)
    executed: list[str] = []
    restarted.add_listener(lambda event: executed.append(event.job_id), EVENT_JOB_EXECUTED)
    restarted.start(paused=True)
    sync_jobs(restarted, config, None)
    restarted.resume()
    _wait_for(lambda: executed, timeout=120)
    restarted.shutdown()
    assert executed == ["crawl:partner"]
    [report] = read_reports(local_archive.storage)
    assert list(report["sites"]) == ["partner"]


def test_fast_trigger_fires_runs_that_never_overlap(web: FixtureWeb, local_archive: Archive,
                                                    tmp_path: Path) -> None:
    config = load_config(_slow_config(web, local_archive, tmp_path, scheduled=("partner",)))
    scheduler = build_scheduler(config)
    refused = threading.Event()
    scheduler.add_listener(lambda event: refused.set(), EVENT_JOB_MAX_INSTANCES)
    scheduler.start(paused=True)
    sync_jobs(scheduler, config, None,
              trigger_factory=lambda expression, zone: IntervalTrigger(seconds=1))
    scheduler.resume()
    _wait_for(lambda: len(read_reports(local_archive.storage)) >= 3, timeout=180)
    scheduler.shutdown(wait=True)
    reports = sorted(read_reports(local_archive.storage), key=lambda r: r["started_at"])
    for earlier, later in zip(reports, reports[1:], strict=False):
        finished = dt.datetime.fromisoformat(earlier["finished_at"])
        assert finished <= dt.datetime.fromisoformat(later["started_at"]), "runs overlapped"
    # each run takes longer than the 1 s trigger, so some firings were refused
    assert refused.is_set()
    urls = [r["canonical_url"] for r in read_records(local_archive.storage)]
    assert len(urls) == len(set(urls)) == 5


class SchedulerProcess:
    """`newsarchive schedule` in a child process, its log collected as it comes."""

    def __init__(self, config: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "newsarchive", "schedule", "--config", str(config)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.log += line

    def stop(self, timeout: float = 300) -> int:
        """SIGTERM, then the exit code once it has stopped."""
        try:
            self.process.send_signal(signal.SIGTERM)
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self._reader.join(timeout=10)
        return code


def test_sigterm_stops_the_scheduler_and_its_crawl_cleanly(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:
    scheduler_config = _slow_config(web, local_archive, tmp_path, scheduled=("dailyplanet",))
    _prepare_jobs(scheduler_config, due_in=1.0)
    time.sleep(1.5)  # the run falls due while no scheduler is up
    scheduler = SchedulerProcess(scheduler_config)
    _wait_for(lambda: len(web.fetched_paths(0)) >= 6, timeout=120)
    assert scheduler.stop() == 0, scheduler.log
    assert "run start: site dailyplanet" in scheduler.log
    assert "scheduler stopped" in scheduler.log
    [report] = read_reports(local_archive.storage)
    assert report["finish_reason"] == "shutdown"
    _complete_objects_only(local_archive.storage)
    for record in read_records(local_archive.storage):
        assert local_archive.storage.exists(record["warc_filename"])


def test_sighup_reloads_the_config_without_losing_jobs(web: FixtureWeb, local_archive: Archive,
                                                       tmp_path: Path) -> None:
    config = _slow_config(web, local_archive, tmp_path, scheduled=("dailyplanet",))
    scheduler = SchedulerProcess(config)
    _wait_for(lambda: "scheduler started" in scheduler.log, timeout=60)
    config.write_text(config.read_text().replace(
        'name = "partner"', 'name = "partner"\nschedule = "0 0 1 1 *"'))
    scheduler.process.send_signal(signal.SIGHUP)
    _wait_for(lambda: "config reloaded" in scheduler.log, timeout=60)
    assert scheduler.stop() == 0, scheduler.log
    assert "scheduled crawl:partner" in scheduler.log
    jobs = _prepare_jobs(config)
    assert set(jobs) == {"crawl:dailyplanet", "crawl:partner"}


@pytest.fixture(autouse=True)
def _no_stray_children() -> Iterator[None]:
    yield
    from schedules import jobs

    jobs.stop_children(30)


def test_the_daily_dump_job_dumps_a_crawled_day(web: FixtureWeb, local_archive: Archive,
                                                tmp_path: Path, caplog) -> None:
    from schedules.jobs import run_daily_dump

    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("partner",))
    assert run_cli("crawl", "--config", str(config)).returncode == 0
    day = read_reports(local_archive.storage)[0]["started_at"][:10]
    caplog.set_level("INFO", logger="newsarchive.schedule")
    assert run_daily_dump(str(config), None, day) == 0
    assert local_archive.storage.exists(f"dumps/date={day}/_SUCCESS")
    manifest = json.loads(local_archive.storage.get_bytes(f"dumps/date={day}/_manifest.json"))
    assert manifest["rows_total"] == 5
    assert f"run end: dump of {day}, exit 0" in caplog.text
