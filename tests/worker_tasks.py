"""Misbehaving tasks for the worker pool tests (importable by the worker processes)."""

from __future__ import annotations

import os
import time


def behave(kind: str, value: int) -> int:
    if kind == "hang":
        time.sleep(3600)
    if kind == "crash":
        os._exit(3)
    if kind == "raise":
        raise ValueError("bad page")
    if kind == "balloon":
        hog = bytearray(2 * 1024 * 1024 * 1024)
        return len(hog)
    if kind == "pid":
        return os.getpid()
    return value
