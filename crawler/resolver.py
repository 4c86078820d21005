"""The DNS resolver Twisted dials through: refuses names that resolve to non-public addresses.

The site guard middleware checks address literals and scope, but a name it resolved itself could
resolve to another address when Twisted looks it up again to connect (DNS rebinding). This
resolver is installed on the reactor through Scrapy's ``TWISTED_DNS_RESOLVER``, so the address
checked is the address dialled. It fails closed: an unreadable config means private networks
stay refused. Refused names are remembered so that the guard can refuse their retries at once
and count them under the site that asked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from crawler.addresses import is_public_address

logger = logging.getLogger(__name__)

# host name -> the non-public address it resolved to; one crawl per process, so module-level
REFUSED_HOSTS: dict[str, str] = {}


class PrivateAddressRefused(DNSLookupError):
    """A DNSLookupError so that Twisted treats it as "no address" without logging a trace."""


def allow_private_from(settings: Any) -> bool:
    """``allow_private_networks`` of the crawl's config; False when it cannot be read."""
    from crawler.context import config_from_settings

    try:
        return bool(config_from_settings(settings).crawl.allow_private_networks)
    except Exception as exc:  # fail closed: no config, no private networks
        logger.warning("DNS guard: config unreadable (%s); private networks refused", exc)
        return False


def check_resolved(name: str, address: str) -> str:
    """The address, if public; otherwise remember the name and raise."""
    try:
        public = is_public_address(address)
    except ValueError:
        public = False  # not an address at all: never dial it
    if not public:
        if name not in REFUSED_HOSTS:
            logger.warning("refused %s: resolves to %s, a private, loopback or link-local "
                           "address (set [crawl].allow_private_networks to allow)", name, address)
        REFUSED_HOSTS[name.lower()] = address
        raise PrivateAddressRefused(f"{name} resolves to a non-public address ({address})")
    return address


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, with every answer (cached or fresh) checked before use."""

    allow_private = False

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        # ``crawler`` is the CrawlerProcess here: its settings hold the CLI's config object,
        # or NEWSARCHIVE_CONFIG for `scrapy crawl`
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow_private = allow_private_from(crawler.settings)
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Any:  # noqa: N802
        deferred = super().getHostByName(name, timeout)
        if not self.allow_private:
            deferred.addCallback(lambda address: check_resolved(name, address))
        return deferred
