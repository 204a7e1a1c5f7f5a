"""`retkee`: the operator's command line for tenants, refreshes and summaries."""

from __future__ import annotations

import json
import os
import sys
import warnings
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from orchestration.errors import RetkeeError
from orchestration.secrets.redaction import Secret, install_log_redaction
from orchestration.settings import Settings, SettingsError, load_settings_file, require_dagster_storage
from orchestration.tenants.registry import TenantError
from orchestration.warehouse.schemas import check_tenant_id


class WarehouseUnreachable(RetkeeError):
    """The warehouse refused or dropped the connection."""


# What a command may fail with and still only needs telling: our own refusals, and the standard library's and
# libpq's on what the user gave (a date that is no date, a path that cannot be read or written, a warehouse that
# does not answer). Anything else is a bug, and keeps its traceback.
KNOWN_ERRORS = (RetkeeError, ValueError, OSError, psycopg.OperationalError)


class RetkeeCommands(TyperGroup):
    """Every command's known failure becomes one error line and exit code 1, here, in one place."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KNOWN_ERRORS as exc:
            _fail(exc)


app = typer.Typer(help="Retkee Seller Analytics: tenants, refreshes and summaries.", no_args_is_help=True,
                  cls=RetkeeCommands)
tenants_app = typer.Typer(help="Onboard sellers and move tenants through their lifecycle.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
compliance_app = typer.Typer(help="Evidence for privacy reviews: the compliance report.", no_args_is_help=True)
app.add_typer(compliance_app, name="compliance")
incident_app = typer.Typer(help="Security incidents: who and what a window of activity touched.", no_args_is_help=True)
app.add_typer(incident_app, name="incident")
costs_app = typer.Typer(help="Sellers' unit costs (cost of goods) for margins.", no_args_is_help=True)
app.add_typer(costs_app, name="costs")
fx_app = typer.Typer(help="Exchange rates (ECB euro reference rates) for converted amounts.", no_args_is_help=True)
app.add_typer(fx_app, name="fx")
erasure_app = typer.Typer(help="Erasure certificates: proof that erased tenants are gone.", no_args_is_help=True)
app.add_typer(erasure_app, name="erasure")
analysts_app = typer.Typer(help="Analysts' warehouse logins: read-only, one tenant's marts (or all), expiring.",
                           no_args_is_help=True)
app.add_typer(analysts_app, name="analysts")
console = Console()
errors = Console(stderr=True)


# Start-up: `retkee --help` must answer at once, so what only some commands need (the Vault client, Dagster,
# dbt, great-expectations) is imported by the command that needs it, never here.
def open_session(settings: Settings | None = None):
    """orchestration/session.py's session (Vault, warehouse, landing zone), imported when a command opens it."""
    from orchestration.session import open_session as open_platform_session

    return open_platform_session(settings)


# An error is one line a person can read: what the user typed may be anything (markup, control characters,
# a megabyte), so it is folded to one line, cut, and never interpreted as Rich markup.
MAX_ERROR_CHARACTERS = 400


def error_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
    if len(text) > MAX_ERROR_CHARACTERS:
        text = text[: MAX_ERROR_CHARACTERS - 1] + "…"
    return text


def _fail(exc: BaseException) -> None:
    if isinstance(exc, psycopg.OperationalError):
        # libpq's text names host and port only, never the password.
        exc = WarehouseUnreachable(f"warehouse unreachable: {str(exc).strip().splitlines()[0]}")
    errors.print("[red]error:[/red] " + escape(error_line(exc)), soft_wrap=True)
    raise typer.Exit(code=1)


@tenants_app.command("add")
def tenants_add(
    seller_id: str = typer.Option(..., help="Amazon selling partner id, e.g. A1B2C3D4E5F6G7"),
    region: str = typer.Option("na", help="SP-API region: na, eu or fe"),
    marketplace: list[str] = typer.Option(..., help="Marketplace id; repeat for several"),
) -> None:
    """Onboard a seller: the refresh token is read from standard input (never from arguments)."""
    from orchestration.secrets.vault import Vault
    from orchestration.tenants.onboarding import onboard_seller

    token = sys.stdin.readline().strip()
    if not token:
        raise TenantError("no refresh token on standard input")
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
    console.print(f"onboarded seller as tenant [bold]{tenant.tenant_id}[/bold]")


