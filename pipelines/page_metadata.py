"""A page's title, authors and publication time, read from what the page declares about itself
(JSON-LD, <meta>, microdata) and, where it declares nothing, from what it shows (the <h1>, the
byline under it, a sign-off, a date line); pure functions of the parsed tree, run in the
extraction workers before the body is extracted (``pipelines/extraction.py``). The rules and
their measurements are in the README ("Extraction").
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

from dateutil import parser as dateutil_parser
from htmldate import find_date
from lxml import html as lxml_html

from crawler.jsonld import jsonld_objects, types_of

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


def jsonld_nodes(tree: lxml_html.HtmlElement) -> list[dict]:
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
    found = _declared_times(tree, jsonld_nodes(tree) if articles is None else articles)
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
    declared = [headlines[0] if len(headlines) == 1 else None]
    for xpath in ('//meta[@property="og:title" or @name="og:title"]/@content',
                  '//meta[@name="twitter:title" or @property="twitter:title"]/@content',
                  "//head/title/text()"):
        declared.append(next(iter(tree.xpath(xpath)), None))
    cleaned = [_strip_site_name(_clean_meta(c), site) if c and c.strip() else None
               for c in declared]
    candidates = [c for c in cleaned if c]
    # the JSON-LD headline and og:title are the editors' fields, the others labels
    editors = [c for c in cleaned[:2] if c]
    h1s = [_clean_meta(h1.text_content()) for h1 in tree.xpath("//h1")[:3]]
    for candidate in editors:
        if _kicker_and_headline(tree, candidate, h1s, site):
            return candidate
    shown = {h.casefold() for h in h1s if h}
    for candidate in candidates:
        if candidate.casefold() in shown:
            return candidate
    if candidates:
        return _h1_within(h1s, candidates[0]) or candidates[0]
    return next((h for h in h1s if h), None)


# "Kicker: headline", "Kicker - headline": a topic label of a few words before the headline
_KICKER = re.compile(r"(?P<kicker>\S+(?:\s+\S+){0,7}?)\s*(?::|\s[-\u2013\u2014])\s*")


def _kicker_and_headline(tree: lxml_html.HtmlElement, title: str, h1s: list[str],
                         site: str | None) -> bool:
    """Whether ``title`` is a shown <h1> headline with its kicker before it, the kicker also
    shown on the page as an element of its own (above the headline, as kickers are): the
    reader sees both, and the editors' field joins them. A prefix naming the site, or one
    not shown, is decoration, not a kicker."""
    folded = title.casefold()
    for headline in h1s:
        if len(headline) <= 10 or not folded.endswith(headline.casefold()) \
                or len(title) == len(headline):
            continue
        match = _KICKER.fullmatch(title[:len(title) - len(headline)])
        if match and not (site and _site_like(match["kicker"], site)) and tree.xpath(
                "//body//*[normalize-space(text()) = $kicker]", kicker=match["kicker"]):
            return True
    return False


def _h1_within(h1s: list[str], title: str) -> str | None:
    """The page's <h1> when the title is that headline plus decoration (site or section name)."""
    for text in h1s:
        if len(text) > 10 and text != title and text in title:
            return text
    return None


# <meta> names are case-insensitive in HTML ("Author" is common): matched lower-cased
_LOWER = "translate(@name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
_AUTHOR_METAS = ("author", "article:author", "byl", "parsely-author", "sailthru.author")
_AUTHOR_META_XPATH = (f"//meta[{' or '.join(f'{_LOWER}={n!r}' for n in _AUTHOR_METAS)} or "
                      '@property="author" or @property="article:author"]/@content')
# schema.org items whose author is a photographer or a camera operator, not the writer
_MEDIA_ITEM = re.compile(r"(Image|Video|Audio|Media)Object$")
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
    """The names the site goes by (og:site_name, application-name, <meta name=publisher>,
    JSON-LD publisher, its host name with and without the domain suffix), as name keys, each
    also without a parenthesised note ("Deutsche Welle (www.dw.com)"): a byline equal to one
    of them names the outlet, not a person."""
    names = list(tree.xpath('//meta[@property="og:site_name" or @name="application-name" or '
                            f'{_LOWER}="publisher"]/@content'))
    for node in articles:
        publisher = node.get("publisher")
        for item in publisher if isinstance(publisher, list) else [publisher]:
            name = item.get("name") if isinstance(item, dict) else item
            if isinstance(name, str):
                names.append(name)
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    names += [host, host.split(".")[0]]
    names += [_NAME_NOTE.sub("", name) for name in names]
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


def _jsonld_author(tree: lxml_html.HtmlElement, articles: list[dict],
                   outlets: set[str]) -> str | None:
    by_id: dict[str, dict] | None = None
    for node in articles:
        author = node.get("author")
        people = author if isinstance(author, list) else [author]
        if any(isinstance(p, dict) and _person_name(p) is None and "@id" in p for p in people):
            by_id = _jsonld_by_id(tree) if by_id is None else by_id
            people = [by_id.get(p["@id"], p) if isinstance(p, dict) and "@id" in p else p
                      for p in people]
        names = [_person_name(p) if isinstance(p, dict) else p for p in people]
        names = [n for n in names if isinstance(n, str) and n.strip()]
        if names and (author_text := _people(clean_author("; ".join(names)), outlets)):
            return author_text
    return None


