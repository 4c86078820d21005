"""WARC files: readable by warcio, digests present, pointers land on the right record."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archive.warc import HttpExchange, WarcFile


def _exchange(url: str, body: bytes, headers=None) -> HttpExchange:
    return HttpExchange(
        url=url, method="GET",
        request_headers=[(b"User-Agent", b"test"), (b"Authorization", b"Basic c2VjcmV0")],
        request_body=b"", status=200,
        response_headers=headers or [(b"Content-Type", b"text/html; charset=utf-8")],
        body=body, warc_date="2026-11-25T10:00:00.123456Z")


def test_records_read_back_with_warcio(tmp_path: Path) -> None:
    path = tmp_path / "x.warc.gz"
    warc = WarcFile(path, "raw/date=2026-11-25/site=a/c-00000.warc.gz", "newsarchive/test")
    pointers = [warc.write_exchange(_exchange(f"https://n.example/{i}", f"<p>{i}</p>".encode()))
                for i in range(3)]
    warc.close()
    with open(path, "rb") as fh:
        records = list(ArchiveIterator(fh))
    kinds = [r.rec_type for r in records]
    assert kinds == ["warcinfo"] + ["response", "request"] * 3
    assert records[0].rec_headers.protocol == "WARC/1.1"
    for record in records[1:]:
        assert record.rec_headers.get_header("WARC-Payload-Digest", "").startswith("sha1:")
        assert record.rec_headers.get_header("WARC-Block-Digest", "").startswith("sha1:")
    # the request carries no credentials, and is tied to its response
    requests = [r for r in records if r.rec_type == "request"]
    assert all(r.http_headers.get_header("Authorization") is None for r in requests)
    responses = [r for r in records if r.rec_type == "response"]
    assert requests[0].rec_headers.get_header("WARC-Concurrent-To") == \
        responses[0].rec_headers.get_header("WARC-Record-ID")
    # every pointer is one gzip member holding exactly that response
    data = path.read_bytes()
    for i, pointer in enumerate(pointers):
        member = data[pointer.offset:pointer.offset + pointer.length]
        record = next(iter(ArchiveIterator(io.BytesIO(member))))
        assert record.rec_headers.get_header("WARC-Target-URI") == f"https://n.example/{i}"
        assert record.content_stream().read() == f"<p>{i}</p>".encode()


def test_content_encoded_body_is_stored_as_received_and_readable(tmp_path: Path) -> None:
    path = tmp_path / "y.warc.gz"
    warc = WarcFile(path, "raw/date=2026-11-25/site=a/c-00000.warc.gz", "t")
    raw = gzip.compress(b"<html>hello</html>")
    warc.write_exchange(_exchange("https://n.example/z", raw, [
        (b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip"),
        (b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"999")]))
    warc.close()
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "request":
                assert record.http_headers.protocol == "GET"
                assert record.http_headers.statusline == "/z HTTP/1.1"
            if record.rec_type != "response":
                continue
            headers = record.http_headers
            # the body is stored de-chunked: the framing headers are kept but disarmed, the
            # Content-Length sent beside Transfer-Encoding too (it was not the framing), and
            # no length is made up
            assert headers.headers == [
                ("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
                ("X-Archive-Orig-Transfer-Encoding", "chunked"),
                ("X-Archive-Orig-Content-Length", "999")]
            # the bytes as received, which warcio decodes by their Content-Encoding
            assert record.content_stream().read() == b"<html>hello</html>"


def test_compressed_payload_is_not_compressed_again(tmp_path: Path) -> None:
    """A gzip-encoded body goes into its record's member as is (stored blocks): recompressing
    it would cost CPU for nothing. The member stays a gzip member any reader takes."""
    path = tmp_path / "z.warc.gz"
    warc = WarcFile(path, "raw/date=2026-11-25/site=a/c-00000.warc.gz", "t")
    page = b"<html><body>" + b"".join(b"<p>paragraph %d of the story</p>" % i
                                      for i in range(2000)) + b"</body></html>"
    raw = gzip.compress(page)
    pointer = warc.write_exchange(_exchange("https://n.example/gz", raw, [
        (b"Content-Type", b"text/html"), (b"Content-Encoding", b"gzip")]))
    plain = warc.write_exchange(_exchange("https://n.example/plain", page))
    # a bogus coding on a plain body ("none", a charset name) is no reason to store it as is
    bogus = warc.write_exchange(_exchange("https://n.example/bogus", page, [
        (b"Content-Type", b"text/html"), (b"Content-Encoding", b"none")]))
    warc.close()
    assert bogus.length < len(page) / 5
    data = path.read_bytes()
    assert raw in data[pointer.offset:pointer.offset + pointer.length]
    assert plain.length < len(page) / 5  # an identity body is compressed
    member = data[pointer.offset:pointer.offset + pointer.length]
    record = next(iter(ArchiveIterator(io.BytesIO(member))))
    assert record.content_stream().read() == page
