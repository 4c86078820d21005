"""Dedup state and fingerprints."""

from __future__ import annotations

import itertools
import json
import struct
from pathlib import Path

import pytest

from archive.local import LocalStorage
from pipelines.dedup import article_id
from pipelines.dedup_index import (
    DedupIndex,
    Known,
    StateEntry,
    TableBuilder,
    day_number,
    original_among,
    original_rank,
    published_seconds,
)
from pipelines.dedup_state import DedupState, decode_segment, encode_segment, iter_segment
from pipelines.fingerprint import NEAR_DUPLICATE_BITS, content_hash, hamming, simhash, sketch
from pipelines.link_pass import copies_of
from tests.crawlrun import Archive, read_records, run_cli, write_config
from tests.fixtureweb import FixtureWeb

REPO = Path(__file__).resolve().parents[1]
BASE = ("The harbour authority said on Monday that repairs to the outer wall would start in "
        "spring. Divers found cracks along forty metres of the structure during a survey. "
        "Engineers will pump concrete into the voids before replacing the capstones. The work "
        "is expected to cost about two million pounds and take six months. Boat owners have "
        "been told to move their moorings to the inner basin while the crane is on site. ")
# fictional stories of the fixture web and the demo, about 270 words each: short articles are
# where an added line moves a fingerprint most
STORIES = [s for name in ("tests/webdata/fixture-stories.json", "demo/content/stories.json")
           for s in json.loads((REPO / name).read_text(encoding="utf-8")) if s.get("paragraphs")]
CAPTION = "Photo: Maria Lindqvist / Northern Picture Agency"
CREDIT = "Reporting by Tom Baker; additional reporting by Ann Wells; editing by Sam Okafor."
NOTE = "Editor's note: this story has been updated with a statement from the regional council."
# a line every article of a site carries, as real extractions of one site share boilerplate
BOILERPLATE = "Our journalism is funded by readers like you. Support independent local news today."


def _text(paragraphs: list[str]) -> str:
    return "\n".join(paragraphs)


def _original(story: dict) -> str:
    return _text([*story["paragraphs"], BOILERPLATE])


def _copies(story: dict) -> dict[str, str]:
    """The story as a partner's template shows it: a caption or credit line the original's
    extraction lacks, 0-2 added lines, the headline repeated or not, and no boilerplate."""
    first, *rest = story["paragraphs"]
    appeared = f"This article first appeared on {story['site']}."
    return {
        "caption, one line added": _text([first, CAPTION, *rest, appeared]),
        "credit, two lines added": _text([NOTE, first, *rest, CREDIT, appeared]),
        "headline repeated, caption": _text([story["headline"], first, CAPTION, *rest]),
    }


def _entry(id_: int, text: str, version: int = 1, published: int | None = None) -> StateEntry:
    return StateEntry(id_, int(content_hash(text)[:16], 16), version, sketch(text), published)


def _v1_segment(entries: list[tuple[int, int, int, int]]) -> bytes:
    """A segment as crawls wrote them before format 2: (id, text hash, simhash, version)."""
    return b"NADEDUP1" + b"".join(struct.pack("<QQQI", *e) for e in entries)


def test_content_hash_ignores_whitespace_only() -> None:
    assert content_hash("a  b\n\nc ") == content_hash("a b c")
    assert content_hash("a b c") != content_hash("a b d")


@pytest.mark.parametrize("variant", list(_copies(STORIES[0])))
def test_syndicated_copies_are_linked_and_distinct_articles_are_not(variant: str) -> None:
    # the 64-bit SimHash at 9 bits missed 11 of these 90 copies (10 to 16 bits away)
    index = DedupIndex()
    for n, story in enumerate(STORIES):
        index.add(_entry(n + 1, _original(story)))
    missed = [story["slug"] for n, story in enumerate(STORIES)
              if index.near_duplicate(sketch(copy := _copies(story)[variant]), simhash(copy),
                                      exclude=1000) != n + 1]
    assert missed == []
    # no story of the same sites (shared boilerplate, close days) is linked to another
    linked = [story["slug"] for n, story in enumerate(STORIES)
              if index.near_duplicate(sketch(_original(story)), None, exclude=n + 1)]
    assert len(STORIES) >= 30 and linked == []


