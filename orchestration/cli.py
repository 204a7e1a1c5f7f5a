"""`retkee`: the operator's command line for tenants, refreshes and summaries."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta

import typer
from rich.console import Console
from rich.table import Table

from orchestration.defs.resources import open_session
from orchestration.extract.errors import ExtractionError
from orchestration.secrets.redaction import Secret, install_log_redaction
from orchestration.secrets.vault import Vault, VaultError
from orchestration.settings import Settings, SettingsError
from orchestration.tenants.registry import TenantError

app = typer.Typer(help="Retkee Seller Analytics: tenants, refreshes and summaries.", no_args_is_help=True)
tenants_app = typer.Typer(help="Onboard sellers and move tenants through their lifecycle.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
console = Console()
errors = Console(stderr=True)

KNOWN_ERRORS = (TenantError, VaultError, SettingsError, ExtractionError, ValueError)


def _fail(exc: Exception) -> None:
    errors.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(code=1)


@tenants_app.command("add")
def tenants_add(
    seller_id: str = typer.Option(..., help="Amazon selling partner id, e.g. A1B2C3D4E5F6G7"),
    region: str = typer.Option("na", help="SP-API region: na, eu or fe"),
    marketplace: list[str] = typer.Option(..., help="Marketplace id; repeat for several"),
) -> None:
    """Onboard a seller: the refresh token is read from standard input (never from arguments)."""
    from orchestration.tenants.onboarding import onboard_seller

    token = sys.stdin.readline().strip()
    if not token:
        _fail(TenantError("no refresh token on standard input"))
    try:
        settings = Settings.from_env()
        with open_session(settings) as session:
            tenant = onboard_seller(
                session.conn,
                Vault(settings.for_duty("onboarding")),
                seller_id=seller_id,
                region=region,
                marketplace_ids=marketplace,
                refresh_token=Secret(token),
            )
    except KNOWN_ERRORS as exc:
        _fail(exc)
    console.print(f"onboarded seller as tenant [bold]{tenant.tenant_id}[/bold]")


@tenants_app.command("list")
def tenants_list(
    status: str | None = typer.Option(None, help="Only tenants in this lifecycle state"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line, for scripts"),
) -> None:
    """List tenants with their lifecycle state."""
    try:
        with open_session() as session:
            tenants = session.registry.list(status)
    except KNOWN_ERRORS as exc:
        _fail(exc)
    if as_json:
        for t in tenants:
            print(json.dumps({**t.__dict__}, default=str))
        return
    table = Table("tenant", "seller", "region", "marketplaces", "status", "since")
    for t in tenants:
        table.add_row(t.tenant_id, t.seller_id or "-", t.region, ",".join(t.marketplace_ids), t.status,
                      t.status_changed_at.isoformat(timespec="seconds"))
    console.print(table)


@tenants_app.command("show")
def tenants_show(tenant_id: str) -> None:
    """Show one tenant."""
    try:
        with open_session() as session:
            tenant = session.registry.get(tenant_id)
    except KNOWN_ERRORS as exc:
        _fail(exc)
    for key, value in tenant.__dict__.items():
        console.print(f"{key:22} {value}")


def _set_status(tenant_id: str, status: str, reason: str) -> None:
    try:
        with open_session() as session:
            tenant = session.registry.set_status(tenant_id, status, reason)
    except KNOWN_ERRORS as exc:
        _fail(exc)
    console.print(f"tenant {tenant.tenant_id} is now {tenant.status}")


@tenants_app.command("revoke")
def tenants_revoke(tenant_id: str, reason: str = typer.Option("revoked by operator")) -> None:
    """Mark a tenant revoked (the seller withdrew our authorization); erasure follows."""
    _set_status(tenant_id, "revoked", reason)


@tenants_app.command("terminate")
def tenants_terminate(tenant_id: str, reason: str = typer.Option("subscription ended")) -> None:
    """Mark a tenant terminated (the subscription ended); erasure follows."""
    _set_status(tenant_id, "terminated", reason)


@app.command("refresh")
def refresh_command(
    days: int = typer.Option(7, min=1, max=730, help="How many days back, ending at --end"),
    end: str | None = typer.Option(None, help="Last day to extract (UTC, YYYY-MM-DD); default yesterday"),
    tenant: list[str] = typer.Option([], help="Only these tenants; default every active tenant"),
) -> None:
    """Extract the orders report for each active tenant and day, then build each tenant's marts."""
    from orchestration.refresh import day_range, refresh

    try:
        last = date.fromisoformat(end) if end else (datetime.now(UTC) - timedelta(days=1)).date()
        with open_session() as session:
            tenant_ids = tenant or [t.tenant_id for t in session.registry.list("active")]
    except KNOWN_ERRORS as exc:
        _fail(exc)
    if not tenant_ids:
        _fail(TenantError("no active tenants; onboard one with `retkee tenants add`"))
    report = refresh(tenant_ids, day_range(last, days), progress=console.print)
    console.print(f"{len(report.succeeded)} runs succeeded, {len(report.failed)} failed")
    if report.failed:
        raise typer.Exit(code=1)


@app.command("summary")
def summary_command() -> None:
    """Rows per table and the top 5 SKUs by revenue for every active tenant."""
    from orchestration.serve.summary import table_counts, top_skus

    try:
        with open_session() as session:
            for tenant in session.registry.list("active"):
                console.rule(f"tenant {tenant.tenant_id} (seller {tenant.seller_id})")
                counts = Table("schema", "table", "rows")
                for count in table_counts(session.conn, tenant):
                    counts.add_row(count.schema, count.table, str(count.rows))
                console.print(counts)
                top = Table("sku", "currency", "revenue", "units", title="top 5 SKUs by revenue")
                for sku, currency, revenue, units in top_skus(session.conn, tenant):
                    top.add_row(sku, currency, f"{revenue:,.2f}", str(units))
                console.print(top)
    except KNOWN_ERRORS as exc:
        _fail(exc)


def main() -> None:
    install_log_redaction()
    app()


if __name__ == "__main__":
    main()
