"""Conditional GET: an ETag from the body's hash, and 304 Not Modified when the client has it."""

from __future__ import annotations

import dataclasses
import hashlib

from testkit.fakeweb.response import Response


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def _matches(header: str, etag: str) -> bool:
    if not header:
        return False
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates


def conditional(response: Response, if_none_match: str) -> Response:
    """``response`` with an ETag (200s only), or its 304 if ``if_none_match`` names that tag."""
    if response.status != 200:
        return response
    etag = etag_of(response.body)
    status = 304 if _matches(if_none_match, etag) else 200
    return dataclasses.replace(response, status=status, etag=etag,
                               body=b"" if status == 304 else response.body)
