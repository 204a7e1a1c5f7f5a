"""The compliance report: one HTML page with the evidence a privacy review asks for.

Data inventory per classification, retention caps (per tenant and dataset the oldest day held against its
cap and legal basis, what the daily removal took, how long logs are kept), tenants by lifecycle state, erasure
certificates and deadlines, key rotation status, database roles and their grants, Vault policies, and the last
vulnerability audit. Every
figure is read at generation time as the `compliance` role and duty (no seller data); every value is
HTML-escaped, so nothing read from the warehouse can become markup.
"""

from __future__ import annotations

import html
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hvac.exceptions
import psycopg

from orchestration.compliance.session import ComplianceSession
from orchestration.retain.caps import AgeCap, age_caps
from orchestration.retain.policy import AMAZON_MAX_AGE_MONTHS, LOG_MIN_RETENTION_MONTHS, log_retention_months
from orchestration.secrets.vault import TENANT_KEY_PREFIX, TRANSIT_MOUNT
from orchestration.warehouse.schemas import LAYERS, TENANT_ID_PATTERN

ERASURE_DEADLINE = timedelta(days=30)
KEY_ROTATION_PERIOD = timedelta(days=365)
ROLES_OF_INTEREST = ("pipeline", "all_tenants_analyst", "compliance", "dagster")
VULN_AUDIT_FILE_VARIABLE = "RETKEE_VULN_AUDIT_FILE"


@dataclass
class ComplianceReport:
    generated_at: datetime
    inventory: list[dict] = field(default_factory=list)  # asset, classification, report type, tenants, rows
    tenants_by_state: dict[str, list[dict]] = field(default_factory=dict)
    erasure_deadlines: list[dict] = field(default_factory=list)
    erasure_certificates: list[dict] | None = None  # None: the table does not exist yet
    keys: list[dict] = field(default_factory=list)
    roles: list[dict] = field(default_factory=list)
    schema_grants: list[dict] = field(default_factory=list)
    vault_policies: dict[str, str] = field(default_factory=dict)
    vulnerability_audit: dict | None = None
    dataset_caps: list[dict] = field(default_factory=list)  # dataset, cap_months, source, legal_basis
    oldest_held: list[dict] | None = None  # per tenant and dataset; None: the warehouse cannot tell (old schema)
    retention_removals: list[dict] | None = None  # None: the table does not exist yet
    log_retention_months: int | None = None

    @property
    def past_cap(self) -> list[dict]:
        return [row for row in self.oldest_held or [] if row["past_cap"]]


