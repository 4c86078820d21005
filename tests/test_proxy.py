"""Crawling through a real forward proxy (proxy.py on loopback, with Basic credentials): the
requests go through it, the credentials come from the environment and show up nowhere (output,
run report, WARC, spool), and the site guard still refuses private targets behind it."""

from __future__ import annotations

import base64
import gzip
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.local import LocalStorage
from testkit.proxy import ForwardProxy
from testkit.redis import make_certificates
from tests.crawlrun import (
    Archive,
    read_records,
    read_reports,
    run_cli,
    warc_target_uris,
    write_config,
)
from tests.fixtureweb import DAILYPLANET, PARTNER, FixtureWeb

PROXY_HOST = "127.0.0.3"  # neither fixture host: allowing the proxy must not open a target
USER, PASSWORD = "newsroom", "pw-Xq7!tide-4410"
ENV = {"NA_TEST_PROXY_USER": USER, "NA_TEST_PROXY_PASS": PASSWORD}
PROXY_REF = "${NA_TEST_PROXY_USER}:${NA_TEST_PROXY_PASS}"


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as fixture:
        yield fixture


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[ForwardProxy]:
    log_dir = tmp_path / "proxy"
    log_dir.mkdir()
    with ForwardProxy(PROXY_HOST, log_dir, basic_auth=f"{USER}:{PASSWORD}") as running:
        yield running


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    root = tmp_path / "archive"
    return Archive(str(root), LocalStorage(root), {})


def proxied_config(tmp_path: Path, web: FixtureWeb, archive: Archive, proxy: ForwardProxy,
                   credentials: str = PROXY_REF) -> Path:
    """Both fixture sites through the proxy; only dailyplanet's address is allowed."""
    crawl = "\n".join([
        'allowed_networks = ["127.0.0.1/32"]', "allow_private_proxy = true",
        f'proxy = "http://{credentials}@{proxy.host}:{proxy.port}"'])
    return write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool",
                        private=False, extra_crawl=crawl)


def everything_written(tmp_path: Path) -> bytes:
    """Every file the run left (archive, spool, reports), gzip members decompressed."""
    found = []
    for path in sorted(p for p in tmp_path.rglob("*") if p.is_file()):
        if path.parent.name == "proxy":
            continue  # the proxy's own log
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                pass
        found.append(data)
    return b"\n".join(found)


def test_crawl_goes_through_the_proxy_with_credentials_from_the_environment(
        web: FixtureWeb, proxy: ForwardProxy, archive: Archive, tmp_path: Path) -> None:
    config = proxied_config(tmp_path, web, archive, proxy)
    result = run_cli("crawl", "--config", str(config), "-v", env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr

    # every request the site saw came through the proxy, authenticated
    through = [target for method, target in proxy.requests() if method == "GET"]
    seen = web.fetched_paths(DAILYPLANET)
    assert "/robots.txt" in seen and len(seen) > 5
    assert sorted(through) == sorted(f"127.0.0.1:{web.port}{path}" for path in seen)
    articles = [a for a in web.articles if a.site == DAILYPLANET]
    records = read_records(archive.storage)
    assert {r["canonical_url"] for r in records} >= {a.canonical_url for a in articles}

    # the private target is refused before anything is sent to the proxy
    assert web.fetched_paths(PARTNER) == []
    assert not any("127.0.0.2" in target for _, target in proxy.requests())
    [report] = read_reports(archive.storage)
    assert report["sites"][PARTNER]["errors"]["blocked_private_address"] >= 1

    # the credentials are nowhere: not in the output, the report, the WARC, the spool
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode())
    written = everything_written(tmp_path)
    output = (result.stdout + result.stderr).encode()
    for secret in (PASSWORD.encode(), token):
        assert secret not in written
        assert secret not in output
    assert b"Proxy-Authorization" not in written
    # the address dialled was the proxy's: the WARC does not give it as the site's
    assert b"WARC-IP-Address" not in written


def test_a_site_of_its_own_proxy_and_a_refusal_that_is_not_archived(
        web: FixtureWeb, proxy: ForwardProxy, archive: Archive, tmp_path: Path) -> None:
    """dailyplanet goes through its own proxy, with a wrong password; partner goes direct,
    whatever the http_proxy environment variable says."""
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool",
                          extra_crawl="allow_private_proxy = true")
    marker = f'name = "{DAILYPLANET}"\n'
    config.write_text(config.read_text().replace(
        marker, f'{marker}proxy = "http://{PROXY_REF}@{proxy.host}:{proxy.port}"\n', 1))
    env = {**ENV, "NA_TEST_PROXY_PASS": "not-the-password",
           "http_proxy": "http://127.0.0.9:9", "HTTP_PROXY": "http://127.0.0.9:9"}
    result = run_cli("crawl", "--config", str(config), env=env)

    assert web.fetched_paths(DAILYPLANET) == []  # the proxy let nothing through
    assert "ProxyAuthenticationFailed" in proxy.log_text()
    records = read_records(archive.storage)
    assert records and {r["site"] for r in records} == {PARTNER}
    assert all(status != 407 for _, status in warc_target_uris(archive.storage))
    [report] = read_reports(archive.storage)
    planet = report["sites"][DAILYPLANET]
    assert planet["errors"]["download_failed"] >= 1
    assert any("407" in example["message"] for example in report["error_examples"]
               if example["site"] == DAILYPLANET)
    assert "not-the-password" not in result.stdout + result.stderr


@pytest.fixture
def tls_web(tmp_path: Path) -> Iterator[FixtureWeb]:
    _, cert, key = make_certificates(tmp_path / "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with FixtureWeb(tls=context) as fixture:
        yield fixture


def test_https_sites_go_through_a_connect_tunnel(
        tls_web: FixtureWeb, proxy: ForwardProxy, archive: Archive, tmp_path: Path) -> None:
    config = proxied_config(tmp_path, tls_web, archive, proxy)
    result = run_cli("crawl", "--config", str(config), env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr

    tunnels = [target for method, target in proxy.requests() if method == "CONNECT"]
    assert tunnels and set(tunnels) == {f"127.0.0.1:{tls_web.port}"}
    assert not any(method != "CONNECT" for method, _ in proxy.requests())
    articles = [a for a in tls_web.articles if a.site == DAILYPLANET]
    records = read_records(archive.storage)
    assert {r["canonical_url"] for r in records} >= {a.canonical_url for a in articles}
    assert tls_web.fetched_paths(PARTNER) == []  # still refused, before any tunnel
    # the credentials went into the CONNECT request only, never into the site's
    assert not any("proxy-authorization" in {k.lower() for k in r.headers}
                   for r in tls_web.requests)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode())
    written = everything_written(tmp_path)
    assert PASSWORD.encode() not in written and token not in written
