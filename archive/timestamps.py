"""UTC timestamps as the archive writes them, and the crawl ids made from the start time."""

from __future__ import annotations

import datetime as dt
import secrets

from archive.keys import validate_date


def utc_now_iso() -> str:
    """Now, ISO 8601 in UTC with microseconds and a ``Z``: the archive's one time format."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_crawl_id(now: dt.datetime | None = None) -> str:
    """Sortable by start time, unique across machines: 20261125T103500Z-3f9a1c."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def crawl_day(crawl_id: str) -> str:
    """The UTC day a crawl started, from its id: where its run report lives."""
    return f"{crawl_id[0:4]}-{crawl_id[4:6]}-{crawl_id[6:8]}"


def days_between(first: str, last: str) -> list[str]:
    """Every day from ``first`` to ``last``, both included, in order (``dump --from --to``,
    the dedup state's periods); none when ``last`` is before ``first``."""
    start = dt.date.fromisoformat(validate_date(first))
    end = dt.date.fromisoformat(validate_date(last))
    return [(start + dt.timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
