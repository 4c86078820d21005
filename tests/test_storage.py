"""What the archive relies on from a storage backend, checked on the local path and on S3."""

from __future__ import annotations

import errno
import os
import socket
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

import archive.local
from archive.keys import InvalidName
from archive.leases import acquire, local_lock_path
from archive.local import LocalStorage
from archive.s3 import MiB, S3Storage
from archive.storage import ObjectInfo, Storage, StorageAccessDenied, StorageError
from testkit.seaweed import SeaweedServer

BAD_KEYS = ["../x", "a//b", "/abs", "", "a/../b", "a/./b", "a/"]


def _s3_requests(storage: S3Storage, event: str = "before-send.s3") -> list[str]:
    """Names of the botocore ``event`` fired by the storage's client from now on, as they come."""
    sent: list[str] = []

    def record(**kwargs: Any) -> None:
        sent.append(kwargs["event_name"])

    storage.client.meta.events.register(event, record)
    return sent


def test_bytes_round_trip_and_replace(storage: Storage) -> None:
    storage.put_bytes("runs/date=2024-05-01/c1.json", b'{"ok": true}')
    assert storage.get_bytes("runs/date=2024-05-01/c1.json") == b'{"ok": true}'
    assert storage.exists("runs/date=2024-05-01/c1.json")

    storage.put_bytes("runs/date=2024-05-01/c1.json", b"second")
    assert storage.get_bytes("runs/date=2024-05-01/c1.json") == b"second"
    assert list(storage.list("runs/")) == [ObjectInfo("runs/date=2024-05-01/c1.json", 6)]


def test_large_file_round_trip_uses_multipart(storage: Storage, tmp_path: Path) -> None:
    data = os.urandom(12 * MiB + 12345)  # three 5 MiB parts on S3, the last one short
    source = tmp_path / "big.warc.gz"
    source.write_bytes(data)

    storage.put_file("raw/big.warc.gz", source)

    assert storage.get_bytes("raw/big.warc.gz") == data
    with storage.open_read("raw/big.warc.gz") as stream:
        assert stream.read(1000) == data[:1000]
        assert stream.read() == data[1000:]
    assert list(storage.list("raw/")) == [ObjectInfo("raw/big.warc.gz", len(data))]
    if isinstance(storage, S3Storage):
        head = storage.client.head_object(Bucket=storage.bucket, Key="archive/raw/big.warc.gz")
        assert head["ETag"].strip('"').endswith("-3"), "expected a 3-part multipart upload"


