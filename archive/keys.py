"""Object keys of the archive layout (CONTRACT §4), built only from validated parts.

Every key the project writes comes from one of the builders here, so a site name, a date or a
crawl id can never smuggle a ``..`` or a ``/`` into a key on either backend.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

SITE_NAME_RE = re.compile(r"^[a-z0-9_-]+$")
CRAWL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_DAY = r"\d{4}-\d{2}-\d{2}"
DATE_RE = re.compile(f"^{_DAY}$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# a key segment: no empty segment, no "." or "..", only characters safe on S3 and file systems
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._=-]*$")


class InvalidName(ValueError):
    """A name that must not become part of an object key."""


def validate_site(name: str) -> str:
    if not isinstance(name, str) or not SITE_NAME_RE.fullmatch(name) or len(name) > 64:
        raise InvalidName(f"invalid site name {name!r}: use [a-z0-9_-]+, at most 64 characters")
    return name


def validate_crawl_id(crawl_id: str) -> str:
    if not isinstance(crawl_id, str) or not CRAWL_ID_RE.fullmatch(crawl_id):
        raise InvalidName(f"invalid crawl id {crawl_id!r}")
    return crawl_id


def validate_date(day: str) -> str:
    if not isinstance(day, str) or not DATE_RE.fullmatch(day):
        raise InvalidName(f"invalid date {day!r}: expected YYYY-MM-DD")
    try:
        dt.date.fromisoformat(day)
    except ValueError as exc:
        raise InvalidName(f"invalid date {day!r}: {exc}") from None
    return day


def validate_key(key: str) -> str:
    """Check a relative object key: non-empty segments, no traversal, a safe alphabet."""
    if not isinstance(key, str) or not key or key.startswith("/") or len(key) > 900:
        raise InvalidName(f"invalid object key {key!r}")
    for segment in key.split("/"):
        if not _SEGMENT_RE.fullmatch(segment) or segment in (".", ".."):
            raise InvalidName(f"invalid object key {key!r} (segment {segment!r})")
    return key


def _seq(seq: int) -> str:
    if not isinstance(seq, int) or seq < 0 or seq > 99999:
        raise InvalidName(f"invalid file sequence number {seq!r}")
    return f"{seq:05d}"


# the archive's top-level prefixes: the data of CONTRACT §4, and the run state beside it
RAW, RECORDS, RUNS, DUMPS, STATE, LOCKS = "raw", "records", "runs", "dumps", "state", "locks"
DUMPS_JSONL = "dumps-jsonl"
TOP_LEVEL = (RAW, RECORDS, RUNS, DUMPS, DUMPS_JSONL, STATE, LOCKS)
DATED_KINDS = (RAW, RECORDS, RUNS, DUMPS, DUMPS_JSONL)  # the ones partitioned by ``date=``
DEDUP_STATE_PREFIX = f"{STATE}/dedup/"
FETCH_STATE_PREFIX = f"{STATE}/fetch/"
LINK_REPAIRS_PREFIX = f"{STATE}/links/"
LINKS_CHECKED_PREFIX = f"{STATE}/links-checked/"
SITE_TEMPLATE_PREFIX = f"{STATE}/template/"


def kind_prefix(kind: str) -> str:
    """``raw/``, ``records/``, ...: everything of one kind, every day."""
    if kind not in TOP_LEVEL:
        raise InvalidName(f"unknown archive prefix {kind!r}")
    return f"{kind}/"


def day_prefix(kind: str, day: str) -> str:
    """One day of a dated kind: ``raw/date=D/``, ``records/date=D/``, ..."""
    if kind not in DATED_KINDS:
        raise InvalidName(f"unknown archive prefix {kind!r}")
    return f"{kind}/date={validate_date(day)}/"


def dated_prefix(kind: str, day: str | None) -> str:
    """One day of a dated kind, or (no ``day``) every day of it."""
    return day_prefix(kind, day) if day else kind_prefix(kind)


def raw_key(day: str, site: str, crawl_id: str, seq: int) -> str:
    return (
        f"{day_prefix(RAW, day)}site={validate_site(site)}/"
        f"{validate_crawl_id(crawl_id)}-{_seq(seq)}.warc.gz"
    )


def records_key(day: str, site: str, crawl_id: str, seq: int) -> str:
    return (
        f"{day_prefix(RECORDS, day)}site={validate_site(site)}/"
        f"{validate_crawl_id(crawl_id)}-{_seq(seq)}.jsonl.gz"
    )


def site_day_prefix(kind: str, day: str, site: str) -> str:
    """One site's files of one day: ``raw/date=D/site=S/``, ``records/date=D/site=S/``."""
    if kind not in (RAW, RECORDS):
        raise InvalidName(f"no site partition under {kind!r}")
    return f"{day_prefix(kind, day)}site={validate_site(site)}/"


