"""``make bench-neardup``: near-duplicate detection measured on realistic copies.

Copies and distinct articles are built from ../shared/eval and ../shared/eval2 at run time
(``bench/neardup_pairs.py``) and extracted by the real extractor. For each method it prints
recall on the copies, false positives among the distinct pairs, and the state it needs per
article (on storage and in memory, all of it: what every method needs is in BASE_*), then the
CPU of the fingerprints per page; the same figures go to ``bench/results/neardup-<ts>.json``.

    python -m bench.neardup [--eval-dir ../shared/eval --eval-dir ../shared/eval2] [--show N]
"""

from __future__ import annotations

import argparse
import json
import random
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

from bench.neardup_pairs import (
    VARIANTS,
    Original,
    Pair,
    copy_paragraphs,
    donors_for,
    extract_text,
    load_originals,
    transplant,
)
from pipelines.dedup_index import DedupIndex, StateEntry, TableBuilder
from pipelines.dedup_state import encode_segment, iter_segment
from pipelines.fingerprint import (
    BAND_ROWS,
    NEAR_DUPLICATE_BITS,
    NEAR_DUPLICATE_CONTAINMENT,
    SKETCH_SLOTS,
    Sketch,
    containment,
    hamming,
    resemblance,
    shingle_hashes,
    simhash_of,
    sketch_of,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_EVAL_DIRS = [REPO.parent / "shared" / "eval", REPO.parent / "shared" / "eval2"]
# per article, whatever the method: id, text hash, version, published (8+8+4+8) on storage; in
# memory id, text hash, version and the text-hash index (36), and for a recent article its
# candidate's position, archived day and published time (14)
BASE_STORAGE, BASE_MEMORY = 28, 50
SIMHASH_MEMORY = 8 + 10 * 8  # the simhash and its ten band-table entries


# --- building the pairs --------------------------------------------------------------------

def _original_job(original: Original) -> tuple[str, str] | None:
    return extract_text(original.html_path.read_bytes(), original.name)


def _copy_job(job: tuple[Original, Original, str, str, int]) -> str | None:
    original, donor, donor_text, headline, variant = job
    page = transplant(donor.html_path.read_bytes(), donor_text, headline,
                      copy_paragraphs(original, headline, variant))
    got = extract_text(page, f"copy-{variant}-{original.name}") if page else None
    return got[0] if got else None


def _share(part: set[int], whole: set[int]) -> float:
    return len(part & whole) / len(part) if part else 0.0


def _valid_copy(copy: str, truth: str, donor_text: str) -> bool:
    """The copy carries the article, not the donor's own text: a transplant can miss blocks."""
    mine, truth_set = set(shingle_hashes(copy)), set(shingle_hashes(truth))
    leftover = (mine & set(shingle_hashes(donor_text))) - truth_set
    return _share(truth_set, mine) >= 0.8 and len(leftover) <= 0.1 * len(mine)


def build_pairs(originals: list[Original], workers: int) -> tuple[list[Pair], dict]:
    with ProcessPoolExecutor(workers) as pool:
        extracted = list(pool.map(_original_job, originals, chunksize=4))
        keep = [i for i, e in enumerate(extracted) if e is not None]
        jobs, meta = [], []
        for i in keep:
            for variant, donor in enumerate(donors_for(i, originals)):
                if extracted[donor] is None:
                    continue
                jobs.append((originals[i], originals[donor], extracted[donor][0],
                             extracted[i][1], variant))
                meta.append((i, donor, variant))
        copies = list(pool.map(_copy_job, jobs, chunksize=4))
    pairs, by_donor, rejected = [], {}, 0
    for (i, donor, variant), copy in zip(meta, copies, strict=True):
        original, text, donor_text = originals[i], extracted[i][0], extracted[donor][0]
        if copy is None or not _valid_copy(copy, "\n".join(original.truth), donor_text):
            rejected += 1
            continue
        label = f"{original.name} in {originals[donor].name} v{variant}"
        pairs.append(Pair("copy", text, copy, label))
        pairs.append(Pair("copy_vs_donor", donor_text, copy, label))
        by_donor.setdefault(donor, []).append((i, copy, label))
    for i, j in combinations(keep, 2):
        if originals[i].url == originals[j].url:
            # one article saved twice (eval2 has one): not distinct, and one id in the archive
            continue
        same = originals[i].publisher == originals[j].publisher
        pairs.append(Pair("same_publisher" if same else "distinct", extracted[i][0],
                          extracted[j][0], f"{originals[i].name} / {originals[j].name}"))
    for group in by_donor.values():
        for (i, a, la), (j, b, lb) in combinations(group, 2):
            if i != j:
                pairs.append(Pair("same_template", a, b, f"{la} / {lb}"))
    info = {"originals": len(originals), "extracted": len(keep), "copies_made": len(jobs),
            "copies_rejected": rejected}
    return pairs, info


# --- the methods ---------------------------------------------------------------------------

@dataclass
class Features:
    hashes: dict[int, set[int]] = field(default_factory=dict)
    simhashes: dict[int, int] = field(default_factory=dict)
    sketches: dict[int, Sketch] = field(default_factory=dict)


def features(text: str) -> Features:
    f = Features()
    for words in (1, 2, 3, 4, 5):
        hashes = shingle_hashes(text, words)
        f.hashes[words], f.simhashes[words] = set(hashes), simhash_of(hashes)
    for slots in (16, 32, 64):
        f.sketches[slots] = sketch_of(list(f.hashes[3]), slots)
    return f


def _exact_containment(a: set[int], b: set[int]) -> float:
    return len(a & b) / min(len(a), len(b))


def _banded(a: Sketch, b: Sketch, rows: int) -> bool:
    """Do the two sketches agree on every slot of at least one band of ``rows`` slots?"""
    return any(a.slots[k:k + rows] == b.slots[k:k + rows] for k in range(0, len(a.slots), rows))


Linked = Callable[[Features, Features], bool]


def methods() -> list[tuple[str, Linked, int | None, int | None]]:
    """(name, linked?, state bytes on storage, in memory) per method, beyond the base."""
    found: list[tuple[str, Linked, int | None, int | None]] = []
    for words in (1, 2, 3, 4, 5):
        for bits in (6, 9, 12, 15, 18):
            found.append((f"simhash64 {words}-shingles <= {bits} bits",
                          lambda x, y, w=words, t=bits: hamming(x.simhashes[w], y.simhashes[w])
                          <= t, 8, SIMHASH_MEMORY))
    for cut in (0.5, 0.7, 0.8, 0.9):
        found.append((f"exact 3-shingle containment >= {cut} (reference)",
                      lambda x, y, t=cut: _exact_containment(x.hashes[3], y.hashes[3]) >= t,
                      None, None))
    for slots, rows in ((16, 1), (16, 2), (32, 2), (32, 4), (64, 2), (64, 4)):
        for metric, estimate in (("resemblance", resemblance), ("containment", containment)):
            for cut in (0.3, 0.5, 0.7, 0.8):
                found.append((f"minhash {slots}x16b bands {slots // rows}x{rows} {metric} >= {cut}",
                              lambda x, y, s=slots, r=rows, e=estimate, t=cut:
                              _banded(x.sketches[s], y.sketches[s], r)
                              and e(x.sketches[s], y.sketches[s]) >= t,
                              2 * slots + 2, 2 * slots + 2 + 4 * (slots // rows)))
    chosen = _chosen()
    found.append(("two stages: simhash64 <= 9 bits, else the chosen minhash",
                  lambda x, y: hamming(x.simhashes[3], y.simhashes[3]) <= NEAR_DUPLICATE_BITS
                  or chosen(x, y), 2 * SKETCH_SLOTS + 10,
                  2 * SKETCH_SLOTS + 2 + 4 * (SKETCH_SLOTS // BAND_ROWS) + SIMHASH_MEMORY))
    return found


def _chosen() -> Linked:
    return lambda x, y: (_banded(x.sketches[SKETCH_SLOTS], y.sketches[SKETCH_SLOTS], 2)
                         and containment(x.sketches[SKETCH_SLOTS], y.sketches[SKETCH_SLOTS])
                         >= NEAR_DUPLICATE_CONTAINMENT)


def evaluate(pairs: list[Pair], feats: dict[str, Features]) -> list[dict]:
    rows = []
    copies = [p for p in pairs if p.kind == "copy"]
    others = [p for p in pairs if p.kind != "copy"]
    for name, linked, storage, memory in methods():
        found = sum(1 for p in copies if linked(feats[p.a], feats[p.b]))
        false = [p for p in others if linked(feats[p.a], feats[p.b])]
        rows.append({"method": name, "recall": found / len(copies), "copies": len(copies),
                     "false_positives": len(false), "distinct_pairs": len(others),
                     "false_by_kind": {k: sum(1 for p in false if p.kind == k)
                                       for k in sorted({p.kind for p in false})},
                     "bytes_storage": None if storage is None else BASE_STORAGE + storage,
                     "bytes_memory": None if memory is None else BASE_MEMORY + memory})
    return rows


def cpu_per_page(texts: list[str]) -> dict[str, float]:
    def timed(fn: Callable[[str], object]) -> float:
        start = time.process_time()
        for text in texts:
            fn(text)
        return (time.process_time() - start) * 1000 / len(texts)
    return {"shingle hashes": timed(shingle_hashes),
            "simhash64 (hashes + simhash)": timed(lambda t: simhash_of(shingle_hashes(t))),
            "minhash 32 (hashes + sketch)": timed(lambda t: sketch_of(shingle_hashes(t))),
            "what the worker computes (hashes + sketch + simhash)": timed(_worker_fingerprints)}


def _worker_fingerprints(text: str) -> tuple[Sketch, int]:
    hashes = shingle_hashes(text)
    return sketch_of(hashes), simhash_of(hashes)


def index_costs(articles: int, probes: int = 200) -> dict[str, float]:
    """The chosen state for ``articles`` recent articles (random sketches, as distinct texts
    give): segment bytes and tracemalloc'd table bytes an article, build time, lookup time."""
    rng = random.Random(12)
    entries = [StateEntry(rng.getrandbits(64), rng.getrandbits(64), 1,
                          Sketch(tuple(rng.getrandbits(16) for _ in range(SKETCH_SLOTS)), 400),
                          1_780_000_000) for _ in range(articles)]
    segment = encode_segment(entries)

    def build() -> DedupIndex:
        builder = TableBuilder()
        builder.add_entries(iter_segment(segment), recent=True, day="2026-11-30")
        return DedupIndex(builder.build())

    start = time.perf_counter()
    index = build()
    built = time.perf_counter() - start  # without tracemalloc, which slows allocation down
    del index
    tracemalloc.start()
    index = build()
    retained = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    start = time.perf_counter()
    for entry in entries[:probes]:
        index.near_duplicate(entry.sketch, None, exclude=0)
    lookup = (time.perf_counter() - start) / probes
    return {"articles": articles, "segment_bytes_per_article": (len(segment) - 8) / articles,
            "memory_bytes_per_article": retained / articles, "build_s": built,
            "lookup_ms": lookup * 1000}


def _print(rows: list[dict], info: dict, cpu: dict[str, float], pairs: list[Pair]) -> None:
    kinds = {k: sum(1 for p in pairs if p.kind == k) for k in sorted({p.kind for p in pairs})}
    print(f"pages {info}; pairs {kinds}")
    print(f"{'method':<62} {'recall':>7} {'FP':>5} {'B stored':>8} {'B memory':>8}")
    for r in rows:
        stored = "-" if r["bytes_storage"] is None else r["bytes_storage"]
        memory = "-" if r["bytes_memory"] is None else r["bytes_memory"]
        print(f"{r['method']:<62} {r['recall']:>7.3f} {r['false_positives']:>5} {stored:>8} "
              f"{memory:>8}")
    for name, ms in cpu.items():
        print(f"CPU {name}: {ms:.2f} ms/page")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def margins(pairs: list[Pair], feats: dict[str, Features]) -> dict[str, dict[str, float]]:
    """How far the chosen estimate keeps copies from distinct pairs: the low end of the copies,
    the high end of each kind of distinct pair among those sharing a band (the others are never
    compared), the exact containment of all, and the size ratios (smaller/larger)."""
    found: dict[str, dict[str, float]] = {}
    for kind in sorted({p.kind for p in pairs}):
        mine = [p for p in pairs if p.kind == kind]
        sketches = [(feats[p.a].sketches[SKETCH_SLOTS], feats[p.b].sketches[SKETCH_SLOTS])
                    for p in mine]
        estimates = [containment(a, b) for a, b in sketches if _banded(a, b, BAND_ROWS)]
        found[kind] = {"sharing a band": len(estimates)}
        exact = [_exact_containment(feats[p.a].hashes[3], feats[p.b].hashes[3]) for p in mine]
        sizes = [min(len(feats[p.a].hashes[3]), len(feats[p.b].hashes[3]))
                 / max(len(feats[p.a].hashes[3]), len(feats[p.b].hashes[3])) for p in mine]
        qs = (0.0, 0.01, 0.05) if kind == "copy" else (0.99, 0.999, 1.0)
        found[kind].update({**{f"estimate q{q}": _quantile(estimates, q) for q in qs},
                       **{f"exact q{q}": _quantile(exact, q) for q in qs},
                            "size ratio min": min(sizes),
                            "size ratio q0.01": _quantile(sizes, 0.01)})
    return found


def _show_misses(pairs: list[Pair], feats: dict[str, Features], count: int) -> None:
    chosen = _chosen()
    for p in pairs:
        x, y = feats[p.a], feats[p.b]
        wrong = chosen(x, y) != (p.kind == "copy")
        if wrong and count > 0:
            count -= 1
            print(f"  {'missed' if p.kind == 'copy' else 'false'} {p.kind} {p.label}: "
                  f"containment {_exact_containment(x.hashes[3], y.hashes[3]):.2f} "
                  f"est {containment(x.sketches[32], y.sketches[32]):.2f} "
                  f"simhash {hamming(x.simhashes[3], y.simhashes[3])} bits")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.neardup", description=__doc__)
    p.add_argument("--eval-dir", type=Path, action="append")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--show", type=int, default=10, help="misses and false positives listed")
    p.add_argument("--index-articles", type=int, default=100_000,
                   help="recent articles in the measured index (memory, build and lookup)")
    p.add_argument("--out-dir", type=Path, default=REPO / "bench" / "results")
    args = p.parse_args(argv)
    originals = load_originals(args.eval_dir or DEFAULT_EVAL_DIRS)
    pairs, info = build_pairs(originals, args.workers)
    texts = {t for pair in pairs for t in (pair.a, pair.b)}
    feats = {t: features(t) for t in texts}
    rows = evaluate(pairs, feats)
    cpu = cpu_per_page(sorted(texts)[:400])
    info["variants"] = len(VARIANTS)
    _print(rows, info, cpu, pairs)
    found = margins(pairs, feats)
    for kind, values in found.items():
        print(f"margins {kind}: " + ", ".join(f"{k} {v:.3f}" for k, v in values.items()))
    _show_misses(pairs, feats, args.show)
    costs = index_costs(args.index_articles)
    print("index of recent articles: " + ", ".join(f"{k} {v:.4g}" for k, v in costs.items()))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"neardup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"pages": info, "methods": rows, "cpu_ms_per_page": cpu,
                               "margins": found, "index": costs},
                              indent=1))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
