"""What a fake site answers: a status, a content type, a body and headers.

``respond`` types, dates and decorates a rendered body the way the site's theme says its CMS
does: the theme's ``settings.types`` and ``settings.headers`` per kind of page, and a
Last-Modified the server sends after the ETag unless ``last_modified_header = false``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from testkit.fakeweb.dates import Moment
from testkit.fakeweb.template import Theme

HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Response:
    """One HTTP response; the server adds Content-Length (and Server and Date if asked)."""

    status: int
    content_type: str
    body: bytes
    last_modified: dt.datetime | None = None
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    delay: float = 0.0  # seconds the server waits before answering (a slow page)


def respond(theme: Theme, kind: str, body: str | bytes, content_type: str | None = None,
            status: int = 200, modified: Moment | None = None, **values: Any) -> Response:
    """A response for a page of ``kind``: its content type (default: the theme's
    ``settings.types`` entry for ``kind``, else HTML) and header lines (``settings.headers``,
    filled from ``modified`` and ``values``)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    content_type = content_type or theme.settings.get("types", {}).get(kind, HTML)
    dated = modified is not None and theme.settings.get("last_modified_header", True)
    rows = theme.settings.get("headers", {}).get(kind, ())
    headers = tuple((name, theme.fill_text(value, modified=modified, **values))
                    for name, value in rows)
    return Response(status, content_type, data, modified.value if dated else None, headers)


def redirect(location: str, with_body: bool = True) -> Response:
    """A 301, with a small HTML body naming the new place or none."""
    body = f'<html><body>Moved to <a href="{location}">{location}</a></body></html>'
    return Response(301, HTML, body.encode() if with_body else b"",
                    headers=(("Location", location),))