def run_report_key(day: str, crawl_id: str) -> str:
    return f"{day_prefix(RUNS, day)}{validate_crawl_id(crawl_id)}.json"


_RUN_REPORT_KEY_RE = re.compile(f"^{RUNS}/date=({_DAY})/" r"([^/]+)\.json$")


def run_report_day(key: str) -> str | None:
    """The day of a run report key (``runs/date=D/<crawl_id>.json``), or None if it is none."""
    match = _RUN_REPORT_KEY_RE.match(key)
    return match.group(1) if match else None


def fetch_state_key(site: str) -> str:
    """What a site's runs fetched and left to fetch: per URL its validators, digest and
    times, the compacted "seen" set and the carried-over frontier (``crawler/site_state.py``).
    One object per site, rewritten only by the run holding the site's lease."""
    return f"{FETCH_STATE_PREFIX}site={validate_site(site)}.json.gz"


def site_template_key(site: str) -> str:
    """The body lines a site's runs found repeating across its articles, as 8-byte hashes
    with their counts (``pipelines/site_template.py``). One bounded object per site,
    rewritten whole only by the run holding the site's lease."""
    return f"{SITE_TEMPLATE_PREFIX}site={validate_site(site)}.json.gz"


def link_repairs_prefix(site: str) -> str:
    """Near-duplicate links to set in a site's records, waiting for a run holding its lease
    (``archive/link_repairs.py``)."""
    return f"{LINK_REPAIRS_PREFIX}site={validate_site(site)}/"


def link_repairs_key(site: str, crawl_id: str) -> str:
    """The link repairs one run found for a site's records: one object a run and site."""
    return f"{link_repairs_prefix(site)}{validate_crawl_id(crawl_id)}.json"


def links_checked_prefix(day: str) -> str:
    """The window hours of one day whose articles' links a run has checked."""
    return f"{LINKS_CHECKED_PREFIX}date={validate_date(day)}/"


def links_checked_key(day: str, hour: int) -> str:
    """Written once an hour's link repairs are stored (``pipelines/link_pass.py``)."""
    if not (isinstance(hour, int) and 0 <= hour <= 23):
        raise InvalidName(f"invalid hour {hour!r}")
    return f"{links_checked_prefix(day)}hour={hour:02d}.json"


def lease_prefix(site: str) -> str:
    """Where the generations of a site's crawl lease lie (``archive/leases.py``)."""
    return f"{LOCKS}/site={validate_site(site)}/"


def lease_key(site: str, generation: int) -> str:
    if not isinstance(generation, int) or generation < 0:
        raise InvalidName(f"invalid lease generation {generation!r}")
    return f"{lease_prefix(site)}lease-{generation:010d}.json"


def lease_generation(key: str) -> int | None:
    """The generation a lease key names, or None for any other object under the prefix."""
    name = key.rsplit("/", 1)[-1]
    if not (name.startswith("lease-") and name.endswith(".json")):
        return None
    try:
        return int(name[len("lease-"):-len(".json")])
    except ValueError:
        return None


def dedup_day_prefix(day: str) -> str:
    """The dedup state segments of one fetch day, every site."""
    return f"{DEDUP_STATE_PREFIX}date={validate_date(day)}/"