OUTPUTS = ("table", "json", "csv")


def _id_column(table: Table, header: str) -> None:
    """An id column is never cut: ids are what the next command takes, so they fold rather than end in '…'."""
    table.add_column(header, no_wrap=True, overflow="fold", min_width=13)


def _print_rows(rows: list[dict], output: str, table: Table, cells) -> None:
    """Print list rows as a table (for people), JSON lines or CSV (for scripts: every field, nothing cut)."""
    if output not in OUTPUTS:
        raise ValueError(f"--output must be one of {', '.join(OUTPUTS)} (got {output!r})")
    if output == "json":
        for row in rows:
            print(json.dumps(row, default=str))
    elif output == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ",".join(v) if isinstance(v, list | tuple) else v for k, v in row.items()}
                         for row in rows)
    else:
        for row in rows:
            table.add_row(*cells(row))
        console.print(table)


@tenants_app.command("list")
def tenants_list(
    status: str | None = typer.Option(None, help="Only tenants in this lifecycle state"),
    output: str = typer.Option("table", help="table, json (one object per line) or csv"),
    as_json: bool = typer.Option(False, "--json", help="Same as --output json"),
) -> None:
    """List tenants with their lifecycle state."""
    with open_session() as session:
        tenants = session.registry.list(status)
    table = Table(title=None)
    _id_column(table, "tenant")
    _id_column(table, "seller")
    for header in ("region", "marketplaces", "status", "since"):
        table.add_column(header)
    rows = [{**t.__dict__, "marketplace_ids": list(t.marketplace_ids)} for t in tenants]
    _print_rows(rows, "json" if as_json else output, table, lambda r: (
        r["tenant_id"], r["seller_id"] or "-", r["region"], ",".join(r["marketplace_ids"]), r["status"],
        r["status_changed_at"].isoformat(timespec="seconds")))


@tenants_app.command("show")
def tenants_show(tenant_id: str) -> None:
    """Show one tenant."""
    with open_session() as session:
        tenant = session.registry.get(tenant_id)
    for key, value in tenant.__dict__.items():
        console.print(f"{key:22} {value}", markup=False, highlight=False)


@tenants_app.command("settings")
def tenants_settings(
    tenant_id: str,
    reporting_currency: str | None = typer.Option(None, help="Currency converted amounts are reported in (USD)"),
    lead_time_days: int | None = typer.Option(None, help="Restock lead time in days for inventory health (30)"),
) -> None:
    """Show a tenant's mart settings, or change the ones given; marts use them from the next build."""
    from orchestration.tenants.settings import get_settings, set_settings

    with open_session() as session:
        tenant = session.registry.get(tenant_id)
        if reporting_currency is None and lead_time_days is None:
            current = get_settings(session.conn, tenant.tenant_id)
        else:
            current = set_settings(session.conn, tenant.tenant_id, reporting_currency=reporting_currency,
                                   restock_lead_time_days=lead_time_days)
    console.print(f"reporting_currency      {current.reporting_currency}", markup=False, highlight=False)
    console.print(f"restock_lead_time_days  {current.restock_lead_time_days}", markup=False, highlight=False)