def test_index_versions_exact_and_near_duplicates() -> None:
    index = DedupIndex()
    a = _entry(1, BASE)
    index.add(a)
    assert index.latest(1) == a and index.id_with_content(a.content) == 1
    index.add(_entry(1, BASE + "Update.", version=2))
    assert index.latest(1).version == 2
    index.add(a)  # an older segment read later
    assert index.latest(1).version == 2
    near = sketch(BASE + "This story first appeared elsewhere.")
    assert index.near_duplicate(near, None, exclude=2) == 1
    assert index.near_duplicate(near, None, exclude=1) is None


def test_format_1_entries_are_still_found_by_simhash_within_the_threshold() -> None:
    builder = TableBuilder()
    base = 0x0123456789ABCDEF
    builder.add_entries(iter_segment(_v1_segment([(7, 1, base, 1)])), recent=True)
    index = DedupIndex(builder.build())
    # every way of flipping up to NEAR_DUPLICATE_BITS bits over a spread of positions
    positions = range(0, 64, 7)
    for count in range(NEAR_DUPLICATE_BITS + 2):
        for bits in itertools.islice(itertools.combinations(positions, count), 50):
            probe = base
            for bit in bits:
                probe ^= 1 << bit
            found = index.near_duplicate(sketch(BASE), probe, exclude=0)
            assert found == (7 if count <= NEAR_DUPLICATE_BITS else None)
    # format-1 segments hold SimHashes computed by earlier crawls: the function must not change
    assert simhash(BASE) == 0x6B19E96A4952E8B8


def test_a_version_made_from_a_variant_is_remembered_as_such(local_storage,
                                                            tmp_path: Path) -> None:
    """The mark is the top bit of the stored version: entries keep it through a segment and
    the tables, it never counts in which version is the latest, and a segment written before
    the mark existed reads as made from the canonical page (same format, same size)."""
    from dataclasses import replace
    old = _entry(1, BASE, version=1)
    amp = replace(_entry(2, BASE + "Copy.", version=1), variant=True)
    later = [replace(_entry(1, BASE + "Copy.", version=2), variant=True),
             _entry(2, BASE + "Page.", version=2)]
    first = encode_segment([old, amp])
    assert len(first) - 8 == 94 * 2 and decode_segment(first) == [old, amp]
    assert not decode_segment(first)[0].variant
    local_storage.put_bytes("state/dedup/date=2026-11-24/site=a/run-1.bin", first)
    local_storage.put_bytes("state/dedup/date=2026-11-25/site=a/run-2.bin", encode_segment(later))
    index = DedupState(local_storage, tmp_path / "cache").load()
    assert index.latest(1) == later[0] and index.latest(2) == later[1]
    # a version 2 made from a variant is still older than a version 3 from the article
    builder = TableBuilder()
    builder.add_entries(iter_segment(encode_segment([later[0], _entry(1, BASE, version=3)])),
                        recent=False)
    assert builder.build().latest(1) == StateEntry(1, old.content, 3)


def test_segments_round_trip_with_published_times(local_storage, tmp_path: Path) -> None:
    entries = [_entry(int(article_id(f"https://n.example/{i}"), 16), f"{BASE} {i}",
                      published=None if i % 3 else 1_780_000_000 + i) for i in range(100)]
    data = encode_segment(entries)
    assert decode_segment(data) == entries
    assert len(data) - 8 == 94 * len(entries)
    for day, site, part in (("2026-11-24", "a", entries[:50]), ("2026-11-25", "a", entries[50:80]),
                            ("2026-11-25", "b", entries[80:]), ("2026-11-26", "b", entries[:1])):
        local_storage.put_bytes(f"state/dedup/date={day}/site={site}/run-{day}.bin",
                                encode_segment(part))
    index = DedupState(local_storage, tmp_path / "cache").load()
    assert len(index) == 100
    assert index.latest(entries[3].id).published == entries[3].published
    assert index.latest(entries[4].id).published is None
    assert index.tables.archived_day(entries[60].id) == "2026-11-25"
    # a second load is served from the local cache of immutable segments
    assert len(list((tmp_path / "cache").iterdir())) == 4
    assert len(DedupState(local_storage, tmp_path / "cache").load()) == 100
    # what a replay of site a on 2026-11-25 starts from: earlier days, and b's part of that day
    replay_base = DedupState(local_storage, tmp_path / "cache").load(
        ("2026-11-25", frozenset({"a"})))
    assert len(replay_base) == 70


