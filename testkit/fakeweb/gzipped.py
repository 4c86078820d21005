"""Gzip content-encoding, as news sites send pages to clients that accept it.

``encode`` compresses a whole body per request. ``SplicedPage`` serves many pages that differ
only in one inserted sentence without compressing each: see ``SplicedPage.gzip_parts``.
"""

from __future__ import annotations

import dataclasses
import gzip
import struct
import zlib
from dataclasses import dataclass
from functools import cached_property

from testkit.fakeweb.response import Response

ENCODING_HEADERS = (("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding"))
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no mtime


def accepts_gzip(accept_encoding: str) -> bool:
    return "gzip" in accept_encoding.lower()


def encode(response: Response) -> Response:
    """``response`` gzip-encoded; mtime=0 keeps the bytes (and so the ETag) stable."""
    return dataclasses.replace(response, body=gzip.compress(response.body, mtime=0),
                               headers=(*response.headers, *ENCODING_HEADERS))


def _deflated(data: bytes, final: bool) -> bytes:
    """Raw deflate data of ``data``: ending the stream, or a full flush that later data can
    follow from another compressor (it starts with an empty dictionary either way)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final
                                                        else zlib.Z_FULL_FLUSH)


@dataclass(frozen=True)
class SplicedPage:
    """A page split where a sentence goes: ``head + sentence + tail``."""

    name: str
    head: bytes
    tail: bytes

    def render(self, sentence: str) -> bytes:
        return self.head + sentence.encode() + self.tail

    @cached_property
    def gzip_parts(self) -> tuple[bytes, bytes, int]:
        """``head`` and ``tail`` deflated once each, and the CRC-32 of ``head``. A page goes out
        as one gzip member: header, head's deflate data ending in a full flush (byte-aligned,
        no back-references across it), the sentence's, tail's with the final block, trailer.
        So gzip costs the server a CRC per request, and every reader (warcio too, which reads
        only a body's first gzip member) sees an ordinary single-member body."""
        return _deflated(self.head, final=False), _deflated(self.tail, final=True), \
            zlib.crc32(self.head)

    def render_gzip(self, sentence: str) -> bytes:
        head, tail, crc = self.gzip_parts
        text = sentence.encode()
        crc = zlib.crc32(self.tail, zlib.crc32(text, crc))
        size = len(self.head) + len(text) + len(self.tail)
        return (_GZIP_HEADER + head + _deflated(text, final=False) + tail
                + struct.pack("<II", crc, size & 0xFFFFFFFF))
