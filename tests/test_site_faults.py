"""Sites that misbehave, and the SSRF guard, against real loopback servers.

Each bad page must be counted in the run report under a clear kind with its URL among the
error examples, and logged with its URL; the good pages of the same site must still be archived.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request
from scrapy.settings import Settings
from twisted.internet import defer
from twisted.python.failure import Failure

from archive.config import load_config
from archive.local import LocalStorage
from crawler import resolver as guarded
from crawler.addon import NewsarchiveAddon
from crawler.errors import ERROR_KINDS, ErrorLog
from crawler.faults import describe, error_kind
from crawler.middlewares import BlockedRequest, SiteGuardMiddleware, retry_after_seconds
from newsarchive.cmd_crawl import crawl_settings
from tests.crawlrun import REPO, Archive, read_records, read_reports, run_cli
from tests.hostileweb import (
    Exchange,
    HostileWeb,
    article_html,
    assert_archive_complete,
    story,
)

DAY = "/news/2026/05/02/"
GOOD = {f"{DAY}council-approves-new-harbour-wall.html": "the new harbour wall",
        f"{DAY}library-opening-hours-extended-again.html": "longer library opening hours"}
STALL = f"{DAY}stalled-page-never-answers-at-all.html"
DRIP = f"{DAY}drip-page-one-byte-at-a-time.html"
RESET = f"{DAY}connection-reset-right-after-request.html"
TRUNCATED = f"{DAY}truncated-body-closed-mid-transfer.html"
BINARY = f"{DAY}binary-image-served-as-text-html.html"
FILE_REDIRECT = f"{DAY}moved-to-a-file-url-on-the-server.html"
BAD_GZIP = f"{DAY}gzip-encoded-body-that-is-not-gzip.html"
BAD_DEFLATE = f"{DAY}deflate-encoded-body-that-is-not-deflate.html"
SERVER_ERROR = f"{DAY}server-error-on-every-attempt.html"
BROKEN_CHUNKS = f"{DAY}chunked-body-with-a-broken-chunk.html"
# path -> the kind the report must count it under (/loop/ and /cycle/ redirect forever)
FAULTS = {STALL: "timeout", DRIP: "timeout", RESET: "connection_reset",
          TRUNCATED: "truncated", "/loop/0": "too_many_redirects", "/cycle/a": "redirect_loop",
          BINARY: "not_html", FILE_REDIRECT: "bad_redirect", BAD_GZIP: "bad_content_encoding",
          BAD_DEFLATE: "bad_content_encoding"}
# pages that fail on every attempt, so each is retried: path -> kind
RETRIED = {SERVER_ERROR: "http_5xx", TRUNCATED: "truncated", BROKEN_CHUNKS: "truncated"}
# HTML under a wrong Content-Type: read as HTML anyway (counted), so still archived
MISLABELLED = {f"{DAY}html-story-served-as-octet-stream.html": "application/octet-stream",
               f"{DAY}html-story-served-as-image-png.html": "image/png"}
RATE_LIMITED = f"{DAY}rate-limited-story-with-retry-after.html"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture
def web() -> Iterator[HostileWeb]:
    with HostileWeb() as server:
        _routes(server)
        yield server


def _routes(web: HostileWeb) -> None:
    links = [*GOOD, *FAULTS, *MISLABELLED, RATE_LIMITED]
    home = "".join(f'<li><a href="{p}">{p}</a></li>' for p in links)
    web.routes["/"] = lambda ex: ex.send(f"<html><body><ul>{home}</ul></body></html>".encode())
    web.routes["/robots.txt"] = lambda ex: ex.send(b"User-agent: *\nAllow: /\n", "text/plain")
    for path, topic in GOOD.items():
        web.routes[path] = _article(topic)
    web.routes[STALL] = lambda ex: ex.wait(60)  # bounded by the server's handler limit
    web.routes[DRIP] = _drip
    web.routes[RESET] = lambda ex: ex.reset()
    web.routes[TRUNCATED] = _truncated
    web.default = _redirect_loop
    web.routes[BINARY] = lambda ex: ex.send(PNG, "text/html")
    for path, content_type in MISLABELLED.items():
        body = article_html(f"Story served as {content_type}", story(content_type))
        web.routes[path] = lambda ex, b=body, t=content_type: ex.send(b.encode(), t)
    web.routes[RATE_LIMITED] = _rate_limited()
    web.routes[FILE_REDIRECT] = lambda ex: ex.send(b"", "text/html", "301 Moved Permanently",
                                                   (("Location", "file:///etc/passwd"),))
    for path, encoding in ((BAD_GZIP, "gzip"), (BAD_DEFLATE, "deflate")):
        web.routes[path] = lambda ex, e=encoding: ex.send(
            b"plain text, not " + e.encode(), headers=(("Content-Encoding", e),))
    web.routes[SERVER_ERROR] = lambda ex: ex.send(b"oops", "text/plain",
                                                  "500 Internal Server Error")
    web.routes[BROKEN_CHUNKS] = _broken_chunks


def _article(topic: str) -> Callable[[Exchange], None]:
    body = article_html(f"Report on {topic}", story(topic)).encode()
    return lambda ex: ex.send(body)


def _drip(ex: Exchange) -> None:
    ex.send_head(["HTTP/1.1 200 OK", "Content-Type: text/html", "Content-Length: 100000",
                  "Connection: close"])
    while ex.wait(0.2):
        ex.conn.sendall(b"<")


def _truncated(ex: Exchange) -> None:
    ex.send_head(["HTTP/1.1 200 OK", "Content-Type: text/html", "Content-Length: 50000",
                  "Connection: close"])
    ex.conn.sendall(article_html("Cut short", story("a cut")).encode()[:600])


def _broken_chunks(ex: Exchange) -> None:
    ex.send_head(["HTTP/1.1 200 OK", "Content-Type: text/html", "Transfer-Encoding: chunked",
                  "Connection: close"])
    ex.conn.sendall(b"10\r\n<html><body><p>a\r\nnot-a-chunk-size\r\n")


def _redirect_loop(ex: Exchange) -> None:
    if ex.path.startswith("/cycle/"):  # a -> b -> a
        target = "/cycle/b" if ex.path == "/cycle/a" else "/cycle/a"
        ex.send(b"", "text/html", "302 Found", (("Location", target),))
        return
    if not ex.path.startswith("/loop/"):
        ex.send(b"not here", "text/plain", "404 Not Found")
        return
    step = int(ex.path.rsplit("/", 1)[1]) + 1
    ex.send(b"", "text/html", "302 Found", (("Location", f"/loop/{step}"),))


def _rate_limited() -> Callable[[Exchange], None]:
    lock, seen = threading.Lock(), []
    body = article_html("Story behind a rate limit", story("a rate limit")).encode()

    def handle(ex: Exchange) -> None:
        with lock:
            first = not seen
            seen.append(1)
        if first:
            ex.send(b"slow down", "text/plain", "429 Too Many Requests",
                    (("Retry-After", "1"),))
        else:
            ex.send(body)
    return handle


def _config(path: Path, root: Path, urls: list[str], private: bool = True) -> Path:
    path.write_text("\n".join([
        "[archive]", f'uri = "{root / "archive"}"', f'spool_dir = "{root / "spool"}"', "",
        "[crawl]", f"allow_private_networks = {'true' if private else 'false'}",
        "download_delay = 0", "concurrent_requests_per_domain = 8", "extract_workers = 1", "",
        "[[sites]]", 'name = "hostile"', f"start_urls = {json.dumps(urls)}",
        "follow_depth = 1", ""]))
    return path


def _scrapy_crawl(config: Path, *settings: str) -> subprocess.CompletedProcess:
    """`scrapy crawl news` with a short DOWNLOAD_TIMEOUT: the config has no key for it."""
    args = ["crawl", "news", "-s", f"NEWSARCHIVE_CONFIG={config}", "-s", "LOG_LEVEL=INFO"]
    for setting in settings:
        args += ["-s", setting]
    return run_cli(*args, module="scrapy.cmdline", timeout=120)


def test_site_faults_are_counted_and_the_good_pages_archived(web: HostileWeb,
                                                             tmp_path: Path) -> None:
    config = _config(tmp_path / "news.toml", tmp_path, [web.url("/")])
    result = _scrapy_crawl(config, "DOWNLOAD_TIMEOUT=2")
    assert result.returncode == 0, result.stderr[-3000:]
    storage = LocalStorage(tmp_path / "archive")
    [report] = read_reports(storage)
    site = report["sites"]["hostile"]
    examples = {(e["kind"], e["url"]) for e in report["error_examples"]}
    for path, kind in FAULTS.items():
        url = web.url(path)
        assert (kind, url) in examples, (path, site["errors"])
        assert url in result.stderr, f"{url} not logged"
    assert site["errors"]["timeout"] == 2
    for path in MISLABELLED:
        assert ("wrong_content_type", web.url(path)) in examples

    records = read_records(storage)
    urls = [r["url"] for r in records]
    expected = {web.url(p) for p in [*GOOD, *MISLABELLED, RATE_LIMITED]}
    assert set(urls) == expected and len(urls) == len(expected)  # none lost, no duplicates
    assert_archive_complete(tmp_path, records)
    assert report["finish_reason"] == "finished"
    # the redirect loop stopped at REDIRECT_MAX_TIMES (10) hops
    assert max(int(p.rsplit("/", 1)[1]) for p in web.paths() if p.startswith("/loop/")) <= 10


def test_a_failed_page_whose_retry_meets_the_page_budget_is_counted(web: HostileWeb,
                                                                    tmp_path: Path) -> None:
    """A retry is the same page: it is not charged to max_pages_per_site again, so a failed
    page is retried and ends counted under its kind; the budget still bounds the pages."""
    budget = 1 + len(RETRIED)  # the home page and three of the four pages it links
    home = "".join(f'<a href="{p}">{p}</a>' for p in [*RETRIED, *GOOD][:budget])
    web.routes["/"] = lambda ex: ex.send(f"<html><body>{home}</body></html>".encode())
    config = _config(tmp_path / "news.toml", tmp_path, [web.url("/")])
    config.write_text(config.read_text().replace(
        "[crawl]\n", f"[crawl]\nmax_pages_per_site = {budget}\n"))
    result = _scrapy_crawl(config)
    assert result.returncode == 0, result.stderr[-3000:]
    [report] = read_reports(LocalStorage(tmp_path / "archive"))
    site = report["sites"]["hostile"]
    pages = set(web.paths()) - {"/robots.txt"}
    assert len(pages) <= budget and site["skipped_max_pages"] >= 1
    failed = pages & set(RETRIED)
    assert len(failed) >= 2  # at most one of them lost its place to the good page
    examples = {(e["kind"], e["url"]) for e in report["error_examples"]}
    for path in failed:
        assert (RETRIED[path], web.url(path)) in examples, (path, site["errors"])
        assert web.paths().count(path) == 3  # asked, then retried RETRY_TIMES (2) times


def test_retry_after_pauses_the_host_then_retries(web: HostileWeb, tmp_path: Path) -> None:
    config = _config(tmp_path / "news.toml", tmp_path, [web.url(RATE_LIMITED)])
    result = _scrapy_crawl(config)
    assert result.returncode == 0, result.stderr[-3000:]
    hits = [h.at for h in web.hits if h.path == RATE_LIMITED]
    assert len(hits) == 2 and hits[1] - hits[0] >= 1.0  # Retry-After: 1 honoured
    [record] = read_records(LocalStorage(tmp_path / "archive"))
    assert record["url"] == web.url(RATE_LIMITED)
    assert "Retry-After" in result.stderr


def test_retry_after_values() -> None:
    assert retry_after_seconds(b"1") == 1.0
    assert retry_after_seconds(b"86400") == 300.0  # bounded
    assert retry_after_seconds(b"Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None


# ------------------------------------------------------------------------------------ SSRF


def _resolve(name: str, address: str,
             dialable: Callable[[str], bool] = guarded.may_dial) -> object:
    """What GuardedResolver does with one lookup answer, without a network."""
    result: list[object] = []
    deferred = defer.succeed(address).addCallback(
        lambda a: guarded.check_resolved(name, a, dialable))
    deferred.addBoth(result.append)
    return result[0]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "192.168.1.9",
                                     "::1", "fe80::1", "100.64.0.1"])
def test_resolver_refuses_private_answers(address: str) -> None:
    outcome = _resolve("rebinding.example", address)
    assert isinstance(outcome, Failure) and outcome.check(guarded.PrivateAddressRefused)
    assert guarded.REFUSED_HOSTS["rebinding.example"] == address
    assert error_kind(outcome.value, "http://rebinding.example/a") == "blocked_private_address"


def test_resolver_passes_public_answers_and_fails_closed() -> None:
    assert _resolve("news.example", "93.184.216.34") == "93.184.216.34"
    assert guarded.allow_private_from({"NEWSARCHIVE_CONFIG": "/nonexistent.toml"}) is False


class _Counter:
    """A loopback listener that only counts the connections it accepts."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.mark.parametrize("guard_middleware", [True, False])
