"""A counting TCP proxy in front of the S3 server: every HTTP request is classified and counted.

Bytes flow unchanged both ways (so SigV4 signatures, ``Expect: 100-continue`` and keep-alive
work as without it); the client-to-server stream is parsed only to find request heads and skip
their bodies (Content-Length or chunked).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from urllib.parse import parse_qs, urlsplit


def classify(method: str, target: str) -> str:
    """An S3 operation name from the method and the query string."""
    parts = urlsplit(target)
    query = parse_qs(parts.query, keep_blank_values=True)
    key_depth = len([p for p in parts.path.split("/") if p])
    if method == "PUT":
        return "UploadPart" if "partNumber" in query else "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        return "CompleteMultipartUpload" if "uploadId" in query else "POST"
    if method == "GET":
        if key_depth <= 1:
            return "ListObjects" if "list-type" in query or key_depth == 1 else "ListBuckets"
        return "GetObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    return {"HEAD": "HeadObject"}.get(method, method)


async def _copy_exact(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
    while n > 0:
        chunk = await reader.read(min(n, 1 << 16))
        if not chunk:
            raise ConnectionError("eof in body")
        writer.write(chunk)
        n -= len(chunk)
        await writer.drain()


async def _copy_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        line = await reader.readuntil(b"\r\n")
        writer.write(line)
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                writer.write(trailer)
            writer.write(b"\r\n")
            return
        await _copy_exact(reader, writer, size + 2)


class CountingProxy:
    def __init__(self, upstream_port: int, latency: float = 0.0) -> None:
        """``latency``: seconds each request waits before it is forwarded, a store farther
        away than loopback (S3 answers a small GET in some 10-30 ms)."""
        self.upstream_port = upstream_port
        self.latency = latency
        self.counts: Counter[str] = Counter()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    async def _requests(self, reader: asyncio.StreamReader,
                        upstream: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if self.latency:
                await asyncio.sleep(self.latency)
            upstream.write(head)
            lines = head.decode("latin-1").split("\r\n")
            method, target = lines[0].split(" ")[:2]
            self.counts[classify(method, target)] += 1
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in lines[1:] if line)}
            if "chunked" in headers.get("transfer-encoding", "").lower():
                await _copy_chunked(reader, upstream)
            else:
                await _copy_exact(reader, upstream, int(headers.get("content-length", "0")))
            await upstream.drain()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        back = asyncio.ensure_future(self._pipe(up_reader, writer))
        try:
            await self._requests(reader, up_writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError):
            pass
        finally:
            up_writer.close()
            await asyncio.gather(back, return_exceptions=True)
            writer.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def start(self) -> CountingProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)
