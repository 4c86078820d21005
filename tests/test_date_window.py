"""A site's date window (``since``, ``max_age_days``) and language filter, end to end: the
real CLI against the fixture web (dailyplanet's articles are dated 2026-04-20 to 2026-05-03,
in its feed, its sitemaps and on the pages), time passing through ``NEWSARCHIVE_NOW``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.config import ConfigError, parse_config
from crawler.site_state import TOO_OLD, Fetch, Policy, SiteState
from tests.crawlrun import Archive, read_records, read_reports, run_cli, warc_target_uris
from tests.crawlrun import write_config as write_base_config
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import archive, local_archive, s3_archive  # noqa: F401 (fixtures)
from tests.test_import import import_cli, write_warcio_file

# the clock starts at the real time, as in test_revisit: the fixture web dates a changed
# article's lastmod by the real clock
T0 = dt.datetime.now(dt.UTC)
SINCE = "2026-05-01"


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    with FixtureWeb() as fixture:
        yield fixture


def write_config(tmp_path: Path, web: FixtureWeb, target: Archive, extra_crawl: str = "",
                 **site_keys: str) -> Path:
    """The fixture web's config, with these keys (TOML values) on dailyplanet."""
    config = write_base_config(tmp_path / "news.toml", web, target, tmp_path / "spool",
                               extra_crawl=extra_crawl)
    lines = "".join(f"{key} = {value}\n" for key, value in site_keys.items())
    text = config.read_text().replace('name = "dailyplanet"\n',
                                      'name = "dailyplanet"\n' + lines, 1)
    config.write_text(text)
    return config


def crawl_at(config: Path, target: Archive, when: dt.datetime) -> dict:
    """One crawl whose clock reads ``when``; dailyplanet's part of its run report."""
    result = run_cli("crawl", "--config", str(config),
                     env={**target.env, "NEWSARCHIVE_NOW": when.isoformat()})
    assert result.returncode == 0, result.stdout + result.stderr
    return latest_report(target)


def latest_report(target: Archive) -> dict:
    reports = sorted(read_reports(target.storage), key=lambda r: r["started_at"])
    return reports[-1]["sites"]["dailyplanet"]


def requested(web: FixtureWeb) -> set[str]:
    return {web.url("dailyplanet", path) for path in web.fetched_paths("dailyplanet")}


def published_before(web: FixtureWeb, moment: str) -> dict[str, str]:
    """URL -> slug of dailyplanet's articles published before ``moment``."""
    limit = dt.datetime.fromisoformat(moment if "T" in moment else moment + "T00:00:00+00:00")
    return {a.url: a.slug for a in web.articles
            if a.site == "dailyplanet" and dt.datetime.fromisoformat(a.published) < limit}


def dailyplanet_records(target: Archive) -> dict[str, dict]:
    return {r["canonical_url"]: r for r in read_records(target.storage)
            if r["site"] == "dailyplanet"}