# --- gathering ----------------------------------------------------------------------------------------
def asset_labels() -> dict[str, dict]:
    """Asset key -> its compliance metadata, from the code location's definitions."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    labels = {}
    for key in graph.get_all_asset_keys():
        metadata = graph.get(key).metadata
        labels[key.to_user_string()] = {
            name: str(metadata.get(name, "")) for name in ("data_classification", "source_api", "report_type",
                                                          "retention", "owner")
        }
    return labels


def warehouse_tables(conn: psycopg.Connection) -> list[tuple[str, str, str, int]]:
    """(tenant, layer, table, approximate rows) from the statistics catalog: no seller row is read."""
    rows = conn.execute(
        "select schemaname, relname, n_live_tup from pg_stat_user_tables"
        " where schemaname ~ '^t[0-9a-f]{12}_[a-z]+$' order by schemaname, relname"
    ).fetchall()
    tables = []
    for schema, table, live in rows:
        tenant, _, layer = schema.partition("_")
        if TENANT_ID_PATTERN.fullmatch(tenant) and layer in LAYERS:
            tables.append((tenant, layer, table, int(live or 0)))
    return tables


def inventory(conn: psycopg.Connection, labels: dict[str, dict]) -> list[dict]:
    tables = warehouse_tables(conn)
    by_asset: dict[str, dict] = {}
    for key, label in sorted(labels.items()):
        by_asset[key] = {"asset": key, **label, "tenants": set(), "rows": 0}
    for tenant, layer, table, rows in tables:
        entry = by_asset.get(f"{layer}/{table}")
        if entry is None:  # quarantine tables, or a table no asset declares: list it, unclassified
            entry = by_asset.setdefault(f"{layer}/{table}", {"asset": f"{layer}/{table}", "data_classification":
                                        "unclassified", "source_api": "", "report_type": "", "retention": "",
                                        "owner": "", "tenants": set(), "rows": 0})
        entry["tenants"].add(tenant)
        entry["rows"] += rows
    return [{**e, "tenants": len(e["tenants"])} for e in by_asset.values()]


def tenants_by_state(conn: psycopg.Connection) -> dict[str, list[dict]]:
    if not _table_exists(conn, "control", "tenants"):
        return {}
    grouped: dict[str, list[dict]] = defaultdict(list)
    for tenant_id, status, since, requested in conn.execute(
        "select tenant_id, status, status_changed_at, erasure_requested_at from control.tenants"
        " order by status, tenant_id"
    ).fetchall():
        grouped[status].append({"tenant_id": tenant_id, "since": since, "erasure_requested_at": requested})
    return dict(grouped)


def erasure_deadlines(states: dict[str, list[dict]], now: datetime) -> list[dict]:
    deadlines = []
    for status in ("revoked", "terminated"):
        for tenant in states.get(status, []):
            requested = tenant["erasure_requested_at"] or tenant["since"]
            due = requested + ERASURE_DEADLINE
            deadlines.append({"tenant_id": tenant["tenant_id"], "status": status, "requested": requested,
                              "due": due, "days_left": (due - now).days, "overdue": due < now})
    return sorted(deadlines, key=lambda d: d["due"])


def erasure_certificates(conn: psycopg.Connection) -> list[dict] | None:
    """Rows of `audit.erasure_certificates`, written by the erasure flow; None until that table exists."""
    if not _table_exists(conn, "audit", "erasure_certificates"):
        return None
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("select * from audit.erasure_certificates limit 500")
        return cur.fetchall()


def dataset_caps(caps: dict[str, AgeCap]) -> list[dict]:
    return [{"dataset": name, "cap_months": cap.months, "source": cap.source,
             "legal_basis": str(cap.legal_basis) if cap.legal_basis else "none"} for name, cap in sorted(caps.items())]


def landed_days(landing_dir: Path) -> dict[tuple[str, str], str]:
    """(tenant, dataset) -> the oldest day of a landed document, from the landing zone's folder names alone
    (`<tenant>/<extraction>/<day>/`): no document is opened. An extraction's documents count for each of its
    datasets."""
    from orchestration.ingest import EXTRACTIONS

    found: dict[tuple[str, str], str] = {}
    for extraction in EXTRACTIONS.values():
        for folder in sorted(Path(landing_dir).glob(f"t*/{extraction.name}/*")):
            tenant_id, day = folder.parent.parent.name, folder.name
            if not TENANT_ID_PATTERN.fullmatch(tenant_id) or not any(folder.glob("*.env")):
                continue
            for dataset in extraction.datasets:
                key = (tenant_id, dataset.name)
                found[key] = min(day, found.get(key, day))
    return found


def oldest_held(conn: psycopg.Connection, caps: dict[str, AgeCap], today,
                landed: dict[tuple[str, str], str] | None = None) -> list[dict] | None:
    """Per tenant and dataset, the oldest partition day held (raw, quarantine or landed document) against its cap.

    Read through `audit.oldest_days_held()`, which returns partition days only: the compliance role reads no
    seller row. None when the warehouse predates that function."""
    if not conn.execute("select to_regprocedure('audit.oldest_days_held()') is not null").fetchone()[0]:
        return None
    oldest: dict[tuple[str, str], str] = {key: day for key, day in (landed or {}).items() if key[1] in caps}
    for tenant_id, _layer, dataset, day in conn.execute("select * from audit.oldest_days_held()").fetchall():
        if dataset in caps:  # seller-provided tables (unit costs) are not Amazon data and have no cap here
            key = (tenant_id, dataset)
            oldest[key] = min(day, oldest.get(key, day))
    rows = []
    for (tenant_id, dataset), day in sorted(oldest.items()):
        cap = caps[dataset]
        kept_from = cap.oldest_day_kept(today)
        rows.append({"tenant_id": tenant_id, "dataset": dataset, "oldest_day_held": day,
                     "cap_months": cap.months, "oldest_day_kept": kept_from.isoformat(),
                     "legal_basis": str(cap.legal_basis) if cap.legal_basis else "none",
                     "past_cap": day < kept_from.isoformat()})
    return rows


def retention_removals(conn: psycopg.Connection) -> list[dict] | None:
    if not _table_exists(conn, "audit", "retention_removals"):
        return None
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("select tenant_id, dataset, first_day, last_day, oldest_day_kept, cap_months, legal_basis,"
                    " rows_removed, quarantine_rows_removed, documents_removed, dagster_partitions, removed_at"
                    " from audit.retention_removals order by removed_at desc, removal_id desc limit 500")
        return cur.fetchall()


def key_rotation(session: ComplianceSession, now: datetime) -> list[dict]:
    client = session.vault.client
    try:
        names = client.secrets.transit.list_keys(mount_point=TRANSIT_MOUNT)["data"]["keys"]
    except hvac.exceptions.InvalidPath:  # no tenant key exists yet
        return []
    keys = []
    # Tenant keys only: the certificate signing key is kept, not rotated (old certificates must stay verifiable).
    for name in sorted(n for n in names if n.startswith(TENANT_KEY_PREFIX)):
        data = client.secrets.transit.read_key(name, mount_point=TRANSIT_MOUNT)["data"]
        versions = data.get("keys", {})
        latest = str(data.get("latest_version"))
        created = versions.get(latest)
        created_at = datetime.fromtimestamp(created, UTC) if isinstance(created, int) else (
            datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None)
        due = created_at + KEY_ROTATION_PERIOD if created_at else None
        keys.append({"key": name, "type": data.get("type"), "latest_version": data.get("latest_version"),
                     "min_decryption_version": data.get("min_decryption_version"),
                     "exportable": data.get("exportable"), "deletion_allowed": data.get("deletion_allowed"),
                     "last_rotated": created_at, "rotation_due": due,
                     "status": "due" if due and due < now else "ok"})
    return keys


def vault_policies(session: ComplianceSession) -> dict[str, str]:
    client = session.vault.client
    try:
        names = client.sys.list_acl_policies()["data"]["keys"]
        return {n: client.sys.read_acl_policy(n)["data"]["policy"] for n in sorted(names) if n != "root"}
    except hvac.exceptions.VaultError as exc:  # the report states the failure instead of failing
        return {"(unavailable)": type(exc).__name__}


def roles_and_grants(conn: psycopg.Connection) -> tuple[list[dict], list[dict]]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "select r.rolname as role, r.rolcanlogin as login, r.rolsuper as superuser,"
            " r.rolcreaterole as createrole, r.rolcreatedb as createdb, r.rolbypassrls as bypassrls,"
            " coalesce((select string_agg(g.rolname, ', ' order by g.rolname) from pg_auth_members m"
            "   join pg_roles g on g.oid = m.roleid where m.member = r.oid), '') as member_of,"
            " has_database_privilege(r.oid, current_database(), 'CONNECT') as connect_warehouse"
            " from pg_roles r where r.rolname = any(%s) or r.rolname ~ '^t[0-9a-f]{12}_owner$'"
            " order by r.rolname",
            (list(ROLES_OF_INTEREST),),
        )
        roles = cur.fetchall()
        cur.execute(
            "select n.nspname as schema, pg_get_userbyid(n.nspowner) as owner,"
            " r.rolname as role, has_schema_privilege(r.oid, n.oid, 'USAGE') as usage,"
            " has_schema_privilege(r.oid, n.oid, 'CREATE') as create"
            " from pg_namespace n cross join pg_roles r"
            " where r.rolname = any(%s) and n.nspname !~ '^(pg_|information_schema)'"
            " order by n.nspname, r.rolname",
            (["pipeline", "analyst", "compliance"],),
        )
        grants = cur.fetchall()
    return roles, grants


def last_vulnerability_audit(settings) -> dict | None:
    path = Path(os.environ.get(VULN_AUDIT_FILE_VARIABLE) or settings.landing_dir.parent / "security" /
                "vulnerability-audit.json")
    if not path.is_file():
        return None
    try:
        return {**json.loads(path.read_text()), "file": str(path)}
    except ValueError:
        return {"outcome": "unreadable", "file": str(path)}


def _table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{table}",)).fetchone()[0]


def gather(session: ComplianceSession, now: datetime | None = None) -> ComplianceReport:
    now = now or datetime.now(UTC)
    report = ComplianceReport(generated_at=now)
    report.inventory = inventory(session.conn, asset_labels())
    caps = age_caps()
    report.dataset_caps = dataset_caps(caps)
    report.oldest_held = oldest_held(session.conn, caps, now.date(), landed_days(session.settings.landing_dir))
    report.retention_removals = retention_removals(session.conn)
    report.log_retention_months = log_retention_months()
    report.tenants_by_state = tenants_by_state(session.conn)
    report.erasure_deadlines = erasure_deadlines(report.tenants_by_state, now)
    report.erasure_certificates = erasure_certificates(session.conn)
    report.keys = key_rotation(session, now)
    report.roles, report.schema_grants = roles_and_grants(session.conn)
    report.vault_policies = vault_policies(session)
    report.vulnerability_audit = last_vulnerability_audit(session.settings)
    return report


# --- rendering ----------------------------------------------------------------------------------------
def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return html.escape(str(value))


def _table(rows: list[dict], columns: list[str], empty: str = "none") -> str:
    if not rows:
        return f"<p class='empty'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2330; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccd; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eef; } .empty { color: #667; font-style: italic; } .bad { color: #b00; font-weight: bold; }
pre { background: #f6f6fa; padding: 0.5rem; font-size: 0.8rem; }
"""


