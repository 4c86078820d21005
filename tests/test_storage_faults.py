"""Storage faults during crawls: S3 unreachable for a whole run, S3 going away mid-run and
coming back, S3 answering errors, slowly or not at all, and a full disk. Each ends with no
record lost, no partial object under a contract prefix and no article recorded twice."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.local import LocalStorage
from testkit.seaweed import SeaweedServer, find_weed
from tests.archivecheck import (
    assert_archive_sound,
    assert_complete_objects,
    spool_leftovers,
    spool_records,
    wait_for,
)
from tests.crawlrun import (
    Archive,
    read_records,
    read_reports,
    run_cli,
    set_archive_keys,
    write_config,
)
from tests.faultproxy import ERROR_500, OK, SLOW_DOWN, STALL, THROTTLE, FaultProxy
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import local_archive, s3_archive, web  # noqa: F401  fixtures
from tests.test_kill import killable_config, start

# short bounds so that a run facing dead storage ends in seconds, not in 10 minutes
FAST_FAIL = {"upload_timeout": 8, "s3_max_attempts": 2, "s3_connect_timeout": 1}


def closed_port_endpoint() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # nobody listens once closed


def expected_count(web: FixtureWeb, sites: tuple[str, ...]) -> int:
    return sum(1 for a in web.articles if a.site in sites) + \
        sum(1 for copy, _ in web.near_copies if "partner" in sites)


def assert_each_article_once(records: list[dict], count: int) -> None:
    urls = [r["canonical_url"] for r in records]
    assert len(urls) == len(set(urls)) == count
    assert {r["version"] for r in records} == {1}


def crawl(config: Path, target: Archive, **archive_keys: float | int
          ) -> subprocess.CompletedProcess:
    if archive_keys:
        set_archive_keys(config, **archive_keys)
    started = time.monotonic()
    result = run_cli("crawl", "--config", str(config), env=target.env, timeout=240)
    result.duration = time.monotonic() - started  # type: ignore[attr-defined]
    return result


# -- S3 unreachable for a whole run ----------------------------------------------------------
def test_s3_unreachable_for_a_run_spools_and_the_next_run_uploads(
        web: FixtureWeb, s3_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    sites = ("partner",)
    up = write_config(tmp_path / "up.toml", web, s3_archive, tmp_path / "spool", sites=sites)
    down_archive = Archive(s3_archive.uri, s3_archive.storage, s3_archive.env,
                           endpoint_url=closed_port_endpoint())
    down = write_config(tmp_path / "down.toml", web, down_archive, tmp_path / "spool",
                        sites=sites)
    assert crawl(up, s3_archive).returncode == 0
    first = read_records(s3_archive.storage)
    web.update_article(web.articles[-1].slug, [*web.articles[-1].paragraphs, "Updated."])

    failed = crawl(down, down_archive, **FAST_FAIL)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert failed.duration < 60, failed.duration  # type: ignore[attr-defined]
    assert "under a lease local to this machine" in failed.stderr
    assert "NOT STORED YET" in failed.stdout
    # the dedup state of the first run came from this machine's cache: only the change is new
    waiting = spool_records(tmp_path / "spool")
    assert [r["version"] for r in waiting] == ([2] if web.articles[-1].site in sites else [])
    assert len(read_records(s3_archive.storage)) == len(first)

    again = crawl(up, s3_archive)
    assert again.returncode == 0, again.stdout + again.stderr
    records = assert_archive_sound(s3_archive.storage)
    assert len(records) == len(first) + len(waiting)
    assert_each_article_once([r for r in records if r["version"] == 1],
                             expected_count(web, sites))
    assert spool_leftovers(tmp_path / "spool") == []
    print(f"\nunreachable run: exit 1 after {failed.duration:.1f} s")  # type: ignore[attr-defined]


# -- S3 refusing this client: not an outage, so no crawl --------------------------------------
def test_read_only_credentials_fail_at_once_and_the_next_run_reports_it(
        web: FixtureWeb, s3_server: SeaweedServer, s3_archive: Archive,  # noqa: F811
        tmp_path: Path) -> None:
    """Keys that may read but not write: the run's first write (its lease) is refused, so it
    exits 1 with one line, having fetched nothing and written nothing to the archive; only its
    failure report waits in the spool, and the next run, with good keys, stores it."""
    access_key, secret_key = s3_server.read_only_keys
    reader = Archive(s3_archive.uri, s3_archive.storage,
                     {**s3_archive.env, "AWS_ACCESS_KEY_ID": access_key,
                      "AWS_SECRET_ACCESS_KEY": secret_key}, s3_archive.endpoint_url)
    config = write_config(tmp_path / "news.toml", web, s3_archive, tmp_path / "spool")

    refused = crawl(config, reader)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    [line] = refused.stderr.splitlines()
    assert "refused access, nothing was crawled" in line and "AccessDenied (HTTP 403)" in line
    assert secret_key not in line
    assert web.requests == []
    assert list(s3_archive.storage.list("")) == []  # no lease left behind either
    waiting = [key.read_text() for key in (tmp_path / "spool").glob("*/ready/*.key")]
    assert len(waiting) == 1 and waiting[0].startswith("runs/")

    done = crawl(config, s3_archive)
    assert done.returncode == 0, done.stdout + done.stderr
    [failed] = [r for r in read_reports(s3_archive.storage) if r.get("error")]
    assert "the archive refused access" in failed["error"]
    records = assert_archive_sound(s3_archive.storage)
    assert_each_article_once(records, expected_count(web, ("dailyplanet", "partner")))
    print(f"\nread-only keys: exit 1 after {refused.duration:.1f} s: {line}")  # type: ignore[attr-defined]


@pytest.fixture
def unwritable_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody may write into, root included (the immutable attribute), or a skip
    where the file system or the container does not allow setting it."""
    folder = tmp_path / "archive"
    folder.mkdir()
    with _privileged(["chattr", "+i", str(folder)], ["chattr", "-i", str(folder)]):
        yield folder


