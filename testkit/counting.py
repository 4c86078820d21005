"""A Storage that counts what is asked of the one it wraps: calls by operation, keys listed.

For tests and the bench to say how many storage requests a piece of work made (and which keys
it read, in what order), on either backend, without timing anything. A ``list`` counts one
call a started page of 1,000 keys (what S3's ListObjectsV2 returns a request).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from archive.storage import ObjectInfo, Storage

LIST_PAGE = 1000


class CountingStorage:
    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.listed = 0  # keys returned by every listing
        self.got: list[str] = []  # keys read, in the order asked (from any thread)
        self._lock = threading.Lock()  # the state reads and lists from thread pools

    def _count(self, call: str, n: int = 1) -> None:
        with self._lock:
            self.calls[call] += n

    def reset(self) -> None:
        self.calls.clear()
        self.listed = 0
        self.got.clear()

    def put_file(self, key: str, path: Path) -> None:
        self._count("put")
        self.inner.put_file(key, path)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._count("put")
        self.inner.put_bytes(key, data)

    def create_exclusive(self, key: str, data: bytes) -> bool:
        self._count("put")
        return self.inner.create_exclusive(key, data)

    def get_bytes(self, key: str) -> bytes:
        self._count("get")
        self.got.append(key)
        return self.inner.get_bytes(key)

    def open_read(self, key: str) -> BinaryIO:
        self._count("get")
        return self.inner.open_read(key)

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        self._count("get")
        return self.inner.read_range(key, offset, length)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        self._count("list")
        for n, info in enumerate(self.inner.list(prefix)):
            if n and n % LIST_PAGE == 0:
                self._count("list")
            with self._lock:
                self.listed += 1
            yield info

    def exists(self, key: str) -> bool:
        self._count("head")
        return self.inner.exists(key)

    def delete(self, key: str) -> None:
        self._count("delete")
        self.inner.delete(key)

    def location(self, key: str = "") -> str:
        return self.inner.location(key)
