"""Article extraction: pure functions from page bytes to article text and metadata.

Runs in worker processes (see ``pipelines/extract.py``), so everything here is picklable and
free of Scrapy and Twisted. trafilatura finds the body; around it we decode the bytes as a
browser would (BOM, HTTP charset, meta charset, sniffing), read title, author, date and language
from the page's own metadata (JSON-LD, <meta>, <h1>; cheaper and closer to what the page shows
than trafilatura's metadata pass), drop links to other stories, and trim boilerplate lines
(credits, prompts, datelines) that survive at the edges of the body.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import trafilatura
from dateutil import parser as dateutil_parser
from htmldate import find_date
from lxml import etree
from lxml import html as lxml_html
from w3lib.encoding import html_to_unicode
from w3lib.html import get_base_url

from archive import __version__
from crawler.jsonld import jsonld_objects, types_of
from pipelines import article_tree
from pipelines.fingerprint import Sketch, content_hash, shingle_hashes, simhash_of, sketch_of
from pipelines.nesting import MAX_DEPTH, flatten_nesting, reaches_parser_limit

EXTRACTOR = f"newsarchive {__version__} / trafilatura {trafilatura.__version__}"


@dataclass(frozen=True)
class Extraction:
    text: str
    title: str | None
    author: str | None
    published: str | None
    language: str | None
    content_hash: str
    # near-duplicate fingerprints, computed here in the worker: the sketch, and the SimHash that
    # only entries of dedup state format 1 are compared by
    sketch: Sketch
    simhash: int
    # rel=canonical / og:url as the page declares it, absolute; the crawl decides whether to
    # trust it (same site?) when it makes the article's canonical URL
    declared_canonical: str | None = None
    # how deep the page nested when it had to be flattened to be read (pipelines/nesting.py);
    # 0 when it did not
    flattened_depth: int = 0


@dataclass(frozen=True)
class ExtractOptions:
    """The choices around trafilatura that ``make eval --ablation`` measures one at a time;
    the defaults are what the crawl runs."""
    favor_precision: bool = True
    # trafilatura's fallback extractors (readability, jusText): "always", "never", or "unsure":
    # only when a fast first pass does not look like the whole article (see ``_body``)
    fallbacks: str = "unsure"
    # the body clean-up rules of ``clean_text``
    clean: bool = True
    # the structural repairs of ``pipelines/article_tree.py``
    unwrap_spans: bool = True
    drop_empty_inline: bool = True
    unwrap_prose_links: bool = True
    drop_cross_links: bool = True
    merge_split_bodies: bool = True
    prune_never_text: bool = True
    drop_standfirst: bool = True
    drop_link_cards: bool = True
    # before the fast first pass: what trafilatura's cleaning deletes anyway (speed only)
    prune_cleaned_anyway: bool = True


DEFAULT_OPTIONS = ExtractOptions()
ABLATIONS = {
    "favor_precision off": ExtractOptions(favor_precision=False),
    "fallbacks always": ExtractOptions(fallbacks="always"),
    "no fallbacks": ExtractOptions(fallbacks="never"),
    "no clean-up rules": ExtractOptions(clean=False),
    "spans kept": ExtractOptions(unwrap_spans=False),
    "empty inline tags kept": ExtractOptions(drop_empty_inline=False),
    "links in prose kept": ExtractOptions(unwrap_prose_links=False),
    "cross-link paragraphs kept": ExtractOptions(drop_cross_links=False),
    "split bodies not merged": ExtractOptions(merge_split_bodies=False),
    "tree not pruned": ExtractOptions(prune_never_text=False),
    "standfirst kept": ExtractOptions(drop_standfirst=False),
    "link cards kept": ExtractOptions(drop_link_cards=False),
    "no early cleaning": ExtractOptions(prune_cleaned_anyway=False),
}


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
    '//time[@itemprop="datePublished"]/@datetime',
)
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
# schema.org types that describe the page's own article (NewsArticle, BlogPosting, ...)
_ARTICLE_TYPE = re.compile(r"(Article|BlogPosting|Report|Posting)$")


def _jsonld_nodes(tree: lxml_html.HtmlElement) -> list[dict]:
    """Article-typed JSON-LD objects of the page, in document order (@graph flattened)."""
    scripts = tree.xpath('//script[@type="application/ld+json"]/text()')
    nodes = []
    for node in jsonld_objects(scripts):
        # a WebPage often carries the article as its mainEntity
        main = node.get("mainEntity")
        nodes += [node, *(main if isinstance(main, list) else [main])]
    return [node for node in nodes if isinstance(node, dict)
            and any(_ARTICLE_TYPE.search(kind) for kind in types_of(node))]


# zone abbreviations common in spelled-out US and UK news dates (dateutil knows only UTC/GMT)
_TZ_NAMES = {name: offset * 3600 for name, offset in (
    ("UTC", 0), ("GMT", 0), ("BST", 1), ("CET", 1), ("CEST", 2), ("EST", -5), ("EDT", -4),
    ("CST", -6), ("CDT", -5), ("MST", -7), ("MDT", -6), ("PST", -8), ("PDT", -7))}


def _iso_datetime(value: str) -> str | None:
    """ISO 8601 as declared, or a spelled-out date ("November 19, 2019, 07:47 PM") made ISO;
    the full timestamp is kept because the time of day matters to readers of a news archive."""
    value = value.strip()
    if _ISO_DATE.match(value):
        return value.replace(" ", "T", 1)
    # a year and a day number at least: dateutil fills missing parts from today's date
    if len(value) > 60 or not re.search(r"\b(19|20)\d{2}\b", value) \
            or len(re.findall(r"\d+", value)) < 2:
        return None
    try:
        parsed = dateutil_parser.parse(value, fuzzy=True, tzinfos=_TZ_NAMES)
    except (ValueError, OverflowError, TypeError):
        return None
    has_time = re.search(r"\d{1,2}:\d{2}", value) is not None
    return parsed.isoformat() if has_time else parsed.date().isoformat()


def _declared_times(tree: lxml_html.HtmlElement, articles: list[dict]) -> list[str]:
    """Every publication time the page declares, ISO 8601, JSON-LD's first: it is the
    article's own structured record (what search engines read and check), where <meta> tags
    are often a template's, set to the edition's day or to UTC without saying so."""
    declared = [node.get("datePublished") for node in articles]
    declared += [v for xpath in _PUBLISHED_XPATHS for v in tree.xpath(xpath)]
    times = [t for v in declared if isinstance(v, str) and (t := _iso_datetime(v))]
    return [_ZONE_WITHOUT_COLON.sub(r"\1:\2", t) for t in times]


# "+0200" as "+02:00": one spelling of the offset for every record
_ZONE_WITHOUT_COLON = re.compile(r"([+-]\d{2})(\d{2})$")


def page_published(tree: lxml_html.HtmlElement, articles: list[dict] | None = None) -> str | None:
    """The publication time the page declares, as ISO 8601 with the offset it declares, or
    None: the first declaration that gives a time of day, else the first date."""
    found = _declared_times(tree, _jsonld_nodes(tree) if articles is None else articles)
    return next((t for t in found if "T" in t), found[0] if found else None)


def _clean_meta(value: str) -> str:
    return " ".join(html_lib.unescape(value).split())


_TITLE_SEPARATOR = re.compile(r"\s+(?:[|\-\u2013\u2014:\u00ab\u00bb~/]|::)\s+")


def _site_like(part: str, site: str) -> bool:
    part, site = part.casefold(), site.casefold()
    return part == site or (len(part) > 3 and (part in site or site in part))


def _strip_site_name(title: str, site: str | None) -> str:
    """Drop the site name that <title> and og:title often carry as a suffix or prefix."""
    separators = list(_TITLE_SEPARATOR.finditer(title))
    if not site or not separators:
        return title
    last, first = separators[-1], separators[0]
    if _site_like(title[last.end():], site):
        return title[:last.start()]
    if _site_like(title[:first.start()], site):
        return title[first.end():]
    return title


def page_title(tree: lxml_html.HtmlElement, articles: list[dict]) -> str | None:
    """The headline. Candidates are the JSON-LD headline, og:/twitter: title and <title>, each
    without its site name; the one the page shows as its <h1> wins, else the structured fields
    come first because <title> is a browser-tab label and og:title is often a social teaser."""
    site = next((_clean_meta(v) for v in tree.xpath(
        '//meta[@property="og:site_name" or @name="application-name"]/@content')
        if v.strip()), None)
    headlines = [node["headline"] for node in articles if isinstance(node.get("headline"), str)]
    # several article nodes are usually a listing of other stories: their headline is no hint
    candidates = headlines[:1] if len(headlines) == 1 else []
    for xpath in ('//meta[@property="og:title" or @name="og:title"]/@content',
                  '//meta[@name="twitter:title" or @property="twitter:title"]/@content',
                  "//head/title/text()"):
        candidates += tree.xpath(xpath)[:1]
    candidates = [_strip_site_name(_clean_meta(c), site) for c in candidates if c.strip()]
    h1s = [_clean_meta(h1.text_content()) for h1 in tree.xpath("//h1")[:3]]
    shown = {h.casefold() for h in h1s if h}
    for candidate in candidates:
        if candidate.casefold() in shown:
            return candidate
    if candidates:
        return _h1_within(h1s, candidates[0]) or candidates[0]
    return next((h for h in h1s if h), None)


def _h1_within(h1s: list[str], title: str) -> str | None:
    """The page's <h1> when the title is that headline plus decoration (site or section name)."""
    for text in h1s:
        if len(text) > 10 and text != title and text in title:
            return text
    return None


