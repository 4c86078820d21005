"""What the spider hands to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field

from scrapy.exceptions import DropItem


@dataclass
class ArticlePage:
    """A fetched page the spider judged to be an article, with where its raw bytes lie.
    Its canonical URL is made after extraction, from what the page declares."""

    site: str
    url: str
    fetched_at: str
    body: bytes = field(repr=False)
    content_type: str | None
    warc_filename: str | None
    warc_offset: int | None
    warc_length: int | None
    # the site's filters as they apply to this page (README "Date window and languages"):
    # epoch seconds before which a new article is too old (the window taken at the run's
    # clock, or at the capture's date in an import or a replay), the languages it may be in
    window_start: float | None = None
    languages: tuple[str, ...] = ()


class ItemHeld(DropItem):
    """Raised by a pipeline that keeps an item to finish it later in the run (dedup holds an
    article's AMP or print copy until the run's canonical pages are in): the item leaves the
    pipelines for now, but its page is not done with, and a run stopped meanwhile fetches it
    again next time."""


class Filtered(DropItem):
    """Raised by a pipeline that refuses a page by its site's filters: ``outcome`` is
    ``too_old`` or ``other_language``. The fetch state remembers the URL as such, so the page
    costs no fetch on every run."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
