"""The near-duplicate window's objects as frozen tables: loaded from their bytes, not parsed.

A run's window is every site's last ``near_duplicate_days``: at 300 sites and 100 articles a
site and day, 900,000 entries. Parsing them into the run's tables (and sorting 16 band tables
of them) took 15 s a run (``bench.aged``), so each window object stores its table ready to search:
per entry its id, text hash, published time, shingle count, day, site and sketch (as the 16
32-bit band keys), the 16 band tables and the text-hash order, 138 bytes an entry (positions
take 2 bytes in an object of under 65,536 entries: a day of 300 sites holds 30,000); a run
searches each object's table in turn (30 days: 30 bisections a band and lookup, well under a
millisecond). Format-1 entries (SimHash, no sketch) are not tabled: an object keeps their
segments whole, and a run adds them to its own tables as before.

Layout (``NADEDUPW``, little-endian): magic, entry count, length of the JSON list of site
names, the positions' typecode (``H`` or ``I``), that list, then the arrays in ``_ARRAYS``
order, then a ``NADEDUPC`` object of the format-1 segments.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from archive.keys import segment_partition
from pipelines.dedup_format import encode_object, iter_object, iter_segment
from pipelines.dedup_index import (
    UNKNOWN_PUBLISHED,
    Candidates,
    Known,
    day_number,
)
from pipelines.fingerprint import SKETCH_SLOTS, Sketch

# (site, id, text hash, published, shingle count, sketch slots, day number)
Entry = tuple[str, int, int, int | None, int, bytes, int]
WINDOW_MAGIC = b"NADEDUPW"
_HEADER = struct.Struct("<IIB")  # entries, site list bytes, typecode of positions
_POSITIONS = {b"H"[0]: "H", b"I"[0]: "I"}
_BANDS = SKETCH_SLOTS // 2
# (attribute, typecode, items an entry); bands follow, one array of positions each
# "P": positions (an entry's number), 2 bytes each where an object holds under 65,536 entries
_ARRAYS = (("ids", "Q", 1), ("contents", "Q", 1), ("sites", "H", 1), ("by_content", "P", 1),
           ("published", "q", 1), ("counts", "H", 1), ("days", "H", 1), ("words", "I", _BANDS))


class WindowTable:
    """One window object's format-2 entries, searchable; entries of hidden sites or days (the
    run's own sites, whose history it reads whole; a replay's set-aside) are never answered."""

    def __init__(self, site_names: list[str]) -> None:
        self.site_names = site_names
        self.ids, self.contents, self.sites = array("Q"), array("Q"), array("H")
        self.by_content = array("I")
        self.near = Candidates()
        self.hidden_sites: set[int] = set()
        self.hidden_day: tuple[int, set[int]] | None = None  # (day, sites hidden from it on)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_sections(cls, sections: dict[str, bytes]) -> tuple[WindowTable, dict[str, bytes]]:
        """The table of these segments' format-2 entries, and the format-1 segments left."""
        old: dict[str, bytes] = {}

        def entries() -> Iterator[Entry]:
            for key in sorted(sections):
                day, site = segment_partition(key)
                for id_, content, _v, published, _s, count, slots in iter_segment(sections[key]):
                    if slots is None:
                        old[key] = sections[key]
                    else:
                        yield site, id_, content, published, count, slots, day_number(day)
        return cls.build(entries()), old

    @classmethod
    def build(cls, entries: Iterable[Entry]) -> WindowTable:
        entries = list(entries)
        names = sorted({entry[0] for entry in entries})
        table = cls(names)
        number = {name: n for n, name in enumerate(names)}
        for site, id_, content, published, count, slots, day in entries:
            table._add(id_, content, number[site], published, count, slots, day)
        table._freeze()
        return table

    def _add(self, id_: int, content: int, site: int, published: int | None, count: int,
             slots: bytes, day: int) -> None:
        self.near.add(len(self.ids), published, count, slots, day)
        self.ids.append(id_)
        self.contents.append(content)
        self.sites.append(site)

    def _freeze(self) -> None:
        self.near.freeze()
        contents = self.contents
        self.by_content = array("I", sorted(range(len(contents)), key=contents.__getitem__))

    def entries(self) -> Iterator[Entry]:
        """(site, id, content, published, count, slots, day) of every entry."""
        near, words = self.near, self.near.words
        for k in range(len(self.ids)):
            stamp = near.published[k]
            yield (self.site_names[self.sites[k]], self.ids[k], self.contents[k],
                   None if stamp == UNKNOWN_PUBLISHED else stamp, near.counts[k],
                   words[k * _BANDS:(k + 1) * _BANDS].tobytes(), near.days[k])

    def _arrays(self) -> list[array]:
        own = {"ids": self.ids, "contents": self.contents, "sites": self.sites,
               "by_content": self.by_content}
        near = {"published": self.near.published, "counts": self.near.counts,
                "days": self.near.days, "words": self.near.words}
        return [own.get(name, near.get(name)) for name, _, _ in _ARRAYS] + self.near.bands

    def to_bytes(self, old: dict[str, bytes]) -> bytes:
        names = json.dumps(self.site_names).encode()
        positions = "H" if len(self.ids) < 1 << 16 else "I"
        parts = [WINDOW_MAGIC, _HEADER.pack(len(self.ids), len(names), ord(positions)), names]
        typecodes = [code for _, code, _ in _ARRAYS] + ["P"] * _BANDS
        for values, code in zip(self._arrays(), typecodes, strict=True):
            if code == "P" or sys.byteorder == "big":
                values = array(positions if code == "P" else values.typecode, values)
            if sys.byteorder == "big":
                values.byteswap()
            parts.append(values.tobytes())
        return b"".join([*parts, encode_object(old)])

    @classmethod
    def from_bytes(cls, data: bytes) -> tuple[WindowTable, Iterator[tuple[str, bytes]]]:
        """The table, and the format-1 segments (live key, bytes) kept whole beside it."""
        if not data.startswith(WINDOW_MAGIC):
            raise ValueError("not a dedup window object")
        view = memoryview(data)
        n, names_len, positions = _HEADER.unpack_from(view, len(WINDOW_MAGIC))
        at = len(WINDOW_MAGIC) + _HEADER.size
        table = cls(json.loads(bytes(view[at:at + names_len])))
        at += names_len
        layout = [(code, per) for _, code, per in _ARRAYS] + [("P", 1)] * _BANDS
        loaded = []
        for code, per in layout:
            values = array(_POSITIONS[positions] if code == "P" else code)
            size = values.itemsize * per * n
            values.frombytes(view[at:at + size])
            if sys.byteorder == "big":
                values.byteswap()
            loaded.append(values)
            at += size
        (table.ids, table.contents, table.sites, table.by_content, table.near.published,
         table.near.counts, table.near.days, table.near.words) = loaded[:len(_ARRAYS)]
        table.near.bands = loaded[len(_ARRAYS):]
        return table, iter_object(bytes(view[at:]))

    def hide(self, sites: Iterable[str], set_aside: tuple[str, frozenset[str]] | None) -> None:
        names = {name: n for n, name in enumerate(self.site_names)}
        self.hidden_sites = {names[s] for s in sites if s in names}
        if set_aside is not None:
            day, replayed = set_aside
            self.hidden_day = (day_number(day), {names[s] for s in replayed if s in names})

    def visible(self, k: int) -> bool:
        if self.sites[k] in self.hidden_sites:
            return False
        if self.hidden_day is None:
            return True
        day, replayed = self.hidden_day
        return self.near.days[k] < day or (self.near.days[k] == day
                                           and self.sites[k] not in replayed)

    def visible_count(self) -> int:
        if self.hidden_day is None:
            return len(self.ids) - sum(self.sites.count(s) for s in self.hidden_sites)
        return sum(1 for k in range(len(self.ids)) if self.visible(k))

    def id_with_content(self, content: int) -> int | None:
        contents, order = self.contents, self.by_content
        at = bisect_left(order, content, key=contents.__getitem__)
        while at < len(order) and contents[order[at]] == content:
            if self.visible(order[at]):
                return self.ids[order[at]]
            at += 1
        return None

    def _known(self, k: int) -> Known:
        near = self.near
        stamp = near.published[k]
        return Known(self.ids[k], self.contents[k], None if stamp == UNKNOWN_PUBLISHED else stamp,
                     near.days[k], self.site_names[self.sites[k]], near.sketch(k))

    def known(self) -> Iterator[Known]:
        """Every entry, hidden ones too (the link pass checks a new hour's every article)."""
        return (self._known(k) for k in range(len(self.ids)))

    def sketch_candidates(self, sketch: Sketch) -> Iterator[Known]:
        for k in set(self.near.matching(sketch)):
            if self.visible(k):
                yield self._known(k)

    def simhash_candidates(self, simhash: int) -> Iterator[tuple[int, int]]:
        """None: format-1 entries are not tabled here (see the module docstring)."""
        return iter(())
