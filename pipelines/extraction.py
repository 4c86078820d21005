"""Article extraction: pure functions from page bytes to article text and metadata.

Runs in worker processes (see ``pipelines/extract.py``), so everything here is picklable and
free of Scrapy and Twisted. trafilatura finds the body; around it we decode the bytes as a
browser would (BOM, HTTP charset, meta charset, sniffing), read dates and language from the
page's own metadata, and trim boilerplate lines that survive at the edges of the body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import trafilatura
from lxml import html as lxml_html
from w3lib.encoding import html_to_unicode

from newsarchive import __version__
from pipelines.fingerprint import content_hash, simhash

EXTRACTOR = f"newsarchive {__version__} / trafilatura {trafilatura.__version__}"


@dataclass(frozen=True)
class Extraction:
    text: str
    title: str | None
    author: str | None
    published: str | None
    language: str | None
    content_hash: str
    simhash: int


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Bytes to text the way browsers do: BOM, then HTTP charset, then <meta>, then sniffing."""
    _, text = html_to_unicode(content_type, body)
    return text


_PUBLISHED_XPATHS = (
    '//meta[@property="article:published_time"]/@content',
    '//meta[@name="article:published_time"]/@content',
    '//meta[@itemprop="datePublished"]/@content',
    '//meta[@name="pubdate" or @name="publishdate" or @name="date"]/@content',
    '//meta[@property="og:published_time"]/@content',
)
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def _jsonld_published(tree: lxml_html.HtmlElement) -> str | None:
    for script in tree.xpath('//script[@type="application/ld+json"]/text()')[:10]:
        try:
            data = json.loads(script)
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                value = node.get("datePublished")
                if isinstance(value, str) and _ISO_DATE.match(value.strip()):
                    return value.strip()
                stack.extend(v for k, v in node.items() if k == "@graph")
    return None


def page_published(tree: lxml_html.HtmlElement) -> str | None:
    """The publication time the page declares, as ISO 8601, or None."""
    for xpath in _PUBLISHED_XPATHS:
        for value in tree.xpath(xpath):
            if _ISO_DATE.match(value.strip()):
                return value.strip().replace(" ", "T", 1)
    return _jsonld_published(tree)


def page_language(tree: lxml_html.HtmlElement) -> str | None:
    """ISO 639-1 code from <html lang>, og:locale or Content-Language meta."""
    candidates = tree.xpath("/html/@lang | /html/@xml:lang",
                            namespaces={"xml": "http://www.w3.org/XML/1998/namespace"})
    candidates += tree.xpath('//meta[@property="og:locale"]/@content')
    candidates += tree.xpath('//meta[@http-equiv="content-language" or '
                             '@http-equiv="Content-Language"]/@content')
    for value in candidates:
        code = re.split(r"[-_]", value.strip().lower())[0]
        if re.fullmatch(r"[a-z]{2}", code):
            return code
    return None


_EDGE_BOILERPLATE = re.compile(
    r"^(skip to (main )?content|advertisement|advertisements?|share this( article| story)?|"
    r"read more|continue reading|related( articles| stories)?|sign up.*newsletter.*|"
    r"subscribe( now)?|donate( today| now)?|support (us|our journalism)|listen to this article|"
    r"image caption|photo:.*|loading\.*)$",
    re.I,
)


def _same_words(a: str, b: str) -> bool:
    return re.findall(r"\w+", a.lower()) == re.findall(r"\w+", b.lower())


def clean_text(text: str, title: str | None = None) -> str:
    """Paragraphs joined by \\n, blank lines dropped, boilerplate lines trimmed from the edges,
    and the headline dropped when the body merely repeats it as its first line (it is the
    record's ``title``, not body text)."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    while lines and (_EDGE_BOILERPLATE.match(lines[0])
                     or (title and len(lines) > 1 and _same_words(lines[0], title))):
        lines.pop(0)
    while lines and _EDGE_BOILERPLATE.match(lines[-1]):
        lines.pop()
    return "\n".join(lines)


def extract_article(body: bytes, url: str, content_type: str | None = None) -> Extraction | None:
    """The article in a page, or None when the page holds no extractable body."""
    html = decode_html(body, content_type)
    tree = trafilatura.load_html(html)
    if tree is None:
        return None
    published = page_published(tree)
    language = page_language(tree)
    doc = trafilatura.bare_extraction(
        tree, url=url, with_metadata=True, include_comments=False, include_tables=True,
        favor_precision=True, deduplicate=False,
    )
    if doc is None or not doc.text:
        return None
    text = clean_text(doc.text, doc.title)
    if not text:
        return None
    return Extraction(
        text=text,
        title=(doc.title or None),
        author=(doc.author or None),
        published=published or (doc.date or None),
        language=language or (doc.language or None),
        content_hash=content_hash(text),
        simhash=simhash(text),
    )
