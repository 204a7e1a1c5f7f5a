"""Killing an erasure midway (SIGKILL, between two steps) and running it again completes it, with one certificate
that counts what existed before the first attempt destroyed anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.integration.conftest import settled_days
from tests.integration.test_erasure_end_to_end import (
    certificates_of,
    extract_orders,
    run_requested,
    sensor_requests_for,
    transit_keys,
)

pytestmark = pytest.mark.integration

# Runs the Dagster-free erasure in a child process that stops dead (waits to be killed) after `step`.
_CHILD = textwrap.dedent("""
    import sys, time
    from dagster import DagsterInstance
    from orchestration.defs.resources import open_session
    from orchestration.defs.retention import DagsterRunControl
    from orchestration.retain.erasure import ErasureTools, erase_tenant
    from orchestration.secrets.vault import Vault

    tenant_id, kill_after = sys.argv[1], sys.argv[2]

    def stop_here(step):
        if step == kill_after:
            print("reached", step, flush=True)
            time.sleep(600)

    with DagsterInstance.get() as instance, open_session() as session:
        tools = ErasureTools(conn=session.conn, pipeline_vault=session.vault,
                             erasure_vault=Vault(session.settings.for_duty("erasure")), landing=session.landing,
                             key_release_vault=Vault(session.settings.for_duty("key-release")),
                             runs=DagsterRunControl(instance), run_id="killed-attempt", on_step_done=stop_here)
        erase_tenant(tools, tenant_id)
""")


def _kill_erasure_after(tenant_id: str, step: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, tenant_id, step], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ))
    try:
        line = child.stdout.readline()
        assert line.strip() == f"reached {step}", line
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("kill_after, seller_id", [
    ("drop_schemas", "A1ERASEKILL0001"),
    ("destroy_key", "A1ERASEKILL0002"),
])
def test_killed_erasure_is_completed_by_the_next_run_with_one_certificate(
    pipeline_stack, settings, onboard, instance, monkeypatch, kill_after, seller_id
):
    from orchestration.defs.resources import open_session

    _, tenant = onboard(seller_id)
    extract_orders(instance, tenant.tenant_id, settled_days(1)[0])
    with open_session(settings) as session:
        session.registry.set_status(tenant.tenant_id, "terminated", "subscription ended")

    _kill_erasure_after(tenant.tenant_id, kill_after)
    assert certificates_of(settings, tenant.tenant_id) == []
    with open_session(settings) as session:
        assert session.registry.get(tenant.tenant_id).status == "terminated"  # not erased without a certificate

    monkeypatch.setenv("RETKEE_ERASURE_GRACE_HOURS", "0")
    requests = sensor_requests_for(instance, tenant.tenant_id)
    assert len(requests) == 1
    run = run_requested(instance, requests[0])
    assert run.success

    certificates = certificates_of(settings, tenant.tenant_id)
    assert len(certificates) == 1
    _, run_id, attempts, destroyed, verification = certificates[0]
    assert attempts == ["killed-attempt", run.run_id] and run_id == run.run_id
    # Counted from the inventory the killed attempt took before destroying anything.
    assert f"{tenant.tenant_id}_raw" in destroyed["schemas"] and destroyed["tables"] > 0
    assert destroyed["landing_objects"] > 0 and destroyed["transit_key"]["versions"] == [1]
    assert verification["passed"] and verification["canary_decrypts"] is False
    assert f"tenant-{tenant.tenant_id}" not in transit_keys(pipeline_stack)
    assert not (pipeline_stack.landing_dir / tenant.tenant_id).exists()

    # Running it once more changes nothing and certifies nothing twice; the sensor has nothing left to do.
    again = run_requested(instance, requests[0])
    assert again.success
    assert len(certificates_of(settings, tenant.tenant_id)) == 1
    assert sensor_requests_for(instance, tenant.tenant_id) == []


def test_an_active_tenant_is_never_erased(settings, onboard, instance):
    from orchestration.defs.resources import open_session
    from orchestration.erasure_now import run_erasure_now

    _, tenant = onboard("A1ERASEACTIVE01")
    ok, failure = run_erasure_now(tenant.tenant_id, instance)
    assert not ok and "active" in failure
    with open_session(settings) as session:
        assert session.registry.get(tenant.tenant_id).status == "active"
        assert session.vault.refresh_token(tenant.tenant_id).reveal().startswith("Atzr|")
