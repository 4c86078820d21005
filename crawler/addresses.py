"""Which addresses a crawl may dial: public ones, and those of ``[crawl] allowed_networks``.

An allowed network opens what it contains, loopback and private ranges included, with one
exception: the cloud metadata endpoints (instance credentials live there) are opened only by an
entry naming that very address (``169.254.169.254/32``), never by a wider network around it
(``169.254.0.0/16``, ``0.0.0.0/0``), so allowing a link-local or "everything" range by mistake
never hands a page the machine's credentials.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from archive.config import METADATA_ADDRESSES, Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052's well-known prefix


def parse_address(address: str) -> Address:
    """The address, zone dropped; an IPv6 address that carries an IPv4 one to be reached
    through it (IPv4-mapped, 6to4, NAT64's well-known prefix) as that IPv4 address, so that
    ``2002:7f00:1::1`` is judged as the 127.0.0.1 it leads to. ValueError if it is none."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; ValueError if it is not an address."""
    ip = parse_address(address)
    # is_global also excludes shared (100.64/10), documentation and benchmark ranges
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


def in_allowed_networks(address: str, networks: Iterable[Network]) -> bool:
    """True if an allowed network contains the address (metadata endpoints: only a network
    of that one address does); ValueError if it is not an address."""
    ip = parse_address(address)
    if ip in METADATA_ADDRESSES:
        return any(net.num_addresses == 1 and ip in net for net in networks)
    return any(ip in net for net in networks)


def may_dial(address: str, networks: Iterable[Network] = ()) -> bool:
    """Public, or inside an allowed network; False for anything that is not an address."""
    try:
        return is_public_address(address) or in_allowed_networks(address, networks)
    except ValueError:
        return False
