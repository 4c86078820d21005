"""``newsarchive replay --url URL [--date D]``: a URL's archived body, found via the CDXJ."""

from __future__ import annotations

import sys

from archive.cdxj import surt
from archive.config import Config
from archive.keys import InvalidName, validate_date
from archive.storage import StorageError, open_storage
from archive.url_lookup import CaptureError, latest_capture, read_response
from newsarchive.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE

_PROG = "newsarchive replay"


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"{_PROG}: {message}", file=sys.stderr)
    return code


def _write_body(body: bytes) -> None:
    try:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        pass  # `... | head` closed the pipe: what it wanted was written


def _argument_problem(url: str, day: str | None) -> str | None:
    try:
        if day is not None:
            validate_date(day)
    except InvalidName as exc:
        return str(exc)
    try:
        surt(url)
    except ValueError as exc:
        return f"invalid URL {url!r}: {exc}"
    return None


def run_replay_url(config: Config, url: str, day: str | None) -> int:
    """Print the body of the latest capture of ``url`` (of ``day`` if given) to stdout, as the
    bytes archived, decoded by their Content-Encoding. 1 with one line on stderr if none."""
    problem = _argument_problem(url, day)
    if problem:
        return _fail(problem, EXIT_USAGE)
    try:
        storage = open_storage(config.archive.uri, config.archive.storage_options)
        capture = latest_capture(storage, url, day)
        if capture is None:
            when = f" on {day}" if day else ""
            return _fail(f"no capture of {url}{when} in {storage.location()}")
        response = read_response(storage, capture)
    except (StorageError, CaptureError, OSError) as exc:
        return _fail(str(exc))
    if not 200 <= response.status < 300:
        # still the archived answer, but a script piping the body should be able to tell
        print(f"{_PROG}: note: {url} was captured with HTTP status {response.status}",
              file=sys.stderr)
    _write_body(response.body)
    return EXIT_OK