def test_a_local_archive_that_refuses_writes_fails_at_once(
        web: FixtureWeb, unwritable_folder: Path, tmp_path: Path) -> None:  # noqa: F811
    """A local archive folder this process may not write into is a refusal, as wrong S3
    credentials are: one line, exit 1, nothing fetched, not an outage to spool through."""
    target = Archive(str(unwritable_folder), LocalStorage(unwritable_folder), {})
    config = write_config(tmp_path / "news.toml", web, target, tmp_path / "spool")
    refused = crawl(config, target)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    [line] = refused.stderr.splitlines()
    assert "refused access, nothing was crawled" in line and "not permitted" in line
    assert web.requests == []


# -- S3 going away mid-run, back later on the same port and data -----------------------------
@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[SeaweedServer]:
    with SeaweedServer(tmp_path / "seaweed") as server:
        yield server


def restart_same_port(server: SeaweedServer) -> None:
    """Start the stopped server again on its port, data directory and keys."""
    port = int(server.endpoint_url.rsplit(":", 1)[1])
    server._launch(find_weed(), port)  # noqa: SLF001  test-only: the same port on purpose
    server._wait_ready(30)  # noqa: SLF001


def test_s3_going_away_mid_run_then_back(web: FixtureWeb, own_s3: SeaweedServer,  # noqa: F811
                                         tmp_path: Path) -> None:
    bucket = f"away-{uuid.uuid4().hex[:8]}"
    own_s3.create_bucket(bucket)
    env = {"AWS_ACCESS_KEY_ID": own_s3.access_key,
           "AWS_SECRET_ACCESS_KEY": own_s3.secret_key, "AWS_DEFAULT_REGION": "us-east-1"}
    from archive.s3 import S3Storage

    storage = S3Storage.from_uri(f"s3://{bucket}/archive", endpoint_url=own_s3.endpoint_url,
                                 access_key=own_s3.access_key, secret_key=own_s3.secret_key)
    target = Archive(f"s3://{bucket}/archive", storage, env, endpoint_url=own_s3.endpoint_url)
    config = killable_config(web, target, tmp_path)
    set_archive_keys(config, **FAST_FAIL)
    crawl_proc = start(config, env)
    wait_for(lambda: len(web.requests) >= 15, timeout=60, step=0.02)
    own_s3.stop()
    _, stderr = crawl_proc.communicate(timeout=240)
    assert crawl_proc.returncode == 1, stderr
    waiting = spool_records(tmp_path / "spool")
    assert waiting, "the records fetched while storage was down wait in the spool"

    restart_same_port(own_s3)
    done = crawl(config, target)
    assert done.returncode == 0, done.stdout + done.stderr
    records = assert_archive_sound(storage)
    assert_each_article_once(records, len(web.articles) + len(web.near_copies))
    stored = {(r["canonical_url"], r["crawl_id"]) for r in records}
    assert {(r["canonical_url"], r["crawl_id"]) for r in waiting} <= stored
    assert spool_leftovers(tmp_path / "spool") == []
    print(f"\nmid-run outage: {len(waiting)} records waited in the spool, all uploaded")


# -- S3 erroring, slow, stalling ---------------------------------------------------------------
FAULTS = [OK, SLOW_DOWN, OK, OK, ERROR_500, OK, THROTTLE, OK, OK, STALL, OK, OK, SLOW_DOWN,
          SLOW_DOWN, OK]


