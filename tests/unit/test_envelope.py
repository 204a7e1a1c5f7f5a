"""Envelope encryption: AES-256-GCM, header authenticated, wrong key or tampering refused."""

import os

import pytest

from orchestration.land.envelope import EnvelopeError, open_sealed, read_header, seal


def test_round_trip_and_only_the_wrapped_key_is_stored():
    key = os.urandom(32)
    blob = seal(b"secret report", key, {"wrapped_key": "vault:v1:abc", "tenant_id": "t0123456789ab"})
    assert b"secret report" not in blob
    assert key not in blob
    header, _, _ = read_header(blob)
    assert header["cipher"] == "AES-256-GCM" and header["wrapped_key"] == "vault:v1:abc"
    assert open_sealed(blob, key) == b"secret report"


def test_wrong_key_fails():
    blob = seal(b"x", os.urandom(32), {"wrapped_key": "w"})
    with pytest.raises(EnvelopeError):
        open_sealed(blob, os.urandom(32))


def test_tampered_header_fails():
    key = os.urandom(32)
    blob = seal(b"x", key, {"wrapped_key": "w", "tenant_id": "t0123456789ab"})
    tampered = blob.replace(b"t0123456789ab", b"t0123456789ac")
    with pytest.raises(EnvelopeError):
        open_sealed(tampered, key)


def test_short_keys_are_refused():
    with pytest.raises(EnvelopeError):
        seal(b"x", os.urandom(16), {"wrapped_key": "w"})
