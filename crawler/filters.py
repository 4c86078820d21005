"""A site's filters (``since`` / ``max_age_days``, ``languages``): the judgements the spider
makes on feed and sitemap dates and the dedup stage on an extracted page's own date and
language. Where a date or a language is not known, nothing is refused: the filters keep what
they cannot judge (counted in the run report), since a lost article cannot be fetched back
and an unwanted one can be left out of a dump."""

from __future__ import annotations

import datetime as dt

from crawler.site_state import listing_time

DAY = 86400.0


def latest_moment(value: str | None) -> float | None:
    """The latest moment (epoch seconds) a declared date may stand for: a date alone is its
    whole UTC day, so an article of the window's first day is kept whatever its hour; a time
    without an offset counts as UTC. None when there is no date or it does not read."""
    if not value:
        return None
    moment = listing_time(value)
    if moment is None:
        return None
    text = value.strip()
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return moment
    return moment + DAY - 1


def too_old(value: str | None, window_start: float | None) -> bool:
    """Whether a declared date (ISO 8601, or RSS's RFC 822) lies before the window."""
    if window_start is None:
        return False
    moment = latest_moment(value)
    return moment is not None and moment < window_start


def undated(value: str | None) -> bool:
    return latest_moment(value) is None


def other_language(language: str | None, languages: tuple[str, ...]) -> bool:
    """Whether a page's language (ISO 639-1) is known and outside the site's list."""
    return bool(languages) and language is not None and language.lower() not in languages
