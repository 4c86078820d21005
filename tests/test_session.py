"""The archive session's commits: in order, off the writing thread, and never a record whose
WARC was lost."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest

from archive.local import LocalStorage
from archive.records import iter_records
from archive.session import ArchiveSession
from archive.spool import Spool
from archive.warc import HttpExchange

DAY = "2026-11-25"


def _exchange(url: str) -> HttpExchange:
    return HttpExchange(url=url, method="GET", request_headers=[(b"User-Agent", b"t")],
                        request_body=b"",
                        status=200, response_headers=[(b"Content-Type", b"text/html")],
                        body=b"<p>" + b"x" * 600 + b"</p>", protocol="HTTP/1.1",
                        ip_address=None, warc_date=f"{DAY}T10:00:00Z")


class _FailingSpool(Spool):
    """Spools like the real one, but the first WARC batch fails with ``error``, and each batch
    remembers the thread that spooled it."""

    def __init__(self, base_dir: Path, location: str, error: Exception) -> None:
        super().__init__(base_dir, location)
        self.error = error
        self.threads: list[str] = []
        self.failed: list[str] = []

    def enqueue_batch(self, items: list[tuple[Path, str]]) -> list:
        self.threads.append(threading.current_thread().name)
        if items[0][1].endswith(".warc.gz") and not self.failed:
            self.failed.append(items[0][1])
            raise self.error
        return super().enqueue_batch(items)


# a full disk at that moment, or a bug: either way nothing may point at the lost WARC
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"),
                                   ValueError("a bug in a commit")])
def test_records_pointing_into_a_lost_warc_are_dropped_with_it(tmp_path: Path,
                                                               error: Exception) -> None:
    storage = LocalStorage(tmp_path / "archive")
    spool = _FailingSpool(tmp_path / "spool", "test", error)
    lost: list[tuple[str, str]] = []
    session = ArchiveSession(storage, spool, "c1", "t", roll_bytes=1500)
    session.on_write_error = lambda site, key, message: lost.append((site, key))
    for i in range(8):
        pointer = session.write_exchange("a", DAY, _exchange(f"https://a.example/{i}"))
        # incompressible text: each record file rolls after a record or two
        session.write_record("a", DAY, {"url": f"https://a.example/{i}",
                                        "text": secrets.token_hex(600),
                                        "warc_filename": pointer.filename})
    session.commit_all()
    assert session.finish(30) == 0
    # nothing in the archive points at a WARC that is not there
    records = [r for info in storage.list("records/")
               for r in iter_records(storage.open_read(info.key))]
    assert records and all(storage.exists(r["warc_filename"]) for r in records)
    assert spool.failed[0] not in {r["warc_filename"] for r in records}
    assert any(key.endswith(".jsonl.gz") for _, key in lost)
    assert {site for site, _ in lost} == {"a"}
    # the fsyncing commits ran on the committer, not on the thread that wrote
    assert spool.threads and threading.current_thread().name not in spool.threads
