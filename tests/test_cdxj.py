"""CDXJ indexes beside the WARC files: SURT keys, sorted lines, one line per response, lookups
through the index (and ``run_replay_url``) on a real crawl of the fixture web, both backends."""

from __future__ import annotations

import gzip
import html
import io
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive import keys
from archive.cdxj import CdxjEntry, surt
from archive.config import load_config
from archive.local import LocalStorage
from archive.session import ArchiveSession
from archive.spool import Spool
from archive.storage import Storage
from archive.url_lookup import find_captures, latest_capture, read_response
from archive.warc import HttpExchange, WarcFile
from newsarchive.cmd_replay_url import run_replay_url
from tests import test_crawl
from tests.crawlrun import Archive, warc_keys, warc_responses, write_config
from tests.fixtureweb import FixtureWeb

# the crawl fixtures of the end-to-end tests, reused as they are
web = test_crawl.web
local_archive = test_crawl.local_archive
s3_archive = test_crawl.s3_archive
archive = test_crawl.archive


# -- SURT ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "key"), [
    ("http://www.Example.org/Path?b=2&a=1#frag", "org,example)/path?a=1&b=2"),
    ("https://example.org", "org,example)/"),
    ("https://example.org:443/", "org,example)/"),
    ("http://example.org:80/a", "org,example)/a"),
    ("http://example.org:8080/a/", "org,example:8080)/a"),
    ("https://example.org:80/a", "org,example:80)/a"),
    ("http://archive.org/goo/?a=2&b&a=1", "org,archive)/goo?a=1&a=2&b"),  # the surt README's
    ("http://www2.news.example.co.uk/x", "uk,co,example,news)/x"),
    ("http://user:secret@example.org/", "org,example)/"),
    ("http://127.0.0.1:8123/story", "1,0,0,127:8123)/story"),
    ("http://[::1]:8080/a", "[::1]:8080)/a"),
    ("https://example.org/a%7Eb/./c/../d", "org,example)/a~b/d"),
    ("https://example.org//a//b", "org,example)/a/b"),
    ("https://example.org/a?", "org,example)/a"),
    ("https://example.org/a?x=1&&a-b=2&a=3", "org,example)/a?a=3&a-b=2&x=1"),
    ("https://example.org/a b", "org,example)/a%20b"),
    ("https://bücher.example/é", "example,xn--bcher-kva)/%c3%a9"),
    ("example.org/no-scheme", "org,example)/no-scheme"),
])
def test_surt(url: str, key: str) -> None:
    assert surt(url) == key


def test_surt_rejects_what_cannot_be_parsed() -> None:
    for bad in ("http://example.org:notaport/", "http://[::1/"):
        with pytest.raises(ValueError):
            surt(bad)


def test_cdxj_key_sits_beside_its_warc_under_a_name_no_other_index_has() -> None:
    warc = keys.raw_key("2026-11-25", "morningstar", "20261125T100000Z-abc123", 3)
    assert keys.cdxj_key_for(warc) == ("raw/date=2026-11-25/site=morningstar/"
                                       "20261125T100000Z-abc123-00003.morningstar.2026-11-25.cdxj")
    # pywb reads a collection's indexes from one flat directory: one crawl's WARC names repeat
    # across sites and days (and "_" may be in a site name or a crawl id), index names do not
    warcs = [keys.raw_key(day, site, crawl, 0) for day in ("2026-11-25", "2026-11-26")
             for site, crawl in (("a", "b_c"), ("a_b", "c"), ("b", "b_c"))]
    assert len({w.rsplit("/", 1)[-1] for w in warcs}) < len(warcs)
    names = {keys.cdxj_key_for(w).rsplit("/", 1)[-1] for w in warcs}
    assert len(names) == len(warcs)
    assert all(keys.index_day(keys.cdxj_key_for(w)) == w[9:19] for w in warcs)
    for not_raw in ("records/date=2026-11-25/site=a/c-00000.jsonl.gz", "raw/x.warc.gz"):
        with pytest.raises(keys.InvalidName):
            keys.cdxj_key_for(not_raw)


