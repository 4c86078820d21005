"""Per-site fetching: a site's user agent, headers and cookies reach only that site (its
robots.txt included), cookie values and secret headers are masked in the WARC and never
printed; a robots.txt Crawl-delay spaces that host's requests, capped by max_crawl_delay."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.local import LocalStorage
from crawler.crawl_delay import crawl_delay_floor
from tests.crawlrun import Archive, read_records, run_cli, warc_keys, write_config
from tests.fixtureweb import DAILYPLANET, PARTNER, FixtureWeb

SESSION = "s3ss-Qz81-mooncalf"  # a subscriber's session cookie, from the environment
API_KEY = "key-7Hh2-lanternfish"


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as fixture:
        yield fixture


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    root = tmp_path / "archive"
    return Archive(str(root), LocalStorage(root), {})


def add_site_keys(config: Path, site: str, lines: list[str]) -> None:
    """Append keys to one [[sites]] table of a config written by write_config."""
    text = config.read_text()
    marker = f'name = "{site}"\n'
    config.write_text(text.replace(marker, marker + "\n".join(lines) + "\n", 1))


def request_records(archive: Archive) -> list[tuple[str, list[tuple[str, str]]]]:
    """(target URI, header lines) of every WARC request record."""
    found = []
    for key in warc_keys(archive.storage):
        for record in ArchiveIterator(io.BytesIO(archive.storage.get_bytes(key))):
            if record.rec_type == "request":
                found.append((record.rec_headers.get_header("WARC-Target-URI"),
                              record.http_headers.headers))
    return found


def test_user_agent_headers_and_cookies_reach_only_their_site(
        web: FixtureWeb, archive: Archive, tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
    add_site_keys(config, DAILYPLANET, [
        'user_agent = "PlanetReader/2.0 (+https://example.org/reader)"',
        'headers = { "Accept-Language" = "en-GB", "X-Api-Key" = "${NA_TEST_API_KEY}" }',
        'cookies = { consent = "yes", session = "${NA_TEST_SESSION}" }'])
    result = run_cli("crawl", "--config", str(config), "-v",
                     env={"NA_TEST_SESSION": SESSION, "NA_TEST_API_KEY": API_KEY})
    assert result.returncode == 0, result.stdout + result.stderr

    planet = [r for r in web.requests if r.host == "127.0.0.1"]
    partner = [r for r in web.requests if r.host == "127.0.0.2"]
    assert any(r.path == "/robots.txt" for r in planet) and len(partner) > 3
    for request in planet:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["user-agent"].startswith("PlanetReader/2.0"), request.path
        assert headers["accept-language"] == "en-GB"
        assert headers["x-api-key"] == API_KEY
        assert headers["cookie"] == f"consent=yes; session={SESSION}"
    for request in partner:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["user-agent"].startswith("newsarchive-test")
        assert not {"cookie", "x-api-key"} & set(headers)
        assert headers.get("accept-language") != "en-GB"
    assert {r["site"] for r in read_records(archive.storage)} == {DAILYPLANET, PARTNER}

    # the WARC says what was sent, with the secrets masked
    sent = [dict((k.lower(), v) for k, v in headers)
            for uri, headers in request_records(archive) if "127.0.0.1" in uri]
    assert sent and all(h["cookie"] == "consent=***; session=***" for h in sent)
    assert all(h["x-api-key"] == "***" and h["accept-language"] == "en-GB" for h in sent)
    assert all(h["user-agent"].startswith("PlanetReader/2.0") for h in sent)
    output = result.stdout + result.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".log", ".toml", ".txt"):
            assert SESSION not in path.read_text(errors="replace")
    assert SESSION not in output and API_KEY not in output


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.mark.parametrize("download_delay", [0, 0.05], ids=["plain", "autothrottle"])
def test_crawl_delay_spaces_the_host_and_is_capped(
        web: FixtureWeb, archive: Archive, tmp_path: Path, download_delay: float) -> None:
    """The partner asks for 10 minutes between requests: max_crawl_delay caps it at 2 s.
    With a download_delay AutoThrottle runs, and adjusts the delay after every response."""
    web.crawl_delays[PARTNER] = 600
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool",
                          sites=(PARTNER, DAILYPLANET),
                          extra_crawl="max_crawl_delay = 2\nmax_pages_per_site = 4")
    config.write_text(config.read_text().replace("download_delay = 0\n",
                                                 f"download_delay = {download_delay}\n"))
    result = run_cli("crawl", "--config", str(config), "-v")
    assert result.returncode == 0, result.stdout + result.stderr

    partner = web.request_times(PARTNER)
    assert len(partner) >= 4  # robots.txt and the page budget
    # 2 s apart as the client sends them; the server reads them within a generous 0.5 s of that
    assert min(gaps(partner)) >= 1.5, gaps(partner)
    # the other host asked nothing: its requests were not held to the partner's pace
    planet = web.request_times(DAILYPLANET)
    assert min(gaps(planet)) < 1.5


@pytest.mark.parametrize(("asked", "delay", "cap", "floor"), [
    (None, 0.0, 30.0, None), (0, 1.0, 30.0, None), (5, 1.0, 30.0, 5.0),
    (600, 1.0, 30.0, 30.0), (0.5, 1.0, 30.0, None), (10, 2.0, 1.0, None),
])
def test_crawl_delay_floor(asked: float | None, delay: float, cap: float,
                           floor: float | None) -> None:
    assert crawl_delay_floor(asked, delay, cap) == floor
