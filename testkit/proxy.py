"""A real forward proxy on loopback for the proxy tests: proxy.py (PyPI ``proxy.py``, a test
extra), which forwards plain HTTP requests, tunnels CONNECT and checks HTTP Basic
credentials (``Proxy-Authorization``).

``ForwardProxy(host, log_dir, basic_auth="user:pass")`` starts it in a child process on a
free port of ``host``, and :meth:`ForwardProxy.requests` reads back what it forwarded (the
plugin of :mod:`testkit.proxy_log`): ``("GET", "127.0.0.1:8080/path")`` or
``("CONNECT", "host:443")``. Its own log (refusals included) is :meth:`ForwardProxy.log_text`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from testkit.proxy_log import LOG_ENV

_REPO = Path(__file__).resolve().parents[1]  # where the plugin's module is imported from
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


class ProxyError(RuntimeError):
    """The proxy could not be started."""


class ForwardProxy:
    def __init__(self, host: str, log_dir: Path, basic_auth: str | None = None) -> None:
        self.host = host
        self.log_file = log_dir / "proxy.log"
        self._port_file = log_dir / "proxy.port"
        self.request_log = log_dir / "requests.log"
        self._basic_auth = basic_auth
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ForwardProxy:
        args = [sys.executable, "-m", "proxy", "--hostname", self.host, "--port", "0",
                "--port-file", str(self._port_file), "--num-acceptors", "1",
                "--num-workers", "1", "--log-level", "INFO", "--log-file", str(self.log_file),
                "--plugins", "testkit.proxy_log.RequestLog"]
        if self._basic_auth:
            args += ["--basic-auth", self._basic_auth]
        self._port_file.unlink(missing_ok=True)
        self.request_log.write_text("")
        env = {**os.environ, LOG_ENV: str(self.request_log),
               "PYTHONPATH": os.pathsep.join(filter(None, (str(_REPO),
                                                          os.environ.get("PYTHONPATH"))))}
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, env=env, cwd=_REPO)
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            text = self._port_file.read_text().strip() if self._port_file.exists() else ""
            if text.isdigit() and int(text):
                self.port = int(text)
                return self
            if self._process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise ProxyError(f"proxy.py did not start on {self.host}; its log: {self.log_text()}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def requests(self) -> list[tuple[str, str]]:
        """(method, target) of each request the proxy forwarded, in order."""
        lines = self.request_log.read_text().splitlines() if self.request_log.exists() else []
        return [(method, target) for method, _, target in
                (line.partition(" ") for line in lines)]

    def __enter__(self) -> ForwardProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