_BYLINE_XPATHS = (
    '//*[@itemprop="author"]//*[@itemprop="name"]/@content',
    '//*[@itemprop="author"]//*[@itemprop="name"]',
    '//*[@itemprop="author"][not(*)]',
    '//a[@rel="author"]',
)
_CONTACT = re.compile(r"\(?\s*(https?://\S+|www\.\S+|\S+@\S+\.\w+|@\w+)\s*\)?")
# "By" in any case; the other languages' words only in lower case, so "Di Maio" stays whole
_BY_PREFIX = re.compile(r"^(?:[Bb][Yy]|von|par|por|di|door)\s+")


# "and" between two names, in the languages of the dev sets (a last resort: no structure tells
# "Anna und Jan" from one name); lower case only, so a capitalised name part stays whole
_AND = r"\b(?:and|und|og|och|et|en|y|e|i|ve|và|и)\b"
_NAME_SPLIT = re.compile(rf"\s*(?:;|\||&|,|{_AND})\s*")
# a parenthesised note after a name: an editor's short sign ("(obe)"), an agency ("(AFP)")
_NAME_NOTE = re.compile(r"\s*\([^()]{0,40}\)")


def clean_author(value: str) -> str | None:
    """A byline made a name list: "By " prefixes, URLs, e-mail addresses, @handles,
    parenthesised notes and doubled names dropped, names joined by "; " as trafilatura does."""
    names: list[str] = []
    for part in _NAME_SPLIT.split(_NAME_NOTE.sub("", _clean_meta(value))):
        part = _CONTACT.sub("", part).strip(" .:-()\u2013\u2014")
        part = _BY_PREFIX.sub("", part)
        if part and len(part.split()) <= 6 and part not in names:
            names.append(part)
    return "; ".join(names) or None


