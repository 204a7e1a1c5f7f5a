"""The Vault layout of docs/architecture.md as code: mounts, one policy per duty, AppRole token limits.

Each duty (pipeline, onboarding, erasure, key-release, rotation, compliance, analyst-issuer) logs in with
its own AppRole and gets exactly its policy, without Vault's `default` policy (which would add cubbyhole,
wrapping and sys/tools access nobody here needs); the three token-self paths every client needs to look up,
renew and revoke its own token are added explicitly.
"""

from __future__ import annotations

from orchestration.secrets.vault import CERTIFICATE_SIGNING_KEY, CERTIFICATE_SIGNING_KEY_TYPE
from orchestration.serve.analyst_logins import ISSUER_DUTY, LOGIN_MAX_TTL_HOURS, MOUNT, VAULT_ROLE_PREFIX

# Analyst logins (orchestration/serve/analyst_logins.py): the database secrets engine's mount.
DB_LOGINS_MOUNT = MOUNT

KV_MOUNT = "retkee-kv"
TRANSIT_MOUNT = "retkee-transit"
APPROLE_MOUNT = "approle"

LWA_APP_PATH = "platform/lwa-app"
PIPELINE_DB_PATH = "platform/warehouse/pipeline"
COMPLIANCE_DB_PATH = "platform/warehouse/compliance"
# The login of the shared SP-API token buckets (orchestration/extract/quota_store.py); the pipeline reads it.
QUOTA_DB_PATH = "platform/warehouse/spapi_quota"
# The password of the warehouse's encrypted disk (local_stack/encrypted_fs.py); no duty's policy grants it.
WAREHOUSE_DISK_PATH = "platform/warehouse/disk"


def tenant_spapi_path(tenant_id: str) -> str:
    return f"tenants/{tenant_id}/spapi"


def tenant_key_name(tenant_id: str) -> str:
    return f"tenant-{tenant_id}"


_SELF_SERVICE_PATHS = """
# Every duty may inspect, renew and revoke its own token (replaces the `default` policy).
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
"""

# The key that signs erasure certificates (created by the bootstrap, local_stack/vault.py): not exportable, no
# plaintext backup, never deletable. Its guard is in every duty's policy: an exact path (no wildcard) and a glob
# at the name's end both outrank the `keys/+`, `keys/+/config` and `keys/+/rotate` rules below (Vault applies the
# one matching rule whose first wildcard comes latest), so for this key alone every duty is denied delete,
# configuration (deletion_allowed, min_decryption_version, which would strand old signatures), rotate, trim,
# import, export and backup. Narrowing those `+` rules to `keys/tenant-*` instead is not possible: that glob
# would outrank `keys/+/config` for keys/tenant-x/config too and take erasure's deletion_allowed away.
SIGNING_KEY_SETTINGS = {"key_type": CERTIFICATE_SIGNING_KEY_TYPE, "exportable": False,
                        "allow_plaintext_backup": False}


def _signing_key_guard(read: bool = False) -> str:
    key = f"{TRANSIT_MOUNT}/keys/{CERTIFICATE_SIGNING_KEY}"
    return f"""
# The certificate signing key: nothing but what is granted below it (see SIGNING_KEY_SETTINGS).
path "{key}" {{ capabilities = [{'"read"' if read else '"deny"'}] }}
path "{key}/*" {{ capabilities = ["deny"] }}
path "{TRANSIT_MOUNT}/export/+/{CERTIFICATE_SIGNING_KEY}" {{ capabilities = ["deny"] }}
path "{TRANSIT_MOUNT}/export/+/{CERTIFICATE_SIGNING_KEY}/*" {{ capabilities = ["deny"] }}
path "{TRANSIT_MOUNT}/backup/{CERTIFICATE_SIGNING_KEY}" {{ capabilities = ["deny"] }}
path "{TRANSIT_MOUNT}/restore/{CERTIFICATE_SIGNING_KEY}" {{ capabilities = ["deny"] }}
"""


# A tenant's analyst Vault role is `analyst-<tenant id>`: tenant ids start with `t`, so `analyst-t*` reaches every
# tenant's role and never `analyst-all-tenants`, the staff's (written by the bootstrap with the root token).
_TENANT_ANALYST_ROLES = f"{DB_LOGINS_MOUNT}/roles/{VAULT_ROLE_PREFIX}t*"
_TENANT_ANALYST_CREDS = f"{DB_LOGINS_MOUNT}/creds/{VAULT_ROLE_PREFIX}t*"
_ERASE_ANALYST_LOGINS = f"""
# A tenant's analyst logins: revoke all their leases (OpenBao drops them) and delete its Vault role. Revoking by
# prefix needs sudo; this path is the narrowest that works (one tenant's creds under the analyst mount).
path "sys/leases/revoke-prefix/{_TENANT_ANALYST_CREDS}" {{ capabilities = ["update", "sudo"] }}
path "{_TENANT_ANALYST_ROLES}" {{ capabilities = ["read", "delete"] }}
"""

