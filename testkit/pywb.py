"""pywb for tests: installed into a virtual environment of its own, and its ``wayback`` server
run on a loopback port as a child process.

pywb pins old versions of libraries the project uses too (gevent, jinja2, werkzeug ...), so it
never goes into the project's venv: :func:`ensure_pywb` (``python -m testkit.pywb DIR``, which
``make test`` runs before the tests) makes ``DIR`` with ``python -m venv`` and pip-installs
:data:`PYWB_REQUIREMENT` there once; a stamp file written last marks a complete install, so an
interrupted one is redone rather than half used. The tests only use it
(:func:`installed_pywb`): no test goes to the network.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

PYWB_REQUIREMENT = "pywb==2.10.0"
_INSTALL_TIMEOUT = 900  # seconds; a cold pip install takes well under a minute
_START_TIMEOUT = 60
_START_ATTEMPTS = 3  # another process may take the port between our check and pywb's bind
_LOG_TAIL_CHARS = 3000


class PywbError(Exception):
    """pywb could not be installed or started."""


def _stamp(venv: Path) -> Path:
    return venv / (".installed-" + PYWB_REQUIREMENT.replace("==", "-"))


def _run(args: list[str], what: str) -> None:
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PywbError(f"{what} failed: {exc}") from exc
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-_LOG_TAIL_CHARS:]
        raise PywbError(f"{what} failed (exit {result.returncode}):\n{tail}")


def installed_pywb(venv: Path) -> Path:
    """The ``bin`` directory of the pywb venv that ``make test`` installed (tests never go to
    the network); PywbError saying how to install it when it is not there."""
    if not _stamp(venv).exists():
        raise PywbError(f"pywb is not installed in {venv}: `make test` installs it, or run "
                        f"`python -m testkit.pywb {venv}`")
    return venv / "bin"


def ensure_pywb(venv: Path) -> Path:
    """The ``bin`` directory of a venv at ``venv`` holding pywb, installing it if needed.
    PywbError, with pip's output, if that fails."""
    if _stamp(venv).exists():
        return venv / "bin"
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)], f"creating the venv {venv}")
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
          "--disable-pip-version-check", PYWB_REQUIREMENT],
         f"pip install {PYWB_REQUIREMENT} into {venv}")
    _stamp(venv).write_text(PYWB_REQUIREMENT + "\n")
    return venv / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Wayback:
    """pywb's ``wayback`` serving the collections under ``root`` on 127.0.0.1."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir, self.root = bin_dir, root
        self.log_path = root / "wayback.log"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Wayback:
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = _free_port()
            with open(self.log_path, "wb") as log:
                self._proc = subprocess.Popen(
                    [str(self.bin_dir / "wayback"), "--bind", "127.0.0.1", "--port",
                     str(self.port)], cwd=self.root, stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready():
                return self
            self.stop()
            if "Address already in use" not in self.log_tail() or attempt == _START_ATTEMPTS:
                break
        raise PywbError(f"wayback did not start; its log:\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.base_url + "/", timeout=5):
                    return True
            except urllib.error.HTTPError:
                return True  # it answers: that is all we wait for
            except OSError:
                time.sleep(0.2)
        return False

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-_LOG_TAIL_CHARS:]
        return ""

    def __enter__(self) -> Wayback:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


if __name__ == "__main__":
    # `make test` runs this before the tests: the install is part of setting up, not a test
    try:
        print(f"pywb for the tests: {ensure_pywb(Path(sys.argv[1])).parent}")
    except (PywbError, IndexError) as exc:
        sys.exit(f"testkit.pywb: {exc or 'usage: python -m testkit.pywb VENV_DIR'}")
