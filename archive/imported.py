"""Foreign WARC files for ``newsarchive import``: where they are, and which of their captures
the archive holds already, so that an import run twice writes nothing new.

A capture is known when a CDXJ line of its site and day (``archive/cdxj.py``, beside every WARC
of the project) has its URL's SURT key, its timestamp and its payload digest: the line the
project's WARC writer made when it copied that capture in. A day's indexes are read once, on
its first capture.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from archive import keys
from archive.cdxj import CdxjEntry, cdx_timestamp, surt
from archive.storage import Storage, StorageOptions, open_storage

Identity = tuple[str, str, str]  # SURT key, 14-digit timestamp, payload digest (base32)


def capture_identity(url: str, warc_date: str, digest: str) -> Identity:
    return surt(url), cdx_timestamp(warc_date), digest


class KnownCaptures:
    """The captures of one site the archive's raw indexes hold, day by day."""

    def __init__(self, storage: Storage, site: str) -> None:
        self.storage = storage
        self.site = site
        self._days: dict[str, set[Identity]] = {}

    def _day(self, day: str) -> set[Identity]:
        known = self._days.get(day)
        if known is None:
            known = set()
            for info in self.storage.list(keys.site_day_prefix(keys.RAW, day, self.site)):
                if not info.key.endswith(keys.CDXJ_SUFFIX):
                    continue
                for line in self.storage.get_bytes(info.key).decode("utf-8").splitlines():
                    try:
                        entry = CdxjEntry.from_line(line)
                    except ValueError:
                        continue  # an index line of another kind: not a capture
                    known.add((entry.urlkey, entry.timestamp, entry.digest))
            self._days[day] = known
        return known

    def seen(self, day: str, identity: Identity) -> bool:
        """Whether the archive holds this capture; if not, it is taken as held from now on
        (the run is about to copy it in), so a capture given twice is copied once."""
        known = self._day(day)
        if identity in known:
            return True
        known.add(identity)
        return False


WARC_NAMES = (".warc", ".warc.gz", ".warc.wget.gz")


def local_sources(source: str, storage_options: StorageOptions, scratch: Path) -> list[Path]:
    """The local files of one FILE_OR_URI argument: a file; a folder's WARC files (sorted);
    ``file://`` the same; any storage URI (``s3://bucket/path/file.warc.gz``) copied into
    ``scratch`` first, since reading a foreign file needs seeks a range read per damaged
    stretch would make slow. FileNotFoundError when there is nothing there."""
    parts = urlsplit(source)
    if parts.scheme in ("", "file"):
        path = Path(unquote(parts.path) if parts.scheme else source)
        if path.is_dir():
            return sorted(p for p in path.iterdir() if p.name.endswith(WARC_NAMES))
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        return [path]
    root, _, name = source.rstrip("/").rpartition("/")
    storage = open_storage(root, storage_options)
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / f"{len(list(scratch.iterdir())):05d}-{name}"
    with storage.open_read(name) as stream, open(target, "wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    return [target]