def _set_status(tenant_id: str, status: str, reason: str) -> None:
    from orchestration.tenants.lifecycle import change_status

    with open_session() as session:
        change = change_status(session.registry, tenant_id, status, reason)
    if not change.changed:
        console.print(f"tenant {change.after.tenant_id} was already {status} (since "
                      f"{change.before.status_changed_at.isoformat(timespec='seconds')}); nothing changed",
                      markup=False)
        return
    console.print(f"tenant {change.after.tenant_id} is now {change.after.status}", markup=False)


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
    snapshots: bool = typer.Option(
        True, help="Also take today's snapshots (inventory, listings, estimated fees, inbound shipments)"
    ),
    marts: bool = typer.Option(True, help="Build each tenant's marts after its extraction"),
) -> None:
    """Extract every dataset for each active tenant and day, then build each tenant's marts."""
    # Loading the code location needs the dbt manifest (`make manifest`): a checkout without it is told so.
    from orchestration.refresh import day_range, refresh, runs_planned
    from orchestration.tenants.lifecycle import tenants_to_refresh

    require_dagster_storage()
    last = date.fromisoformat(end) if end else (datetime.now(UTC) - timedelta(days=1)).date()
    with open_session() as session:
        tenant_ids = tenants_to_refresh(session.registry, tenant)
    window = day_range(last, days)
    runs = runs_planned(len(tenant_ids), window, snapshots=snapshots, marts=marts)
    event_log = Path(os.environ["RETKEE_LOG_DIR"]) / "dagster-runs.log" if os.environ.get("RETKEE_LOG_DIR") else None
    with _run_progress(runs) as progress:
        report = refresh(tenant_ids, window, progress=progress, snapshots=snapshots, marts=marts,
                         event_log=event_log)
    console.print(f"{len(report.succeeded)} runs succeeded, {len(report.failed)} failed")
    if event_log is not None and (resolved := event_log.resolve()).is_relative_to(Path.cwd()):
        event_log = resolved.relative_to(Path.cwd())  # `make run`'s .data/log/..., short on 80 columns
    where = f"{event_log} and " if event_log else ""
    console.print(f"Dagster's events: {where}the Dagster UI (Runs)", markup=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(code=1)


@app.command("backfill")
def backfill_command(
    tenant: str = typer.Argument(..., help="The tenant whose history to fetch"),
    first: str = typer.Option(..., "--from", help="First day (UTC, YYYY-MM-DD)"),
    last: str | None = typer.Option(None, "--to", help="Last day (UTC, YYYY-MM-DD); default yesterday"),
    marts: bool = typer.Option(True, help="Build the tenant's marts after its extraction"),
) -> None:
    """Fetch a tenant's history over a range of days, with the fewest calls Amazon's report windows allow (one
    run per stretch of days), then build its marts."""
    from orchestration.refresh import backfill_days, refresh, runs_planned

    first_day = date.fromisoformat(first)
    last_day = date.fromisoformat(last) if last else (datetime.now(UTC) - timedelta(days=1)).date()
    days = backfill_days(first_day, last_day)  # refused before anything else is opened
    require_dagster_storage()
    with open_session() as session:
        tenant_ids = _active_tenant(session.registry, tenant)
    event_log = Path(os.environ["RETKEE_LOG_DIR"]) / "dagster-runs.log" if os.environ.get("RETKEE_LOG_DIR") else None
    with _run_progress(runs_planned(1, days, snapshots=False, marts=marts)) as progress:
        report = refresh(tenant_ids, days, progress=progress, snapshots=False, marts=marts, event_log=event_log)
    console.print(f"backfill {tenant_ids[0]} {days[0]}..{days[-1]} ({len(days)} days): {len(report.succeeded)} "
                  f"runs succeeded, {len(report.failed)} failed", markup=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(code=1)


def _active_tenant(registry, tenant_id: str) -> list[str]:
    """The one tenant a backfill runs for, which must exist and be active (a stopped tenant is not extracted)."""
    found = registry.get(tenant_id)
    if found.status != "active":
        raise TenantError(f"tenant {found.tenant_id} is {found.status}; nothing is extracted for it")
    return [found.tenant_id]


@contextmanager
def _run_progress(runs: int):
    """On a terminal, a progress bar over the refresh's runs with a line per finished run above it; elsewhere
    (CI, a pipe) the lines alone. Lines are printed as text, never as Rich markup."""
    if not console.is_terminal:
        yield lambda line: console.print(line, markup=False, highlight=False)
        return
    # On a terminal the bar is the progress: only a failed run gets a line of its own.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("refresh"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("runs", total=runs)

        def advance(line: str) -> None:
            if not line.startswith("ok "):
                bar.console.print(line, markup=False, highlight=False)
            bar.advance(task)

        yield advance


@app.command("summary")
def summary_command(
    tables: bool = typer.Option(False, "--tables", help="Rows of every table, not only per layer"),
) -> None:
    """Rows held per tenant, each seller's P&L (from fct_profit_and_loss) and top 3 SKUs by revenue."""
    from orchestration.serve.summary import layer_counts, profit_and_loss, table_counts, top_skus

    with open_session() as session:
        tenants = session.registry.list("active")
        held = Table(title="rows held", title_justify="left")
        _id_column(held, "tenant")
        _id_column(held, "seller")
        for layer in ("raw", "staging", "marts", "quarantine"):
            held.add_column(layer, justify="right")
        pnl: list[tuple[str, object]] = []
        for tenant in tenants:
            tables_held = table_counts(session.conn, tenant)  # counted once, for both views
            counts = layer_counts(tables_held)
            held.add_row(tenant.tenant_id, tenant.seller_id or "-", *(f"{counts[k]:,}" for k in counts))
            pnl += [(tenant.seller_id or tenant.tenant_id, p) for p in profit_and_loss(session.conn, tenant)]
            if tables:
                detail = Table("schema", "table", "rows", title=f"tables of {tenant.tenant_id}")
                for count in tables_held:
                    detail.add_row(count.schema, count.table, f"{count.rows:,}")
                console.print(detail)
        console.print(held)
        if pnl:
            console.print(_pnl_table(pnl, every_line=tables))
        top = Table("seller", "sku", "currency", "revenue", "units", title="top 3 SKUs by revenue",
                    title_justify="left")
        for tenant in tenants:
            for sku, currency, revenue, units in top_skus(session.conn, tenant, limit=3):
                top.add_row(tenant.seller_id, sku, currency, f"{revenue:,.2f}", str(units))
        console.print(top)


@app.command("report")
def report_command(
    tenant_id: str,
    first: str | None = typer.Option(None, "--from", help="First local day (YYYY-MM-DD); default 29 days before --to"),
    last: str | None = typer.Option(None, "--to", help="Last local day (YYYY-MM-DD); default the P&L's last day"),
    out: str | None = typer.Option(None, help="HTML file (default .data/reports/seller-<tenant>.html)"),
) -> None:
    """Write a tenant's seller page: P&L waterfall, sales and net profit per day with 7-day trends, best and worst
    margins, stock-out risks; one self-contained HTML file, from the tenant's marts."""
    from orchestration.serve.seller_page import default_page_path, gather, parse_day
    from orchestration.serve.seller_page_render import render_html

    check_tenant_id(tenant_id)
    window = (parse_day(first, "--from") if first else None, parse_day(last, "--to") if last else None)
    with open_session() as session:
        tenant = session.registry.get(tenant_id)
        page = gather(session.conn, tenant.tenant_id, *window)
        path = Path(out) if out else default_page_path(session.settings, tenant.tenant_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(page), encoding="utf-8")
    console.print(f"seller page of {tenant_id} ({page.window.first} to {page.window.last}, "
                  f"{len(page.sections)} currencies) written to {path}", markup=False)


def _pnl_table(pnl: list[tuple[str, object]], every_line: bool = False) -> Table:
    """One column per seller and currency (amounts in different currencies are never added), one row per P&L
    line that is not zero for everyone, then net profit and margin. By default only the lines that make net
    profit (the seller page's waterfall); `every_line` adds those shown but not counted (shipped sales, taxes,
    reserves)."""
    from orchestration.serve.seller_page import pnl_columns

    counted = set(pnl_columns())
    caption = ("net profit = net sales + the lines below it + cost of goods; shipped sales, taxes and reserves "
               "are shown, not counted (docs/marts.md)" if every_line else
               "net profit = net sales + the lines below (docs/marts.md; all lines: --tables)")
    table = Table(title="profit and loss (fct_profit_and_loss, marketplace currency)", title_justify="left",
                  caption=caption, caption_justify="left")
    table.add_column("line", no_wrap=True)
    for seller, p in pnl:
        # "SELLER CUR" folds to two header lines on 80 columns (the seller id whole, never cut).
        table.add_column(f"{seller} {p.currency}", justify="right", overflow="fold")
    for line in pnl[0][1].lines:
        if line != "net_profit" and (all(not p.lines[line] for _, p in pnl) or not (every_line or line in counted)):
            continue
        style = "bold" if line in ("net_sales", "net_profit") else None
        table.add_row(line.replace("_", " "), *(f"{p.lines[line]:,.2f}" for _, p in pnl), style=style)
    table.add_row("margin %", *("-" if p.margin_pct is None else f"{p.margin_pct:.1f}" for _, p in pnl))
    return table


@costs_app.command("import")
def costs_import(
    file: str = typer.Argument(..., help="CSV with columns sku, unit_cost, currency, valid_from ('-': stdin)"),
    tenant: str = typer.Option(..., help="The tenant the costs belong to"),
) -> None:
    """Import unit costs: the file is read row by row within limits (docs/operations.md); a file with any bad row
    imports nothing."""
    from orchestration.costs.store import import_unit_costs
    from orchestration.costs.validate import check_unit_costs
    from orchestration.csv_input import CsvLimits, csv_records, open_csv_file
    from orchestration.tenants.lifecycle import require_active

    check_tenant_id(tenant)
    limits = CsvLimits.from_env()
    with open_csv_file(file, limits) as source, open_session() as session:
        found = require_active(session.registry.get(tenant), "its costs are not imported")
        session.conn.commit()  # the import runs in the tenant's scope, which starts outside a transaction
        rows = check_unit_costs(csv_records(source, limits))
        result = import_unit_costs(session.conn, found.tenant_id, rows,
                                   source_name="<stdin>" if file == "-" else file)
    # One line on 80 columns; every imported row keeps the import id (_import_id). Marts use the costs from
    # their next build.
    console.print(f"imported {result.rows} unit costs for {result.skus} SKUs, import {result.import_id}",
                  markup=False)


@fx_app.command("import")
def fx_import(
    file: str = typer.Argument(..., help="CSV in the ECB's eurofxref-hist.csv layout: Date,USD,JPY,..."),
) -> None:
    """Import euro reference rates: the file is read within the same limits as unit costs; a file with any bad
    row imports nothing."""
    from orchestration.csv_input import CsvLimits, csv_records, open_csv_file
    from orchestration.fx.parse import check_ecb_rates
    from orchestration.fx.store import import_fx_rates

    limits = CsvLimits.from_env()
    with open_csv_file(file, limits) as source:
        rates = check_ecb_rates(csv_records(source, limits))
    with open_session() as session:
        result = import_fx_rates(session.conn, rates, source_name=file)
    # One line on 80 columns, like the costs import's.
    console.print(f"{result.rates} rates {result.first_day}..{result.last_day} imported as {result.import_id}",
                  markup=False)


def _sync_access_log() -> None:
    """Bring audit.access_log up to date with Dagster's runs (also those run in-process by `refresh`)."""
    from dagster import DagsterInstance

    from orchestration.compliance.access_log import sync_access_log

    require_dagster_storage()
    with DagsterInstance.get() as instance, open_session() as session:
        sync_access_log(instance, session.conn)


@compliance_app.command("report")
def compliance_report_command(
    output: str | None = typer.Option(None, help="HTML file (default .data/reports/compliance-report.html)"),
) -> None:
    """Write the HTML compliance report: the privacy promises judged from the live system, inventory, retention
    caps, tenant lifecycle, erasure requests and certificates, keys, grants, last audit; print whether each promise
    holds, and each tenant dataset's oldest day held against its cap (past its cap in red)."""

    from orchestration.compliance.report import default_report_path, write_report
    from orchestration.compliance.session import compliance_session

    _sync_access_log()
    with compliance_session() as session:
        path = Path(output) if output else default_report_path(session.settings)
        report = write_report(session, path)
    from orchestration.compliance.promises import promises

    tenants = sum(len(t) for t in report.tenants_by_state.values())
    console.print(f"compliance report written to {path} ({tenants} tenants, {len(report.keys)} tenant keys)",
                  markup=False)
    for promise in promises(report):
        why = f" ({'; '.join(promise.problems)})" if promise.problems else ""
        console.print(f"promise {promise.number} {'holds' if promise.holds else 'FAILS'}: {promise.promise}{why}",
                      markup=False, soft_wrap=True, style=None if promise.holds else "bold red")
    _print_retention_caps(report)


def _print_retention_caps(report) -> None:
    """Per tenant and dataset: the oldest day held, its cap and legal basis; anything past its cap in red."""
    if report.oldest_held is None:
        errors.print("[red]retention caps: the warehouse cannot tell the oldest day held "
                     "(audit.oldest_days_held is missing)[/red]")
        return
    table = Table(title="retention caps: oldest day held", box=box.SIMPLE_HEAD)
    widest = max([len(row["dataset"]) for row in report.oldest_held] + [7])
    for column, width in (("tenant", 13), ("dataset", widest), ("oldest\nheld", 10), ("cap\n(months)", 8),
                          ("kept\nfrom", 10)):
        table.add_column(column, no_wrap=True, min_width=width)
    table.add_column("legal basis")
    for row in report.oldest_held:
        table.add_row(row["tenant_id"], row["dataset"], row["oldest_day_held"], str(row["cap_months"]),
                      row["oldest_day_kept"], row["legal_basis"], style="bold red" if row["past_cap"] else None)
    # Ids, names and days are never cut: a pipe (a file, grep, a test) gets whole rows, a terminal its own width.
    (console if console.is_terminal else Console(width=200)).print(table)
    if report.past_cap:
        console.print(f"[bold red]{len(report.past_cap)} tenant dataset(s) hold data older than the cap[/bold red]")
    else:
        console.print("every dataset is within its cap; logs kept "
                      f"{report.log_retention_months} months")


@incident_app.command("scope")
def incident_scope_command(
    since: str = typer.Option(..., help="Start of the suspicious window (ISO 8601, UTC if no zone)"),
    until: str | None = typer.Option(None, help="End of the window (default now)"),
    detected: str | None = typer.Option(None, help="When the incident was detected (default now)"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Which tenants and data categories runs and roles touched in a window, and the 24-hour deadline."""
    from orchestration.compliance.incident import parse_instant, scope_incident
    from orchestration.compliance.session import compliance_session

    window = (parse_instant(since), parse_instant(until) if until else None,
              parse_instant(detected) if detected else None)
    _sync_access_log()
    with compliance_session() as session:
        scope = scope_incident(session.conn, *window)
    if as_json:
        print(json.dumps(scope.as_dict(), indent=2))
        return
    console.print(f"window {scope.since.isoformat()} .. {scope.until.isoformat()}; detected "
                  f"{scope.detected_at.isoformat(timespec='minutes')}")
    console.print(f"[bold]notify Amazon by {scope.notify_amazon_by.isoformat(timespec='minutes')}[/bold] (24 h)")
    table = Table("tenant", "data categories", "assets", "runs", "roles", "first", "last")
    for t in scope.tenants:
        table.add_row(t.tenant_id, ", ".join(sorted(t.data_categories)) or "-", ", ".join(sorted(t.assets)),
                      str(len(t.runs)), "; ".join(sorted(t.roles)),
                      t.first_access.isoformat(timespec="minutes") if t.first_access else "-",
                      t.last_access.isoformat(timespec="minutes") if t.last_access else "-")
    console.print(table)
    console.print(f"{len(scope.tenants)} tenants touched; {len(scope.runs_without_tenant)} runs without a tenant")


# --- retention: data-subject export and erasure (docs/retention.md) ---------------------------------------
@tenants_app.command("export")
def tenants_export(
    tenant_id: str,
    out: str = typer.Option(..., help="Directory to write into (created; must be empty)"),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet"),
) -> None:
    """Write everything we hold about a tenant: each table as a file, plus manifest.json (rows, SHA-256)."""

    from orchestration.retain.export import export_tenant

    with open_session() as session:
        manifest = export_tenant(session.conn, session.landing, tenant_id, Path(out), fmt)
    rows = sum(f["rows"] for f in manifest["files"])
    console.print(f"exported {len(manifest['files'])} tables ({rows} rows) of tenant {tenant_id} to {out}",
                  markup=False)


@tenants_app.command("erase")
def tenants_erase(
    tenant_id: str,
    yes: bool = typer.Option(False, "--yes", help="Confirm: erasure is final and cannot be undone"),
    requested_by: str = typer.Option("seller", help="Who asked: seller or operator"),
    request_id: str | None = typer.Option(None, help="The data subject's request id (e.g. DSR-2026-0042), kept "
                                          "with the request and shown in the certificate and compliance report"),
) -> None:
    """Erase a tenant now (the seller asked for deletion): terminate it, run the erasure, print its certificate."""
    from dagster import DagsterInstance

    from orchestration.retain.certificate import check_request_id, read_certificate
    from orchestration.tenants.lifecycle import file_deletion_request

    if not yes:
        raise TenantError("erasure destroys the tenant's data and key for good; add --yes to confirm")
    from orchestration.erasure_now import run_erasure_now  # needs the dbt manifest: told in one line if absent

    if request_id is not None:
        check_request_id(request_id)  # before anything changes
    require_dagster_storage()  # before anything is recorded: the erasure runs through Dagster
    with open_session() as session:
        recorded = file_deletion_request(session.conn, session.registry, tenant_id, requested_by, request_id)
    if recorded is not None and recorded.request_id != request_id:
        errors.print(f"note: tenant {tenant_id}'s erasure was requested at "
                     f"{recorded.requested_at.isoformat(timespec='seconds')} with request id "
                     f"{recorded.request_id or '(none)'}; that request is the one recorded",
                     markup=False, soft_wrap=True)
    with DagsterInstance.get() as instance:
        ok, failure = run_erasure_now(tenant_id, instance)
    if not ok:
        raise TenantError(f"erasure of {tenant_id} did not finish: {failure}; run the command again")
    with open_session() as session:
        certificate = read_certificate(session.conn, tenant_id)
    request = f" (request {certificate.request_id})" if certificate.request_id else ""
    console.print(f"tenant {tenant_id} erased by run {certificate.run_id}{request}; verified: {certificate.verified}",
                  markup=False, soft_wrap=True)


@erasure_app.command("certificates")
def erasure_certificates(
    tenant: str | None = typer.Option(None, help="Only this tenant's certificate"),
    as_json: bool = typer.Option(False, "--json", help="The full certificates, one JSON object per line"),
) -> None:
    """List erasure certificates: which tenant, when, what was destroyed, whether verification passed."""
    from orchestration.retain.certificate import list_certificates

    if tenant is not None:
        check_tenant_id(tenant)
    with open_session() as session:
        certificates = [c for c in list_certificates(session.conn) if tenant in (None, c.tenant_id)]
    if tenant is not None and not certificates:
        raise TenantError(f"no erasure certificate for tenant {tenant}: it has not been erased")
    if as_json:
        for c in certificates:
            print(json.dumps(c.summary(), default=str))
        return
    table = Table("tenant", "trigger", "request id", "requested", "finished", "schemas", "tables", "landing",
                  "key versions", "verified", "run")
    for c in certificates:
        d = c.destroyed
        table.add_row(c.tenant_id, c.trigger, escape(c.request_id or "-"),
                      c.requested_at.isoformat(timespec="seconds") if c.requested_at else "-",
                      c.finished_at.isoformat(timespec="seconds"), str(len(d["schemas"])), str(d["tables"]),
                      str(d["landing_objects"]), ",".join(str(v) for v in d["transit_key"]["versions"]) or "-",
                      "yes" if c.verified else "NO", c.run_id[:8])
    console.print(table)


@erasure_app.command("verify")
def erasure_verify(tenant_id: str) -> None:
    """Check a certificate's Vault signature and that every recorded field (the destroyed inventory included) is
    the signed one; exit 0 if so, 1 if it was altered or is unsigned. Runs as the compliance officer."""
    from orchestration.compliance.session import compliance_session
    from orchestration.retain.certificate import check_certificate, read_certificate
    from orchestration.secrets.vault import CERTIFICATE_SIGNING_KEY, TRANSIT_MOUNT

    check_tenant_id(tenant_id)
    with compliance_session() as session:
        certificate = read_certificate(session.conn, tenant_id)
        if certificate is None:
            raise TenantError(f"no erasure certificate for tenant {tenant_id}: it has not been erased")
        check = check_certificate(certificate, session.vault)
    key = f"{TRANSIT_MOUNT}/keys/{CERTIFICATE_SIGNING_KEY}"
    signature_line = {
        "valid": f"signature: valid ({key}, version {check.signature_key_version})",
        "invalid": f"signature: INVALID: the signed record is not what {key} signed",
        "missing": "signature: MISSING: this certificate was never signed",
    }[check.signature]
    inventory = [f for f in check.altered_fields if f == "destroyed" or f.startswith("destroyed.")]
    others = [f for f in check.altered_fields if f not in inventory]
    signed = check.signature != "missing"
    console.print(signature_line, markup=False)
    console.print("inventory: " + ("cannot be checked (unsigned)" if not signed else
                                   f"ALTERED: {', '.join(inventory)} differ from the signed record" if inventory
                                   else "as signed"), markup=False)
    console.print("other fields: " + ("cannot be checked (unsigned)" if not signed else
                                      f"ALTERED: {', '.join(others)} differ from the signed record" if others
                                      else "as signed"), markup=False)
    verdict = "VALID" if check.valid else ("UNSIGNED" if not signed else "ALTERED")
    console.print(f"certificate of tenant {tenant_id}: {verdict}", markup=False)
    if not check.valid:
        raise typer.Exit(code=1)


def _issue_analyst_login(tenant_id: str | None, all_tenants: bool, ttl: str):
    """A login for one active tenant's marts (or every tenant's, for staff), and the settings it is for."""
    from orchestration.secrets.vault import Vault
    from orchestration.serve.analyst_logins import ISSUER_DUTY, issue_login, parse_ttl
    from orchestration.tenants.lifecycle import check_analyst_access

    if (tenant_id is None) == (not all_tenants):
        raise TenantError("name one tenant, or --all-tenants for internal staff (not both)")
    lifetime = parse_ttl(ttl)
    if tenant_id is not None:
        check_tenant_id(tenant_id)
        with open_session() as session:
            check_analyst_access(session.registry.get(tenant_id))
    settings = Settings.from_env()
    login = issue_login(Vault(settings.for_duty(ISSUER_DUTY)), tenant_id, lifetime)
    return login, settings


def _login_target(settings: Settings) -> dict:
    return {"host": settings.pg_host, "port": settings.pg_port, "dbname": settings.pg_database,
            "ca_file": str(Path(settings.ca_file).resolve())}


def _print_expiry(login, tenant_id: str | None) -> None:
    scope = f"tenant {tenant_id}'s marts" if tenant_id else "every tenant's marts"
    errors.print(f"login {login.username} reads {scope}; it expires at "
                 f"{login.expires_at.isoformat(timespec='seconds')} (then PostgreSQL refuses it and OpenBao drops it)",
                 markup=False, highlight=False, soft_wrap=True)


@analysts_app.command("grant")
def analysts_grant(
    tenant_id: str | None = typer.Argument(None, help="The tenant whose marts the login reads"),
    all_tenants: bool = typer.Option(False, "--all-tenants", help="A login reading every tenant's marts (staff)"),
    ttl: str = typer.Option("8h", help="How long the login lives: 8h, 90m, 30s (at most 24h)"),
) -> None:
    """Issue a read-only login and print its libpq connection string (stdout; the expiry goes to stderr), e.g.
    psql "$(retkee analysts grant T)". Nothing is written to disk."""
    login, settings = _issue_analyst_login(tenant_id, all_tenants, ttl)
    print(login.conninfo(**_login_target(settings)), flush=True)
    _print_expiry(login, tenant_id)


@analysts_app.command("connect")
def analysts_connect(
    tenant_id: str | None = typer.Argument(None, help="The tenant whose marts the login reads"),
    all_tenants: bool = typer.Option(False, "--all-tenants", help="A login reading every tenant's marts (staff)"),
    ttl: str = typer.Option("8h", help="How long the login lives: 8h, 90m, 30s (at most 24h)"),
) -> None:
    """Issue a read-only login and open psql with it; the password reaches psql in its environment only."""
    import shutil

    psql = shutil.which("psql")
    if psql is None:
        raise SettingsError("psql is not installed (Debian: apt-get install postgresql-client); "
                            "`retkee analysts grant` prints a connection string for any other client")
    login, settings = _issue_analyst_login(tenant_id, all_tenants, ttl)
    _print_expiry(login, tenant_id)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    environment["PGPASSWORD"] = login.password.reveal()
    # exec, not a child: psql takes over the terminal; the password is in its environment, never in its argv.
    os.execve(psql, [psql, login.conninfo(**_login_target(settings), with_password=False)], environment)  # noqa: S606


@app.callback()
def _settings() -> None:
    """Read the settings file (.data/local.env of the repository root, or RETKEE_SETTINGS_FILE) before any
    command, so that commands work as the README writes them, with nothing exported first."""
    load_settings_file()


def main() -> None:
    install_log_redaction()
    # Dagster's own sensor decorator passes its beta `owners` parameter (None) and warns about it on every
    # import of the code location; it is nothing an operator can act on.
    warnings.filterwarnings("ignore", message=r"Parameter `owners` of initializer `SensorDefinition")
    app()


if __name__ == "__main__":
    main()