def test_no_connection_reaches_private_addresses(tmp_path: Path, guard_middleware: bool) -> None:
    """allow_private_networks = false: neither a literal nor a name (localhost) nor a redirect
    target is ever dialled; without the middleware, the resolver alone still refuses names."""
    counter = _Counter()
    try:
        urls = [f"http://localhost:{counter.port}/", f"http://127.0.0.1:{counter.port}/",
                "http://169.254.169.254/latest/meta-data/"]
        config = _config(tmp_path / "news.toml", tmp_path, urls, private=False)
        text = config.read_text().replace('start_urls', 'allowed_domains = ["localhost", '
                                          '"127.0.0.1", "169.254.169.254"]\nstart_urls')
        config.write_text(text)
        settings = ["DOWNLOAD_TIMEOUT=3"]
        if not guard_middleware:  # the literal addresses then meet the resolver too
            settings.append('DOWNLOADER_MIDDLEWARES={"crawler.middlewares.SiteGuardMiddleware":'
                            ' null}')
        result = _scrapy_crawl(config, *settings)
        assert result.returncode == 0, result.stderr[-3000:]
        assert counter.accepted == 0
        assert f"localhost:{counter.port}" in result.stderr
        [report] = read_reports(LocalStorage(tmp_path / "archive"))
        blocked = {e["url"] for e in report["error_examples"]
                   if e["kind"] == "blocked_private_address"}
        assert set(urls) <= blocked, report["error_examples"]
        if not guard_middleware:  # refused by the address actually dialled
            assert "refused localhost: resolves to 127.0.0.1" in result.stderr
            assert "refused 169.254.169.254" in result.stderr
    finally:
        counter.close()


