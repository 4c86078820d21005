"""Replay: a day's records rebuilt from the raw archive alone, with no network."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.keys import DEDUP_STATE_PREFIX, SITE_STATE_PREFIX, parse_data_key
from archive.local import LocalStorage
from pipelines.dedup_state import DedupState, iter_object
from tests.crawlrun import Archive, read_records, read_reports, run_cli, warc_response, write_config
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import archive, crawl, local_archive, s3_archive  # fixtures


class Tripwire:
    """Listens where the crawled sites were and counts every connection attempt."""

    def __init__(self, port: int) -> None:
        self.connections = 0
        self._sockets = []
        for host in ("127.0.0.1", "127.0.0.2"):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen()
            sock.settimeout(0.2)
            self._sockets.append(sock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            for sock in self._sockets:
                try:
                    conn, _ = sock.accept()
                except (TimeoutError, OSError):
                    continue
                self.connections += 1
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def crawled(archive: Archive, tmp_path: Path) -> Iterator[tuple[Archive, Path, Tripwire]]:
    """An archive holding one crawl of the fixture web, the web gone, a tripwire in its place."""
    web = FixtureWeb().start()
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
    crawl(config, archive)
    port = web.port
    web.stop()
    tripwire = Tripwire(port)
    yield archive, config, tripwire
    tripwire.close()


def _essence(records: list[dict]) -> set[tuple]:
    # the fetched url too: of an article's URL variants fetched in one run (an AMP copy and
    # its canonical page), the record is the canonical page's, live or replayed
    # and the optional fields (issue 15), rebuilt from the raw page too
    return {(r["id"], r["url"], r["canonical_url"], r["content_hash"], r["version"],
             r["near_duplicate_of"], r["image"], r["description"], tuple(r["tags"]),
             r["modified"], r["access"]) for r in records}


def test_replay_in_place_rebuilds_the_same_records_without_network(crawled) -> None:
    archive, config, tripwire = crawled
    before = read_records(archive.storage)
    old_files = {i.key for i in archive.storage.list("records/")}
    [day] = {r["fetched_at"][:10] for r in before}
    result = run_cli("replay", "--date", day, "--config", str(config), env=archive.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert tripwire.connections == 0
    after = read_records(archive.storage)
    assert _essence(after) == _essence(before)
    assert sum(1 for r in after if r["near_duplicate_of"]) == 2
    new_files = {i.key for i in archive.storage.list("records/")}
    assert not new_files & old_files, "the old record files were replaced"
    for record in after:
        uri, _ = warc_response(archive.storage, record["warc_filename"], record["warc_offset"],
                               record["warc_length"])
        assert uri == record["url"]
    # the next crawl still sees every article as already archived
    assert len(read_reports(archive.storage)) == 2


def test_replay_into_another_root_leaves_the_archive_alone(crawled, tmp_path: Path) -> None:
    archive, config, tripwire = crawled
    before = read_records(archive.storage)
    [day] = {r["fetched_at"][:10] for r in before}
    other = tmp_path / "rebuilt"
    result = run_cli("replay", "--date", day, "--site", "partner", "--config", str(config),
                     "--output", str(other), env=archive.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert tripwire.connections == 0
    rebuilt = read_records(LocalStorage(other))
    assert _essence(rebuilt) == _essence([r for r in before if r["site"] == "partner"])
    assert _essence(read_records(archive.storage)) == _essence(before)


def test_replay_url_prints_what_the_crawler_saw(crawled) -> None:
    archive, config, tripwire = crawled
    record = next(r for r in read_records(archive.storage) if r["site"] == "dailyplanet")
    result = run_cli("replay", "--url", record["url"], "--config", str(config),
                     env=archive.env)
    assert result.returncode == 0, result.stderr
    assert record["text"].split("\n")[0][:40] in result.stdout.replace("&#39;", "'")
    assert tripwire.connections == 0
    missing = run_cli("replay", "--url", "http://127.0.0.1:9/never", "--config", str(config),
                      env=archive.env)
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1


def _rebuilt_fields(records: list[dict]) -> tuple[list[tuple], set[tuple]]:
    """Every record's id, text and version, and the near-duplicate links, copy to original
    (the same whichever of the two the extraction workers finished first)."""
    versions = sorted((r["id"], r["content_hash"], r["version"]) for r in records)
    links = {(r["id"], r["near_duplicate_of"]) for r in records if r["near_duplicate_of"]}
    return versions, links


def test_replay_rebuilds_every_version_of_a_day_crawl_by_crawl(
        archive: Archive, tmp_path: Path) -> None:
    """Three crawls in a day, an article corrected between the first and the second: the day
    holds its v1 and v2, and a replay in place rebuilds both, with the crawls' links."""
    with FixtureWeb() as web:
        config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
        crawl(config, archive)
        article = web.articles[0]
        web.update_article(article.slug, [*article.paragraphs[:-1],
                                          "A correction was added to this report on Monday."])
        crawl(config, archive)
        crawl(config, archive)
    crawled = read_records(archive.storage)
    assert {r["version"] for r in crawled} == {1, 2}
    [day] = {r["fetched_at"][:10] for r in crawled}
    result = run_cli("replay", "--date", day, "--config", str(config), env=archive.env)
    assert result.returncode == 0, result.stdout + result.stderr
    rebuilt = read_records(archive.storage)
    assert _rebuilt_fields(rebuilt) == _rebuilt_fields(crawled)


