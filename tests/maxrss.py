"""Runs a command and prints the peak resident memory of it and its descendants (KiB) on the
last line of stderr: ``python -m tests.maxrss CMD...``. For bounded-memory assertions."""

from __future__ import annotations

import resource
import subprocess
import sys


def main(argv: list[str]) -> int:
    code = subprocess.run(argv, check=False).returncode
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"maxrss_kib={peak}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
