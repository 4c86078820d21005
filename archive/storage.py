"""The storage interface and its local-path backend.

One interface, two backends (local path here, S3 in ``archive/s3.py``); the rest of the project
only ever sees :class:`Storage`. The one promise every backend keeps: an object appears under its
final key only when complete. The local backend writes into ``<root>/.tmp/`` and renames into
place (a rename inside one file system is atomic); the S3 backend relies on PUT and
CompleteMultipartUpload being atomic.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol
from urllib.parse import urlparse

if TYPE_CHECKING:
    from newsarchive.config import ArchiveConfig

from archive.keys import InvalidName, validate_key


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


class StorageError(Exception):
    """A storage operation failed; the message never contains credentials."""


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


class LocalStorage:
    """Objects as files under a root directory; temp files live in ``<root>/.tmp``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().absolute()
        self._tmp = self.root / ".tmp"

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _tmp_file(self) -> tuple[int, str]:
        self._tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        # mkstemp makes 0600 files; archive files are for every reader the umask allows
        os.fchmod(fd, 0o666 & ~_UMASK)
        return fd, name

    def _write(self, key: str, fill: Callable[[BinaryIO], None], exclusive: bool = False
               ) -> bool:
        """Write a temp file with ``fill``, fsync it, then put it in place in one step:
        a rename, or for ``exclusive`` a hard link, which fails if the key exists."""
        target = self._path(key)
        fd, tmp_name = self._tmp_file()
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
            raise StorageError(f"cannot write {self.location(key)}: {exc.strerror}") from exc
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


def open_storage(archive: ArchiveConfig, uri: str | None = None) -> Storage:
    """The backend for the config's archive (or ``uri`` with the same settings):
    ``s3://bucket/prefix``, ``file:///abs/path`` or a path."""
    uri = uri or archive.uri
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        from archive.s3 import S3Storage

        return S3Storage.from_uri(uri, endpoint_url=archive.endpoint_url,
                                  connect_timeout=archive.s3_connect_timeout,
                                  read_timeout=archive.s3_read_timeout,
                                  max_attempts=archive.s3_max_attempts)
    if parsed.scheme == "file":
        return LocalStorage(parsed.path)
    if parsed.scheme and len(parsed.scheme) > 1:
        raise StorageError(f"unsupported archive URI scheme {parsed.scheme!r} in {uri!r}")
    return LocalStorage(uri)
