"""Installing a Debian package for the tests (``make test``), where this machine lets us:
as root, or through ``sudo -n`` where that needs no password. Tests never install anything."""

from __future__ import annotations

import os
import shutil
import subprocess

_APT_TIMEOUT = 900


def apt_command() -> list[str] | None:
    """How to run apt-get here, or None when it cannot run (no apt, not root, no sudo)."""
    if shutil.which("apt-get") is None:
        return None
    if os.geteuid() == 0:
        return ["apt-get"]
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"],
                                               capture_output=True).returncode == 0:
        return ["sudo", "-n", "apt-get"]
    return None


def apt_install(package: str) -> str | None:
    """Install ``package``; None when done, else what went wrong (one line, then apt's end)."""
    apt = apt_command()
    if apt is None:
        return "apt-get cannot run here (not root, no passwordless sudo)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["update", "-q"], ["install", "-y", "-q", package]):
        result = subprocess.run(apt + args, env=env, capture_output=True, text=True,
                                timeout=_APT_TIMEOUT)
        if result.returncode != 0 and args[0] == "install":
            return (f"apt-get install {package} failed (exit {result.returncode}):\n"
                    f"{result.stderr[-2000:]}")
    return None
