"""The local spool: where archive files are written, and where finished ones wait for upload.

Files are written under ``open/``. A finished file is *enqueued*: its key goes into a sidecar and
both move into ``ready/`` under a name that sorts in enqueue order. Uploads drain ``ready/`` in
that order, which is what keeps the archive consistent after any crash: a WARC is enqueued before
the record file that points into it, record files before the dedup state that says they exist,
and the run report last. A file still in ``ready/`` after a run (storage down, process killed) is
uploaded by the next run; uploads are idempotent (a PUT of the same bytes to the same key).

One spool directory per archive URI, so a config change never sends files to the wrong archive.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from archive.keys import InvalidName, validate_key
from archive.storage import Storage, StorageError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpoolEntry:
    name: str
    key: str
    data_path: Path
    key_path: Path

    @property
    def size(self) -> int:
        return self.data_path.stat().st_size


class Spool:
    def __init__(self, base_dir: Path | str, archive_location: str) -> None:
        # keyed by the resolved location, so "./archive" from two directories never shares
        digest = hashlib.sha256(archive_location.encode()).hexdigest()[:16]
        self.root = Path(base_dir).expanduser().absolute() / digest
        self.open_dir = self.root / "open"
        self.ready_dir = self.root / "ready"
        self.open_dir.mkdir(parents=True, exist_ok=True)
        self.ready_dir.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count()
        # entries sort by process start, then by a counter: FIFO within a run whatever the
        # wall clock does meanwhile
        self._token = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"

    def new_path(self, suffix: str) -> Path:
        """A fresh path under open/ for a file being written."""
        return self.open_dir / f"{self._token}-{next(self._counter):06d}{suffix}"

    def enqueue(self, path: Path, key: str) -> SpoolEntry:
        """Hand a finished file over for upload to ``key``."""
        validate_key(key)
        name = f"{self._token}-{next(self._counter):08d}"
        key_path = self.ready_dir / f"{name}.key"
        data_path = self.ready_dir / f"{name}.data"
        tmp_key = self.open_dir / f"{name}.key.tmp"
        tmp_key.write_text(key, encoding="utf-8")
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        # the data goes first: an entry counts as ready only once its .key is there too
        os.replace(path, data_path)
        os.replace(tmp_key, key_path)
        return SpoolEntry(name, key, data_path, key_path)

    def enqueue_bytes(self, data: bytes, key: str) -> SpoolEntry:
        path = self.new_path(".part")
        with open(path, "wb") as fh:
            fh.write(data)
        return self.enqueue(path, key)

    def pending(self) -> list[SpoolEntry]:
        entries = []
        for key_path in sorted(self.ready_dir.glob("*.key")):
            name = key_path.name[: -len(".key")]
            data_path = self.ready_dir / f"{name}.data"
            try:
                key = validate_key(key_path.read_text(encoding="utf-8").strip())
            except FileNotFoundError:
                continue  # uploaded meanwhile by another process
            except (InvalidName, UnicodeDecodeError):
                self._set_aside(name)  # a damaged entry must not block the ones behind it
                continue
            if data_path.exists():
                entries.append(SpoolEntry(name, key, data_path, key_path))
        return entries

    def upload_one(self, entry: SpoolEntry, storage: Storage) -> bool:
        """Upload and forget one entry; False (and it stays queued) if storage failed."""
        try:
            storage.put_file(entry.key, entry.data_path)
        except FileNotFoundError:
            return True  # another process uploaded and removed it
        except (StorageError, OSError) as exc:
            logger.warning("upload of %s failed, kept in spool: %s", entry.key, exc)
            return False
        with contextlib.suppress(FileNotFoundError):
            entry.data_path.unlink()
        with contextlib.suppress(FileNotFoundError):
            entry.key_path.unlink()
        return True

    def drain(self, storage: Storage) -> int:
        """Upload pending entries in order, stopping at the first failure (to keep the order).

        Returns how many entries are still pending."""
        entries = self.pending()
        for index, entry in enumerate(entries):
            if not self.upload_one(entry, storage):
                return len(entries) - index
        return 0

    def _set_aside(self, name: str) -> None:
        bad = self.root / "bad"
        bad.mkdir(exist_ok=True)
        for suffix in (".key", ".data"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.ready_dir / f"{name}{suffix}", bad / f"{name}{suffix}")
        logger.error("spool entry %s is damaged (unreadable key): moved to %s", name, bad)
