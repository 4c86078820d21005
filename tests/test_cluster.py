"""The cluster (issue 13): Celery workers on Debian's redis-server crawl the fixture web into
SeaweedFS. Each worker is a separate ``newsarchive worker`` process with a config of its own
(its own spool, as on its own machine); the queue is a real Redis on a loopback port with a
password, which must never show in any output.

What a user would notice: the workers archive what one process archives (same ids, hashes and
versions, no duplicates); a message delivered twice is stored once and skipped once; a worker
killed with ``kill -9`` mid-run loses nothing, and another redoes the site; a Redis restart
loses no run and doubles none; two schedulers enqueue a slot once.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archive.config import load_config
from archive.keys import dedup_segment_key_for
from archive.records import iter_records
from archive.s3 import S3Storage
from cluster.app import build_app
from cluster.enqueue import enqueue_crawl, wait_for
from cluster.redis_keys import CRAWL_TASK, QUEUE, RUNNING, UNACKED, done_key
from cluster.timing import redo_bound
from schedules import jobs
from schedules.scheduler import wanted_jobs
from testkit.redis import RedisError, RedisServer, find_redis_server
from tests.archivecheck import assert_archive_sound
from tests.archivecheck import wait_for as wait_until
from tests.crawlrun import (
    REPO,
    Archive,
    read_records,
    read_reports,
    run_cli,
    set_archive_keys,
    write_config,
)
from tests.fixtureweb import FixtureWeb
from tests.test_storage_faults import FAST_FAIL, closed_port_endpoint

PASSWORD = "cluster-pw-" + uuid.uuid4().hex[:8]
SITES = ("dailyplanet", "partner")
# slow enough for a kill or a restart to land mid-run (a site's run takes several seconds),
# files rolled every few KB so a run stores some before it ends, short leases, run and upload
# timeouts so that a dead worker's run comes back within a minute
SLOW = {"download_delay": "0.15", "concurrent_requests_per_domain": "1"}
SLOW_ARCHIVE = "[archive]\nroll_size_mb = 0.004\nupload_timeout = 5\n"
SHORT_RUNS = "\n[schedule]\nlease_seconds = 5\n"
SHORT_CLUSTER = "run_timeout = 20\n"


@pytest.fixture(scope="module")
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as fixture:
        yield fixture


def _s3_archive(s3_server: Any) -> Archive:
    bucket = f"cluster-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(bucket)
    env = {"AWS_ACCESS_KEY_ID": s3_server.access_key,
           "AWS_SECRET_ACCESS_KEY": s3_server.secret_key, "AWS_DEFAULT_REGION": "us-east-1"}
    storage = S3Storage.from_uri(f"s3://{bucket}/archive", endpoint_url=s3_server.endpoint_url,
                                 access_key=s3_server.access_key,
                                 secret_key=s3_server.secret_key)
    return Archive(f"s3://{bucket}/archive", storage, env, endpoint_url=s3_server.endpoint_url)


@pytest.fixture
def archive(s3_server: Any) -> Archive:
    return _s3_archive(s3_server)


@pytest.fixture(scope="module")
def single_process(web: FixtureWeb, s3_server: Any,
                   tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The records of one ordinary ``newsarchive crawl`` of both sites: what the cluster
    must give."""
    target = _s3_archive(s3_server)
    folder = tmp_path_factory.mktemp("single")
    config = write_config(folder / "news.toml", web, target, folder / "spool")
    done = run_cli("crawl", "--config", str(config), env=target.env)
    assert done.returncode == 0, done.stdout + done.stderr
    return read_records(target.storage)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    try:
        find_redis_server()
    except RedisError as exc:
        pytest.skip(str(exc))
    with RedisServer(tmp_path / "redis", password=PASSWORD) as server:
        yield server