def _jsonld_by_id(tree: lxml_html.HtmlElement) -> dict[str, dict]:
    """The page's JSON-LD objects with a person's name by ``@id``: an article's author is often
    only a reference to a Person elsewhere in the graph (``{"@id": ".../#/schema/person/..."}``,
    as Yoast writes)."""
    scripts = tree.xpath('//script[@type="application/ld+json"]/text()')
    # such a Person is the CMS's user, whose name may be a login ("admin"): names only
    return {node["@id"]: node for node in jsonld_objects(scripts)
            if isinstance(node.get("@id"), str) and (name := _person_name(node))
            and _looks_like_names(clean_author(name) or "")}


def _item_owner(element: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    return next((a for a in element.iterancestors() if a.get("itemscope") is not None), None)


def _microdata_authors(tree: lxml_html.HtmlElement) -> list[str]:
    """Names of the schema.org ``itemprop=author`` markup of the first item that has some:
    the bylines of related stories further down belong to other items (or to none), and a
    photo's author (its ImageObject's) is a photographer."""
    names: list[str] = []
    first: object = None
    for element in tree.xpath('//*[@itemprop="author"]'):
        owner = _item_owner(element)
        if _MEDIA_ITEM.search(owner.get("itemtype", "") if owner is not None else ""):
            continue
        if first is not None and owner is not first:
            continue
        found = [n.get("content") or n.text_content()
                 for n in element.xpath('.//*[@itemprop="name"]')]
        if not found and not len(element):
            found = [element.get("content") or element.text_content()]
        if any(n.strip() for n in found):
            names += found
            first = owner if first is None else first
    return names[:6]


_BYLINE_CLASS = re.compile(r"author|byline", re.I)
# author pages by URL convention: /author/, /authors/, /autor/, /autoren/
_AUTHOR_HREF = re.compile(r"/(authors?|autor(en|es)?)\b", re.I)
# how far after the headline a byline may start (elements in document order)
_BYLINE_REACH = 300
# where a byline-classed element is a related story's, a photo credit or a site-wide link
_NOT_BYLINE_PARTS = {"aside", "nav", "footer", "figure", "figcaption"}
# readers' comments name their writers with the same classes ("comment-author")
_COMMENTS = re.compile(r"comment", re.I)
# a shown byline's "By"/"Von" in any case, when two or more words follow ("Von der Leyen" and
# "Di Maio" stay whole)
_SHOWN_BY = re.compile(r"^(?:by|von|par|por|di|door)\b:?\s+(?=\S+\s+\S)", re.I)


def _is_byline_element(element: lxml_html.HtmlElement) -> bool:
    if not isinstance(element.tag, str):
        return False
    if _BYLINE_CLASS.search(element.get("class", "")):
        return True
    return element.tag == "a" and bool(_AUTHOR_HREF.search(element.get("href", "")))


def _looks_like_names(value: str) -> bool:
    """2 to 5 words per name, first and last capitalised: a byline's shape, not a label's
    ("Author"), a sign's ("dpa/ssi") or a sentence's."""
    for name in value.split("; "):
        words = name.split()
        if not 2 <= len(words) <= 5 or not (words[0][0].isupper() and words[-1][0].isupper()):
            return False
    return True


def _following(element: lxml_html.HtmlElement) -> Iterator[lxml_html.HtmlElement]:
    """The nodes after ``element``'s start tag in document order, lazily: its subtree, then
    what follows it and each of its ancestors."""
    yield from element.iterdescendants()
    node = element
    while node is not None:
        for sibling in node.itersiblings():
            yield from sibling.iter()
        node = node.getparent()


def _byline_text(element: lxml_html.HtmlElement) -> str | None:
    """The names of one byline element, or None when it is not one: innermost byline
    elements only (a container's text adds job titles and labels), a short text, outside
    asides, menus, footers, figures and readers' comments."""
    if any(_is_byline_element(child) for child in element.iterdescendants()):
        return None
    text = " ".join(" ".join(element.itertext()).split())
    # digits: a date line; "/" and ":": a photo credit ("Foto: REUTERS/Name")
    if not text or len(text.split()) > 20 or any(c.isdigit() or c in "/:" for c in text):
        return None
    for part in (element, *element.iterancestors()):
        if part.tag in _NOT_BYLINE_PARTS or _COMMENTS.search(
                f"{part.get('class', '')} {part.get('id', '')}"):
            return None
    return _SHOWN_BY.sub("", text)


def _shown_byline(tree: lxml_html.HtmlElement, outlets: set[str]) -> str | None:
    """The byline the page shows under its headline, for pages that declare no author: the
    first element after the first <h1> (else from the first <article> or <main>) whose class
    says author or byline, or a link to an author page, whose text is shaped like names; with
    the elements of the same tag and class in its block (its parent, or its grandparent when
    the parent holds no other): a byline of several writers."""
    start = next(iter(tree.xpath("//body//h1") or tree.xpath("//article | //main")), None)
    if start is None:
        return None
    for count, element in enumerate(_following(start)):
        if count >= _BYLINE_REACH:
            return None
        if _is_byline_element(element) and _names_of(element, outlets):
            return "; ".join(dict.fromkeys(_byline_block(element, outlets)))
    return None


def _names_of(element: lxml_html.HtmlElement, outlets: set[str]) -> str | None:
    text = _byline_text(element)
    author = _people(clean_author(text), outlets) if text else None
    return author if author and _looks_like_names(author) else None


def _byline_block(first: lxml_html.HtmlElement, outlets: set[str]) -> list[str]:
    parent = first.getparent()
    for block in (parent, parent.getparent() if parent is not None else None):
        if block is None:
            break
        # the other writers' names are marked up alike; a job title beside them is not
        names = [n for el in block.iter(first.tag) if el.get("class") == first.get("class")
                 and _is_byline_element(el) and (found := _names_of(el, outlets))
                 for n in found.split("; ")]
        if len(names) > 1:
            return names
    return _names_of(first, outlets).split("; ")


def page_author(tree: lxml_html.HtmlElement, articles: list[dict],
                url: str = "") -> str | None:
    """The people the page declares as authors: JSON-LD, then <meta>, then itemprop/rel=author
    markup, then the byline shown under the headline, then a sign-off at the end; a source
    that names only the outlet (see ``page_outlets``) is passed over for the next, which
    often names the writer."""
    outlets = page_outlets(tree, articles, url)
    if author := _jsonld_author(tree, articles, outlets):
        return author
    for value in tree.xpath(_AUTHOR_META_XPATH):
        if value.strip() and (author := _people(clean_author(value), outlets)):
            return author
    for values in (_microdata_authors(tree),
                   [a.text_content() for a in tree.xpath('//a[@rel="author"]')[:4]]):
        if values and (author := _people(clean_author("; ".join(values)), outlets)):
            return author
    return _shown_byline(tree, outlets) or _signed_off(tree, outlets)


def _signed_off(tree: lxml_html.HtmlElement, outlets: set[str]) -> str | None:
    """A sign-off: the body's last paragraph (of the element holding most paragraphs) made of
    one bold run shaped like names and no sentence ("<p><strong>Jan Novak</strong></p>"), as
    many papers sign their stories at the end instead of under the headline."""
    blocks = Counter(p.getparent() for p in tree.iter("p"))
    if not blocks:
        return None
    block = blocks.most_common(1)[0][0]
    last = next((p for p in reversed(block.findall("p")) if p.text_content().strip()), None)
    runs = [child for child in last if isinstance(child.tag, str)] if last is not None else []
    if len(runs) != 1 or runs[0].tag not in ("strong", "b") or (last.text or "").strip() \
            or (runs[0].tail or "").strip():
        return None
    text = _byline_text(runs[0])
    if not text or text[-1] in ".!?":
        return None
    author = _people(clean_author(text), outlets)
    return author if author and _looks_like_names(author) else None


# a date alone in a text node, in the two all-numeric spellings that say which number is the
# day: "28.04.2023" (day first wherever dots are used) and ISO "2023-04-28"
_SHOWN_DATE = re.compile(r"(?P<d>\d{1,2})\.\s?(?P<m>\d{1,2})\.\s?(?P<y>(?:19|20)\d\d)|"
                         r"(?P<y2>(?:19|20)\d\d)-(?P<m2>\d\d)-(?P<d2>\d\d)")
_DATE_REACH = 500


def _shown_date(tree: lxml_html.HtmlElement) -> str | None:
    """The first date shown alone after the headline (else from the first <article> or
    <main>), as ISO 8601: the article's own date line comes before the related stories'
    dates, where htmldate, which prefers the oldest date it finds, can take one of theirs."""
    start = next(iter(tree.xpath("//body//h1") or tree.xpath("//article | //main")), None)
    for count, element in enumerate(_following(start) if start is not None else ()):
        if count >= _DATE_REACH:
            break
        if not isinstance(element.tag, str) or element.tag in ("script", "style"):
            continue
        for text in (element.text, element.tail):
            text = (text or "").strip()
            if 8 <= len(text) <= 12 and (match := _SHOWN_DATE.fullmatch(text)):
                year, month, day = (int(match[k] or match[f"{k}2"]) for k in ("y", "m", "d"))
                try:  # 31.02.2026 is no date
                    return dt.date(year, month, day).isoformat()
                except ValueError:
                    continue
    return None


def fallback_date(tree: lxml_html.HtmlElement, url: str) -> str | None:
    """For pages that declare no date: the date shown after the headline, else htmldate's
    look at the markup and URL (it is the costly part of metadata extraction, so it does not
    run on every page)."""
    if shown := _shown_date(tree):
        return shown
    try:
        return find_date(tree, extensive_search=False, original_date=True, url=url)
    except (ValueError, TypeError):
        return None
