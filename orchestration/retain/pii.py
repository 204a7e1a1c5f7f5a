"""The PII lifecycle for features that must hold buyer data (multi-channel fulfilment orders, not built yet).

The rule such a feature must follow: each PII value is stored only as a transit ciphertext under the tenant's
key (`seal_pii`), in a table of the tenant's own schemas that has a `delivered_at` column, and the table is
registered in `PII_TABLES`. The retention sensor then launches `purge_expired_pii` daily, which deletes rows
30 days after delivery (policy.PII_RETENTION_AFTER_DELIVERY); erasure destroys the key and the schema with
everything else. Nothing is registered today, so the purge is a no-op and the sensor does not launch it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from orchestration.retain.policy import PII_RETENTION_AFTER_DELIVERY
from orchestration.secrets.vault import Vault
from orchestration.warehouse.schemas import tenant_schema


@dataclass(frozen=True)
class PiiTable:
    layer: str  # one of warehouse.schemas.LAYERS
    table: str
    delivered_at_column: str = "delivered_at"


# Features that hold PII register their tables here (see docs/retention.md, "PII lifecycle").
PII_TABLES: tuple[PiiTable, ...] = ()


def seal_pii(pipeline_vault: Vault, tenant_id: str, value: str) -> str:
    """A PII value as stored: transit ciphertext under the tenant key (unreadable once the key is destroyed)."""
    return pipeline_vault.encrypt_for_tenant(tenant_id, value.encode())


def purge_expired_pii(conn: psycopg.Connection, tenant_id: str, now: datetime,
                      tables: tuple[PiiTable, ...] = PII_TABLES) -> dict[str, int]:
    """Delete PII rows delivered more than 30 days before `now`; returns deleted rows per table."""
    cutoff = now - PII_RETENTION_AFTER_DELIVERY
    deleted: dict[str, int] = {}
    with conn.transaction(), conn.cursor() as cur:
        for pii in tables:
            schema = tenant_schema(tenant_id, pii.layer)
            cur.execute("select to_regclass(%s)", (f'"{schema}"."{pii.table}"',))
            if cur.fetchone()[0] is None:
                continue
            cur.execute(
                sql.SQL("delete from {}.{} where {} < %s").format(
                    sql.Identifier(schema), sql.Identifier(pii.table), sql.Identifier(pii.delivered_at_column)),
                (cutoff,),
            )
            deleted[f"{schema}.{pii.table}"] = cur.rowcount
    return deleted