def render_html(report: ComplianceReport) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Retkee compliance report</title>"
             f"<style>{_STYLE}</style></head><body>",
             "<h1>Retkee compliance report</h1>",
             f"<p>Generated {_cell(report.generated_at)} as the <code>compliance</code> database role and Vault "
             "duty (no seller data is read).</p>"]

    parts.append("<h2>Data inventory per classification</h2>")
    by_class: dict[str, list[dict]] = defaultdict(list)
    for entry in report.inventory:
        by_class[entry["data_classification"] or "unclassified"].append(entry)
    for classification in sorted(by_class):
        parts.append(f"<h3>{html.escape(classification)}</h3>")
        parts.append(_table(by_class[classification], ["asset", "report_type", "source_api", "tenants", "rows",
                                                       "retention", "owner"]))
    parts.append("<p>Rows are PostgreSQL's live-tuple statistics, not counts of seller data. Every asset is "
                 "pii-free: buyer PII never passes the load step's column allowlist.</p>")

    parts.extend(_retention_section(report))

    parts.append("<h2>Tenants by lifecycle state</h2>")
    states = [{"state": s, "tenants": len(ts), "ids": ", ".join(t["tenant_id"] for t in ts)}
              for s, ts in sorted(report.tenants_by_state.items())]
    parts.append(_table(states, ["state", "tenants", "ids"], "no tenants yet"))

    parts.append("<h2>Erasure: deadlines and certificates</h2>")
    for d in report.erasure_deadlines:
        d["overdue_flag"] = "OVERDUE" if d["overdue"] else ""
    parts.append(_table(report.erasure_deadlines, ["tenant_id", "status", "requested", "due", "days_left",
                                                   "overdue_flag"], "no tenant awaits erasure"))
    if report.erasure_certificates is None:
        parts.append("<p class='empty'>Erasure certificates: none yet (no erasure has been certified).</p>")
    else:
        columns = list(report.erasure_certificates[0]) if report.erasure_certificates else []
        parts.append(_table(report.erasure_certificates, columns, "Erasure certificates: none yet."))

    parts.append("<h2>Key rotation status</h2>")
    parts.append(_table(report.keys, ["key", "type", "latest_version", "min_decryption_version", "last_rotated",
                                      "rotation_due", "status", "exportable", "deletion_allowed"],
                        "no tenant keys"))
    parts.append(f"<p>Policy: each tenant key is rotated at least every {KEY_ROTATION_PERIOD.days} days; keys "
                 "are AES-256-GCM, not exportable.</p>")

    parts.append("<h2>Database roles and their grants</h2>")
    parts.append(_table(report.roles, ["role", "login", "superuser", "createrole", "createdb", "bypassrls",
                                       "member_of", "connect_warehouse"]))
    granted = [g for g in report.schema_grants if g["usage"] or g["create"]]
    parts.append("<h3>Schema privileges (USAGE / CREATE)</h3>")
    parts.append(_table(granted, ["schema", "owner", "role", "usage", "create"]))
    parts.append("<h3>Vault policies (one AppRole per duty)</h3>")
    for name, text in report.vault_policies.items():
        parts.append(f"<h4>{html.escape(name)}</h4><pre>{html.escape(text.strip())}</pre>")

    parts.append("<h2>Last vulnerability audit</h2>")
    audit = report.vulnerability_audit
    if audit is None:
        parts.append("<p class='empty'>No audit recorded yet: run <code>make audit</code>.</p>")
    else:
        outcome = str(audit.get("outcome"))
        css = "bad" if outcome not in ("clean",) else ""
        parts.append(f"<p class='{css}'>{_cell(outcome)}: {_cell(audit.get('summary'))} "
                     f"(at {_cell(audit.get('finished_at'))}, from {_cell(audit.get('file'))})</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _retention_section(report: ComplianceReport) -> list[str]:
    parts = ["<h2>Retention caps</h2>",
             f"<p>Amazon's Data Protection Policy: non-PII Amazon data is kept at most {AMAZON_MAX_AGE_MONTHS} months "
             "unless the law requires longer (then the statute is named below). Every day older than its "
             "dataset's cap is removed daily (job <code>apply_retention_caps</code>).</p>",
             _table(report.dataset_caps, ["dataset", "cap_months", "source", "legal_basis"])]
    parts.append("<h3>Oldest day held, per tenant and dataset</h3>")
    if report.oldest_held is None:
        parts.append("<p class='bad'>The warehouse cannot tell (audit.oldest_days_held is missing: provision the "
                     "warehouse again).</p>")
    elif not report.oldest_held:
        parts.append("<p class='empty'>no tenant data held</p>")
    else:
        columns = ["tenant_id", "dataset", "oldest_day_held", "cap_months", "oldest_day_kept", "legal_basis",
                   "status"]
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = []
        for row in report.oldest_held:
            shown = {**row, "status": "PAST CAP" if row["past_cap"] else "within cap"}
            css = " class='bad'" if row["past_cap"] else ""
            body.append(f"<tr{css}>" + "".join(f"<td>{_cell(shown[c])}</td>" for c in columns) + "</tr>")
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
        if report.past_cap:
            parts.append(f"<p class='bad'>{len(report.past_cap)} tenant dataset(s) hold data older than the cap.</p>")
    parts.append("<h3>Removed for age (audit.retention_removals, newest first)</h3>")
    if report.retention_removals is None:
        parts.append("<p class='empty'>none yet (no removal has run).</p>")
    else:
        parts.append(_table(report.retention_removals, ["tenant_id", "dataset", "first_day", "last_day",
                                                        "oldest_day_kept", "cap_months", "legal_basis", "rows_removed",
                                                        "quarantine_rows_removed", "documents_removed",
                                                        "dagster_partitions", "removed_at"], "none yet."))
    parts.append(f"<p>Logs (audit.access_log, audit.retention_removals) are kept {report.log_retention_months} months "
                 f"(RETKEE_LOG_RETENTION_MONTHS; never fewer than {LOG_MIN_RETENTION_MONTHS}), then pruned.</p>")
    return parts


def write_report(session: ComplianceSession, path: Path, now: datetime | None = None) -> ComplianceReport:
    report = gather(session, now)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return report


def default_report_path(settings) -> Path:
    return Path(os.environ.get("RETKEE_COMPLIANCE_REPORT") or settings.landing_dir.parent / "reports" /
                "compliance-report.html")
