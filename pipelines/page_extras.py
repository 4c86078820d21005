"""The record's optional fields beyond CONTRACT §5: lead image and its caption, description,
tags, modified time and access status, read from what the page declares about itself.

Pure functions over the parsed tree, run in the extraction worker with the rest of the
metadata (``pipelines/extraction.py``), before the body extraction touches the tree. Only
declarations are read (JSON-LD, <meta>, <figure> markup, rel=tag links): never a guess from
the look of a page, so a field is None (or an empty list) rather than wrong. The README's
record schema section says where each field comes from, and why.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html

MAX_TAGS = 30
MAX_TAG_CHARS = 100
MAX_DESCRIPTION_CHARS = 2000
MAX_CAPTION_CHARS = 1000
FREE, PAYWALLED = "free", "paywalled"


@dataclass(frozen=True)
class PageExtras:
    image: str | None = None  # absolute http(s) URL of the lead image
    image_caption: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    modified: str | None = None  # ISO 8601 as declared, offset spelled "+HH:MM"
    access: str = FREE


def _clean(value: Any, limit: int) -> str | None:
    """Entities decoded, whitespace collapsed, cut to ``limit``; None when empty or not text."""
    if not isinstance(value, str):
        return None
    text = " ".join(html_lib.unescape(value).split())
    return text[:limit].rstrip() or None


Metas = dict[str, list[str]]


def meta_index(tree: lxml_html.HtmlElement) -> Metas:
    """The page's <meta> contents by property, name and itemprop (lower case), read in one
    walk: an XPath per field scans the whole page each time (2 ms on a large one)."""
    index: Metas = {}
    for meta in tree.iter("meta"):
        content = meta.get("content")
        if not content or not content.strip():
            continue
        keys = {meta.get(attribute, "").strip().lower()
                for attribute in ("property", "name", "itemprop")}
        for key in keys - {""}:
            index.setdefault(key, []).append(content)
    return index


def _metas(metas: Metas, *names: str) -> list[str]:
    """The contents of the <meta>s of these names, in the order of the names."""
    return [value for name in names for value in metas.get(name.lower(), ())]


def _strings(value: Any) -> list[str]:
    """A JSON-LD value that may be one string or a list of them (other items skipped)."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


# -- image -----------------------------------------------------------------------------------
def _jsonld_image(node: dict) -> tuple[str | None, str | None]:
    """(URL, caption) of an article node's ``image``: a URL, an ImageObject, or a list."""
    image = node.get("image")
    first = image[0] if isinstance(image, list) and image else image
    if isinstance(first, str):
        return first, None
    if isinstance(first, dict):
        url = first.get("url") or first.get("contentUrl")
        return (url if isinstance(url, str) else None), _clean(first.get("caption"),
                                                               MAX_CAPTION_CHARS)
    return None, None


def _absolute(value: str | None, base: str) -> str | None:
    if not value or not value.strip():
        return None
    try:
        url = urljoin(base, value.strip())
    except ValueError:  # "http://[bad/x.jpg": no image rather than no article
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def _file_name(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].lower()


def _figure_sources(figure: lxml_html.HtmlElement) -> list[str]:
    """Every image URL a <figure> names (src, lazy-loading data-src, srcset candidates)."""
    found = figure.xpath(".//img/@src | .//img/@data-src | .//source/@srcset | .//img/@srcset")
    return [part.split()[0] for value in found for part in value.split(",") if part.split()]