def dedup_segment_key_for(records_key: str) -> str:
    """The dedup state segment that vouches for one record file: same day, site, crawl and
    sequence number (``state/dedup/date=D/site=S/<crawl_id>-<nnnnn>.bin``). Dedup state lives
    with the archive, so every machine writing to it agrees; one segment per record file, so
    the state never lags behind or runs ahead of the records it describes."""
    parts = parse_data_key(records_key)
    if parts is None or parts["kind"] != RECORDS:
        raise InvalidName(f"not a record file key: {records_key!r}")
    return (f"{dedup_day_prefix(parts['date'])}site={parts['site']}/"
            f"{parts['crawl_id']}-{parts['seq']}.bin")


_SEGMENT_KEY_RE = re.compile(f"^{DEDUP_STATE_PREFIX}date=({_DAY})/" r"site=([a-z0-9_-]+)/"
                             r"[A-Za-z0-9][A-Za-z0-9_-]*\.bin$")


def segment_partition(key: str) -> tuple[str, str] | None:
    """(fetch day, site) of a dedup segment key, or None if the key is not one."""
    match = _SEGMENT_KEY_RE.match(key)
    return (match.group(1), match.group(2)) if match else None


def segment_crawl_id(key: str) -> str | None:
    """The crawl that wrote a dedup segment (``.../<crawl_id>-<nnnnn>.bin``), or None."""
    if segment_partition(key) is None:
        return None
    stem = key.rsplit("/", 1)[1][: -len(".bin")]
    crawl_id, _, seq = stem.rpartition("-")
    return crawl_id if crawl_id and len(seq) == 5 and seq.isdigit() else None


def segment_cache_name(key: str) -> str:
    """The flat file name a dedup segment is cached under on local disk (the spool's state
    cache): the key below ``state/dedup/`` with ``/`` as ``_`` (``date=D_site=S_<file>.bin``)."""
    if segment_partition(key) is None:
        raise InvalidName(f"not a dedup segment key: {key!r}")
    return key[len(DEDUP_STATE_PREFIX):].replace("/", "_")


def segment_key_from_cache_name(name: str) -> str:
    """The key of a cached dedup segment, from its :func:`segment_cache_name`."""
    return DEDUP_STATE_PREFIX + name.replace("_", "/", 2)


def dedup_live_prefix(day: str, site: str) -> str:
    """One site's live (not yet compacted) dedup segments of one fetch day."""
    return f"{dedup_day_prefix(day)}site={validate_site(site)}/"


def segment_hour(key: str) -> int:
    """The hour (UTC) a live segment belongs to in the near-duplicate window: its crawl's
    start hour from the crawl id (``new_crawl_id``), 0 for a crawl that started the day before
    (one that ran past midnight), 23 when the id does not say (a crawl id given by hand)."""
    partition = segment_partition(key)
    if partition is None:
        raise InvalidName(f"not a dedup segment key: {key!r}")
    name = key.rsplit("/", 1)[-1]
    stamp = re.match(r"^(\d{4})(\d{2})(\d{2})T(\d{2})", name)
    if stamp is None or not 0 <= int(stamp.group(4)) <= 23:
        return 23
    started = "-".join(stamp.groups()[:3])
    if started < partition[0]:
        return 0
    return int(stamp.group(4)) if started == partition[0] else 23


# Compacted dedup state (pipelines/dedup_compaction.py). Per site, the whole history in a few
# immutable objects, one per period: a day of the current month, a month of the current year,
# a year before it. Their names are digests of their bytes, so one name is always one content.
SITE_STATE_PREFIX = f"{STATE}/dedup-site/"
# across every site, the near-duplicate window: one object an hour, merged into one a day
WINDOW_STATE_PREFIX = f"{STATE}/dedup-window/"
_PERIOD_RE = r"(?:day=\d{4}-\d{2}-\d{2}|month=\d{4}-\d{2}|year=\d{4})"
_SITE_OBJECT_RE = re.compile(f"^{SITE_STATE_PREFIX}" r"site=([a-z0-9_-]+)/" f"({_PERIOD_RE})/"
                             r"[0-9a-f]{16}\.bin$")
