"""Bot walls: a challenge, CAPTCHA or consent page served with status 200 where the article was.

Such a page must not become an article record (its text would be "Verify you are human"), nor
an "empty" page (that alert means the extractor is broken). It is recognised from its markup,
in two steps, and both must hold:

1. a wall's own markup: a bot-defence vendor's challenge (Cloudflare's challenge form, script
   and Turnstile widget, DataDome, PerimeterX/HUMAN, Imperva/Incapsula, AWS WAF, Sucuri), a
   CAPTCHA widget (reCAPTCHA, hCaptcha), a consent manager's dialog or form (OneTrust,
   Cookiebot, Sourcepoint, Didomi, Usercentrics, Quantcast, Google Funding Choices,
   consentmanager.net, TrustArc, a form posting to a consent endpoint), or, as a last resort,
   a challenge phrase in the page's <title> or <h1> ("verify you are human", in the languages
   of the dev sets);
2. no article body beside it: under ``MAX_PROSE_CHARS`` characters of prose outside the wall's
   elements (text not in links, buttons, scripts, styles or the matched widget). Real articles
   carry the same vendors' scripts (Cloudflare injects its challenge platform into ordinary
   pages, comment forms carry reCAPTCHA, every EU page has a consent manager), so markup alone
   is never enough. A page whose paragraphs hold ARTICLE_PROSE_CHARS is never searched.

Pure functions over an lxml tree: run in the extraction worker for article pages, and on the
tree Scrapy has parsed already for other pages. The lists are the README's ("Bot walls").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import html as lxml_html

# a challenge page says a sentence or two; a consent wall may keep the site's header and
# footer (links, not prose). The shortest article of the dev sets has several times this.
MAX_PROSE_CHARS = 400
# a page with this much prose in all is an article whatever it carries: a consent dialog says
# a paragraph or three. Counting stops there, so most pages cost a short walk and no search
ARTICLE_PROSE_CHARS = 3000


@dataclass(frozen=True)
class Wall:
    """A bot wall: its kind ("challenge", "captcha", "consent") and what showed it."""

    kind: str
    marker: str


def _has_class(name: str) -> str:
    # a substring test: token-exact matching (concat, normalize-space) costs 20 ms on a large
    # page, and these vendor class names are not parts of other words
    return f'contains(@class, "{name}")'


# (kind, marker, tokens, XPath of the wall's elements), in the order they are tried. The
# XPath runs only on a page whose markup holds one of the tokens (a literal, or a pattern),
# searched in its UTF-8 bytes: a byte search costs microseconds, an XPath scan of every
# element of a large page 5-20 ms
Token = str | re.Pattern[bytes]
MARKERS: tuple[tuple[str, str, tuple[Token, ...], str], ...] = (
    ("challenge", "Cloudflare challenge",
     ("cf_chl", 'id="challenge-', 'id="cf-challenge', "cf-browser-verification",
      "cf-error-details"),
     '//form[@id="challenge-form" or contains(@action, "__cf_chl")]'
     ' | //*[@id="challenge-stage" or @id="challenge-running" or @id="cf-challenge-running"'
     ' or @id="challenge-body-text" or @id="challenge-error-title"]'
     ' | //script[contains(., "_cf_chl_opt")]'
     f' | //*[{_has_class("cf-browser-verification")} or {_has_class("cf-error-details")}]'),
    ("challenge", "Cloudflare Turnstile", ("cf-turnstile", "challenges.cloudflare.com/turnstile"),
     f'//*[{_has_class("cf-turnstile")}]'
     ' | //script[contains(@src, "challenges.cloudflare.com/turnstile")]'),
    ("challenge", "DataDome", ("captcha-delivery.com",),
     '//script[contains(@src, "captcha-delivery.com")]'
     ' | //iframe[contains(@src, "captcha-delivery.com")]'),
    ("challenge", "PerimeterX", ('id="px-captcha"',), '//*[@id="px-captcha"]'),
    ("challenge", "Imperva", ("_Incapsula_Resource",),
     '//iframe[contains(@src, "_Incapsula_Resource")]'),
    ("challenge", "AWS WAF", ("awswaf.com", "AwsWafIntegration"),
     '//script[contains(@src, "awswaf.com") or contains(., "AwsWafIntegration")]'),
    ("challenge", "Sucuri", ("sucuri_cloudproxy",),
     '//script[contains(., "sucuri_cloudproxy")]'),
    ("captcha", "reCAPTCHA", ("g-recaptcha", "/recaptcha/"),
     f'//*[{_has_class("g-recaptcha")}] | //script[contains(@src, "/recaptcha/api")]'
     ' | //iframe[contains(@src, "/recaptcha/")]'),
    ("captcha", "hCaptcha", ("h-captcha", "hcaptcha.com"),
     f'//*[{_has_class("h-captcha")}] | //script[contains(@src, "hcaptcha.com")]'
     ' | //iframe[contains(@src, "hcaptcha.com")]'),
    ("consent", "consent manager",
     ('id="onetrust-consent-sdk"', 'id="onetrust-banner-sdk"', 'id="CybotCookiebotDialog"',
      'id="sp_message_container', 'id="didomi-host"', 'id="usercentrics-root"',
      'id="qc-cmp2-container"', 'id="cmpbox"', 'id="truste-consent-track"',
      re.compile(rb"""class=["'][^"']*\b(qc-cmp2-container|fc-consent-root)""")),
     '//*[@id="onetrust-consent-sdk" or @id="onetrust-banner-sdk" or @id="CybotCookiebotDialog"'
     ' or starts-with(@id, "sp_message_container") or @id="didomi-host"'
     ' or @id="usercentrics-root" or @id="qc-cmp2-container" or @id="cmpbox"'
     ' or @id="truste-consent-track"]'
     f' | //*[{_has_class("qc-cmp2-container")} or {_has_class("fc-consent-root")}]'),
    ("consent", "consent form", (re.compile(rb"<form\b[^>]*\baction=[\"']?[^\"'>\s]*[cC]onsent"),),
     '//form[contains(@action, "consent") or contains(@action, "Consent")]'),
)