# -- the writer --------------------------------------------------------------------------------
HTML = [(b"Content-Type", b"text/html; charset=utf-8")]


def _exchange(url: str, body: bytes, status: int = 200, headers=HTML,
              when: str = "2026-11-25T10:00:00.123456Z") -> HttpExchange:
    return HttpExchange(url=url, method="GET", request_headers=[(b"User-Agent", b"t")],
                        request_body=b"", status=status, response_headers=headers, body=body,
                        warc_date=when)


def test_warc_file_writes_its_sorted_index_at_close(tmp_path: Path) -> None:
    key = "raw/date=2026-11-25/site=a/c-00000.warc.gz"
    warc = WarcFile(tmp_path / "x.warc.gz", key, "t", index_path=tmp_path / "x.cdxj")
    pointers = {
        "https://www.example.org/z": warc.write_exchange(_exchange("https://www.example.org/z",
                                                                   b"<p>z</p>")),
        "https://example.org/a?b=1&a=2": warc.write_exchange(
            _exchange("https://example.org/a?b=1&a=2", gzip.compress(b"<p>a</p>"), headers=[
                (b"Content-Type", b"Text/HTML"), (b"Content-Encoding", b"gzip")])),
        "https://example.org/missing": warc.write_exchange(
            _exchange("https://example.org/missing", b"", status=404, headers=[])),
    }
    assert not (tmp_path / "x.cdxj").exists(), "written at close, not before"
    warc.close()
    lines = (tmp_path / "x.cdxj").read_text().splitlines()
    assert lines == sorted(lines) == warc.index_lines() and len(lines) == 3
    assert lines[0].startswith("org,example)/a?a=2&b=1 20261125100000 {")
    entries = {e.url: e for e in map(CdxjEntry.from_line, lines)}
    for url, pointer in pointers.items():
        entry = entries[url]
        assert (entry.filename, entry.offset, entry.length) == \
            (pointer.filename, pointer.offset, pointer.length)
        assert entry.urlkey == surt(url) and entry.timestamp == "20261125100000"
    # pywb's indexer keeps the server's case (tests/test_pywb.py compares with it)
    assert entries["https://example.org/a?b=1&a=2"].mime == "Text/HTML"
    assert (entries["https://example.org/missing"].status,
            entries["https://example.org/missing"].mime) == (404, "unk")
    with open(tmp_path / "x.warc.gz", "rb") as fh:
        digests = [r.rec_headers.get_header("WARC-Payload-Digest") for r in ArchiveIterator(fh)
                   if r.rec_type == "response"]
    # bare base32, as pywb's indexer writes it
    assert sorted(d.removeprefix("sha1:") for d in digests) == \
        sorted(e.digest for e in entries.values())


class _RecordingStorage(LocalStorage):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.stored: list[str] = []

    def put_file(self, key: str, path: Path) -> None:
        super().put_file(key, path)
        self.stored.append(key)


def test_each_index_is_stored_right_after_its_warc(tmp_path: Path) -> None:
    storage = _RecordingStorage(tmp_path / "archive")
    session = ArchiveSession(storage, Spool(tmp_path / "spool", "test"), "c1", "t",
                             roll_bytes=2000)
    for i in range(6):
        for site in ("a", "b"):
            pointer = session.write_exchange(site, "2026-11-25", _exchange(
                f"https://{site}.example/{i}", b"x" * 500))
            session.write_record(site, "2026-11-25", {"warc_filename": pointer.filename})
    session.commit_all()
    assert session.finish(30) == 0
    stored = storage.stored
    warcs = [k for k in stored if k.endswith(".warc.gz")]
    assert len(warcs) > 2
    for warc in warcs:
        assert stored[stored.index(warc) + 1] == keys.cdxj_key_for(warc)
    assert sum(k.endswith(".cdxj") for k in stored) == len(warcs)
    assert set(session.sites["a"].files) >= {keys.cdxj_key_for(w) for w in warcs if "site=a" in w}


