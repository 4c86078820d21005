"""The local spool: where archive files are written, and where finished ones wait for upload.

Files are written under ``open/``. A finished file is *enqueued*: its key goes into a sidecar and
both move into ``ready/`` under a name that sorts in enqueue order. Uploads drain ``ready/`` in
that order, which is what keeps the archive consistent after any crash: a WARC is enqueued before
the record file that points into it, record files before the dedup state that says they exist,
and the run report last. A file still in ``ready/`` after a run (storage down, process killed) is
uploaded by the next run; uploads are idempotent (a PUT of the same bytes to the same key).

Crash safety. Every Spool holds an exclusive ``flock`` on ``open/<token>.lock`` for the life of
its process; every file it makes starts with that token, so any process can tell whether the
writer of a file is still alive (the kernel drops the lock when a process dies, even by kill -9).
Files are enqueued in *batches* (a record file and its dedup segment are one batch): the data
files move into ``ready/`` first (invisible: an entry is ready only once its ``.key`` exists), a
batch manifest naming them is created atomically, and only then do the ``.key`` files appear.
When a Spool opens, it cleans up after dead writers (``recover``):
- a batch manifest left behind means the batch was whole: its missing ``.key`` files are written,
  so a record file never waits without its dedup segment (that would make the next run record
  its articles a second time);
- ``ready/`` data without a key and without a manifest is an enqueue that never finished, or an
  upload killed between removing the key and the data (the key goes first): removed;
- a ``ready/`` key without its data is an upload killed after removing the data (the order of
  spools before 2026-12): removed;
- files still in ``open/`` were being written when their process died (a WARC or a record file
  cut mid-member, its CDXJ index never written): removed, with one WARNING saying how many and
  how large. Nothing points into them (record files are enqueued only after their WARCs, and the
  dedup state only after its record file), so the next run simply fetches those pages again.

One spool directory per archive URI, so a config change never sends files to the wrong archive.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from archive.keys import InvalidName, segment_cache_name, segment_partition, validate_key
from archive.storage import Storage, StorageError

logger = logging.getLogger(__name__)
# uploaded dedup segments are kept here, named by keys.segment_cache_name as the dedup state's
# loader (pipelines/dedup_state.py) looks for them, so a
# run that cannot reach storage still knows what this machine archived
STATE_CACHE = "state-cache"
_TOKEN_CHARS = 29  # "<20-digit ns>-<8 hex>"
_TOKEN_RE = re.compile(r"^\d{20}-[0-9a-f]{8}")


@dataclass(frozen=True)
class SpoolEntry:
    name: str
    key: str
    data_path: Path
    key_path: Path

    @property
    def size(self) -> int:
        return self.data_path.stat().st_size


@dataclass
class Recovery:
    """What :meth:`Spool.recover` did with the leftovers of dead processes."""

    completed: int = 0  # entries of whole batches whose keys were written
    removed_files: int = 0
    removed_bytes: int = 0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
        self._failing = False  # the last upload failed: later failures are logged quietly
        self._lock_fd = self._take_lock()
        self.recovery = self.recover()

    # -- liveness ----------------------------------------------------------------------------
    def _take_lock(self) -> int:
        # locked under a hidden name, then renamed: the lock file never exists unlocked,
        # so no other process can mistake this one for dead
        hidden = self.open_dir / f".{self._token}.lock"
        fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.replace(hidden, self.open_dir / f"{self._token}.lock")
        return fd

    def close(self) -> None:
        """Give up the liveness lock (a process's exit does the same)."""
        if self._lock_fd >= 0:
            with contextlib.suppress(FileNotFoundError):
                (self.open_dir / f"{self._token}.lock").unlink()
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _dead_tokens(self) -> dict[str, int]:
        """Tokens of files whose writer is gone, each with the fd of its (now our) lock."""
        tokens = {p.name[:_TOKEN_CHARS] for d in (self.open_dir, self.ready_dir)
                  for p in d.iterdir() if _TOKEN_RE.match(p.name)} - {self._token}
        dead: dict[str, int] = {}
        for token in sorted(tokens):
            lock = self.open_dir / f"{token}.lock"
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # its process is alive
                continue
            dead[token] = fd
        return dead

    # -- recovery ----------------------------------------------------------------------------
    def recover(self) -> Recovery:
        """Finish the whole batches and remove the partial files of dead writers (see above)."""
        done = Recovery()
        for token, fd in self._dead_tokens().items():
            try:
                self._recover_token(token, done)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    (self.open_dir / f"{token}.lock").unlink()
                os.close(fd)
        if done.completed:
            logger.warning("spool: completed %d entr(ies) a killed run had finished enqueuing",
                           done.completed)
        if done.removed_files:
            logger.warning("spool: removed %d partial file(s) (%d bytes) left in %s by killed "
                           "runs; their pages will be fetched again", done.removed_files,
                           done.removed_bytes, self.open_dir)
        return done

    def _recover_token(self, token: str, done: Recovery) -> None:
        for manifest in sorted(self.open_dir.glob(f"{token}-*.batch")):
            self._finish_batch(manifest, done)
        keyed = {p.name[: -len(".key")] for p in self.ready_dir.glob(f"{token}-*.key")}
        data = {p.name[: -len(".data")] for p in self.ready_dir.glob(f"{token}-*.data")}
        for name in sorted(data - keyed):
            self._remove(self.ready_dir / f"{name}.data", done)
        # a key whose data is gone was uploaded by a run killed before it removed the key
        # (spools before 2026-12 removed the data first)
        for name in sorted(keyed - data):
            with contextlib.suppress(FileNotFoundError):
                (self.ready_dir / f"{name}.key").unlink()
        for path in sorted(self.open_dir.glob(f"{token}-*")):
            if not path.name.endswith(".lock"):
                self._remove(path, done)

    def _finish_batch(self, manifest: Path, done: Recovery) -> None:
        try:
            items = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            items = []  # a manifest is created by rename: unreadable means damaged, not partial
        for name, key in items:
            if (self.ready_dir / f"{name}.data").exists() and \
                    not (self.ready_dir / f"{name}.key").exists():
                self._write_key(name, key)
                done.completed += 1
        with contextlib.suppress(FileNotFoundError):
            manifest.unlink()  # another process may have recovered the same batch

    def _remove(self, path: Path, done: Recovery) -> None:
        with contextlib.suppress(FileNotFoundError):
            done.removed_bytes += path.stat().st_size
            path.unlink()
            done.removed_files += 1

    # -- writing -----------------------------------------------------------------------------
    def new_path(self, suffix: str) -> Path:
        """A fresh path under open/ for a file being written."""
        return self.open_dir / f"{self._token}-{next(self._counter):06d}{suffix}"

    def _write_key(self, name: str, key: str) -> None:
        tmp = self.open_dir / f"{name}.key.tmp"
        tmp.write_text(key, encoding="utf-8")
        os.replace(tmp, self.ready_dir / f"{name}.key")

    def enqueue_batch(self, items: list[tuple[Path, str]]) -> list[SpoolEntry]:
        """Hand finished files over for upload, in this order, all or none of them even if
        the process dies half-way (see the module's docstring)."""
        for _, key in items:
            validate_key(key)
        named = [(f"{self._token}-{next(self._counter):08d}", path, key) for path, key in items]
        for _, path, _ in named:
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        for name, path, _ in named:
            os.replace(path, self.ready_dir / f"{name}.data")
        _fsync_dir(self.ready_dir)
        manifest = self.open_dir / f"{named[0][0]}.batch"
        tmp = manifest.with_suffix(".batch-tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump([[name, key] for name, _, key in named], fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, manifest)
        for name, _, key in named:
            self._write_key(name, key)
        manifest.unlink()
        return [SpoolEntry(name, key, self.ready_dir / f"{name}.data",
                           self.ready_dir / f"{name}.key") for name, _, key in named]

    def enqueue(self, path: Path, key: str) -> SpoolEntry:
        """Hand a finished file over for upload to ``key``."""
        return self.enqueue_batch([(path, key)])[0]

    def bytes_file(self, data: bytes) -> Path:
        """``data`` in a fresh file under open/, to be enqueued."""
        path = self.new_path(".part")
        with open(path, "wb") as fh:
            fh.write(data)
        return path

    def enqueue_bytes(self, data: bytes, key: str) -> SpoolEntry:
        return self.enqueue(self.bytes_file(data), key)

    # -- uploading ---------------------------------------------------------------------------
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
            # one WARNING per outage, not one per retry: the uploader retries for minutes
            level = logging.DEBUG if self._failing else logging.WARNING
            logger.log(level, "upload of %s failed, kept in spool (retried later, and by the "
                       "next run): %s", entry.key, exc)
            self._failing = True
            return False
        if self._failing:
            logger.warning("uploads work again (%s stored)", entry.key)
            self._failing = False
        if segment_partition(entry.key) is not None:
            self._keep_segment(entry)
        # the key first: a kill between the two leaves data without a key, which recovery
        # removes, never a key without data, which would wait in ready/ for ever
        with contextlib.suppress(FileNotFoundError):
            entry.key_path.unlink()
        with contextlib.suppress(FileNotFoundError):
            entry.data_path.unlink()
        return True

    def _keep_segment(self, entry: SpoolEntry) -> None:
        """Keep an uploaded dedup segment in the state cache (best effort): if storage is
        down at the start of a later run, this machine still knows its own articles."""
        cache = self.root / STATE_CACHE
        target = cache / segment_cache_name(entry.key)
        with contextlib.suppress(OSError):
            cache.mkdir(exist_ok=True)
            tmp = cache / f".{entry.name}.tmp"
            shutil.copyfile(entry.data_path, tmp)
            os.replace(tmp, target)

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
