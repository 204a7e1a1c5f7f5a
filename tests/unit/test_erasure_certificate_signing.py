"""The signed record of an erasure certificate and the comparison `retkee erasure verify` makes (pure logic; the
signature itself is Vault's, probed in tests/security/test_audit_evidence.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from orchestration.retain.certificate import ErasureCertificate, canonical_record, check_certificate, signed


class RecordingSigner:
    """Signs by remembering the exact text; verifies only that text."""

    def __init__(self) -> None:
        self.records: dict[str, str] = {}

    def sign_erasure_record(self, record: str) -> str:
        signature = f"vault:v1:{len(self.records)}"
        self.records[signature] = record
        return signature

    def verify_erasure_record(self, record: str, signature: str) -> bool:
        return self.records.get(signature) == record


FINISHED = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
CERTIFICATE = ErasureCertificate(
    tenant_id="t0123456789ab", trigger="revoked", requested_at=None, started_at=FINISHED - timedelta(minutes=2),
    finished_at=FINISHED, run_id="run-2", attempt_run_ids=["run-1", "run-2"],
    destroyed={"tables": 7, "schemas": ["t0123456789ab_raw"], "transit_key": {"versions": [1, 2]}},
    verification={"passed": True, "schemas_left": 0}, verified=True, step_seconds={"drop_schemas": 0.25},
)


def test_the_signed_record_is_the_same_whatever_time_zone_the_database_answers_in():
    helsinki = timezone(timedelta(hours=2))
    moved = replace(CERTIFICATE, started_at=CERTIFICATE.started_at.astimezone(helsinki),
                    finished_at=FINISHED.astimezone(helsinki))
    assert canonical_record(moved) == canonical_record(CERTIFICATE)
    fields = json.loads(canonical_record(CERTIFICATE))
    assert fields["finished_at"] == "2026-11-30T12:00:00.123456+00:00"
    assert "step_seconds" not in fields  # timings are not evidence


def test_an_untouched_certificate_is_valid_and_an_edited_one_names_each_changed_field():
    signer = RecordingSigner()
    issued = signed(CERTIFICATE, signer)
    assert check_certificate(issued, signer).valid
    edited = replace(issued, destroyed={**issued.destroyed, "transit_key": {"versions": [2]}}, verified=False,
                     step_seconds={"drop_schemas": 9.0})
    check = check_certificate(edited, signer)
    assert check.signature == "valid" and not check.valid
    assert check.altered_fields == ["destroyed.transit_key.versions", "verified"]


def test_a_changed_signed_record_breaks_the_signature_and_an_unsigned_certificate_is_never_valid():
    signer = RecordingSigner()
    issued = signed(CERTIFICATE, signer)
    forged = replace(issued, signed_record=issued.signed_record.replace('"tables":7', '"tables":8'))
    assert check_certificate(forged, signer).signature == "invalid"
    unsigned = check_certificate(CERTIFICATE, signer)
    assert (unsigned.signature, unsigned.valid) == ("missing", False)
