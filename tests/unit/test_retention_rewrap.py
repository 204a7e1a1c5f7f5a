"""Re-sealing an envelope for key rotation: same document, same data key, new wrapped key, header authenticated."""

import os

import pytest

from orchestration.land.envelope import EnvelopeError, open_sealed, read_header, seal
from orchestration.land.rewrap import envelope_key_version, reseal, wrapped_key_version


def _envelope(data_key: bytes, wrapped: str = "vault:v1:AAAA") -> bytes:
    return seal(b"gzip bytes of a report", data_key, {"wrapped_key": wrapped, "tenant_id": "t0123456789ab"})


def test_reseal_keeps_the_document_and_swaps_the_wrapped_key():
    data_key = os.urandom(32)
    blob = _envelope(data_key)
    resealed = reseal(blob, data_key, "vault:v2:BBBB")
    header, _, _ = read_header(resealed)
    assert header["wrapped_key"] == "vault:v2:BBBB"
    assert header["tenant_id"] == "t0123456789ab"
    assert open_sealed(resealed, data_key) == b"gzip bytes of a report"
    assert envelope_key_version(resealed) == 2


def test_reseal_with_a_wrong_data_key_fails_before_writing_anything():
    blob = _envelope(os.urandom(32))
    with pytest.raises(EnvelopeError):
        reseal(blob, os.urandom(32), "vault:v2:BBBB")


def test_a_resealed_header_is_still_authenticated():
    data_key = os.urandom(32)
    resealed = reseal(_envelope(data_key), data_key, "vault:v2:BBBB")
    tampered = resealed.replace(b"vault:v2:BBBB", b"vault:v3:BBBB")
    with pytest.raises(EnvelopeError):
        open_sealed(tampered, data_key)


@pytest.mark.parametrize("wrapped, version", [("vault:v1:abc", 1), ("vault:v12:abc", 12)])
def test_wrapped_key_version(wrapped, version):
    assert wrapped_key_version(wrapped) == version


def test_a_non_transit_wrapped_key_is_refused():
    with pytest.raises(EnvelopeError):
        wrapped_key_version("plaintext-key")
