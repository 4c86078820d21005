"""The run's error log: errors by site and kind, with a bounded list of examples.

An extension, so that the spider, the middlewares, the pipelines and the archive extension
each find the one log through the crawler (``crawler.get_extension(ErrorLog)``) and the run
report reads it at the end.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict

from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

MAX_ERROR_EXAMPLES = 200

# The closed set of error kinds a run report counts (``sites.NAME.errors``, ``error_examples``),
# each with its meaning; README's "Using it" lists the same, and a test keeps the two equal.
# A component counting a kind not listed here is a bug: ErrorLog.add logs it and counts it as
# download_failed.
ERROR_KINDS: dict[str, str] = {
    # the download
    "timeout": "no complete answer within download_timeout (slow drips included)",
    "connection_refused": "the server refused the connection",
    "connection_reset": "the connection was reset or closed without an answer",
    "dns_error": "the host name did not resolve",
    "truncated": "the connection closed before the body was complete",
    "too_large": "over max_page_mb, before or after decompression (gzip bombs)",
    "bad_content_encoding": "a gzip, deflate, brotli or zstd body that does not decompress",
    "cancelled": "in flight when the crawl was stopped",
    "download_failed": "any other download failure (the exception's class is in the message)",
    # redirects and HTTP status
    "too_many_redirects": "more than REDIRECT_MAX_TIMES (10) redirects",
    "redirect_loop": "a redirect back to a URL of its own chain",
    "bad_redirect": "a 3xx that cannot be followed: no Location, or a non-http(s) one",
    "http_4xx": "an HTTP 4xx answer",
    "http_5xx": "an HTTP 5xx answer, after its retries",
    # refusals of the site guard
    "blocked_private_address": "a loopback, private, link-local or reserved address",
    "blocked_out_of_scope": "a host outside the site's allowed_domains",
    "url_too_long": "a link over 2,083 characters, not requested",
    # the content
    "not_html": "binary content served as text/html",
    "wrong_content_type": "HTML served as another type (still read as HTML)",
    "bad_encoding": "bytes that do not decode in their declared charset",
    "bad_sitemap": "a malformed, entity-declaring, looping or oversized sitemap",
    "bad_feed": "a malformed, entity-declaring or oversized feed",
    "too_deeply_nested": "markup nested deeper than the HTML parser reads (flattened, then read)",
    "empty": "an article page with no text (a JavaScript-only page)",
    "render_failed": "render = \"browser\": the page could not be rendered (archived raw)",
    "bot_wall": "a challenge, CAPTCHA or consent page served instead of the article (kept raw, "
                "no record, fetched again next run)",
    # extraction and storage
    "extract_timeout": "extraction ran past extract_timeout (its worker was killed)",
    "extract_crash": "the extraction worker died",
    "extract_memory": "extraction needed more than extract_memory_mb",
    "extract_error": "extraction raised an exception",
    "extract_pool": "the extraction pool could not run the page",
    "storage_write": "a file of the run could not be written or stored",
    # replay
    "unreadable_warc": "replay: an archived WARC file could not be read (the replay fails)",
    # import
    "bad_warc": "import: a truncated or malformed stretch of a WARC file (the rest is read)",
}


class ErrorLog:
    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.examples: list[dict[str, str]] = []
        # the archive session's committer thread reports lost files here too
        self._lock = threading.Lock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ErrorLog:
        return cls()

    def add(self, site: str, kind: str, url: str, message: str) -> None:
        if kind not in ERROR_KINDS:
            # a bug, not a reason to lose the page or the committer thread: counted under the
            # catch-all kind, named in the message, and logged (tests keep the set closed)
            logger.error("error kind %r is not in ERROR_KINDS: counted as download_failed", kind)
            kind, message = "download_failed", f"{kind}: {message}"
        with self._lock:
            self.counts[site][kind] += 1
            if len(self.examples) < MAX_ERROR_EXAMPLES:
                self.examples.append({"site": site, "kind": kind, "url": url,
                                      "message": message[:300]})

    def has(self, site: str, kind: str) -> bool:
        return bool(self.counts.get(site, {}).get(kind))

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())


def error_log(crawler: Crawler) -> ErrorLog:
    """The crawl's error log (a component asks once, when it is built or opened)."""
    log = crawler.get_extension(ErrorLog)
    if log is None:
        raise RuntimeError("crawler.errors.ErrorLog is not in EXTENSIONS")
    return log
