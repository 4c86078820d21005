"""Realistic syndicated copies and distinct articles, from the real pages of ../shared/eval*.

A copy is made the way syndication happens: the original article's body (its ground truth
paragraphs) is put into another publisher's page, the donor, in place of the donor's own body
(its paragraphs, found as the blocks whose text the extractor returns for the donor), with the
donor's ``<h1>`` set to the original headline. Variants add 0-2 lines (an editor's note, "This
article first appeared on ..."), a photo caption or a credit line present in the copy only, the
headline repeated as the first paragraph. Both pages then go through the real extractor. Nothing
of the pages is copied into the project: they are read where they lie, at run time.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lxml import html as lxml_html

from pipelines.extraction import decode_html, extract_article

NOTE = "Editor's note: this story has been updated with a statement from the regional council."
CAPTION = "Photo: Maria Lindqvist / Northern Picture Agency"
CREDIT = "Reporting by Tom Baker; additional reporting by Ann Wells; editing by Sam Okafor."
# (lines added, caption/credit line in the copy only, headline repeated in the body)
VARIANTS = ((0, None, False), (1, None, False), (2, None, False),
            (0, CAPTION, False), (1, CREDIT, True), (2, CAPTION, True))
_BLOCKS = "//p | //h2 | //h3 | //h4 | //li | //blockquote | //div[not(*)] | //td[not(*)]"


@dataclass(frozen=True)
class Original:
    name: str  # eval set and page id
    url: str
    publisher: str
    html_path: Path
    truth: tuple[str, ...]  # ground-truth paragraphs


@dataclass(frozen=True)
class Pair:
    kind: str  # "copy" (must be linked) or a kind of distinct pair (must not)
    a: str  # extracted texts
    b: str
    label: str


def load_originals(eval_dirs: list[Path]) -> list[Original]:
    found = []
    for eval_dir in eval_dirs:
        with open(eval_dir / "truth.jsonl", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                paragraphs = tuple(p.strip() for p in re.split(r"\n+", row["body"]) if p.strip())
                publisher = row.get("publisher") or urlsplit(row["url"]).hostname or ""
                found.append(Original(f"{eval_dir.name}/{row['id']}", row["url"].split("?")[0],
                                      publisher.removeprefix("www."),
                                      eval_dir / "pages" / f"{row['id']}.html", paragraphs))
    return found


def _norm(text: str) -> str:
    return " ".join(text.split())


def transplant(donor_html: bytes, donor_text: str, headline: str, paragraphs: list[str]
               ) -> bytes | None:
    """The donor page with its body replaced by ``paragraphs`` and its <h1> by ``headline``."""
    tree = lxml_html.fromstring(decode_html(donor_html))
    lines = {_norm(line) for line in donor_text.splitlines() if line.strip()}
    joined = _norm(donor_text)
    body = [el for el in tree.xpath(_BLOCKS)
            if (t := _norm(el.text_content())) and (t in lines or (len(t) > 25 and t in joined))]
    body = [el for el in body if not any(a in body for a in el.iterancestors())]
    first = next((el for el in body if el.tag == "p"), body[0] if body else None)
    if first is None:
        return None
    for text in paragraphs:
        new = lxml_html.fragment_fromstring(f"<p>{html_lib.escape(text, quote=False)}</p>")
        first.addprevious(new)
    for el in body:
        el.drop_tree()
    for h1 in tree.xpath("//h1"):
        h1.text, h1[:] = headline, []
    return lxml_html.tostring(tree, encoding="utf-8")


def copy_paragraphs(original: Original, headline: str, variant: int) -> list[str]:
    added, extra, repeat_headline = VARIANTS[variant]
    paragraphs = list(original.truth)
    if extra is CAPTION:
        paragraphs.insert(1, CAPTION)
    elif extra is CREDIT:
        paragraphs.append(CREDIT)
    if added >= 1:
        paragraphs.append(f"This article first appeared on {original.publisher}.")
    if added >= 2:
        paragraphs.insert(0, NOTE)
    if repeat_headline:
        paragraphs.insert(0, headline)
    return paragraphs


def donors_for(index: int, originals: list[Original]) -> Iterator[int]:
    """Donor pages for the copies of ``originals[index]``: other publishers, spread out."""
    n = len(originals)
    for variant in range(len(VARIANTS)):
        donor = (index * 7 + 13 * (variant + 1)) % n
        while originals[donor].publisher == originals[index].publisher:
            donor = (donor + 1) % n
        yield donor


def extract_text(html: bytes, name: str) -> tuple[str, str] | None:
    extraction = extract_article(html, f"https://example.invalid/{name}")
    if extraction is None:
        return None
    return extraction.text, extraction.title or ""
