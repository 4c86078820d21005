"""The fetching keys of the config (proxies, per-site user agent, headers, cookies,
max_crawl_delay) and what the guard makes of a proxy: one-line errors naming the field, no
secret echoed, private proxies only when allowed, targets behind a proxy checked here."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from archive.config import DIRECT, ConfigError, parse_config
from crawler.fetching import cookie_header, mask_secrets, proxy_authorization, proxy_for
from crawler.middlewares import SiteGuardMiddleware
from crawler.resolver import GuardedResolver, PrivateAddressRefused, check_resolved

SITE = '[[sites]]\nname = "planet"\nstart_urls = ["https://news.example/"]\n'
SECRET = "hunter2-Tidewater"


def parse(crawl: str = "", site: str = "") -> object:
    return parse_config(f"[crawl]\n{crawl}\n{SITE}{site}\n", "news.toml")


def error_of(crawl: str = "", site: str = "") -> str:
    with pytest.raises(ConfigError) as caught:
        parse(crawl, site)
    return str(caught.value)


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NA_PROXY_USER", "newsroom")
    monkeypatch.setenv("NA_PROXY_PASS", SECRET)


def test_proxy_credentials_come_from_the_environment(proxy_env: None) -> None:
    config = parse('proxy = "http://${NA_PROXY_USER}:${NA_PROXY_PASS}@proxy.example:3128"')
    proxy = config.crawl.proxy
    assert proxy.url == "http://proxy.example:3128" and proxy.host == "proxy.example"
    assert proxy_authorization(proxy) == b"Basic bmV3c3Jvb206aHVudGVyMi1UaWRld2F0ZXI="
    assert SECRET not in repr(config)  # so never in a log line or a traceback's locals
    site = config.sites[0]
    assert proxy_for(config, site.fetch) is proxy


def test_a_site_overrides_the_crawl_proxy_or_goes_direct(proxy_env: None) -> None:
    own = parse('proxy = "http://proxy.example:3128"', 'proxy = "http://other.example:8080"')
    assert proxy_for(own, own.sites[0].fetch).url == "http://other.example:8080"
    direct = parse('proxy = "http://proxy.example:3128"', 'proxy = ""')
    assert direct.sites[0].fetch.proxy is DIRECT and proxy_for(direct, direct.sites[0].fetch) \
        is None
    assert proxy_for(parse(), parse().sites[0].fetch) is None


@pytest.mark.parametrize(("crawl", "expected"), [
    (f'proxy = "http://newsroom:{SECRET}@proxy.example:3128"',
     "news.toml: crawl.proxy: a user name or password must not be written in the config"),
    ('proxy = "http://${NA_UNSET_VAR}:x@proxy.example:3128"',
     "news.toml: crawl.proxy: a user name or password must not be written"),
    ('proxy = "http://${NA_UNSET_VAR}@proxy.example:3128"',
     "news.toml: crawl.proxy: environment variable NA_UNSET_VAR is not set"),
    ('proxy = "http://proxy.example"', "crawl.proxy: the proxy needs a port"),
    ('proxy = "socks5://proxy.example:1080"', "crawl.proxy: expected http://host:port"),
    ('proxy = "http://10.0.0.8:3128"',
     "crawl.proxy: 10.0.0.8 is not a public address: set [crawl] allow_private_proxy = true"),
    ('allow_private_proxy = true\nproxy = "http://169.254.169.254:80"',
     "crawl.proxy: 169.254.169.254 is a cloud metadata address, never a proxy"),
    ("max_crawl_delay = -1", "crawl.max_crawl_delay: must be between 0 and 3600"),
])
def test_bad_proxy_and_delay_keys_are_one_line_errors(crawl: str, expected: str) -> None:
    message = error_of(crawl)
    assert expected in message and "\n" not in message and SECRET not in message


def test_a_private_proxy_needs_allow_private_proxy() -> None:
    config = parse('allow_private_proxy = true\nproxy = "http://10.0.0.8:3128"')
    assert config.crawl.proxy.host == "10.0.0.8" and config.crawl.allow_private_networks \
        is False


@pytest.mark.parametrize(("site", "expected"), [
    ('headers = { "Host" = "other.example" }', "sites[0] (planet).headers.Host: set by the "
                                               "crawler itself"),
    ('headers = { "Cookie" = "a=b" }', "headers.Cookie: set by the crawler itself"),
    ('headers = { "X-Edition" = "uk\\r\\nX-Evil: 1" }',
     "headers.X-Edition: the value holds characters a header cannot carry"),
    ('headers = { "Bad Name" = "x" }', "headers: 'Bad Name' is not a valid header name"),
    ('headers = { "X-Count" = 3 }', "headers.X-Count: expected a string, got int"),
    (f'cookies = {{ session = "{SECRET}; admin=1" }}',
     "cookies.session: the value holds characters a cookie value cannot carry"),
    ('user_agent = ""', "sites[0] (planet).user_agent: must be a non-empty single line"),
    ('cookies = { session = "${NA_UNSET_VAR}" }',
     "cookies.session: environment variable NA_UNSET_VAR is not set"),
])
def test_bad_site_fetch_keys_are_one_line_errors(site: str, expected: str) -> None:
    message = error_of(site=site)
    assert expected in message and "\n" not in message and SECRET not in message


def test_headers_and_cookies_from_the_config_and_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NA_SESSION", SECRET)
    config = parse(site='user_agent = "PlanetReader/2"\n'
                        'headers = { "Accept-Language" = "de", "X-Key" = "${NA_SESSION}" }\n'
                        'cookies = { consent = "yes", session = "${NA_SESSION}" }')
    fetch = config.sites[0].fetch
    assert fetch.user_agent == "PlanetReader/2"
    assert dict(fetch.headers) == {"Accept-Language": "de", "X-Key": SECRET}
    assert cookie_header(fetch) == f"consent=yes; session={SECRET}".encode()
    assert SECRET not in repr(config)
    sent = [(b"Host", b"news.example"), (b"X-Key", SECRET.encode()),
            (b"Cookie", cookie_header(fetch)), (b"Accept-Language", b"de")]
    assert mask_secrets(sent, ("cookie", "x-key")) == [
        (b"Host", b"news.example"), (b"X-Key", b"***"),
        (b"Cookie", b"consent=***; session=***"), (b"Accept-Language", b"de")]


def _resolver(config: object) -> GuardedResolver:
    resolver = object.__new__(GuardedResolver)
    resolver._process = SimpleNamespace(
        crawlers=[SimpleNamespace(settings={"NEWSARCHIVE_CONFIG": config})])
    return resolver


def _lookup(resolver: GuardedResolver, name: str, address: str) -> str | None:
    try:
        return check_resolved(name, address, lambda found: resolver.dialable(found, name))
    except PrivateAddressRefused:
        return None


def test_the_resolver_dials_a_private_proxy_only_when_allowed() -> None:
    allowed = _resolver(parse('allow_private_proxy = true\n'
                              'proxy = "http://proxy.internal:3128"'))
    assert _lookup(allowed, "proxy.internal", "10.0.0.8") == "10.0.0.8"
    assert _lookup(allowed, "PROXY.internal", "10.0.0.8") == "10.0.0.8"
    # the allowance is the proxy's name only: a target resolving there stays refused
    assert _lookup(allowed, "intranet.example", "10.0.0.8") is None
    assert _lookup(allowed, "proxy.internal", "169.254.169.254") is None  # never metadata
    refused = _resolver(parse('proxy = "http://proxy.internal:3128"'))
    assert _lookup(refused, "proxy.internal", "10.0.0.8") is None


def _guard() -> SiteGuardMiddleware:
    config = SimpleNamespace(crawl=SimpleNamespace(allow_private_networks=False,
                                                   allowed_networks=(),
                                                   max_pages_per_site=10), sites=())
    return SiteGuardMiddleware(SimpleNamespace(stats=None), config, SimpleNamespace())


def test_behind_a_proxy_the_guard_refuses_what_it_cannot_resolve() -> None:
    """Direct, a name that does not resolve is left to the resolver Twisted dials through;
    behind a proxy that resolver never sees it, so the guard refuses it (None)."""
    unknown = "http://no-such-host.invalid/"
    assert asyncio.run(_guard()._dialable(unknown)) is True
    assert asyncio.run(_guard()._dialable(unknown, proxied=True)) is None
    assert asyncio.run(_guard()._dialable("http://localhost:8080/", proxied=True)) is False
