"""URL normalisation and the built-in "is this an article URL?" heuristics.

``canonical_url`` is the basis of an article's id (CONTRACT §5), so it must be stable: the same
article reached through any of its URL variants gets the same canonical URL.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from w3lib.url import safe_url_string

# query parameters that only track where a reader came from
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
    "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id",
    "vero_id", "rb_clickid", "s_cid", "cmpid", "ocid", "ito", "at_medium", "at_campaign",
    "at_custom1", "at_custom2", "at_custom3", "at_custom4", "smid", "ref_src", "ref_url",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """Lower-case scheme and host, default port, fragment and tracking parameters dropped.

    The remaining query parameters keep their order: some CMSs route on it, and reordering
    would turn one article into two ids no more often than it merges two.
    """
    parts = urlsplit(safe_url_string(url.strip()))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    # rebuilt from host and port only: user:password@ never reaches an archived URL
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    # filter the raw name=value tokens: decoding and re-encoding would turn "?amp" into
    # "?amp=" and "%20" into "+", making another URL of the same page
    tokens = [t for t in parts.query.split("&")
              if t and not is_tracking_param(unquote_plus(t.split("=", 1)[0]))]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, "&".join(tokens), ""))


def same_site(url: str, domains: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def canonical_url(fetched_url: str, declared: str | None, domains: tuple[str, ...]) -> str:
    """The article's canonical URL: the page's rel=canonical / og:url when it stays on the
    same site (a canonical pointing elsewhere is ignored: it would let one site claim another's
    article id), otherwise the fetched URL; normalised either way."""
    if declared:
        declared = declared.strip()
        parsed = urlsplit(declared)
        # a canonical naming the site root on an article page is a CMS bug, not a merge of
        # every article into the home page
        points_home = parsed.path.strip("/") == "" and urlsplit(fetched_url).path.strip("/")
        if (parsed.scheme in ("http", "https") and same_site(declared, domains)
                and not points_home):
            return normalize_url(declared)
    return normalize_url(fetched_url)


_DATE_IN_PATH = re.compile(r"/(19|20)\d\d[/-](0?[1-9]|1[0-2])([/-](0?[1-9]|[12]\d|3[01]))?(/|-|$)")
_COMPACT_DATE = re.compile(r"/(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])/")
_LONG_ID = re.compile(r"(^|[/_.-])\d{6,}([/_.-]|$)")
_HUB_SEGMENTS = frozenset({
    "tag", "tags", "topic", "topics", "category", "categories", "section", "sections",
    "author", "authors", "search", "page", "archive", "archives", "about", "contact",
    "privacy", "terms", "login", "subscribe", "newsletter", "newsletters", "feed", "rss",
    "video", "videos", "gallery", "galleries", "live", "podcasts", "podcast", "jobs",
})
# never followed: media, styles, scripts, archives, machine files (feeds are requested as feeds)
_ASSET = re.compile(
    r"\.(jpe?g|png|gif|webp|avif|svg|ico|bmp|tiff?|mp[34]|m4a|m4v|aac|ogg|wav|avi|mov|webm|"
    r"mkv|flv|zip|gz|tgz|bz2|7z|rar|exe|dmg|apk|iso|xml|json|rss|atom|css|js|mjs|map|"
    r"woff2?|ttf|otf|eot)$", re.I)
# fetched and archived raw (a report linked from an article is part of the record of the day),
# never taken for an article
_DOCUMENT = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|odt|ods|odp|rtf|csv|txt|epub)$", re.I)


def looks_like_article_url(url: str) -> bool:
    """Heuristic for sites without ``article_urls``: dated paths, long slugs, numeric ids."""
    parts = urlsplit(url)
    path = parts.path
    if _ASSET.search(path) or _DOCUMENT.search(path):
        return False
    segments = [s for s in path.split("/") if s]
    if not segments:
        return False
    if any(s.lower() in _HUB_SEGMENTS for s in segments[:-1]) and not _DATE_IN_PATH.search(path):
        return False
    if segments[-1].lower() in _HUB_SEGMENTS:
        return False
    if _DATE_IN_PATH.search(path) or _COMPACT_DATE.search(path):
        return len(segments) >= 3 or bool(re.search(r"[a-z]", segments[-1], re.I))
    slug = re.sub(r"\.(s?html?|php|aspx?)$", "", segments[-1], flags=re.I)
    words = [w for w in re.split(r"[-_]+", slug) if w]
    if len(words) >= 4 and sum(w.isalpha() for w in words) >= 3:
        return True
    return bool(_LONG_ID.search(path)) and len(words) >= 2


def is_asset_url(url: str) -> bool:
    """A link not worth following: media, styles, scripts, archives, feeds."""
    return bool(_ASSET.search(urlsplit(url).path))