# -- lookups on a hand-made archive ----------------------------------------------------------------
def _store_warc(storage: Storage, tmp_path: Path, day: str, seq: int,
                exchanges: list[HttpExchange]) -> None:
    key = keys.raw_key(day, "a", "c1", seq)
    warc = WarcFile(tmp_path / f"{seq}.warc.gz", key, "t", index_path=tmp_path / f"{seq}.cdxj")
    for exchange in exchanges:
        warc.write_exchange(exchange)
    warc.close()
    storage.put_file(key, warc.path)
    storage.put_file(keys.cdxj_key_for(key), tmp_path / f"{seq}.cdxj")


def test_lookups_read_indexes_of_earlier_versions_too(tmp_path: Path) -> None:
    """A year-old archive holds indexes named ``<crawl_id>-<nnnnn>.cdxj`` with ``sha1:``
    digests: read like the new ones, side by side with them."""
    root = tmp_path / "archive"
    storage = LocalStorage(root)
    _store_warc(storage, tmp_path, "2025-11-25", 0, [
        _exchange("https://example.org/story", b"last year", when="2025-11-25T08:00:00Z")])
    new_key = keys.cdxj_key_for(keys.raw_key("2025-11-25", "a", "c1", 0))
    old_key = keys.raw_key("2025-11-25", "a", "c1", 0).replace(".warc.gz", ".cdxj")
    line = storage.get_bytes(new_key).decode()
    bare = CdxjEntry.from_line(line).digest
    assert not bare.startswith("sha1:")
    storage.put_bytes(old_key, line.replace(f'"{bare}"', f'"sha1:{bare}"').encode())
    storage.delete(new_key)
    _store_warc(storage, tmp_path, "2025-11-25", 1, [
        _exchange("https://example.org/story", b"later", when="2025-11-25T09:00:00Z")])
    captures = find_captures(storage, "https://example.org/story")
    assert captures[0].entry.digest == bare
    assert [read_response(storage, c).body for c in captures] == [b"last year", b"later"]


