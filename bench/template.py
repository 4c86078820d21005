"""``make eval-template``: what per-site template learning gains, on sites with several pages.

The sites are the dev sets' publishers with more than one page (pages grouped by host, ``www.``
dropped; the pages of one host in the set's order are the crawl's order), the fixture web of
the tests (``dailyplanet``, ``partner``), the demo sites, and the test site built for template
learning (``--no-fixture-web`` leaves the last three out). Each page is
extracted once without a template; a template only ever removes whole lines from that text
(``pipelines.site_template.apply_template``, the extraction's last step), so the rows below
are the same function applied with the template the crawl would hold at that page:

- **none**: what a standalone extractor gives;
- **k=N in order**: learned page by page as a crawl does (the first page of a site sees no
  template), for the crawl's threshold (``MIN_ARTICLES``) and its neighbours;
- **k=N converged**: each page with the template learned from every other page of its site:
  what a crawl that has seen the site before (state kept) removes.

Pages count as one article per canonical URL (two versions of one story are one article).
Also printed: per position in the site's order, and how many removed lines were article text
(in the truth). Scores use the metric of ``bench/evaluation.py``.

    python -m bench.template [--eval-dir DIR ...] [--no-fixture-web]
"""

from __future__ import annotations

import argparse
import sys
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.evaluation import aggregate, load_eval_set, page_scores
from pipelines.extraction import extract_article
from pipelines.site_template import MIN_ARTICLES, SiteTemplate, apply_template

THRESHOLDS = (2, MIN_ARTICLES, MIN_ARTICLES + 1)


@dataclass
class SitePage:
    site: str
    url: str
    key: str  # the article it is (canonical URL)
    truth: str
    text: str  # extracted without a template
    hashes: tuple[int, ...]


def _extracted(site: str, body: bytes, url: str, truth: str) -> SitePage:
    extraction = extract_article(body, url)
    if extraction is None:
        return SitePage(site, url, url, truth, "", ())
    return SitePage(site, url, extraction.declared_canonical or url, truth, extraction.text,
                    extraction.line_hashes)


def eval_sites(eval_dir: Path) -> dict[str, list[SitePage]]:
    """The set's hosts with more than one page, their pages extracted, in the set's order."""
    by_host: dict[str, list] = defaultdict(list)
    for page in load_eval_set(eval_dir):
        by_host[(urlsplit(page.url).hostname or "").removeprefix("www.")].append(page)
    return {host: [_extracted(host, p.html(), p.url, p.truth) for p in pages]
            for host, pages in by_host.items() if len(pages) > 1}


def fixture_sites() -> dict[str, list[SitePage]]:
    """The tests' fixture web, fetched over loopback, each article's paragraphs its truth."""
    from tests.fixtureweb import FixtureWeb  # the tests' fixture data, read only here

    sites: dict[str, list[SitePage]] = defaultdict(list)
    with FixtureWeb() as web:
        for article in web.articles:
            with urllib.request.urlopen(article.url, timeout=30) as response:
                body = response.read()
            sites[article.site].append(
                _extracted(article.site, body, article.url, "\n".join(article.paragraphs)))
    return dict(sites)


def demo_sites() -> dict[str, list[SitePage]]:
    """The demo sites (``demo/``: CMS-like pages with donation boxes and comments), each
    story's paragraphs its truth."""
    from demo.site import build_site
    from demo.stories import STORIES

    base, sites = "http://127.0.0.1:8000", {}
    for name, stories in STORIES.items():
        pages = build_site(name, base)
        sites[name] = [_extracted(name, pages[story.path].body, base + story.path,
                                  "\n".join(story.paragraphs)) for story in stories]
    return sites


def built_sites() -> dict[str, list[SitePage]]:
    """The test site of ``tests/templateweb.py`` in its two languages: built to hold template
    paragraphs inside the article body, where the extractor keeps them (the mechanism's
    check, not evidence of a gain on real sites)."""
    from tests.templateweb import build_site

    sites = {}
    for language in ("en", "de"):
        site = build_site(language)
        site.pages, site.base_url = len(site.stories), "https://ledger.example"
        sites[f"ledger-{language}"] = [
            _extracted(site.language, site._article(story).encode("utf-8"), site.url(story),
                       "\n".join(story.paragraphs)) for story in site.stories]
    return sites


