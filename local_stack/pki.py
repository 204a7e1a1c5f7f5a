"""The local certificate authority and the server certificates of PostgreSQL, OpenBao and the sandbox.

Every client of the stack trusts exactly `.data/pki/ca.pem`; nothing is self-signed per service, so one
`sslrootcert` / `verify=` setting covers all three servers. Existing files are reused (idempotent `up`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from local_stack.config import StackConfig
from local_stack.secret_files import write_private_text

SERVICES = ("postgres", "vault", "sandbox", "redis")
_CA_LIFETIME = dt.timedelta(days=3650)
_SERVER_LIFETIME = dt.timedelta(days=825)
_RENEW_BEFORE = dt.timedelta(days=30)


def ensure_pki(config: StackConfig) -> None:
    """Create the CA and the per-service certificates that are missing, expiring or from another CA."""
    config.pki_dir.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _load_or_create_ca(config)
    for service in SERVICES:
        _ensure_server_cert(config, service, ca_cert, ca_key)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private_text(path, pem.decode())


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)


def _load_or_create_ca(config: StackConfig) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_key_file = config.pki_dir / "ca-key.pem"
    if config.ca_file.exists() and ca_key_file.exists():
        cert = x509.load_pem_x509_certificate(config.ca_file.read_bytes())
        key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
        if cert.not_valid_after_utc - _RENEW_BEFORE > _now() and isinstance(key, ec.EllipticCurvePrivateKey):
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Retkee local stack"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"Retkee local CA ({config.data_dir.name})"),
    ])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(ca_key_file, key)
    _write_cert(config.ca_file, cert)
    # A new CA invalidates every server certificate signed by the old one.
    for service in SERVICES:
        config.cert_file(service).unlink(missing_ok=True)
    return cert, key


def _ensure_server_cert(
    config: StackConfig, service: str, ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> None:
    cert_file, key_file = config.cert_file(service), config.key_file(service)
    if cert_file.exists() and key_file.exists():
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        if cert.issuer == ca_cert.subject and cert.not_valid_after_utc - _RENEW_BEFORE > _now():
            try:
                cert.verify_directly_issued_by(ca_cert)
                return
            except (ValueError, TypeError, InvalidSignature):
                pass  # not ours after all: issue a new one
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{service}.localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _SERVER_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
            ]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(key_file, key)
    # Leaf first, then the CA: clients that are given only the CA still build the chain.
    cert_file.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    cert_file.chmod(0o644)
