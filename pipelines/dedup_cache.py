"""This machine's copy of the dedup state files it read: live segments and compacted objects.

Every state file is immutable under its name (a live segment is written once; a compacted
object is named by the digest of its bytes), so a cached file is valid for as long as its key
exists, and the cache is pruned of keys the archive no longer holds (merged segments, objects
replaced by larger ones, window days past ``near_duplicate_days``): it holds about one copy of
what a run reads, not the archive's history. Reads that miss go out in parallel: a cold
machine's start-up is a few hundred small GETs, and their latency overlaps.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from archive.keys import InvalidName, state_cache_name, state_key_from_cache_name
from archive.storage import ObjectInfo, Storage

GET_THREADS = 8  # under boto3's pool of 10 connections a client
AHEAD_BYTES = 16 << 20  # and at most this much read ahead (a window day is about 5 MB)


class StateCache:
    def __init__(self, storage: Storage, directory: Path | None) -> None:
        """``directory=None``: nothing is kept (a one-off tool, such as a replay's clean-up)."""
        self.storage = storage
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / state_cache_name(key)

    def get(self, key: str, size: int | None = None) -> bytes:
        """The bytes of a state file, from the cache when it holds them whole."""
        path = self._path(key) if self.directory else None
        with contextlib.suppress(OSError):
            if path is not None and (size is None or path.stat().st_size == size):
                return path.read_bytes()
        data = self.storage.get_bytes(key)
        self.keep(key, data)
        return data

    def holds(self, key: str) -> bool:
        return self.directory is not None and self._path(key).is_file()

    def get_many(self, infos: Iterable[ObjectInfo]) -> Iterator[tuple[str, bytes]]:
        """(key, bytes) of each file, in the order given; the misses read in parallel."""
        # a bounded read-ahead: the window's objects are megabytes each, and holding them all
        # at once (each read by boto3 through buffers of its own) would double a run's peak
        ahead: deque[tuple[str, int, Future[bytes]]] = deque()
        with ThreadPoolExecutor(GET_THREADS) as pool:
            in_flight = 0
            for info in infos:
                while ahead and (len(ahead) >= GET_THREADS or in_flight >= AHEAD_BYTES):
                    key, size, future = ahead.popleft()
                    in_flight -= size
                    yield key, future.result()
                size = info.size if info.size >= 0 else AHEAD_BYTES
                ahead.append((info.key, size, pool.submit(self.get, info.key, info.size)))
                in_flight += size
            while ahead:
                key, _size, future = ahead.popleft()
                yield key, future.result()

    def keep(self, key: str, data: bytes) -> None:
        """Cache bytes this machine has (it wrote them, or just read them); best effort."""
        if self.directory is None:
            return
        path = self._path(key)
        with contextlib.suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)

    def cached(self, prefix: str) -> list[ObjectInfo]:
        """The cached files under a key prefix: what is known of the archive while it is
        unreachable."""
        return [info for info in self._entries() if info.key.startswith(prefix)]

    def _entries(self) -> Iterator[ObjectInfo]:
        if self.directory is None or not self.directory.is_dir():
            return
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith("."):
                continue
            try:
                yield ObjectInfo(state_key_from_cache_name(path.name), path.stat().st_size)
            except (InvalidName, OSError):
                continue

    def prune(self, stale: Callable[[str], bool]) -> int:
        """Remove the cached files whose key is ``stale``; returns how many."""
        removed = 0
        for info in list(self._entries()):
            if stale(info.key):
                with contextlib.suppress(OSError):
                    self._path(info.key).unlink()
                    removed += 1
        return removed