def _name_key(name: str) -> str:
    return " ".join(re.findall(r"\w+", name.casefold()))


def page_outlets(tree: lxml_html.HtmlElement, articles: list[dict], url: str) -> set[str]:
    """The names the site goes by (og:site_name, application-name, JSON-LD publisher, its host
    name with and without the domain suffix), as name keys: a byline equal to one of them
    names the outlet, not a person."""
    names = list(tree.xpath('//meta[@property="og:site_name" or @name="application-name"]'
                            '/@content'))
    for node in articles:
        publisher = node.get("publisher")
        for item in publisher if isinstance(publisher, list) else [publisher]:
            name = item.get("name") if isinstance(item, dict) else item
            if isinstance(name, str):
                names.append(name)
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    names += [host, host.split(".")[0]]
    return {key for name in names if (key := _name_key(name))}


def _people(value: str | None, outlets: set[str]) -> str | None:
    names = [n for n in (value or "").split("; ") if n and _name_key(n) not in outlets]
    return "; ".join(names) or None


def _person_name(person: dict) -> str | None:
    name = person.get("name")
    if isinstance(name, str) and name.strip():
        return name
    parts = [person.get("givenName"), person.get("familyName")]
    return " ".join(p for p in parts if isinstance(p, str) and p.strip()) or None


