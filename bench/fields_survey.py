"""The optional record fields and the bot-wall check over the dev sets, where no truth exists
for them: how many pages get each field, whether a figure caption reaches ``text``, which
pages the wall check takes for a wall (none should be), and what both cost.

    python -m bench.fields_survey [--eval-dir DIR ...]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from crawler.walls import find_wall
from pipelines.extraction import Extraction, _parse, decode_html, read_page
from pipelines.page_extras import page_extras
from pipelines.page_metadata import jsonld_nodes

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIELDS = ("image", "image_caption", "description", "modified")
MIN_CAPTION = 40  # shorter captions ("Photo: AP") may be in the text for other reasons


def _captions_in_text(body: bytes, text: str) -> int:
    tree, _, _ = _parse(decode_html(body))
    flat = " ".join(text.split())
    captions = (" ".join(c.text_content().split()) for c in tree.iter("figcaption"))
    return sum(1 for c in captions if len(c) >= MIN_CAPTION and c in flat)


def survey(pages: list[Path]) -> None:
    coverage: Counter[str] = Counter()
    leaks, walls = 0, []
    for path in pages:
        body = path.read_bytes()
        result = read_page(body, f"https://example.invalid/{path.stem}")
        if not isinstance(result, Extraction):
            walls.append((path.name, result))
            continue
        extras = result.extras
        coverage.update(name for name in FIELDS if getattr(extras, name))
        coverage.update(["tags"] if extras.tags else [])
        coverage[extras.access] += 1
        leaks += _captions_in_text(body, result.text)
    print(f"  fields: {dict(coverage)}")
    print(f"  figcaptions of {MIN_CAPTION}+ characters found in text: {leaks}")
    print(f"  pages taken for a bot wall or without text: {len(walls)} {walls}")


def cost(pages: list[Path], repeats: int = 3) -> None:
    parsed = [_parse(decode_html(p.read_bytes())) for p in pages]
    for _ in range(repeats):
        start = time.process_time()
        for tree, html, _ in parsed:
            find_wall(tree, html)
        walls = (time.process_time() - start) / len(parsed) * 1000
        start = time.process_time()
        for tree, _, _ in parsed:
            page_extras(tree, jsonld_nodes(tree), "https://example.invalid/")
        extras = (time.process_time() - start) / len(parsed) * 1000
        print(f"  process CPU: wall check {walls:.2f} ms/page, fields {extras:.2f} ms/page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", action="append", type=Path,
                        default=None, help="a dev set (default: ../shared/eval and eval2)")
    args = parser.parse_args()
    for directory in args.eval_dir or [SHARED / "eval", SHARED / "eval2"]:
        pages = sorted((directory / "pages").glob("*.html"))
        print(f"{directory} ({len(pages)} pages)")
        survey(pages)
        cost(pages)


if __name__ == "__main__":
    main()
