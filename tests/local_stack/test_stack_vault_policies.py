"""Each duty's AppRole token carries only its own policy; the pipeline cannot read or write beyond it."""

from __future__ import annotations

import hvac
import hvac.exceptions
import pytest

from local_stack import Stack
from local_stack.vault import approle_login, read_secret
from local_stack.vault_layout import KV_MOUNT, LWA_APP_PATH, TRANSIT_MOUNT

pytestmark = pytest.mark.integration


@pytest.fixture()
def pipeline(stack: Stack) -> hvac.Client:
    return approle_login(stack.config, "pipeline")


def test_pipeline_token_carries_only_the_pipeline_policy(pipeline: hvac.Client) -> None:
    token = pipeline.auth.token.lookup_self()["data"]
    assert token["policies"] == ["pipeline"]
    assert "root" not in token["policies"]
    assert token["ttl"] <= 3600


def test_pipeline_reads_the_lwa_app_credentials(pipeline: hvac.Client, stack: Stack) -> None:
    secret = read_secret(pipeline, LWA_APP_PATH)
    assert secret["client_id"].startswith("amzn1.application-oa2-client.")
    assert secret["token_url"] == f"https://localhost:{stack.config.sandbox_port}/auth/o2/token"


@pytest.mark.parametrize("path", ["platform/other", "tenants/x/other"])
def test_pipeline_is_denied_kv_paths_outside_its_policy(pipeline: hvac.Client, path: str) -> None:
    with pytest.raises(hvac.exceptions.Forbidden):
        read_secret(pipeline, path)


def test_pipeline_cannot_write_a_tenant_refresh_token(pipeline: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.Forbidden):
        pipeline.secrets.kv.v2.create_or_update_secret(
            path="tenants/x/spapi", secret={"refresh_token": "x"}, mount_point=KV_MOUNT)


def test_pipeline_cannot_list_policies(pipeline: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.Forbidden):
        pipeline.sys.list_acl_policies()


def test_onboarding_creates_a_tenant_key_the_pipeline_uses_and_only_release_then_erasure_deletes(stack: Stack) -> None:
    onboarding = approle_login(stack.config, "onboarding")
    onboarding.secrets.transit.create_key("tenant-t42", key_type="aes256-gcm96", mount_point=TRANSIT_MOUNT)
    # Creating is not managing: onboarding can neither make a key deletable nor rotate or trim it.
    with pytest.raises(hvac.exceptions.Forbidden):
        onboarding.secrets.transit.update_key_configuration(
            "tenant-t42", deletion_allowed=True, mount_point=TRANSIT_MOUNT)
    with pytest.raises(hvac.exceptions.Forbidden):
        onboarding.secrets.transit.rotate_key("tenant-t42", mount_point=TRANSIT_MOUNT)

    pipeline = approle_login(stack.config, "pipeline")
    datakey = pipeline.secrets.transit.generate_data_key(
        "tenant-t42", key_type="plaintext", mount_point=TRANSIT_MOUNT)["data"]
    assert datakey["ciphertext"].startswith("vault:v1:")
    with pytest.raises(hvac.exceptions.Forbidden):
        pipeline.secrets.transit.delete_key("tenant-t42", mount_point=TRANSIT_MOUNT)

    # Erasure alone cannot: it has no config rights, and transit refuses to delete an unreleased key.
    erasure = approle_login(stack.config, "erasure")
    with pytest.raises(hvac.exceptions.Forbidden):
        erasure.secrets.transit.update_key_configuration(
            "tenant-t42", deletion_allowed=True, mount_point=TRANSIT_MOUNT)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        erasure.secrets.transit.delete_key("tenant-t42", mount_point=TRANSIT_MOUNT)
    # The key-release duty makes it deletable but cannot delete it; then erasure can.
    release = approle_login(stack.config, "key-release")
    release.secrets.transit.update_key_configuration("tenant-t42", deletion_allowed=True, mount_point=TRANSIT_MOUNT)
    with pytest.raises(hvac.exceptions.Forbidden):
        release.secrets.transit.delete_key("tenant-t42", mount_point=TRANSIT_MOUNT)
    erasure.secrets.transit.delete_key("tenant-t42", mount_point=TRANSIT_MOUNT)
    with pytest.raises(hvac.exceptions.InvalidPath):
        erasure.secrets.transit.read_key("tenant-t42", mount_point=TRANSIT_MOUNT)


def test_onboarding_writes_a_refresh_token_and_cannot_read_it_back(stack: Stack) -> None:
    onboarding = approle_login(stack.config, "onboarding")
    onboarding.secrets.kv.v2.create_or_update_secret(
        "tenants/t0000000000aa/spapi", secret={"refresh_token": "Atzr|written-not-read"}, mount_point=KV_MOUNT)
    with pytest.raises(hvac.exceptions.Forbidden):
        onboarding.secrets.kv.v2.read_secret_version("tenants/t0000000000aa/spapi", mount_point=KV_MOUNT)
    pipeline = approle_login(stack.config, "pipeline")
    read = pipeline.secrets.kv.v2.read_secret_version("tenants/t0000000000aa/spapi", mount_point=KV_MOUNT)
    assert read["data"]["data"]["refresh_token"] == "Atzr|written-not-read"


@pytest.mark.parametrize("change", [{"exportable": True}, {"allow_plaintext_backup": True},
                                    {"min_decryption_version": 2}, {"deletion_allowed": False},
                                    {"deletion_allowed": True, "exportable": True}],
                         ids=["exportable", "plaintext-backup", "min-decryption-version", "undeletable",
                              "deletable-and-exportable"])
@pytest.mark.parametrize("duty", ["erasure", "key-release"])
def test_erasure_cannot_configure_a_key_and_key_release_only_make_it_deletable(stack: Stack, change: dict,
                                                                              duty: str) -> None:
    root = stack.vault.root_client()
    root.secrets.transit.create_key("tenant-t0000000000bb", key_type="aes256-gcm96", mount_point=TRANSIT_MOUNT)
    client = approle_login(stack.config, duty)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.transit.update_key_configuration("tenant-t0000000000bb", mount_point=TRANSIT_MOUNT, **change)
    key = root.secrets.transit.read_key("tenant-t0000000000bb", mount_point=TRANSIT_MOUNT)["data"]
    assert key["exportable"] is False and key["allow_plaintext_backup"] is False
    assert key["deletion_allowed"] is False and key["min_decryption_version"] == 1