def _jsonld_author(articles: list[dict], outlets: set[str]) -> str | None:
    for node in articles:
        author = node.get("author")
        people = author if isinstance(author, list) else [author]
        names = [_person_name(p) if isinstance(p, dict) else p for p in people]
        names = [n for n in names if isinstance(n, str) and n.strip()]
        if names and (author_text := _people(clean_author("; ".join(names)), outlets)):
            return author_text
    return None


def page_author(tree: lxml_html.HtmlElement, articles: list[dict],
                url: str = "") -> str | None:
    """The people the page declares as authors: JSON-LD, then <meta>, then itemprop/rel=author
    markup; a source that names only the outlet (see ``page_outlets``) is passed over for the
    next, which often names the writer."""
    outlets = page_outlets(tree, articles, url)
    if author := _jsonld_author(articles, outlets):
        return author
    for value in tree.xpath('//meta[@name="author" or @property="author" or '
                           '@property="article:author" or @name="article:author" or '
                           '@name="byl" or @name="parsely-author" or @name="sailthru.author"]'
                           '/@content'):
        if value.strip() and (author := _people(clean_author(value), outlets)):
            return author
    for xpath in _BYLINE_XPATHS:
        found = tree.xpath(xpath)
        values = [v if isinstance(v, str) else v.text_content() for v in found[:4]]
        if values and (author := _people(clean_author("; ".join(values)), outlets)):
            return author
    return None


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
# Lines that only ever close an article: credits, sign-offs, follow/subscribe prompts,
# copyright and filing notes. Trimmed from the end only, where they cannot cut the story.
_TAIL_BOILERPLATE = re.compile(
    r"^((additional )?(reporting|writing|editing|research|graphics) by\b.*|"
    r"(source|sources|credit|credits|photo credit|image credit)s?:.*|"
    r"(©|\(c\)|copyright\b).*|all rights reserved.*|"
    r"(filed|posted) (under|in):?.*|(tags?|topics?|categories|category):.*|"
    r".*\bfollow (us|him|her|them|\S+( \S+){0,6}) on (twitter|facebook|instagram|linkedin)\b.*|"
    r".*\b(newsletters?|in your inbox|to your inbox)\b.*|"
    r"(have a (news )?tip|got a (news )?tip|contact the author)\b.*|"
    r"\S+ comments?|\d+ (comments?|shares?)|tell us what you think.*|"
    r"(follow|read|see|visit|watch|listen to|find)\b.*(https?://|www\.)\S+|"
    r".*\bclick here\b.*)$",
    re.I,
)
# Labels that head a block of links to other stories ("Related", "Don't miss", "Tags"): the
# label and the headline-like lines after it are navigation, wherever the block sits.
_LINK_BLOCK_LABEL = re.compile(
    r"^\[?(don'?t miss|you (may|might) also like|most (read|popular|viewed)( in .*)?|"
    r"related( articles| stories| coverage| content| posts| links| news| reading)?|"
    r"more (from|on|stories|news|coverage)( \S+){0,4}|recommended( for you| stories)?|"
    r"trending( now| stories)?|popular( now| stories)?|tags|topics|comments?|"
    r"leave a (comment|reply)|story timeline|see also|also|more|watch|latest( news)?|"
    r"(also )?read( also| more| next)?)\s*[:.…]*\]?$",
    re.I,
)
# An inline cross-link: "Read more: <headline>", "[Related: <headline>]".
_CROSS_LINK = re.compile(
    r"^\[?(read (more|also|next)|also read|related|see also|more|also|recommended|"
    r"watch|listen|recommended reading)\s*[:|\-\u2013\u2014]\s*\S.*$",
    re.I,
)
_BULLETS = ("- ", "\u2022 ", "* ", "\u2013 ")
_SENTENCE_END = re.compile(r"[.!?\"'\u201d\u2019)]$")