def _break_uploads_midway(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next put_file fail after some of its bytes have been sent."""
    if isinstance(storage, S3Storage):

        def fail_second_part(**kwargs: Any) -> None:
            if kwargs["params"]["PartNumber"] == 2:
                raise OSError(errno.EIO, "injected read error")

        event = "before-parameter-build.s3.UploadPart"
        storage.client.meta.events.register(event, fail_second_part)
        return

    def copy_then_fail(src: Any, dst: Any, length: int = 0) -> None:
        dst.write(src.read(MiB))
        raise OSError(errno.EIO, "injected read error")

    monkeypatch.setattr(archive.local.shutil, "copyfileobj", copy_then_fail)


def test_failed_upload_leaves_previous_object_and_no_debris(
    storage: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage.put_bytes("raw/part.warc.gz", b"previous version")
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(12 * MiB))
    _break_uploads_midway(storage, monkeypatch)

    with pytest.raises(StorageError, match="raw/part.warc.gz"):
        storage.put_file("raw/part.warc.gz", source)
    with pytest.raises(StorageError):
        storage.put_file("raw/new.warc.gz", source)

    assert storage.get_bytes("raw/part.warc.gz") == b"previous version"
    assert not storage.exists("raw/new.warc.gz")
    assert [info.key for info in storage.list("")] == ["raw/part.warc.gz"]
    if isinstance(storage, S3Storage):
        uploads = storage.client.list_multipart_uploads(Bucket=storage.bucket)
        assert uploads.get("Uploads", []) == [], "failed multipart uploads must be aborted"
    else:
        assert isinstance(storage, LocalStorage)
        assert list((storage.root / ".tmp").iterdir()) == []


def test_temp_files_of_killed_writers_are_removed_by_a_later_one(tmp_path: Path) -> None:
    """A kill -9 during a local write leaves its temp file; the next writer into that root
    removes it, and leaves alone the one a live writer is filling right now."""
    root = tmp_path / "archive"
    (root / ".tmp").mkdir(parents=True)
    dead, live = root / ".tmp" / "put-dead", root / ".tmp" / "put-live"
    dead.write_bytes(b"half a WARC")
    live.write_bytes(b"being written")
    old = time.time() - 2 * archive.local.STALE_TEMP_SECONDS
    os.utime(dead, (old, old))
    LocalStorage(root).put_bytes("runs/date=2026-11-25/c.json", b"{}")
    assert not dead.exists() and live.exists()
    assert sorted(p.name for p in (root / ".tmp").iterdir()) == ["put-live"]


def test_list_filters_by_prefix_in_key_order_across_pages(storage: Storage) -> None:
    day1 = [f"raw/date=2024-01-01/site=s{i % 3}/c-{i:05d}.warc.gz" for i in range(10)]
    day2 = [f"raw/date=2024-01-02/site=s0/c-{i:05d}.warc.gz" for i in range(2)]
    for i, key in enumerate(day1 + day2 + ["records/date=2024-01-01/x.jsonl.gz"]):
        storage.put_bytes(key, b"x" * i)
    sizes = {key: i for i, key in enumerate(day1 + day2)}
    s3_pages = None
    if isinstance(storage, S3Storage):
        s3_pages = _s3_requests(storage, "after-call.s3.ListObjectsV2")

    listed = list(storage.list("raw/date=2024-01-01/"))

    assert [info.key for info in listed] == sorted(day1)
    assert all(info.size == sizes[info.key] for info in listed)
    if s3_pages is not None:
        assert len(s3_pages) >= 4, "10 objects at 3 per page must take several pages"
    # a prefix may end inside a segment
    assert [i.key for i in storage.list("raw/date=2024-01")] == sorted(day1 + day2)
    assert len(list(storage.list(""))) == 13
    assert list(storage.list("dumps/")) == []


def test_s3_list_stays_inside_the_archive_prefix(s3_storage: S3Storage) -> None:
    s3_storage.put_bytes("raw/a", b"1")
    for outside in ("archive2/raw/b", "raw/c", "archive"):
        s3_storage.client.put_object(Bucket=s3_storage.bucket, Key=outside, Body=b"2")
    # a folder marker made by another tool is not an object of the archive
    s3_storage.client.put_object(Bucket=s3_storage.bucket, Key="archive/raw/dir/", Body=b"")

    assert [info.key for info in s3_storage.list("")] == ["raw/a"]
    assert [info.key for info in s3_storage.list("raw")] == ["raw/a"]


def test_read_range(storage: Storage) -> None:
    data = bytes(range(256)) * 4
    storage.put_bytes("state/blob.bin", data)

    assert storage.read_range("state/blob.bin", 0, 10) == data[:10]
    assert storage.read_range("state/blob.bin", 100, 50) == data[100:150]
    assert storage.read_range("state/blob.bin", 1000, 100) == data[1000:]  # short at the end
    assert storage.read_range("state/blob.bin", 5000, 10) == b""
    assert storage.read_range("state/blob.bin", 10, 0) == b""


def test_create_exclusive_only_once(storage: Storage) -> None:
    assert storage.create_exclusive("state/lock", b"first") is True
    assert storage.create_exclusive("state/lock", b"second") is False
    assert storage.get_bytes("state/lock") == b"first"


def test_delete_is_idempotent(storage: Storage) -> None:
    storage.put_bytes("raw/gone", b"x")
    storage.delete("raw/gone")
    storage.delete("raw/gone")
    storage.delete("raw/never-there")
    assert not storage.exists("raw/gone")
    assert list(storage.list("raw/")) == []


def test_missing_key_is_file_not_found(storage: Storage) -> None:
    with pytest.raises(FileNotFoundError):
        storage.get_bytes("raw/missing")
    with pytest.raises(FileNotFoundError):
        storage.open_read("raw/missing")
    with pytest.raises(FileNotFoundError):
        storage.read_range("raw/missing", 0, 10)
    with pytest.raises(FileNotFoundError):
        storage.read_range("raw/missing", 0, 0)
    assert storage.exists("raw/missing") is False


def _all_key_operations(storage: Storage, key: str, source: Path) -> list[Callable[[], Any]]:
    return [
        lambda: storage.put_bytes(key, b"x"),
        lambda: storage.put_file(key, source),
        lambda: storage.create_exclusive(key, b"x"),
        lambda: storage.get_bytes(key),
        lambda: storage.open_read(key),
        lambda: storage.read_range(key, 0, 1),
        lambda: storage.read_range(key, 0, 0),
        lambda: storage.exists(key),
        lambda: storage.delete(key),
    ]


@pytest.mark.parametrize("bad_key", BAD_KEYS)
def test_invalid_keys_rejected_before_any_io(
    storage: Storage, bad_key: str, tmp_path: Path
) -> None:
    source = tmp_path / "src.bin"
    source.write_bytes(b"data")
    sent = _s3_requests(storage) if isinstance(storage, S3Storage) else []

    for operation in _all_key_operations(storage, bad_key, source):
        with pytest.raises(InvalidName):
            operation()
    for bad_prefix in ("../", "/abs", "a//", "..", "raw/../"):
        with pytest.raises(InvalidName):
            list(storage.list(bad_prefix))

    assert sent == []
    if isinstance(storage, LocalStorage):
        assert not storage.root.exists()


def test_s3_wrong_secret_fails_without_leaking_credentials(
    s3_server: SeaweedServer,
    s3_storage: S3Storage,
    make_s3_storage: Callable[..., S3Storage],
    tmp_path: Path,
) -> None:
    s3_storage.put_bytes("raw/a", b"x")
    wrong_secret = "WrongSecret" + s3_server.secret_key[::-1]
    bad = make_s3_storage(s3_storage.bucket, secret_key=wrong_secret)
    source = tmp_path / "f.bin"
    source.write_bytes(b"y")
    operations: list[Callable[[], Any]] = [
        lambda: bad.put_bytes("raw/b", b"y"),
        lambda: bad.put_file("raw/b", source),
        lambda: bad.create_exclusive("raw/b", b"y"),
        lambda: bad.get_bytes("raw/a"),
        lambda: bad.read_range("raw/a", 0, 1),
        lambda: bad.exists("raw/a"),
        lambda: bad.delete("raw/a"),
        lambda: list(bad.list("")),
    ]

    for operation in operations:
        with pytest.raises(StorageAccessDenied) as caught:
            operation()
        message = str(caught.value)
        assert s3_storage.bucket in message and "403" in message
        whole_report = "".join(traceback.format_exception(caught.value))
        for credential in (s3_server.access_key, wrong_secret, s3_server.secret_key):
            assert credential not in whole_report
    assert s3_storage.get_bytes("raw/a") == b"x"
    assert not s3_storage.exists("raw/b")


def test_s3_refusals_are_told_apart_from_outages(
    s3_server: SeaweedServer,
    s3_storage: S3Storage,
    make_s3_storage: Callable[..., S3Storage],
) -> None:
    """Read-only keys and a missing bucket are refusals (a crawl fails at once, and no lease
    is taken); a server nobody answers on is an outage (the crawl spools under a local lease)."""
    reader = make_s3_storage(s3_storage.bucket, access_key=s3_server.read_only_keys[0],
                             secret_key=s3_server.read_only_keys[1])
    s3_storage.put_bytes("raw/a", b"x")
    assert reader.get_bytes("raw/a") == b"x"  # reading works: only a write tells
    with pytest.raises(StorageAccessDenied, match="AccessDenied"):
        acquire(reader, "news", "crawl-1", ttl=60)
    assert list(s3_storage.list("locks/")) == []
    no_bucket = make_s3_storage("no-such-bucket-" + s3_storage.bucket[-8:])
    with pytest.raises(StorageAccessDenied, match="NoSuchBucket"):
        acquire(no_bucket, "news", "crawl-1", ttl=60)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    down = make_s3_storage(s3_storage.bucket, endpoint_url=closed, max_attempts=1)
    with pytest.raises(StorageError) as caught:
        down.put_bytes("raw/b", b"y")
    assert not isinstance(caught.value, StorageAccessDenied)
    lease = acquire(down, "news", "crawl-1", ttl=60)
    try:
        assert lease.local and lease.info["lock"] == str(local_lock_path(down, "news"))
    finally:
        lease.release()


class _NoDeleting(LocalStorage):
    """Credentials that may write but not delete (no s3:DeleteObject, an object lock)."""

    def delete(self, key: str) -> None:
        raise StorageAccessDenied(f"deleting {key} failed: AccessDenied (HTTP 403)")


def test_a_lease_is_taken_where_old_leases_cannot_be_deleted(tmp_path: Path, caplog) -> None:
    storage = _NoDeleting(tmp_path / "archive")
    for crawl in ("crawl-1", "crawl-2", "crawl-3"):  # the third would remove the first
        lease = acquire(storage, "news", crawl, ttl=60)
        assert not lease.local and lease.info["crawl_id"] == crawl
        lease.release()
    assert "could not remove the old lease" in caplog.text


def test_s3_server_refuses_unsigned_requests(
    s3_server: SeaweedServer, s3_storage: S3Storage
) -> None:
    s3_storage.put_bytes("raw/a", b"secret data")
    anonymous = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}),
    )

    with pytest.raises(ClientError) as put_refused:
        anonymous.put_object(Bucket=s3_storage.bucket, Key="archive/raw/b", Body=b"x")
    with pytest.raises(ClientError) as get_refused:
        anonymous.get_object(Bucket=s3_storage.bucket, Key="archive/raw/a")

    for refused in (put_refused, get_refused):
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert not s3_storage.exists("raw/b")


def test_s3_from_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    # no region from the developer's own AWS setup may leak into the check of the default
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")

    storage = S3Storage.from_uri("s3://news-bucket/a/b/", endpoint_url="http://127.0.0.1:9")

    assert (storage.bucket, storage.prefix) == ("news-bucket", "a/b")
    assert storage.location("raw/x") == "s3://news-bucket/a/b/raw/x"
    assert storage.location() == "s3://news-bucket/a/b"
    assert S3Storage.from_uri("s3://news-bucket").location("k") == "s3://news-bucket/k"
    assert storage.client.meta.config.s3["addressing_style"] == "path"
    assert storage.client.meta.region_name == "us-east-1"


@pytest.mark.parametrize(
    "uri",
    [
        "s3://Bad_Bucket/x",
        "s3://ab",
        "s3://a..b/x",
        "s3://192.168.1.1/x",
        "s3://-bucket/x",
        "s3://bucket/../x",
        "s3://bucket/a//b",
        "s3://user:pw@bucket/x",
        "s3://bucket/x?y=1",
        "http://bucket/x",
    ],
)
def test_s3_from_uri_rejects_bad_names(uri: str) -> None:
    with pytest.raises(InvalidName):
        S3Storage.from_uri(uri)
