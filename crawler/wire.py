"""The HTTP/1.1 download handler that also keeps what crossed the wire, for the WARC.

Scrapy's ``Response.headers`` is not what the server sent. Twisted's parser sets the
connection-control headers aside (``Transfer-Encoding``, ``Content-Length``, ``Connection``,
``Keep-Alive``, ``TE``, ``Trailers``, ``Upgrade``, ``Proxy-Connection``), lower-cases and
regroups the others, and Scrapy then adds a ``Content-Length`` from the body length Twisted
worked out: the server's, or 0 for a 204, a 304 or a HEAD answer whether the server sent one or
not. A chunked answer so cannot be told from one read to the connection's close. And
``Request.headers`` lacks the ``Host`` that Twisted adds as it sends the request.

:class:`WireDownloadHandler`, installed for http and https (``DOWNLOAD_HANDLERS``), is Scrapy's
own HTTP/1.1 handler with a parser that also keeps each response header line as received (name
as spelled, in order, value as Twisted trims it; a folded line joined, as Twisted does), and a
note of the request headers as Twisted writes them. Both go into the request's meta under
:data:`WIRE_META`, where the WARC archiver takes them (:func:`wire_headers`).

Why a handler and not a middleware: the facts exist only inside Twisted's parser and request
objects, and the handler's agent is the one place where those meet Scrapy's request. The cost is
that this builds on private classes of Scrapy's ``http11`` module (``_ScrapyAgent``, the lenient
protocol, parser and factory); Scrapy is pinned (``pyproject.toml``), and
``tests/test_warc_wire.py`` crawls through this handler, so an upgrade that changes them fails
there. Not kept: trailer fields after a chunked body (Twisted's decoder drops them unread).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
    _ScrapyAgent,
)
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from twisted.internet.interfaces import IAddress
    from twisted.web._newclient import HTTP11ClientProtocol
    from twisted.web._newclient import Request as TxRequest
    from twisted.web.iweb import IResponse

WIRE_META = "newsarchive_wire"
_ON_TX_RESPONSE = "_newsarchive_wire"  # where the protocol leaves them on Twisted's response
Header = tuple[bytes, bytes]


@dataclass(frozen=True)
class WireHeaders:
    """The header lines of one exchange as they crossed the wire."""

    request: list[Header]  # as Twisted wrote them, Host included
    response: list[Header]  # as the server sent them, connection-control headers included


class _RecordingParser(_LenientHTTPClientParser):
    """Scrapy's lenient response parser, also keeping every header line as received."""

    received: list[Header]

    def connectionMade(self) -> None:
        super().connectionMade()
        # also called again after a 1xx answer: its headers are not the response's
        self.received = []

    def headerReceived(self, name: bytes, value: bytes) -> None:
        self.received.append((name, value))
        super().headerReceived(name, value)


def _sent_headers(request: TxRequest) -> list[Header]:
    """The header lines Twisted writes for ``request``, in its order (``Request.writeTo``):
    ``Connection: close`` off a persistent pool, the body's length, then the headers."""
    lines = []
    if not request.persistent:
        lines.append((b"Connection", b"close"))
    producer = request.bodyProducer
    if producer is not None or request.method in (b"PUT", b"POST"):
        # Scrapy's body producer always knows its length, so Twisted never sends it chunked
        lines.append((b"Content-Length", b"%d" % (producer.length if producer else 0)))
    lines += [(name, value) for name, values in request.headers.getAllRawHeaders()
              for value in values]
    return lines


class _RecordingProtocol(_LenientHTTP11ClientProtocol):
    def request(self, request: TxRequest) -> Any:
        d = super().request(request)
        parser = self._parser
        # the lenient protocol swaps the parser's class the same way, for the same reason:
        # HTTP11ClientProtocol.request() hard-codes it. The parser has already been connected,
        # so its list starts here
        parser.__class__ = _RecordingParser
        parser.received = []
        sent = _sent_headers(request)

        def keep(response: IResponse) -> IResponse:
            setattr(response, _ON_TX_RESPONSE, WireHeaders(sent, parser.received))
            return response

        return d.addCallback(keep)


class _RecordingFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: IAddress | None) -> HTTP11ClientProtocol:
        return _RecordingProtocol(self._quiescentCallback)


class _RecordingAgent(_ScrapyAgent):
    def _cb_bodyready(self, txresponse: Any, request: Request) -> Any:
        # the one place that holds both Twisted's response and Scrapy's request
        request.meta[WIRE_META] = getattr(txresponse, _ON_TX_RESPONSE, None)
        return super()._cb_bodyready(txresponse, request)


class WireDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler whose downloads leave their :class:`WireHeaders` in
    ``request.meta[WIRE_META]``. Unlike the parent it reads no per-spider ``download_maxsize``
    or ``download_warnsize`` attribute (deprecated in Scrapy; the settings apply) and does not
    log Scrapy's once-a-crawl hint about DOWNLOAD_FAIL_ON_DATALOSS (the error log names every
    truncated page)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._pool._factory = _RecordingFactory

    async def download_request(self, request: Request) -> Response:
        agent = _RecordingAgent(
            contextFactory=self._contextFactory, bindAddress=self._bind_address,
            pool=self._pool, maxsize=self._default_maxsize, warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss, crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging)
        with wrap_twisted_exceptions():
            return await maybe_deferred_to_future(agent.download_request(request))


def host_header(url: str) -> bytes:
    """The ``Host`` Twisted sends for ``url``: host, and port when not the scheme's default."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    if parts.port is not None:
        host = host[:host.rindex(":")]
        if (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
            host += f":{parts.port}"
    return host.encode("ascii")


def wire_headers(request: Request, response: Response) -> WireHeaders:
    """The exchange's headers as they crossed the wire, taken out of the request's meta (so a
    redirect or retry copied from this request cannot carry them on). A response from another
    handler (a cache, a handler set in ``DOWNLOAD_HANDLERS``) has only Scrapy's view: then the
    request headers get the Host Twisted would have sent, and the response headers are
    Scrapy's, whose Content-Length is the server's except on a 204, 304 or HEAD answer."""
    wire = request.meta.pop(WIRE_META, None)
    if wire is not None:
        return wire
    sent = [(k, v) for k, vs in request.headers.items() for v in vs]
    if not any(name.lower() == b"host" for name, _ in sent):
        sent.append((b"Host", host_header(request.url)))
    return WireHeaders(sent, [(k, v) for k, vs in response.headers.items() for v in vs])
