"""The decode stage of the load pipeline: a gzip document as text, in bounded memory.

Memory holds the compressed document and one chunk of decompressed text, never the whole text: a
1M-row orders report is read in about 30 chunks (load/pipeline.py then firewalls and parses each).
Chunks end on a line break (byte 0x0A never occurs inside a UTF-8, Cp1252 or Shift_JIS character);
each chunk is decoded on its own, and one that does not decode in the document's charset is read as
Cp1252 with replacement characters, so a mislabelled document never loses its partition.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator

from orchestration.extract.gzip_stream import inflate
from orchestration.extract.reports import ReportDocument

CHUNK_BYTES = 8 << 20  # decompressed bytes per chunk


def decode_bytes(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        # Amazon labels some EU documents UTF-8 while sending Cp1252; never lose the partition over it.
        return raw.decode("cp1252", errors="replace")


def decode(document: ReportDocument) -> str:
    """A whole (small, JSON) document as text."""
    return decode_bytes(gzip.decompress(document.compressed), document.charset)


def text_chunks(compressed: bytes, charset: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """The document's text, a chunk of whole lines at a time."""
    carry = b""
    for block in inflate(compressed, max(1, chunk_bytes // 8)):
        block = carry + block if carry else block
        cut = block.rfind(b"\n")
        if cut < 0:
            carry = block
            continue
        carry = block[cut + 1 :]
        yield decode_bytes(block[: cut + 1], charset)
    if carry:
        yield decode_bytes(carry, charset)


def text_lines(text: str) -> list[str]:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")
