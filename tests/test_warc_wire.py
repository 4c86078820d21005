"""The WARC records what crossed the wire: the response headers as the server sent them (the
transfer framing disarmed, no length made up) and the request headers as sent, Host included.

A raw-socket loopback server (``tests/hostileweb.py``) writes every header line itself, so the
test knows byte for byte what was sent, and sees what the crawler sent back.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from scrapy.http import Request, Response
from warcio.archiveiterator import ArchiveIterator

from archive.local import LocalStorage
from crawler.wire import wire_headers
from tests.crawlrun import read_records, run_cli
from tests.hostileweb import Exchange, HostileWeb, article_html, story

DAY = "/news/2026/05/02/"
CHUNKED = f"{DAY}harbour-wall-story-sent-chunked-and-gzipped.html"
PLAIN = f"{DAY}library-story-sent-with-its-own-length.html"
CHUNKED_PAGE = article_html("Harbour wall approved", story("the harbour wall")).encode()
PLAIN_PAGE = article_html("Library hours extended", story("the library hours")).encode()
# the header lines as the server writes them: spelling and order that Twisted would change
CHUNKED_HEAD = [("content-type", "text/html; charset=utf-8"), ("X-Request-ID", "abc-1"),
                ("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip"),
                ("Vary", "Accept-Encoding"), ("Connection", "close")]
# a 204: Scrapy gives it a Content-Length of 0 that the server never sent
EMPTY = f"{DAY}story-answered-with-no-content.html"
EMPTY_HEAD = [("Connection", "close"), ("Cache-Control", "no-store")]
# a 304 naming its representation's length: no body follows it, so a replayed record must
# not promise one
NOT_MODIFIED = f"{DAY}story-answered-not-modified.html"
NOT_MODIFIED_HEAD = [("ETag", '"v7"'), ("Content-Length", "1234"), ("Connection", "close")]
PLAIN_HEAD = [("Content-Length", str(len(PLAIN_PAGE))), ("Connection", "close"),
              ("Content-Type", "text/html; charset=utf-8"), ("ETag", '"v1"')]


def _chunked(body: bytes, size: int = 200) -> bytes:
    """``body`` in chunked transfer coding, in several chunks."""
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def _answer(head: list[tuple[str, str]], wire_body: bytes, heads: list[bytes],
            status: str = "200 OK") -> Callable[[Exchange], None]:
    """A route that keeps the request head it received and answers with exactly ``head``."""
    def handle(ex: Exchange) -> None:
        heads.append(ex.head)
        ex.send_head([f"HTTP/1.1 {status}"] + [f"{name}: {value}" for name, value in head])
        ex.conn.sendall(wire_body)
    return handle


@pytest.fixture
def web() -> Iterator[HostileWeb]:
    with HostileWeb() as server:
        server.gzipped = gzip.compress(CHUNKED_PAGE, mtime=0)
        server.heads = {CHUNKED: [], PLAIN: [], EMPTY: [], NOT_MODIFIED: []}
        server.routes[CHUNKED] = _answer(CHUNKED_HEAD, _chunked(server.gzipped),
                                         server.heads[CHUNKED])
        server.routes[PLAIN] = _answer(PLAIN_HEAD, PLAIN_PAGE, server.heads[PLAIN])
        server.routes[EMPTY] = _answer(EMPTY_HEAD, b"", server.heads[EMPTY], "204 No Content")
        server.routes[NOT_MODIFIED] = _answer(NOT_MODIFIED_HEAD, b"", server.heads[NOT_MODIFIED],
                                              "304 Not Modified")
        server.routes["/robots.txt"] = lambda ex: ex.send(b"User-agent: *\n", "text/plain")
        yield server


def _crawl(web: HostileWeb, root: Path) -> Path:
    config = root / "news.toml"
    config.write_text("\n".join([
        "[archive]", f'uri = "{root / "archive"}"', f'spool_dir = "{root / "spool"}"', "",
        "[crawl]", "allow_private_networks = true", "download_delay = 0",
        "extract_workers = 1", "", "[[sites]]", 'name = "wire"',
        f"start_urls = {json.dumps([web.url(p) for p in (CHUNKED, PLAIN, EMPTY, NOT_MODIFIED)])}",
        "follow_depth = 0", ""]))
    result = run_cli("crawl", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    return config


def _records_by_url(root: Path) -> dict[str, dict]:
    """(response, request) WARC records of each fetched URL."""
    out: dict[str, dict] = {}
    for path in (root / "archive" / "raw").rglob("*.warc.gz"):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type in ("response", "request"):
                    url = record.rec_headers.get_header("WARC-Target-URI")
                    out.setdefault(url, {})[record.rec_type] = (
                        record.http_headers.headers, record.raw_stream.read())
    return out


def _head_lines(head: bytes) -> list[tuple[str, str]]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(name, value.strip()) for name, value in (line.split(":", 1) for line in lines)]


def _assert_valid_and_readable(root: Path, web: HostileWeb) -> None:
    """warcio checks every digest, and reads the stored bytes back as the pages (decoded once,
    never de-chunked a second time)."""
    [warc] = (root / "archive" / "raw").rglob("*.warc.gz")
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", str(warc)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout
    with open(warc, "rb") as fh:
        pages = {r.rec_headers.get_header("WARC-Target-URI"): r.content_stream().read()
                 for r in ArchiveIterator(fh) if r.rec_type == "response"}
    assert pages[web.url(CHUNKED)] == CHUNKED_PAGE
    assert pages[web.url(PLAIN)] == PLAIN_PAGE


def _assert_replay_gives_the_same_records(root: Path, config: Path) -> None:
    storage = LocalStorage(root / "archive")
    before = read_records(storage)
    assert len(before) == 2
    [day] = {r["fetched_at"][:10] for r in before}
    replay = run_cli("replay", "--date", day, "--config", str(config))
    assert replay.returncode == 0, replay.stdout + replay.stderr

    def essence(records: list[dict]) -> set[tuple]:
        return {(r["url"], r["content_hash"], r["title"], r["text"]) for r in records}
    assert essence(read_records(storage)) == essence(before)


def test_chunked_gzipped_response_is_recorded_as_received(web: HostileWeb,
                                                          tmp_path: Path) -> None:
    config = _crawl(web, tmp_path)
    records = _records_by_url(tmp_path)
    headers, body = records[web.url(CHUNKED)]["response"]
    # every line as sent, in order; only the framing is disarmed, as the body is de-chunked
    assert headers == [("X-Archive-Orig-Transfer-Encoding" if name == "Transfer-Encoding"
                        else name, value) for name, value in CHUNKED_HEAD]
    assert not [name for name, _ in headers if name.lower() == "content-length"]
    assert body == web.gzipped  # the content-encoded bytes, not decompressed

    headers, body = records[web.url(PLAIN)]["response"]
    assert headers == PLAIN_HEAD  # its own Content-Length, exactly, where the server put it
    assert body == PLAIN_PAGE
    assert records[web.url(EMPTY)]["response"] == (EMPTY_HEAD, b"")  # no Content-Length: 0
    headers, body = records[web.url(NOT_MODIFIED)]["response"]
    assert headers == [("X-Archive-Orig-Content-Length" if name == "Content-Length" else name,
                        value) for name, value in NOT_MODIFIED_HEAD] and body == b""

    # the request records show the headers the server received, Host included
    for path in (CHUNKED, PLAIN, EMPTY):
        [head] = web.heads[path]
        request_headers, _ = records[web.url(path)]["request"]
        assert request_headers == _head_lines(head)
        assert ("Host", f"127.0.0.1:{web.port}") in request_headers

    # and the records stay valid WARC that replays to the same article records
    _assert_valid_and_readable(tmp_path, web)
    _assert_replay_gives_the_same_records(tmp_path, config)


@pytest.mark.parametrize(("url", "host"), [
    ("http://127.0.0.1:8080/a", "127.0.0.1:8080"), ("http://news.example:80/a", "news.example"),
    ("https://news.example/a", "news.example"), ("https://news.example:8443/a#f",
                                                "news.example:8443"),
    ("http://[::1]:8080/a", "[::1]:8080"), ("http://[::1]/a", "[::1]")])
def test_response_from_another_handler_records_the_host_twisted_sends(url: str,
                                                                      host: str) -> None:
    """A response that did not come through the wire-keeping handler (a cache, a handler set
    in DOWNLOAD_HANDLERS) has only Scrapy's view, whose request headers lack the Host."""
    request = Request(url, headers={"User-Agent": "t"})
    wire = wire_headers(request, Response(url, status=200, headers={"Content-Type": "text/html"},
                                          request=request))
    assert wire.request == [(b"User-Agent", b"t"), (b"Host", host.encode())]
    assert wire.response == [(b"Content-Type", b"text/html")]
