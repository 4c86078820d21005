"""The config file (CONTRACT §3), read once and validated into typed, immutable objects.

Unknown keys are errors, not warnings: a typo such as ``obey_robot = false`` must not silently
leave a default in force. Every error names the file, the field and the problem in one line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from apscheduler.triggers.cron import CronTrigger

from archive.keys import SITE_NAME_RE, InvalidName, validate_bucket, validate_key
from archive.languages import ISO_639_1
from archive.storage import StorageOptions

DEFAULT_CONFIG_PATH = "newsarchive.toml"
# CONTRACT §1: data never shares a folder with the source (./archive is the archive/ package)
DEFAULT_ARCHIVE_URI = "./data"
DEFAULT_USER_AGENT = "newsarchive/0.1 (+https://github.com/newsarchive/newsarchive)"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
RENDER_MODES = ("http", "browser")


class ConfigError(ValueError):
    """A config problem, already phrased as the one line the user sees."""


@dataclass(frozen=True)
class ArchiveConfig:
    uri: str = DEFAULT_ARCHIVE_URI
    endpoint_url: str | None = None
    # where finished files wait for upload; local disk, never under the archive's own prefixes
    spool_dir: str = ".newsarchive/spool"
    # files are rolled (closed and stored) at about this size
    roll_size_mb: float = 100.0
    # the end of a run waits this long at most for its uploads (then they wait in the spool)
    upload_timeout: float = 600.0
    s3_connect_timeout: float = 10.0
    s3_read_timeout: float = 60.0
    s3_max_attempts: int = 5

    @property
    def storage_options(self) -> StorageOptions:
        return StorageOptions(self.endpoint_url, self.s3_connect_timeout, self.s3_read_timeout,
                              self.s3_max_attempts)


@dataclass(frozen=True)
class CrawlConfig:
    user_agent: str = DEFAULT_USER_AGENT
    obey_robots: bool = True
    allow_private_networks: bool = False
    # non-public networks that may be fetched all the same (an intranet site), crawl-wide:
    # the resolver that checks the address dialled serves the whole process, not one site
    allowed_networks: tuple[Network, ...] = ()
    max_pages_per_site: int = 1000
    download_delay: float = 1.0
    concurrent_requests_per_domain: int = 2
    timezone: str = "UTC"
    # extraction worker processes (default: one per core) and their limits
    extract_workers: int = 0
    extract_timeout: float = 30.0
    extract_max_tasks: int = 500
    extract_memory_mb: int = 1024
    max_page_mb: float = 16.0
    # seconds a response may take to arrive in full (slow drips included)
    download_timeout: float = 30.0
    # near-duplicates are looked for among articles archived in these last days
    near_duplicate_days: int = 30
    # an archived article is fetched again this many hours after its first fetch, then never
    # (unless a sitemap lastmod or a feed date says it changed): see crawler/site_state.py
    revisit_hours: tuple[float, ...] = (1, 6, 24, 72, 168)
    # a URL that answered 404/410 or that robots.txt refused is retried after these hours
    # since its last try, the last interval repeating
    retry_gone_hours: tuple[float, ...] = (24, 168, 720)
    # -- the headless browser of render = "browser" sites (crawler/browser.py) --
    # pages one such site has in the browser at once (each site has a context of its own)
    render_concurrency: int = 2
    # the system's Chromium (Debian's chromium package); nothing is ever downloaded
    browser_executable: str = "/usr/bin/chromium"
    # -- fetching: the crawl-wide proxy (a site's own overrides it), whether a proxy may sit
    # on a private address, and the most a robots.txt Crawl-delay may slow a host to
    proxy: Proxy | None = None
    allow_private_proxy: bool = False
    max_crawl_delay: float = 30.0


@dataclass(frozen=True)
class ScheduleConfig:
    """``newsarchive schedule``: where its jobs persist, and how late a run may still start."""

    jobstore: str = ".newsarchive/schedule.sqlite"
    misfire_grace_seconds: int = 600
    # a crawl's per-site lease expires this long after its holder last renewed it
    lease_seconds: int = 300


@dataclass(frozen=True)
class DumpsConfig:
    """Daily dumps: ``newsarchive schedule`` dumps the previous UTC day at this time. 03:30,
    not just after midnight: the near-duplicate links of copies archived in parallel runs in
    the day's last hour are set about two hours and one crawl interval later
    (``pipelines/link_pass.py``), and a dump built before them would hold them unlinked."""

    schedule: str | None = "30 3 * * *"


@dataclass(frozen=True)
class ClusterConfig:
    """``[cluster]``: the queue that ``schedule`` fills and ``worker``s empty (cluster/)."""

    broker_url: str
    # a run still going after this many seconds is asked to stop and commit (SIGTERM), so
    # that no run outlasts the broker's visibility timeout, which is derived from it; None:
    # derived from [crawl] (cluster/app.py: run_timeout)
    run_timeout: float | None = None

    @property
    def masked_url(self) -> str:
        """The broker URL as it may be shown: the password replaced by ``***``."""
        return mask_url_password(self.broker_url)


def mask_url_password(url: str) -> str:
    """``redis://user:secret@host/0`` as ``redis://user:***@host/0``; other URLs unchanged."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    user = parsed.username or ""
    host = parsed.netloc.rpartition("@")[2]
    return parsed._replace(netloc=f"{user}:***@{host}").geturl()


