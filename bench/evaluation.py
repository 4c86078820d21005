"""The extraction metric of ``../shared/eval/README.md``, and loading of that page set.

Tokens are ``\\w+`` runs; per page, tp/fp/fn are counted over multisets of 4-token shingles;
precision and recall are averaged over pages and F1 is their harmonic mean. The pages are read
from where they lie; nothing of them is copied into the project.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_TOKEN = re.compile(r"\w+", re.UNICODE)
SHINGLE = 4


@dataclass(frozen=True)
class EvalPage:
    id: str
    url: str
    truth: str
    html_path: Path

    def html(self) -> bytes:
        return self.html_path.read_bytes()


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    exact: float
    pages: int


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text or "")


def _shingles(toks: list[str]) -> Counter:
    if len(toks) < SHINGLE:
        return Counter([tuple(toks)]) if toks else Counter()
    return Counter(tuple(toks[i:i + SHINGLE]) for i in range(len(toks) - SHINGLE + 1))


def page_scores(truth: str, predicted: str) -> tuple[float, float, bool]:
    """(precision, recall, exact) of one page."""
    t_toks, p_toks = tokens(truth), tokens(predicted)
    t, p = _shingles(t_toks), _shingles(p_toks)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    total = tp + fp + fn
    if total == 0:
        return 1.0, 1.0, t_toks == p_toks
    tp, fp, fn = tp / total, fp / total, fn / total
    precision = tp / (tp + fp) if fp else 1.0
    recall = tp / (tp + fn) if fn else 1.0
    return precision, recall, t_toks == p_toks


def aggregate(per_page: list[tuple[float, float, bool]]) -> Score:
    n = len(per_page) or 1
    precision = sum(p for p, _, _ in per_page) / n
    recall = sum(r for _, r, _ in per_page) / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = sum(1 for _, _, e in per_page if e) / n
    return Score(precision, recall, f1, exact, len(per_page))


def load_eval_set(eval_dir: Path) -> Iterator[EvalPage]:
    with open(eval_dir / "truth.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                yield EvalPage(row["id"], row["url"], row["body"],
                               eval_dir / "pages" / f"{row['id']}.html")


def evaluate(pages: list[EvalPage], extract: Callable[[EvalPage], str]) -> Score:
    return aggregate([page_scores(page.truth, extract(page) or "") for page in pages])
