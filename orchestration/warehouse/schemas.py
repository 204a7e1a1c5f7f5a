"""Names of the schemas a tenant owns, validated so that nothing else ever reaches SQL as a name."""

from __future__ import annotations

import re

from psycopg import sql

from orchestration.errors import RetkeeError

TENANT_ID_PATTERN = re.compile(r"^t[0-9a-f]{12}$")
LAYERS = ("raw", "staging", "marts", "quarantine")


class BadIdentifier(RetkeeError, ValueError):
    """An identifier that must not become SQL."""


def check_tenant_id(tenant_id: str) -> str:
    if not isinstance(tenant_id, str) or not TENANT_ID_PATTERN.fullmatch(tenant_id):
        raise BadIdentifier(f"not a tenant id: {tenant_id!r} (expected 't' + 12 hex digits)")
    return tenant_id


def tenant_schema(tenant_id: str, layer: str) -> str:
    if layer not in LAYERS:
        raise BadIdentifier(f"unknown layer {layer!r}; one of {', '.join(LAYERS)}")
    return f"{check_tenant_id(tenant_id)}_{layer}"


def tenant_schemas(tenant_id: str) -> list[str]:
    return [tenant_schema(tenant_id, layer) for layer in LAYERS]


def create_schema_if_missing(schema: str) -> sql.Composed:
    """The statement that creates `schema` only if it does not exist.

    `create schema if not exists` checks CREATE on the database before it looks for the schema, and a tenant's
    owner role has no CREATE there (provisioning.ensure_tenant_owner makes its four schemas): so look first.
    """
    return sql.SQL(
        "do $do$ begin if to_regnamespace({name}) is null then execute format('create schema %I', {name});"
        " end if; end $do$"
    ).format(name=sql.Literal(schema))
