"""Article pages made from real saved pages (the eval set, read at run time, never copied).

Each page is split at a paragraph where an inserted sentence reaches the extracted text, so
one page can stand for many articles that differ only in that sentence (``SplicedPage``);
its relative links (its original site's navigation) are pointed off-site first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from testkit.fakeweb.gzipped import SplicedPage

OFFSITE_BASE = b'<base href="http://offsite.invalid/">'
_P_OPEN = re.compile(rb"<p(?:\s[^>]*)?>", re.IGNORECASE)
_P_CLOSE = re.compile(rb"</p\s*>", re.IGNORECASE)
_HEAD = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)
_TRIES = 6  # paragraphs tried per page, longest first

# does the sentence inserted into this page show in what the extractor returns?
ReachesText = Callable[[bytes, str], bool]


def _paragraph_starts(page: bytes) -> list[int]:
    """Offsets just after each <p> tag, longest paragraph first."""
    spans = []
    for m in _P_OPEN.finditer(page):
        end = _P_CLOSE.search(page, m.end(), m.end() + 20000)
        if end is not None:
            spans.append((end.start() - m.end(), m.end()))
    return [start for _, start in sorted(spans, reverse=True)]


def _offsite_base(page: bytes) -> bytes:
    m = _HEAD.search(page)
    at = m.end() if m else 0
    return page[:at] + OFFSITE_BASE + page[at:]


def splice(path: Path, probe: str, reaches_text: ReachesText) -> SplicedPage | None:
    """The page at ``path`` split where ``probe`` reaches the extracted text, or None."""
    page = _offsite_base(path.read_bytes())
    for start in _paragraph_starts(page)[:_TRIES]:
        spliced = SplicedPage(path.name, page[:start], page[start:])
        if reaches_text(spliced.render(probe), probe):
            return spliced
    return None


def load_spliced_pages(pages_dir: Path, probe: str, reaches_text: ReachesText
                       ) -> tuple[list[SplicedPage], list[str]]:
    """Spliced pages for every ``*.html`` in ``pages_dir``, and the names of those where no
    paragraph would carry the sentence."""
    pages, rejected = [], []
    for path in sorted(pages_dir.glob("*.html")):
        spliced = splice(path, probe, reaches_text)
        if spliced is None:
            rejected.append(path.name)
        else:
            pages.append(spliced)
    return pages, rejected
