"""Which addresses a crawl may dial when private networks are not allowed."""

from __future__ import annotations

import ipaddress


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; ValueError if it is not an address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global also excludes shared (100.64/10), documentation and benchmark ranges
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)
