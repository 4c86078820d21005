"""Every metadata miss of our extraction on the dev sets, to group by cause: page, field, what
was expected (the set's truth, else the page's own declaration, as ``make eval`` scores it) and
what we read. The figures are ``make eval``'s; this only lists the pages behind them.

    python -m bench.metadata_misses [--eval-dir DIR ...] [--field title|author|published]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.evalreport import (
    DEFAULT_EVAL_DIRS,
    _names,
    declared_metadata,
    metadata_agrees,
    people_truth,
    same_as_truth,
)
from bench.evaluation import load_eval_set
from pipelines.extraction import extract_article

FIELDS = ("title", "author", "published")


def _expected(row: dict, body: bytes) -> dict[str, object]:
    """Per field, what ``make eval`` compares against; authors as people (no outlet names)."""
    if "title" in row:
        return {"title": row["title"], "published": row["published"],
                "author": people_truth(row["authors"], body, row["url"])}
    declared = declared_metadata(body)
    people = (people_truth(sorted(_names(declared["author"])), body, row["url"])
              if declared["author"] else None)
    return {"title": declared["title"], "published": declared["published"], "author": people}


def _right(field: str, ours: str | None, expected: object, by_truth: bool) -> bool:
    if field == "author":
        return same_as_truth("author", ours, expected) if expected else not ours
    judge = same_as_truth if by_truth else metadata_agrees
    return judge(field, ours, expected)


def misses(eval_dir: Path, fields: tuple[str, ...] = FIELDS) -> Iterator[dict[str, object]]:
    with open(eval_dir / "truth.jsonl", encoding="utf-8") as fh:
        rows = {row["id"]: row for row in map(json.loads, filter(str.strip, fh))}
    for page in load_eval_set(eval_dir):
        row, body = rows[page.id], page.html()
        result = extract_article(body, page.url)
        for field, expected in _expected(row, body).items():
            if field not in fields or expected is None:
                continue  # nothing declared: nothing to check
            ours = getattr(result, field) if result else None
            if not _right(field, ours, expected, "title" in row):
                yield {"set": eval_dir.name, "id": page.id, "field": field,
                       "expected": expected, "ours": ours}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, action="append", dest="eval_dirs")
    parser.add_argument("--field", choices=FIELDS, action="append", dest="fields")
    args = parser.parse_args(argv)
    for eval_dir in args.eval_dirs or list(DEFAULT_EVAL_DIRS):
        for miss in misses(eval_dir, tuple(args.fields or FIELDS)):
            print(json.dumps(miss, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