def _learned(pages: list[SitePage], k: int) -> SiteTemplate:
    template = SiteTemplate(min_articles=k)
    for page in pages:
        template.learn(page.key, page.hashes, page.url)
    return template


def templates(pages: list[SitePage], k: int, converged: bool) -> Iterator[frozenset[int]]:
    """The template each page of one site is extracted with."""
    if converged:
        for page in pages:
            yield _learned([p for p in pages if p.key != page.key], k).template_for(page.url)
        return
    learner = SiteTemplate(min_articles=k)
    for page in pages:
        yield learner.template_for(page.url)
        learner.learn(page.key, page.hashes, page.url)


@dataclass
class Outcome:
    position: int  # 1 for a site's first page
    scores: tuple[float, float, bool]
    removed: int  # lines removed
    removed_text: int  # of which the truth holds


def outcomes(sites: dict[str, list[SitePage]], k: int | None, converged: bool
             ) -> list[Outcome]:
    found = []
    for pages in sites.values():
        given = templates(pages, k, converged) if k else (frozenset() for _ in pages)
        for position, (page, template) in enumerate(zip(pages, given, strict=True), 1):
            text, _ = apply_template(page.text, template)
            gone = set(page.text.split("\n")) - set(text.split("\n"))
            truth = " ".join(page.truth.split())
            found.append(Outcome(position, page_scores(page.truth, text), len(gone),
                                 sum(line in truth for line in gone)))
    return found


def _row(name: str, found: list[Outcome]) -> str:
    score = aggregate([o.scores for o in found])
    removed, wrong = sum(o.removed for o in found), sum(o.removed_text for o in found)
    return (f"  {name:<20} {score.pages:>5} {score.precision:>6.3f} {score.recall:>6.3f} "
            f"{score.f1:>6.3f} {score.exact:>6.2f} {removed:>8} {wrong:>10}")


def report(name: str, sites: dict[str, list[SitePage]]) -> list[str]:
    pages = sum(len(p) for p in sites.values())
    lines = [f"{name}: {len(sites)} sites with more than one page, {pages} pages",
             f"  {'template':<20} {'pages':>5} {'P':>6} {'R':>6} {'F1':>6} {'exact':>6} "
             f"{'removed':>8} {'were text':>10}"]
    rows = {"none": outcomes(sites, None, False)}
    for k in THRESHOLDS:
        rows[f"k={k} in order"] = outcomes(sites, k, False)
    for k in THRESHOLDS:
        rows[f"k={k} converged"] = outcomes(sites, k, True)
    lines += [_row(label, found) for label, found in rows.items()]
    lines.append(f"  by position in the site (in order, k={MIN_ARTICLES}, against none):")
    chosen, none = rows[f"k={MIN_ARTICLES} in order"], rows["none"]
    for position in sorted({o.position for o in chosen}):
        here = [i for i, o in enumerate(chosen) if o.position == position]
        base = aggregate([none[i].scores for i in here])
        got = aggregate([chosen[i].scores for i in here])
        lines.append(f"    page {position}: {len(here):>3} pages  F1 {base.f1:.3f} -> "
                     f"{got.f1:.3f}  exact {base.exact:.2f} -> {got.exact:.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.template", description=__doc__)
    parser.add_argument("--eval-dir", type=Path, action="append", default=[])
    parser.add_argument("--no-fixture-web", action="store_true")
    args = parser.parse_args(argv)
    missing = [d for d in args.eval_dir if not (d / "truth.jsonl").is_file()]
    if missing:
        print(f"no truth.jsonl in {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    print("Per-site template learning (pipelines/site_template.py), "
          f"the crawl's threshold k={MIN_ARTICLES}")
    for eval_dir in args.eval_dir:
        print("\n".join(["", *report(str(eval_dir), eval_sites(eval_dir))]))
    if not args.no_fixture_web:
        print("\n".join(["", *report("fixture web (tests/webdata)", fixture_sites())]))
        print("\n".join(["", *report("demo sites (demo/)", demo_sites())]))
        print("\n".join(["", *report("built template site (tests/templateweb.py)",
                                      built_sites())]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
