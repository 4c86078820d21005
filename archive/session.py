"""One crawl's archive output: rolling WARC and record files per (day, site), and their upload.

Ordering is the consistency rule: a record file is enqueued only after every WARC file its
records point into, and each WARC's CDXJ index right after that WARC; state and reports are
enqueued after the records. The spool uploads in enqueue order, so whatever moment a crash
picks, the archive never holds a record or an index entry whose WARC is missing. Closing and
spooling a finished file (its fsyncs) runs on a committer thread, one commit after the other in
the order they were made, and uploads on another, so that neither a disk nor storage latency
ever stalls the crawl's thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive import keys
from archive.records import Record, RecordFile
from archive.spool import Spool
from archive.storage import Storage
from archive.warc import HttpExchange, RenderedDom, RevisitOf, WarcFile, WarcPointer

logger = logging.getLogger(__name__)
# finishing gives up after this long without one successful upload (storage unreachable)
STALL_SECONDS = 60.0


@dataclass
class SiteOutput:
    raw_bytes: int = 0
    record_bytes: int = 0
    files: list[str] = field(default_factory=list)


class Uploader(threading.Thread):
    """Drains the spool in order while the crawl runs; retries with backoff on failure."""

    def __init__(self, spool: Spool, storage: Storage, max_backoff: float = 30.0,
                 stall_seconds: float = STALL_SECONDS) -> None:
        super().__init__(name="newsarchive-uploader", daemon=True)
        self.spool, self.storage = spool, storage
        self.max_backoff = max_backoff
        self.stall_seconds = stall_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # one drain at a time, so order holds

    def _drain(self, deadline: float | None = None) -> int:
        """One drain; with ``deadline``, not waiting past it for the other drain's lock (then
        the count of what is pending)."""
        wait = -1 if deadline is None else max(deadline - time.monotonic(), 0.0)
        if not self._lock.acquire(timeout=wait):
            return len(self.spool.pending())
        try:
            return self.spool.drain(self.storage)
        finally:
            self._lock.release()

    def poke(self) -> None:
        self._wake.set()

    def run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            self._wake.wait(timeout=5.0)
            self._wake.clear()
            if self._stopping.is_set():
                return
            if self._drain():
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                self._wake.set()
            else:
                backoff = 0.5

    def finish(self, timeout: float) -> int:
        """Stop the thread, then drain here; how many files remain only in the spool.

        Bounded twice: ``timeout`` in all, and ``stall_seconds`` without a single successful
        upload (storage unreachable: waiting longer only delays the exit code that says so;
        the files wait in the spool for the next run)."""
        self._stopping.set()
        self._wake.set()
        start = time.monotonic()
        deadline = start + timeout
        self.join(timeout=max(min(timeout, self.stall_seconds), 1.0))
        backoff, last_progress, before = 0.5, start, None
        while True:
            pending = self._drain(deadline)
            now = time.monotonic()
            if before is None or pending < before:
                last_progress, before = now, pending
            if not pending or now + backoff >= deadline:
                break
            if now + backoff - last_progress > self.stall_seconds:
                logger.error("storage unreachable: no upload succeeded for %.0f s, giving up "
                             "with %d file(s) in the spool", now - last_progress, pending)
                break
            time.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)
        return pending


class ArchiveSession:
    def __init__(self, storage: Storage, spool: Spool, crawl_id: str, software: str,
                 roll_bytes: int) -> None:
        self.storage, self.spool = storage, spool
        self.crawl_id = keys.validate_crawl_id(crawl_id)
        self.software = software
        self.roll_bytes = max(int(roll_bytes), 1)
        self._warcs: dict[tuple[str, str], WarcFile] = {}
        self._records: dict[tuple[str, str], RecordFile] = {}
        self._record_warcs: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._seq: dict[tuple[str, str, str], int] = defaultdict(int)
        self.sites: dict[str, SiteOutput] = defaultdict(SiteOutput)
        # turns the states of a record file's records into the bytes of its state segment;
        # set by the stage that knows the state's format (the store pipeline)
        self.state_encoder: Callable[[list[Any]], bytes] | None = None
        # told (site, key, message) of every file lost to a local write error (disk full)
        # while committing, when no caller is there to catch it; the run must not exit 0
        self.on_write_error: Callable[[str, str, str], None] | None = None
        self._committer = ThreadPoolExecutor(max_workers=1,
                                             thread_name_prefix="newsarchive-commit")
        self._lost_warcs: set[str] = set()  # WARCs the committer could not spool
        self.uploader = Uploader(spool, storage)
        self.uploader.start()

    # -- raw responses ---------------------------------------------------------------------
    def write_exchange(self, site: str, day: str, exchange: HttpExchange,
                       original: RevisitOf | None = None, rendered: RenderedDom | None = None
                       ) -> WarcPointer:
        warc = self._warcs.get((day, site))
        if warc is None:
            seq = self._next_seq(keys.RAW, day, site)
            key = keys.raw_key(day, site, self.crawl_id, seq)
            warc = WarcFile(self.spool.new_path(".warc.gz"), key, self.software,
                            index_path=self.spool.new_path(".cdxj"))
            self._warcs[(day, site)] = warc
        pointer = warc.write_exchange(exchange, original, rendered)
        if warc.size >= self.roll_bytes:
            self._commit_warc(day, site)
        return pointer

    # -- records -----------------------------------------------------------------------------
    def write_record(self, site: str, day: str, record: Record | Mapping[str, Any],
                     state: Any = None) -> None:
        """Append a record (a Record, or a mapping of its fields, as tools and tests write);
        ``state`` is what the dedup state must learn about it, stored right after the record
        file (see ``state_encoder``)."""
        rec = self._records.get((day, site))
        if rec is None:
            seq = self._next_seq(keys.RECORDS, day, site)
            key = keys.records_key(day, site, self.crawl_id, seq)
            rec = RecordFile(self.spool.new_path(".jsonl.gz"), key)
            self._records[(day, site)] = rec
        try:
            fields = rec.write(record)
        except OSError:
            # the gzip stream lost bytes it had already consumed: the whole file is unusable.
            # Its dedup segment is dropped with it, so the next run records these again
            self._drop(self._records.pop((day, site)).path, rec.close)
            raise
        if state is not None:
            rec.states.append(state)
        if fields["warc_filename"]:
            self._record_warcs[(day, site)].add(fields["warc_filename"])
        if rec.size >= self.roll_bytes:
            self._commit_records(day, site)

    def enqueue_bytes(self, key: str, data: bytes) -> None:
        """A small object (state, report) that must follow everything enqueued so far.
        Not spooled if the disk is full: reported, and the run fails."""
        try:
            self.spool.enqueue_bytes(data, key)
        except OSError as exc:
            if self.on_write_error is None:
                raise
            self.on_write_error("", key, str(exc))
            return
        self.uploader.poke()

    # -- committing ----------------------------------------------------------------------------
    def _next_seq(self, kind: str, day: str, site: str) -> int:
        seq = self._seq[(kind, day, site)]
        self._seq[(kind, day, site)] = seq + 1
        return seq

    # Closing a file and spooling it fsyncs: that runs on the committer, one thread taking the
    # commits in the order they are made, so the order rule above holds and the thread that
    # writes (the crawl's reactor thread) never waits for a disk.
    def _commit_warc(self, day: str, site: str) -> None:
        warc = self._warcs.pop((day, site), None)
        if warc is not None:
            self._committer.submit(self._finish_warc, site, warc)

    def _commit_records(self, day: str, site: str) -> None:
        rec = self._records.pop((day, site), None)
        if rec is None:
            return
        warcs = frozenset(self._record_warcs.pop((day, site), ()))
        open_warc = self._warcs.get((day, site))
        if open_warc is not None and open_warc.key in warcs:
            self._commit_warc(day, site)
        self._committer.submit(self._finish_records, site, rec, warcs)

    def _finish_warc(self, site: str, warc: WarcFile) -> None:
        """On the committer: close a WARC and spool it with its index right behind it (the
        index never points at a WARC not stored)."""
        index_key = keys.cdxj_key_for(warc.key)
        try:
            warc.close()
            self.spool.enqueue_batch([(warc.path, warc.key), (warc.index_path, index_key)])
        except Exception as exc:  # nobody reads the committer's futures: every failure here
            self._lost_warcs.add(warc.key)
            self._lost(site, warc.key, exc, warc.path, warc.close, warc.index_path)
            return
        out = self.sites[site]
        out.raw_bytes += warc.size + warc.index_size
        out.files += [warc.key, index_key]
        self.uploader.poke()

    def _finish_records(self, site: str, rec: RecordFile, warcs: frozenset[str]) -> None:
        """On the committer: close a record file and spool it with its dedup state segment."""
        lost = sorted(warcs & self._lost_warcs)
        if lost:
            # its records point into a WARC that could not be stored: dropped with it, so the
            # next run fetches and records those pages again
            self._lost(site, rec.key, OSError(f"it points into {lost[0]}, which was lost"),
                       rec.path, rec.close)
            return
        try:
            rec.close()
            size = rec.path.stat().st_size
            batch = [(rec.path, rec.key)]
            if rec.states and self.state_encoder is not None:
                # right behind its record file, and in one batch with it: whatever moment a
                # crash picks, the state never claims a record that is not stored, and a
                # stored record is never left unclaimed (the next run would record it again)
                segment = self.spool.bytes_file(self.state_encoder(rec.states))
                batch.append((segment, keys.dedup_segment_key_for(rec.key)))
            self.spool.enqueue_batch(batch)
        except Exception as exc:  # a full disk, or a bug: either way the file is lost
            self._lost(site, rec.key, exc, rec.path, rec.close)
            return
        out = self.sites[site]
        out.record_bytes += size
        out.files.append(rec.key)
        self.uploader.poke()

    def _lost(self, site: str, key: str, exc: Exception, path: Path, close: Callable[[], None],
              *others: Path | None) -> None:
        reason = (exc.strerror if isinstance(exc, OSError) else None) or repr(exc)
        logger.error("could not finish %s in the spool, dropped (its pages will be fetched "
                     "again by the next run): %s", key, reason)
        self._drop(path, close, *others)
        if self.on_write_error is not None:
            self.on_write_error(site, key, reason)

    def commit_all(self) -> None:
        """Close and enqueue every open file (WARCs first, then the records pointing at them),
        and wait until the committer has spooled them. A file that cannot be finished (disk
        full) is dropped and reported, the others go on."""
        for day, site in list(self._warcs):
            self._commit_warc(day, site)
        for day, site in list(self._records):
            self._commit_records(day, site)
        self._committer.submit(lambda: None).result()

    @staticmethod
    def _drop(path: Path, close: Callable[[], None], *others: Path | None) -> None:
        with contextlib.suppress(OSError):
            close()
        for leftover in (path, *others):
            if leftover is not None:
                with contextlib.suppress(OSError):
                    leftover.unlink()

    def finish(self, upload_timeout: float) -> int:
        """Upload what is queued; returns how many files are still only in the spool."""
        self._committer.shutdown(wait=True)
        return self.uploader.finish(upload_timeout)