@dataclass(frozen=True)
class AlertsConfig:
    """Where a run's alerts are POSTed as JSON (``crawler/webhook.py``). The URL may hold a
    secret (a token in its path or query, a user and password): it is never printed."""

    webhook_url: str | None = field(default=None, repr=False)
    webhook_timeout: float = 10.0  # seconds one attempt may take
    webhook_attempts: int = 3  # attempts in all, 1 s, 2 s, 4 s ... apart


@dataclass(frozen=True)
class Proxy:
    """A forward proxy: ``url`` is ``http://host:port``; the credentials come from the
    environment variables the config names, read when the config is parsed, and are kept out
    of every repr (and so of logs and errors)."""

    url: str
    user: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    @property
    def host(self) -> str:
        return (urlparse(self.url).hostname or "").lower()


@dataclass(frozen=True)
class SiteFetch:
    """How one site's requests are made (``[[sites]] proxy``, ``user_agent``, ``headers``,
    ``cookies``). Header and cookie values may be secrets: none is in a repr."""

    # None: [crawl] proxy; DIRECT: this site is fetched without a proxy
    proxy: Proxy | None = None
    user_agent: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    cookies: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # headers whose value came from the environment: masked in the WARC, as cookie values are
    secret_headers: frozenset[str] = frozenset()


# ``[[sites]] proxy = ""``: this site goes direct even when [crawl] has a proxy
DIRECT = Proxy(url="")


@dataclass(frozen=True)
class SiteConfig:
    name: str
    start_urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    article_urls: tuple[re.Pattern[str], ...] = ()
    follow_depth: int = 2
    schedule: str | None = None
    # None: [crawl] revisit_hours
    revisit_hours: tuple[float, ...] | None = None
    fetch: SiteFetch = field(default_factory=SiteFetch)
    # the date window and the language filter (README "Date window and languages"): new
    # articles published before ``since`` or more than ``max_age_days`` before the run (a
    # capture's own date in an import or a replay) are not archived; pages declared in a
    # language outside ``languages`` are not archived. None and (): no filter
    since: dt.datetime | None = None
    max_age_days: float | None = None
    languages: tuple[str, ...] = ()

    def window_start(self, reference: float) -> float | None:
        """Epoch seconds before which a new article is too old, judged at ``reference``
        (epoch seconds); None without a window. With both keys the later start wins."""
        starts = []
        if self.since is not None:
            starts.append(self.since.timestamp())
        if self.max_age_days is not None:
            starts.append(reference - self.max_age_days * 86400)
        return max(starts, default=None)

    # "http": pages as fetched; "browser": also rendered in a headless browser, the DOM its
    # scripts leave is what gets extracted (crawler/render.py)
    render: str = "http"

    @property
    def renders(self) -> bool:
        return self.render == "browser"

    @cached_property
    def origins(self) -> tuple[str, ...]:
        """scheme://host[:port] of start_urls, feeds and sitemaps, in that order: what tells
        two sites apart when they share a host on different ports."""
        found: list[str] = []
        for url in (*self.start_urls, *self.feeds, *self.sitemaps):
            parts = urlparse(url)
            origin = f"{parts.scheme}://{parts.netloc}".lower()
            if origin not in found:
                found.append(origin)
        return tuple(found)

    @cached_property  # asked for every link and response of the site
    def domains(self) -> tuple[str, ...]:
        """allowed_domains, or the hosts of start_urls, feeds and sitemaps."""
        if self.allowed_domains:
            return self.allowed_domains
        hosts: list[str] = []
        for url in (*self.start_urls, *self.feeds, *self.sitemaps):
            host = (urlparse(url).hostname or "").lower()
            if host and host not in hosts:
                hosts.append(host)
        return tuple(hosts)


