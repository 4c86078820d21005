"""A large loopback news web built at run time from the eval pages, served by asyncio.

Each site has a home page, paginated sections, an RSS feed, a sitemap and robots.txt; each
article URL serves one of the eval pages with a unique sentence inserted into its longest
body paragraph, so every article's extracted text differs (and so gets its own record and its
own dedup entry). Every ``dup_every``-th article repeats the previous article's sentence under a
new URL: an exact duplicate the dedup stage must drop.
"""

from __future__ import annotations

import asyncio
import re
import struct
import threading
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cached_property
from pathlib import Path

from pipelines.extraction import extract_article

EVAL_PAGES = Path("/work/shared/eval/pages")
ARTICLE_RE = r"/news/\d{4}/\d{2}/\d{2}/story-\d+\.html$"
SECTIONS = ("world", "politics", "business", "culture")
PER_SECTION_PAGE = 50
_P_OPEN = re.compile(rb"<p(?:\s[^>]*)?>", re.IGNORECASE)
_P_CLOSE = re.compile(rb"</p\s*>", re.IGNORECASE)
_TRIES = 6
_HEAD = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)
OFFSITE_BASE = b'<base href="http://offsite.invalid/">'


@dataclass(frozen=True)
class Template:
    """An eval page split where the marker sentence goes."""

    name: str
    head: bytes
    tail: bytes

    def render(self, marker: str) -> bytes:
        return self.head + marker.encode() + self.tail

    @cached_property
    def gzip_parts(self) -> tuple[bytes, bytes, int]:
        """``head`` and ``tail`` deflated once each, and the CRC-32 of ``head``. A page goes out
        as one gzip member: header, head's deflate data ending in a full flush (byte-aligned,
        no back-references across it), the marker's, tail's with the final block, trailer. So
        gzip costs the server a CRC per request, and every reader (warcio too, which reads only
        a body's first gzip member) sees an ordinary single-member body."""
        return _deflated(self.head, final=False), _deflated(self.tail, final=True), \
            zlib.crc32(self.head)

    def render_gzip(self, marker: str) -> bytes:
        head, tail, crc = self.gzip_parts
        text = marker.encode()
        crc = zlib.crc32(self.tail, zlib.crc32(text, crc))
        size = len(self.head) + len(text) + len(self.tail)
        return (_GZIP_HEADER + head + _deflated(text, final=False) + tail
                + struct.pack("<II", crc, size & 0xFFFFFFFF))


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime


def _deflated(data: bytes, final: bool) -> bytes:
    """Raw deflate data of ``data``: ending the stream, or a full flush that later data can
    follow from another compressor (it starts with an empty dictionary either way)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final
                                                        else zlib.Z_FULL_FLUSH)


def marker_for(site: int, n: int) -> str:
    return f"Benchmark reference zq{site}x{n:07d} is filed here. "


def _paragraph_starts(page: bytes) -> list[int]:
    """Offsets just after each <p> tag, longest paragraph first."""
    spans = []
    for m in _P_OPEN.finditer(page):
        end = _P_CLOSE.search(page, m.end(), m.end() + 20000)
        if end is not None:
            spans.append((end.start() - m.end(), m.end()))
    return [start for _, start in sorted(spans, reverse=True)]


def _offsite_base(page: bytes) -> bytes:
    """Make the page's relative links (its original site's navigation) point off-site."""
    m = _HEAD.search(page)
    at = m.end() if m else 0
    return page[:at] + OFFSITE_BASE + page[at:]


def make_template(path: Path) -> Template | None:
    """Find a paragraph where an inserted sentence reaches the extracted text."""
    page = _offsite_base(path.read_bytes())
    probe = marker_for(9, 9999999)
    for start in _paragraph_starts(page)[:_TRIES]:
        tpl = Template(path.name, page[:start], page[start:])
        result = extract_article(tpl.render(probe), "http://127.0.0.1/news/x.html", "text/html")
        if result is not None and "zq9x9999999" in result.text:
            return tpl
    return None


def load_templates(pages_dir: Path = EVAL_PAGES) -> tuple[list[Template], list[str]]:
    """Templates for the eval pages, and the names of pages no marker could be placed in."""
    templates, rejected = [], []
    for path in sorted(pages_dir.glob("*.html")):
        tpl = make_template(path)
        if tpl is None:
            rejected.append(path.name)
        else:
            templates.append(tpl)
    return templates, rejected


@dataclass
class Site:
    index: int
    articles: int
    templates: list[Template]
    dup_every: int
    port: int = 0
    hubs: dict[str, bytes] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"bench{self.index}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def article_path(self, n: int) -> str:
        day = 1 + n % 28
        return f"/news/2026/11/{day:02d}/story-{n:06d}.html"

    def is_duplicate(self, n: int) -> bool:
        return self.dup_every > 0 and n % self.dup_every == self.dup_every - 1

    def article_template(self, n: int) -> tuple[Template, str]:
        """The page behind article ``n`` and its marker (a duplicate repeats n - 1's)."""
        if self.is_duplicate(n):
            n -= 1
        return (self.templates[(n * 7 + self.index) % len(self.templates)],
                marker_for(self.index, n))

    def article_body(self, n: int) -> bytes:
        tpl, marker = self.article_template(n)
        return tpl.render(marker)

    def article_number(self, path: str) -> int | None:
        m = re.fullmatch(r"/news/2026/11/(\d{2})/story-(\d{6})\.html", path)
        if m is None:
            return None
        n = int(m.group(2))
        return n if n < self.articles and self.article_path(n) == path else None


def _page(title: str, body: str, head: str = "") -> bytes:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
            f"{head}</head><body><h1>{title}</h1>{body}</body></html>").encode()


