"""Near-duplicate links that no crawl could make: the pass over a newly built window hour.

A crawl links a copy to its original when it sees both (``pipelines/dedup.py``), and finds the
copies of an original it archives after them. What it cannot see is another site's articles of
the last hour or two, which are not in the window yet (``pipelines/dedup_compaction.py``): the
scheduler runs every site at the same minute in its own process, so syndicated copies are
archived in parallel runs that never see each other. Once an hour is closed and its window
object built, the first run to end that finds the hour unchecked (no
``state/links-checked/date=D/hour=HH.json``) checks every article of it against everything it
knows (the window of every site, its own sites' history, its own articles): a copy whose
original ranks lower gets a link repair, and so does an earlier copy whose original is an
article of this hour. The hour's marker is queued behind those repairs, so a run killed before
its end leaves the hour to the next one; two runs ending at once may both check it, which
only repeats the same repairs. A repair that
only repeats the link a crawl already set costs its site's next run one read of that record
file, and changes nothing.

Cost: one index search an article of the hour (more for the rare original archived after its
copies), once an hour across the archive: at 300 sites of 100 articles a day, 1,250 articles
against 31 window objects of 30,000, about 7 s in a thread at the end of that run (measured with
random texts, no copies). Only the hours of the current and the previous day are looked at: an
hour whose day was merged into one object unchecked (no run ended for a day) stays unchecked.
"""

from __future__ import annotations

from collections.abc import Iterable

from archive.link_repairs import LinkRepair
from pipelines.dedup_index import DedupIndex, Known, day_string, original_among


def repair_of(known: Known, original: Known, near: Iterable[Known]) -> LinkRepair:
    """``known`` is a copy of ``original``; ``near``: every near-copy of it its finder knew,
    the links the repair may override."""
    others = frozenset(k.id for k in near) - {original.id}
    return LinkRepair(known.site, day_string(known.day), known.id, known.content, original.id,
                      others)


def copies_of(index: DedupIndex, original: Known, near: list[Known] | None = None
              ) -> list[LinkRepair]:
    """Repairs for the articles archived before ``original`` whose original it is (``near``:
    its near-copies, when the caller has them)."""
    if near is None:
        near = index.near_copies(original.sketch, original.id)
    repairs = []
    for copy in near:
        if copy.rank() > original.rank():
            theirs = index.near_copies(copy.sketch, copy.id)
            if original_among(copy, theirs).id == original.id:
                repairs.append(repair_of(copy, original, theirs))
    return repairs


def hour_repairs(index: DedupIndex, articles: Iterable[Known]) -> list[LinkRepair]:
    """The link repairs of these articles (an hour's of the window) against the index."""
    found: dict[tuple[str, int, int], LinkRepair] = {}
    for known in articles:
        near = index.near_copies(known.sketch, known.id)
        original = original_among(known, near)
        repairs = ([repair_of(known, original, near)] if original is not known
                   else copies_of(index, known, near))
        for repair in repairs:
            found[(repair.site, repair.id, repair.content)] = repair
    return list(found.values())