class Cluster:
    """Worker processes, each with a config of its own, and an app to talk to the queue."""

    def __init__(self, tmp_path: Path, web: FixtureWeb, archive: Archive, redis: RedisServer,
                 slow: bool = False) -> None:
        self.tmp_path, self.web, self.archive, self.redis = tmp_path, web, archive, redis
        self.slow = slow
        self.workers: dict[str, subprocess.Popen] = {}
        self.app = build_app(load_config(self.config("client")))
        self.client = self.app.backend.client

    def config(self, name: str, target: Archive | None = None, **archive_keys: float) -> Path:
        """The config of worker ``name`` (made on first use): ``target`` and ``archive_keys``
        change its archive (a storage that is down on that machine)."""
        path = self.tmp_path / f"{name}.toml"
        if path.exists():
            return path
        write_config(path, self.web, target or self.archive, self.tmp_path / f"spool-{name}")
        if archive_keys:
            set_archive_keys(path, **archive_keys)
        text = path.read_text()
        if self.slow:
            for key, value in SLOW.items():
                text = "\n".join(f"{key} = {value}" if line.startswith(f"{key} =") else line
                                 for line in text.splitlines())
            text = text.replace("[archive]\n", SLOW_ARCHIVE, 1) + SHORT_RUNS
        text += f'\n[cluster]\nbroker_url = "{self.redis.url}"\n'
        path.write_text(text + (SHORT_CLUSTER if self.slow else ""))
        return path

    def start(self, *names: str) -> None:
        for name in names:
            log = (self.tmp_path / f"{name}.log").open("w")
            self.workers[name] = subprocess.Popen(
                [sys.executable, "-m", "newsarchive", "worker", "--config", str(self.config(name)),
                 "--concurrency", "1", "--name", f"{name}@test", "-v"],
                cwd=REPO, env={**os.environ, **self.archive.env}, stdout=log, stderr=log,
                start_new_session=True)
        wait_until(lambda: set(self.ping()) >= {f"{n}@test" for n in names}, timeout=60)

    def ping(self) -> list[str]:
        return list(self.app.control.inspect(timeout=0.5).ping() or {})

    def kill(self, name: str) -> None:
        """kill -9 the worker and its run: the machine is gone."""
        os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers.pop(name).wait()

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text()

    def running(self) -> dict[str, dict[str, Any]]:
        return {k.decode(): json.loads(v) for k, v in self.client.hgetall(RUNNING).items()}

    def idle(self) -> bool:
        return self.client.llen(QUEUE) == 0 and self.client.hlen(UNACKED) == 0

    def stop(self) -> None:
        for process in self.workers.values():
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.workers.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.workers.clear()


@pytest.fixture
def make_cluster(tmp_path: Path, web: FixtureWeb, archive: Archive,
                 redis_server: RedisServer) -> Iterator[Any]:
    made: list[Cluster] = []

    def make(slow: bool = False) -> Cluster:
        made.append(Cluster(tmp_path, web, archive, redis_server, slow))
        return made[-1]

    yield make
    for cluster in made:
        cluster.stop()


def fingerprint(records: list[dict[str, Any]], sites: tuple[str, ...] = SITES
                ) -> collections.Counter:
    """(id, content hash, version) of each record of ``sites``, counted: a duplicate shows."""
    return collections.Counter((r["id"], r["content_hash"], r["version"]) for r in records
                               if r["site"] in sites)


def unindexed_record_ids(storage: Any) -> set[str]:
    """Ids in record files whose dedup segment (uploaded right behind each) is not stored."""
    segments = {info.key for info in storage.list("state/dedup/")}
    ids: set[str] = set()
    for info in storage.list("records/"):
        if dedup_segment_key_for(info.key) not in segments:
            with storage.open_read(info.key) as stream:
                ids |= {record["id"] for record in iter_records(stream)}
    return ids


