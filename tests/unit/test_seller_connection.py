"""The SP-API client's TLS context: built once per CA file, rebuilt when the file is replaced."""

import os
import ssl

import trustme

from orchestration.extract.connection import tls_context


def test_one_context_per_ca_file_pinned_to_tls_1_2(tmp_path):
    ca = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca))
    first = tls_context(str(ca))
    assert tls_context(str(ca)) is first
    assert first.minimum_version == ssl.TLSVersion.TLSv1_2
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname


def test_a_replaced_ca_file_gets_a_fresh_context(tmp_path):
    ca = tmp_path / "ca.pem"
    old, new = trustme.CA(), trustme.CA()
    old.cert_pem.write_to_path(str(ca))
    before = tls_context(str(ca))
    new.cert_pem.write_to_path(str(ca))
    stat = ca.stat()
    os.utime(ca, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a rotation within the same tick
    after = tls_context(str(ca))
    assert after is not before
    subjects = {c["subject"] for c in after.get_ca_certs()} - {c["subject"] for c in before.get_ca_certs()}
    assert subjects, "the fresh context trusts the new CA"