def _words(line: str) -> int:
    return len(re.findall(r"\w+", line))


def _is_headline_like(line: str) -> bool:
    """A link title rather than prose: short and without a sentence's closing punctuation."""
    return _words(line) <= 16 and not _SENTENCE_END.search(line)


def _is_date_line(line: str) -> bool:
    """A dateline widget ("Monday, 22 January 2018 at 0:13"): short, a year, mostly numbers."""
    tokens = re.findall(r"\w+", line)
    numbers = [t for t in tokens if t.isdigit()]
    # "@" marks an embedded post's attribution ("— Name (@handle) May 4, 2019"): quoted content
    return (len(tokens) <= 12 and len(numbers) >= 2 and not line.endswith(".") and "@" not in line
            and any(re.fullmatch(r"(19|20)\d\d", t) for t in numbers))


def _drop_link_blocks(lines: list[str]) -> list[str]:
    """Remove cross-link lines and link-block labels with the headline-like lines under them;
    a block that runs to the end of the text is dropped whole."""
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _CROSS_LINK.match(line) and _words(line) <= 25:
            i += 1
            # a bulleted run of further headlines often hangs under a cross-link
            while i < len(lines) and lines[i][:2] in _BULLETS and _is_headline_like(lines[i]):
                i += 1
        elif _LINK_BLOCK_LABEL.match(line):
            i += 1
            while i < len(lines) and _is_headline_like(lines[i]):
                i += 1
        else:
            kept.append(line)
            i += 1
    return kept


def _is_leading_noise(line: str, title: str | None, rest: int) -> bool:
    return bool(_EDGE_BOILERPLATE.match(line) or (rest > 1 and _is_date_line(line))
                or (title and rest > 1 and _same_words(line, title)))


def _is_trailing_noise(line: str, title: str | None) -> bool:
    # a long closing paragraph is prose even if it mentions a newsletter or "click here"
    return bool(_EDGE_BOILERPLATE.match(line) or _is_date_line(line)
                or (_TAIL_BOILERPLATE.match(line) and _words(line) <= 40)
                or (title and _same_words(line, title)))


def _same_words(a: str, b: str) -> bool:
    return re.findall(r"\w+", a.lower()) == re.findall(r"\w+", b.lower())


