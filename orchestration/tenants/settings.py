"""Each tenant's own settings for its marts: the currency converted amounts are reported in, and the lead time
restock quantities are computed for. Kept in `control.tenant_settings` (one row per tenant that changed a
default; a tenant without a row has the defaults) and handed to the tenant's dbt build as dbt vars."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from orchestration.errors import RetkeeError
from orchestration.extract.marketplaces import CURRENCIES
from orchestration.warehouse.schemas import check_tenant_id

DEFAULT_REPORTING_CURRENCY = "USD"
DEFAULT_RESTOCK_LEAD_TIME_DAYS = 30
# A reporting currency is one the marts can convert to: a marketplace currency, or the euro (the ECB's base).
REPORTING_CURRENCIES = CURRENCIES | {"EUR"}
MAX_LEAD_TIME_DAYS = 365

SETTINGS_DDL = f"""
    create table if not exists control.tenant_settings (
        tenant_id               text primary key references control.tenants (tenant_id),
        reporting_currency      text not null default '{DEFAULT_REPORTING_CURRENCY}'
                                check (reporting_currency ~ '^[A-Z]{{3}}$'),
        restock_lead_time_days  integer not null default {DEFAULT_RESTOCK_LEAD_TIME_DAYS}
                                check (restock_lead_time_days between 1 and {MAX_LEAD_TIME_DAYS}),
        updated_at              timestamptz not null default now()
    )
"""


class TenantSettingsError(RetkeeError, ValueError):
    """A setting that cannot be stored; the message says why."""


@dataclass(frozen=True)
class TenantSettings:
    reporting_currency: str = DEFAULT_REPORTING_CURRENCY
    restock_lead_time_days: int = DEFAULT_RESTOCK_LEAD_TIME_DAYS

    def dbt_vars(self) -> dict[str, object]:
        """The dbt vars the models read (macros/fx.sql reporting_currency(), fct_inventory_health)."""
        return {"reporting_currency": self.reporting_currency, "restock_lead_time_days": self.restock_lead_time_days}


def get_settings(conn: psycopg.Connection, tenant_id: str) -> TenantSettings:
    row = conn.execute(
        "select reporting_currency, restock_lead_time_days from control.tenant_settings where tenant_id = %s",
        (check_tenant_id(tenant_id),),
    ).fetchone()
    return TenantSettings(*row) if row else TenantSettings()


def set_settings(
    conn: psycopg.Connection, tenant_id: str, *, reporting_currency: str | None = None,
    restock_lead_time_days: int | None = None,
) -> TenantSettings:
    """Change the given settings (the others keep their value) and return them all."""
    current = get_settings(conn, tenant_id)
    currency = current.reporting_currency if reporting_currency is None else reporting_currency.strip().upper()
    lead_time = current.restock_lead_time_days if restock_lead_time_days is None else restock_lead_time_days
    if currency not in REPORTING_CURRENCIES:
        raise TenantSettingsError(
            f"reporting currency must be one of {', '.join(sorted(REPORTING_CURRENCIES))}, not {currency!r}"
        )
    if not 1 <= lead_time <= MAX_LEAD_TIME_DAYS:
        raise TenantSettingsError(f"restock lead time must be 1 to {MAX_LEAD_TIME_DAYS} days, not {lead_time}")
    with conn.transaction():
        conn.execute(
            "insert into control.tenant_settings (tenant_id, reporting_currency, restock_lead_time_days)"
            " values (%s, %s, %s) on conflict (tenant_id) do update set"
            " reporting_currency = excluded.reporting_currency,"
            " restock_lead_time_days = excluded.restock_lead_time_days, updated_at = now()",
            (check_tenant_id(tenant_id), currency, lead_time),
        )
    return TenantSettings(currency, lead_time)