_VERIFY_CERTIFICATES = f"""
# Checking an erasure certificate's signature (retkee erasure verify).
path "{TRANSIT_MOUNT}/verify/{CERTIFICATE_SIGNING_KEY}" {{ capabilities = ["update"] }}
"""

POLICIES: dict[str, str] = {
    "pipeline": f"""
# Extract, land and load: read app + tenant credentials, envelope-encrypt with tenant keys. Nothing else.
path "{KV_MOUNT}/data/{LWA_APP_PATH}" {{ capabilities = ["read"] }}
path "{KV_MOUNT}/data/{PIPELINE_DB_PATH}" {{ capabilities = ["read"] }}
path "{KV_MOUNT}/data/{QUOTA_DB_PATH}" {{ capabilities = ["read"] }}
path "{KV_MOUNT}/data/tenants/+/spapi" {{ capabilities = ["read"] }}
path "{TRANSIT_MOUNT}/datakey/plaintext/tenant-*" {{ capabilities = ["update"] }}
path "{TRANSIT_MOUNT}/datakey/wrapped/tenant-*" {{ capabilities = ["update"] }}
path "{TRANSIT_MOUNT}/decrypt/tenant-*" {{ capabilities = ["update"] }}
path "{TRANSIT_MOUNT}/encrypt/tenant-*" {{ capabilities = ["update"] }}
{_signing_key_guard()}{_SELF_SERVICE_PATHS}""",
    "onboarding": f"""
# Onboarding a seller: store its refresh token, create its transit key; maintain the LWA app credentials.
# Write only: onboarding never reads a refresh token back (only the pipeline does, to call Amazon).
path "{KV_MOUNT}/data/tenants/+/spapi" {{ capabilities = ["create", "update"] }}
path "{KV_MOUNT}/data/{LWA_APP_PATH}" {{ capabilities = ["create", "update"] }}
# Creating a transit key is an update on keys/<name>. `+` (exactly one segment), not `tenant-*`: a glob
# would also grant update on keys/<name>/config, /rotate and /trim, i.e. the power to make a key deletable
# or to destroy its old versions. The transit mount holds nothing but tenant keys.
path "{TRANSIT_MOUNT}/keys/+" {{ capabilities = ["update", "read"] }}
# The new tenant's analyst Vault role (what its logins are: orchestration/serve/analyst_logins.py).
path "{_TENANT_ANALYST_ROLES}" {{ capabilities = ["create", "update"] }}
{_signing_key_guard()}{_SELF_SERVICE_PATHS}""",  # noqa: S608 - HCL, not SQL
    "erasure": f"""
# Cryptographic erasure of a tenant: destroy its refresh token, delete its transit key.
path "{KV_MOUNT}/data/tenants/+/spapi" {{ capabilities = ["delete"] }}
# Reading metadata (version numbers, never values) lets the certificate count what was destroyed and
# lets verification prove that nothing is left.
path "{KV_MOUNT}/metadata/tenants/+/spapi" {{ capabilities = ["delete", "read"] }}
path "{KV_MOUNT}/destroy/tenants/+/spapi" {{ capabilities = ["update"] }}
# Delete only, no keys/+/config at all: transit itself refuses to delete a key whose deletion_allowed is
# false, and only the key-release duty sets it, for a revoked or terminated tenant (docs/security.md). With
# this token alone an active tenant's key cannot be made deletable, exportable, or deleted.
path "{TRANSIT_MOUNT}/keys/+" {{ capabilities = ["read", "delete"] }}
# Verification that a ciphertext no longer decrypts after the key is gone.
path "{TRANSIT_MOUNT}/decrypt/tenant-*" {{ capabilities = ["update"] }}
# The certificate is signed (and can be checked) by the duty that erases; the `keys/+` rules above do not reach
# the signing key (its guard outranks them).
path "{TRANSIT_MOUNT}/sign/{CERTIFICATE_SIGNING_KEY}" {{ capabilities = ["update"] }}
{_VERIFY_CERTIFICATES}{_ERASE_ANALYST_LOGINS}{_signing_key_guard()}{_SELF_SERVICE_PATHS}""",
    "key-release": f"""
# Releasing a revoked or terminated tenant's key for erasure (orchestration/retain/key_release.py, after it
# has checked the tenant's lifecycle state in the control plane): deletion_allowed, and only to true. Never
# delete, never exportable, never a plaintext backup, never which versions decrypt. `+` (one segment):
# Vault globs only at a path's end, and a `keys/tenant-*` rule would outrank this one.
path "{TRANSIT_MOUNT}/keys/+/config" {{
  capabilities = ["update"]
  allowed_parameters = {{ "deletion_allowed" = [true] }}
}}
# Metadata (versions, deletion_allowed), to tell a key already gone from one to release.
path "{TRANSIT_MOUNT}/keys/+" {{ capabilities = ["read"] }}
{_signing_key_guard()}{_SELF_SERVICE_PATHS}""",
    "rotation": f"""
# Scheduled key rotation of active tenants: rotate, rewrap stored data keys, retire old versions.
path "{TRANSIT_MOUNT}/keys/+/rotate" {{ capabilities = ["update"] }}
# Only min_decryption_version: this duty must never be able to make a key deletable or exportable.
path "{TRANSIT_MOUNT}/keys/+/config" {{
  capabilities = ["update"]
  allowed_parameters = {{ "min_decryption_version" = [] }}
}}
path "{TRANSIT_MOUNT}/keys/+" {{ capabilities = ["read"] }}
path "{TRANSIT_MOUNT}/rewrap/tenant-*" {{ capabilities = ["update"] }}
# Re-sealing an envelope needs its plaintext data key (the header is the AEAD's associated data).
path "{TRANSIT_MOUNT}/decrypt/tenant-*" {{ capabilities = ["update"] }}
{_signing_key_guard()}{_SELF_SERVICE_PATHS}""",
    "compliance": f"""
# Compliance reporting: its own warehouse login (the `compliance` role: audit schema, lifecycle columns, no
# seller data), key metadata for the rotation status (versions and dates; keys are not exportable, so no key
# material), and the policies themselves. Nothing that decrypts, writes or deletes.
path "{KV_MOUNT}/data/{COMPLIANCE_DB_PATH}" {{ capabilities = ["read"] }}
path "{TRANSIT_MOUNT}/keys" {{ capabilities = ["list"] }}
path "{TRANSIT_MOUNT}/keys/+" {{ capabilities = ["read"] }}
path "sys/policies/acl" {{ capabilities = ["list"] }}
path "sys/policies/acl/+" {{ capabilities = ["read"] }}
{_VERIFY_CERTIFICATES}{_signing_key_guard(read=True)}{_SELF_SERVICE_PATHS}""",
    ISSUER_DUTY: f"""
# Issuing analysts' warehouse logins (retkee analysts grant/connect): read a login of any analyst role of the
# logins mount, and set its lifetime (renewing its lease right away; the role's max TTL bounds it). Nothing else:
# no KV, no transit, no role or connection configuration, no other mount.
path "{DB_LOGINS_MOUNT}/creds/{VAULT_ROLE_PREFIX}*" {{ capabilities = ["read"] }}
path "sys/leases/renew/{DB_LOGINS_MOUNT}/creds/{VAULT_ROLE_PREFIX}*" {{ capabilities = ["update"] }}
{_signing_key_guard()}{_SELF_SERVICE_PATHS}""",
}

DUTIES = tuple(POLICIES)

# Short-lived tokens: a run logs in again rather than holding a long token.
APPROLE_SETTINGS = {
    "token_ttl": "1h",
    "token_max_ttl": "4h",
    "token_no_default_policy": True,
    "token_type": "service",
    # OpenBao listens on 127.0.0.1 only, so every legitimate login comes from there.
    "secret_id_bound_cidrs": ["127.0.0.1/32"],
    "token_bound_cidrs": ["127.0.0.1/32"],
    # A secret_id lives a week; `up` issues a fresh one when the stored one stops working.
    "secret_id_ttl": "168h",
}
# A login's lease belongs to the token that read it, and Vault revokes a token's leases when the token expires: the
# issuer's token must outlive the longest login it issues. The command that issues a login never stores it.
DUTY_APPROLE_SETTINGS = {
    ISSUER_DUTY: {"token_ttl": f"{LOGIN_MAX_TTL_HOURS + 1}h", "token_max_ttl": f"{LOGIN_MAX_TTL_HOURS + 1}h"},
}
