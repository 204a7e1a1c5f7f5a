"""Re-sealing an envelope under a rewrapped data key, for key rotation (orchestration/retain/rotation.py).

The header (with `wrapped_key`) is the AEAD's associated data, so swapping in the rewrapped key means
sealing again: the document is opened with its plaintext data key and sealed with the same data key and the
new header. The data key itself never changes; only its wrapping moves to the newest key version.
"""

from __future__ import annotations

import re

from orchestration.land.envelope import EnvelopeError, open_sealed, read_header, seal

_WRAPPED = re.compile(r"^vault:v(\d+):")
_SEAL_FIELDS = ("cipher", "nonce")  # set by seal() itself


def wrapped_key_version(wrapped: str) -> int:
    """The transit key version a wrapped data key was made with ("vault:v3:..." -> 3)."""
    match = _WRAPPED.match(wrapped or "")
    if match is None:
        raise EnvelopeError("the wrapped data key is not a transit ciphertext")
    return int(match.group(1))


def envelope_key_version(blob: bytes) -> int:
    header, _, _ = read_header(blob)
    return wrapped_key_version(header["wrapped_key"])


def reseal(blob: bytes, data_key: bytes, rewrapped_key: str) -> bytes:
    """The same document under the same data key, its header carrying `rewrapped_key`.

    Opening first proves `data_key` is the envelope's own key: a wrong key fails here, before anything is
    written.
    """
    header, _, _ = read_header(blob)
    plaintext = open_sealed(blob, data_key)
    fields = {k: v for k, v in header.items() if k not in _SEAL_FIELDS}
    return seal(plaintext, data_key, {**fields, "wrapped_key": rewrapped_key})
