"""Pages nested deeper than the HTML parser reads, and how their text is still read.

libxml2 (lxml's parser, trafilatura's) stops at 256 levels of nesting without its HUGE option
(2,048 with it) with a fatal error, and everything after that point is lost: a page with
20,000 nested ``<div>`` elements around its article yields a tree without the article (and an
``empty`` count). Raising the limit would not help (the next page nests deeper) and makes the
tree's recursive walks costly, so the markup is flattened instead (:func:`flatten_nesting`):
deep redundant wrappers and anything opening beyond :data:`MAX_DEPTH` are dropped, with their
end tags, and every character of text is kept. One pass over the tags, linear in the page's
size (about 60 ms of CPU for 20,000 levels); the extraction timeout bounds it like the rest.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

# the parser's limit is 256 levels, <html> and <body> included; a tree reaching this deep
# may have been cut short
PARSER_DEPTH_LIMIT = 256
SUSPECT_DEPTH = PARSER_DEPTH_LIMIT - 8
# what flattening keeps: deeper than any real page, well inside the parser's limit
MAX_DEPTH = 200
# deeper than this, a tag right inside one of its own name is a redundant wrapper
WRAPPER_DEPTH = 100
# how far up an end tag looks for the element it closes
CLOSE_LOOKBACK = 256

# a comment, a script or style element whole (its text is not markup), or one tag
_TOKEN = re.compile(
    r"<!--.*?-->|<(script|style)\b.*?</\1\s*>|<(/?)([a-zA-Z][^\s/>]*)[^>]*>", re.S | re.I)
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr"
                  .split())
# elements a sibling of the same name closes without an end tag (<li>, <p>, ...)
_SELF_CLOSING_BY_SIBLING = frozenset("li p option dt dd tr td th".split())


def reaches_parser_limit(tree: lxml_html.HtmlElement) -> bool:
    """True when the tree holds an element about as deep as the parser reads: its markup
    may have been cut there. XPath steps down level by level, so this costs one visit per
    element of the first SUSPECT_DEPTH levels."""
    return bool(tree.xpath("/".join(["*"] * SUSPECT_DEPTH)))


def flatten_nesting(html: str) -> tuple[str, int]:
    """The markup with excess nesting dropped, text untouched; and the deepest nesting seen.

    Below WRAPPER_DEPTH levels nothing changes. Deeper, a tag that opens right inside one of
    its own name (nothing but space between) is dropped as a redundant wrapper, which keeps
    the structure inside a chain of 20,000 ``<div>`` elements; beyond MAX_DEPTH every opening tag
    is dropped. A dropped tag's end tag goes with it."""
    out: list[str] = []
    stack: list[tuple[str, bool]] = []  # open elements: (name, kept)
    kept_depth = deepest = position = 0
    opened = ""  # the name of the tag just before, if it opened an element
    for match in _TOKEN.finditer(html):
        closing, name = match.group(2), (match.group(3) or "").lower()
        between = html[position:match.start()]
        out.append(between)
        position = match.end()
        keep = True
        if not name or name in _VOID:
            pass  # a comment, a script, a void element: nothing opens
        elif closing:
            keep, kept_depth = _close(stack, name, kept_depth)
        else:
            if stack and name in _SELF_CLOSING_BY_SIBLING and stack[-1][0] == name:
                kept_depth -= stack.pop()[1]
            wrapper = opened == name and not between.strip()
            keep = kept_depth < (WRAPPER_DEPTH if wrapper else MAX_DEPTH)
            stack.append((name, keep))
            kept_depth += keep
            deepest = max(deepest, len(stack))
        opened = name if name and not closing and name not in _VOID else ""
        if keep:
            out.append(match.group(0))
    out.append(html[position:])
    return "".join(out), deepest


def _close(stack: list[tuple[str, bool]], name: str, kept_depth: int) -> tuple[bool, int]:
    """Pops the innermost open ``name`` and what it encloses; (whether its end tag is kept,
    the new kept depth). A stray end tag is kept: the parser ignores it. Only the innermost
    CLOSE_LOOKBACK elements are searched, so stray end tags under deep nesting stay linear."""
    for index in range(len(stack) - 1, max(len(stack) - CLOSE_LOOKBACK, 0) - 1, -1):
        if stack[index][0] == name:
            kept = stack[index][1]
            kept_depth -= sum(k for _, k in stack[index:])
            del stack[index:]
            return kept, kept_depth
    return True, kept_depth
