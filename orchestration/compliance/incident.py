"""Incident scoping: from the access log, which tenants and data categories were touched, by which runs and
roles, in a time window, and by when Amazon must be told (24 hours after the incident was detected).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

NOTIFICATION_WINDOW = timedelta(hours=24)


@dataclass
class TenantExposure:
    tenant_id: str
    data_categories: set[str] = field(default_factory=set)
    assets: set[str] = field(default_factory=set)
    runs: list[str] = field(default_factory=list)
    roles: set[str] = field(default_factory=set)
    first_access: datetime | None = None
    last_access: datetime | None = None


@dataclass
class IncidentScope:
    since: datetime
    until: datetime
    detected_at: datetime
    tenants: list[TenantExposure]
    runs_without_tenant: list[str]

    @property
    def notify_amazon_by(self) -> datetime:
        return self.detected_at + NOTIFICATION_WINDOW

    def as_dict(self) -> dict:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "detected_at": self.detected_at.isoformat(),
            "notify_amazon_by": self.notify_amazon_by.isoformat(),
            "tenants": [
                {
                    "tenant_id": t.tenant_id,
                    "data_categories": sorted(t.data_categories),
                    "assets": sorted(t.assets),
                    "runs": t.runs,
                    "roles": sorted(t.roles),
                    "first_access": t.first_access.isoformat() if t.first_access else None,
                    "last_access": t.last_access.isoformat() if t.last_access else None,
                }
                for t in self.tenants
            ],
            "runs_without_tenant": self.runs_without_tenant,
        }


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; a date or a time without zone is read as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r} (e.g. 2026-11-20T08:00Z or 2026-11-20)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def scope_incident(
    conn: psycopg.Connection, since: datetime, until: datetime | None = None, detected_at: datetime | None = None
) -> IncidentScope:
    """Every logged run whose activity overlaps [since, until], grouped by tenant."""
    now = datetime.now(UTC)
    until = until or now
    if since > until:
        raise ValueError("--since is after --until")
    rows = conn.execute(
        "select run_id, tenant_id, assets, data_categories, db_role, vault_duty, started_at, ended_at"
        " from audit.access_log"
        " where coalesce(ended_at, started_at, recorded_at) >= %s and coalesce(started_at, recorded_at) <= %s"
        " order by started_at nulls last, run_id",
        (since, until),
    ).fetchall()
    by_tenant: dict[str, TenantExposure] = {}
    without_tenant: list[str] = []
    for run_id, tenant_id, assets, categories, db_role, vault_duty, started, ended in rows:
        if tenant_id is None:
            without_tenant.append(run_id)
            continue
        exposure = by_tenant.setdefault(tenant_id, TenantExposure(tenant_id))
        exposure.runs.append(run_id)
        exposure.assets.update(assets)
        exposure.data_categories.update(categories)
        exposure.roles.add(f"db:{db_role} vault:{vault_duty}")
        if started and (exposure.first_access is None or started < exposure.first_access):
            exposure.first_access = started
        last = ended or started
        if last and (exposure.last_access is None or last > exposure.last_access):
            exposure.last_access = last
    return IncidentScope(
        since=since,
        until=until,
        detected_at=detected_at or now,
        tenants=sorted(by_tenant.values(), key=lambda t: t.tenant_id),
        runs_without_tenant=without_tenant,
    )