@pytest.mark.parametrize("guard_middleware", [True, False])
def test_allowed_networks_open_only_what_they_list(tmp_path: Path,
                                                   guard_middleware: bool) -> None:
    """allow_private_networks = false, allowed_networks = ["127.0.0.2/32"]: the site on
    127.0.0.2 is crawled and archived; the same server on 127.0.0.1 and a listener on
    127.0.0.3 are never dialled, each counted as blocked_private_address. Without the
    middleware, the resolver (the address actually dialled) draws the same line."""
    counter = _Counter("127.0.0.3")
    with HostileWeb() as web:
        home = "".join(f'<li><a href="{p}">{p}</a></li>' for p in GOOD)
        web.routes["/"] = lambda ex: ex.send(f"<html><body><ul>{home}</ul></body></html>"
                                             .encode())
        for path, topic in GOOD.items():
            web.routes[path] = _article(topic)
        try:
            refused = [web.url("/", host="127.0.0.1"), f"http://127.0.0.3:{counter.port}/"]
            config = _config(tmp_path / "news.toml", tmp_path,
                             [web.url("/", host="127.0.0.2"), *refused], private=False)
            config.write_text(config.read_text().replace(
                "allow_private_networks = false",
                'allow_private_networks = false\nallowed_networks = ["127.0.0.2/32"]').replace(
                "start_urls", 'allowed_domains = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]\n'
                "start_urls"))
            settings = ["DOWNLOAD_TIMEOUT=3"]
            if not guard_middleware:
                settings.append('DOWNLOADER_MIDDLEWARES={"crawler.middlewares.'
                                'SiteGuardMiddleware": null}')
            result = _scrapy_crawl(config, *settings)
        finally:
            counter.close()
    assert result.returncode == 0, result.stderr[-3000:]
    assert counter.accepted == 0 and web.paths("127.0.0.1") == []
    assert set(GOOD) <= set(web.paths("127.0.0.2"))
    if guard_middleware:  # which gives requests their site, which records need
        records = read_records(LocalStorage(tmp_path / "archive"))
        assert sorted(r["url"] for r in records) == sorted(web.url(p, "127.0.0.2")
                                                           for p in GOOD)
    [report] = read_reports(LocalStorage(tmp_path / "archive"))
    blocked = {e["url"] for e in report["error_examples"]
               if e["kind"] == "blocked_private_address"}
    assert set(refused) <= blocked, report["error_examples"]
    assert {urlsplit(url).hostname for url in blocked} == {"127.0.0.1", "127.0.0.3"}