def clean_text(text: str, title: str | None = None) -> str:
    """Paragraphs joined by \\n, blank lines dropped, links to other stories removed, and
    boilerplate lines (credits, prompts, datelines, the repeated headline: it is the record's
    ``title``, not body text) trimmed from the edges of the body.

    Each rule here helps on both dev sets (``make eval``; the per-rule ablation is in the
    README): rules that helped only on the pages they were tuned on (reading-time labels,
    share-widget text, unrendered shortcodes) and one that never fired (keyword clouds) were
    removed in issue 14. The edge phrases are kept although neither set needs them: the
    fixture webs' "Skip to content" and "Advertisement" lines do."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = _drop_link_blocks([line for line in lines if line])
    while lines and _is_leading_noise(lines[0], title, len(lines)):
        lines.pop(0)
    while len(lines) > 1 and _is_trailing_noise(lines[-1], title):
        lines.pop()
    return "\n".join(lines)


def page_canonical(tree: lxml_html.HtmlElement, html: str, url: str) -> str | None:
    """rel=canonical, else og:url, resolved against the page's <base href> found the way
    Scrapy finds it (in the first 4096 characters), so article ids stay what they were when
    the crawler resolved canonicals itself."""
    base = get_base_url(html[:4096], url)
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        value = next(iter(tree.xpath(xpath)), None)
        if value and value.strip():
            return urljoin(base, value.strip())
    return None


def _fallback_date(tree: lxml_html.HtmlElement, url: str) -> str | None:
    """htmldate's look at the markup and URL, only for pages that declare no date (it is the
    costly part of metadata extraction, so it does not run on every page)."""
    try:
        return find_date(tree, extensive_search=False, original_date=True, url=url)
    except (ValueError, TypeError):
        return None


def _repair_tree(tree: lxml_html.HtmlElement, options: ExtractOptions,
                 fast_pass: bool = False) -> None:
    descriptions = article_tree.page_descriptions(tree) if options.drop_standfirst else []
    if options.prune_never_text:
        article_tree.prune_never_text(tree)
        if fast_pass and options.prune_cleaned_anyway:
            article_tree.prune_cleaned_anyway(tree)
    if options.drop_link_cards:
        article_tree.drop_link_cards(tree)
    if options.unwrap_spans:
        article_tree.unwrap_paragraph_spans(tree)
    if options.drop_empty_inline:
        article_tree.drop_empty_inline(tree)
    if options.drop_cross_links:
        article_tree.drop_cross_link_paragraphs(tree)
    if options.unwrap_prose_links:
        article_tree.unwrap_prose_links(tree)
    if options.merge_split_bodies:
        body = tree.find("body")
        if body is not None:
            article_tree.merge_split_bodies(body)
    if descriptions:
        article_tree.drop_standfirst(tree, descriptions)


# trafilatura's parser settings (its load_html), fed UTF-8 bytes: load_html first runs a regex
# over the whole text to drop characters XML forbids, which lxml refuses in a str but libxml2
# replaces itself in bytes; that pass was half the cost of parsing (3.3 of 6.5 ms a page), and
# the trees are the same but for such characters (in one dev page's <style>)
_HTML_PARSER = lxml_html.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8",
                                    remove_comments=True, remove_pis=True)


def _load(html: str) -> lxml_html.HtmlElement | None:
    """The tree of an HTML text, or None when it is no HTML (trafilatura's rejection test:
    no "html" in its first 50 characters and fewer than two top elements)."""
    try:
        tree = lxml_html.fromstring(html.encode("utf-8", "surrogatepass"), parser=_HTML_PARSER)
    except (etree.ParserError, ValueError):
        return None
    if "html" not in html[:50].lower() and len(tree) < 2:
        return None
    return tree


def _parse(html: str) -> tuple[lxml_html.HtmlElement | None, str, int]:
    """The page's tree, the HTML it was read from and how deep it had to be flattened."""
    tree = _load(html)
    if tree is not None and reaches_parser_limit(tree):
        # the parser may have stopped at its depth limit and dropped the rest of the page
        flat, deepest = flatten_nesting(html)
        if deepest > MAX_DEPTH:
            return _load(flat), flat, deepest
    return tree, html, 0


