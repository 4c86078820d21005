"""Dedup state and fingerprints."""

from __future__ import annotations

import itertools
from pathlib import Path

from pipelines.dedup import article_id
from pipelines.dedup_index import DedupIndex, StateEntry, TableBuilder
from pipelines.dedup_state import DedupState, decode_segment, encode_segment, iter_segment
from pipelines.fingerprint import NEAR_DUPLICATE_BITS, content_hash, hamming, simhash

BASE = ("The harbour authority said on Monday that repairs to the outer wall would start in "
        "spring. Divers found cracks along forty metres of the structure during a survey. "
        "Engineers will pump concrete into the voids before replacing the capstones. The work "
        "is expected to cost about two million pounds and take six months. Boat owners have "
        "been told to move their moorings to the inner basin while the crane is on site. ")


def test_content_hash_ignores_whitespace_only() -> None:
    assert content_hash("a  b\n\nc ") == content_hash("a b c")
    assert content_hash("a b c") != content_hash("a b d")


def test_simhash_separates_copies_from_other_articles() -> None:
    other = ("The county cricket side named a new captain after a season in which it lost "
             "eleven matches. The club said the change was agreed with the outgoing captain, "
             "who will stay on as a batsman. Supporters welcomed the decision at a meeting in "
             "the pavilion on Tuesday evening, where the budget for next year was also set. ")
    copy = BASE + "This story first appeared in the Harbour Gazette."
    assert hamming(simhash(BASE), simhash(copy)) <= NEAR_DUPLICATE_BITS
    assert hamming(simhash(BASE), simhash(other)) > NEAR_DUPLICATE_BITS


def test_index_versions_exact_and_near_duplicates() -> None:
    index = DedupIndex()
    a = StateEntry(1, 100, simhash(BASE), 1)
    index.add(a)
    assert index.latest(1) == a and index.id_with_content(100) == 1
    index.add(StateEntry(1, 101, simhash(BASE + "Update."), 2))
    assert index.latest(1).version == 2
    index.add(StateEntry(1, 100, simhash(BASE), 1))  # an older segment read later
    assert index.latest(1).version == 2
    near = simhash(BASE + "This story first appeared elsewhere.")
    assert index.near_duplicate(near, exclude=2) == 1
    assert index.near_duplicate(near, exclude=1) is None


def test_banding_never_misses_a_pair_within_the_threshold() -> None:
    index = DedupIndex()
    base = 0x0123456789ABCDEF
    index.add(StateEntry(7, 1, base, 1))
    # every way of flipping up to NEAR_DUPLICATE_BITS bits over a spread of positions
    positions = range(0, 64, 7)
    for count in range(NEAR_DUPLICATE_BITS + 1):
        for bits in itertools.islice(itertools.combinations(positions, count), 50):
            probe = base
            for bit in bits:
                probe ^= 1 << bit
            assert index.near_duplicate(probe, exclude=0) == 7


def test_segments_round_trip_and_state_loads_from_storage(local_storage, tmp_path: Path) -> None:
    entries = [StateEntry(int(article_id(f"https://n.example/{i}"), 16), i, i * 3, 1)
               for i in range(100)]
    data = encode_segment(entries)
    assert decode_segment(data) == entries
    assert len(data) - 8 == 28 * len(entries)
    for day, site, part in (("2026-11-24", "a", entries[:50]), ("2026-11-25", "a", entries[50:80]),
                            ("2026-11-25", "b", entries[80:]), ("2026-11-26", "b", entries[:1])):
        local_storage.put_bytes(f"state/dedup/date={day}/site={site}/run-{day}.bin",
                                encode_segment(part))
    index = DedupState(local_storage, tmp_path / "cache").load()
    assert len(index) == 100
    # a second load is served from the local cache of immutable segments
    assert len(list((tmp_path / "cache").iterdir())) == 4
    assert len(DedupState(local_storage, tmp_path / "cache").load()) == 100
    # what a replay of site a on 2026-11-25 starts from: earlier days, and b's part of that day
    replay_base = DedupState(local_storage, tmp_path / "cache").load(
        ("2026-11-25", frozenset({"a"})))
    assert len(replay_base) == 70


def test_article_id_depends_on_canonical_url_only() -> None:
    assert article_id("https://n.example/a") == article_id("https://n.example/a")
    assert article_id("https://n.example/a") != article_id("https://n.example/b")
    assert len(article_id("https://n.example/a")) == 16


def test_archive_tables_answer_like_the_run_overlay_and_stay_compact() -> None:
    builder = TableBuilder()
    old = [StateEntry(i * 7919, i, simhash(BASE) if i == 3 else i * 0x9E3779B97F4A7C15 % 2**64, 1)
           for i in range(1, 2001)]
    builder.add_entries(iter_segment(encode_segment(old[:1000])), recent=False)
    builder.add_entries(iter_segment(encode_segment(old[1000:])), recent=True)
    latest = encode_segment([StateEntry(old[0].id, 99999, 5, 2)])
    builder.add_entries(iter_segment(latest), recent=True)
    index = DedupIndex(builder.build())
    assert len(index) == 2000
    assert index.latest(old[0].id).version == 2 and index.latest(old[0].id).content == 99999
    assert index.id_with_content(old[0].content) == old[0].id  # an older version's text counts
    assert index.id_with_content(123456789) is None
    # near-duplicates only among recent days: entry 3 is old, so its copy finds nothing...
    assert index.near_duplicate(simhash(BASE + "A line."), exclude=0) is None
    # ...while a recent one is found, in the tables and in what the run adds
    recent = old[1500]
    assert index.near_duplicate(recent.simhash ^ 0b101, exclude=0) == recent.id
    index.add(StateEntry(1, 1, simhash(BASE), 1))
    assert index.near_duplicate(simhash(BASE + "A line."), exclude=0) == 1
    assert index.tables.nbytes() / len(index.tables) <= 200
