"""pywb, installed in a venv of its own (``.venv-pywb``, see ``testkit/pywb.py``), against a real
crawl of two sites: its indexer writes the lines our indexes hold, and its ``wayback`` replays
every archived article from our indexes, following docs/pywb.md's steps as written there."""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from archive import keys
from archive.cdxj import cdx_timestamp
from archive.local import LocalStorage
from archive.warc import HttpExchange, WarcFile
from testkit.pywb import PywbError, Wayback, ensure_pywb, installed_pywb
from tests.crawlrun import REPO, Archive, read_records, warc_keys, write_config
from tests.fixtureweb import FixtureWeb
from tests.test_crawl import crawl

PYWB_VENV = REPO / ".venv-pywb"
DOC = REPO / "docs" / "pywb.md"
# the doc's shell blocks that this test runs, each right below this marker
_RUN_MARK = "<!-- run by tests/test_pywb.py -->"
_BLOCK_RE = re.compile(re.escape(_RUN_MARK) + r"\n```sh\n(.*?)```", re.S)
SITES = ("dailyplanet", "partner")


@pytest.fixture(scope="session")
def pywb_bin() -> Path:
    try:
        return installed_pywb(PYWB_VENV)
    except PywbError as exc:  # a failure, never a skip: this check must run in CI
        pytest.fail(str(exc), pytrace=False)


@dataclass
class Crawled:
    web: FixtureWeb
    root: Path  # the archive's root directory
    storage: LocalStorage


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    """One crawl of both fixture sites into a local archive; the tests only read it."""
    tmp = tmp_path_factory.mktemp("pywb-crawl")
    root = tmp / "archive"
    archive = Archive(str(root), LocalStorage(root), {})
    with FixtureWeb() as web:
        crawl(write_config(tmp / "news.toml", web, archive, tmp / "spool", sites=SITES), archive)
        yield Crawled(web, root, archive.storage)


def _parsed(lines: list[str]) -> list[tuple[str, str, dict[str, str]]]:
    parsed = []
    for line in lines:
        urlkey, timestamp, blob = line.split(" ", 2)
        parsed.append((urlkey, timestamp, json.loads(blob)))
    return parsed


def pywb_index(bin_dir: Path, root: Path, warc_key: str) -> list[str]:
    """pywb's own CDXJ of one WARC, filenames relative to the archive root."""
    result = subprocess.run(
        [str(bin_dir / "cdx-indexer"), "--cdxj", "--sort", "--dir-root", str(root),
         str(root / warc_key)], capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.splitlines()


def test_our_index_lines_are_the_ones_pywb_writes(crawled: Crawled, pywb_bin: Path) -> None:
    warcs = warc_keys(crawled.storage)
    assert {keys.parse_data_key(key)["site"] for key in warcs} == set(SITES)
    for warc in warcs:
        ours = crawled.storage.get_bytes(keys.cdxj_key_for(warc)).decode().splitlines()
        theirs = pywb_index(pywb_bin, crawled.root, warc)
        assert len(ours) > 3
        # field by field: key, timestamp, url, mime, status, digest, length, offset, filename
        assert _parsed(ours) == _parsed(theirs), warc


def _doc_blocks() -> list[str]:
    blocks = _BLOCK_RE.findall(DOC.read_text())
    assert len(blocks) >= 3, f"{DOC} lost the shell blocks this test runs"
    return blocks


def _follow_the_doc(home: Path, archive_root: Path, pywb_bin: Path) -> Path:
    """Run docs/pywb.md's marked steps with ``~`` at ``home``; the ``~/wayback`` they make."""
    home.mkdir()
    (home / "pywb-venv").symlink_to(pywb_bin.parent)  # the doc's venv is the one installed
    env = {**os.environ, "HOME": str(home), "ARCHIVE": str(archive_root)}
    for block in _doc_blocks():
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=home, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{block}\n{result.stdout}{result.stderr}"
    return home / "wayback"


def _add_old_style_index(root: Path, tmp: Path, site: str, url: str, body: bytes) -> None:
    """A WARC and its index as earlier versions wrote them (``<crawl>-00000.cdxj``,
    ``sha1:`` digests, lower-cased mime), as year-old archives hold them."""
    key = keys.raw_key("2025-11-20", site, "20251120T060000Z-0ld000", 0)
    path = root / key
    path.parent.mkdir(parents=True)
    warc = WarcFile(path, key, "old", index_path=tmp / f"{site}.cdxj")
    warc.write_exchange(HttpExchange(
        url=url, method="GET", request_headers=[], request_body=b"", status=200,
        response_headers=[(b"Content-Type", b"Text/HTML")], body=body,
        warc_date="2025-11-20T06:00:01Z"))
    warc.close()
    lines = []
    for line in warc.index_lines():
        urlkey, timestamp, blob = line.split(" ", 2)
        fields = json.loads(blob)
        fields.update(digest="sha1:" + fields["digest"], mime=fields["mime"].lower())
        lines.append(f"{urlkey} {timestamp} {json.dumps(fields)}\n")
    (path.parent / "20251120T060000Z-0ld000-00000.cdxj").write_text("".join(lines))


def _replayed(wayback: Wayback, timestamp: str, url: str) -> str:
    """The body pywb replays for ``url`` as archived (``id_``: no rewriting)."""
    try:
        with urllib.request.urlopen(f"{wayback.base_url}/news/{timestamp}id_/{url}",
                                    timeout=30) as response:
            body = response.read()
            if response.headers.get("Content-Encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"pywb answered {exc.code} for {url}:\n{wayback.log_tail()}"
                             ) from None
    return html.unescape(body.decode("utf-8", "replace"))


def test_pywb_replays_every_article_of_both_sites_from_our_indexes(
        crawled: Crawled, pywb_bin: Path, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    # a copy: the old-style files added below stay out of the other test's archive
    shutil.copytree(crawled.root, root)
    old = {site: (f"http://old-{site}.example/2025/11/20/story",
                  f"<html><body><p>Archived by an earlier version for {site}</p></body></html>")
           for site in SITES}
    for site, (url, body) in old.items():
        _add_old_style_index(root, tmp_path, site, url, body.encode())
    wayback_dir = _follow_the_doc(tmp_path / "home", root, pywb_bin)
    # our indexes went in under their own names: unique across the sites of one crawl
    indexes = wayback_dir / "collections" / "news" / "indexes"
    ours = [info.key for info in crawled.storage.list("raw/") if info.key.endswith(".cdxj")]
    assert len(ours) >= len(SITES)
    for key in ours:
        assert (indexes / key.rsplit("/", 1)[-1]).resolve() == (root / key).resolve(), key

    records = read_records(crawled.storage)
    by_canonical = {r["canonical_url"]: r for r in records}
    assert {r["site"] for r in records} == set(SITES)
    with Wayback(pywb_bin, wayback_dir) as wayback:
        for article in crawled.web.articles:
            fetched_at = by_canonical[article.canonical_url]["fetched_at"]
            body = _replayed(wayback, cdx_timestamp(fetched_at), article.url)
            assert article.title in body and article.paragraphs[0] in body, article.url
        for url, text in old.values():
            assert _replayed(wayback, "20251120060001", url) == text


def test_a_failed_install_is_an_error_saying_what_failed(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(PywbError, match="creating the venv"):
        ensure_pywb(tmp_path / "a-file" / "venv")  # no venv can be made inside a file