def test_articles_older_than_since_are_neither_archived_nor_fetched_again(
        web: FixtureWeb, archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    # refused pages are tried again after 3 days; every answer in full (no 304), so that
    # the next run reads the listings and the section pages that link the refused pages
    config = write_config(tmp_path, web, archive, "retry_gone_hours = [72]",
                          since=f'"{SINCE}"')
    web.send_validators = False
    old = published_before(web, SINCE)
    report = crawl_at(config, archive, T0)

    records = dailyplanet_records(archive)
    wanted = {a.url for a in web.articles if a.site == "dailyplanet" and a.url not in old}
    assert set(records) == wanted
    assert all(r["published"] >= SINCE for r in records.values())
    # the partner has no window: all of its articles and copies are in
    assert {r["canonical_url"] for r in read_records(archive.storage)
            if r["site"] == "partner"} == {a.url for a in (*web.articles, *web.syndicated)
                                           if a.site == "partner"}

    # listed only in a sitemap, dated before the window: never asked for
    assert web.sitemap_only.url in old and web.sitemap_only.url not in requested(web)
    assert report["skipped"]["too_old"] >= 1
    # reached by links only (section pages 2+): fetched, kept raw, not archived
    link_only = {a.url for a in web.deep_only}
    assert link_only <= set(old) and link_only <= requested(web)
    assert link_only <= {uri for uri, _ in warc_target_uris(archive.storage)}
    assert report["articles"]["too_old"] >= len(link_only)
    assert report["articles"]["new"] == len(wanted)
    assert report["kept_unknown"] == {}

    # a day on: the new articles and the section pages are revisited, the refused pages
    # cost no fetch
    web.clear_log()
    later = crawl_at(config, archive, T0 + dt.timedelta(hours=25))
    assert not link_only & requested(web)
    assert wanted <= requested(web)
    assert later["skipped"]["too_old"] >= len(link_only) + 1
    assert later["articles"]["too_old"] == 0
    assert set(dailyplanet_records(archive)) == wanted


def test_child_sitemaps_dated_before_the_window_are_not_fetched(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    # the index dates both children by their newest story, 2026-05-02
    config = write_config(tmp_path, web, local_archive, since='"2026-05-03"')
    report = crawl_at(config, local_archive, T0)
    paths = web.fetched_paths("dailyplanet")
    assert "/sitemap_index.xml" in paths
    assert not {"/sitemap-1.xml.gz", "/news-sitemap.xml"} & set(paths)
    assert report["skipped"]["too_old_sitemap"] == 2
    assert set(dailyplanet_records(local_archive)) == {web.feed_only.url}  # of 2026-05-03


def test_a_replay_rebuilds_what_the_window_let_in(web: FixtureWeb, local_archive: Archive,  # noqa: F811
                                                   tmp_path: Path) -> None:
    config = write_config(tmp_path, web, local_archive, since=f'"{SINCE}"')
    crawl_at(config, local_archive, T0)
    crawled = dailyplanet_records(local_archive)
    web.stop()
    day = next(iter(crawled.values()))["fetched_at"][:10]
    result = run_cli("replay", "--date", day, "--config", str(config), env=local_archive.env)
    assert result.returncode == 0, result.stdout + result.stderr
    replayed = dailyplanet_records(local_archive)
    assert set(replayed) == set(crawled)
    assert {u: r["fetched_at"] for u, r in replayed.items()} \
        == {u: r["fetched_at"] for u, r in crawled.items()}
    assert latest_report(local_archive)["articles"]["too_old"] >= len(web.deep_only)


def test_max_age_days_moves_with_the_clock_and_archived_articles_still_get_versions(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    # the run clock never goes behind the real one (the dedup state is dated by it): the
    # window's length puts its start at 2026-05-01T12:00 on the first run
    first, start = T0, dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    days = (first - start).total_seconds() / 86400
    config = write_config(tmp_path, web, local_archive, max_age_days=f"{days:.6f}")
    crawl_at(config, local_archive, first)
    records = dailyplanet_records(local_archive)
    old = published_before(web, start.isoformat())
    assert set(records) == {a.url for a in web.articles
                            if a.site == "dailyplanet" and a.url not in old}
    election = web.article("mountain-village-election")  # 2026-05-01T16:20Z: in, just
    assert election.url in records

    # two days on the election story is out of the window, but archived: its correction is
    # a new version; nothing new from before the window comes in
    corrected = web.update_article(election.slug, [*election.paragraphs,
                                                   "Correction: the recount ended at noon."])
    report = crawl_at(config, local_archive, first + dt.timedelta(days=2))
    versions = sorted(r["version"] for r in read_records(local_archive.storage)
                      if r["canonical_url"] == election.url)
    assert versions == [1, 2]
    assert report["articles"]["updated"] == 1 and report["articles"]["new"] == 0
    latest = max((r for r in read_records(local_archive.storage)
                  if r["canonical_url"] == election.url), key=lambda r: r["version"])
    assert latest["text"].endswith(corrected.paragraphs[-1])


def test_pages_outside_the_languages_are_not_archived_and_unknown_ones_are_kept(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    german = [web.article("harbour-ferry-strike"), web.article("deep-sea-vent-survey")]
    unknown = web.article("glacier-sensor-network")
    web.declared_languages = {web_path(german[0].url): "de", web_path(german[1].url): "de-AT",
                              web_path(unknown.url): ""}
    config = write_config(tmp_path, web, local_archive, "retry_gone_hours = [72]",
                          languages='["de", "fr"]')
    web.send_validators = False  # as in the first test: the next run reads every page
    report = crawl_at(config, local_archive, T0)

    records = dailyplanet_records(local_archive)
    assert set(records) == {a.url for a in (*german, unknown)}
    assert {records[a.url]["language"] for a in german} == {"de"}
    assert records[unknown.url]["language"] is None
    english = {a.url for a in web.articles if a.site == "dailyplanet"} - set(records)
    assert report["articles"]["other_language"] >= len(english)
    assert report["kept_unknown"] == {"language": 1}
    assert report["articles"]["new"] == 3

    web.clear_log()
    later = crawl_at(config, local_archive, T0 + dt.timedelta(hours=25))
    assert not english & requested(web)
    assert later["skipped"]["other_language"] >= len(english)
    assert set(dailyplanet_records(local_archive)) == set(records)


def web_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_an_import_judges_each_capture_by_its_own_date(
        web: FixtureWeb, local_archive: Archive, tmp_path: Path) -> None:  # noqa: F811
    """max_age_days counts back from the capture's WARC-Date: captures of 2026-05-04 keep
    what was at most three days old then, however long ago that is today."""
    articles = [a for a in web.articles if a.site == "dailyplanet"]
    captured = "2026-05-04T12:00:00Z"
    warc = tmp_path / "capture.warc.gz"
    write_warcio_file(warc, web, [a.url for a in articles], date=captured)
    config = write_config(tmp_path, web, local_archive, max_age_days="3")
    web.stop()
    result = import_cli(config, local_archive, warc)
    assert result.returncode == 0, result.stdout + result.stderr

    old = published_before(web, "2026-05-01T12:00:00+00:00")
    assert old and len(old) < len(articles)
    assert set(dailyplanet_records(local_archive)) == {a.url for a in articles
                                                       if a.url not in old}
    assert latest_report(local_archive)["articles"]["too_old"] == len(old)


@pytest.mark.parametrize(("keys", "field", "problem"), [
    ('since = "last week"', "since", "expected an ISO 8601 date"),
    ("since = 07:30:00", "since", "expected a string or a date"),
    ("max_age_days = 0", "max_age_days", "must be between"),
    ("max_age_days = true", "max_age_days", "got a boolean"),
    ('languages = ["de-CH"]', "languages[0]", "records carry 'de'"),
    ('languages = ["DE"]', "languages[0]", "records carry 'de'"),
    ('languages = ["xx"]', "languages[0]", "not an ISO 639-1 language code"),
    ('languages = ["fr", "fr"]', "languages", "twice"),
])
def test_a_bad_window_or_language_is_one_line_naming_the_field(keys: str, field: str,
                                                               problem: str) -> None:
    text = f'[[sites]]\nname = "a"\nstart_urls = ["https://a.example/"]\n{keys}\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "news.toml")
    message = str(caught.value)
    assert message.startswith(f"news.toml: sites[0] (a).{field}: ") and problem in message
    assert "\n" not in message


def test_since_reads_toml_dates_and_iso_strings_and_both_keys_take_the_later_start() -> None:
    def site(keys: str):
        return parse_config(f'[[sites]]\nname = "a"\nstart_urls = ["https://a.example/"]\n'
                            f'{keys}\n').site("a")

    midnight = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    assert site("since = 2026-05-01").since == midnight
    assert site('since = "2026-05-01T02:00:00+02:00"').since == midnight
    assert site("since = 2026-05-01T00:00:00").since == midnight  # no offset: UTC
    assert site("").window_start(midnight.timestamp()) is None
    both = site("since = 2026-05-01\nmax_age_days = 2")
    assert both.window_start((midnight + dt.timedelta(days=1)).timestamp()) \
        == midnight.timestamp()
    assert both.window_start((midnight + dt.timedelta(days=5)).timestamp()) \
        == (midnight + dt.timedelta(days=3)).timestamp()


def test_a_refused_page_is_retried_on_the_gone_schedule_and_never_conditionally() -> None:
    policy = Policy(revisit_hours=(1, 6), retry_gone_hours=(24, 168))
    state, url, hour = SiteState(), "https://a.example/old-story.html", 3600.0
    fetch = Fetch(url, 200, '"v1"', "Mon, 04 May 2026 10:00:00 GMT", "sha1:AAAA",
                  "2026-05-04T10:00:00Z", revisit=False)
    state.record(fetch, TOO_OLD, 0.0)
    assert state.decide(url, 23 * hour, policy) == (False, TOO_OLD)
    # a listing date after the fetch does not bring it back: its own date stays old
    assert state.decide(url, 23 * hour, policy, listed=20 * hour) == (False, TOO_OLD)
    assert state.decide(url, 24 * hour, policy) == (True, "due")
    assert state.conditional_headers(url) == {} and state.original(url) is None
    state.record(fetch, TOO_OLD, 24 * hour)
    assert state.decide(url, 100 * hour, policy) == (False, TOO_OLD)
    assert state.decide(url, 192 * hour, policy) == (True, "due")
    assert url not in state.due(1000 * hour, policy)  # only when a page still links it
