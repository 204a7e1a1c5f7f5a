"""The compliance report's page from given evidence: certificates read as fields, promises judged, ids checked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from orchestration.compliance.evidence import AccessLog, CertificateView, ComplianceReport
from orchestration.compliance.report import render_html
from orchestration.retain.certificate import CertificateCheck, ErasureCertificate, RequestIdError, check_request_id

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
TENANT = "t0123456789ab"


def _certificate(**changes) -> ErasureCertificate:
    values = dict(
        tenant_id=TENANT, trigger="seller request", requested_at=NOW - timedelta(hours=1),
        started_at=NOW - timedelta(minutes=50), finished_at=NOW - timedelta(minutes=49), run_id="run-1",
        attempt_run_ids=["run-1"],
        destroyed={"schemas": [f"{TENANT}_raw", f"{TENANT}_marts"], "tables": 7, "landing_objects": 3,
                   "transit_key": {"name": f"tenant-{TENANT}", "versions": [1, 2]},
                   "kv_secret": {"path": f"tenants/{TENANT}/spapi", "versions": [1]},
                   "disk_residue": {"statistics_analyzed": ["control.tenants"], "statistics_rewritten": True,
                                    "wal_switched_at": "0/3000000", "wal_after_checkpoint": "0/4000000"},
                   "future_part": {"leases_revoked": 2}},
        verification={"schemas_left": 0, "transit_key_exists": False, "canary_decrypts": False, "passed": True},
        verified=True, step_seconds={}, request_id="DSR-2026-0042")
    return ErasureCertificate(**(values | changes))


def _page(signature: str = "valid") -> str:
    view = CertificateView(_certificate(), CertificateCheck(TENANT, signature, [] if signature == "valid"
                                                            else ["destroyed.tables"], "1"))
    return render_html(ComplianceReport(generated_at=NOW, dpo_contact="privacy@retkee.example",
                                        erasure_certificates=[view], deletion_requests=[],
                                        access_log=AccessLog(True, 3, NOW - timedelta(hours=1), 1)))


def test_a_certificate_reads_as_fields_never_as_a_python_dict():
    page = _page()
    section = page[page.index(f"id=\"certificate-{TENANT}\""):]
    assert "DSR-2026-0042" in section and "2026-12-01 11:11 UTC" in section  # request id, completed
    assert f"tenant-{TENANT}, versions 1, 2" in section and "tenants/" in section
    assert "<td>schemas dropped</td><td>2: " in section
    assert "<td>landing-zone documents deleted</td><td>3</td>" in section
    assert "leases revoked 2" in section  # a part a later version adds, in words too
    assert "valid (retkee-transit/keys/erasure-certificates, version 1)" in section
    assert not re.search(r"\{'|'\}|\[\d|True|False", section), "a Python repr in the certificate"


def test_an_altered_certificate_says_so_and_turns_the_retention_promise_red():
    page = _page("invalid")
    assert "INVALID: the signed record is not what the signing key signed" in page
    assert "destroyed.tables" in page
    promise = page[page.index('id="promise-4"'):page.index('id="promise-5"')]
    assert "red: FAILS" in promise and TENANT in promise


def test_every_promise_is_red_when_its_evidence_was_not_gathered():
    page = _page()
    rows = re.findall(r'<tr class="(holds|fails)" id="promise-(\d)"', page)
    assert [n for _, n in rows] == ["1", "2", "3", "4", "5", "6"]
    states = dict((n, s) for s, n in rows)
    assert states["1"] == states["2"] == "fails"  # no PII scan, no transport evidence: never green by default
    assert states["6"] == "holds"  # an access log with a run an hour old
    assert "privacy@retkee.example" in page.split("<h2>")[0]


@pytest.mark.parametrize("bad", ["", " DSR-1", "jane@example.com", "a b", "x" * 65, "DSR\n1", "<script>"])
def test_a_request_id_that_is_no_reference_is_refused(bad):
    with pytest.raises(RequestIdError):
        check_request_id(bad)


def test_a_request_id_reference_is_accepted():
    for good in ("DSR-2026-0042", "ZD#12345", "case:2026/11/7", "x" * 64):
        assert check_request_id(good) == good


def test_no_allowlisted_column_of_the_catalogue_is_on_the_reports_pii_deny_list():
    """Else promise 1 would be red on every warehouse: the deny list and the allowlists must not overlap."""
    from orchestration.compliance.evidence import BUYER_PII_COLUMN, _column_name
    from orchestration.load.datasets import DATASETS

    for dataset in DATASETS.values():
        known = {_column_name(field) for field in dataset.known_pii}
        for column in dataset.column_names:
            assert not BUYER_PII_COLUMN.search(column) and _column_name(column) not in known, (dataset.name, column)


OTHER = "t0fedcba98765"


def _least_privilege_problems(grants: list[dict]) -> list[str]:
    from orchestration.compliance.promises import promises
    from orchestration.settings import DUTIES

    roles = [{"role": "pipeline"}, {"role": f"{TENANT}_analyst"}, {"role": "all_tenants_analyst"}]
    report = ComplianceReport(generated_at=NOW, roles=roles, schema_grants=grants,
                              vault_policies={duty: "" for duty in DUTIES})
    return next(p for p in promises(report) if p.number == 3).problems


def _grant(role: str, schema: str, usage: bool = True, create: bool = False) -> dict:
    return {"role": role, "schema": schema, "usage": usage, "create": create, "owner": "x"}


def test_an_analyst_group_reaching_beyond_its_marts_turns_least_privilege_red():
    own = [_grant(f"{TENANT}_analyst", f"{TENANT}_marts"), _grant("all_tenants_analyst", f"{TENANT}_marts"),
           _grant("all_tenants_analyst", f"{OTHER}_marts"), _grant(f"{TENANT}_analyst", f"{OTHER}_marts", usage=False),
           _grant(f"{TENANT}_analyst", "reference"), _grant("all_tenants_analyst", "public")]
    assert _least_privilege_problems(own) == []
    for hole in (_grant(f"{TENANT}_analyst", f"{OTHER}_marts"), _grant(f"{TENANT}_analyst", f"{TENANT}_raw"),
                 _grant("all_tenants_analyst", f"{OTHER}_staging"), _grant("all_tenants_analyst", "audit"),
                 _grant(f"{TENANT}_analyst", f"{TENANT}_marts", create=True)):
        problems = _least_privilege_problems([*own, hole])
        assert problems and hole["schema"] in " ".join(problems), hole
