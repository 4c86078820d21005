"""Text fingerprints for deduplication: an exact hash, and a MinHash sketch for near-duplicates.

Near-duplicates (syndicated and re-posted copies) are texts that share most of their word
3-shingles. The sketch is a one-permutation MinHash (Li, Owen & Zhang 2012): each shingle's
64-bit hash picks one of ``SKETCH_SLOTS`` slots by its top bits and competes there for the
smallest remaining value; a slot keeps the low 16 bits of its winner. Two texts' slots agree
with probability about their Jaccard resemblance, so the share of agreeing slots estimates it,
and with the texts' shingle counts, the containment of the smaller in the larger
(:func:`containment`). A copy is the same article in another template: the two extractions
differ by a caption, a credit, an editor's note, so it is the shorter text's containment in the
longer that stays high, and ``NEAR_DUPLICATE_CONTAINMENT`` is the threshold.

Why MinHash and these numbers: ``python -m bench.neardup`` (README, "Deduplication"). The
64-bit SimHash of state format 1 stays for entries archived in that format (:func:`simhash`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

SHINGLE_WORDS = 3
SKETCH_SLOTS = 32
SLOT_BITS = 16
# candidates share all BAND_ROWS slots of one of the SKETCH_SLOTS // BAND_ROWS bands
BAND_ROWS = 2
NEAR_DUPLICATE_CONTAINMENT = 0.7
# SimHash (state format 1): Hamming distance within which two texts are near-identical
NEAR_DUPLICATE_BITS = 9
_WORD = re.compile(r"\w+", re.UNICODE)
# a byte's eight bits spread into eight 32-bit counters: adding the spreads of a byte of every
# hash counts how many hashes have each of its bits set, eight bits in one addition
_SPREAD = [sum(((byte >> bit) & 1) << (32 * bit) for bit in range(8)) for byte in range(256)]
_LANE = 0xFFFFFFFF
_MAX_COUNT = 0xFFFF


def normalise_whitespace(text: str) -> str:
    return " ".join(text.split())


def content_hash(text: str) -> str:
    """sha256 (hex) of the whitespace-normalised text: the CONTRACT's ``content_hash``."""
    return hashlib.sha256(normalise_whitespace(text).encode("utf-8")).hexdigest()


def shingle_hashes(text: str, words: int = SHINGLE_WORDS) -> list[int]:
    """64-bit hashes of the text's distinct lower-cased word n-shingles (at least one)."""
    tokens = _WORD.findall(text.lower())
    if len(tokens) < words:
        tokens = tokens + [""] * (words - len(tokens))
    grams = {" ".join(tokens[i:i + words]) for i in range(len(tokens) - words + 1)}
    return [int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest(), "big")
            for g in grams]


def simhash_of(hashes: list[int]) -> int:
    """64-bit SimHash of shingle hashes (unweighted): a bit is set when most hashes have it."""
    spread = _SPREAD
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = 0
    for h in hashes:  # one counter per byte of the hash, its eight bits counted at once
        c0 += spread[h & 255]
        c1 += spread[(h >> 8) & 255]
        c2 += spread[(h >> 16) & 255]
        c3 += spread[(h >> 24) & 255]
        c4 += spread[(h >> 32) & 255]
        c5 += spread[(h >> 40) & 255]
        c6 += spread[(h >> 48) & 255]
        c7 += spread[h >> 56]
    half = len(hashes) / 2
    value = 0
    for byte, counters in enumerate((c0, c1, c2, c3, c4, c5, c6, c7)):
        for bit in range(8):
            if (counters >> (32 * bit)) & _LANE > half:
                value |= 1 << (8 * byte + bit)
    return value


def simhash(text: str) -> int:
    """64-bit SimHash of the text's distinct word 3-shingles (state format 1)."""
    return simhash_of(shingle_hashes(text))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


@dataclass(frozen=True, slots=True)
class Sketch:
    """A text's MinHash slots and its number of distinct shingles (capped at 65,535)."""

    slots: tuple[int, ...]
    count: int


def sketch_of(hashes: list[int], slots: int = SKETCH_SLOTS, bits: int = SLOT_BITS) -> Sketch:
    """One-permutation MinHash of shingle hashes; ``slots`` must be a power of two."""
    shift = 64 - (slots.bit_length() - 1)
    rest = (1 << shift) - 1
    best = [rest + 1] * slots
    for h in hashes:
        slot, value = h >> shift, h & rest
        if value < best[slot]:
            best[slot] = value
    return Sketch(_densified(best, rest + 1, (1 << bits) - 1), min(len(hashes), _MAX_COUNT))


def _densified(best: list[int], empty: int, mask: int) -> tuple[int, ...]:
    """Low bits of each slot's winner; an empty slot (short texts) borrows from the next filled
    slot to its right, mixed with the distance, so equal texts still get equal slots (the
    rotation of Shrivastava & Li 2014)."""
    size = len(best)
    if all(v == empty for v in best):
        return (0,) * size
    out = []
    for i, value in enumerate(best):
        step = 0
        while value == empty:
            step += 1
            value = best[(i + step) % size]
        out.append((value + step * 0x9E3779B97F4A7C15) & mask)
    return tuple(out)


def sketch(text: str) -> Sketch:
    """The text's sketch over its word 3-shingles: what the dedup state keeps of a text."""
    return sketch_of(shingle_hashes(text))


def resemblance(a: Sketch, b: Sketch) -> float:
    """Estimated Jaccard resemblance of the two texts' shingle sets."""
    agree = sum(1 for x, y in zip(a.slots, b.slots, strict=True) if x == y)
    return agree / len(a.slots)


def containment(a: Sketch, b: Sketch) -> float:
    """Estimated share of the smaller text's shingles found in the larger: |A∩B| = J·(|A|+|B|)
    / (1+J) from the estimated resemblance J."""
    j = resemblance(a, b)
    smaller = min(a.count, b.count)
    if smaller == 0:
        return 0.0
    return min(1.0, j * (a.count + b.count) / ((1 + j) * smaller))


def band_keys(sketch: Sketch, rows: int = BAND_ROWS) -> list[int]:
    """One key a band: its ``rows`` slots, the first in the low bits (as little-endian bytes of
    the slots read as one integer). Texts with resemblance J share some band with probability
    1 - (1 - J**rows) ** bands: 0.9997 at J = 0.6 for 16 bands of 2, 0.0016 at J = 0.01."""
    slots = sketch.slots
    keys = []
    for start in range(0, len(slots), rows):
        key = 0
        for offset in range(rows - 1, -1, -1):
            key = (key << SLOT_BITS) | slots[start + offset]
        keys.append(key)
    return keys


def is_near_copy(a: Sketch, b: Sketch) -> bool:
    """Is one text a near-identical copy of the other (once they share a band)?"""
    return containment(a, b) >= NEAR_DUPLICATE_CONTAINMENT
