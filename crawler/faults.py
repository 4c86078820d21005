"""What went wrong with a download, as one of the run report's error kinds
(:data:`crawler.errors.ERROR_KINDS`: a closed set, so an exception nobody expected is
``download_failed`` with its class in the message, never a kind of its own)."""

from __future__ import annotations

import gzip
import importlib
import struct
import zlib
from urllib.parse import urlsplit

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from twisted.internet import error as twisted_error
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawler.resolver import REFUSED_HOSTS

_BY_TYPE: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((DownloadTimeoutError, twisted_error.TimeoutError, twisted_error.TCPTimedOutError),
     "timeout"),
    ((ResponseDataLossError,), "truncated"),
    ((DownloadConnectionRefusedError, twisted_error.ConnectionRefusedError),
     "connection_refused"),
    ((CannotResolveHostError, twisted_error.DNSLookupError), "dns_error"),
    ((DownloadFailedError, ResponseFailed, ResponseNeverReceived, twisted_error.ConnectionLost,
      twisted_error.ConnectionDone, twisted_error.ConnectError), "connection_reset"),
)



def _decoder_errors() -> tuple[type[BaseException], ...]:
    """What HttpCompressionMiddleware's decoders raise on a body that does not decompress:
    gunzip's (BadGzipFile, EOFError, struct.error), inflate's, and those of whichever brotli
    and zstd modules Scrapy found (it imports either of each pair)."""
    errors: list[type[BaseException]] = [gzip.BadGzipFile, EOFError, struct.error, zlib.error]
    for module, name in (("brotli", "error"), ("brotlicffi", "error"),
                         ("compression.zstd", "ZstdError"), ("backports.zstd", "ZstdError")):
        try:
            errors.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


_DECODER_ERRORS = _decoder_errors()

# what to say when the exception itself says nothing
_PLAIN_WORDS = {"too_large": "larger than [crawl] max_page_mb (Scrapy's DOWNLOAD_MAXSIZE)",
                "timeout": "no complete answer within DOWNLOAD_TIMEOUT",
                "truncated": "connection closed before the announced Content-Length",
                "connection_reset": "connection reset or closed without an answer"}


def describe(exc: BaseException, kind: str) -> str:
    """A message for the report: the exception's own, else plain words for its kind; for
    the kinds that say little by themselves, prefixed with the exception's class."""
    words = str(exc) or _PLAIN_WORDS.get(kind, "")
    if kind in ("download_failed", "bad_content_encoding"):
        return f"{type(exc).__name__}: {words}" if words else type(exc).__name__
    return words or type(exc).__name__


def error_kind(exc: BaseException, url: str, stopping: bool = False) -> str | None:
    """The report's kind for a failed download; None for refusals that are not errors
    (robots.txt, the page budget, counted elsewhere). ``stopping``: the crawl is shutting
    down, so a cancelled download was cancelled by the shutdown."""
    if (urlsplit(url).hostname or "").lower() in REFUSED_HOSTS:
        return "blocked_private_address"  # the resolver refused the address it got
    if isinstance(exc, DownloadCancelledError):
        # DOWNLOAD_MAXSIZE cancels with get_maxsize_msg's words when the size is announced,
        # with no words at all when the body outgrows it; a shutdown cancels in-flight ones
        if "max size" in str(exc) or not stopping:
            return "too_large"
        return "cancelled"
    if isinstance(exc, IgnoreRequest):
        message = str(exc)
        # Scrapy says these only in words: RedirectMiddleware, HttpCompressionMiddleware
        if "max redirections" in message:
            return "too_many_redirects"
        if "DOWNLOAD_MAXSIZE" in message:
            return "too_large"
        return None
    for types, kind in _BY_TYPE:
        if isinstance(exc, types):
            return kind
    if isinstance(exc, _DECODER_ERRORS):
        return "bad_content_encoding"
    return "download_failed"
