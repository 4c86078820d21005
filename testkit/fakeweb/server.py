"""The loopback HTTP/1.1 server of the fake webs: asyncio in one thread, keep-alive, HEAD.

Each listener (host, port) has its own responder, a function from ``Request`` to ``Response``.
The server adds Content-Length and, where asked, Server and Date headers like ``http.server``
does; ``stop`` also cuts open keep-alive connections, as a site going away would.
"""

from __future__ import annotations

import asyncio
import email.utils
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import NamedTuple

from testkit.fakeweb.dates import Moment
from testkit.fakeweb.response import Response


class Request(NamedTuple):
    """One request as received: the listener's address, method, target and headers."""

    host: str
    method: str
    target: str
    headers: dict[str, str]

    def header(self, name: str) -> str:
        """A header's value, matched case-insensitively ("" when absent)."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), "")


Responder = Callable[[Request], Response]
_NO_BODY = (204, 304)


def _parse(head: bytes, host: str) -> tuple[Request, bool]:
    """The request in ``head``, and whether the client asks to close after it."""
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    request = Request(host, method, target, headers)
    connection = request.header("Connection").lower()
    closes = connection == "close" or (version != "HTTP/1.1" and connection != "keep-alive")
    return request, closes


class LoopbackServer:
    """Listeners on loopback served by one asyncio loop in a daemon thread.

    ``server_header`` and ``send_date`` add those headers; ``idle_timeout`` closes keep-alive
    connections idle that long, so stray clients cannot pin the server; ``access_log`` prints
    a line per request on stderr.
    """

    def __init__(self, server_header: str | None = None, send_date: bool = False,
                 idle_timeout: float | None = None, access_log: bool = False) -> None:
        self.server_header = server_header
        self.send_date = send_date
        self.idle_timeout = idle_timeout
        self.access_log = access_log
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listeners: list[asyncio.Server] = []
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle

    def start(self) -> LoopbackServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fakeweb",
                                        daemon=True)
        self._thread.start()
        return self

    def listen(self, host: str, port: int, responder: Responder,
               tls: ssl.SSLContext | None = None) -> int:
        """Serve ``responder`` on (host, port), over TLS with ``tls``; returns the bound port
        (port 0 picks one)."""
        if self._loop is None:
            raise RuntimeError("LoopbackServer is not started")
        coroutine = asyncio.start_server(
            lambda reader, writer: self._serve(host, responder, reader, writer), host, port,
            ssl=tls)
        listener = asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)
        self._listeners.append(listener)
        return listener.sockets[0].getsockname()[1]

    def listen_together(self, hosts: Sequence[str], responders: Sequence[Responder],
                        attempts: int = 50, tls: ssl.SSLContext | None = None) -> int:
        """One port P, free on every host: the OS picks P on the first, so retry while another
        host has P taken. Returns P."""
        for _ in range(attempts):
            before = len(self._listeners)
            port = self.listen(hosts[0], 0, responders[0], tls)
            try:
                for host, responder in zip(hosts[1:], responders[1:], strict=True):
                    self.listen(host, port, responder, tls)
            except OSError:
                self._close_since(before)
                continue
            return port
        raise RuntimeError(f"no port free on all of {list(hosts)} after {attempts} attempts")

    def _close_since(self, count: int) -> None:
        """Close the listeners opened after the first ``count``."""
        listeners, self._listeners = self._listeners[count:], self._listeners[:count]
        if self._loop is not None and listeners:
            asyncio.run_coroutine_threadsafe(_close(listeners, []), self._loop).result(10)

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        listeners, self._listeners = self._listeners, []
        try:
            asyncio.run_coroutine_threadsafe(_close(listeners, list(self._writers)),
                                             self._loop).result(10)
        except (TimeoutError, RuntimeError):
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one connection

    async def _serve(self, host: str, responder: Responder, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            closes = False
            while not closes:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.idle_timeout)
                request, closes = _parse(head, host)
                if request.method in ("GET", "HEAD"):
                    response = responder(request)
                else:
                    response = Response(501, "text/plain", b"Unsupported method")
                    closes = True
                if response.delay:
                    await asyncio.sleep(response.delay)
                if self.access_log:
                    print(f'{host} - - [{time.strftime("%d/%b/%Y %H:%M:%S")}] '
                          f'"{request.method} {request.target}" {response.status} -',
                          file=sys.stderr, flush=True)
                writer.write(self._head(response))
                if request.method != "HEAD" and response.status not in _NO_BODY:
                    writer.write(response.body)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                TimeoutError, ValueError):
            pass  # the client went away, idled out or sent something that is not HTTP
        except Exception:  # a broken page must not stop the server
            traceback.print_exc()
        finally:
            self._writers.discard(writer)
            writer.close()

    def _head(self, response: Response) -> bytes:
        status = response.status
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
        if self.server_header:
            lines.append(f"Server: {self.server_header}")
        if self.send_date:
            lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
        if status not in _NO_BODY:
            lines += [f"Content-Type: {response.content_type}",
                      f"Content-Length: {len(response.body)}"]
        if response.etag:
            lines.append(f"ETag: {response.etag}")
        if response.last_modified is not None:
            lines.append(f"Last-Modified: {Moment(response.last_modified).http}")
        lines += [f"{name}: {value}" for name, value in response.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _close(listeners: list[asyncio.Server], writers: list[asyncio.StreamWriter]) -> None:
    for listener in listeners:
        listener.close()
    for writer in writers:
        writer.close()
    for listener in listeners:
        await listener.wait_closed()