def test_format_1_segments_still_load_beside_format_2(local_storage, tmp_path: Path) -> None:
    old_text = _original(STORIES[1])
    old = (11, int(content_hash(old_text)[:16], 16), simhash(old_text), 3)
    local_storage.put_bytes("state/dedup/date=2026-11-20/site=a/run-1.bin",
                            _v1_segment([old, (12, 5, 0xFFFF, 1)]))
    local_storage.put_bytes("state/dedup/date=2026-11-21/site=a/run-2.bin",
                            encode_segment([_entry(13, BASE)]))
    index = DedupState(local_storage, tmp_path / "cache").load()
    assert len(index) == 3
    assert index.latest(11) == StateEntry(11, old[1], 3, simhash=old[2])
    assert index.id_with_content(old[1]) == 11  # the same text under another URL is dropped
    assert index.tables.archived_day(11) == "2026-11-20"
    # a copy of an article archived in format 1 is linked by SimHash, one in format 2 by sketch
    copy = _text([*STORIES[1]["paragraphs"], BOILERPLATE])
    assert index.near_duplicate(sketch(copy), simhash(copy), exclude=99) == 11
    assert index.near_duplicate(sketch(BASE + "A line."), simhash(BASE), exclude=99) == 13


def test_a_crawls_state_dates_every_article_it_archived(tmp_path: Path) -> None:
    # which of two copies is the original ("published first, else archived first") is decided
    # from the state alone, whichever run archived the other
    root = tmp_path / "archive"
    archive = Archive(str(root), LocalStorage(root), {})
    with FixtureWeb() as web:
        config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
        result = run_cli("crawl", "--config", str(config), env=archive.env)
    assert result.returncode == 0, result.stdout + result.stderr
    records = read_records(archive.storage)
    index = DedupState(archive.storage, tmp_path / "cache").load()
    for record in records:
        entry = index.latest(int(record["id"], 16))
        assert entry.published == published_seconds(record["published"]), record["url"]
        assert entry.sketch == sketch(record["text"])
        assert index.tables.archived_day(entry.id) == record["fetched_at"][:10]
    assert sum(1 for r in records if r["published"]) >= len(records) - 1 > 10


def test_published_seconds_reads_the_pages_dates() -> None:
    assert published_seconds("2026-03-14T08:05:00+00:00") == 1_773_475_500
    assert published_seconds("2026-03-14T09:05:00+01:00") == 1_773_475_500
    assert published_seconds("2026-03-14T08:05:00Z") == 1_773_475_500
    assert published_seconds("2026-03-14") == 1_773_446_400
    assert published_seconds(None) is None and published_seconds("last Tuesday") is None


def test_article_id_depends_on_canonical_url_only() -> None:
    assert article_id("https://n.example/a") == article_id("https://n.example/a")
    assert article_id("https://n.example/a") != article_id("https://n.example/b")
    assert len(article_id("https://n.example/a")) == 16


def test_archive_tables_answer_like_the_run_overlay_and_stay_compact() -> None:
    builder = TableBuilder()
    texts = [f"{BASE} Story number {i} of the day." if i == 3 else
             f"Entry {i} " + " ".join(f"w{(i * 31 + k) % 997}" for k in range(60))
             for i in range(1, 2001)]
    old = [_entry(i * 7919, text) for i, text in enumerate(texts, 1)]
    builder.add_entries(iter_segment(encode_segment(old[:1000])), recent=False)
    builder.add_entries(iter_segment(encode_segment(old[1000:])), recent=True)
    latest = encode_segment([StateEntry(old[0].id, 99999, 2, sketch("changed"))])
    builder.add_entries(iter_segment(latest), recent=True)
    index = DedupIndex(builder.build())
    assert len(index) == 2000
    assert index.latest(old[0].id).version == 2 and index.latest(old[0].id).content == 99999
    assert index.id_with_content(old[0].content) == old[0].id  # an older version's text counts
    assert index.id_with_content(123456789) is None
    # near-duplicates only among recent days: entry 3 is old, so its copy finds nothing...
    assert index.near_duplicate(sketch(texts[2] + " A line."), None, exclude=0) is None
    # ...while a recent one is found, in the tables and in what the run adds
    recent = old[1500]
    found = index.near_copies(sketch(texts[1500] + " w1 w2"), exclude=0)
    assert recent.id in {known.id for known in found}
    index.add(_entry(1, BASE))
    assert index.near_duplicate(sketch(BASE + "A line."), None, exclude=0) == 1
    # 36 bytes an old article, 184 a recent one
    assert index.tables.nbytes() <= 1000 * 36 + 1001 * 184


