"""Analysts' warehouse logins, issued and expiring: OpenBao's database secrets engine makes them on request.

A login belongs to one analyst group (a tenant's `<tenant>_analyst`, or the all-tenants group of internal staff;
orchestration/warehouse/grants.py) and lives for its lease: 8 hours unless asked otherwise, never more than 24.
At expiry OpenBao ends its sessions and drops it; PostgreSQL refuses its password from the expiry on anyway
(VALID UNTIL). OpenBao works in PostgreSQL as `analyst_login_issuer`, which can only call the administrator's
provisioning.issue/renew/revoke_analyst_login functions (docs/security.md, "Analyst logins", says why not
CREATEROLE).

Who does what (the policies: docs/architecture.md, "Vault layout"): onboarding creates a tenant's Vault role,
the `analyst-issuer` duty reads logins (`creds/analyst-*`) and sets their lifetime, erasure revokes a tenant's
logins and deletes its role. Nothing here writes a password anywhere: it is returned in a `Secret`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg.conninfo import make_conninfo

from orchestration.secrets.redaction import Secret, remember
from orchestration.secrets.vault import Vault, VaultError
from orchestration.warehouse.grants import ALL_TENANTS_SCOPE, ANALYST_GROUP_SUFFIX, ANALYST_LOGIN_ISSUER_ROLE
from orchestration.warehouse.schemas import check_tenant_id

MOUNT = "retkee-warehouse-logins"
CONNECTION = "warehouse"
ISSUER_DUTY = "analyst-issuer"
VAULT_ROLE_PREFIX = "analyst-"
ALL_TENANTS_VAULT_ROLE = VAULT_ROLE_PREFIX + ALL_TENANTS_SCOPE.replace("_", "-")
LOGIN_DEFAULT_TTL = timedelta(hours=8)
LOGIN_MAX_TTL_HOURS = 24
LOGIN_MAX_TTL = timedelta(hours=LOGIN_MAX_TTL_HOURS)

# The login's name says its group: `analyst-t0123456789ab` issues `t0123456789ab_analyst_<12 random>`, and
# `analyst-all-tenants` issues `all_tenants_analyst_<12 random>` (provisioning.issue_analyst_login derives the
# group from the name and refuses any other shape). A tenant's logins start with its id, like all its roles, so
# erasure's inventory and verification see them.
USERNAME_TEMPLATE = (
    '{{ printf "%s' + ANALYST_GROUP_SUFFIX + '_%s" '
    f'(.RoleName | replace "{VAULT_ROLE_PREFIX}" "" | replace "-" "_") (random 12 | lowercase) }}}}'
)
ROLE_STATEMENTS = {
    "creation_statements": ["SELECT provisioning.issue_analyst_login('{{name}}', '{{password}}', '{{expiration}}')"],
    "renew_statements": ["SELECT provisioning.renew_analyst_login('{{name}}', '{{expiration}}')"],
    "revocation_statements": ["SELECT provisioning.revoke_analyst_login('{{name}}')"],
}


def vault_role(tenant_id: str | None) -> str:
    """The Vault role that issues logins of one tenant's group (None: the all-tenants group)."""
    return ALL_TENANTS_VAULT_ROLE if tenant_id is None else f"{VAULT_ROLE_PREFIX}{check_tenant_id(tenant_id)}"


def role_settings() -> dict:
    """What every analyst Vault role is: the same statements (the name carries the group), 8 h, at most 24 h."""
    return {"db_name": CONNECTION, **ROLE_STATEMENTS,
            "default_ttl": int(LOGIN_DEFAULT_TTL.total_seconds()), "max_ttl": int(LOGIN_MAX_TTL.total_seconds())}


def connection_settings(host: str, port: int, dbname: str, ca_file: str) -> dict:
    """OpenBao's connection to the warehouse: TLS verify-full against our CA, as the issuer role."""
    url = (f"postgresql://{{{{username}}}}:{{{{password}}}}@{host}:{port}/{dbname}"
           f"?sslmode=verify-full&sslrootcert={ca_file}")
    return {"plugin_name": "postgresql-database-plugin", "connection_url": url, "username": ANALYST_LOGIN_ISSUER_ROLE,
            "allowed_roles": f"{VAULT_ROLE_PREFIX}*", "username_template": USERNAME_TEMPLATE,
            # OpenBao sends PostgreSQL a SCRAM verifier, never the password itself.
            "password_authentication": "scram-sha-256"}


