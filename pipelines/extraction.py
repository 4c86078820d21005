"""Article extraction: pure functions from page bytes to article text and metadata.

Runs in worker processes (see ``pipelines/extract.py``), so everything here is picklable and
free of Scrapy and Twisted. trafilatura finds the body; around it we decode the bytes as a
browser would (BOM, HTTP charset, meta charset, sniffing), read title, author and date
(``pipelines/page_metadata.py``) and language from the page's own metadata (JSON-LD, <meta>,
<h1>; cheaper and closer to what the page shows than trafilatura's metadata pass), drop links
to other stories, and trim boilerplate lines (credits, prompts, datelines) that survive at the
edges of the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

import trafilatura
from lxml import etree
from lxml import html as lxml_html
from w3lib.encoding import html_to_unicode
from w3lib.html import get_base_url

from archive import __version__
from crawler.walls import (
    MIN_TEXT_BESIDE_WALL,
    OVERLAY_KINDS,
    Wall,
    find_wall,
    take_wall_out,
    text_beside_wall,
)
from pipelines import article_tree
from pipelines.fingerprint import Sketch, content_hash, shingle_hashes, simhash_of, sketch_of
from pipelines.nesting import MAX_DEPTH, flatten_nesting, reaches_parser_limit
from pipelines.page_extras import PageExtras, page_extras

# _clean_meta, _iso_datetime, clean_author, _jsonld_nodes and _fallback_date: importable from
# here still, as they were before metadata had a module of its own
from pipelines.page_metadata import (
    _clean_meta,  # noqa: F401
    _iso_datetime,  # noqa: F401
    clean_author,  # noqa: F401
    fallback_date,
    jsonld_nodes,
    page_author,
    page_published,
    page_title,
)
from pipelines.site_template import apply_template

_jsonld_nodes, _fallback_date = jsonld_nodes, fallback_date

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
    # hashes of the body's lines before the site's template was removed: what the crawl
    # learns the template from (pipelines/site_template.py)
    line_hashes: tuple[int, ...] = ()
    # content_hash of the body before the template was removed, when it removed something:
    # what the dedup state knows the article by (pipelines/dedup.py, state_content)
    untemplated_hash: str | None = None
    # published was guessed from the page's text or URL (htmldate, the date shown after the
    # headline), not declared in its metadata: a date window does not judge by it
    published_guessed: bool = False
    # the record's optional fields: image, caption, description, tags, modified, access
    extras: PageExtras = PageExtras()


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
    base = page_base(html, url)
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        value = next(iter(tree.xpath(xpath)), None)
        if value and value.strip():
            try:
                return urljoin(base, value.strip())
            except ValueError:  # "http://[bad": a broken canonical is no canonical
                return None
    return None


def page_base(html: str, url: str) -> str:
    """The page's <base href> as Scrapy finds it (in the first 4096 characters), or its URL
    when there is none or it does not parse (an invalid IPv6 host raises in urljoin)."""
    try:
        return get_base_url(html[:4096], url)
    except ValueError:
        return url


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


def read_page(body: bytes, url: str, content_type: str | None = None,
              template: frozenset[int] = frozenset()) -> Extraction | Wall | None:
    """What the crawl's extraction workers run: the page's bot wall (``crawler/walls.py``)
    when it is one, else its article as :func:`extract_article` gives it."""
    tree, html, flattened_depth = _parse(decode_html(body, content_type))
    if tree is None:
        return None
    wall = find_wall(tree, html)
    if wall is None:
        return _extract(tree, html, flattened_depth, url, template, DEFAULT_OPTIONS)
    if wall.kind not in OVERLAY_KINDS:
        return wall
    # a consent banner or a comment form's CAPTCHA beside a short article: the article
    # without the wall's elements decides
    wall_lines = take_wall_out(tree, wall)
    extraction = _extract(tree, html, flattened_depth, url, template, DEFAULT_OPTIONS,
                          wall_lines)
    if extraction is None or len(extraction.text) < MIN_TEXT_BESIDE_WALL:
        return wall
    return extraction


def extract_article(body: bytes, url: str, content_type: str | None = None,
                    template: frozenset[int] = frozenset(), *,
                    options: ExtractOptions = DEFAULT_OPTIONS) -> Extraction | None:
    """The article in a page, or None when the page holds no extractable body; the lines
    of ``template`` (the site's, learned by the crawl) are removed from the body."""
    tree, html, flattened_depth = _parse(decode_html(body, content_type))
    if tree is None:
        return None
    return _extract(tree, html, flattened_depth, url, template, options)


def _extract(tree: lxml_html.HtmlElement, html: str, flattened_depth: int, url: str,
             template: frozenset[int], options: ExtractOptions,
             wall_lines: set[str] | None = None) -> Extraction | None:
    # metadata is read here from the page's own declarations, before the tree is touched:
    # trafilatura's metadata pass costs as much as a third of the extraction and prefers
    # <title> over the headline
    articles = jsonld_nodes(tree)
    title = page_title(tree, articles)
    author = page_author(tree, articles, url)
    declared = page_published(tree, articles)
    published = declared or fallback_date(tree, url)
    language = page_language(tree)
    canonical = page_canonical(tree, html, url)
    extras = page_extras(tree, articles, page_base(html, url))
    raw_text, guessed_language = _body(html, tree, url, options)
    text = clean_text(raw_text, title) if options.clean else raw_text
    if wall_lines:  # a fallback pass parses the page again, the wall's elements with it
        text = text_beside_wall(text, wall_lines)
    if not text:
        return None
    untemplated = text
    text, line_hashes = apply_template(text, template)
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
        line_hashes=line_hashes,
        untemplated_hash=content_hash(untemplated) if text != untemplated else None,
        published_guessed=declared is None and published is not None,
        extras=extras,
    )
