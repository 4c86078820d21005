"""``make eval``: our extraction against standalone trafilatura on both dev sets.

For each set (``../shared/eval``: one benchmark, 85 pages; ``../shared/eval2``: 90 publishers,
about 15 languages) it prints one row per extractor: P, R, F1, exact-match share and process CPU
ms/page, all from one run over the same bytes, the extractors interleaved page by page so that
load from other processes falls on all of them alike; then the same per language where the set
gives one, and how often OUR title, author and published time are right: against the set's
truth where it has one (eval2), else against what the page itself declares (only pages that
declare it are checked). ``--ablation`` adds rows for variants of our extraction (see
``pipelines.extraction.ExtractOptions``). The figures also go to
``bench/results/eval-<timestamp>.json``.

    python -m bench.evalreport [--eval-dir DIR ...] [--ablation] [--out-dir bench/results]
"""

from __future__ import annotations

import argparse
import html as html_lib
import json
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from dateutil import parser as dateutil_parser
from lxml import html as lxml_html

from bench.evaluation import EvalPage, aggregate, load_eval_set, page_scores
from crawler.jsonld import jsonld_objects, types_of
from pipelines.extraction import (
    ABLATIONS,
    EXTRACTOR,
    Extraction,
    ExtractOptions,
    decode_html,
    extract_article,
    read_page,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EVAL_DIRS = (REPO.parent / "shared" / "eval", REPO.parent / "shared" / "eval2")
DEFAULT_OUT_DIR = REPO / "bench" / "results"


# --- body scores ---------------------------------------------------------------------------

Extractor = Callable[[bytes, str], Any]


def _trafilatura(**options: Any) -> Extractor:
    def run(body: bytes, url: str) -> str:
        return trafilatura.extract(body, url=url, **options) or ""
    return run


def _ours(options: ExtractOptions | None = None) -> Extractor:
    """Ours as the crawl's workers run it (``read_page``: the bot-wall check included, so its
    cost is in the time); an ablation's variant through ``extract_article``. A page taken
    for a bot wall scores as empty."""
    def run(body: bytes, url: str) -> Extraction | None:
        if options:
            return extract_article(body, url, options=options)
        result = read_page(body, url)
        return result if isinstance(result, Extraction) else None
    return run


TRAFILATURA = {"trafilatura default": _trafilatura(),
               "trafilatura favor_precision": _trafilatura(favor_precision=True),
               "trafilatura fast": _trafilatura(fast=True)}


def run_interleaved(bodies: list[bytes], urls: list[str],
                    extractors: dict[str, Extractor]) -> dict[str, tuple[list[Any], float]]:
    """Every extractor on every page, the extractors taking turns page by page (their order
    rotated each page), so that whatever else the machine runs weighs on all of them alike:
    outputs and process CPU ms per page of each, after a warm-up (``_warm_up``)."""
    names = list(extractors)
    outputs: dict[str, list[Any]] = {name: [] for name in names}
    cpu = dict.fromkeys(names, 0.0)
    _warm_up(bodies, urls, extractors)
    for i, (body, url) in enumerate(zip(bodies, urls, strict=True)):
        for name in names[i % len(names):] + names[:i % len(names)]:
            start = time.process_time()
            outputs[name].append(extractors[name](body, url))
            cpu[name] += time.process_time() - start
    n = max(len(bodies), 1)
    return {name: (outputs[name], cpu[name] * 1000 / n) for name in names}


# pages each extractor reads, untimed, before the timed run
_WARM_UP_PAGES = 3


def _warm_up(bodies: list[bytes], urls: list[str], extractors: dict[str, Extractor]) -> None:
    """One-time costs (jusText's stop lists: about a second, lazy imports, compiled
    expressions) would be charged to whichever extractor meets them first; a crawl's workers
    pay them once for thousands of pages. Each extractor reads the first pages untimed; the
    fallbacks are forced on ours too, so their initialisation is done whoever runs next."""
    for body, url in list(zip(bodies, urls, strict=True))[:_WARM_UP_PAGES]:
        for extractor in extractors.values():
            extractor(body, url)
        extract_article(body, url, options=ExtractOptions(fallbacks="always"))


def _text(output: Any) -> str:
    return output if isinstance(output, str) else (output.text if output else "")


def _row(name: str, truths: list[str], texts: list[str], ms: float | None) -> dict[str, Any]:
    score = aggregate([page_scores(t, p) for t, p in zip(truths, texts, strict=True)])
    return {"extractor": name, "precision": round(score.precision, 4),
            "recall": round(score.recall, 4), "f1": round(score.f1, 4),
            "exact": round(score.exact, 4),
            "ms_per_page": None if ms is None else round(ms, 2), "pages": score.pages}


# --- what the page declares (independent of pipelines.extraction on purpose) -----------------

def _norm_text(value: str) -> str:
    return " ".join(html_lib.unescape(value).split()).casefold()


def _jsonld_articles(tree: lxml_html.HtmlElement) -> Iterator[dict]:
    scripts = tree.xpath('//script[@type="application/ld+json"]/text()')
    for node in jsonld_objects(scripts):
        if any(kind.endswith("Article") for kind in types_of(node)):
            yield node


def _first_meta(tree: lxml_html.HtmlElement, *xpaths: str) -> str | None:
    for xpath in xpaths:
        for value in tree.xpath(xpath):
            if value.strip():
                return value.strip()
    return None


def _declared_authors(tree: lxml_html.HtmlElement, articles: list[dict]) -> str | None:
    for article in articles:
        author = article.get("author")
        people = author if isinstance(author, list) else [author]
        names = [p.get("name") if isinstance(p, dict) else p for p in people]
        names = [n for n in names if isinstance(n, str) and n.strip()]
        if names:
            return "; ".join(names)
    return _first_meta(tree, '//meta[@name="author"]/@content',
                       '//meta[@property="article:author"][not(starts-with(@content, "http"))]'
                       '/@content')


def declared_metadata(body: bytes) -> dict[str, str | None]:
    """Title, author and published time the page states about itself, or None for each."""
    tree = lxml_html.fromstring(decode_html(body).encode("utf-8"),
                                parser=lxml_html.HTMLParser(encoding="utf-8"))
    articles = list(_jsonld_articles(tree))
    title = next((a["headline"] for a in articles if isinstance(a.get("headline"), str)), None)
    title = title or _first_meta(tree, '//meta[@property="og:title"]/@content',
                                 "//head/title/text()")
    published = next((a["datePublished"] for a in articles
                      if isinstance(a.get("datePublished"), str)), None)
    published = published or _first_meta(
        tree, '//meta[@property="article:published_time"]/@content',
        '//meta[@itemprop="datePublished"]/@content')
    return {"title": title, "author": _declared_authors(tree, articles), "published": published}


def _names(value: str) -> set[str]:
    value = re.sub(r"^\s*by\s+", "", _norm_text(value))
    parts = re.split(r"\s*(?:;|,|\||\band\b|&)\s*", value)
    return {p for p in parts if p}


def _when(value: str) -> datetime | date | None:
    """A declared or extracted time; spelled-out dates ("Nov 19, 2019 07:47") are read too."""
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = dateutil_parser.parse(value, fuzzy=True)
    except (ValueError, OverflowError):
        return None
    return parsed if re.search(r"\d:\d\d", value) else parsed.date()


def _same_time(ours: str, declared: str) -> bool:
    """Same instant whatever its spelling; only the day is compared when either side gives no
    time of day, and wall-clock time when either gives no zone."""
    a, b = _when(ours), _when(declared)
    if a is None or b is None:
        return False
    if not isinstance(a, datetime) or not isinstance(b, datetime) or _is_midnight(a, b):
        return _day(a) == _day(b)
    # a parser's truth may carry milliseconds a page's declaration leaves out
    a, b = a.replace(microsecond=0), b.replace(microsecond=0)
    if a.tzinfo is None or b.tzinfo is None:
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return a.astimezone(UTC) == b.astimezone(UTC)


def _is_midnight(*values: datetime) -> bool:
    # a bare date read by fromisoformat is a datetime at 00:00: treat it as a day
    return any(v.hour == v.minute == v.second == 0 and v.tzinfo is None for v in values)


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _same_title(ours: str, declared: str) -> bool:
    """Equal, or the declaration is our title plus a site or section label ("X | Site")."""
    ours, declared = _norm_text(ours), _norm_text(declared)
    if ours == declared:
        return True
    rest = declared.removeprefix(ours) if declared.startswith(ours) else (
        declared.removesuffix(ours) if declared.endswith(ours) else None)
    return bool(ours) and rest is not None and bool(_LABEL.fullmatch(rest))


# a separator and up to six words: " | Site Name", "Opinion | "
_LABEL = re.compile(r"\s*[|\-\u2013\u2014:]\s*\S+(\s+\S+){0,5}\s*|"
                    r"\s*\S+(\s+\S+){0,5}\s*[|\-\u2013\u2014:]\s*")


def metadata_agrees(field: str, ours: str | None, declared: str) -> bool:
    if not ours:
        return False
    if field == "title":
        return _same_title(ours, declared)
    if field == "author":
        return _names(ours) == _names(declared)
    return _same_time(ours, declared)


def same_as_truth(field: str, ours: str | None, truth: str | list[str]) -> bool:
    """Our title, author or date against a parser's truth: the same words (title), the same
    set of names (author), the same instant (date)."""
    if not ours:
        return False
    if field == "title":
        return _words(ours) == _words(str(truth))
    if field == "author":
        return {" ".join(_words(n)) for n in ours.split(";")} == \
            {" ".join(_words(n)) for n in truth}
    return _same_time(ours, str(truth))


def _words(value: str) -> list[str]:
    return re.findall(r"\w+", _norm_text(value))


def site_names(body: bytes, url: str) -> set[str]:
    """What the site calls itself (og:site_name, JSON-LD publisher, host name with and without
    its suffix), as word keys. Some of eval2's parsers give these as the author; an archive's
    author field names people, so the "people" score drops them from the truth."""
    tree = lxml_html.fromstring(decode_html(body).encode("utf-8"),
                                parser=lxml_html.HTMLParser(encoding="utf-8"))
    names = list(tree.xpath('//meta[@property="og:site_name"]/@content'))
    for article in _jsonld_articles(tree):
        publisher = article.get("publisher")
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            names.append(publisher["name"])
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return {" ".join(_words(n)) for n in [*names, host, host.split(".")[0]]} - {""}


def people_truth(authors: list[str], body: bytes, url: str) -> list[str]:
    outlets = site_names(body, url)
    return [name for name in authors if " ".join(_words(name)) not in outlets]


def _metadata_row(pages: list[EvalPage], rows: list[dict], bodies: list[bytes],
                  ours: list[Extraction | None]) -> dict[str, Any]:
    """Share of right titles, authors and dates: against the truth's ``title``, ``authors`` and
    ``published`` where the set has them, else against the page's own declaration.
    "author (people)" counts the same authors without the site's own names (``site_names``):
    no author is right where only the outlet is named."""
    counts = {field: [0, 0] for field in ("title", "author", "published")}
    for row, body, result in zip(rows, bodies, ours, strict=True):
        if "title" in row:
            truth = {"title": row.get("title"), "author": row.get("authors"),
                     "published": row.get("published")}
            judge = same_as_truth
            people = people_truth(row["authors"], body, row["url"])
        else:
            truth, judge = declared_metadata(body), metadata_agrees
            people = people_truth(sorted(_names(truth["author"] or "")), body, row["url"])
            if not truth["author"]:
                people = None  # nothing declared: nothing to check
        if people is not None:
            ours_author = getattr(result, "author", None)
            ok = same_as_truth("author", ours_author, people) if people else not ours_author
            counts.setdefault("author (people)", [0, 0])
            counts["author (people)"][0] += ok
            counts["author (people)"][1] += 1
        for field, expected in truth.items():
            if expected:
                counts[field][1] += 1
                counts[field][0] += judge(field, getattr(result, field, None), expected)
    basis = "truth" if rows and "title" in rows[0] else "declared"
    return {field: {"correct": round(ok / n, 4) if n else None, "checked": n, "basis": basis}
            for field, (ok, n) in counts.items()}


# --- the report ------------------------------------------------------------------------------

def _truth_rows(eval_dir: Path) -> list[dict]:
    with open(eval_dir / "truth.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def ablation_variants() -> dict[str, Extractor]:
    """Our extraction with one choice changed at a time (``ExtractOptions``'s fields)."""
    return {f"ours, {label}": _ours(options) for label, options in ABLATIONS.items()}


def score_set(eval_dir: Path, ablation: bool = False) -> dict[str, Any]:
    pages, rows = list(load_eval_set(eval_dir)), _truth_rows(eval_dir)
    bodies, urls = [page.html() for page in pages], [page.url for page in pages]
    extractors = {"newsarchive": _ours(), **TRAFILATURA}
    if ablation:
        extractors.update(ablation_variants())
    results = run_interleaved(bodies, urls, extractors)
    truths = [page.truth for page in pages]
    table = [_row(name, truths, [_text(o) for o in outputs], ms)
             for name, (outputs, ms) in results.items()]
    languages = sorted({row["lang"] for row in rows if row.get("lang")})
    by_language = {}
    for lang in languages:
        idx = [i for i, row in enumerate(rows) if row.get("lang") == lang]
        by_language[lang] = [
            _row(name, [truths[i] for i in idx], [_text(results[name][0][i]) for i in idx], None)
            for name in ("newsarchive", "trafilatura default")]
    return {"eval_dir": str(eval_dir), "bodies": table, "languages": by_language,
            "metadata": _metadata_row(pages, rows, bodies, results["newsarchive"][0])}


def run_report(eval_dirs: list[Path], ablation: bool = False) -> dict[str, Any]:
    return {"extractor": EXTRACTOR, "sets": [score_set(d, ablation) for d in eval_dirs],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _format_set(result: dict[str, Any]) -> list[str]:
    base = next(r["ms_per_page"] for r in result["bodies"]
                if r["extractor"] == "trafilatura default")
    lines = [f"== {result['eval_dir']} ({result['bodies'][0]['pages']} pages)",
             f"{'extractor':<34} {'P':>7} {'R':>7} {'F1':>7} {'exact':>7} {'ms/page':>8}"
             f" {'x traf':>7}"]
    for row in result["bodies"]:
        lines.append(f"{row['extractor']:<34} {row['precision']:>7.4f} {row['recall']:>7.4f} "
                     f"{row['f1']:>7.4f} {row['exact']:>7.3f} {row['ms_per_page']:>8.1f}"
                     f" {row['ms_per_page'] / base:>7.2f}")
    if result["languages"]:
        lines += ["", f"{'language':<9} {'pages':>5}  newsarchive F1 / exact"
                      "   trafilatura default F1 / exact"]
        for lang, (ours, theirs) in result["languages"].items():
            lines.append(f"{lang:<9} {ours['pages']:>5}  {ours['f1']:>13.4f} / "
                         f"{ours['exact']:.3f}   {theirs['f1']:>22.4f} / {theirs['exact']:.3f}")
    lines += ["", "metadata of newsarchive:"]
    for field, row in result["metadata"].items():
        share = "n/a" if row["correct"] is None else f"{row['correct']:.3f}"
        lines.append(f"  {field:<16} correct {share:>6}  of {row['checked']} pages "
                     f"(against the {row['basis']})")
    return lines


def format_report(report: dict[str, Any]) -> str:
    lines: list[str] = []
    for result in report["sets"]:
        lines += [*_format_set(result), ""]
    return "\n".join(lines).rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, action="append", dest="eval_dirs",
                        help="a page set with truth.jsonl (repeatable; default: both dev sets)")
    parser.add_argument("--ablation", action="store_true",
                        help="also score variants of our extraction, one choice changed each")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    eval_dirs = args.eval_dirs or list(DEFAULT_EVAL_DIRS)
    missing = [d for d in eval_dirs if not (d / "truth.jsonl").is_file()]
    if missing:
        print(f"no truth.jsonl in {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    report = run_report(eval_dirs, args.ablation)
    print(format_report(report))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"eval-{report['timestamp'].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
