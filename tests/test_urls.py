from __future__ import annotations

import pytest

from crawler.urls import canonical_url, looks_like_article_url, normalize_url

DOMAINS = ("news.example", "partner.example")


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTP://News.Example:80/a/b?utm_source=x&id=3#top", "http://news.example/a/b?id=3"),
    ("https://news.example:443/a?fbclid=1&gclid=2", "https://news.example/a"),
    ("https://news.example:8443/a", "https://news.example:8443/a"),
    ("https://user:secret@news.example/a", "https://news.example/a"),
    ("https://news.example/a?b=2&a=1", "https://news.example/a?b=2&a=1"),
    ("https://news.example", "https://news.example/"),
    ("https://news.example/a?amp&q=a%20b&utm_medium=x", "https://news.example/a?amp&q=a%20b"),
    ("https://news.example/a?UTM_Source=x&page=2", "https://news.example/a?page=2"),
])
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_canonical_prefers_same_site_declaration_only() -> None:
    amp = "https://news.example/amp/story.html?utm_medium=social"
    assert canonical_url(amp, "https://news.example/world/story.html", DOMAINS) == \
        "https://news.example/world/story.html"
    # a canonical pointing at another site must not let that site claim the article
    assert canonical_url(amp, "https://elsewhere.example/story", DOMAINS) == \
        "https://news.example/amp/story.html"
    assert canonical_url(amp, None, DOMAINS) == "https://news.example/amp/story.html"
    assert canonical_url(amp, "https://news.example/", DOMAINS) == \
        "https://news.example/amp/story.html"


@pytest.mark.parametrize(("url", "is_article"), [
    ("https://n.example/world/2026/05/02/storm-hits-coast.html", True),
    ("https://n.example/2026/05/02/storm/", True),
    ("https://n.example/politics/minister-resigns-after-vote-on-budget", True),
    ("https://n.example/news/world-europe-68123456", True),
    ("https://n.example/", False),
    ("https://n.example/world/", False),
    ("https://n.example/tag/climate-change-and-energy-policy/", False),
    ("https://n.example/files/annual-report-2026-final.pdf", False),
    ("https://n.example/about/", False),
])
def test_article_url_heuristics(url: str, is_article: bool) -> None:
    assert looks_like_article_url(url) is is_article
