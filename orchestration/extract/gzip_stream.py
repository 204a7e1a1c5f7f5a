"""Inflating a gzip document in pieces, so a large report is never held decompressed whole.

Used to check a download (every byte inflates, every member's CRC holds) and to read a document a chunk at
a time (load/stream.py).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from orchestration.errors import RetkeeError


class DamagedDocument(RetkeeError, ValueError):
    """The document is not a whole gzip stream (cut short, or not gzip at all): never loaded as if whole."""


def inflate(compressed: bytes, piece: int) -> Iterator[bytes]:
    """The document's bytes, a block at a time: `piece` compressed bytes in, whatever they inflate to out.
    Handles several gzip members one after the other; zlib checks each member's CRC."""
    view = memoryview(compressed)
    start = 0
    inflater = zlib.decompressobj(47)  # 32 + 15: gzip (or zlib) header, found automatically
    while start < len(view):
        try:
            block = inflater.decompress(view[start : start + piece])
        except zlib.error as exc:
            raise DamagedDocument(f"the document does not decompress ({exc})") from None
        start = min(start + piece, len(view))
        if inflater.eof and inflater.unused_data:  # another gzip member follows
            start -= len(inflater.unused_data)
            block += inflater.flush()
            inflater = zlib.decompressobj(47)
        if block:
            yield block
    if not inflater.eof and len(view):
        raise DamagedDocument("the compressed document ends before its end-of-stream marker (cut download?)")


def check_gzip(compressed: bytes) -> None:
    """Raise DamagedDocument unless `compressed` inflates completely (memory: one piece at a time)."""
    for _ in inflate(compressed, 1 << 20):
        pass
