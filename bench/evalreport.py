"""``make eval``: our extraction against standalone trafilatura on ../shared/eval.

Prints one row per extractor (P, R, F1, exact-match share, ms/page of process CPU time, all from
the same run on the same bytes), then how often OUR title, author and published date agree with
what the page itself declares in its metadata (only pages that declare it are checked), and
writes the same figures as JSON to ``bench/results/eval-<timestamp>.json``.

    python -m bench.evalreport [--eval-dir ../shared/eval] [--out-dir bench/results]
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

import trafilatura
from dateutil import parser as dateutil_parser
from lxml import html as lxml_html

from bench.evaluation import EvalPage, aggregate, load_eval_set, page_scores
from crawler.jsonld import jsonld_objects, types_of
from pipelines.extraction import EXTRACTOR, Extraction, decode_html, extract_article

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval"
DEFAULT_OUT_DIR = REPO / "bench" / "results"


# --- body scores ---------------------------------------------------------------------------

def _trafilatura(**options: Any) -> Callable[[bytes, str], str]:
    def run(body: bytes, url: str) -> str:
        return trafilatura.extract(body, url=url, **options) or ""
    return run


def _timed(pages: list[EvalPage], bodies: list[bytes],
           run: Callable[[bytes, str], Any]) -> tuple[list[Any], float]:
    """Outputs of ``run`` on every page and the process CPU ms per page it took."""
    start = time.process_time()
    outputs = [run(body, page.url) for page, body in zip(pages, bodies, strict=True)]
    return outputs, (time.process_time() - start) * 1000 / max(len(pages), 1)


def _row(name: str, pages: list[EvalPage], texts: list[str], ms: float) -> dict[str, Any]:
    score = aggregate([page_scores(p.truth, t) for p, t in zip(pages, texts, strict=True)])
    return {"extractor": name, "precision": round(score.precision, 4),
            "recall": round(score.recall, 4), "f1": round(score.f1, 4),
            "exact": round(score.exact, 4), "ms_per_page": round(ms, 1), "pages": score.pages}


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


def _metadata_row(bodies: list[bytes], ours: list[Extraction | None]) -> dict[str, Any]:
    counts = {field: [0, 0] for field in ("title", "author", "published")}
    for body, result in zip(bodies, ours, strict=True):
        for field, declared in declared_metadata(body).items():
            if declared:
                counts[field][1] += 1
                counts[field][0] += metadata_agrees(field, getattr(result, field, None),
                                                    declared)
    return {field: {"correct": round(ok / n, 4) if n else None, "checked": n}
            for field, (ok, n) in counts.items()}


# --- the report ------------------------------------------------------------------------------

def run_report(eval_dir: Path) -> dict[str, Any]:
    pages = list(load_eval_set(eval_dir))
    bodies = [page.html() for page in pages]
    ours, ms = _timed(pages, bodies, extract_article)
    rows = [_row("newsarchive", pages, [r.text if r else "" for r in ours], ms)]
    for name, options in (("trafilatura default", {}),
                          ("trafilatura favor_precision", {"favor_precision": True}),
                          ("trafilatura fast", {"fast": True})):
        texts, ms = _timed(pages, bodies, _trafilatura(**options))
        rows.append(_row(name, pages, texts, ms))
    return {"extractor": EXTRACTOR, "eval_dir": str(eval_dir), "bodies": rows,
            "metadata": _metadata_row(bodies, ours),
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{'extractor':<28} {'P':>7} {'R':>7} {'F1':>7} {'exact':>7} {'ms/page':>8}"]
    for row in report["bodies"]:
        lines.append(f"{row['extractor']:<28} {row['precision']:>7.4f} {row['recall']:>7.4f} "
                     f"{row['f1']:>7.4f} {row['exact']:>7.3f} {row['ms_per_page']:>8.1f}")
    lines.append("")
    lines.append("metadata of newsarchive vs the page's own declaration:")
    for field, row in report["metadata"].items():
        share = "n/a" if row["correct"] is None else f"{row['correct']:.3f}"
        lines.append(f"  {field:<10} correct {share:>6}  of {row['checked']} pages checked")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    if not (args.eval_dir / "truth.jsonl").is_file():
        print(f"no truth.jsonl in {args.eval_dir}", file=sys.stderr)
        return 2
    report = run_report(args.eval_dir)
    print(format_report(report))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"eval-{report['timestamp'].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