def test_the_original_ranks_first_by_date_then_day_then_id() -> None:
    day, noon = 20_000, 20_000 * 86_400 + 43_200
    undated = original_rank(None, day, 1)
    assert original_rank(noon, day, 9) < undated  # a dated page of its day comes first
    assert original_rank(noon - 86_400, day + 3, 9) < original_rank(noon, day, 1)
    assert original_rank(None, day - 1, 9) < undated  # undated: archived first
    assert original_rank(None, day, 0) < undated  # the same day: the lower id
    # a date alone means some time that day: not before a page dated at noon
    assert original_rank(day * 86_400, day, 0) > original_rank(noon, day, 9)


def test_an_original_updated_after_its_copy_stays_the_original() -> None:
    """Undated original archived on day 1, its copy on day 2, the original's version 2 on
    day 3: ranked by its first version, the original is still the copy's original."""
    text = _original(STORIES[0])
    copy = _text([*STORIES[0]["paragraphs"], BOILERPLATE])
    builder = TableBuilder()
    builder.add_entries(iter_segment(encode_segment([_entry(1, text)])), recent=True,
                        day="2026-11-01", site="a")
    builder.add_entries(iter_segment(encode_segment([_entry(2, copy)])), recent=True,
                        day="2026-11-02", site="b")
    index = DedupIndex(builder.build())
    assert index.first_day(1) == day_number("2026-11-01")
    updated = Known(1, 7, None, day_number("2026-11-03"), "a", sketch(text + " Update."),
                    index.first_day(1))
    near = index.near_copies(updated.sketch, exclude=1)
    assert [k.id for k in near] == [2]
    assert original_among(updated, near) is updated
    # ...and the copy's original is the updated article, not the other way round
    index.add(StateEntry(1, 7, 2, updated.sketch), "a", "2026-11-03", since=updated.since)
    copy_known = index.near_copies(sketch(copy), exclude=9)
    assert index.original_of(next(k for k in copy_known if k.id == 2)).id == 1


def test_an_original_archived_after_its_copy_repairs_the_copy() -> None:
    """One run extracts the copy (dated later) first, then its original: the original gets
    no link, and the copy a repair pointing at the original, overriding no other link."""
    original_text = _original(STORIES[1])
    copy_text = _text([*STORIES[1]["paragraphs"], BOILERPLATE])
    index = DedupIndex()
    day = day_number("2026-11-30")
    copy = Known(5, 55, 1_780_003_600, day, "partner", sketch(copy_text))
    index.add(StateEntry(5, 55, 1, copy.sketch, copy.published), "partner", "2026-11-30")
    original = Known(9, 99, 1_780_000_000, day, "planet", sketch(original_text))
    near = index.near_copies(original.sketch, exclude=9)
    assert original_among(original, near) is original
    index.add(StateEntry(9, 99, 1, original.sketch, original.published), "planet", "2026-11-30")
    [repair] = copies_of(index, original, near)
    assert (repair.site, repair.day, repair.id, repair.content, repair.original) == (
        "partner", "2026-11-30", 5, 55, 9)
    assert repair.replaces == frozenset()



@pytest.mark.parametrize(("fetched", "declared", "variant"), [
    ("http://n.example/amp/story.html", "http://n.example/world/story.html", True),
    ("http://n.example/story?print=1", "http://n.example/story", True),
    ("http://m.n.example/story", "http://www.n.example/story", True),
    ("http://n.example/story?utm_source=x#comments", None, False),
    # the page an https, www canonical names is the very page served: the article itself
    ("http://n.example/story/", "https://www.n.example/story", False),
])
def test_a_variant_is_a_page_of_the_article_under_another_url(fetched: str, declared: str | None,
                                                              variant: bool) -> None:
    from crawler.urls import canonical_url
    from pipelines.dedup import is_variant
    assert is_variant(fetched, canonical_url(fetched, declared, ("n.example",))) is variant