@dataclass(frozen=True)
class Config:
    path: str
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    sites: tuple[SiteConfig, ...] = ()
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    dumps: DumpsConfig = field(default_factory=DumpsConfig)
    cluster: ClusterConfig | None = None  # None: one machine, no queue
    alerts: AlertsConfig = field(default_factory=AlertsConfig)

    def site(self, name: str) -> SiteConfig:
        for site in self.sites:
            if site.name == name:
                return site
        raise ConfigError(f"{self.path}: sites: no site named {name!r}")

    def select_sites(self, names: list[str] | tuple[str, ...] | None) -> tuple[SiteConfig, ...]:
        if not names:
            return self.sites
        return tuple(self.site(name) for name in names)

    def with_archive_uri(self, uri: str | None) -> Config:
        if not uri:
            return self
        problem = check_archive_uri(uri)
        if problem:
            raise ConfigError(f"--archive: {problem}")
        return dataclasses.replace(self, archive=dataclasses.replace(self.archive, uri=uri))


class _Reader:
    """Pulls typed fields out of one TOML table and remembers which keys were used."""

    def __init__(self, path: str, where: str, table: Any) -> None:
        self.path, self.where = path, where
        if not isinstance(table, dict):
            self.fail("", "must be a table")
        self.table: dict[str, Any] = table
        self.used: set[str] = set()

    def fail(self, key: str, problem: str) -> None:
        name = f"{self.where}.{key}" if key and self.where else (key or self.where)
        raise ConfigError(f"{self.path}: {name}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.used.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are ints in Python: never accept one where a number is meant
        if isinstance(value, bool) and bool not in kinds:
            self.fail(key, f"expected {_kind_name(kinds)}, got a boolean")
        if not isinstance(value, kinds):
            self.fail(key, f"expected {_kind_name(kinds)}, got {type(value).__name__} {value!r}")
        return value

    def number(self, key: str, default: float, minimum: float, maximum: float) -> float:
        value = self.get(key, (int, float), default)
        if not minimum <= value <= maximum:
            self.fail(key, f"must be between {minimum} and {maximum}, got {value!r}")
        return value

    def strings(self, key: str, check: Callable[[str], str | None] | None = None) -> tuple:
        values = self.get(key, list, [])
        for index, value in enumerate(values):
            if not isinstance(value, str) or not value.strip():
                self.fail(f"{key}[{index}]", "expected a non-empty string")
            problem = check(value) if check else None
            if problem:
                self.fail(f"{key}[{index}]", problem)
        return tuple(values)

    def hours(self, key: str, default: tuple[float, ...] | None) -> tuple[float, ...] | None:
        """A list of increasing positive hours (a revisit or retry schedule)."""
        values = self.get(key, list, None)
        if values is None:
            return default
        for index, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                self.fail(f"{key}[{index}]", f"expected a positive number of hours, got {value!r}")
            if index and value <= values[index - 1]:
                self.fail(f"{key}[{index}]", "hours must increase")
            if value > 24 * 3650:
                self.fail(f"{key}[{index}]", "at most 87600 hours (ten years)")
        return tuple(float(v) for v in values)

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.table) - self.used)
        if unknown:
            self.fail(unknown[0], f"unknown key (allowed: {', '.join(sorted(self.used))})")


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "a table", dt.date: "a date"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _check_http_url(value: str) -> str | None:
    parsed = urlparse(value)
    if "@" in parsed.netloc:
        # never echoed: it may hold a password
        return "must not contain a user name or password"
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return f"expected an http(s) URL, got {value!r}"
    return None


