"""Structural repairs of a page's tree before trafilatura reads it.

Each rule undoes a markup pattern that makes trafilatura cut real article text, and each is
language-independent: it looks at tags, text and link positions, never at words. They run on
the tree the worker parsed once (``pipelines/extraction.py``), in place.

- inline ``<span>``s in paragraphs unwrapped: their class ("link", "share") can make the
  class-based pruning cut words out of the middle of a sentence;
- empty inline tags (``<b></b>``, ``<strong> </strong>``) dropped with their tail kept: in
  ``favor_precision`` mode trafilatura removes empty elements *with* their tail, so the rest of
  the paragraph after an empty bold went with it;
- links inside prose unwrapped: a short paragraph that is mostly one in-text link ("It also
  <a>co-ordinates military plans</a>.") fails the link-density test and goes, with its wrapper;
  a paragraph is prose when it ends like a sentence, has words outside its links and goes on
  after its last link;
- a link that wraps whole blocks (a teaser card of another story: headline, date and summary
  inside one ``<a>``) deleted: article text never sits inside a link's block, and a card's
  summary reads as prose, so trafilatura kept the cards of a "related stories" box;
- a paragraph shaped as a cross-link (a label of a few words ending in a colon or a bar, then a
  link to the paragraph's end) deleted, whatever the label's language, and a list made only of
  such items;
- an article split into sibling chunks (the CMS closes the body to place an ad or a sidebar,
  then reopens it with the same class) merged back into its first chunk: trafilatura reads the
  first element that looks like the body, so it stopped at the first ad slot. Chunks are
  siblings of one tag and class, each with paragraph text, with nothing between them but
  slots (elements of at most a label's text);
- the standfirst deleted: the block under the headline that repeats the page's declared summary
  (``<meta>`` description, og:, twitter:), when it is shaped unlike the body paragraph after it;
  the lead is not body, and a summary equal to a first paragraph shaped like the rest stays.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

_SENTENCE_END = re.compile(r"[.!?\u3002\u061f\"'\u201d\u2019\u00bb)]\s*$")
_WORD = re.compile(r"\w+")


# What never holds article text: elements trafilatura deletes anyway (its tree_cleaning), but
# only after its costliest passes, XPath prunes that walk every element, have gone over them;
# scripts, SVG icons, menus and form controls are most of a news page's elements.
_NEVER_TEXT = ("script", "style", "noscript", "svg", "template", "iframe", "canvas", "video",
               "audio", "object", "embed", "link", "nav", "footer", "button", "select",
               "input", "textarea", "label")
# the site's banner: a <header> outside the article (inside, it holds the headline and lead);
# and the ARIA landmarks that are never the article: navigation, banner, footer ("contentinfo"),
# sidebars ("complementary"), search, dialogs and menus (measured: F1 +0.001 on eval2, no
# change on eval; the <aside> tag itself goes only before the fast pass, ``_CLEANED_ANYWAY``:
# before the fallbacks too it cost 0.008 F1 on eval2)
_NEVER_ARTICLE_ROLES = frozenset(("navigation", "banner", "contentinfo", "complementary",
                                  "search", "dialog", "menu"))
_HAS_ROLE = etree.XPath("//*[@role]")


def _never_article(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """Banners outside the article and landmarks that are never it, none holding an <article>
    or <main> (found by walking the tree: the one XPath with ancestor and descendant tests
    cost 1.9 ms a page, a sixth of all our work around trafilatura)."""
    found: dict[lxml_html.HtmlElement, None] = {}
    for elem in tree.iter("header"):
        if next(elem.iterancestors("article", "main"), None) is None:
            found[elem] = None
    for elem in _HAS_ROLE(tree):
        if elem.get("role") in _NEVER_ARTICLE_ROLES:
            found[elem] = None
    return [elem for elem in found
            if next(elem.iterdescendants("article", "main"), None) is None]


def prune_never_text(tree: lxml_html.HtmlElement) -> None:
    """Delete elements that never hold article text, and comments (their tails stay)."""
    etree.strip_elements(tree, *_NEVER_TEXT, etree.Comment, with_tail=False)
    for elem in _never_article(tree):
        elem.drop_tree()


def drop_link_cards(tree: lxml_html.HtmlElement) -> None:
    """Delete links that wrap whole blocks (a teaser card: headline, date, summary in one
    <a>): article text is never inside a link's block, and a card's summary reads as prose."""
    for card in tree.xpath("//a[.//p or .//h1 or .//h2 or .//h3 or .//h4 or .//h5 or .//h6]"):
        if card.getparent() is not None:
            _remove_keeping_tail(card)


# What trafilatura's own tree cleaning deletes, whatever the mode (its MANUALLY_CLEANED, less
# what it treats with care: <figure> may hold a table, <math> is salvaged, forms are kept when
# they hold the article), and that never reaches its fast pass's output. Deleted before the
# fast first pass only: the fallbacks (readability, jusText) read the tree as parsed, and on
# one dev page the article sits in an <aside> that readability finds.
_CLEANED_ANYWAY = ("aside", "head", "menu", "dialog", "fieldset", "picture", "map", "area",
                   "applet", "frame", "frameset", "marquee", "blink", "datalist", "optgroup",
                   "legend", "menuitem", "noindex", "fencedframe")


def prune_cleaned_anyway(tree: lxml_html.HtmlElement) -> None:
    """Delete what trafilatura's tree cleaning would (``_CLEANED_ANYWAY``) before its costly
    XPath prunes walk it; tails stay."""
    etree.strip_elements(tree, *_CLEANED_ANYWAY, with_tail=False)


def unwrap_paragraph_spans(tree: lxml_html.HtmlElement) -> None:
    for span in tree.xpath("//p//span"):
        span.drop_tag()


def drop_empty_inline(tree: lxml_html.HtmlElement) -> None:
    """Remove text-less inline elements, keeping the text that follows them."""
    # bold only: an empty <i> is an icon font's glyph, and the count or label behind it
    # ("<i class=icon-comments></i> 47") is widget text that trafilatura rightly drops
    for elem in tree.xpath("//p//*[self::b or self::strong][not(*)][not(normalize-space())]"):
        elem.drop_tag()


def unwrap_prose_links(tree: lxml_html.HtmlElement) -> None:
    """Drop the <a> tags (not their text) of paragraphs that read as prose."""
    for paragraph in tree.xpath("//p[.//a]"):
        text = paragraph.text_content()
        if not _SENTENCE_END.search(text) or len(_WORD.findall(text)) < 6:
            continue
        links = paragraph.xpath(".//a")
        link_words = sum(len(_WORD.findall(a.text_content())) for a in links)
        # the sentence goes on after its last link (if only with its full stop): a link at the
        # very end of a paragraph is a call to action ("... invest in journalism: Subscribe!")
        if link_words < len(_WORD.findall(text)) and (links[-1].tail or "").strip():
            for link in links:
                link.drop_tag()


# a chunk of an article holds at least a sentence of paragraph text
_MIN_PROSE = 80
# what an ad slot or a sidebar shell between two chunks may show: a label ("Advertisement",
# "Anzeige"), a caption-less image; any more text and the block is content of its own
_SLOT_TEXT = 100
_TEXT_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "table", "pre")
_HAS_TEXT_BLOCK = ".//*[" + " or ".join(f"self::{tag}" for tag in _TEXT_BLOCKS) + "]"


def drop_cross_link_paragraphs(tree: lxml_html.HtmlElement) -> None:
    """Delete paragraphs that are a short label and a link to another story ("Les også: <a>…</a>",
    "Lesen Sie auch: <a>…</a>", "READ ANOTHER STORY | <a>…</a>"), and lists whose every item is
    one: recognised by shape, a label of at most four words ending in a colon, a bar, a question
    or exclamation mark (a kicker: "Neue Allianz? <a>…</a>"), then links to the block's end, so
    in any language."""
    for paragraph in tree.xpath("//p[.//a]"):
        if _is_cross_link(paragraph):
            paragraph.drop_tree()
    for listing in tree.xpath("//ul[li//a] | //ol[li//a]"):
        items = listing.findall("li")
        if len(items) >= 2 and all(map(_is_cross_link, items)):
            listing.drop_tree()


def _is_cross_link(block: lxml_html.HtmlElement) -> bool:
    links = block.xpath(".//a")
    if not links or (links[-1].tail or "").strip(" .\u2026") \
            or links[-1].xpath("following::*[1][ancestor::p]"):
        return False
    text = block.text_content()
    label = text[:text.find(links[0].text_content())] if links[0].text_content() else ""
    label = label.strip()
    return label.endswith((":", "|", "?", "!")) and 0 < len(_WORD.findall(label)) <= 4 \
        and len(_WORD.findall(text)) - len(_WORD.findall(label)) == \
        sum(len(_WORD.findall(a.text_content())) for a in links)


def _prose_chars(elem: lxml_html.HtmlElement) -> int:
    return sum(len(p.text_content()) for p in elem.iter("p"))


def merge_split_bodies(body: lxml_html.HtmlElement) -> None:
    """Move later siblings with the first chunk's tag and class into it, when both hold
    paragraphs; a round at a time, so chunks wrapped in their own containers merge level by
    level (the containers first, then the chunks that became siblings inside)."""
    for _ in range(4):
        if not any([_merge_followers(elem) for elem in _REPEATED_CLASS(body)]):
            return


# elements (not p, li, a) holding a paragraph, with a later sibling of the same class
_REPEATED_CLASS = etree.XPath('.//*[@class != "" and not(self::p or self::li or self::a)]'
                              '[@class = following-sibling::*/@class][.//p]')


def _is_slot(elem: lxml_html.HtmlElement) -> bool:
    """An ad slot or sidebar shell: no paragraph, heading or list, at most a label's text."""
    return (elem.tag not in _TEXT_BLOCKS and not elem.xpath(_HAS_TEXT_BLOCK)
            and len(elem.text_content().strip()) <= _SLOT_TEXT)