_WINDOW_OBJECT_RE = re.compile(f"^{WINDOW_STATE_PREFIX}month=\\d{{4}}-\\d{{2}}/date=({_DAY})/"
                               r"(day|hour=\d{2})\.bin$")


def state_period(day: str, today: str) -> str:
    """The period a site's state of ``day`` is compacted into, seen from ``today``: the day
    itself in the current month, its month in the current year, else its year."""
    validate_date(day)
    if day[:7] == today[:7]:
        return f"day={day}"
    return f"month={day[:7]}" if day[:4] == today[:4] else f"year={day[:4]}"


def site_state_prefix(site: str) -> str:
    """Every compacted state object of a site (its whole history: one LIST)."""
    return f"{SITE_STATE_PREFIX}site={validate_site(site)}/"


def site_state_key(site: str, period: str, digest: str) -> str:
    if not re.fullmatch(_PERIOD_RE, period) or not re.fullmatch(r"[0-9a-f]{16}", digest):
        raise InvalidName(f"invalid state period or digest {period!r} {digest!r}")
    return f"{site_state_prefix(site)}{period}/{digest}.bin"


def site_state_parts(key: str) -> tuple[str, str] | None:
    """(site, period) of a compacted site state object, or None for any other key."""
    match = _SITE_OBJECT_RE.match(key)
    return (match.group(1), match.group(2)) if match else None


def site_compacted_marker(site: str) -> str:
    """Written once a site's live segments of every day have been compacted (an archive of
    the old layout is upgraded by the site's first run): from then on a run lists only the
    last days' live segments of the site."""
    return f"{site_state_prefix(site)}compacted.json"


def window_month_prefix(month: str) -> str:
    """The window objects of one month (``YYYY-MM``): a run lists one or two of these."""
    validate_date(f"{month}-01")
    return f"{WINDOW_STATE_PREFIX}month={month}/"


def window_key(day: str, hour: int | None) -> str:
    """A window object: one hour of one day, or (``hour=None``) the whole day."""
    name = "day" if hour is None else f"hour={hour:02d}"
    if hour is not None and not (isinstance(hour, int) and 0 <= hour <= 23):
        raise InvalidName(f"invalid hour {hour!r}")
    return f"{window_month_prefix(validate_date(day)[:7])}date={day}/{name}.bin"


def window_parts(key: str) -> tuple[str, int | None] | None:
    """(day, hour or None for a whole day) of a window object key, or None."""
    match = _WINDOW_OBJECT_RE.match(key)
    if match is None:
        return None
    name = match.group(2)
    return match.group(1), None if name == "day" else int(name[len("hour="):])


def state_cache_name(key: str) -> str:
    """The flat file name a state object or live segment is cached under on local disk: a
    live segment as the spool names it (:func:`segment_cache_name`), a compacted object as its
    key below ``state/`` with ``/`` as ``~`` (a character no key holds)."""
    if segment_partition(key) is not None:
        return segment_cache_name(key)
    if site_state_parts(key) is None and window_parts(key) is None:
        raise InvalidName(f"not a compacted dedup state key: {key!r}")
    return key[len(f"{STATE}/"):].replace("/", "~")


def state_key_from_cache_name(name: str) -> str:
    """The key of a cached state file, from its :func:`state_cache_name`."""
    if "~" in name:
        return f"{STATE}/" + name.replace("~", "/")
    return segment_key_from_cache_name(name)


_PARTITION_RE = re.compile(
    f"^(?P<kind>{RAW}|{RECORDS})/date=(?P<date>{_DAY})/" r"site=(?P<site>[a-z0-9_-]+)/"
    r"(?P<crawl_id>[A-Za-z0-9][A-Za-z0-9_-]*)-(?P<seq>\d{5})\.(?:warc|jsonl)\.gz$"
)


def parse_data_key(key: str) -> dict[str, str] | None:
    """The parts of a raw/ or records/ key, or None for anything else."""
    match = _PARTITION_RE.match(key)
    return match.groupdict() if match else None


