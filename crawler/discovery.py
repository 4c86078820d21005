"""Feeds and sitemaps: pure parsers from bytes to URLs, safe against hostile XML.

The XML parser never resolves entities or fetches DTDs (no XXE, no billion laughs), recovers
from broken markup, and gzipped sitemaps are inflated with a size cap (no gzip bombs).
"""

from __future__ import annotations

import gzip
import io
import logging
from dataclasses import dataclass

from lxml import etree

logger = logging.getLogger(__name__)
MAX_XML_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 50_000  # the sitemap protocol's own limit per file


class XmlTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    url: str
    published: str | None = None  # feed pubDate / news:publication_date / lastmod
    modified: str | None = None  # sitemap lastmod / Atom updated: says the page changed


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, recover=True, remove_comments=True)


def inflate(body: bytes, limit: int = MAX_XML_BYTES) -> bytes:
    """The body, gunzipped if it is gzip (by its magic bytes), never beyond ``limit`` bytes."""
    if body[:2] != b"\x1f\x8b":
        return body
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as gz:
        while chunk := gz.read(64 * 1024):
            out.write(chunk)
            if out.tell() > limit:
                raise XmlTooLarge(f"decompressed sitemap exceeds {limit} bytes")
    return out.getvalue()


def _parse(body: bytes) -> tuple[etree._Element | None, str | None]:
    """(root, problem): the parsed tree (recovered from broken markup where possible) and
    what was wrong with the document for the run report (None when nothing was)."""
    body = inflate(body).lstrip()
    if not body:
        return None, "empty document"
    parser = _parser()
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        return None, f"not XML: {exc}"
    errors = [e for e in parser.error_log if e.level >= etree.ErrorLevels.ERROR]
    if root is None:
        return None, "not XML"
    # feeds and sitemaps never need entity declarations; billion-laughs bombs and XXE do (the
    # parser expands or fetches none of them, but such a document is hostile, not news)
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        return None, "declares XML entities (refused: entity expansion or external entities)"
    if errors:
        return root, f"malformed XML, recovered what parsed: {errors[0].message}"
    return root, None


def _root(body: bytes) -> etree._Element | None:
    return _parse(body)[0]


def _local(tag: object) -> str:
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


def _child_text(element: etree._Element, *names: str) -> str | None:
    for child in element.iter():
        if _local(child.tag) in names and child.text and child.text.strip():
            return child.text.strip()
    return None


def parse_sitemap(body: bytes) -> tuple[str, list[Entry]]:
    """("index", child sitemaps) or ("urlset", pages) or ("invalid", [])."""
    kind, entries, _ = read_sitemap(body)
    return kind, entries


def read_sitemap(body: bytes) -> tuple[str, list[Entry], str | None]:
    """parse_sitemap's answer and what was wrong with the document (None if nothing)."""
    root, problem = _parse(body)
    if root is None:
        return "invalid", [], problem
    kind = _local(root.tag)
    child_tag = {"sitemapindex": "sitemap", "urlset": "url"}.get(kind)
    if child_tag is None:
        return "invalid", [], f"not a sitemap (root element <{kind}>)"
    entries = []
    for element in root:
        if _local(element.tag) != child_tag:
            continue
        loc = _child_text(element, "loc")
        if loc:
            published = _child_text(element, "publication_date") or _child_text(element,
                                                                                 "lastmod")
            entries.append(Entry(loc, published, _child_text(element, "lastmod")))
        if len(entries) >= MAX_ENTRIES:
            problem = problem or f"more than {MAX_ENTRIES} entries: the rest ignored"
            break
    return ("index" if kind == "sitemapindex" else "urlset"), entries, problem


def parse_feed(body: bytes) -> list[Entry] | None:
    """Item links of an RSS 2.0, RSS 1.0 or Atom feed; None if the body is not a feed."""
    return read_feed(body)[0]


def read_feed(body: bytes) -> tuple[list[Entry] | None, str | None]:
    """parse_feed's answer and what was wrong with the document (None if nothing)."""
    root, problem = _parse(body)
    if root is None:
        return None, problem
    entries, kind = _feed_entries(root)
    if entries is None:
        return None, f"not an RSS or Atom feed (root element <{kind}>)"
    if len(entries) >= MAX_ENTRIES:
        problem = problem or f"more than {MAX_ENTRIES} entries: the rest ignored"
    return entries, problem


def _feed_entries(root: etree._Element) -> tuple[list[Entry] | None, str]:
    kind = _local(root.tag)
    entries: list[Entry] = []
    if kind in ("rss", "rdf"):
        for item in root.iter():
            if _local(item.tag) != "item":
                continue
            link = _child_text(item, "link") or _guid_link(item)
            if link:
                entries.append(Entry(link, _child_text(item, "pubdate", "date")))
            if len(entries) >= MAX_ENTRIES:
                break
        return entries, kind
    if kind == "feed":
        for entry in root:
            if _local(entry.tag) != "entry":
                continue
            link = _atom_link(entry)
            if link:
                entries.append(Entry(link, _child_text(entry, "published", "updated"),
                                     _child_text(entry, "updated")))
            if len(entries) >= MAX_ENTRIES:
                break
        return entries, kind
    return None, kind


def _guid_link(item: etree._Element) -> str | None:
    for child in item:
        if _local(child.tag) == "guid" and child.get("isPermaLink", "true") != "false":
            text = (child.text or "").strip()
            if text.startswith(("http://", "https://")):
                return text
    return None


def _atom_link(entry: etree._Element) -> str | None:
    for child in entry:
        if _local(child.tag) == "link" and child.get("rel", "alternate") == "alternate":
            href = child.get("href")
            if href:
                return href.strip()
    return None
