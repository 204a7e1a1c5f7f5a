"""An attacker holding one duty's Vault token tries to destroy an active tenant's transit key (the hole of #17:
the erasure duty could make any key deletable and delete it). Every attempt is refused by Vault itself, and the
key still decrypts afterwards; the key-release path refuses an active tenant before it asks Vault."""

from __future__ import annotations

import hvac
import hvac.exceptions
import pytest

pytestmark = pytest.mark.integration

TRANSIT = "retkee-transit"
# Every configuration an attacker would want: deletable, exportable, backed up in plaintext, old versions cut off.
CONFIG_ATTACKS = {
    "deletable": {"deletion_allowed": True},
    "exportable": {"exportable": True},
    "plaintext-backup": {"allow_plaintext_backup": True},
    "strand-old-versions": {"min_decryption_version": 2},
    "deletable-and-exportable": {"deletion_allowed": True, "exportable": True},
}


@pytest.fixture(scope="module")
def active_tenant(onboard, settings) -> tuple[str, str]:
    """An active tenant's id, and a ciphertext under its key (proof the key survived every probe)."""
    from orchestration.secrets.vault import Vault

    _, tenant = onboard("A1KEYGUARDPROBE1", profile={"skus": 1, "orders_per_day": 1})
    return tenant.tenant_id, Vault(settings).encrypt_for_tenant(tenant.tenant_id, b"still readable")


def _key(pipeline_stack, name: str) -> dict:
    from local_stack.vault import OpenBaoServer

    return OpenBaoServer(pipeline_stack).root_client().secrets.transit.read_key(name, mount_point=TRANSIT)["data"]


def _assert_untouched(pipeline_stack, tenant: tuple[str, str]) -> None:
    from local_stack.vault import OpenBaoServer

    tenant_id, ciphertext = tenant
    key = _key(pipeline_stack, f"tenant-{tenant_id}")
    assert (key["deletion_allowed"], key["exportable"], key["allow_plaintext_backup"],
            key["min_decryption_version"]) == (False, False, False, 1)
    OpenBaoServer(pipeline_stack).root_client().secrets.transit.decrypt_data(
        f"tenant-{tenant_id}", ciphertext=ciphertext, mount_point=TRANSIT)


@pytest.mark.parametrize("duty", ["erasure", "onboarding", "pipeline", "rotation", "compliance", "analyst-issuer"])
@pytest.mark.parametrize("attack", list(CONFIG_ATTACKS), ids=list(CONFIG_ATTACKS))
def test_no_duty_token_can_make_an_active_tenants_key_deletable_or_exportable(pipeline_stack, active_tenant, duty,
                                                                              attack):
    from local_stack.vault import approle_login

    name = f"tenant-{active_tenant[0]}"
    transit = approle_login(pipeline_stack, duty).secrets.transit
    if duty == "rotation" and attack == "strand-old-versions":
        pytest.skip("rotation's one power: it retires versions of active keys by design")
    with pytest.raises(hvac.exceptions.Forbidden):
        transit.update_key_configuration(name, mount_point=TRANSIT, **CONFIG_ATTACKS[attack])
    _assert_untouched(pipeline_stack, active_tenant)


@pytest.mark.parametrize("duty", ["erasure", "onboarding", "pipeline", "key-release", "rotation", "compliance",
                                  "analyst-issuer"])
def test_no_duty_token_can_delete_an_active_tenants_key(pipeline_stack, active_tenant, duty):
    """Erasure holds delete on keys/+, so its refusal comes from transit (deletion_allowed is false: a 400);
    every other duty is denied by its policy (a 403)."""
    from local_stack.vault import approle_login

    name = f"tenant-{active_tenant[0]}"
    transit = approle_login(pipeline_stack, duty).secrets.transit
    refused = hvac.exceptions.InvalidRequest if duty == "erasure" else hvac.exceptions.Forbidden
    with pytest.raises(refused):
        transit.delete_key(name, mount_point=TRANSIT)
    _assert_untouched(pipeline_stack, active_tenant)


def test_onboarding_cannot_reach_a_keys_config_or_delete_it_by_re_creating_it(pipeline_stack, active_tenant):
    """Onboarding's `keys/+` update creates keys; sent again for an existing key with hostile settings, it must
    change nothing (transit ignores create parameters of an existing key), and `+` never reaches /config,
    /rotate, /trim or the delete verb."""
    from local_stack.vault import approle_login

    name = f"tenant-{active_tenant[0]}"
    client = approle_login(pipeline_stack, "onboarding")
    try:
        client.secrets.transit.create_key(name, exportable=True, allow_plaintext_backup=True, mount_point=TRANSIT)
    except hvac.exceptions.InvalidRequest:
        pass  # refused outright is as good
    _assert_untouched(pipeline_stack, active_tenant)
    for path in (f"{TRANSIT}/keys/{name}/config", f"{TRANSIT}/keys/{name}/rotate", f"{TRANSIT}/keys/{name}/trim"):
        with pytest.raises(hvac.exceptions.Forbidden):
            client.write(path, deletion_allowed=True, min_available_version=1)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.delete(f"{TRANSIT}/keys/{name}")
    _assert_untouched(pipeline_stack, active_tenant)


def test_the_key_release_path_refuses_an_active_tenant_before_asking_vault(settings, active_tenant):
    from orchestration.defs.resources import open_session
    from orchestration.retain.key_release import KeyReleaseRefused, release_tenant_key
    from orchestration.secrets.vault import Vault

    with open_session(settings) as session:
        with pytest.raises(KeyReleaseRefused, match="is active"):
            release_tenant_key(session.conn, Vault(settings.for_duty("key-release")), active_tenant[0])
        with pytest.raises(KeyReleaseRefused, match="no tenant"):
            release_tenant_key(session.conn, Vault(settings.for_duty("key-release")), "t0000000000ff")


def test_the_erasure_duty_through_our_code_cannot_destroy_an_unreleased_key(settings, pipeline_stack, active_tenant):
    from orchestration.secrets.vault import Vault, VaultError

    erasure = Vault(settings.for_duty("erasure"))
    with pytest.raises(VaultError, match="not released for erasure"):
        erasure.destroy_tenant_key(active_tenant[0])
    _assert_untouched(pipeline_stack, active_tenant)


def test_a_revoked_tenants_key_is_released_by_key_release_and_then_deletable_by_erasure(settings, pipeline_stack,
                                                                                         onboard):
    from orchestration.defs.resources import open_session
    from orchestration.retain.key_release import release_tenant_key
    from orchestration.secrets.vault import Vault

    _, tenant = onboard("A1KEYGUARDPROBE2", profile={"skus": 1, "orders_per_day": 1})
    with open_session(settings) as session:
        session.registry.set_status(tenant.tenant_id, "revoked", "revoked by operator")
        assert release_tenant_key(session.conn, Vault(settings.for_duty("key-release")), tenant.tenant_id) is True
    assert _key(pipeline_stack, f"tenant-{tenant.tenant_id}")["deletion_allowed"] is True
    erasure = Vault(settings.for_duty("erasure"))
    assert erasure.destroy_tenant_key(tenant.tenant_id) is True
    assert erasure.tenant_key_versions(tenant.tenant_id) is None
    with open_session(settings) as session:  # released twice (a re-run): the key is gone, nothing to do
        assert release_tenant_key(session.conn, Vault(settings.for_duty("key-release")), tenant.tenant_id) is False