# a day's dump (CONTRACT §4). Only Parquet lies in dumps/date=D/ beside two files whose names
# start with "_", which Hive-style readers skip, so dumps/ opens as one Parquet dataset; the
# JSON Lines copy lives under its own prefix for the same reason.
DUMP_PARQUET, DUMP_JSONL = "articles.parquet", "articles.jsonl.gz"
DUMP_MANIFEST, DUMP_SUCCESS = "_manifest.json", "_SUCCESS"
_DUMP_FILE_KINDS = {DUMP_PARQUET: DUMPS, DUMP_JSONL: DUMPS_JSONL, DUMP_MANIFEST: DUMPS,
                    DUMP_SUCCESS: DUMPS}
DUMP_FILES = tuple(_DUMP_FILE_KINDS)
# dumps written before issue 11 kept these two beside the Parquet, in dumps/date=D/
LEGACY_DUMP_MANIFEST = "manifest.json"
LEGACY_DUMP_FILES = (DUMP_PARQUET, DUMP_JSONL, LEGACY_DUMP_MANIFEST, DUMP_SUCCESS)


def dump_key(day: str, name: str) -> str:
    """One of the four fixed files of a day's dump: ``dumps/date=D/NAME``, or for the JSON
    Lines file ``dumps-jsonl/date=D/articles.jsonl.gz`` (CONTRACT §4)."""
    if name not in DUMP_FILES:
        raise InvalidName(f"unknown dump file {name!r} (one of {', '.join(DUMP_FILES)})")
    return f"{day_prefix(_DUMP_FILE_KINDS[name], day)}{name}"


def legacy_dump_key(day: str, name: str) -> str:
    """A file of a day dumped in the old layout, where every file lay in ``dumps/date=D/``."""
    if name not in LEGACY_DUMP_FILES:
        raise InvalidName(f"unknown dump file {name!r} (one of {', '.join(LEGACY_DUMP_FILES)})")
    return f"{day_prefix(DUMPS, day)}{name}"


WARC_SUFFIX, CDXJ_SUFFIX = ".warc.gz", ".cdxj"


def cdxj_key_for(warc_key: str) -> str:
    """The CDXJ index beside a raw WARC: ``raw/date=D/site=S/<crawl_id>-<nnnnn>.S.D.cdxj``.

    The site and the day are in the file name, not only in the directories, because pywb reads
    a collection's indexes from one flat directory: the WARC names of one crawl repeat across
    its sites (and, for a crawl past midnight, across days), so names without them would
    overwrite each other there. "." occurs in no site name or crawl id, so no two WARCs share
    an index name. Earlier versions named the index ``<crawl_id>-<nnnnn>.cdxj``; readers take
    any name (:func:`index_day`)."""
    parts = parse_data_key(warc_key)
    if parts is None or parts["kind"] != RAW or not warc_key.endswith(WARC_SUFFIX):
        raise InvalidName(f"not a raw WARC key: {warc_key!r}")
    stem = warc_key[: -len(WARC_SUFFIX)]
    return f"{stem}.{parts['site']}.{parts['date']}{CDXJ_SUFFIX}"


def index_day(key: str) -> str | None:
    """The fetch day of a CDXJ index key (``raw/date=D/site=S/<name>.cdxj``), or None for
    anything else. Any file name is taken: the index may come from another indexer."""
    segments = key.split("/")
    if (len(segments) != 4 or segments[0] != RAW or not segments[1].startswith("date=")
            or not key.endswith(CDXJ_SUFFIX)):
        return None
    return segments[1][len("date="):]


def validate_bucket(name: str) -> str:
    """Check an S3 bucket name against the general-purpose bucket naming rules."""
    bad = (
        not isinstance(name, str)
        or not _BUCKET_RE.fullmatch(name)
        or ".." in name
        or ".-" in name
        or "-." in name
        or name.startswith(("xn--", "sthree-"))
        or name.endswith(("-s3alias", "--ol-s3"))
        or _looks_like_ip(name)
    )
    if bad:
        raise InvalidName(f"invalid S3 bucket name {name!r}")
    return name


def _looks_like_ip(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True