def assert_no_password(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text


def test_two_workers_archive_what_one_process_does(make_cluster: Any, archive: Archive,
                                                   single_process: list[dict[str, Any]]
                                                   ) -> None:
    cluster = make_cluster()
    cluster.start("w1", "w2")
    enqueued = run_cli("crawl", "--config", str(cluster.config("client")), "--enqueue",
                       "--wait", env=archive.env, timeout=240)
    assert enqueued.returncode == 0, enqueued.stdout + enqueued.stderr
    assert "dailyplanet: stored" in enqueued.stdout and "partner: stored" in enqueued.stdout
    records = assert_archive_sound(archive.storage)
    assert fingerprint(records) == fingerprint(single_process)
    assert max(fingerprint(records).values()) == 1
    # the day's dump covers both workers' files
    day = records[0]["fetched_at"][:10]
    dumped = run_cli("dump", "--config", str(cluster.config("client")), "--date", day,
                     "--output", "-", env=archive.env)
    assert dumped.returncode == 0, dumped.stderr
    assert sorted(json.loads(line)["id"] for line in dumped.stdout.splitlines()) == sorted(
        r["id"] for r in records)
    # one run each, on the two workers (each holds one message at a time), two run reports
    assert {r["crawl_id"] for r in records} == {r["crawl_id"] for r in read_reports(
        archive.storage)}
    assert "run end: site" in cluster.log("w1") and "run end: site" in cluster.log("w2")
    status = run_cli("cluster", "status", "--config", str(cluster.config("client")),
                     env=archive.env)
    assert status.returncode == 0, status.stderr
    assert "queue: 0 waiting" in status.stdout and "workers: 2" in status.stdout
    for site in SITES:
        assert f"  {site}: last run " in status.stdout and " stored, exit 0" in status.stdout
    assert "redis://:***@127.0.0.1" in status.stdout
    assert_no_password(enqueued.stdout, enqueued.stderr, status.stdout, status.stderr,
                       cluster.log("w1"), cluster.log("w2"))
    # near-duplicate links between the sites the two workers crawled in parallel: set by the
    # first run to end once their hour of the window is built (pipelines/link_pass.py)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).isoformat()
    settled = run_cli("crawl", "--config", str(cluster.config("client")),
                      env={**archive.env, "NEWSARCHIVE_NOW": later})
    assert settled.returncode == 0, settled.stdout + settled.stderr
    links = {r["id"]: r["near_duplicate_of"] for r in read_records(archive.storage)}
    assert sum(1 for r in single_process if r["near_duplicate_of"]) == 2
    assert {r["id"]: r["near_duplicate_of"] for r in single_process} == links


def test_rediss_works_and_verifies_the_server(tmp_path: Path, web: FixtureWeb, archive: Archive,
                                             redis_server: RedisServer) -> None:
    with RedisServer(tmp_path / "redis-tls", password=PASSWORD, tls=True) as server:
        cluster = Cluster(tmp_path, web, archive, server)
        try:
            cluster.start("w1")
            client = str(cluster.config("client"))
            waited = run_cli("crawl", "--config", client, "--site", "partner", "--enqueue",
                             "--wait", env=archive.env, timeout=240)
            assert waited.returncode == 0, waited.stdout + waited.stderr
            assert "partner: stored" in waited.stdout
            status = run_cli("cluster", "status", "--config", client, env=archive.env)
            assert "broker: rediss://:***@127.0.0.1" in status.stdout
            assert "workers: 1" in status.stdout
            # without the CA that signed the server's certificate, the client refuses it
            stranger = tmp_path / "stranger.toml"
            stranger.write_text(Path(client).read_text().split("?ssl_ca_certs=")[0] + '"\n')
            refused = run_cli("cluster", "status", "--config", str(stranger), env=archive.env)
            assert refused.returncode == 1 and "unreachable" in refused.stderr, refused.stderr
        finally:
            cluster.stop()
    assert_no_password(waited.stdout, waited.stderr, status.stdout, cluster.log("w1"))


def test_a_task_delivered_twice_is_stored_once_and_skipped_once(
        make_cluster: Any, archive: Archive, single_process: list[dict[str, Any]]) -> None:
    cluster = make_cluster()
    cluster.start("w1", "w2")
    for _ in range(2):  # the same message twice, as a lost acknowledgement makes it
        cluster.app.send_task(CRAWL_TASK, args=["dailyplanet"], task_id="twice")
    [ended] = wait_for(cluster.app, ["twice"], timeout=120)
    assert ended.outcome == "stored"
    wait_until(cluster.idle, timeout=60)
    logs = cluster.log("w1") + cluster.log("w2")
    wait_until(lambda: "task twice was delivered again" in cluster.log("w1") + cluster.log("w2"),
               timeout=30)
    logs = cluster.log("w1") + cluster.log("w2")
    assert logs.count("run end: site dailyplanet") == 1
    assert logs.count("skipped site dailyplanet: task twice was delivered again") == 1
    records = assert_archive_sound(archive.storage)
    assert fingerprint(records) == fingerprint(single_process, ("dailyplanet",))
    assert len(read_reports(archive.storage)) == 1


def test_a_worker_killed_mid_run_loses_nothing_and_the_other_redoes_the_site(
        make_cluster: Any, archive: Archive, web: FixtureWeb,
        single_process: list[dict[str, Any]]) -> None:
    cluster = make_cluster(slow=True)
    cluster.start("w1", "w2")
    web.clear_log()
    [task_id] = [enqueue_crawl(cluster.app, "dailyplanet")]
    assert task_id
    # killed once the run has stored some records (small files: it rolls every few KB)
    wait_until(lambda: len(read_records(archive.storage)) >= 2, timeout=60, step=0.05)
    [victim] = [run["worker"].split("@")[0] for run in cluster.running().values()]
    cluster.kill(victim)
    stored_before = fingerprint(read_records(archive.storage), ("dailyplanet",))
    assert stored_before and cluster.running(), "the kill came after the run's end"
    unindexed = unindexed_record_ids(archive.storage)
    bound = redo_bound(load_config(cluster.config("w1")))
    [ended] = wait_for(cluster.app, [task_id], timeout=bound + 60)
    survivor = ({"w1", "w2"} - {victim}).pop()
    assert ended.outcome == "stored" and ended.result["worker"] == f"{survivor}@test"
    records = assert_archive_sound(archive.storage)
    final = fingerprint(records, ("dailyplanet",))
    assert not stored_before - final, "a record stored before the kill was lost"
    expected = fingerprint(single_process, ("dailyplanet",))
    assert set(final) == set(expected)
    # a record file the dead worker stored with its dedup segment still in its spool: the
    # redo writes that segment from the records first (pipelines/orphans.py), so every
    # article is stored exactly once
    duplicated = {key[0] for key, count in final.items() if count > 1}
    assert not duplicated
    print(f"\nkill -9: {sum(stored_before.values())} records stored before the kill, "
          f"{sum(final.values())} in the end; lost 0, duplicated 0 (record files without "
          f"their segment at the kill: {len(unindexed)} articles); redo bound {bound:.0f}s")


def test_a_redis_restart_mid_run_loses_and_doubles_no_run(
        make_cluster: Any, archive: Archive, redis_server: RedisServer, web: FixtureWeb,
        single_process: list[dict[str, Any]]) -> None:
    cluster = make_cluster(slow=True)
    cluster.start("w1", "w2")
    web.clear_log()
    # two runs well under way and one waiting in the queue when Redis goes down
    task_ids = [enqueue_crawl(cluster.app, site) for site in (*SITES, "partner")]
    wait_until(lambda: len(cluster.running()) == 2 and len(web.requests) >= 10, timeout=60,
               step=0.05)
    redis_server.restart(down_for=2.0)
    ended = wait_for(cluster.app, [t for t in task_ids if t], timeout=240)
    assert [e.outcome for e in ended[:2]] == ["stored", "stored"]
    # the third partner run came after the first, or met its lease: ended either way
    assert ended[2].outcome in ("stored", "skipped")
    records = assert_archive_sound(archive.storage)
    assert fingerprint(records) == fingerprint(single_process)
    wait_until(cluster.idle, timeout=redo_bound(load_config(cluster.config("w1"))) + 30)
    assert not any(cluster.client.get(done_key(t)) is None for t in task_ids if t)
    assert_no_password(cluster.log("w1"), cluster.log("w2"))


def test_a_worker_whose_storage_is_down_keeps_its_files_and_says_so(
        make_cluster: Any, archive: Archive) -> None:
    cluster = make_cluster()
    down = Archive(archive.uri, archive.storage, archive.env, endpoint_url=closed_port_endpoint())
    cluster.config("w1", down, **FAST_FAIL)
    cluster.start("w1")
    waited = run_cli("crawl", "--config", str(cluster.config("client")), "--site", "partner",
                     "--enqueue", "--wait", env=archive.env, timeout=240)
    assert waited.returncode == 1, waited.stdout + waited.stderr
    assert "partner: failed (" in waited.stdout and "wait in the worker's spool" in waited.stdout
    assert read_records(archive.storage) == []
    status = run_cli("cluster", "status", "--config", str(cluster.config("client")),
                     env=archive.env)
    assert "w1@test: idle; spool: " in status.stdout and "NOT STORED" in status.stdout
    assert "partner: last run " in status.stdout and " failed (" in status.stdout


def test_two_schedulers_enqueue_each_slot_once(make_cluster: Any) -> None:
    cluster = make_cluster()
    path = cluster.config("scheduler")
    path.write_text(path.read_text().replace('name = "dailyplanet"\n',
                                             'name = "dailyplanet"\nschedule = "*/30 * * * *"\n'))
    config = str(path)
    # with [cluster], the scheduler's jobs enqueue
    jobs_of = {job_id: job[1] for job_id, job in wanted_jobs(load_config(config), None).items()}
    assert jobs_of == {"crawl:dailyplanet": "schedules.jobs:enqueue_site_run",
                       "dump:daily": "schedules.jobs:enqueue_daily_dump"}
    fired = dt.datetime(2026, 12, 2, 3, 0, 1, tzinfo=dt.UTC)
    first = jobs.enqueue_site_run(config, None, "dailyplanet", "*/30 * * * *", fired)
    # a second scheduler, or a restart, firing the same slot late (within the misfire grace)
    again = jobs.enqueue_site_run(config, None, "dailyplanet", "*/30 * * * *",
                                  fired + dt.timedelta(minutes=4))
    following = jobs.enqueue_site_run(config, None, "dailyplanet", "*/30 * * * *",
                                      fired + dt.timedelta(minutes=30))
    dumps = [jobs.enqueue_daily_dump(config, None, "15 0 * * *", fired) for _ in range(2)]
    assert first and again is None and following and following != first
    assert dumps[0] and dumps[1] is None
    assert cluster.client.llen(QUEUE) == 3


def test_a_run_due_while_redis_is_down_is_enqueued_once_when_it_is_back(
        make_cluster: Any, redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    cluster = make_cluster()
    config = str(cluster.config("scheduler"))
    fired = dt.datetime(2026, 12, 2, 3, 30, 2, tzinfo=dt.UTC)
    redis_server.stop()
    enqueued: list[str | None] = []
    job = threading.Thread(target=lambda: enqueued.append(jobs.enqueue_site_run(
        config, None, "dailyplanet", "*/30 * * * *", fired)))
    with caplog.at_level(logging.WARNING, logger="newsarchive.schedule"):
        job.start()
        wait_until(lambda: "Redis unreachable" in caplog.text, timeout=30)
        redis_server.start()  # the same port
        job.join(60)
    assert enqueued and enqueued[0] and cluster.client.llen(QUEUE) == 1
    assert jobs.enqueue_site_run(config, None, "dailyplanet", "*/30 * * * *", fired) is None
    assert cluster.client.llen(QUEUE) == 1


def test_cluster_commands_need_a_cluster_section(tmp_path: Path, web: FixtureWeb,
                                                 archive: Archive) -> None:
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
    for args in (["crawl", "--enqueue"], ["worker"], ["cluster", "status"]):
        result = run_cli(*args, "--config", str(config))
        assert result.returncode == 2
        assert result.stderr.strip().endswith('needs [cluster] broker_url = '
                                              '"redis://host:6379/0"'), result.stderr
    waiting = run_cli("crawl", "--wait", "--config", str(config))
    assert waiting.returncode == 2 and "--wait goes with --enqueue" in waiting.stderr
