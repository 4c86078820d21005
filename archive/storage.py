"""The storage interface, its options, and the registry that picks a backend by URI scheme.

One interface, two backends (``archive/local.py`` for a path, ``archive/s3.py`` for S3); the
rest of the project only ever sees :class:`Storage`. A new backend is a class with
``from_uri(uri, options)`` added to :data:`STORAGES` (as Scrapy's ``FEED_STORAGES`` does).

The one promise every backend keeps: an object appears under its final key only when complete.
The local backend writes into ``<root>/.tmp/`` and renames into place (a rename inside one file
system is atomic); the S3 backend relies on PUT and CompleteMultipartUpload being atomic.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from archive.keys import InvalidName, validate_key


class StorageError(Exception):
    """A storage operation failed; the message never contains credentials."""


class StorageAccessDenied(StorageError):
    """Storage answered and refused this client: wrong or missing credentials, no permission
    to write, a bucket that does not exist. Unlike an outage (no answer, 5xx, timeouts),
    waiting does not help, so a crawl fails at once instead of spooling what it fetches."""


@dataclass(frozen=True)
class StorageOptions:
    """How to reach a backend, beyond its URI: the S3 endpoint, timeouts and retries (the
    local backend needs none). Credentials are never here: they come from the AWS chain."""

    endpoint_url: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_attempts: int = 5


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


class Storage(Protocol):
    """What the archive needs from a place to keep objects. Keys are relative ('raw/...')."""

    def put_file(self, key: str, path: Path) -> None:
        """Store the file's bytes under ``key``, replacing any object there, atomically."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing any object there, atomically."""

    def create_exclusive(self, key: str, data: bytes) -> bool:
        """Store ``data`` only if ``key`` does not exist; False if it already did."""

    def get_bytes(self, key: str) -> bytes:
        """The whole object; FileNotFoundError if missing."""

    def open_read(self, key: str) -> BinaryIO:
        """A streaming reader over the object; FileNotFoundError if missing."""

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``."""

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix``, in key order."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; no error if it is missing."""

    def location(self, key: str = "") -> str:
        """Where ``key`` lives, for people (a path or an s3:// URI); never has credentials."""


def validate_prefix(prefix: str) -> str:
    """Check a listing prefix: empty, or the start of a valid key (the last segment may be cut)."""
    if prefix == "":
        return prefix
    whole_segments = prefix[:-1] if isinstance(prefix, str) and prefix.endswith("/") else prefix
    try:
        validate_key(whole_segments)
    except InvalidName:
        raise InvalidName(f"invalid key prefix {prefix!r}") from None
    return prefix


# URI scheme -> backend class path; loaded on first use, so a local archive never imports boto3
STORAGES: dict[str, str] = {
    "": "archive.local.LocalStorage",
    "file": "archive.local.LocalStorage",
    "s3": "archive.s3.S3Storage",
}


def open_storage(uri: str, options: StorageOptions | None = None) -> Storage:
    """The backend for ``uri``: ``s3://bucket/prefix``, ``file:///abs/path`` or a path."""
    scheme = urlparse(uri).scheme
    # a one-letter scheme is a Windows drive, not a URI scheme
    path = STORAGES.get("" if len(scheme) <= 1 else scheme)
    if path is None:
        raise StorageError(f"unsupported archive URI scheme {scheme!r} in {uri!r}")
    module, _, name = path.rpartition(".")
    backend = getattr(importlib.import_module(module), name)
    return backend.from_uri(uri, options or StorageOptions())