_DURATION = re.compile(r"(\d+)([smh])")


def parse_ttl(text: str) -> timedelta:
    """`8h`, `90m`, `1h30m`, `30s`: a login's lifetime, from one second to the 24-hour maximum."""
    cleaned = text.strip().lower()
    parts = _DURATION.findall(cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"--ttl must be a duration such as 8h, 90m or 30s (got {text!r})")
    ttl = sum((timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours"}[u]: int(n)}) for n, u in parts),
              timedelta())
    if not timedelta(seconds=1) <= ttl <= LOGIN_MAX_TTL:
        raise ValueError(f"--ttl must be between 1s and {LOGIN_MAX_TTL_HOURS}h (got {text!r})")
    return ttl


@dataclass(frozen=True)
class AnalystLogin:
    username: str
    password: Secret
    expires_at: datetime
    lease_id: str

    def conninfo(self, host: str, port: int, dbname: str, ca_file: str, *, with_password: bool = True) -> str:
        """A libpq connection string (keyword=value, quoted where needed)."""
        params = {"host": host, "port": port, "dbname": dbname, "user": self.username,
                  "sslmode": "verify-full", "sslrootcert": ca_file}
        if with_password:
            params["password"] = self.password.reveal()
        return make_conninfo(**params)


# --- onboarding: a tenant's Vault role ----------------------------------------------------------------------------
def ensure_tenant_role(vault: Vault, tenant_id: str) -> str:
    name = vault_role(tenant_id)
    vault.call(f"{MOUNT}/roles/{name}", vault.client.write, f"{MOUNT}/roles/{name}", plugin_detail=True,
               **role_settings())
    return name


# --- the analyst-issuer duty: a login -------------------------------------------------------------------------
def issue_login(vault: Vault, tenant_id: str | None, ttl: timedelta = LOGIN_DEFAULT_TTL) -> AnalystLogin:
    """A new login in the tenant's group (None: all tenants) living `ttl`.

    Vault gives every login of a role the role's default lifetime; another one is set by renewing the lease with
    that increment right away (shorter or longer, up to the maximum), which also moves PostgreSQL's VALID UNTIL.
    The lease belongs to the issuer's token, which is why that token is not revoked here (that would revoke the
    login with it) and lives as long as the longest login (vault_layout.py)."""
    name = vault_role(tenant_id)
    path = f"{MOUNT}/creds/{name}"
    answer = vault.call(path, vault.client.read, path, plugin_detail=True)
    if answer is None:
        raise VaultError(f"Vault has no analyst role {name}: the tenant was onboarded before analyst logins; "
                         "the stack's bootstrap (`make run`) writes it")
    username, password = answer["data"]["username"], answer["data"]["password"]
    remember(password)
    lease_id, seconds = answer["lease_id"], int(answer["lease_duration"])
    if seconds != int(ttl.total_seconds()):
        renewed = vault.call("sys/leases/renew", vault.client.write, f"sys/leases/renew/{lease_id}",
                             increment=int(ttl.total_seconds()), plugin_detail=True)
        seconds = int(renewed["lease_duration"])
    return AnalystLogin(username, Secret(password), datetime.now(UTC) + timedelta(seconds=seconds), lease_id)


# --- erasure: a tenant's logins and role ------------------------------------------------------------------------
def tenant_role_exists(vault: Vault, tenant_id: str) -> bool:
    path = f"{MOUNT}/roles/{vault_role(tenant_id)}"
    return vault.call(path, vault.client.read, path, plugin_detail=True) is not None


def revoke_tenant_logins(vault: Vault, tenant_id: str) -> dict:
    """Revoke every lease of the tenant's logins (OpenBao ends their sessions and drops them), then delete the
    tenant's Vault role so none is issued again. Re-runnable: both are no-ops the second time."""
    name = vault_role(tenant_id)
    prefix = f"{MOUNT}/creds/{name}"
    vault.call(f"sys/leases/revoke-prefix/{prefix}", vault.client.sys.revoke_prefix, prefix, plugin_detail=True)
    existed = tenant_role_exists(vault, tenant_id)
    if existed:
        vault.call(f"{MOUNT}/roles/{name}", vault.client.delete, f"{MOUNT}/roles/{name}", plugin_detail=True)
    return {"vault_role": f"{MOUNT}/roles/{name}", "leases_revoked": f"{prefix}/*", "vault_role_deleted": existed}
