"""What the spider hands to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field


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
