"""Shared fixtures: one SeaweedFS server per session, a fresh bucket or directory per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from archive.local import LocalStorage
from archive.s3 import MiB, S3Storage
from archive.storage import Storage
from testkit.seaweed import SeaweedServer

# S3's smallest part is 5 MiB: with these, a ~12 MiB file takes the multipart path in 3 parts
S3_TEST_PART_SIZE = 5 * MiB
# small pages so that a handful of objects already spans several ListObjectsV2 calls
S3_TEST_PAGE_SIZE = 3


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    with SeaweedServer(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture
def make_s3_storage(s3_server: SeaweedServer) -> Callable[..., S3Storage]:
    """Build an S3Storage on ``s3://<bucket>/archive`` (a new bucket unless one is given).

    Keyword options override the test settings, e.g. ``secret_key="wrong"``.
    """

    def make(bucket: str | None = None, **options: Any) -> S3Storage:
        if bucket is None:
            bucket = f"test-{uuid.uuid4().hex[:16]}"
            s3_server.create_bucket(bucket)
        settings: dict[str, Any] = {
            "endpoint_url": s3_server.endpoint_url,
            "access_key": s3_server.access_key,
            "secret_key": s3_server.secret_key,
            "multipart_threshold": S3_TEST_PART_SIZE,
            "multipart_chunksize": S3_TEST_PART_SIZE,
            "page_size": S3_TEST_PAGE_SIZE,
        }
        settings.update(options)
        return S3Storage.from_uri(f"s3://{bucket}/archive", **settings)

    return make


@pytest.fixture
def s3_storage(make_s3_storage: Callable[..., S3Storage]) -> S3Storage:
    return make_s3_storage()


@pytest.fixture
def local_storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "archive")


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest) -> Storage:
    """Each test using this runs once per backend; the S3 server starts only when needed."""
    return request.getfixturevalue(f"{request.param}_storage")