def check_archive_uri(uri: str) -> str | None:
    """What is wrong with an archive URI, or None; never echoes credentials."""
    if not uri.strip():
        return "must not be empty"
    parsed = urlparse(uri)
    if "@" in parsed.netloc:
        return ("must not contain credentials (they come from the usual AWS chain: "
                "environment, ~/.aws, instance roles)")
    if len(parsed.scheme) > 1 and parsed.scheme not in ("s3", "file"):
        return f"unsupported scheme {parsed.scheme!r} (use s3://, file:// or a path)"
    if parsed.scheme != "s3":
        return None
    try:
        validate_bucket(parsed.netloc)
        prefix = parsed.path.strip("/")
        if prefix:
            validate_key(prefix)
    except InvalidName as exc:
        return str(exc)
    return None


def _check_regex(value: str) -> str | None:
    try:
        re.compile(value)
    except re.error as exc:
        return f"invalid regular expression {value!r}: {exc}"
    return None


def _check_domain(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9.-]+", value) or value.startswith("."):
        return f"expected a host name such as example.org, got {value!r}"
    return None


def _check_cron(value: str) -> str | None:
    if len(value.split()) != 5:
        return f"expected a 5-field cron expression (minute hour day month weekday), got {value!r}"
    try:
        # the same parser the scheduler builds its triggers with
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        return f"invalid cron expression {value!r}: {exc}"
    return None


def _read_archive(path: str, table: Any) -> ArchiveConfig:
    r = _Reader(path, "archive", table)
    defaults = ArchiveConfig()
    uri = r.get("uri", str, defaults.uri)
    problem = check_archive_uri(uri)
    if problem:
        r.fail("uri", problem)
    uri = _relative_to_config(path, uri)
    endpoint = r.get("endpoint_url", str, None)
    if endpoint is not None and _check_http_url(endpoint):
        r.fail("endpoint_url", _check_http_url(endpoint) or "")
    config = ArchiveConfig(
        uri=uri,
        endpoint_url=endpoint,
        spool_dir=r.get("spool_dir", str, defaults.spool_dir),
        roll_size_mb=r.number("roll_size_mb", defaults.roll_size_mb, 0.001, 5000),
        upload_timeout=float(r.number("upload_timeout", defaults.upload_timeout, 1, 86400)),
        s3_connect_timeout=float(r.number("s3_connect_timeout", defaults.s3_connect_timeout,
                                          0.1, 600)),
        s3_read_timeout=float(r.number("s3_read_timeout", defaults.s3_read_timeout, 0.1, 3600)),
        s3_max_attempts=int(r.number("s3_max_attempts", defaults.s3_max_attempts, 1, 20)),
    )
    r.reject_unknown()
    return config


def _relative_to_config(config_path: str, uri: str) -> str:
    """A relative path in the file is relative to the file's folder (CONTRACT §3), so a cron
    job started from any directory writes where the config says."""
    if urlparse(uri).scheme or uri.startswith("~") or os.path.isabs(uri):
        return uri
    return os.path.normpath(os.path.join(os.path.dirname(config_path), uri))


_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")


def _as_dialled(network: Network) -> Network:
    """An IPv4-mapped network (``::ffff:10.1.2.0/120``) as the IPv4 network it maps: the
    guard compares every IPv4-mapped address as IPv4, so the entry must be IPv4 to match."""
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_IPV4_MAPPED):
        mapped = network.network_address.ipv4_mapped
        assert mapped is not None
        return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return network


def _check_network(value: str) -> str | None:
    try:
        # strict: "10.1.2.5/24" is refused, since it is unclear whether one host or the /24
        # was meant
        network = ipaddress.ip_network(value.strip())
    except ValueError as exc:
        return f"expected a network such as 10.1.2.0/24 or one address: {exc}"
    if any(network.version == 6 and network.subnet_of(carrier) for carrier in _IPV4_CARRIERS):
        # the guard judges such addresses by the IPv4 address they lead to
        return f"{network} carries IPv4 addresses (6to4, NAT64): write the IPv4 network"
    return None