def test_allowed_networks_in_the_resolver_and_the_metadata_exception(tmp_path: Path) -> None:
    """The resolver dials what every crawl allows; a wide network never opens the cloud
    metadata address, which only an entry naming it does."""
    path = _config(tmp_path / "news.toml", tmp_path, ["http://news.example/"], private=False)
    text = path.read_text()

    def resolver_for(networks: str) -> guarded.GuardedResolver:
        path.write_text(text.replace("allow_private_networks = false",
                                     f"allow_private_networks = false\n"
                                     f"allowed_networks = {networks}"))
        crawl = crawl_settings(load_config(path), "20261125T000000Z-000000")
        process = SimpleNamespace(settings=crawl, crawlers=[SimpleNamespace(settings=crawl)])
        return guarded.GuardedResolver.from_crawler(process, reactor=SimpleNamespace())

    wide = resolver_for('["10.1.2.0/24", "169.254.0.0/16", "0.0.0.0/0"]')
    for address in ("10.1.2.77", "127.0.0.3", "169.254.1.1", "93.184.216.34"):
        assert _resolve("intranet.example", address, wide.dialable) == address
    metadata = _resolve("metadata.example", "169.254.169.254", wide.dialable)
    assert isinstance(metadata, Failure) and metadata.check(guarded.PrivateAddressRefused)
    assert _resolve("fd.example", "::1", wide.dialable) != "::1"  # an IPv4 list opens no IPv6
    named = resolver_for('["169.254.169.254/32"]')
    assert _resolve("metadata.example", "169.254.169.254", named.dialable) == "169.254.169.254"
    narrow = resolver_for('["10.1.2.0/24"]')
    assert isinstance(_resolve("other.example", "10.1.3.1", narrow.dialable), Failure)
    assert _resolve("mapped.example", "::ffff:10.1.2.9", narrow.dialable) == "::ffff:10.1.2.9"


