"""Pages of ``render = "browser"`` sites: which responses get rendered, what the browser is
handed, and the response the spider then parses, built the same way live and in replay.

The page itself is fetched as every other page is, by Scrapy (robots.txt, the site guard,
redirects, retries, the WARC response record of the wire bytes); only a 200 HTML answer is then
rendered, by :class:`crawler.browser.Browser`, from the body already fetched. The spider gets
the DOM the page's scripts left, as UTF-8 HTML. This module imports no browser code, so replay
(which only reads the archived DOM) runs without Playwright.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.http import HtmlResponse, Request, Response

from archive.warc import RENDERED_CONTENT_TYPE

# response headers the browser is not handed: the body it gets is de-chunked and decoded,
# so framing and coding headers would describe bytes it never sees
_NOT_FOR_BROWSER = {b"content-encoding", b"content-length", b"transfer-encoding", b"connection",
                    b"keep-alive"}


def wants_render(request: Request, response: Response) -> bool:
    """A page answer worth rendering: a GET answered 200 with HTML. Redirects, errors, feeds,
    sitemaps and robots.txt pass as fetched."""
    content_type = (response.headers.get("Content-Type") or b"").lower()
    return request.method == "GET" and response.status == 200 and b"html" in content_type


def browser_input(response: Response, max_size: int) -> tuple[dict[str, str], bytes] | None:
    """The headers and decoded body the browser is handed for ``response`` (still
    content-encoded here, as it came off the wire), or None when the body does not decode:
    then it is not rendered, and the decompression middleware counts it as for any page."""
    encodings = response.headers.getlist("Content-Encoding")
    # Scrapy's own decoders, so the browser sees the bytes Scrapy itself would have decoded
    to_decode, to_keep = HttpCompressionMiddleware._split_encodings(encodings)
    if to_keep:
        return None
    body = response.body
    try:
        for encoding in to_decode:
            body = HttpCompressionMiddleware._decode(body, encoding, max_size)
    except Exception:
        # gzip, zlib, brotli, zstd and the size limit each raise their own exception class
        return None
    headers = {name.decode("latin-1"): b", ".join(values).decode("latin-1")
               for name, values in response.headers.items()
               if name.lower() not in _NOT_FOR_BROWSER}
    return headers, body


def rendered_response(url: str, html: bytes, request: Request) -> HtmlResponse:
    """What the spider parses for a rendered page: its DOM, as UTF-8 HTML. Only the content
    type is kept as a header, the one thing parsing reads, so that replay, which has the DOM
    and not the browser's view of the headers, builds the very same response."""
    return HtmlResponse(url=url, status=200, headers={"Content-Type": RENDERED_CONTENT_TYPE},
                        body=html, request=request, flags=["rendered"])