def _merge_followers(first: lxml_html.HtmlElement) -> bool:
    parent = first.getparent()
    if parent is None or _prose_chars(first) < _MIN_PROSE:
        return False
    run, followers = [], 0
    for sibling in first.itersiblings():
        if sibling.tag == first.tag and sibling.get("class") == first.get("class"):
            # chunks directly next to each other are cards of a list, not a body cut by a slot
            if not run or run[-1].get("class") == first.get("class") \
                    or _prose_chars(sibling) < _MIN_PROSE:
                break
            followers = len(run) + 1
        elif not _is_slot(sibling):
            # a block of its own between the chunks: they are not one article cut by slots
            break
        run.append(sibling)
    # the chunks' content and the slots between them move, in document order, into the first
    for sibling in run[:followers]:
        if sibling.tag == first.tag and sibling.get("class") == first.get("class"):
            if sibling.text and sibling.text.strip():
                paragraph = lxml_html.Element("p")
                paragraph.text = sibling.text
                first.append(paragraph)
            first.extend(list(sibling))
            _remove_keeping_tail(sibling)
        else:
            first.append(sibling)
    return followers > 0


def _remove_keeping_tail(elem: lxml_html.HtmlElement) -> None:
    previous, parent = elem.getprevious(), elem.getparent()
    if elem.tail and elem.tail.strip():
        if previous is not None:
            previous.tail = (previous.tail or "") + elem.tail
        else:
            parent.text = (parent.text or "") + elem.tail
    parent.remove(elem)