def _links(site: Site, numbers: range) -> str:
    items = "".join(f'<li><a href="{site.article_path(n)}">Story {n}</a></li>' for n in numbers)
    return f"<ul>{items}</ul>"


def _section_numbers(site: Site, k: int) -> list[int]:
    return list(range(k, site.articles, len(SECTIONS)))


def _section_pages(site: Site) -> dict[str, bytes]:
    pages = {}
    for k, section in enumerate(SECTIONS):
        numbers = _section_numbers(site, k)
        count = max(1, -(-len(numbers) // PER_SECTION_PAGE))
        for p in range(1, count + 1):
            chunk = numbers[(p - 1) * PER_SECTION_PAGE:p * PER_SECTION_PAGE]
            items = "".join(f'<li><a href="{site.article_path(n)}">Story {n}</a></li>'
                            for n in chunk)
            nxt = f"/section/{section}/{p + 1}" if p < count else ""
            head = f'<link rel="next" href="{nxt}">' if nxt else ""
            more = f'<a rel="next" href="{nxt}">Older</a>' if nxt else ""
            pages[f"/section/{section}/{p}"] = _page(f"{section} page {p}",
                                                     f"<ul>{items}</ul>{more}", head)
    return pages


def _home(site: Site) -> bytes:
    nav = "".join(f'<a href="/section/{s}/1">{s}</a> ' for s in SECTIONS)
    latest = range(max(0, site.articles - 20), site.articles)
    return _page(f"{site.name} home", f"<nav>{nav}</nav>{_links(site, latest)}")


def _stamp(site: Site, n: int, now: datetime) -> datetime:
    return now - timedelta(seconds=(site.articles - n) * 30)


def _feed(site: Site, now: datetime) -> bytes:
    items = "".join(
        f"<item><title>Story {n}</title><link>{site.base}{site.article_path(n)}</link>"
        f"<pubDate>{format_datetime(_stamp(site, n, now))}</pubDate></item>"
        for n in range(max(0, site.articles - 100), site.articles))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{site.name}</title><link>{site.base}/</link>{items}</channel></rss>").encode()


def _sitemap(site: Site, now: datetime) -> bytes:
    urls = "".join(
        f"<url><loc>{site.base}{site.article_path(n)}</loc>"
        f"<lastmod>{_stamp(site, n, now).isoformat(timespec='seconds')}</lastmod></url>"
        for n in range(site.articles))
    return ('<?xml version="1.0" encoding="utf-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()


def render_hubs(site: Site) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    robots = f"User-agent: *\nDisallow: /private/\nSitemap: {site.base}/sitemap.xml\n"
    site.hubs = {"/": _home(site), "/feed.xml": _feed(site, now),
                 "/sitemap.xml": _sitemap(site, now), "/robots.txt": robots.encode(),
                 **_section_pages(site)}


_TYPES = {".xml": b"application/xml", ".txt": b"text/plain"}


def _head(status: bytes, ctype: bytes, length: int, gzipped: bool = False) -> bytes:
    encoding = b"\r\nContent-Encoding: gzip\r\nVary: Accept-Encoding" if gzipped else b""
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype + encoding
            + b"\r\nContent-Length: " + str(length).encode()
            + b"\r\nConnection: keep-alive\r\n\r\n")


_ACCEPTS_GZIP = re.compile(rb"\r\naccept-encoding:[^\r]*\bgzip\b", re.IGNORECASE)


class Web:
    """All sites on 127.0.0.1 (one port each), served by one asyncio loop in a thread."""

    def __init__(self, sites: list[Site], gzip_articles: bool = True) -> None:
        self.sites = sites
        # news sites send their pages gzip-encoded to clients that accept it; the crawl then
        # archives (and pays for) the bytes as a real site would send them
        self.gzip_articles = gzip_articles
        self.requests = 0
        self.article_hits = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[asyncio.Server] = []

    def respond(self, site: Site, path: str, accepts_gzip: bool = False) -> tuple[bytes, bytes]:
        self.requests += 1
        path = path.split("?", 1)[0]
        if path in site.hubs:
            ctype = _TYPES.get(path[path.rfind("."):], b"text/html; charset=utf-8")
            body = site.hubs[path]
            return _head(b"200 OK", ctype, len(body)), body
        n = site.article_number(path)
        if n is None:
            return _head(b"404 Not Found", b"text/plain", 9), b"not found"
        self.article_hits += 1
        tpl, marker = site.article_template(n)
        if accepts_gzip and self.gzip_articles:
            body = tpl.render_gzip(marker)
            return _head(b"200 OK", b"text/html", len(body), gzipped=True), body
        body = tpl.render(marker)
        return _head(b"200 OK", b"text/html", len(body)), body

    async def _handle(self, site: Site, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, target = head.split(b" ", 2)[:2]
                status, body = self.respond(site, target.decode("latin-1"),
                                            _ACCEPTS_GZIP.search(head) is not None)
                writer.write(status if method == b"HEAD" else status + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError):
            pass
        finally:
            writer.close()

    async def _start(self) -> None:
        for site in self.sites:
            server = await asyncio.start_server(
                lambda r, w, s=site: self._handle(s, r, w), "127.0.0.1", 0)
            site.port = server.sockets[0].getsockname()[1]
            render_hubs(site)
            if self.gzip_articles:
                for tpl in site.templates:
                    _ = tpl.gzip_parts  # compressed before the clock starts
            self._servers.append(server)

    def start(self) -> Web:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    async def _stop(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()

    def stop(self) -> None:
        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
            except (TimeoutError, RuntimeError):
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> Web:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_sites(templates: list[Template], sites: int, articles: int, dup_every: int) -> list[Site]:
    return [Site(i, articles, templates, dup_every) for i in range(sites)]