# IPv6 ranges that lead to an IPv4 address (crawler/addresses.py judges them by it)
_IPV4_CARRIERS = (ipaddress.ip_network("2002::/16"), ipaddress.ip_network("64:ff9b::/96"))


def _read_crawl(path: str, table: Any) -> CrawlConfig:
    r = _Reader(path, "crawl", table)
    d = CrawlConfig()
    user_agent = r.get("user_agent", str, d.user_agent)
    if not user_agent.strip() or any(c in user_agent for c in "\r\n"):
        r.fail("user_agent", "must be a non-empty single line")
    timezone = r.get("timezone", str, d.timezone)
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        r.fail("timezone", f"unknown time zone {timezone!r} (use an IANA name like Europe/Paris)")
    config = CrawlConfig(
        user_agent=user_agent,
        obey_robots=r.get("obey_robots", bool, d.obey_robots),
        allow_private_networks=r.get("allow_private_networks", bool, d.allow_private_networks),
        allowed_networks=tuple(_as_dialled(ipaddress.ip_network(value.strip()))
                               for value in r.strings("allowed_networks", _check_network)),
        max_pages_per_site=int(r.number("max_pages_per_site", d.max_pages_per_site, 1, 10**8)),
        download_delay=float(r.number("download_delay", d.download_delay, 0, 3600)),
        concurrent_requests_per_domain=int(
            r.number("concurrent_requests_per_domain", d.concurrent_requests_per_domain, 1, 64)
        ),
        timezone=timezone,
        extract_workers=int(r.number("extract_workers", d.extract_workers, 0, 64)),
        extract_timeout=float(r.number("extract_timeout", d.extract_timeout, 0.1, 3600)),
        extract_max_tasks=int(r.number("extract_max_tasks", d.extract_max_tasks, 1, 10**7)),
        extract_memory_mb=int(r.number("extract_memory_mb", d.extract_memory_mb, 64, 65536)),
        max_page_mb=float(r.number("max_page_mb", d.max_page_mb, 0.01, 1024)),
        download_timeout=float(r.number("download_timeout", d.download_timeout, 1, 600)),
        near_duplicate_days=int(r.number("near_duplicate_days", d.near_duplicate_days, 1, 3650)),
        revisit_hours=r.hours("revisit_hours", d.revisit_hours) or (),
        retry_gone_hours=r.hours("retry_gone_hours", d.retry_gone_hours) or (),
        render_concurrency=int(r.number("render_concurrency", d.render_concurrency, 1, 16)),
        browser_executable=r.get("browser_executable", str, d.browser_executable),
        **_read_crawl_fetch(r, d),
    )
    if not os.path.isabs(config.browser_executable):
        r.fail("browser_executable", f"expected an absolute path, got "
                                     f"{config.browser_executable!r}")
    if not config.retry_gone_hours:
        r.fail("retry_gone_hours", "needs at least one interval")
    r.reject_unknown()
    return config


# -- fetching: proxies, per-site headers and cookies, the Crawl-delay cap ----------------------

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header or cookie name
# RFC 6265 cookie-octets: no whitespace, quote, comma, semicolon or backslash
_COOKIE_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
# headers the crawler itself owns: the connection, the revisit policy, the proxy; User-Agent
# and Cookie have keys of their own
_OWN_HEADERS = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te",
    "trailer", "upgrade", "proxy-authorization", "proxy-connection", "if-none-match",
    "if-modified-since", "accept-encoding", "user-agent", "cookie"})