# --- the standfirst ---------------------------------------------------------------------------

_DESCRIPTION_XPATH = etree.XPath(
    '/html/head/meta[@name="description" or @property="og:description" or '
    '@name="twitter:description" or @property="twitter:description"]/@content')
_MIN_LEAD_WORDS = 6


def page_descriptions(tree: lxml_html.HtmlElement) -> list[str]:
    """The summaries the page declares (<meta> description, og: and twitter:), de-duplicated."""
    found: list[str] = []
    for value in _DESCRIPTION_XPATH(tree):
        value = " ".join(value.split())
        if len(_WORD.findall(value)) >= _MIN_LEAD_WORDS and value not in found:
            found.append(value)
    return found


def _word_key(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _is_summary_of(text: str, description: str) -> bool:
    """The block's words are the description's, or the description is the block cut short
    (it stops mid-sentence or with "…"). A description that goes on past the block is the
    article's opening, not a standfirst."""
    block, summary = _word_key(text), _word_key(description)
    if block == summary:
        return True
    cut_short = description.rstrip().endswith(("...", "\u2026")) \
        or not _SENTENCE_END.search(description)
    return cut_short and len(summary) >= 2 * _MIN_LEAD_WORDS \
        and len(summary) < len(block) <= 3 * len(summary) \
        and block[:len(summary) - 1] == summary[:-1] \
        and block[len(summary) - 1].startswith(summary[-1])


def _shape(elem: lxml_html.HtmlElement) -> tuple:
    parent = elem.getparent()
    return (elem.tag, elem.get("class"),
            None if parent is None else (parent.tag, parent.get("class")))


_INLINE = ("b", "strong", "span", "em", "i", "a")


def _body_paragraph_after(lead: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    """The first prose paragraph after the block: among its siblings, else anywhere later."""
    for candidates in (lead.itersiblings("p"), lead.xpath("following::p")):
        for paragraph in candidates:
            if len(paragraph.text_content().strip()) >= 40:
                return paragraph
    return None


def _standfirst(tree: lxml_html.HtmlElement, description: str) -> lxml_html.HtmlElement | None:
    """The first block whose text is the description: found from the text nodes that start
    with its first word (a string search, where comparing every element's text would cost
    as much as a pass of trafilatura), climbing while the text stays short enough; lifted out
    of bold or span wrappers, and never a container of paragraphs."""
    for node in tree.xpath("//body//text()[starts-with(normalize-space(.), $word)]",
                           word=description.split()[0]):
        elem = node.getparent()
        elem = elem.getparent() if node.is_tail else elem
        while elem is not None and len(text := elem.text_content()) <= 3 * len(description) + 40:
            if _is_summary_of(text, description) and elem.tag not in _INLINE:
                return None if elem.xpath(".//p | .//h2 | .//h3 | .//li") else elem
            elem = elem.getparent()
    return None


def drop_standfirst(tree: lxml_html.HtmlElement, descriptions: list[str]) -> None:
    """Delete the standfirst: the block that repeats the page's declared summary, when it is
    shaped unlike the body paragraph after it (another tag or class, or a container of another
    tag or class).
    The summary alone does not tell: many pages declare their first paragraph as summary, and
    that paragraph is shaped like the rest of the body. A page has one standfirst, right
    under the headline: of several candidates the first in the page goes."""
    found = []
    for description in descriptions:
        lead = _standfirst(tree, description)
        body = None if lead is None else _body_paragraph_after(lead)
        if body is not None and _shape(body) != _shape(lead):
            found.append(lead)
    if found:
        _remove_keeping_tail(next(elem for elem in tree.iter() if elem in found))