def test_redirect_to_private_addresses_is_refused() -> None:
    """A redirect from a public site to the metadata address or to a name resolving to
    loopback is a new request through the guard, and refused. (End to end, the first hop would
    need a public address, which a loopback-only test cannot have.)"""
    errors: list[tuple] = []
    site = SimpleNamespace(name="news", domains=("news.example", "169.254.169.254",
                                                 "localhost"))
    config = SimpleNamespace(crawl=SimpleNamespace(allow_private_networks=False,
                                                   allowed_networks=(),
                                                   max_pages_per_site=10),
                             sites=(site,), site=lambda name: site)
    error_log = SimpleNamespace(add=lambda *a: errors.append(a))
    stats = SimpleNamespace(inc_value=lambda *a, **k: None)
    guard = SiteGuardMiddleware(SimpleNamespace(stats=stats), config, error_log)
    for target in ("http://169.254.169.254/latest/meta-data/", "http://localhost:9/admin"):
        # what RedirectMiddleware hands back: a new request through the whole chain
        redirect = Request(target, meta={"newsarchive_site": "news", "redirect_times": 1})
        with pytest.raises(BlockedRequest):
            asyncio.run(guard.process_request(redirect))
    assert [e[1] for e in errors] == ["blocked_private_address"] * 2


# ----------------------------------------------------------------------------- credentials


def _s3_config(path: Path, root: Path, bucket: str, endpoint: str, urls: list[str]) -> Path:
    path.write_text("\n".join([
        "[archive]", f'uri = "s3://{bucket}/archive"', f'endpoint_url = "{endpoint}"',
        f'spool_dir = "{root / "spool"}"', "",
        "[crawl]", "allow_private_networks = true", "download_delay = 0",
        "extract_workers = 1", "",
        "[[sites]]", 'name = "hostile"', f"start_urls = {json.dumps(urls)}",
        "follow_depth = 1", ""]))
    return path


