"""The SSRF guard: which addresses count as private, and names that resolve to them."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from crawler.addresses import is_public_address
from crawler.middlewares import SiteGuardMiddleware


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:4700::1111", True),
    ("127.0.0.1", False), ("127.0.0.2", False), ("10.1.2.3", False), ("172.16.0.1", False),
    ("192.168.1.1", False), ("169.254.169.254", False), ("0.0.0.0", False), ("::1", False),
    ("fe80::1", False), ("fd00::1", False), ("::ffff:127.0.0.1", False), ("100.64.0.1", False),
    # IPv6 that leads to an IPv4 address (6to4, NAT64) is judged by that address
    ("2002:7f00:1::1", False), ("2002:a9fe:a9fe::1", False), ("64:ff9b::7f00:1", False),
    ("64:ff9b::a01:203", False), ("2002:5db8:d822::1", True),
])
def test_address_classes(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def _guard() -> SiteGuardMiddleware:
    config = SimpleNamespace(crawl=SimpleNamespace(allow_private_networks=False,
                                                   allowed_networks=(),
                                                   max_pages_per_site=10), sites=())
    return SiteGuardMiddleware(SimpleNamespace(stats=None), config, SimpleNamespace())


def test_names_are_checked_after_resolution() -> None:
    guard = _guard()
    assert asyncio.run(guard._dialable("http://localhost:8080/")) is False
    assert asyncio.run(guard._dialable("http://169.254.169.254/latest/meta-data/")) is False
    assert asyncio.run(guard._dialable("http://[::1]/")) is False
