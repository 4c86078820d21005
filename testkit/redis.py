"""Debian's ``redis-server`` for the cluster tests and the cluster bench: installed by
``make test`` before the tests, started on a free loopback port by a fixture.

``python -m testkit.redis --install`` (run by ``make test``) installs the ``redis-server``
package with apt-get when no ``redis-server`` is on PATH: as root, or through ``sudo -n`` where
that needs no password. Where neither works it says so and exits 0, and the cluster tests skip
with that reason (:func:`find_redis_server`): the rest of the suite still runs. Tests never
install anything.

A :class:`RedisServer` keeps nothing on disk unless asked (``--save '' --appendonly no``, as a
cache or a throwaway queue); :meth:`RedisServer.restart` saves a snapshot first
(``SHUTDOWN SAVE``), as ``systemctl restart redis-server`` does with Debian's config, and starts
again on the same port, so queued messages survive the restart while the clients lose their
connections.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from testkit.apt import apt_install

_START_TIMEOUT = 20.0
_STOP_TIMEOUT = 20.0
_INSTALL_HINT = ("make test installs it with apt-get where it can (root or passwordless sudo); "
                 "else: apt-get install redis-server")


class RedisError(RuntimeError):
    """redis-server is missing or could not be started."""


def find_redis_server() -> str:
    """The ``redis-server`` binary; RedisError saying how to get it when there is none."""
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.access(p, os.X_OK)),
        None)
    if found is None:
        raise RedisError(f"no redis-server on this machine: {_INSTALL_HINT}")
    return found


def ensure_installed() -> str | None:
    """Install Debian's redis-server if missing; the binary, or None (with a line saying why)."""
    try:
        return find_redis_server()
    except RedisError:
        pass
    problem = apt_install("redis-server")
    if problem is not None:
        print(f"testkit.redis: redis-server is missing and {problem}\nThe cluster tests will "
              f"skip. {_INSTALL_HINT}", file=sys.stderr)
        return None
    return find_redis_server()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it, with openssl:
    (CA certificate, server certificate, server key)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for args in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
         "-days", "2", "-subj", "/CN=newsarchive-test-ca"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
         "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out",
         cert, "-days", "2", "-extfile", folder / "san.ext"],
    ):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
    return ca, cert, key


class RedisServer:
    """One ``redis-server`` on 127.0.0.1, its files in ``data_dir``; stopped by its pid. With
    ``tls``, it speaks TLS only (a certificate made by :func:`make_certificates`)."""

    def __init__(self, data_dir: Path, password: str | None = None, tls: bool = False) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.password = password
        self.port = 0
        self.certificates = make_certificates(self.data_dir / "tls") if tls else None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.certificates:
            return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.certificates[0]}"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    def start(self) -> RedisServer:
        binary = find_redis_server()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        ports = ["--port", str(self.port)]
        if self.certificates:
            ca, cert, key = self.certificates
            ports = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(cert),
                     "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
                     "--tls-auth-clients", "no"]
        args = [binary, *ports, "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.data_dir), "--daemonize", "no",
                "--logfile", str(self.log_path)]
        if self.password:
            args += ["--requirepass", self.password]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RedisError(f"redis-server exited ({self._proc.returncode}): "
                                 f"{self._log_tail()}")
            try:
                if self.command("PING") == "PONG":
                    return
            except OSError:
                time.sleep(0.05)
        raise RedisError(f"redis-server did not answer within {_START_TIMEOUT}s")

    def command(self, *words: str) -> str:
        """One command over a raw socket (no client library needed): its first reply line."""
        commands = [("AUTH", self.password)] if self.password else []
        commands.append(words)
        with self._connect() as sock:
            for command in commands:
                sock.sendall(f"*{len(command)}\r\n".encode() + b"".join(
                    f"${len(w.encode())}\r\n{w}\r\n".encode() for w in command))
            replies = sock.makefile("rb")
            reply = ""
            for _ in commands:
                reply = replies.readline().decode().strip()
        return reply.lstrip("+:$")

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if not self.certificates:
            return sock
        context = ssl.create_default_context(cafile=str(self.certificates[0]))
        return context.wrap_socket(sock, server_hostname="127.0.0.1")

    def restart(self, down_for: float = 0.0) -> None:
        """Stop with a snapshot saved, stay down ``down_for`` seconds, start on the same port."""
        proc = self._proc
        if proc is not None:
            try:
                self.command("SHUTDOWN", "SAVE")
            except OSError:
                pass  # the connection closes as the server exits
            proc.wait(_STOP_TIMEOUT)
            self._proc = None
        time.sleep(down_for)
        self.start()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def __enter__(self) -> RedisServer:
        return self.start() if self._proc is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit.redis")
    parser.add_argument("--install", action="store_true",
                        help="install Debian's redis-server with apt-get if it is missing")
    args = parser.parse_args()
    binary = ensure_installed() if args.install else None
    if binary:
        print(f"testkit.redis: {binary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