def test_lookup_picks_the_latest_capture_and_replay_decodes_the_body(
        tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    root = tmp_path / "archive"
    storage = LocalStorage(root)
    gz = [(b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip")]
    _store_warc(storage, tmp_path, "2026-11-24", 0, [
        _exchange("https://example.org/Story", gzip.compress(b"monday"), headers=gz,
                  when="2026-11-24T08:00:00Z")])
    _store_warc(storage, tmp_path, "2026-11-25", 1, [
        _exchange("https://example.org/Story", gzip.compress(b"tuesday"), headers=gz,
                  when="2026-11-25T08:00:00Z"),
        _exchange("https://www.example.org/story", b"variant", when="2026-11-25T09:00:00Z"),
        _exchange("https://example.org/gone", b"nope", status=404)])
    assert [c.entry.timestamp for c in find_captures(storage, "https://example.org/Story")] \
        == ["20261125080000", "20261125090000"]  # the newest day only; both SURT variants
    assert latest_capture(storage, "https://example.org/Story").entry.url == \
        "https://example.org/Story"  # the exact URL wins over the newer variant
    assert latest_capture(storage, "https://example.org/nowhere") is None
    assert read_response(storage, latest_capture(storage, "http://example.org/story")).body \
        == b"variant"

    config_path = tmp_path / "n.toml"
    config_path.write_text(f'[archive]\nuri = "{root}"\n')
    config = load_config(config_path)
    cases = [("https://example.org/Story", None, 0, b"tuesday"),
             ("https://example.org/Story", "2026-11-24", 0, b"monday"),
             ("https://example.org/gone", None, 0, b"nope"),
             ("https://example.org/gone", "2026-11-24", 1, b""),
             ("https://example.org/elsewhere", None, 1, b"")]
    for url, day, code, body in cases:
        assert run_replay_url(config, url, day) == code, (url, day)
        out = capsysbinary.readouterr()
        assert out.out == body
        if code:
            assert out.err.count(b"\n") == 1 and b"no capture of" in out.err
    assert run_replay_url(config, "http://example.org:bad/", None) == 2


# -- a real crawl, both backends -----------------------------------------------------------------
def _indexed_entries(storage: Storage) -> list[CdxjEntry]:
    """Check every WARC's index against the WARC itself; all the index entries."""
    warcs = warc_keys(storage)
    raw = [info.key for info in storage.list("raw/")]
    assert len(warcs) > 2, "the crawl should have rolled several WARC files"
    assert sorted(raw) == sorted(warcs + [keys.cdxj_key_for(k) for k in warcs])
    entries = []
    for key in warcs:
        lines = storage.get_bytes(keys.cdxj_key_for(key)).decode("utf-8").splitlines()
        assert lines and lines == sorted(lines)
        in_file = [CdxjEntry.from_line(line) for line in lines]
        order = [(e.urlkey, e.timestamp) for e in in_file]
        assert order == sorted(order)
        assert all(e.filename == key and e.urlkey == surt(e.url) for e in in_file)
        indexed = Counter((e.offset, e.length, e.url, e.status) for e in in_file)
        assert indexed == Counter(warc_responses(storage, key))
        assert max(indexed.values()) == 1, "every response indexed exactly once"
        entries += in_file
    return entries


def _read_indexed(storage: Storage, entry: CdxjEntry) -> tuple[int, str]:
    """(status, body text) of the record at the indexed place, read with warcio."""
    member = storage.read_range(entry.filename, entry.offset, entry.length)
    record = next(iter(ArchiveIterator(io.BytesIO(member))))
    assert record.rec_type == "response"
    assert record.rec_headers.get_header("WARC-Target-URI") == entry.url
    assert record.rec_headers.get_header("WARC-Payload-Digest") == "sha1:" + entry.digest
    body = record.content_stream().read().decode("utf-8", "replace")
    return int(record.http_headers.get_statuscode()), html.unescape(body)


def _check_lookups(storage: Storage, web: FixtureWeb, entries: list[CdxjEntry]) -> None:
    by_key: dict[str, list[CdxjEntry]] = defaultdict(list)
    for entry in entries:
        by_key[entry.urlkey].append(entry)
    for article in web.articles:
        found = [e for e in by_key[surt(article.url)] if e.url == article.url]
        assert found, article.url
        for entry in found:
            status, body = _read_indexed(storage, entry)
            assert status == entry.status == 200 and article.title in body
        capture = latest_capture(storage, article.url)
        response = read_response(storage, capture)
        assert response.status == 200 and article.title in html.unescape(response.body.decode())
    special = web.special_urls
    for name, status in (("not_found", 404), ("server_error", 500), ("redirect", 301)):
        found = [e for e in by_key[surt(special[name])] if e.url == special[name]]
        assert found  # more than one when retried: every attempt is archived and indexed
        for entry in found:
            assert _read_indexed(storage, entry)[0] == entry.status == status


def _check_replay(config_path: Path, web: FixtureWeb, archive: Archive, day: str,
                  monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[bytes]) -> None:
    for name, value in archive.env.items():
        monkeypatch.setenv(name, value)
    config = load_config(config_path)
    article = web.articles[-1]
    for when in (None, day):
        assert run_replay_url(config, article.url, when) == 0
        out = capsys.readouterr()
        assert article.title in html.unescape(out.out.decode()) and out.err == b""
    assert run_replay_url(config, web.base_url(0) + "/never/archived/", None) == 1
    err = capsys.readouterr().err.decode()
    assert err.count("\n") == 1 and "no capture of" in err


def test_crawl_indexes_every_response_and_lookups_read_them(
        web: FixtureWeb, archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    config = write_config(tmp_path / "news.toml", web, archive, tmp_path / "spool")
    # small files, so that several WARCs and indexes per site are rolled and stored in order
    config.write_text(config.read_text().replace("spool_dir", "roll_size_mb = 0.02\nspool_dir"))
    test_crawl.crawl(config, archive)
    entries = _indexed_entries(archive.storage)
    _check_lookups(archive.storage, web, entries)
    day = keys.parse_data_key(entries[0].filename)["date"]
    _check_replay(config, web, archive, day, monkeypatch, capsysbinary)
