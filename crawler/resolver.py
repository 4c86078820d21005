"""The DNS resolver Twisted dials through: refuses names that resolve to non-public addresses.

The site guard middleware checks address literals and scope, but a name it resolved itself could
resolve to another address when Twisted looks it up again to connect (DNS rebinding). This
resolver is installed on the reactor through Scrapy's ``TWISTED_DNS_RESOLVER``, so the address
checked is the address dialled. It fails closed: a non-public address is dialled only when every
crawl of the process has a parsed config that allows it (``allow_private_networks``, or one of
its ``allowed_networks``). Refused names are remembered so that the guard can refuse their
retries at once and count them under the site that asked.

Behind a proxy, Twisted resolves only the proxy's name (the proxy resolves the target's):
a proxy's name may resolve to a private address when the config says
``allow_private_proxy = true``, and the guard middleware checks the target's name itself.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from archive.config import Config, Network
from crawler.addresses import METADATA_ADDRESSES, may_dial, parse_address

logger = logging.getLogger(__name__)

# host name -> the non-public address it resolved to; one crawl per process, so module-level
REFUSED_HOSTS: dict[str, str] = {}


class PrivateAddressRefused(DNSLookupError):
    """A DNSLookupError so that Twisted treats it as "no address" without logging a trace."""


def allow_private_from(settings: Any) -> bool:
    """``allow_private_networks`` of a crawl's parsed config (the add-on leaves it in
    ``NEWSARCHIVE_CONFIG``); False for anything else, a file path not parsed yet included."""
    config = settings.get("NEWSARCHIVE_CONFIG")
    return isinstance(config, Config) and config.crawl.allow_private_networks


def allowed_networks_from(settings: Any) -> tuple[Network, ...]:
    """``allowed_networks`` of a crawl's parsed config; none for anything else."""
    config = settings.get("NEWSARCHIVE_CONFIG")
    return config.crawl.allowed_networks if isinstance(config, Config) else ()


def private_proxy_hosts_from(settings: Any) -> frozenset[str]:
    """The proxy host names of a crawl's parsed config that may resolve to a private address
    (``allow_private_proxy``); none for anything else."""
    config = settings.get("NEWSARCHIVE_CONFIG")
    if not isinstance(config, Config) or not config.crawl.allow_private_proxy:
        return frozenset()
    proxies = [config.crawl.proxy, *(site.fetch.proxy for site in config.sites)]
    return frozenset(proxy.host for proxy in proxies if proxy is not None and proxy.url)


def _private_proxy(name: str, address: str, settings: Any) -> bool:
    """A proxy's name that may resolve to a private address, never a metadata endpoint."""
    try:
        metadata = parse_address(address) in METADATA_ADDRESSES
    except ValueError:
        return False
    return not metadata and name.lower() in private_proxy_hosts_from(settings)


def check_resolved(name: str, address: str,
                   dialable: Callable[[str], bool] = may_dial) -> str:
    """The address, if ``dialable`` (by default: public); otherwise remember the name and
    raise."""
    if not dialable(address):
        if name not in REFUSED_HOSTS:
            logger.warning("refused %s: resolves to %s, a private, loopback or link-local "
                           "address (set [crawl].allow_private_networks or allowed_networks "
                           "to allow)", name, address)
        REFUSED_HOSTS[name.lower()] = address
        raise PrivateAddressRefused(f"{name} resolves to a non-public address ({address})")
    return address


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, with every answer (cached or fresh) checked before use."""

    _process: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        resolver = super().from_crawler(crawler, reactor)
        # ``crawler`` is the CrawlerProcess here, built before its crawls have applied their
        # add-ons (under `scrapy crawl` they start only once the reactor runs): the config
        # is read from the crawls at lookup time, when they are running
        resolver._process = crawler
        return resolver

    def _crawl_settings(self) -> list[Any]:
        return [c.settings for c in getattr(self._process, "crawlers", None) or ()]

    @property
    def allow_private(self) -> bool:
        crawls = self._crawl_settings()
        return bool(crawls) and all(allow_private_from(settings) for settings in crawls)

    def dialable(self, address: str, name: str = "") -> bool:
        """Public, or allowed by every crawl of the process (none running: public only): by
        its networks, or as the address of its proxy."""
        crawls = self._crawl_settings()
        if not crawls:
            return may_dial(address)
        return all(allow_private_from(settings)
                   or may_dial(address, allowed_networks_from(settings))
                   or _private_proxy(name, address, settings) for settings in crawls)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Any:  # noqa: N802
        deferred = super().getHostByName(name, timeout)
        if not self.allow_private:
            deferred.addCallback(lambda address: check_resolved(
                name, address, lambda found: self.dialable(found, name)))
        return deferred


class HostCheck:
    """The early check of a URL's host, before anything is sent: the site guard's for Scrapy's
    requests, the browser's for every request a rendered page makes. Never blocks the loop:
    names are resolved by asyncio's resolver (a thread)."""

    def __init__(self, networks: tuple[Network, ...] = ()) -> None:
        self.networks = networks
        self._host_ok: dict[str, bool] = {}

    async def dialable(self, url: str) -> bool | None:
        """Public, or in ``allowed_networks``: the literal address, or every address the
        name resolves to; None when the name does not resolve here (not an answer: the
        caller decides, see the site guard and the browser)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host in REFUSED_HOSTS:
            return False
        if host in self._host_ok:
            return self._host_ok[host]
        try:
            parse_address(host)
            ok = may_dial(host, self.networks)
        except ValueError:  # a name, not an address literal: check what it resolves to
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, parts.port or 443, type=socket.SOCK_STREAM)
            except OSError:
                return None
            ok = all(may_dial(info[4][0], self.networks) for info in infos)
        self._host_ok[host] = ok
        return ok
