"""The bundled demo news sites: every page built up front, then served from memory on loopback.

Pages copy the shape of real CMS output (WordPress-like classes, donation and co-op boxes inside
the article, comments, cookie banner, tracking parameters on some links) so the crawler and the
extractor meet the usual clutter; the content itself comes from `demo.stories`.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from demo.stories import COMMENTS, PUBLICATIONS, SECTIONS, STORIES, Story

PAGE_SIZE = 4
HTML_TYPE = "text/html; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
RSS_TYPE = "application/rss+xml; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Page:
    """One HTTP response of a demo site."""

    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Brand:
    tagline: str
    town: str
    founded: int
    society: str  # the readers' co-op that owns the paper
    raised: int  # fighting-fund figures, fixed so pages stay reproducible
    needed: int
    days_left: int


_BRANDS: dict[str, _Brand] = {
    "harbourtown": _Brand("Independent news for the harbour and the bay since 1881", "Harbourtown",
                          1881, "Harbourtown Ledger Readers’ Society", 9284, 5716, 8),
    "valleycourier": _Brand("The voice of the Wendle valley", "the Wendle valley", 1907,
                            "Valley Courier Community Press", 3150, 4850, 12),
}


@dataclass(frozen=True)
class _Site:
    key: str
    name: str
    base: str
    brand: _Brand
    stories: tuple[Story, ...]  # newest first

    def url(self, path: str) -> str:
        return self.base + path

    def in_section(self, section: str) -> list[Story]:
        return [s for s in self.stories if s.section == section]

    @property
    def tags(self) -> list[str]:
        return sorted({tag for story in self.stories for tag in story.tags})

    @property
    def updated(self) -> datetime:
        # the newest story stands in for "now" so every build is byte-for-byte the same
        return self.stories[0].published_at


def _site(key: str, base_url: str) -> _Site:
    if key not in STORIES:
        raise ValueError(f"unknown demo site {key!r}; expected one of {sorted(STORIES)}")
    stories = sorted(STORIES[key], key=lambda s: s.published_at, reverse=True)
    return _Site(key, PUBLICATIONS[key], base_url.rstrip("/"), _BRANDS[key], tuple(stories))


# --- small helpers -------------------------------------------------------------------------


def _t(text: str) -> str:
    return html.escape(text, quote=False)


def _a(text: str) -> str:
    return html.escape(text, quote=True)


def _label(section: str) -> str:
    return section.capitalize()


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _post_id(site: _Site, story: Story) -> int:
    return 1000 + zlib.crc32(f"{site.key}/{story.slug}".encode()) % 9000


def _summary(story: Story) -> str:
    return story.standfirst or story.paragraphs[0]


def _html_page(doc: str, status: int = 200, headers: dict[str, str] | None = None) -> Page:
    return Page(status, HTML_TYPE, doc.encode("utf-8"), headers or {"Cache-Control": "max-age=300"})


def _json_ld(data: dict[str, object]) -> str:
    # "</" would end the script element early
    payload = json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{payload}\n</script>'


# --- shared chrome -------------------------------------------------------------------------

_STYLE = """<style>
body{font-family:Georgia,serif;margin:0;color:#222}.site-header,.site-footer{background:#10324a;
color:#fff;padding:.5rem 1rem}.site-header a,.site-footer a{color:#fff}.site-content{display:flex;
gap:2rem;max-width:70rem;margin:auto;padding:1rem}.site-main{flex:3}.sidebar{flex:1}
.skip-link{position:absolute;left:-999px}.skip-link:focus{left:1rem}.menu{list-style:none;
display:flex;gap:1rem;padding:0}.support-box,.fighting-fund{border:2px solid #c0392b;padding:1rem;
margin:1rem 0}.cookie-notice{position:fixed;bottom:0;background:#eee;width:100%}
</style>"""


def _head(site: _Site, title: str, canonical: str | None, description: str, og_type: str,
          extra: Iterable[str] = ()) -> str:
    where = ([f'<link rel="canonical" href="{_a(canonical)}">',
              f'<meta property="og:url" content="{_a(canonical)}">'] if canonical else [])
    lines = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_t(title)}</title>",
        f'<meta name="description" content="{_a(description)}">',
        *where,
        f'<meta property="og:site_name" content="{_a(site.name)}">',
        f'<meta property="og:type" content="{og_type}">',
        f'<meta property="og:title" content="{_a(title.split(" | ")[0])}">',
        f'<meta property="og:description" content="{_a(description)}">',
        '<meta name="twitter:card" content="summary_large_image">',
        f'<link rel="alternate" type="application/rss+xml" title="{_a(site.name)}" '
        f'href="{site.url("/feed.xml")}">',
        *extra,
        _STYLE,
    ]
    return "\n".join(lines)


def _nav(site: _Site, current: str | None) -> str:
    items = ['<li class="menu-item"><a href="/">Home</a></li>']
    for section in SECTIONS[site.key]:
        active = " current-menu-item" if section == current else ""
        items.append(f'<li class="menu-item{active}"><a href="/{section}/">{_label(section)}</a>'
                     "</li>")
    return ('<nav class="main-navigation" aria-label="Main menu"><ul id="primary-menu" '
            f'class="menu">{"".join(items)}</ul></nav>')


def _header(site: _Site, current: str | None) -> str:
    return f"""<a class="skip-link screen-reader-text" href="#main">Skip to main content</a>
<div id="page" class="site">
<header id="masthead" class="site-header">
<div class="top-bar"><span class="today">{_day(site.updated)}</span>
<a href="/about/#e-edition">e-Edition</a> <a href="/about/#subscribe">Subscribe</a>
<a href="/search/">Search</a></div>
<div class="site-branding"><p class="site-title"><a href="/" rel="home">{_t(site.name)}</a></p>
<p class="site-description">{_t(site.brand.tagline)}</p></div>
<form role="search" method="get" class="search-form" action="/search/">
<label><span class="screen-reader-text">Search this site</span>
<input type="search" class="search-field" placeholder="Search …" name="q"></label>
<button type="submit" class="search-submit">Search</button></form>
{_nav(site, current)}
</header>"""


def _most_read(site: _Site) -> str:
    # real "most read" widgets tag their links for analytics; canonical URLs stay clean
    picks = sorted(site.stories, key=lambda s: zlib.crc32(s.slug.encode()))[:5]
    items = "".join(
        f'<li><a href="{s.path}?utm_source=mostread&amp;utm_medium=sidebar">{_t(s.headline)}</a>'
        "</li>" for s in picks)
    return (f'<section class="widget widget-most-read"><h2 class="widget-title">Most read</h2>'
            f'<ol class="most-read-list">{items}</ol></section>')


def _sidebar(site: _Site) -> str:
    return (f'<aside id="secondary" class="sidebar widget-area">{_most_read(site)}'
            '<div class="widget ad-slot ad-mpu"><span class="ad-label">Advertisement</span>'
            '<div class="ad-placeholder" data-slot="sidebar-mpu"></div></div></aside>')


def _footer(site: _Site) -> str:
    sections = " ".join(f'<a href="/{s}/">{_label(s)}</a>' for s in SECTIONS[site.key])
    return f"""<footer id="colophon" class="site-footer">
<nav class="footer-navigation">{sections} <a href="/about/">About us</a>
<a href="/about/#contact">Contact</a> <a href="/about/#advertise">Advertise with us</a>
<a href="/about/#privacy">Privacy policy</a> <a href="/feed.xml">RSS</a></nav>
<p class="site-info">© 2026 {_t(site.name)}. All rights reserved. Published by the
{_t(site.brand.society)}.</p>
<p><a href="#page" class="back-to-top">Back to top</a></p>
</footer>
</div>
<div class="cookie-notice" role="dialog" aria-label="Cookie notice">
<p>We use cookies to understand how our site is used and to show you relevant adverts.
<a href="/about/#privacy">Find out more</a></p>
<button type="button" class="cookie-accept">Accept all</button></div>"""


def _document(site: _Site, head: str, main: str, body_class: str,
              current: str | None = None) -> str:
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
{head}
</head>
<body class="{body_class}">
{_header(site, current)}
<div id="content" class="site-content">
<main id="main" class="site-main">
{main}
</main>
{_sidebar(site)}
</div>
{_footer(site)}
</body>
</html>
"""


# --- article pages -------------------------------------------------------------------------


def _share_bar(site: _Site, story: Story) -> str:
    url = quote(site.url(story.path), safe="")
    text = quote(story.headline, safe="")
    links = [
        ("facebook", "Facebook", f"https://www.facebook.com/sharer/sharer.php?u={url}"),
        ("x", "X", f"https://x.com/intent/post?url={url}&text={text}"),
        ("whatsapp", "WhatsApp", f"https://wa.me/?text={text}%20{url}"),
        ("email", "Email", f"mailto:?subject={text}&body={url}"),
    ]
    items = "".join(f'<li><a class="share-{key}" href="{_a(href)}" rel="noopener" '
                    f'target="_blank">{name}</a></li>' for key, name, href in links)
    return (f'<div class="share-bar"><span class="share-label">Share this article</span>'
            f'<ul class="share-links">{items}</ul></div>')


def _article_header(site: _Site, story: Story) -> str:
    published = story.published_at
    standfirst = (f'<p class="standfirst">{_t(story.standfirst)}</p>'
                  if story.standfirst else "")
    return f"""<header class="entry-header">
<span class="cat-links">
<a href="/{story.section}/" rel="category tag">{_label(story.section)}</a></span>
<h1 class="entry-title">{_t(story.headline)}</h1>
{standfirst}
<div class="entry-meta">
<span class="byline">By <span class="author vcard">{_t(story.author)}</span></span>
<span class="posted-on"><time class="entry-date published" datetime="{story.published}">
{_day(published)}, {published:%H:%M}</time></span>
</div>
{_share_bar(site, story)}
</header>"""


def _article_body(story: Story) -> str:
    paragraphs = [f"<p>{_t(p)}</p>" for p in story.paragraphs]
    # CMSs inject an ad slot a few paragraphs in; it is part of the body container
    paragraphs.insert(3, '<div class="ad-slot ad-inarticle"><span class="ad-label">Advertisement'
                         '</span><div class="ad-placeholder" data-slot="inarticle-1"></div></div>')
    return '<div class="entry-content article-body">\n' + "\n".join(paragraphs) + "\n</div>"


def _support_boxes(site: _Site) -> str:
    brand = site.brand
    return f"""<div class="support-box coop-pitch">
<h3>OWNED BY OUR READERS</h3>
<p>{_t(site.name)} is a reader-owned co-operative: no billionaire, no hedge fund. You can own a
piece of the paper too by buying shares in the {_t(brand.society)}.</p>
<p><a class="button" href="/about/#shares">Become a supporter</a></p>
</div>
<div class="fighting-fund widget">
<h3>Fighting fund</h3>
<div class="ff-row"><span class="ff-label">You've Raised:</span>
<span class="ff-amount">£ {brand.raised:,}</span></div>
<div class="ff-row"><span class="ff-label">We need:</span>
<span class="ff-amount">£ {brand.needed:,}</span></div>
<div class="ff-days">{brand.days_left} Days remaining</div>
<a class="button donate" href="/about/#support">Donate today</a>
</div>"""


def _tag_links(story: Story) -> str:
    if not story.tags:
        return ""
    links = ", ".join(f'<a href="/tag/{tag}/" rel="tag">{_t(tag)}</a>' for tag in story.tags)
    return f'<footer class="entry-footer"><span class="tags-links">Topics: {links}</span></footer>'


def _newsletter(site: _Site) -> str:
    return f"""<section class="newsletter-signup">
<h2>Sign up for our newsletter</h2>
<p>The day's top stories from {_t(site.brand.town)}, in your inbox every morning.</p>
<form action="/newsletter/subscribe/" method="post"><input type="email" name="email"
placeholder="Your email address" required><button type="submit">Subscribe</button></form>
</section>"""


def _related(site: _Site, story: Story) -> str:
    others = [s for s in site.stories if s.slug != story.slug]
    others.sort(key=lambda s: (s.section != story.section, -s.published_at.timestamp()))
    items = "".join(f'<li><a href="{s.path}">{_t(s.headline)}</a></li>' for s in others[:3])
    return (f'<section class="related-posts"><h2 class="related-title">Related stories</h2>'
            f'<ul>{items}</ul></section>')


def _comments(story: Story) -> str:
    seed = zlib.crc32(story.slug.encode())
    count = 2 + seed % 2
    picks = [COMMENTS[(seed + i) % len(COMMENTS)] for i in range(count)]
    items = "".join(
        f'<li class="comment" id="comment-{seed % 9000 + i}"><div class="comment-author vcard">'
        f'<b class="fn">{_t(name)}</b></div><div class="comment-content"><p>{_t(text)}</p></div>'
        '<div class="reply"><a class="comment-reply-link" href="#respond">Reply</a></div></li>'
        for i, (name, text) in enumerate(picks))
    return f"""<section id="comments" class="comments-area">
<h2 class="comments-title">Reader comments ({count})</h2>
<ol class="comment-list">{items}</ol>
<div id="respond" class="comment-respond"><h3 class="comment-reply-title">Leave a comment</h3>
<form action="/comments/post/" method="post" class="comment-form">
<textarea name="comment" rows="5" required></textarea>
<button type="submit">Post comment</button></form></div>
</section>"""


def _article_jsonld(site: _Site, story: Story) -> str:
    url = site.url(story.path)
    return _json_ld({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "url": url,
        "headline": story.headline,
        "description": _summary(story),
        "datePublished": story.published,
        "dateModified": story.published,
        "articleSection": _label(story.section),
        "author": [{"@type": "Person", "name": story.author}],
        "publisher": {"@type": "Organization", "name": site.name,
                      "logo": {"@type": "ImageObject", "url": site.url("/logo.png")}},
    })


def _article_head(site: _Site, story: Story) -> str:
    extra = [
        f'<meta name="author" content="{_a(story.author)}">',
        f'<meta property="article:published_time" content="{story.published}">',
        f'<meta property="article:section" content="{_label(story.section)}">',
        *(f'<meta property="article:tag" content="{_a(tag)}">' for tag in story.tags),
        _article_jsonld(site, story),
    ]
    return _head(site, f"{story.headline} | {site.name}", site.url(story.path), _summary(story),
                 "article", extra)


def _article_page(site: _Site, story: Story) -> Page:
    crumbs = (f'<nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/">Home</a> › '
              f'<a href="/{story.section}/">{_label(story.section)}</a> › '
              f'<span class="current">{_t(story.headline)}</span></nav>')
    post_id = _post_id(site, story)
    main = f"""{crumbs}
<article id="post-{post_id}" class="post-{post_id} post type-post status-publish hentry">
{_article_header(site, story)}
{_article_body(story)}
{_support_boxes(site)}
{_tag_links(story)}
</article>
{_newsletter(site)}
{_related(site, story)}
{_comments(story)}"""
    body_class = f"post-template-default single single-post postid-{post_id}"
    doc = _document(site, _article_head(site, story), main, body_class, story.section)
    headers = {"Cache-Control": "max-age=300", "Last-Modified": _http_date(story.published_at)}
    return _html_page(doc, headers=headers)


# --- listing pages -------------------------------------------------------------------------


def _teaser(story: Story, lead: bool = False) -> str:
    level = "h2" if lead else "h3"
    kind = "teaser teaser--lead" if lead else "teaser"
    when = f'<time datetime="{story.published}">{_day(story.published_at)}</time>'
    return (f'<article class="{kind}"><{level} class="teaser-title"><a href="{story.path}">'
            f"{_t(story.headline)}</a></{level}>"
            f'<p class="teaser-summary">{_t(_summary(story))}</p>'
            f'<p class="teaser-meta">By {_t(story.author)} · {when}</p></article>')


def _listing_head(site: _Site, title: str, path: str, description: str,
                  extra: Sequence[str] = ()) -> str:
    return _head(site, f"{title} | {site.name}", site.url(path), description, "website", extra)


def _home_page(site: _Site) -> Page:
    lead, *rest = site.stories
    blocks = []
    for section in SECTIONS[site.key]:
        stories = [s for s in rest if s.section == section][:PAGE_SIZE]
        teasers = "".join(_teaser(s) for s in stories)
        blocks.append(f'<section class="section-block section-{section}"><h2 class="section-'
                      f'heading"><a href="/{section}/">{_label(section)}</a></h2>{teasers}'
                      f'<p class="more"><a href="/{section}/">More {section}</a></p></section>')
    main = f'<section class="lead-story">{_teaser(lead, lead=True)}</section>\n' + "\n".join(blocks)
    website = _json_ld({
        "@context": "https://schema.org", "@type": "WebSite", "name": site.name,
        "url": site.url("/"),
        "potentialAction": {"@type": "SearchAction",
                            "target": site.url("/search/?q={search_term_string}"),
                            "query-input": "required name=search_term_string"},
    })
    head = _head(site, f"{site.name} | {site.brand.tagline}", site.url("/"), site.brand.tagline,
                 "website", [website])
    return _html_page(_document(site, head, main, "home blog"))


def _page_path(path: str, page: int) -> str:
    return path if page == 1 else f"{path}page/{page}/"


def _pagination(site: _Site, path: str, page: int, pages: int) -> tuple[str, list[str]]:
    """Visible pager plus the matching <link rel=prev/next> head entries."""
    links, head = [], []
    if page > 1:
        prev = _page_path(path, page - 1)
        links.append(f'<a class="prev page-numbers" href="{prev}">Previous page</a>')
        head.append(f'<link rel="prev" href="{site.url(prev)}">')
    links.append(f'<span class="page-count">Page {page} of {pages}</span>')
    if page < pages:
        following = _page_path(path, page + 1)
        links.append(f'<a class="next page-numbers" href="{following}">Next page</a>')
        head.append(f'<link rel="next" href="{site.url(following)}">')
    return f'<nav class="pagination" aria-label="Pages">{" ".join(links)}</nav>', head


def _listing_pages(site: _Site, path: str, title: str, description: str,
                   stories: list[Story], current: str | None) -> dict[str, Page]:
    pages: dict[str, Page] = {}
    total = max(1, -(-len(stories) // PAGE_SIZE))
    for page in range(1, total + 1):
        page_path = _page_path(path, page)
        chunk = stories[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        pager, links = _pagination(site, path, page, total)
        main = (f'<header class="page-header"><h1 class="page-title">{_t(title)}</h1></header>\n'
                + "\n".join(_teaser(s) for s in chunk) + "\n" + pager)
        page_title = title if page == 1 else f"{title}, page {page}"
        head = _listing_head(site, page_title, page_path, description, links)
        doc = _document(site, head, main, "archive category", current)
        pages[page_path] = _html_page(doc)
    return pages


def _section_pages(site: _Site, section: str) -> dict[str, Page]:
    description = f"The latest {section} from {site.name}."
    return _listing_pages(site, f"/{section}/", _label(section), description,
                          site.in_section(section), section)


def _tag_pages(site: _Site, tag: str) -> dict[str, Page]:
    stories = [s for s in site.stories if tag in s.tags]
    description = f"Stories tagged {tag} from {site.name}."
    return _listing_pages(site, f"/tag/{tag}/", f"Topic: {tag}", description, stories, None)


def _about_page(site: _Site) -> Page:
    brand = site.brand
    main = f"""<article class="page type-page">
<header class="entry-header"><h1 class="entry-title">About us</h1></header>
<div class="entry-content">
<p>{_t(site.name)} has covered {_t(brand.town)} since {brand.founded}. It is published by the
{_t(brand.society)}, a co-operative owned by several thousand readers.</p>
<h2 id="shares">Buying shares</h2><p>Shares cost £1 each, with a minimum holding of £25.</p>
<h2 id="support">Supporting our journalism</h2><p>Donations to the fighting fund pay for our
reporters and the printing of the paper.</p>
<h2 id="subscribe">Subscriptions</h2><p>Print and digital subscriptions start at £4 a month.</p>
<h2 id="e-edition">e-Edition</h2><p>Subscribers can read a digital replica of every edition.</p>
<h2 id="contact">Contact</h2><p>Newsdesk: news@example.invalid. Letters are welcome.</p>
<h2 id="advertise">Advertising</h2><p>Rates are available on request.</p>
<h2 id="privacy">Privacy</h2><p>We keep the data you give us only as long as we need it.</p>
</div></article>"""
    head = _listing_head(site, "About us", "/about/", f"About {site.name}.")
    return _html_page(_document(site, head, main, "page about"))


def _search_page(site: _Site) -> Page:
    main = """<header class="page-header"><h1 class="page-title">Search</h1></header>
<form role="search" method="get" action="/search/"><input type="search" name="q">
<button type="submit">Search</button></form>
<p class="no-results">Enter a word or phrase to search the archive.</p>"""
    head = _listing_head(site, "Search", "/search/", f"Search {site.name}.",
                         ['<meta name="robots" content="noindex, follow">'])
    return _html_page(_document(site, head, main, "search"))


def not_found_page(site: str, base_url: str) -> Page:
    """The site's HTML 404 page, served for every unknown path."""
    ctx = _site(site, base_url)
    main = """<section class="error-404 not-found">
<header class="page-header"><h1 class="page-title">Page not found</h1></header>
<p>Sorry, we could not find that page. It may have moved, or the link may be wrong.</p>
<p><a href="/">Go to the home page</a></p></section>"""
    head = _head(ctx, f"Page not found | {ctx.name}", None, "Page not found.", "website",
                 ['<meta name="robots" content="noindex">'])
    return _html_page(_document(ctx, head, main, "error404"), 404, {"Cache-Control": "no-cache"})


# --- feeds, sitemaps, robots ---------------------------------------------------------------


def _rss(site: _Site) -> Page:
    items = "".join(f"""
<item>
<title>{_t(s.headline)}</title>
<link>{site.url(s.path)}</link>
<guid isPermaLink="true">{site.url(s.path)}</guid>
<pubDate>{format_datetime(s.published_at)}</pubDate>
<dc:creator>{_t(s.author)}</dc:creator>
<category>{_label(s.section)}</category>
<description>{_t(_summary(s))}</description>
</item>""" for s in site.stories)
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>{_t(site.name)}</title>
<link>{site.url("/")}</link>
<description>{_t(site.brand.tagline)}</description>
<language>en-gb</language>
<lastBuildDate>{format_datetime(site.updated)}</lastBuildDate>
<atom:link href="{site.url("/feed.xml")}" rel="self" type="application/rss+xml"/>{items}
</channel>
</rss>
"""
    return Page(200, RSS_TYPE, body.encode("utf-8"), {"Cache-Control": "max-age=300"})


def _xml(body: str) -> Page:
    return Page(200, XML_TYPE, ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8"),
                {"Cache-Control": "max-age=300"})


def _sitemap_index(site: _Site) -> Page:
    entries = "".join(f"\n<sitemap><loc>{site.url(path)}</loc><lastmod>{site.updated.isoformat()}"
                      "</lastmod></sitemap>"
                      for path in ("/sitemap-articles.xml", "/sitemap-news.xml"))
    return _xml('<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"{entries}\n</sitemapindex>\n")


def _sitemap_articles(site: _Site) -> Page:
    entries = "".join(f"\n<url><loc>{site.url(s.path)}</loc><lastmod>{s.published}</lastmod>"
                      "</url>" for s in site.stories)
    return _xml(f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}\n'
                "</urlset>\n")


def _sitemap_news(site: _Site) -> Page:
    entries = "".join(f"""
<url><loc>{site.url(s.path)}</loc><news:news><news:publication><news:name>{_t(site.name)}
</news:name><news:language>en</news:language></news:publication>
<news:publication_date>{s.published}</news:publication_date>
<news:title>{_t(s.headline)}</news:title></news:news></url>""" for s in site.stories)
    return _xml('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{entries}\n'
                "</urlset>\n")


def _robots(site: _Site) -> Page:
    body = f"""User-agent: *
Disallow: /search/
Disallow: /newsletter/
Disallow: /comments/

Sitemap: {site.url("/sitemap-index.xml")}
"""
    return Page(200, TEXT_TYPE, body.encode("utf-8"), {"Cache-Control": "max-age=3600"})


# --- public API ----------------------------------------------------------------------------


def build_site(site: str, base_url: str) -> dict[str, Page]:
    """Every page of one demo site, keyed by URL path; absolute URLs start with base_url."""
    ctx = _site(site, base_url)
    pages: dict[str, Page] = {"/": _home_page(ctx)}
    for section in SECTIONS[site]:
        pages.update(_section_pages(ctx, section))
    for story in ctx.stories:
        pages[story.path] = _article_page(ctx, story)
    for tag in ctx.tags:
        pages.update(_tag_pages(ctx, tag))
    pages["/about/"] = _about_page(ctx)
    pages["/search/"] = _search_page(ctx)
    pages["/feed.xml"] = _rss(ctx)
    pages["/robots.txt"] = _robots(ctx)
    pages["/sitemap-index.xml"] = _sitemap_index(ctx)
    pages["/sitemap-articles.xml"] = _sitemap_articles(ctx)
    pages["/sitemap-news.xml"] = _sitemap_news(ctx)
    return pages


def article_urls(site: str, base_url: str) -> list[str]:
    """Absolute URLs of the site's article pages, newest first (what a crawl should archive)."""
    ctx = _site(site, base_url)
    return [ctx.url(story.path) for story in ctx.stories]


def resolve(pages: dict[str, Page], not_found: Page, target: str) -> Page:
    """The response for a request target, with the lenience of a typical news CMS."""
    if target in pages:
        return pages[target]
    path = target.split("?", 1)[0]
    # unknown query strings (utm_*, fbclid, ...) are ignored, as most CMSs do
    if path in pages:
        return pages[path]
    if not path.endswith("/") and path + "/" in pages:
        return Page(301, HTML_TYPE, b"", {"Location": path + "/"})
    return not_found


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    pages: dict[str, Page]
    not_found: Page
    verbose: bool = False


class _Handler(BaseHTTPRequestHandler):
    server: _SiteServer
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return "demo-news/1.0"

    def do_GET(self) -> None:
        self._respond(with_body=True)

    def do_HEAD(self) -> None:
        self._respond(with_body=False)

    def _respond(self, with_body: bool) -> None:
        page = resolve(self.server.pages, self.server.not_found, self.path)
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        for name, value in page.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(page.body)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


@dataclass
class DemoServer:
    """Running demo sites; `base_urls` maps each site to the URL it is actually served on."""

    base_urls: dict[str, str]
    _servers: list[tuple[_SiteServer, threading.Thread]]

    def stop(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers.clear()

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _start(site: str, host: str, port: int, verbose: bool) -> tuple[str, _SiteServer]:
    server = _SiteServer((host, port), _Handler)
    # bind first so port 0 works: the pages need the real port in their absolute URLs
    base_url = f"http://{host}:{server.server_address[1]}"
    server.pages = build_site(site, base_url)
    server.not_found = not_found_page(site, base_url)
    server.verbose = verbose
    return base_url, server


def serve(sites: dict[str, tuple[str, int]], verbose: bool = False) -> DemoServer:
    """Serve each site on its (host, port) from daemon threads; port 0 picks a free port."""
    demo = DemoServer({}, [])
    try:
        for site, (host, port) in sites.items():
            base_url, server = _start(site, host, port, verbose)
            thread = threading.Thread(target=server.serve_forever, name=f"demo-{site}",
                                      daemon=True)
            thread.start()
            demo.base_urls[site] = base_url
            demo._servers.append((server, thread))
    except BaseException:
        demo.stop()
        raise
    return demo


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the demo news sites for browsing.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8741,
                        help="harbourtown's port; valleycourier gets the next one")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    sites = {"harbourtown": (args.host, args.port), "valleycourier": (args.host, args.port + 1)}
    demo = serve(sites, verbose=not args.quiet)
    for site, url in demo.base_urls.items():
        print(f"{PUBLICATIONS[site]}: {url}/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
