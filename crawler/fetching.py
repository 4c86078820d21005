"""What a site's requests carry: its user agent, headers, cookies and proxy, and which of
those are secrets that the WARC must not keep.

The values come from the config (``[[sites]] user_agent``, ``headers``, ``cookies``,
``proxy``; ``[crawl] proxy``), validated there. :class:`crawler.middlewares.SiteFetchMiddleware`
applies them to every request of the site, robots.txt included; the WARC archiver masks what
:data:`SECRETS_META` names before writing the request record.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from archive.config import DIRECT, Config, Proxy, SiteFetch

Header = tuple[bytes, bytes]

# the request headers (lower-cased names) whose values the WARC request record masks
SECRETS_META = "newsarchive_secret_headers"
MASK = b"***"


def proxy_for(config: Config, fetch: SiteFetch) -> Proxy | None:
    """The proxy a site's requests go through: its own, else the crawl's; None: direct."""
    proxy = fetch.proxy if fetch.proxy is not None else config.crawl.proxy
    return None if proxy is None or proxy is DIRECT or not proxy.url else proxy


def proxy_authorization(proxy: Proxy) -> bytes | None:
    """The ``Proxy-Authorization`` value for a proxy with credentials (HTTP Basic)."""
    if not proxy.user:
        return None
    pair = f"{proxy.user}:{proxy.password}".encode()
    return b"Basic " + base64.b64encode(pair)


def cookie_header(fetch: SiteFetch) -> bytes | None:
    """The site's cookies as one ``Cookie`` header (RFC 6265: ``a=1; b=2``)."""
    if not fetch.cookies:
        return None
    return "; ".join(f"{name}={value}" for name, value in fetch.cookies).encode("latin-1")


def secret_names(fetch: SiteFetch) -> tuple[str, ...]:
    """Headers of the site whose values the WARC masks: cookies (a login session is a
    credential) and headers whose value came from the environment."""
    return tuple(sorted(fetch.secret_headers | ({"cookie"} if fetch.cookies else set())))


def mask_secrets(headers: Iterable[Header], names: Iterable[str]) -> list[Header]:
    """The header lines with the named ones' values masked: ``Cookie: a=***; b=***`` keeps
    the cookies' names (which session was used), any other header becomes ``***``."""
    secret = {name.lower().encode("latin-1") for name in names}
    masked = []
    for name, value in headers:
        if name.lower() not in secret:
            masked.append((name, value))
        elif name.lower() == b"cookie":
            pairs = [pair.strip().partition(b"=")[0] + b"=" + MASK
                     for pair in value.split(b";") if pair.strip()]
            masked.append((name, b"; ".join(pairs)))
        else:
            masked.append((name, MASK))
    return masked
