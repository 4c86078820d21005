"""Debian's ``chromium`` for the ``render = "browser"`` tests: installed by ``make test``
before the tests where apt can (``python -m testkit.chromium --install``); where it cannot, or
Playwright is not installed, those tests skip with the reason :func:`browser_missing` gives,
and the rest of the suite still runs. Nothing is ever downloaded by Playwright itself (no
``playwright install``): the browser is the system's."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from archive.config import CrawlConfig
from testkit.apt import apt_install

CHROMIUM = CrawlConfig().browser_executable  # /usr/bin/chromium, Debian's
_INSTALL_HINT = ("make test installs it with apt-get where it can (root or passwordless sudo); "
                 "else: apt-get install chromium")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[render]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM}: {_INSTALL_HINT}"
    return None


def ensure_installed() -> bool:
    """Install Debian's chromium if missing; True when it is there (else a line says why)."""
    if os.access(CHROMIUM, os.X_OK):
        return True
    problem = apt_install("chromium")
    if problem is not None or not os.access(CHROMIUM, os.X_OK):
        print(f"testkit.chromium: no Chromium at {CHROMIUM}: {problem or 'not installed'}\n"
              "The render = \"browser\" tests will skip.", file=sys.stderr)
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit.chromium")
    parser.add_argument("--install", action="store_true",
                        help="install Debian's chromium with apt-get if it is missing")
    args = parser.parse_args()
    if args.install and ensure_installed():
        print(f"testkit.chromium: {CHROMIUM}")
    return 0  # never fails make test: the tests that need it skip


if __name__ == "__main__":
    sys.exit(main())
