"""The access log records every run; incident scoping and the compliance report are built from real data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def logged(settings, instance, refreshed_tenant):
    from orchestration.compliance.access_log import sync_access_log
    from orchestration.defs.resources import open_session

    with open_session(settings) as session:
        first = sync_access_log(instance, session.conn)
        again = sync_access_log(instance, session.conn)
    return first, again


def test_every_finished_run_is_logged_once_with_tenant_assets_categories_and_role(logged, admin, refreshed_tenant):
    _first, again = logged
    rows = admin.execute(
        "select job_name, assets, data_categories, db_role, vault_duty, status from audit.access_log"
        " where tenant_id = %s", (refreshed_tenant.tenant_id,)).fetchall()
    # Whichever sync came first logged them (`retkee compliance report` syncs too); a second one adds nothing.
    assert len(rows) >= len(refreshed_tenant.days) + 1 and again == 0
    jobs = {r[0] for r in rows}
    assert {"extract_reports", "build_marts"} <= jobs
    extraction = next(r for r in rows if r[0] == "extract_reports")
    assert "raw/orders" in extraction[1] and "financial" in extraction[2]
    assert all(r[3] == "pipeline" and r[4] == "pipeline" for r in rows)
    assert extraction[5] == "SUCCESS" and all(r[5] in ("SUCCESS", "FAILURE") for r in rows)


def test_incident_scope_lists_the_tenant_its_data_categories_runs_roles_and_deadline(settings, logged,
                                                                                      refreshed_tenant):
    from orchestration.compliance.incident import scope_incident
    from orchestration.compliance.session import compliance_session

    detected = datetime.now(UTC)
    with compliance_session(settings) as session:
        scope = scope_incident(session.conn, detected - timedelta(hours=2), detected_at=detected)
        empty = scope_incident(session.conn, detected - timedelta(days=400), detected - timedelta(days=399))
    exposure = next(t for t in scope.tenants if t.tenant_id == refreshed_tenant.tenant_id)
    assert "financial" in exposure.data_categories
    assert "raw/orders" in exposure.assets and "marts/fct_daily_sales" in exposure.assets
    assert exposure.roles == {"db:pipeline vault:pipeline"}
    assert len(exposure.runs) >= 2
    assert scope.notify_amazon_by == detected + timedelta(hours=24)
    assert empty.tenants == []


def test_retkee_incident_scope_command(settings, logged, refreshed_tenant):
    from orchestration.cli import app

    since = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    result = CliRunner().invoke(app, ["incident", "scope", "--since", since, "--json"])
    assert result.exit_code == 0, result.output
    scope = json.loads(result.output)
    assert refreshed_tenant.tenant_id in {t["tenant_id"] for t in scope["tenants"]}
    assert scope["notify_amazon_by"]
    bad = CliRunner().invoke(app, ["incident", "scope", "--since", "last tuesday"])
    assert bad.exit_code == 1 and "not an ISO 8601 time" in bad.output


def test_the_compliance_report_renders_real_data(settings, logged, refreshed_tenant, tmp_path, onboard):
    from orchestration.cli import app
    from orchestration.defs.resources import open_session

    # A second tenant leaves, with a reason that tries to inject markup into the report.
    _, leaver = onboard("A9SECURITYLEAVE", profile={"skus": 2, "orders_per_day": 2})
    with open_session(settings) as session:
        session.registry.set_status(leaver.tenant_id, "revoked", "<script>alert('x')</script>")
    output = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["compliance", "report", "--output", str(output)])
    assert result.exit_code == 0, result.output
    page = output.read_text()
    for heading in ("Data inventory per classification", "Tenants by lifecycle state", "Erasure",
                    "Key rotation status", "Database roles and their grants", "Last vulnerability audit"):
        assert heading in page
    assert refreshed_tenant.tenant_id in page and leaver.tenant_id in page
    assert f"tenant-{refreshed_tenant.tenant_id}" in page  # its transit key, with rotation status
    assert "raw/orders" in page and "financial" in page
    assert "none yet" in page or "erasure_certificates" in page
    assert "<script>" not in page
    assert refreshed_tenant.seller_id not in page  # pseudonymous: the report never names the seller
    (tmp_path / "report.html").replace(tmp_path / "kept.html")
