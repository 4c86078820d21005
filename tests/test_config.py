"""Config validation: what a user typing a config file would hit."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from archive.config import ConfigError, parse_config
from newsarchive.cli import build_parser
from tests.crawlrun import run_cli

GOOD = """
[archive]
uri = "s3://bucket/prefix"
endpoint_url = "http://127.0.0.1:8333"

[crawl]
user_agent = "bot (+https://example.org/bot)"
max_pages_per_site = 50

[[sites]]
name = "morningstar"
start_urls = ["https://example.org/"]
article_urls = ['/\\d{4}/\\d{2}/']
schedule = "*/30 * * * *"
"""


def test_good_config_is_typed_and_defaults_apply() -> None:
    config = parse_config(GOOD, "x.toml")
    assert config.archive.uri == "s3://bucket/prefix"
    assert config.crawl.obey_robots is True
    assert config.crawl.allow_private_networks is False
    assert config.crawl.max_pages_per_site == 50
    site = config.sites[0]
    assert site.domains == ("example.org",)
    assert site.article_urls[0].search("https://example.org/2026/11/x")
    assert config.crawl.allowed_networks == ()


def test_allowed_networks_are_parsed_networks() -> None:
    config = parse_config('[crawl]\nallowed_networks = ["10.1.2.0/24", " 127.0.0.2", '
                          '"fd00::/8"]\n', "x.toml")
    assert [str(n) for n in config.crawl.allowed_networks] == [
        "10.1.2.0/24", "127.0.0.2/32", "fd00::/8"]
    # an IPv4-mapped entry is the IPv4 network it maps (the guard compares addresses as IPv4)
    mapped = parse_config('[crawl]\nallowed_networks = ["::ffff:10.1.2.0/120"]\n', "x.toml")
    assert [str(n) for n in mapped.crawl.allowed_networks] == ["10.1.2.0/24"]
    with pytest.raises(ConfigError, match="carries IPv4 addresses"):
        parse_config('[crawl]\nallowed_networks = ["64:ff9b::a01:200/120"]\n', "x.toml")


def test_revisit_schedules_default_and_override_per_site() -> None:
    config = parse_config('[crawl]\nrevisit_hours = [2, 12.5]\n[[sites]]\nname = "a"\n'
                          'start_urls = ["https://a.org/"]\nrevisit_hours = []\n'
                          '[[sites]]\nname = "b"\nstart_urls = ["https://b.org/"]\n', "x.toml")
    assert config.crawl.revisit_hours == (2.0, 12.5)
    assert config.crawl.retry_gone_hours == (24.0, 168.0, 720.0)
    assert config.site("a").revisit_hours == () and config.site("b").revisit_hours is None


@pytest.mark.parametrize(("text", "field", "problem"), [
    ('[crawl]\nrevisit_hours = [6, 1]\n', "crawl.revisit_hours[1]", "must increase"),
    ('[crawl]\nretry_gone_hours = []\n', "crawl.retry_gone_hours", "at least one"),
    ('[crawl]\nobey_robot = false\n', "crawl.obey_robot", "unknown key"),
    ('[crawl]\nobey_robots = "no"\n', "crawl.obey_robots", "expected true or false"),
    ('[crawl]\nmax_pages_per_site = 0\n', "crawl.max_pages_per_site", "between"),
    ('[crawl]\ntimezone = "Mars/Olympus"\n', "crawl.timezone", "unknown time zone"),
    ('[[sites]]\nname = "Bad Name"\nstart_urls = ["https://a.org/"]\n', "sites[0].name",
     "must match"),
    ('[[sites]]\nname = "a"\nstart_urls = ["ftp://a.org/"]\n', "start_urls[0]", "http(s) URL"),
    ('[[sites]]\nname = "a"\n', "start_urls", "at least one of"),
    ('[[sites]]\nname = "a"\nstart_urls = ["https://a.org/"]\narticle_urls = ["("]\n',
     "article_urls[0]", "invalid regular expression"),
    ('[[sites]]\nname = "a"\nstart_urls = ["https://a.org/"]\nschedule = "often"\n',
     "schedule", "cron"),
    ('[[sites]]\nname = "a"\nstart_urls = ["https://a.org/"]\n'
     '[[sites]]\nname = "a"\nstart_urls = ["https://b.org/"]\n', "sites", "duplicate"),
    ('[archive]\nuri = "ftp://x/y"\n', "archive.uri", "unsupported scheme"),
    ('[archive]\nuri = "s3://bad_bucket/x"\n', "archive.uri", "invalid S3 bucket name"),
    ('[archive]\nuri = "s3://bucket/../x"\n', "archive.uri", "invalid object key"),
    ('[archive]\nendpoint_url = "http://u:pw@127.0.0.1:8333"\n', "archive.endpoint_url",
     "user name or password"),
    ("[archive\n", "", "not valid TOML"),
    ('[crawl]\nallowed_networks = ["10.1.2.0/24", "10.1.2.5/24"]\n',
     "crawl.allowed_networks[1]", "10.1.2.5/24 has host bits set"),
    ('[crawl]\nallowed_networks = ["intranet"]\n', "crawl.allowed_networks[0]",
     "'intranet' does not appear to be an IPv4 or IPv6 network"),
    ('[crawl]\nallowed_networks = "10.0.0.0/8"\n', "crawl.allowed_networks", "expected a list"),
])
def test_bad_config_names_file_field_and_problem(text: str, field: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "conf/news.toml")
    message = str(info.value)
    assert message.startswith("conf/news.toml: ")
    assert field in message and problem in message
    assert "\n" not in message


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsarchive", *args], cwd=cwd,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=60)


def test_cli_rejects_bad_config_with_exit_2_and_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "news.toml"
    bad.write_text('[crawl]\nallow_private_network = true\n')
    result = _cli("crawl", "--config", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(bad) in lines[0] and "crawl.allow_private_network" in lines[0]
    assert "unknown key" in lines[0]


def test_cli_missing_config_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    result = _cli("crawl", "--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert result.returncode == 2 and "nope.toml: file not found" in result.stderr
    result = _cli("dump", "--date", "2026-13-45", cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    good = tmp_path / "ok.toml"
    good.write_text('[[sites]]\nname = "a"\nstart_urls = ["https://a.org/"]\n')
    result = _cli("crawl", "--config", str(good), "--site", "b", cwd=tmp_path)
    assert result.returncode == 2 and "no site named 'b'" in result.stderr


def test_credentials_in_uris_are_refused_and_never_echoed(tmp_path: Path) -> None:
    good = tmp_path / "ok.toml"
    good.write_text('[[sites]]\nname = "a"\nstart_urls = ["https://user:hunter2@a.org/"]\n')
    result = _cli("crawl", "--config", str(good), cwd=tmp_path)
    assert result.returncode == 2 and "hunter2" not in result.stderr
    assert "user name or password" in result.stderr
    good.write_text('[[sites]]\nname = "a"\nstart_urls = ["https://a.org/"]\n')
    for uri in ("s3://AKIAX:s3cr3t@bucket/p", "ftp://x/y", "s3://bad_bucket"):
        result = _cli("ls", "--config", str(good), "--archive", uri, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "s3cr3t" not in result.stderr and "Traceback" not in result.stderr


def test_the_default_store_is_data_beside_the_config(tmp_path: Path) -> None:
    """CONTRACT §1/§3: ./data by default, a relative uri relative to the config's folder, so
    a cron job started anywhere writes where the config says (--archive stays relative to the
    current directory, as a command-line path)."""
    site = '[[sites]]\nname = "a"\nstart_urls = ["https://a.org/"]\n'
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "default.toml").write_text(site)
    (tmp_path / "etc" / "relative.toml").write_text('[archive]\nuri = "../store"\n' + site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name, expected in (("default.toml", tmp_path / "etc" / "data"),
                           ("relative.toml", tmp_path / "store")):
        result = _cli("ls", "--config", str(tmp_path / "etc" / name), cwd=elsewhere)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[0] == f"archive: {expected}"
    result = _cli("ls", "--config", str(tmp_path / "etc" / "default.toml"), "--archive",
                  "mine", cwd=elsewhere)
    assert result.stdout.splitlines()[0] == f"archive: {elsewhere / 'mine'}"


def test_common_options_go_before_or_after_the_command(tmp_path: Path) -> None:
    config = tmp_path / "news.toml"
    config.write_text('[[sites]]\nname = "a"\nstart_urls = ["https://a.org/"]\n')
    before = _cli("--config", str(config), "--archive", "x", "ls", cwd=tmp_path)
    after = _cli("ls", "--config", str(config), "--archive", "x", cwd=tmp_path)
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert before.stdout == after.stdout == f"archive: {tmp_path / 'x'}\nno records\n"


def test_data_left_in_the_old_default_store_gets_one_warning(tmp_path: Path) -> None:
    """./archive was the default until 2026-12: its data is neither read nor touched, and
    each command says so in one line; a config that names ./archive is not warned."""
    site = '[[sites]]\nname = "a"\nstart_urls = ["https://a.org/"]\n'
    (tmp_path / "archive" / "records").mkdir(parents=True)
    (tmp_path / "archive" / "raw").mkdir()
    (tmp_path / "new.toml").write_text(site)
    # run from elsewhere, as cron does (`python -m` in the folder itself would put its
    # archive/ on the import path, ahead of an editable install's package of that name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _cli("ls", "--config", str(tmp_path / "new.toml"), cwd=elsewhere)
    assert result.returncode == 0
    [warning] = result.stderr.strip().splitlines()
    assert "raw, records" in warning and str(tmp_path / "data") in warning
    assert sorted(p.name for p in (tmp_path / "archive").iterdir()) == ["raw", "records"]
    assert not (tmp_path / "data").exists()
    (tmp_path / "old.toml").write_text('[archive]\nuri = "./archive"\n' + site)
    result = _cli("ls", "--config", str(tmp_path / "old.toml"), cwd=elsewhere)
    assert result.returncode == 0 and result.stderr == ""


def test_ls_with_unreachable_storage_fails_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "news.toml"
    config.write_text(f'[archive]\nuri = "s3://news-bucket/archive"\n'
                      f'endpoint_url = "http://127.0.0.1:{port}"\n'
                      "s3_max_attempts = 1\ns3_connect_timeout = 1\n"
                      '[[sites]]\nname = "a"\nstart_urls = ["https://a.org/"]\n')
    result = _cli("ls", "--config", str(config), cwd=tmp_path,
                  env={"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("newsarchive ls: failed:") and "Traceback" not in result.stderr


def test_every_option_has_help_and_the_common_ones_show_at_the_top() -> None:
    parser = build_parser()
    top = parser.format_help()
    assert "--config" in top and "--archive" in top
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        for action in command._actions:
            assert action.help, f"newsarchive {name} {action.option_strings} has no help text"


@pytest.mark.parametrize(("config", "args", "problem"), [
    ('[[sites]]\nname = "a"\nstart_urls = ["https://a.org/"]\n', ["-a", "site=nosuch"],
     "sites: no site named 'nosuch'"),
    ('[crawl]\nmax_pages_per_site = "many"\n', [], "crawl.max_pages_per_site: expected"),
    (None, [], "file not found"),
])
def test_scrapy_crawl_rejects_a_bad_config_or_site_in_one_line(
        tmp_path: Path, config: str | None, args: list[str], problem: str) -> None:
    """`scrapy crawl news` (from the project directory, as scrapy.cfg wants) says what is
    wrong as `newsarchive` does: one line naming the file and the field, exit 2, no traceback,
    and nothing fetched or written."""
    path = tmp_path / "news.toml"
    if config is not None:
        path.write_text(f'[archive]\nuri = "{tmp_path / "archive"}"\n{config}')
    result = run_cli("crawl", "news", "-s", f"NEWSARCHIVE_CONFIG={path}", *args,
                     module="scrapy.cmdline", timeout=60)
    assert result.returncode == 2, result.stderr[-2000:]
    [line] = result.stderr.splitlines()
    assert line.startswith(f"scrapy crawl: {path}: {problem}"), line
    assert not (tmp_path / "archive").exists()


def test_cluster_section_is_typed_and_optional() -> None:
    assert parse_config(GOOD, "x.toml").cluster is None
    config = parse_config(GOOD + '[cluster]\nbroker_url = "rediss://:pw@queue.example:6380/2"\n',
                          "x.toml")
    assert config.cluster is not None
    assert config.cluster.broker_url == "rediss://:pw@queue.example:6380/2"
    assert config.cluster.masked_url == "rediss://:***@queue.example:6380/2"
    assert config.cluster.run_timeout is None  # derived from [crawl] by cluster/timing.py


@pytest.mark.parametrize("url, problem", [
    ("http://:hunter2@queue:6379/0", "expected a redis:// or rediss:// URL"),
    ("redis://:hunter2@/0", "no host"),
    ("redis://:hunter2@queue:6379/zero", "the database is a number"),
    ("redis://:hunter2@queue:port/0", "the port is not a number"),
])
def test_bad_broker_url_is_named_without_its_password(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(GOOD + f'[cluster]\nbroker_url = "{url}"\n', "x.toml")
    message = str(caught.value)
    assert message.startswith("x.toml: cluster.broker_url: ") and problem in message
    assert "hunter2" not in message


def test_cluster_unknown_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="cluster.brokerurl: unknown key"):
        parse_config(GOOD + '[cluster]\nbroker_url = "redis://q/0"\nbrokerurl = "x"\n', "x.toml")
