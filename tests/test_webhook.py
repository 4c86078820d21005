"""[alerts] webhook_url: a JSON POST about a run that failed, held a site or raised an alert."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from archive.leases import acquire
from archive.run_reports import RunReport, SiteRun
from crawler.webhook import webhook_body
from tests.crawlrun import Archive, read_reports, run_cli, write_config
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import crawl, local_archive, s3_archive, web  # noqa: F401 (fixtures)

SECRETS = ("hookpass", "SECRETPATH", "SECRETQUERY")


class Hook:
    """A webhook receiver on loopback that answers its first POST with a 500."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.answers: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append((self.path, dict(self.headers), body))
                status = 500 if len(hook.posts) == 1 else 200
                hook.answers.append(status)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook()
    yield receiver
    receiver.close()


def _config(tmp_path: Path, web: FixtureWeb, archive: Archive, url: str,  # noqa: F811
            attempts: int = 3, timeout: float = 10) -> Path:
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
    with config.open("a") as out:
        out.write(f'\n[alerts]\nwebhook_url = "{url}"\nwebhook_attempts = {attempts}\n'
                  f"webhook_timeout = {timeout}\n")
    return config


def test_held_site_and_yield_alert_are_posted_retried_and_recorded(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path, hook: Hook) -> None:  # noqa: F811
    url = f"http://hookuser:hookpass@127.0.0.1:{hook.port}/hooks/T0/SECRETPATH?token=SECRETQUERY"
    config = _config(tmp_path, web, local_archive, url)
    crawl(config, local_archive)
    assert hook.posts == []  # a first run with nothing to tell posts nothing
    [first] = read_reports(local_archive.storage)
    day = first["started_at"][:10]
    for n in range(3):  # earlier productive runs of dailyplanet: the next, quiet, one is flagged
        earlier = {**first, "crawl_id": f"20000101T00000{n}Z-aaaaaa",
                   "started_at": f"{day}T00:00:0{n}.000000Z"}
        local_archive.storage.put_bytes(f"runs/date={day}/{earlier['crawl_id']}.json",
                                        json.dumps(earlier).encode())
    lease = acquire(local_archive.storage, "partner", "20000101T000000Z-bbbbbb", 600)
    try:
        result = run_cli("crawl", "--config", str(config), "-v", env=local_archive.env)
    finally:
        lease.release()
    assert result.returncode == 3, result.stdout + result.stderr  # a site was held

    assert hook.answers == [500, 200]  # the first attempt failed, the second got through
    (path, headers, body), (path2, _, body2) = hook.posts
    assert body == body2 and path == path2 == "/hooks/T0/SECRETPATH?token=SECRETQUERY"
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"hookuser:hookpass").decode()
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    latest = max(read_reports(local_archive.storage), key=lambda r: r["started_at"])
    assert sent == latest["webhook"]
    events = {(e["event"], e["site"]) for e in sent["events"]}
    assert events == {("site_held", "partner"), ("yield_alert", "dailyplanet")}
    assert sent["crawl_id"] == latest["crawl_id"]
    assert "partner: skipped" in sent["text"]
    # the URL's secrets are in no log line, no output and no report
    stored = b"".join(local_archive.storage.get_bytes(info.key)
                      for info in local_archive.storage.list("runs/"))
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
        assert secret.encode() not in stored
    assert f"webhook http://127.0.0.1:{hook.port}: attempt 1 of 3 failed: HTTP 500" \
        in result.stderr


def test_a_webhook_that_never_answers_does_not_fail_the_run(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = _config(tmp_path, web, local_archive, f"http://127.0.0.1:{port}/hook",
                     attempts=2, timeout=1)
    lease = acquire(local_archive.storage, "partner", "20000101T000000Z-bbbbbb", 600)
    try:
        result = run_cli("crawl", "--config", str(config), env=local_archive.env)
    finally:
        lease.release()
    assert result.returncode == 3, result.stdout + result.stderr  # held, not failed
    assert "dailyplanet:" in result.stdout
    latest = max(read_reports(local_archive.storage), key=lambda r: r["started_at"])
    assert latest["webhook"]["events"][0]["event"] == "site_held"
    assert "not told of crawl" in result.stderr


def test_a_failed_run_is_an_event_and_a_quiet_one_is_not() -> None:
    report = RunReport(crawl_id="20261201T000000Z-abcdef", started_at="x", finished_at="y",
                       finish_reason="storage_access_denied",
                       sites={"news": SiteRun(errors={"storage_write": 2})})
    body = webhook_body(report, failed=True)
    assert body is not None
    assert body["events"] == [{"event": "run_failed", "finish_reason": "storage_access_denied",
                               "errors": {"news": {"storage_write": 2}}}]
    assert body["report"] == "runs/date=2026-12-01/20261201T000000Z-abcdef.json"
    quiet = RunReport(crawl_id="20261201T000000Z-abcdef", started_at="x", finished_at="y",
                      finish_reason="finished", sites={"news": SiteRun(pages_fetched=3)})
    assert webhook_body(quiet, failed=False) is None


def test_a_run_refused_by_storage_is_posted_as_failed(
        web: FixtureWeb, s3_server, s3_archive: Archive, tmp_path: Path,  # noqa: F811
        hook: Hook) -> None:
    """Keys that may read but not write: the run dies before its spider's report, and the
    failure report the command line leaves says so to the webhook too."""
    access_key, secret_key = s3_server.read_only_keys
    reader = Archive(s3_archive.uri, s3_archive.storage,
                     {**s3_archive.env, "AWS_ACCESS_KEY_ID": access_key,
                      "AWS_SECRET_ACCESS_KEY": secret_key}, s3_archive.endpoint_url)
    config = _config(tmp_path, web, s3_archive, f"http://127.0.0.1:{hook.port}/hook")
    result = run_cli("crawl", "--config", str(config), env=reader.env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert hook.answers == [500, 200]
    [event] = json.loads(hook.posts[-1][2])["events"]
    assert event["event"] == "run_failed" and "refused access" in event["error"]
    waiting = [p for p in (tmp_path / "spool").glob("*/ready/*") if not p.name.endswith(".key")]
    assert any(b'"webhook"' in p.read_bytes() for p in waiting)
