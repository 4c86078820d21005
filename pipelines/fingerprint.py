"""Text fingerprints for deduplication: an exact hash and a 64-bit SimHash.

SimHash over word 3-shingles: texts that share most of their shingles land within a few bits of
each other, so "near-identical" becomes "Hamming distance <= NEAR_DUPLICATE_BITS". The threshold
and shingle size come from ``tests/test_dedup.py::test_simhash_thresholds`` measurements, written
down in the README (section "Deduplication").
"""

from __future__ import annotations

import hashlib
import re

SHINGLE_WORDS = 3
NEAR_DUPLICATE_BITS = 9
_WORD = re.compile(r"\w+", re.UNICODE)
_MASKS = [1 << bit for bit in range(64)]


def normalise_whitespace(text: str) -> str:
    return " ".join(text.split())


def content_hash(text: str) -> str:
    """sha256 (hex) of the whitespace-normalised text: the CONTRACT's ``content_hash``."""
    return hashlib.sha256(normalise_whitespace(text).encode("utf-8")).hexdigest()


def _shingle_hashes(text: str) -> list[int]:
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        words = words + [""] * (SHINGLE_WORDS - len(words))
    grams = {" ".join(words[i:i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}
    return [int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest(), "big")
            for g in grams]


def simhash(text: str) -> int:
    """64-bit SimHash of the text's distinct word 3-shingles (unweighted)."""
    hashes = _shingle_hashes(text)
    half = len(hashes) / 2
    value = 0
    for bit, mask in enumerate(_MASKS):
        # a bit is set when more than half of the shingle hashes have it set
        if sum(1 for h in hashes if h & mask) > half:
            value |= 1 << bit
    return value


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()
