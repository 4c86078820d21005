"""Moments in time with the spellings news sites use: HTTP dates, RSS dates, W3C timestamps."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime


class Moment:
    """A timezone-aware datetime; templates pick a spelling (``.http``, ``.w3c``...) or a
    strftime format (``{m:%B %Y}``), so every page type spells dates its own way from one value."""

    __slots__ = ("value",)

    def __init__(self, value: dt.datetime) -> None:
        self.value = value

    @classmethod
    def parse(cls, iso: str) -> Moment:
        return cls(dt.datetime.fromisoformat(iso))

    @property
    def iso(self) -> str:
        return self.value.isoformat()

    @property
    def http(self) -> str:
        """RFC 7231 in GMT, for HTTP headers (and some feeds)."""
        return format_datetime(self.value.astimezone(dt.UTC), usegmt=True)

    @property
    def rfc822(self) -> str:
        """RFC 2822 with a numeric offset, as most RSS generators write pubDate."""
        return format_datetime(self.value)

    @property
    def w3c(self) -> str:
        """UTC, to the second: sitemap lastmod and Atom updated."""
        return self.value.astimezone(dt.UTC).isoformat(timespec="seconds")

    @property
    def day(self) -> int:
        return self.value.day

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __lt__(self, other: Moment) -> bool:
        return self.value < other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Moment) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)
