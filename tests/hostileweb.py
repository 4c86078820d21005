"""A hostile web server on loopback: a raw-socket HTTP/1.1 server whose routes misbehave.

Unlike ``fixtureweb`` (a well-behaved news web on ``testkit.fakeweb``), each route here writes
its own bytes to the socket, so it can stall, drip, reset the connection, lie about its
length or type, or stream 50 MB. Every connection is counted and every request logged, so tests
can assert what reached the server. Every loop is bounded in time: handlers stop at the
server's shutdown or after ``MAX_HANDLER_SECONDS``.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from archive.local import LocalStorage
from tests.crawlrun import warc_response

CORPUS = Path(__file__).parent / "hostile"
MAX_HANDLER_SECONDS = 30.0
MAX_HEAD_BYTES = 64 * 1024

Handler = Callable[["Exchange"], None]


@dataclass(frozen=True)
class Hit:
    """A request the server received: when (monotonic), on which host, which path."""

    at: float
    host: str
    path: str


class Exchange:
    """One request on one connection, with helpers to answer it (well or badly)."""

    def __init__(self, web: HostileWeb, conn: socket.socket, host: str, path: str,
                 head: bytes = b"") -> None:
        self.web = web
        self.conn = conn
        self.host = host
        self.path = path
        self.head = head  # the request line and header lines, as received

    def send(self, body: bytes, content_type: str = "text/html; charset=utf-8",
             status: str = "200 OK", headers: tuple[tuple[str, str], ...] = ()) -> None:
        head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
        if content_type:
            head.append(f"Content-Type: {content_type}")
        head += [f"{name}: {value}" for name, value in headers]
        self.conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def send_head(self, lines: list[str]) -> None:
        self.conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def wait(self, seconds: float) -> bool:
        """Sleep, bounded; False once the server is stopping."""
        return not self.web.stopping.wait(min(seconds, MAX_HANDLER_SECONDS))

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN (SO_LINGER 0)."""
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.conn.close()


class HostileWeb:
    """``with HostileWeb() as web:`` serves ``web.routes`` on 127.0.0.1 and 127.0.0.2."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.default: Handler | None = None
        self.hits: list[Hit] = []
        self.connections = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        # loopback only: 127.0.0.1 and 127.0.0.2 on one port (two sites, two host names)
        first = socket.create_server(("127.0.0.1", 0))
        self.port = first.getsockname()[1]
        self._socks = [first, socket.create_server(("127.0.0.2", self.port))]
        for sock in self._socks:
            sock.settimeout(0.2)
        self._threads: list[threading.Thread] = []

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def paths(self, host: str | None = None) -> list[str]:
        return [h.path for h in self.hits if host is None or h.host == host]

    def __enter__(self) -> HostileWeb:
        for sock in self._socks:
            thread = threading.Thread(target=self._accept, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        for sock in self._socks:
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(MAX_HANDLER_SECONDS)
            head = _read_head(conn)
            if head is None:
                return
            host, path = _request_target(head, conn.getsockname()[0])
            with self._lock:
                self.hits.append(Hit(time.monotonic(), host, path))
            handler = self.routes.get(path) or self.default
            exchange = Exchange(self, conn, host, path, head)
            if handler is None:
                exchange.send(b"not here", "text/plain", "404 Not Found")
            else:
                handler(exchange)
        except OSError:
            pass  # the client gave up (timeouts, size limits): exactly what is being tested
        finally:
            conn.close()


def _read_head(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk or len(data) > MAX_HEAD_BYTES:
            return None
        data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def _request_target(head: bytes, local: str) -> tuple[str, str]:
    """(host the client dialled, decoded path with query)."""
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    target = request_line.split(" ")[1] if " " in request_line else "/"
    parts = urlsplit(target)
    path = unquote(parts.path) + (f"?{parts.query}" if parts.query else "")
    return local, path


# ---------------------------------------------------------------- content, built at test time


def article_html(title: str, paragraphs: list[str], charset: str | None = "utf-8",
                 extra_head: str = "") -> str:
    """A plain news article page that trafilatura extracts reliably."""
    meta = f'<meta charset="{charset}">' if charset else ""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html lang=\"en\"><head>{meta}<title>{title}</title>"
            f'<meta property="og:type" content="article">{extra_head}</head><body>'
            f"<header><nav><a href=\"/\">Home</a></nav></header><main><article>"
            f"<h1>{title}</h1>\n{body}\n</article></main><footer>The Hostile Gazette"
            f"</footer></body></html>")


def story(topic: str) -> list[str]:
    """Three paragraphs of plain prose about ``topic``, long enough to be an article."""
    return [
        f"The council met on Tuesday evening to discuss {topic}, and the debate ran late into "
        "the night as residents filled the public gallery of the old town hall.",
        f"Supporters said that {topic} had been promised for years and that the delay had "
        "already cost local families time and money they could not spare this winter.",
        "Opponents asked for a further study before any money is spent, and the chair agreed "
        "to publish the figures within a month so that everyone can read them in full.",
    ]


def gzip_bomb(total_gib: int = 2) -> bytes:
    """A gzip body that inflates to ``total_gib`` GiB of zeros: 64 MiB members, repeated
    (a few MB on the wire, built in well under a second)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    member = compressor.compress(bytes(64 * 1024 * 1024)) + compressor.flush()
    return member * (total_gib * 16)


def stream(exchange: Exchange, total: int, chunk: bytes, content_length: bool) -> None:
    """Answers with ``total`` bytes of ``chunk`` repeated, never holding them in memory."""
    head = ["HTTP/1.1 200 OK", "Content-Type: text/html; charset=utf-8", "Connection: close"]
    if content_length:
        head.append(f"Content-Length: {total}")
    exchange.send_head(head)
    exchange.conn.sendall(b"<!DOCTYPE html><html><body><p>")
    sent, deadline = 0, time.monotonic() + MAX_HANDLER_SECONDS
    while sent < total and time.monotonic() < deadline and not exchange.web.stopping.is_set():
        exchange.conn.sendall(chunk)
        sent += len(chunk)


def assert_archive_complete(root: Path, records: list[dict]) -> None:
    """After a crawl into ``root/archive`` with spool ``root/spool``: every record points at
    its own response in a complete WARC, and no temp file or unstored spool file is left."""
    storage = LocalStorage(root / "archive")
    for record in records:
        uri, _ = warc_response(storage, record["warc_filename"], record["warc_offset"],
                               record["warc_length"])
        assert uri == record["url"]
    leftovers = list((root / "archive" / ".tmp").glob("*"))
    for spooled in ("*/open/*", "*/ready/*"):
        leftovers += [p for p in (root / "spool").glob(spooled) if not p.name.endswith(".lock")]
    assert leftovers == []
