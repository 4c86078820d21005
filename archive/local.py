"""The local-path storage backend: objects as files under a root directory.

An object appears under its final key only when complete: it is written into ``<root>/.tmp/``,
fsynced, and renamed into place (a rename inside one file system is atomic).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from archive.keys import validate_key
from archive.storage import (
    ObjectInfo,
    StorageAccessDenied,
    StorageError,
    StorageOptions,
    validate_prefix,
)

logger = logging.getLogger(__name__)
# a temp file untouched this long was left by a writer that died (kill -9, power loss)
STALE_TEMP_SECONDS = 3600.0


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


class LocalStorage:
    """Objects as files under a root directory; temp files live in ``<root>/.tmp``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().absolute()
        self._tmp = self.root / ".tmp"
        self._swept = False

    @classmethod
    def from_uri(cls, uri: str, options: StorageOptions | None = None) -> LocalStorage:
        """``file:///abs/path`` or a plain path (``options`` are for remote backends)."""
        parsed = urlparse(uri)
        return cls(parsed.path if parsed.scheme == "file" else uri)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _tmp_file(self) -> tuple[int, str]:
        self._tmp.mkdir(parents=True, exist_ok=True)
        if not self._swept:
            self._sweep_stale_temp_files()
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        # mkstemp makes 0600 files; archive files are for every reader the umask allows
        os.fchmod(fd, 0o666 & ~_UMASK)
        return fd, name

    def _sweep_stale_temp_files(self) -> None:
        """Remove what writers killed mid-write left in ``.tmp`` (their temp files are never
        renamed into place). A live write touches its file all along, and none takes
        STALE_TEMP_SECONDS, so an older file belongs to no one: other processes writing into
        the same root keep theirs."""
        self._swept = True
        cutoff = time.time() - STALE_TEMP_SECONDS
        for path in self._tmp.glob("put-*"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    logger.warning("removed %s, left by a write that never finished", path)

    def _write(self, key: str, fill: Callable[[BinaryIO], None], exclusive: bool = False
               ) -> bool:
        """Write a temp file with ``fill``, fsync it, then put it in place in one step:
        a rename, or for ``exclusive`` a hard link, which fails if the key exists."""
        target = self._path(key)
        try:
            fd, tmp_name = self._tmp_file()
        except OSError as exc:
            if exc.errno in _REFUSALS:
                raise _write_error(self.location(key), exc) from exc
            raise  # no archive folder at all (a file in the way): the crash report names it
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            if exclusive:
                os.link(tmp_name, target)
            else:
                os.replace(tmp_name, target)
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            raise _write_error(self.location(key), exc) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)

    def put_file(self, key: str, path: Path) -> None:
        def copy(out: BinaryIO) -> None:
            with open(path, "rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)

        self._write(key, copy)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write(key, lambda out: out.write(data))

    def create_exclusive(self, key: str, data: bytes) -> bool:
        return self._write(key, lambda out: out.write(data), exclusive=True)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def open_read(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        with open(self._path(key), "rb") as fh:
            fh.seek(offset)
            return fh.read(length)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        # unchecked, a prefix like "../" would walk and list the directory above the root
        validate_prefix(prefix)
        if not self.root.is_dir():
            return
        # walk only the directory the prefix names, not the whole archive
        base_dir = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base_dir if base_dir else self.root
        if not start.is_dir():
            return
        found = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if d != ".tmp"]
            rel_dir = os.path.relpath(dirpath, self.root)
            for name in filenames:
                key = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
                if key.startswith(prefix):
                    found.append(ObjectInfo(key, os.path.getsize(os.path.join(dirpath, name))))
        yield from sorted(found, key=lambda info: info.key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def location(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)


# the archive's folder refuses this process: a permission, not an outage (no spooling)
_REFUSALS = (errno.EACCES, errno.EPERM, errno.EROFS)


def _write_error(where: str, exc: OSError) -> StorageError:
    if exc.errno in _REFUSALS:
        return StorageAccessDenied(f"cannot write {where}: {exc.strerror}")
    return StorageError(f"cannot write {where}: {exc.strerror}")