@pytest.mark.parametrize("broken_crawl", [0, 1])
def test_a_replay_that_cannot_read_a_crawl_leaves_the_day_as_it_was(
        local_archive: Archive, tmp_path: Path, broken_crawl: int) -> None:
    """A WARC file of the day's first or second crawl is unreadable: the replay fails, names
    the file, keeps the day's records and takes back the ones it had rebuilt."""
    storage = local_archive.storage
    with FixtureWeb() as web:
        config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool")
        crawl(config, local_archive)
        crawl(config, local_archive)
    records = read_records(storage)
    [day] = {r["fetched_at"][:10] for r in records}

    def day_files() -> set[str]:
        return {i.key for prefix in ("records/", "state/dedup/") for i in storage.list(prefix)}

    before = day_files()
    warcs = sorted(i.key for i in storage.list("raw/") if i.key.endswith(".warc.gz"))
    crawl_ids = sorted({parse_data_key(key)["crawl_id"] for key in warcs})
    victim = next(k for k in warcs if parse_data_key(k)["crawl_id"] == crawl_ids[broken_crawl])
    (tmp_path / "archive" / victim).write_bytes(b"this is not a WARC file\n" * 64)

    result = run_cli("replay", "--date", day, "--config", str(config), env=local_archive.env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "unreadable_warc" in result.stdout and "did not complete" in result.stderr
    assert day_files() == before
    assert read_records(storage) == records


def test_replay_of_a_compacted_day_gives_the_crawled_records(
        archive: Archive, tmp_path: Path) -> None:
    """Hours after a crawl its sites' next run has compacted the day (its segments are in the
    sites' history and the window): a replay in place still rebuilds the crawled records, and
    the state then holds each article once, as the replay wrote it."""
    with FixtureWeb() as web:
        config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
        crawl(config, archive)
    crawled = read_records(archive.storage)
    [day] = {r["fetched_at"][:10] for r in crawled}
    sites = sorted({r["site"] for r in crawled})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    DedupState(archive.storage, tmp_path / "cache").load(None, day, sites=sites, now=later,
                                                         compact=True)
    assert [i.key for i in archive.storage.list(DEDUP_STATE_PREFIX)] == []
    result = run_cli("replay", "--date", day, "--config", str(config), env=archive.env)
    assert result.returncode == 0, result.stdout + result.stderr
    rebuilt = read_records(archive.storage)
    # ids, texts, versions and links, whichever order the extraction workers finish in
    assert _essence(rebuilt) == _essence(crawled)
    index = DedupState(archive.storage, tmp_path / "cache").load(None, day, sites=sites)
    assert len(index) == len({r["id"] for r in rebuilt})
    # the crawl's sections are gone from the sites' history; the replay's segments are live
    crawl_ids = tuple({r["crawl_id"] for r in crawled})
    held = [name for info in archive.storage.list(SITE_STATE_PREFIX) if info.key.endswith(".bin")
            for name, _ in iter_object(archive.storage.get_bytes(info.key))]
    live = [info.key for info in archive.storage.list(DEDUP_STATE_PREFIX)]
    assert live and not [key for key in held + live
                         if key.rsplit("/", 1)[1].startswith(crawl_ids)]