def _paragraph_chars(tree: lxml_html.HtmlElement) -> int:
    """Characters of the page's prose-sized paragraphs (40 characters or more)."""
    lengths = (len(p.text_content().strip()) for p in tree.iter("p"))
    return sum(n for n in lengths if n >= 40)


# The first pass runs without trafilatura's fallbacks (readability, then jusText). They replace
# its result only when that is short or when readability's is over twice as long, and
# readability's is mostly paragraph text: so a result of 1,000 characters or more that holds
# at least a quarter of the page's paragraph text is kept as it is. Measured on both dev sets,
# the fallbacks changed 5 pages of 212, all under 1,000 characters in the first pass. A
# shorter result is kept too when it already holds (nine tenths of) all the page's paragraph
# text: readability, which scores paragraphs, has no more to offer (9 of the 14 pages under
# 1,000 characters on the dev sets, none of them changed by the fallbacks; the pages they
# rescue have no paragraphs at all, or a first pass under a quarter of them).
_CONFIDENT_CHARS = 1000
_ALL_PARAGRAPHS = 0.9


def _confident(text: str, paragraphs: int) -> bool:
    """Whether the fast pass's text is the whole article (see ``_CONFIDENT_CHARS``)."""
    if 4 * len(text) < paragraphs:
        return False
    return len(text) >= _CONFIDENT_CHARS or (paragraphs > 0
                                             and len(text) >= _ALL_PARAGRAPHS * paragraphs)


def _trafilatura_pass(tree: lxml_html.HtmlElement, url: str, options: ExtractOptions,
                      fallbacks: bool) -> tuple[str, str | None]:
    doc = trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=True,
        favor_precision=options.favor_precision, fast=not fallbacks, deduplicate=False,
    )
    return (doc.text or "", doc.language) if doc is not None else ("", None)


def _body(html: str, tree: lxml_html.HtmlElement, url: str,
          options: ExtractOptions) -> tuple[str, str | None]:
    """The body text and trafilatura's language guess. With ``fallbacks="unsure"`` a fast
    first pass; the full cascade, on a fresh parse (trafilatura prunes the tree it reads),
    only when the first pass is not confident."""
    _repair_tree(tree, options, fast_pass=options.fallbacks != "always")
    if options.fallbacks != "unsure":
        return _trafilatura_pass(tree, url, options, options.fallbacks == "always")
    paragraphs = _paragraph_chars(tree)
    text, language = _trafilatura_pass(tree, url, options, fallbacks=False)
    if _confident(text, paragraphs):
        return text, language
    fresh, _, _ = _parse(html)
    if fresh is None:
        return text, language
    _repair_tree(fresh, options)
    return _trafilatura_pass(fresh, url, options, fallbacks=True)


def extract_article(body: bytes, url: str, content_type: str | None = None, *,
                    options: ExtractOptions = DEFAULT_OPTIONS) -> Extraction | None:
    """The article in a page, or None when the page holds no extractable body."""
    tree, html, flattened_depth = _parse(decode_html(body, content_type))
    if tree is None:
        return None
    # metadata is read here from the page's own declarations, before the tree is touched:
    # trafilatura's metadata pass costs as much as a third of the extraction and prefers
    # <title> over the headline
    articles = _jsonld_nodes(tree)
    title = page_title(tree, articles)
    author = page_author(tree, articles, url)
    published = page_published(tree, articles) or _fallback_date(tree, url)
    language = page_language(tree)
    canonical = page_canonical(tree, html, url)
    raw_text, guessed_language = _body(html, tree, url, options)
    text = clean_text(raw_text, title) if options.clean else raw_text
    if not text:
        return None
    shingles = shingle_hashes(text)
    return Extraction(
        text=text,
        title=title,
        author=author,
        published=published,
        language=language or guessed_language or None,
        content_hash=content_hash(text),
        sketch=sketch_of(shingles),
        simhash=simhash_of(shingles),
        declared_canonical=canonical,
        flattened_depth=flattened_depth,
    )