def test_s3_errors_slowness_and_stalls_are_retried(web: FixtureWeb, s3_archive: Archive,  # noqa: F811
                                                    tmp_path: Path) -> None:
    with FaultProxy(s3_archive.endpoint_url or "", FAULTS, stall_seconds=2.5) as proxy:
        via_proxy = Archive(s3_archive.uri, s3_archive.storage, s3_archive.env,
                            endpoint_url=proxy.url)
        config = write_config(tmp_path / "news.toml", web, via_proxy, tmp_path / "spool")
        config.write_text(config.read_text().replace("spool_dir",
                                                      "roll_size_mb = 0.004\nspool_dir"))
        result = crawl(config, via_proxy, s3_read_timeout=1)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(proxy.counts[kind] for kind in (SLOW_DOWN, ERROR_500, THROTTLE, STALL))
    records = assert_archive_sound(s3_archive.storage)
    assert_each_article_once(records, len(web.articles) + len(web.near_copies))
    assert spool_leftovers(tmp_path / "spool") == []
    print(f"\nfaults injected: {dict(proxy.counts)} in {result.duration:.1f} s")  # type: ignore[attr-defined]


# -- disk full -------------------------------------------------------------------------------
@contextlib.contextmanager
def _privileged(setup: list[str], undo: list[str]) -> Iterator[None]:
    """Run ``setup`` (a command that needs root), skip where this machine refuses it, and
    ``undo`` it afterwards."""
    made = subprocess.run(setup, capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"{setup[0]} not possible here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(undo, check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (needs root and mount rights: skipped otherwise)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    with _privileged(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                     ["umount", "-l", str(mount)]):
        yield mount


def test_full_spool_disk_fails_clearly(web: FixtureWeb, local_archive: Archive,  # noqa: F811
                                       tiny_disk: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tiny_disk / "spool")
    result = crawl(config, local_archive, **FAST_FAIL)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "storage_write" in result.stdout
    assert "No space left on device" in result.stderr
    assert_archive_sound(local_archive.storage)
    lost = [line for line in result.stderr.splitlines() if "ERROR" in line]
    subprocess.run(["mount", "-o", "remount,size=8m", str(tiny_disk)], check=True)
    again = crawl(config, local_archive)
    assert again.returncode == 0, again.stdout + again.stderr
    records = assert_archive_sound(local_archive.storage)
    assert_each_article_once(records, len(web.articles) + len(web.near_copies))
    print(f"\nspool full: exit 1, {len(lost)} ERROR lines; " + " | ".join(
        line.strip() for line in result.stdout.splitlines() if "storage_write" in line))


def test_full_archive_disk_keeps_files_in_the_spool(web: FixtureWeb, tiny_disk: Path,  # noqa: F811
                                                    tmp_path: Path) -> None:
    full = Archive(str(tiny_disk / "archive"), LocalStorage(tiny_disk / "archive"), {})
    config = write_config(tmp_path / "news.toml", web, full, tmp_path / "spool")
    result = crawl(config, full, **FAST_FAIL)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT STORED YET" in result.stdout
    assert_complete_objects(full.storage)
    assert not list((tiny_disk / "archive" / ".tmp").glob("*")), "temp files cleaned up"
    waited = len(spool_records(tmp_path / "spool"))
    assert waited
    # room again (another archive root on a roomy disk would do the same): nothing was lost
    subprocess.run(["mount", "-o", "remount,size=8m", str(tiny_disk)], check=True)
    again = crawl(config, full)
    assert again.returncode == 0, again.stdout + again.stderr
    records = assert_archive_sound(full.storage)
    assert_each_article_once(records, len(web.articles) + len(web.near_copies))
    print(f"\narchive disk full: exit 1 after {result.duration:.1f} s, "  # type: ignore[attr-defined]
          f"{waited} records waited in the spool, all stored by the next run")


def test_an_archive_that_cannot_be_opened_fails_the_run_naming_why(tmp_path: Path) -> None:
    """The archive opens in a thread, before any fetch: when it cannot (here a root under a
    file), the run exits 1 with the cause on its last line, and its failure report waits in
    the spool for the next run."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    config = tmp_path / "news.toml"
    config.write_text(f'[archive]\nuri = "{blocker}/archive"\nspool_dir = "{tmp_path}/spool"\n'
                      "[crawl]\nallow_private_networks = true\n"
                      '[[sites]]\nname = "news"\nstart_urls = ["http://127.0.0.1:9/"]\n')
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "failed: NotADirectoryError" in last
    waiting = [key.read_text() for key in (tmp_path / "spool").glob("*/ready/*.key")]
    assert any(key.startswith("runs/date=") for key in waiting)
