"""A fault-injecting HTTP proxy for S3 tests: it sits between boto3 and SeaweedFS on loopback
and, on a fixed schedule over the requests it sees, answers 500 InternalError or 503 SlowDown
itself, forwards slowly (throttle), or forwards and then stalls past the client's read timeout
before dropping the connection (the server did the work, the client never hears of it: a retry
must be harmless). Deterministic: request n gets ``schedule[n % len(schedule)]``."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

OK, ERROR_500, SLOW_DOWN, THROTTLE, STALL = "ok", "500", "503", "throttle", "stall"
_ERRORS = {ERROR_500: (500, "InternalError", "We encountered an internal error."),
           SLOW_DOWN: (503, "SlowDown", "Please reduce your request rate.")}
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection"}


class FaultProxy:
    """``with FaultProxy(upstream, schedule) as proxy``: point clients at ``proxy.url``."""

    def __init__(self, upstream: str, schedule: list[str], *, stall_seconds: float = 2.0,
                 throttle_seconds: float = 0.3) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.schedule = schedule
        self.stall_seconds = stall_seconds
        self.throttle_seconds = throttle_seconds
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._next = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def action(self) -> str:
        with self._lock:
            chosen = self.schedule[self._next % len(self.schedule)]
            self._next += 1
            self.counts[chosen] += 1
            return chosen

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3 expects
    owner: FaultProxy

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet: the counts say what happened

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(*self.owner.upstream, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
            headers["Content-Length"] = str(len(body))
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        finally:
            upstream.close()

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_HEADERS and name.lower() != "content-length":
                self.send_header(name, value)
        length = dict((k.lower(), v) for k, v in headers).get("content-length", str(len(data)))
        self.send_header("Content-Length", length if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, kind: str) -> None:
        status, code, message = _ERRORS[kind]
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
               f"<Message>{message}</Message></Error>").encode()
        self._reply(status, [("Content-Type", "application/xml")], xml)

    def _handle(self) -> None:
        body = self._body()
        action = self.owner.action()
        if action in _ERRORS:
            self._error(action)
            return
        answer = self._forward(body)
        if action == STALL:
            time.sleep(self.owner.stall_seconds)
            self.close_connection = True  # the reply never comes
            return
        if action == THROTTLE:
            time.sleep(self.owner.throttle_seconds)
        self._reply(*answer)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle
