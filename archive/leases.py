"""One crawl at a time per site, across processes and machines: a lease stored with the archive.

A lease is a sequence of generation objects ``locks/site=NAME/lease-<generation>.json``. Taking
the lease means creating the next generation with an exclusive create (S3 ``If-None-Match: *``,
a hard link locally), which exactly one contender wins; it is possible only when the newest
generation is released or expired. The holder renews its own generation while it runs; a holder
that died stops renewing, so its lease expires and the next run proceeds. A holder that finds a
newer generation than its own has lost the lease (it stalled past the expiry) and says so.

Releasing deletes the holder's generation (when it is still the newest) instead of rewriting it as
released: a DELETE is not a write request S3 bills, and a run then costs one lease write, not two.
The generation before it is then the newest again, released or expired, so the next run takes the
lease at once. (A stalled holder whose successor has come and gone finds its own generation the
newest again and renews it: nobody else holds the site by then. Leases of older versions marked
``released`` are still honoured.)

Expiry compares wall clocks of different machines: keep ``lease_seconds`` well above any clock
skew between them (the default, 300 s, is).

Storage unreachable at start: the lease cannot be read or taken, and refusing to crawl would
lose the run (its files can wait in the spool). So the crawl goes on under a *machine-local*
lease instead, an ``flock`` on ``<tmp>/newsarchive-locks/<archive digest>/site=NAME.lock``, with
one WARNING saying so: crawls on this machine still never overlap; a crawl of the same site on
another machine during the outage is not excluded (at worst it records an article twice).

Storage that answers and refuses (wrong credentials, no write permission, no such bucket:
:class:`~archive.storage.StorageAccessDenied`) is not an outage: taking the lease is a run's
first write, so it doubles as the access check, and the refusal is raised to the caller, which
fails the run before anything is fetched, rather than crawling into a spool no later run of the
same credentials could upload.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archive.keys import lease_generation, lease_key, lease_prefix, validate_site
from archive.storage import Storage, StorageAccessDenied, StorageError

logger = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LeaseHeld(Exception):
    def __init__(self, site: str, holder: dict) -> None:
        self.site, self.holder = site, holder
        super().__init__(
            f"site {site} is being crawled by {holder.get('owner', '?')} "
            f"(crawl {holder.get('crawl_id', '?')}) until at least {holder.get('expires_at')}")


@dataclass
class Lease:
    storage: Storage
    site: str
    generation: int
    info: dict
    ttl: float
    clock: Clock
    local_fd: int | None = None  # a machine-local lease (storage was unreachable): its flock
    # the crawl whose lease this one took after it expired unreleased (it died mid-run), and
    # that lease's generation
    took_over: str | None = None
    took_over_generation: int | None = None

    @property
    def local(self) -> bool:
        return self.local_fd is not None

    @property
    def key(self) -> str:
        return lease_key(self.site, self.generation)

    def _write(self, expires: dt.datetime) -> None:
        self.info = {**self.info, "expires_at": expires.isoformat()}
        self.storage.put_bytes(self.key, json.dumps(self.info).encode())

    def renew(self) -> bool:
        """Push the expiry forward; False if someone took the lease over meanwhile."""
        if self.local:
            return True  # the flock lasts as long as the process
        if _newest(self.storage, self.site)[0] != self.generation:
            logger.error("lost the lease of site %s: it expired and another crawl took it",
                         self.site)
            return False
        self._write(self.clock() + dt.timedelta(seconds=self.ttl))
        return True

    def release(self) -> None:
        if self.local_fd is not None:
            os.close(self.local_fd)  # closing drops the flock
            self.local_fd = None
            return
        if _newest(self.storage, self.site)[0] != self.generation:
            return
        try:
            self.storage.delete(self.key)
        except StorageAccessDenied:
            # may write but not delete: a lease marked released frees the site as well
            self.info = {**self.info, "released": True}
            self.storage.put_bytes(self.key, json.dumps(self.info).encode())


def _newest(storage: Storage, site: str) -> tuple[int, str | None]:
    newest, key = -1, None
    for info in storage.list(lease_prefix(site)):
        generation = lease_generation(info.key)
        if generation is not None and generation > newest:
            newest, key = generation, info.key
    return newest, key


def _is_live(holder: dict, now: dt.datetime) -> bool:
    if holder.get("released"):
        return False
    try:
        return dt.datetime.fromisoformat(holder["expires_at"]) > now
    except (KeyError, ValueError, TypeError):
        return False  # an unreadable lease protects nothing


def acquire(storage: Storage, site: str, crawl_id: str, ttl: float,
            clock: Clock = utc_now) -> Lease:
    """Take the site's lease or raise LeaseHeld; a machine-local one if storage is down;
    StorageAccessDenied if storage refuses this client (no lease is taken then)."""
    try:
        return _acquire_stored(storage, site, crawl_id, ttl, clock)
    except StorageAccessDenied:
        raise
    except StorageError as exc:
        lease = _acquire_local(storage, site, crawl_id, ttl, clock)
        logger.warning("storage unreachable, crawling site %s under a lease local to this "
                       "machine (%s), not the archive's: %s", site, lease.info["lock"], exc)
        return lease


def local_lock_path(storage: Storage, site: str) -> Path:
    """The machine-local lease file of a site: one per archive location, shared by every
    spool directory and user of this machine."""
    digest = hashlib.sha256(storage.location().encode()).hexdigest()[:16]
    return (Path(tempfile.gettempdir()) / "newsarchive-locks" / digest
            / f"site={validate_site(site)}.lock")


def _acquire_local(storage: Storage, site: str, crawl_id: str, ttl: float,
                   clock: Clock) -> Lease:
    path = local_lock_path(storage, site)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o1777)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        raise LeaseHeld(site, holder) from None
    now = clock()
    info = {"site": site, "crawl_id": crawl_id, "lock": str(path),
            "owner": f"{socket.gethostname()}:{os.getpid()}", "acquired_at": now.isoformat(),
            "expires_at": "the end of that process", "released": False}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)
    return Lease(storage, site, -1, info, ttl, clock, local_fd=fd)


def _read_holder(fd: int) -> dict:
    with contextlib.suppress(OSError, ValueError):
        holder = json.loads(os.pread(fd, 4096, 0))
        if isinstance(holder, dict):
            return holder
    return {}


def _acquire_stored(storage: Storage, site: str, crawl_id: str, ttl: float,
                    clock: Clock) -> Lease:
    newest, key = _newest(storage, site)
    if key is not None:
        try:
            holder = json.loads(storage.get_bytes(key))
        except (FileNotFoundError, ValueError):
            holder = {}
        if _is_live(holder, clock()):
            raise LeaseHeld(site, holder)
    died = None if key is None or holder.get("released") else holder.get("crawl_id")
    now = clock()
    info = {"site": site, "crawl_id": crawl_id,
            "owner": f"{socket.gethostname()}:{os.getpid()}",
            "acquired_at": now.isoformat(),
            "expires_at": (now + dt.timedelta(seconds=ttl)).isoformat(), "released": False}
    generation = newest + 1
    if not storage.create_exclusive(lease_key(site, generation), json.dumps(info).encode()):
        try:
            holder = json.loads(storage.get_bytes(lease_key(site, generation)))
        except (FileNotFoundError, ValueError):
            holder = {}
        raise LeaseHeld(site, holder)
    _remove_old_generations(storage, site, generation)
    died = died if isinstance(died, str) else None
    return Lease(storage, site, generation, info, ttl, clock, took_over=died,
                 took_over_generation=newest if died else None)


def settle_dead_holder(lease: Lease) -> None:
    """Mark the dead run's lease released once what it left has been seen to (its state
    recovered: ``pipelines/orphans.py``), so the site's later runs do not look again: that
    generation stays the newest whenever this run's own is deleted on release."""
    if lease.took_over is None or lease.took_over_generation is None:
        return
    key = lease_key(lease.site, lease.took_over_generation)
    try:
        holder = json.loads(lease.storage.get_bytes(key))
        if holder.get("crawl_id") == lease.took_over and not holder.get("released"):
            lease.storage.put_bytes(key, json.dumps({**holder, "released": True}).encode())
    except (FileNotFoundError, ValueError, StorageError) as exc:
        logger.warning("the dead run's lease %s not marked released: %s", key, exc)


def _remove_old_generations(storage: Storage, site: str, generation: int) -> None:
    """Housekeeping, never a reason to refuse the run: credentials that may write but not
    delete (no s3:DeleteObject, an object-locked bucket) still crawl, and the lease just
    taken is held."""
    for old in range(max(0, generation - 10), generation - 1):
        try:
            storage.delete(lease_key(site, old))  # keep the last two for inspection
        except StorageError as exc:
            logger.warning("could not remove the old lease %s: %s", lease_key(site, old), exc)
            return


class LeaseKeeper(threading.Thread):
    """Renews leases every third of their lifetime until stopped, then releases them."""

    def __init__(self, leases: list[Lease]) -> None:
        super().__init__(name="newsarchive-leases", daemon=True)
        self.leases = leases
        self._stopping = threading.Event()
        self.lost: list[str] = []

    def run(self) -> None:
        interval = min(lease.ttl for lease in self.leases) / 3 if self.leases else 60
        while not self._stopping.wait(interval):
            for lease in self.leases:
                try:
                    if not lease.renew() and lease.site not in self.lost:
                        self.lost.append(lease.site)
                except Exception as exc:  # storage hiccup: try again next round
                    logger.warning("could not renew the lease of %s: %s", lease.site, exc)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=30)
        release_all(self.leases)


def release_all(leases: list[Lease]) -> None:
    """Release each lease; one that cannot be released is logged and left to expire."""
    for lease in leases:
        try:
            lease.release()
        except Exception as exc:
            logger.warning("could not release the lease of %s (it will expire): %s",
                           lease.site, exc)
