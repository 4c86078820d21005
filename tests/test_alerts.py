"""Yield alerts: a site's run against its own history, in the report, the log and `ls`."""

from __future__ import annotations

import json
from pathlib import Path

from archive.run_reports import SiteRun
from crawler.alerts import site_alerts
from tests.crawlrun import Archive, read_reports, run_cli, write_config
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import crawl, local_archive, web  # fixtures and helper


def _site(new: int = 10, empty: int = 0, extract_errors: int = 0, pages: int = 40,
          blocked: int = 0, records: int | None = None, dated: int | None = None,
          authored: int | None = None) -> SiteRun:
    written = new if records is None else records
    return SiteRun(pages_fetched=pages, status={"200": pages - blocked, "403": blocked},
                   articles={"new": new, "updated": 0, "near_duplicate": 0, "unchanged": 5,
                             "duplicate": 0, "empty": empty},
                   errors={"extract_timeout": extract_errors} if extract_errors else {},
                   records_written=written,
                   records_with_published=written if dated is None else dated,
                   records_with_author=written if authored is None else authored)


def _kinds(current: SiteRun, history: list[SiteRun]) -> set[str]:
    return {alert["kind"] for alert in site_alerts(current, history)}


def test_each_kind_of_alert() -> None:
    usual = [_site() for _ in range(5)]
    assert _kinds(_site(), usual) == set()
    assert _kinds(_site(new=0, records=0), usual) == {"zero_new"}
    assert _kinds(_site(new=4, empty=6, extract_errors=4), usual) == {"extraction_failures"}
    assert _kinds(_site(blocked=12), usual) == {"blocked"}
    assert _kinds(_site(dated=1), usual) == {"dates_missing"}
    assert _kinds(_site(authored=0), usual) == {"authors_missing"}


def test_no_alert_without_enough_history_or_when_polling_is_usually_quiet() -> None:
    assert _kinds(_site(new=0, records=0), [_site(), _site()]) == set()
    quiet = [_site(new=0, records=0)] * 4 + [_site()]
    assert _kinds(_site(new=0, records=0), quiet) == set()


def test_a_silent_run_is_flagged_in_report_log_and_ls(web: FixtureWeb, local_archive: Archive,
                                                      tmp_path: Path) -> None:
    config = write_config(tmp_path / "news.toml", web, local_archive, tmp_path / "spool",
                          sites=("partner",))
    crawl(config, local_archive)
    [first] = read_reports(local_archive.storage)
    day = first["started_at"][:10]
    for n in range(3):  # earlier productive runs of the same site
        earlier = {**first, "crawl_id": f"20000101T00000{n}Z-aaaaaa",
                   "started_at": f"{day}T00:00:0{n}.000000Z"}
        local_archive.storage.put_bytes(f"runs/date={day}/{earlier['crawl_id']}.json",
                                        json.dumps(earlier).encode())
    result = crawl(config, local_archive)  # nothing changed: nothing new
    assert "ALERT partner: no new or updated articles" in result.stdout
    assert "yield alert for partner (zero_new)" in result.stderr
    latest = max(read_reports(local_archive.storage), key=lambda r: r["started_at"])
    assert [a["kind"] for a in latest["sites"]["partner"]["alerts"]] == ["zero_new"]
    listing = run_cli("ls", "--config", str(config), "--date", day)
    assert "alert: partner" in listing.stdout and "no new or updated articles" in listing.stdout
