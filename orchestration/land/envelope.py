"""Envelope encryption of one document: AES-256-GCM under a fresh data key from the tenant's Vault key.

Only the wrapped data key is stored, inside the envelope's header; the header is authenticated as
associated data, so a tampered header fails decryption just like tampered ciphertext. Destroying the
tenant's transit key makes every envelope of that tenant unreadable (cryptographic erasure).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orchestration.errors import RetkeeError

MAGIC = b"RTKENV1\n"


class EnvelopeError(RetkeeError, ValueError):
    """Not an envelope, or one that fails authentication."""


@dataclass(frozen=True)
class Envelope:
    header: dict  # wrapped_key, tenant_id, and descriptive fields; never plaintext key material
    ciphertext: bytes


def seal(plaintext: bytes, data_key: bytes, header: dict) -> bytes:
    if len(data_key) != 32:
        raise EnvelopeError("AES-256 needs a 32-byte data key")
    if "wrapped_key" not in header:
        raise EnvelopeError("the header must carry the wrapped data key")
    nonce = os.urandom(12)
    full_header = {**header, "cipher": "AES-256-GCM", "nonce": nonce.hex()}
    header_bytes = json.dumps(full_header, sort_keys=True).encode()
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, header_bytes)
    return MAGIC + struct.pack(">I", len(header_bytes)) + header_bytes + ciphertext


def read_header(blob: bytes) -> tuple[dict, bytes, bytes]:
    if not blob.startswith(MAGIC):
        raise EnvelopeError("not a Retkee envelope")
    (length,) = struct.unpack(">I", blob[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    header_bytes = blob[start : start + length]
    return json.loads(header_bytes), header_bytes, blob[start + length :]


def open_sealed(blob: bytes, data_key: bytes) -> bytes:
    header, header_bytes, ciphertext = read_header(blob)
    try:
        return AESGCM(data_key).decrypt(bytes.fromhex(header["nonce"]), ciphertext, header_bytes)
    except Exception as exc:
        raise EnvelopeError("envelope failed authentication (wrong key or tampered)") from exc