def _expand_env(r: _Reader, key: str, value: str) -> str:
    """``${NAME}`` replaced by that environment variable; an unset one is an error naming it
    (never the value)."""
    def one(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None:
            r.fail(key, f"environment variable {match.group(1)} is not set")
        return found or ""
    return _ENV_REF.sub(one, value)


def _read_proxy(r: _Reader, key: str, value: str, allow_private: bool) -> Proxy:
    """``http://host:port``, or ``http://${USER_VAR}:${PASS_VAR}@host:port``: credentials
    only from the environment, so that no password sits in a config file (a literal one is
    refused, and never echoed)."""
    parsed = urlparse(value)
    userinfo, at, hostport = parsed.netloc.rpartition("@")
    if parsed.scheme != "http" or not hostport or parsed.path not in ("", "/") or \
            parsed.query or parsed.fragment:
        r.fail(key, "expected http://host:port (optionally ${USER_VAR}:${PASS_VAR}@ before "
                    "the host)")
    user_ref, _, password_ref = userinfo.partition(":")
    if at and not (_ENV_REF.fullmatch(user_ref) and
                   (not password_ref or _ENV_REF.fullmatch(password_ref))):
        r.fail(key, "a user name or password must not be written in the config: name "
                    "environment variables, http://${PROXY_USER}:${PROXY_PASS}@host:port")
    try:
        port = urlparse(f"http://{hostport}").port
    except ValueError:
        port = None
    if port is None:
        r.fail(key, "the proxy needs a port (http://host:3128)")
    proxy = Proxy(url=f"http://{hostport.lower()}",
                  user=_expand_env(r, key, user_ref) if at else "",
                  password=_expand_env(r, key, password_ref) if at else "")
    problem = _proxy_address_problem(proxy.host, allow_private)
    if problem:
        r.fail(key, problem)
    return proxy


# AWS/GCP/Azure/OpenStack instance metadata, AWS ECS task metadata, AWS IMDS over IPv6,
# Alibaba: never a proxy, and a target only when allowed by name (crawler/addresses.py)
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200"))


def _proxy_address_problem(host: str, allow_private: bool) -> str | None:
    """Why a proxy's address literal may not be used; a name is checked by the resolver
    when it is dialled."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address, never a proxy"
    if ip.is_global and not (ip.is_multicast or ip.is_reserved) or allow_private:
        return None
    return (f"{ip} is not a public address: set [crawl] allow_private_proxy = true to use a "
            "proxy there")


def _read_crawl_fetch(r: _Reader, d: CrawlConfig) -> dict[str, Any]:
    allow_private = r.get("allow_private_proxy", bool, d.allow_private_proxy)
    value = r.get("proxy", str, None)
    return {
        "proxy": _read_proxy(r, "proxy", value, allow_private) if value else None,
        "allow_private_proxy": allow_private,
        "max_crawl_delay": float(r.number("max_crawl_delay", d.max_crawl_delay, 0, 3600)),
    }


def _read_headers(r: _Reader, key: str, table: Any, cookies: bool
                  ) -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
    """A table of names to values (headers or cookies), validated; values may name
    environment variables. Also the names whose value came from the environment."""
    if not isinstance(table, dict):
        r.fail(key, "expected a table of names to strings")
    found, secret = [], set()
    for name, value in table.items():
        if not _TOKEN.fullmatch(name):
            r.fail(key, f"{name!r} is not a valid {'cookie' if cookies else 'header'} name")
        if not cookies and name.lower() in _OWN_HEADERS:
            r.fail(f"{key}.{name}", "set by the crawler itself (user_agent and cookies have "
                                    "keys of their own)")
        if not isinstance(value, str):
            r.fail(f"{key}.{name}", f"expected a string, got {type(value).__name__}")
        expanded = _expand_env(r, f"{key}.{name}", value)
        bad = (not _COOKIE_VALUE.fullmatch(expanded) if cookies else
               any(ord(c) < 0x20 and c != "\t" or ord(c) in (0x7f,) or ord(c) > 0xff
                   for c in expanded))
        if bad:  # never echoed: it may be a secret
            r.fail(f"{key}.{name}", "the value holds characters a "
                   + ("cookie value cannot carry (space, quote, comma, semicolon, backslash, "
                      "control)" if cookies else "header cannot carry (CR, LF, control, "
                                                  "non-Latin-1)"))
        if expanded != value:
            secret.add(name.lower())
        found.append((name, expanded))
    return tuple(found), frozenset(secret)


def _read_site_fetch(r: _Reader, crawl: CrawlConfig) -> SiteFetch:
    proxy_value = r.get("proxy", str, None)
    user_agent = r.get("user_agent", str, None)
    if user_agent is not None and (not user_agent.strip() or any(c in user_agent
                                                                  for c in "\r\n")):
        r.fail("user_agent", "must be a non-empty single line")
    headers, secret = _read_headers(r, "headers", r.get("headers", dict, {}), cookies=False)
    cookies, _ = _read_headers(r, "cookies", r.get("cookies", dict, {}), cookies=True)
    allow_private = crawl.allow_private_proxy
    proxy = None if proxy_value is None else DIRECT if not proxy_value.strip() else \
        _read_proxy(r, "proxy", proxy_value, allow_private)
    return SiteFetch(proxy=proxy, user_agent=user_agent, headers=headers, cookies=cookies,
                     secret_headers=secret)


def _read_schedule(path: str, table: Any) -> ScheduleConfig:
    r = _Reader(path, "schedule", table)
    d = ScheduleConfig()
    jobstore = r.get("jobstore", str, d.jobstore)
    if not jobstore.strip():
        r.fail("jobstore", "must not be empty")
    config = ScheduleConfig(
        jobstore=jobstore,
        misfire_grace_seconds=int(r.number("misfire_grace_seconds", d.misfire_grace_seconds,
                                           1, 7 * 86400)),
        lease_seconds=int(r.number("lease_seconds", d.lease_seconds, 5, 86400)),
    )
    r.reject_unknown()
    return config


def _read_dumps(path: str, table: Any) -> DumpsConfig:
    r = _Reader(path, "dumps", table)
    schedule = r.get("schedule", str, DumpsConfig().schedule)
    if schedule is not None and schedule.strip() and _check_cron(schedule):
        r.fail("schedule", _check_cron(schedule) or "")
    r.reject_unknown()
    return DumpsConfig(schedule=schedule.strip() or None if schedule is not None else None)


def _check_broker_url(value: str) -> str | None:
    """What is wrong with a broker URL, or None; quotes it only with its password masked."""
    try:
        parsed = urlparse(value)
        _ = parsed.port  # a port that is not a number raises here
    except ValueError:
        return "expected redis://[:password@]host[:port][/db] (the port is not a number)"
    shown = mask_url_password(value)
    if parsed.scheme not in ("redis", "rediss"):
        return f"expected a redis:// or rediss:// URL, got {shown!r}"
    if not parsed.hostname:
        return f"no host in {shown!r}"
    db = parsed.path.strip("/")
    if db and not db.isdigit():
        return f"the database is a number (redis://host:6379/0), got {db!r} in {shown!r}"
    return None


def _read_cluster(path: str, table: Any) -> ClusterConfig | None:
    if table is None:
        return None
    r = _Reader(path, "cluster", table)
    url = r.get("broker_url", str, None)
    if url is None:
        r.fail("broker_url", "missing (the queue's redis:// URL)")
    problem = _check_broker_url(url)
    if problem:
        r.fail("broker_url", problem)
    timeout = r.get("run_timeout", (int, float), None)
    if timeout is not None:
        timeout = float(r.number("run_timeout", timeout, 10, 7 * 86400))
    config = ClusterConfig(broker_url=url, run_timeout=timeout)
    r.reject_unknown()
    return config


def _check_webhook_url(value: str) -> str | None:
    """What is wrong with a webhook URL; never echoes it (its path or query may be a token)."""
    parsed = urlparse(value)
    try:
        parsed.port  # noqa: B018 (a port that is no number raises)
    except ValueError:
        return "has an invalid port"
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "expected an http(s) URL"
    return None


def _read_alerts(path: str, table: Any) -> AlertsConfig:
    r = _Reader(path, "alerts", table)
    url = r.get("webhook_url", str, None)
    if url is not None and _check_webhook_url(url):
        r.fail("webhook_url", _check_webhook_url(url) or "")
    attempts = r.get("webhook_attempts", int, 3)
    if not 1 <= attempts <= 10:
        r.fail("webhook_attempts", f"must be between 1 and 10, got {attempts!r}")
    alerts = AlertsConfig(webhook_url=url.strip() or None if url is not None else None,
                          webhook_timeout=r.number("webhook_timeout", 10.0, 0.1, 300.0),
                          webhook_attempts=attempts)
    r.reject_unknown()
    return alerts


def _read_site(path: str, index: int, table: Any, crawl: CrawlConfig) -> SiteConfig:
    r = _Reader(path, f"sites[{index}]", table)
    name = r.get("name", str, None)
    if name is None:
        r.fail("name", "missing (every [[sites]] needs a name)")
    if not SITE_NAME_RE.fullmatch(name) or len(name) > 64:
        r.fail("name", f"must match [a-z0-9_-]+ (at most 64 characters), got {name!r}")
    r.where = f"sites[{index}] ({name})"
    start_urls = r.strings("start_urls", _check_http_url)
    feeds = r.strings("feeds", _check_http_url)
    sitemaps = r.strings("sitemaps", _check_http_url)
    if not (start_urls or feeds or sitemaps):
        r.fail("start_urls", "a site needs at least one of start_urls, feeds or sitemaps")
    domains = tuple(d.lower() for d in r.strings("allowed_domains", _check_domain))
    patterns = tuple(re.compile(p) for p in r.strings("article_urls", _check_regex))
    depth = r.get("follow_depth", int, 2)
    if not 0 <= depth <= 10:
        r.fail("follow_depth", f"must be between 0 and 10, got {depth}")
    schedule = r.get("schedule", str, None)
    if schedule is not None and _check_cron(schedule):
        r.fail("schedule", _check_cron(schedule) or "")
    revisit = r.hours("revisit_hours", None)
    render = r.get("render", str, "http")
    if render not in RENDER_MODES:
        r.fail("render", f"expected one of {', '.join(map(repr, RENDER_MODES))}, got {render!r}")
    site = SiteConfig(name, start_urls, feeds, sitemaps, domains, patterns, depth, schedule,
                      revisit, fetch=_read_site_fetch(r, crawl),
                      **_read_site_filters(r), render=render)
    r.reject_unknown()
    return site


def _read_since(r: _Reader) -> dt.datetime | None:
    """``since``: a TOML date or date-time, or the same as an ISO 8601 string; a time
    without an offset is UTC, a date alone its midnight UTC."""
    value = r.get("since", (str, dt.date), None)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            value = (dt.date.fromisoformat(text) if len(text) == 10
                     else dt.datetime.fromisoformat(text))
        except ValueError:
            r.fail("since", f"expected an ISO 8601 date or date-time such as 2026-01-31 or "
                            f"2026-01-31T06:00:00+01:00, got {value!r}")
    if value is None:
        return None
    if not isinstance(value, dt.datetime):  # a date (a datetime is a date too)
        value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _check_language(value: str) -> str | None:
    code = value.strip().lower()
    if code in ISO_639_1 and code == value:
        return None
    if code.split("-")[0].split("_")[0] in ISO_639_1:
        return (f"write the two-letter code alone, in lower case: records carry "
                f"{code.split('-')[0].split('_')[0]!r}, not {value!r}")
    return f"not an ISO 639-1 language code (two letters such as de or fr): {value!r}"


def _read_site_filters(r: _Reader) -> dict[str, Any]:
    """A site's date window and language filter: its ``since``, ``max_age_days`` and
    ``languages`` fields."""
    since = _read_since(r)
    age = r.get("max_age_days", (int, float), None)
    if age is not None:
        age = float(r.number("max_age_days", age, 0.001, 36500))
    languages = r.strings("languages", _check_language)
    if len(set(languages)) != len(languages):
        r.fail("languages", "lists a language twice")
    return {"since": since, "max_age_days": age, "languages": languages}


def parse_config(text: str, path: str = DEFAULT_CONFIG_PATH) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    top = _Reader(path, "", data)
    archive = _read_archive(path, top.get("archive", dict, {}))
    crawl = _read_crawl(path, top.get("crawl", dict, {}))
    site_tables = top.get("sites", list, [])
    schedule = _read_schedule(path, top.get("schedule", dict, {}))
    dumps = _read_dumps(path, top.get("dumps", dict, {}))
    cluster = _read_cluster(path, top.get("cluster", dict, None))
    alerts = _read_alerts(path, top.get("alerts", dict, {}))
    top.reject_unknown()
    sites = tuple(_read_site(path, i, t, crawl) for i, t in enumerate(site_tables))
    names = [s.name for s in sites]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{path}: sites: duplicate site name {name!r}")
    return Config(path=path, archive=archive, crawl=crawl, sites=sites, schedule=schedule,
                  dumps=dumps, cluster=cluster, alerts=alerts)


def load_config(path: str | Path = DEFAULT_CONFIG_PATH) -> Config:
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_config(text, path)