def _figures(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """The page's captioned figures, those inside <article> or <main> first."""
    inside = tree.xpath("//article//figure[figcaption] | //main//figure[figcaption]")
    return inside + [f for f in tree.xpath("//figure[figcaption]") if f not in inside]


def _figure_caption(figure: lxml_html.HtmlElement) -> str | None:
    caption = figure.find(".//figcaption")
    return _clean(caption.text_content(), MAX_CAPTION_CHARS) if caption is not None else None


def page_image(tree: lxml_html.HtmlElement, articles: list[dict], metas: Metas, base: str
               ) -> tuple[str | None, str | None]:
    """The lead image and its caption. The image is the one the page declares for the article
    (JSON-LD, then og:image, then twitter:image), else the first captioned <figure> of the
    article; the caption is JSON-LD's, else the <figcaption> of the figure showing that image
    (matched by file name, since figures often name a resized copy of the declared file)."""
    url = caption = None
    for node in articles:
        url, caption = _jsonld_image(node)
        if url:
            break
    declared = [url, *_metas(metas, "og:image", "og:image:url", "og:image:secure_url",
                             "twitter:image", "twitter:image:src")]
    image = next((a for a in (_absolute(v, base) for v in declared) if a), None)
    figures = _figures(tree)
    if image is None:
        for figure in figures:
            image = next((a for a in (_absolute(s, base) for s in _figure_sources(figure))
                          if a), None)
            if image:
                return image, caption or _figure_caption(figure)
        return None, None
    if caption is None:
        name = _file_name(image)
        shown = next((f for f in figures
                      if name and any(_file_name(s) == name for s in _figure_sources(f))),
                     None)
        shown = shown if shown is not None else _lead_figure(tree)
        caption = _figure_caption(shown) if shown is not None else None
    return image, caption


def _lead_figure(tree: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    """The captioned figure that opens the article (before its first paragraph), which shows
    the lead image whatever its file is called: sites serve resized copies under other names."""
    for container in tree.xpath("//article | //main")[:2]:
        for element in container.iter("figure", "p"):
            if element.tag == "p" and len(element.text_content().strip()) >= 40:
                break
            if element.tag == "figure" and element.find(".//figcaption") is not None:
                return element
    return None


# -- description, tags, modified ---------------------------------------------------------------
def page_description(articles: list[dict], metas: Metas) -> str | None:
    """The summary the page declares: JSON-LD description, og:, <meta name>, twitter:."""
    candidates = [node.get("description") for node in articles]
    candidates += _metas(metas, "og:description") + _metas(metas, "description")
    candidates += _metas(metas, "twitter:description")
    return next((d for d in (_clean(c, MAX_DESCRIPTION_CHARS) for c in candidates) if d), None)


def _split_keywords(values: Iterable[str]) -> list[str]:
    # a keywords string is comma-separated (schema.org, <meta name=keywords>)
    return [part for value in values for part in value.split(",")]


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    """Cleaned, first spelling kept, compared without case, at most MAX_TAGS."""
    seen, kept = set(), []
    for value in values:
        tag = _clean(value, MAX_TAG_CHARS)
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            kept.append(tag)
            if len(kept) == MAX_TAGS:
                break
    return tuple(kept)


def page_tags(tree: lxml_html.HtmlElement, articles: list[dict], metas: Metas
              ) -> tuple[str, ...]:
    """Sections and tags, section first: JSON-LD articleSection and keywords, article:section
    and article:tag, rel=tag links. <meta name=keywords> (and news_keywords) only when the
    page declares none of those: it is often a long SEO list rather than the story's tags."""
    found: list[str] = []
    for node in articles:
        found += _strings(node.get("articleSection"))
    found += _metas(metas, "article:section")
    for node in articles:
        found += _split_keywords(_strings(node.get("keywords")))
    found += _metas(metas, "article:tag")
    found += [a.text_content() for a in tree.xpath('//a[contains(concat(" ", normalize-space('
                                                   '@rel), " "), " tag ")]')]
    tags = _unique(found)
    return tags or _unique(_split_keywords(_metas(metas, "news_keywords", "keywords")))


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_ZONE_WITHOUT_COLON = re.compile(r"([+-]\d{2})(\d{2})$")


def page_modified(tree: lxml_html.HtmlElement, articles: list[dict], metas: Metas
                  ) -> str | None:
    """When the article was last changed, as the page declares it (ISO 8601 only: these
    fields are machine-readable by definition): JSON-LD dateModified, article:modified_time,
    og:updated_time, itemprop=dateModified."""
    declared = [node.get("dateModified") for node in articles]
    declared += _metas(metas, "article:modified_time", "og:updated_time", "dateModified")
    declared += tree.xpath('//time[@itemprop="dateModified"]/@datetime')
    for value in declared:
        if isinstance(value, str) and _ISO.match(value.strip()):
            return _ZONE_WITHOUT_COLON.sub(r"\1:\2", value.strip().replace(" ", "T", 1))
    return None


# -- access ----------------------------------------------------------------------------------
def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in ("false", "no"))


def page_access(articles: list[dict], metas: Metas) -> str:
    """"paywalled" when the page says part of it is for subscribers: schema.org
    isAccessibleForFree false on the article or on a part of it (``hasPart``, Google's
    paywalled-content markup), the same as microdata, or article:content_tier "locked";
    "free" otherwise (a metered page is served whole)."""
    for node in articles:
        parts = node.get("hasPart")
        parts = parts if isinstance(parts, list) else [parts]
        if _is_false(node.get("isAccessibleForFree")) or any(
                isinstance(p, dict) and _is_false(p.get("isAccessibleForFree")) for p in parts):
            return PAYWALLED
    if any(_is_false(v) for v in _metas(metas, "isAccessibleForFree")):
        return PAYWALLED
    if any(v.strip().lower() == "locked" for v in _metas(metas, "article:content_tier")):
        return PAYWALLED
    return FREE


def page_extras(tree: lxml_html.HtmlElement, articles: list[dict], base: str) -> PageExtras:
    """Every optional field of the page; ``articles`` are its article-typed JSON-LD nodes and
    ``base`` the URL relative references resolve against."""
    metas = meta_index(tree)
    image, caption = page_image(tree, articles, metas, base)
    return PageExtras(image=image, image_caption=caption,
                      description=page_description(articles, metas),
                      tags=page_tags(tree, articles, metas),
                      modified=page_modified(tree, articles, metas),
                      access=page_access(articles, metas))
