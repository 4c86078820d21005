"""A site's template, learned by repetition: body lines that recur across its articles.

A crawl sees many pages of one site. A line of extracted body text (a paragraph, after
``clean_text``) that comes out of :data:`MIN_ARTICLES` distinct articles of the site with the
same text is the site's, not an article's: a newsletter box, a "most read" label, an author
bio, a legal line, in whatever language the site writes. No phrase list is involved.

What counts is distinct *articles*, not fetches: the learner is given an article key (the
record's ``near_duplicate_of``, else its ``id``), so a second version of an article, its AMP
or print copy and a syndicated copy of it all count once, and a paragraph the story itself
repeats counts once per article. Lines are known by 8-byte hashes of their text; the state
per site is bounded (:data:`MAX_LINES` entries, least recently seen one-off lines forgotten
first, template lines not seen for :data:`STALE_ARTICLES` articles dropped), so memory and the
stored object stay small whatever the archive's age.

Pure code, picklable data: :func:`apply_template` runs in the extraction workers, the rest
on the crawl's side (``pipelines/template_learning.py``), where learning is a few dict
operations per article.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

FORMAT = 1
# a line is template on its MIN_ARTICLES-th distinct article, that article included: it is
# removed from a page once MIN_ARTICLES - 1 other articles showed it. 3, not 2: two stories
# of one site often share a background paragraph or a stock sentence (measured in
# ``bench/template.py``: 2 removes real text on the dev sets' two-page publishers)
MIN_ARTICLES = 3
MAX_LINES = 2000  # entries kept per site (about 15 bytes each stored, 500 in memory)
STALE_ARTICLES = 2000  # a template line absent from this many articles in a row is forgotten


def line_hash(line: str) -> int:
    """The 8-byte hash a body line is known by (its text, whitespace already normalised)."""
    return int.from_bytes(hashlib.blake2b(line.encode("utf-8"), digest_size=8).digest(), "big")


def _key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=4).digest(), "big")


def apply_template(text: str, template: frozenset[int]) -> tuple[str, tuple[int, ...]]:
    """The text without its template lines, and the hashes of all its lines (what the
    learner is taught). A text that is template through and through is kept whole: the
    template alone never makes an article vanish."""
    lines = text.split("\n")
    hashes = tuple(line_hash(line) for line in lines)
    if not template:
        return text, hashes
    kept = [line for line, value in zip(lines, hashes, strict=True) if value not in template]
    return ("\n".join(kept) if kept else text), hashes


@dataclass(slots=True)
class _Line:
    count: int  # distinct articles it came out of, counted up to ``min_articles``
    last: int  # the site's article counter when it was last seen
    keys: list[int] = field(default_factory=list)  # those articles (4-byte hashes)
    pages: list[int] = field(default_factory=list)  # the URLs they were fetched from


@dataclass
class SiteTemplate:
    """One site's learned lines. ``template_for(url)`` is what the extraction workers remove
    from the page at ``url``."""

    lines: dict[int, _Line] = field(default_factory=dict)
    articles: int = 0  # articles learned from, ever (the clock of ``last``)
    min_articles: int = MIN_ARTICLES  # another threshold only in ``bench/template.py``
    _cached: frozenset[int] | None = field(default=None, repr=False, compare=False)
    # per page URL hash: the template lines that page itself brought to the threshold
    _own: dict[int, set[int]] = field(default_factory=dict, repr=False, compare=False)

    def learn(self, article_key: str, hashes: Iterable[int], url: str = "") -> None:
        """One article's body lines, before the template was removed from them; ``url`` is
        the page they came from."""
        self.articles += 1
        key, page = _key_hash(article_key), _key_hash(url or article_key)
        for value in set(hashes):
            line = self.lines.get(value)
            if line is None:
                line = self.lines[value] = _Line(0, self.articles)
            line.last = self.articles
            if line.count >= self.min_articles or key in line.keys:
                continue
            line.count += 1
            line.keys.append(key)
            line.pages.append(page)
            if line.count >= self.min_articles - 1:
                self._cached = None
        if len(self.lines) > MAX_LINES:
            self._prune()

    def template(self) -> frozenset[int]:
        """Lines shown by ``min_articles - 1`` distinct articles: template for any other."""
        if self._cached is None:
            before = self.min_articles - 1
            self._cached = frozenset(value for value, line in self.lines.items()
                                     if line.count >= before)
            self._own = {}
            for value in self._cached:
                line = self.lines[value]
                if line.count == before:
                    for page in line.pages:
                        self._own.setdefault(page, set()).add(value)
        return self._cached

    def template_for(self, url: str) -> frozenset[int]:
        """The template without the lines that are at the threshold only through an earlier
        fetch of this very page (its previous version): an article never makes its own
        lines template."""
        template = self.template()
        own = self._own.get(_key_hash(url))
        return template - own if own else template

    def _prune(self) -> None:
        """Down to three quarters of the cap: stale template lines, then the lines seen on
        the fewest articles, least recently seen first, so that a line on its way to the
        threshold outlives the one-off lines of every article."""
        horizon, before = self.articles - STALE_ARTICLES, self.min_articles - 1
        order = sorted(self.lines.items(), key=lambda item: (
            item[1].count >= before and item[1].last > horizon, item[1].count,
            item[1].last))
        for value, _ in order[:len(self.lines) - MAX_LINES * 3 // 4]:
            del self.lines[value]
        self._cached = None

    # -- bytes ------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        data = {"format": FORMAT, "min_articles": MIN_ARTICLES, "articles": self.articles,
                "lines": [[value, line.count, line.last, line.keys, line.pages]
                          for value, line in sorted(self.lines.items())]}
        return gzip.compress(json.dumps(data, separators=(",", ":")).encode("utf-8"), 6,
                             mtime=0)

    @classmethod
    def from_bytes(cls, data: bytes) -> SiteTemplate:
        raw = json.loads(gzip.decompress(data))
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ValueError(f"unknown site template format {raw.get('format')!r}"
                             if isinstance(raw, dict) else "not a site template")
        lines = {}
        for value, count, last, keys, pages in raw["lines"][:MAX_LINES]:
            lines[int(value)] = _Line(min(int(count), MIN_ARTICLES), int(last),
                                      [int(k) for k in keys][:MIN_ARTICLES],
                                      [int(p) for p in pages][:MIN_ARTICLES])
        return cls(lines, int(raw["articles"]))
