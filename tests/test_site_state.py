"""The fetch state's size at one year, and what its compaction keeps knowing."""

from __future__ import annotations

import datetime as dt

from crawler.site_state import HOUR, Fetch, Policy, SiteState

POLICY = Policy((1, 6, 24, 72, 168), (24, 168, 720))
NOW = dt.datetime(2027, 12, 1, tzinfo=dt.UTC).timestamp()
DAY = 24 * HOUR


def _fetch(url: str) -> Fetch:
    return Fetch(url, 200, '"5f2a9c1e1b2c3d"', "Mon, 30 Nov 2026 10:00:00 GMT",
                 "sha1:JEXJR23VJNMISKZO2PJJFAYRPVKZAOS5", "2026-11-30T10:00:00.123456Z", False)


def test_a_year_of_a_busy_site_stays_small_and_still_known() -> None:
    state = SiteState()
    urls = []
    for day in range(365):  # 100 articles a day, each fetched then revisited on schedule
        moment = NOW - (365 - day) * DAY
        for i in range(100):
            url = f"https://www.example-news.org/2027/{day:03d}/a-story-about-something-{i}"
            urls.append(url)
            state.record(_fetch(url), "article", moment)
            for hours in POLICY.revisit_hours:
                if moment + hours * HOUR <= NOW:
                    state.record(_fetch(url), "article", moment + hours * HOUR)
        state.compact(moment, POLICY)
    state.compact(NOW, POLICY)
    data = state.to_bytes()
    assert len(state.urls) <= 8 * 100 and len(data) < 400_000  # one GET and one PUT a run
    again = SiteState.from_bytes(data)
    old = urls[0]
    assert old not in again.urls and again.decide(old, NOW, POLICY) == (False, "not_due")
    # a sitemap lastmod after the month of its last fetch brings it back
    assert again.decide(old, NOW, POLICY, listed=NOW - DAY) == (True, "lastmod")
    assert again.decide("https://www.example-news.org/new", NOW, POLICY) == (True, "new")