def test_credentials_never_appear_in_output_reports_or_help(web: HostileWeb, s3_server: Any,
                                                           make_s3_storage: Any,
                                                           tmp_path: Path) -> None:
    """A crawl into S3 with AWS credentials in the environment, verbose, with failing pages;
    then, with a wrong secret, through both entry points: each fails before fetching anything
    (storage refused access, which no spooling fixes) with one line naming the refusal, and
    neither the access key nor either secret shows up on stdout, stderr, in the run reports,
    the spool or --help."""
    bucket = f"creds-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(bucket)
    urls = [web.url(p) for p in (*GOOD, RESET)]
    config = _s3_config(tmp_path / "news.toml", tmp_path, bucket, s3_server.endpoint_url, urls)
    env = {"AWS_ACCESS_KEY_ID": s3_server.access_key, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_SECRET_ACCESS_KEY": s3_server.secret_key}
    wrong_secret = "WrongSecret" + uuid.uuid4().hex
    wrong = {**env, "AWS_SECRET_ACCESS_KEY": wrong_secret}
    outputs = [run_cli("crawl", "-v", "--config", str(config), env=env, timeout=120)]
    assert outputs[0].returncode == 0, outputs[0].stderr[-3000:]
    fetched = len(web.hits)
    outputs.append(run_cli("crawl", "--config", str(config), env=wrong, timeout=120))
    outputs.append(run_cli("crawl", "news", "-s", f"NEWSARCHIVE_CONFIG={config}",
                           module="scrapy.cmdline", timeout=120, env=wrong))
    refused = outputs[1]
    assert refused.returncode == 1, refused.stderr[-3000:]
    [line] = refused.stderr.splitlines()
    assert "refused access, nothing was crawled" in line and "SignatureDoesNotMatch" in line
    assert "refused access, nothing was crawled" in outputs[2].stderr
    assert outputs[2].returncode == 1, outputs[2].stderr[-3000:]
    assert web.hits[fetched:] == []  # not even robots.txt
    outputs += [run_cli("--help", env=env), run_cli("crawl", "--help", env=env)]
    texts = [o.stdout + o.stderr for o in outputs]
    storage = make_s3_storage(bucket)
    texts += [json.dumps(r) for r in read_reports(storage)]
    texts += [p.read_text(errors="replace") for p in tmp_path.rglob("*.json")]
    texts += [p.read_text(errors="replace") for p in (tmp_path / "spool").rglob("*.data")]
    assert len(texts) >= 6
    for secret in (s3_server.access_key, s3_server.secret_key, wrong_secret):
        for text in texts:
            assert secret not in text


@pytest.mark.parametrize("private", [False, True])
def test_both_entry_points_install_the_guarded_resolver(tmp_path: Path, private: bool) -> None:
    """`newsarchive crawl` (config object in the settings) and `scrapy crawl` (config file
    named by NEWSARCHIVE_CONFIG, parsed by the add-on) give the resolver the same config."""
    config_path = _config(tmp_path / "news.toml", tmp_path, ["http://news.example/"], private)
    cli = crawl_settings(load_config(config_path), "20261125T000000Z-000000")
    scrapy_cli = Settings()
    scrapy_cli.setmodule("crawler.settings", priority="project")
    scrapy_cli.set("NEWSARCHIVE_CONFIG", str(config_path), priority="cmdline")
    for settings in (cli, scrapy_cli):
        assert settings["TWISTED_DNS_RESOLVER"] == "crawler.resolver.GuardedResolver"
        # what a crawl's settings hold once its add-ons have run (Crawler._apply_settings)
        crawl = settings.copy()
        NewsarchiveAddon().update_settings(crawl)
        process = SimpleNamespace(settings=settings, crawlers=[SimpleNamespace(settings=crawl)])
        resolver = guarded.GuardedResolver.from_crawler(process, reactor=SimpleNamespace())
        assert resolver.allow_private is private


def test_error_kinds_of_cancelled_downloads() -> None:
    url = "http://news.example/a"
    announced = DownloadCancelledError("Expected to receive 9 bytes which is larger than "
                                       "download max size (8)")
    assert error_kind(announced, url, stopping=True) == "too_large"
    assert error_kind(DownloadCancelledError(), url) == "too_large"  # outgrew the limit
    assert error_kind(DownloadCancelledError(), url, stopping=True) == "cancelled"
    assert error_kind(IgnoreRequest("max redirections reached"), url) == "too_many_redirects"
    assert error_kind(IgnoreRequest("Forbidden by robots.txt"), url) is None


def test_an_unexpected_download_exception_is_download_failed_naming_its_class() -> None:
    class TunnelCollapsed(Exception):
        pass

    kind = error_kind(TunnelCollapsed("proxy hung up"), "http://news.example/a")
    assert kind == "download_failed"
    assert describe(TunnelCollapsed("proxy hung up"), kind) == "TunnelCollapsed: proxy hung up"
    log = ErrorLog()  # a kind outside the set (a bug) is still counted, never raised
    log.add("news", "download_TunnelCollapsed", "http://news.example/a", "proxy hung up")
    assert log.counts["news"] == {"download_failed": 1}
    assert log.examples[0]["message"] == "download_TunnelCollapsed: proxy hung up"


def test_the_readme_lists_exactly_the_error_kinds() -> None:
    """The error kinds are a closed set, and the README's table documents each one."""
    readme = (REPO / "README.md").read_text()
    table = readme.split("| error kind | meaning |", 1)[1].split("\n\n", 1)[0]
    documented = [kind for row in table.splitlines() if row.startswith("| `")
                  for kind in re.findall(r"`(\w+)`", row.split("|")[1])]
    assert sorted(documented) == sorted(ERROR_KINDS)
