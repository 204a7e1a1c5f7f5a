"""The erasure_deadlines asset check reports tenants near or past their 30-day deadline."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def _check(instance):
    from dagster import AssetCheckKey, AssetKey

    from orchestration.definitions import defs

    result = defs.resolve_job_def("check_erasure_deadlines").execute_in_process(instance=instance)
    assert result.success
    key = AssetCheckKey(AssetKey(["audit", "erasure_certificates"]), "erasure_deadlines")
    return instance.event_log_storage.get_asset_check_execution_history(key, limit=1)[0].event.dagster_event \
        .event_specific_data


def _requested_days_ago(settings, tenant_id: str, days: int) -> None:
    from orchestration.defs.resources import open_session

    with open_session(settings) as session:
        session.conn.execute("update control.tenants set erasure_requested_at = now() - make_interval(days => %s)"
                             " where tenant_id = %s", (days, tenant_id))
        session.conn.commit()


def test_deadline_check_warns_when_near_and_errs_when_missed(settings, onboard, instance):
    from dagster import AssetCheckSeverity

    from orchestration.defs.resources import open_session
    from orchestration.erasure_now import run_erasure_now

    _, tenant = onboard("A1ERASELATE0001")
    with open_session(settings) as session:
        session.registry.set_status(tenant.tenant_id, "revoked", "revoked by operator")

    _requested_days_ago(settings, tenant.tenant_id, 28)
    near = _check(instance)
    assert near.passed is False and near.severity == AssetCheckSeverity.WARN
    assert tenant.tenant_id in near.metadata["deadline_near"].value

    _requested_days_ago(settings, tenant.tenant_id, 31)
    missed = _check(instance)
    assert missed.passed is False and missed.severity == AssetCheckSeverity.ERROR
    assert tenant.tenant_id in missed.metadata["deadline_missed"].value

    assert run_erasure_now(tenant.tenant_id, instance) == (True, None)
    after = _check(instance)
    assert tenant.tenant_id not in after.metadata["deadline_missed"].value


def test_pii_is_purged_thirty_days_after_delivery_and_unreadable_after_erasure(settings, onboard, instance):
    from datetime import UTC, datetime, timedelta

    from orchestration.defs.resources import open_session
    from orchestration.erasure_now import run_erasure_now
    from orchestration.retain.pii import PiiTable, purge_expired_pii, seal_pii

    _, tenant = onboard("A1ERASEPII00001")
    table = PiiTable(layer="raw", table="mcf_orders")
    now = datetime.now(UTC)
    with open_session(settings) as session:
        address = seal_pii(session.vault, tenant.tenant_id, "1 Buyer Street, Springfield")
        assert address.startswith("vault:v1:") and "Buyer" not in address
        conn, raw = session.conn, f'"{tenant.tenant_id}_raw"'
        conn.execute("select provisioning.ensure_tenant_owner(%s)", (tenant.tenant_id,))  # makes its schemas
        conn.execute(f"create table {raw}.mcf_orders (id int, address text, delivered_at timestamptz)")
        conn.execute(f"insert into {raw}.mcf_orders values (1, %s, %s), (2, %s, %s), (3, %s, null)",
                     (address, now - timedelta(days=31), address, now - timedelta(days=5), address))
        conn.commit()
        deleted = purge_expired_pii(conn, tenant.tenant_id, now, tables=(table,))
        assert deleted == {f"{tenant.tenant_id}_raw.mcf_orders": 1}
        kept = conn.execute(f"select id from {raw}.mcf_orders order by id").fetchall()
        assert kept == [(2,), (3,)]  # delivered 5 days ago, not delivered yet
        conn.commit()
        session.registry.set_status(tenant.tenant_id, "terminated", "subscription ended")
    assert run_erasure_now(tenant.tenant_id, instance) == (True, None)
    with open_session(settings) as session:
        assert session.vault.decrypts(tenant.tenant_id, address) is False
