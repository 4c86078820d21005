"""The local-path storage backend: objects as files under a root directory.

An object appears under its final key only when complete: it is written into ``<root>/.tmp/``,
fsynced, and renamed into place (a rename inside one file system is atomic).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from archive.keys import validate_key
from archive.storage import ObjectInfo, StorageError, StorageOptions, validate_prefix


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

    @classmethod
    def from_uri(cls, uri: str, options: StorageOptions | None = None) -> LocalStorage:
        """``file:///abs/path`` or a plain path (``options`` are for remote backends)."""
        parsed = urlparse(uri)
        return cls(parsed.path if parsed.scheme == "file" else uri)

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
