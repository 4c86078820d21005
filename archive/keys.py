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
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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


def raw_key(day: str, site: str, crawl_id: str, seq: int) -> str:
    return (
        f"raw/date={validate_date(day)}/site={validate_site(site)}/"
        f"{validate_crawl_id(crawl_id)}-{_seq(seq)}.warc.gz"
    )


def records_key(day: str, site: str, crawl_id: str, seq: int) -> str:
    return (
        f"records/date={validate_date(day)}/site={validate_site(site)}/"
        f"{validate_crawl_id(crawl_id)}-{_seq(seq)}.jsonl.gz"
    )


def run_report_key(day: str, crawl_id: str) -> str:
    return f"runs/date={validate_date(day)}/{validate_crawl_id(crawl_id)}.json"


def dedup_segment_key_for(records_key: str) -> str:
    """The dedup state segment that vouches for one record file: same day, site, crawl and
    sequence number (``state/dedup/date=D/site=S/<crawl_id>-<nnnnn>.bin``). Dedup state lives
    with the archive, so every machine writing to it agrees; one segment per record file, so
    the state never lags behind or runs ahead of the records it describes."""
    parts = parse_data_key(records_key)
    if parts is None or parts["kind"] != "records":
        raise InvalidName(f"not a record file key: {records_key!r}")
    return (f"state/dedup/date={parts['date']}/site={parts['site']}/"
            f"{parts['crawl_id']}-{parts['seq']}.bin")


_SEGMENT_KEY_RE = re.compile(r"^state/dedup/date=(\d{4}-\d{2}-\d{2})/site=([a-z0-9_-]+)/"
                             r"[A-Za-z0-9][A-Za-z0-9_-]*\.bin$")


def segment_partition(key: str) -> tuple[str, str] | None:
    """(fetch day, site) of a dedup segment key, or None if the key is not one."""
    match = _SEGMENT_KEY_RE.match(key)
    return (match.group(1), match.group(2)) if match else None


def day_prefix(kind: str, day: str) -> str:
    if kind not in ("raw", "records", "runs", "dumps"):
        raise InvalidName(f"unknown archive prefix {kind!r}")
    return f"{kind}/date={validate_date(day)}/"


_PARTITION_RE = re.compile(
    r"^(?P<kind>raw|records)/date=(?P<date>\d{4}-\d{2}-\d{2})/site=(?P<site>[a-z0-9_-]+)/"
    r"(?P<crawl_id>[A-Za-z0-9][A-Za-z0-9_-]*)-(?P<seq>\d{5})\.(?:warc|jsonl)\.gz$"
)


def parse_data_key(key: str) -> dict[str, str] | None:
    """The parts of a raw/ or records/ key, or None for anything else."""
    match = _PARTITION_RE.match(key)
    return match.groupdict() if match else None


DUMP_FILES = ("articles.parquet", "articles.jsonl.gz", "manifest.json", "_SUCCESS")


def dump_key(day: str, name: str) -> str:
    """One of the four fixed files of a day's dump (CONTRACT §4)."""
    if name not in DUMP_FILES:
        raise InvalidName(f"unknown dump file {name!r} (one of {', '.join(DUMP_FILES)})")
    return f"{day_prefix('dumps', day)}{name}"


def cdxj_key_for(warc_key: str) -> str:
    """The CDXJ index beside a raw WARC: same directory and name, ``.cdxj`` for ``.warc.gz``."""
    parts = parse_data_key(warc_key)
    if parts is None or parts["kind"] != "raw" or not warc_key.endswith(".warc.gz"):
        raise InvalidName(f"not a raw WARC key: {warc_key!r}")
    return warc_key[: -len(".warc.gz")] + ".cdxj"


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