def _holds(markup: bytes, token: Token) -> bool:
    if isinstance(token, str):
        return token.encode() in markup
    return token.search(markup) is not None


# the last resort, for walls of no known vendor: phrases of challenge and consent pages in the
# dev sets' main languages, matched in <title> and <h1> only, lower case
PHRASES = re.compile(
    r"verify (that )?you are (a )?human|are you a robot|checking (if the site connection is "
    r"secure|your browser)|just a moment\.\.\.|attention required|one more step|"
    r"bitte bestätigen sie, dass sie (ein mensch|kein roboter) sind|sicherheitsüberprüfung|"
    r"vérifiez que vous êtes (un humain|humain)|vérification de sécurité|"
    r"verifica che (tu )?sei (un essere umano|umano)|verifica que eres (un )?humano|"
    r"before you continue|bevor sie fortfahren|avant de continuer")

# a <form> is prose: ASP.NET pages wrap their whole body in one
_NOT_PROSE = ("script", "style", "noscript", "template", "svg", "a", "button", "select",
              "option", "iframe", "head", "title")


def _prose_chars(tree: lxml_html.HtmlElement, excluded: list, cap: int = MAX_PROSE_CHARS
                 ) -> int:
    """Characters of the page's visible prose outside ``excluded`` elements (and outside
    links, buttons and scripts), counted up to ``cap``: what a reader could take for an
    article."""
    skipped = {id(e) for e in excluded}
    total = 0
    stack = [tree]
    while stack:
        node = stack.pop()
        if id(node) in skipped or not isinstance(node.tag, str) or \
                node.tag.lower() in _NOT_PROSE:
            # a comment or a skipped element: its tail still belongs to the parent
            total += len((node.tail or "").strip()) if node is not tree else 0
            continue
        total += len((node.text or "").strip())
        if node is not tree:
            total += len((node.tail or "").strip())
        stack.extend(node)
        if total >= cap:
            break
    return total


def _paragraphs_reach(tree: lxml_html.HtmlElement, chars: int) -> bool:
    """Whether the page's <p> elements hold ``chars`` characters of text (a cheap upper
    bound of its prose: lxml reads each paragraph's text in C)."""
    total = 0
    for paragraph in tree.iter("p"):
        total += len(paragraph.text_content().strip())
        if total >= chars:
            return True
    return False


def _phrase_marker(tree: lxml_html.HtmlElement) -> str | None:
    for count, heading in enumerate(tree.iter("title", "h1")):
        found = PHRASES.search(" ".join(heading.text_content().split()).lower())
        if found:
            return f'"{found.group(0)}"'
        if count == 3:
            break
    return None


def find_wall(tree: lxml_html.HtmlElement, html: str | bytes) -> Wall | None:
    """The bot wall this page is, or None when it is not one (see the module's doc);
    ``html`` is the markup the tree was parsed from, decoded or as its bytes."""
    if _paragraphs_reach(tree, ARTICLE_PROSE_CHARS):
        return None
    # bytes: a search in a str of non-Latin text is several times slower
    markup = html.encode("utf-8", "replace") if isinstance(html, str) else html
    for kind, marker, tokens, xpath in MARKERS:
        if not any(_holds(markup, token) for token in tokens):
            continue
        found = [e for e in tree.xpath(xpath) if isinstance(e, lxml_html.HtmlElement)]
        if found and _prose_chars(tree, found) < MAX_PROSE_CHARS:
            return Wall(kind, marker)
    phrase = _phrase_marker(tree)
    if phrase and _prose_chars(tree, []) < MAX_PROSE_CHARS:
        return Wall("challenge", f"phrase {phrase}")
    return None


# a consent banner or a CAPTCHA'd comment form sits beside real articles, short ones too (a
# brief under MAX_PROSE_CHARS): such a page is a wall only when the article extracted without
# the wall's elements is shorter than this. A challenge page is a wall whatever it holds
MIN_TEXT_BESIDE_WALL = 200
OVERLAY_KINDS = ("consent", "captcha")


def take_wall_out(tree: lxml_html.HtmlElement, wall: Wall) -> set[str]:
    """Removes ``wall``'s elements from ``tree`` (keeping their tails) and returns the
    whitespace-normalised lines of their text, so that an extraction that parses the page
    again (a fallback pass) can drop them too."""
    xpath = next(x for _, marker, _, x in MARKERS if marker == wall.marker)
    lines: set[str] = set()
    for element in tree.xpath(xpath):
        if not isinstance(element, lxml_html.HtmlElement) or element.getparent() is None:
            continue
        # every descendant's own text: extraction puts a block's text on a line of its own
        for part in element.iter():
            if isinstance(part.tag, str) and (line := " ".join(part.text_content().split())):
                lines.add(line)
        element.drop_tree()
    return lines


def text_beside_wall(text: str, wall_lines: set[str]) -> str:
    """``text`` without the lines that are the wall's own."""
    return "\n".join(line for line in text.split("\n")
                     if " ".join(line.split()) not in wall_lines)
