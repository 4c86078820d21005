"""Feed and sitemap parsing, hostile input included."""

from __future__ import annotations

import gzip

import pytest

from crawler.discovery import XmlTooLarge, inflate, parse_feed, parse_sitemap

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://n.example/a.html</loc>
    <news:news><news:publication_date>2026-05-02T10:00:00Z</news:publication_date>
    <news:title>A</news:title></news:news></url>
  <url><loc>https://n.example/b.html</loc><lastmod>2026-05-01</lastmod></url>
</urlset>"""


def test_news_sitemap_gives_urls_and_dates() -> None:
    kind, entries = parse_sitemap(NEWS_SITEMAP)
    assert kind == "urlset"
    assert [(e.url, e.published) for e in entries] == [
        ("https://n.example/a.html", "2026-05-02T10:00:00Z"),
        ("https://n.example/b.html", "2026-05-01")]


def test_gzipped_sitemap_index() -> None:
    body = gzip.compress(b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                         b"<sitemap><loc>https://n.example/s1.xml</loc></sitemap>"
                         b"</sitemapindex>")
    assert parse_sitemap(body) == ("index", [parse_sitemap(body)[1][0]])
    assert parse_sitemap(body)[1][0].url == "https://n.example/s1.xml"


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * (60 * 1024 * 1024))
    with pytest.raises(XmlTooLarge):
        inflate(bomb)


def test_xml_entities_are_not_expanded_nor_fetched() -> None:
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<urlset><url><loc>https://n.example/&lol2;&xxe;</loc></url></urlset>"""
    kind, entries = parse_sitemap(laughs)
    assert "root:" not in repr(entries)
    assert all("lollol" not in e.url for e in entries)


def test_rss_and_atom_feeds() -> None:
    rss = b"""<rss version="2.0"><channel><title>T</title>
      <item><title>A</title><link>https://n.example/a</link>
        <pubDate>Sat, 02 May 2026</pubDate></item>
      <item><guid>https://n.example/b</guid></item></channel></rss>"""
    assert [e.url for e in parse_feed(rss)] == ["https://n.example/a", "https://n.example/b"]
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>A</title>
      <link rel="alternate" href="https://n.example/a"/><published>2026-05-02</published></entry>
      </feed>"""
    assert [(e.url, e.published) for e in parse_feed(atom)] == [("https://n.example/a",
                                                                 "2026-05-02")]


@pytest.mark.parametrize("body", [b"", b"not xml at all", b"<html><body>hi</body></html>",
                                  b"\x00\x01\x02\xff" * 100, b"<rss><channel><item><link>"])
def test_malformed_feeds_and_sitemaps_do_not_raise(body: bytes) -> None:
    entries = parse_feed(body)
    assert entries is None or isinstance(entries, list)
    assert parse_sitemap(body)[0] in ("invalid", "urlset", "index")
