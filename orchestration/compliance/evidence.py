"""The compliance report's evidence: everything it shows, read from the live system at generation time.

Gathering only (SQL as the `compliance` role, Vault as the `compliance` duty, the landing zone's folder names and
envelope headers): plain dataclasses and rows, no markup. `report.py` renders them; `promises.py` judges them
against the privacy policy's promises. Nothing here reads a seller row or decrypts anything: the warehouse
answers through the catalog and the administrator's `audit.*` functions, which return days, counts and
settings only.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import hvac.exceptions
import psycopg

from orchestration.compliance import labels
from orchestration.compliance.session import ComplianceSession
from orchestration.extract.connection import tls_context
from orchestration.land.envelope import MAGIC, EnvelopeError, read_header
from orchestration.load.datasets import DATASETS
from orchestration.retain.caps import AgeCap, age_caps
from orchestration.retain.certificate import (
    CertificateCheck,
    ErasureCertificate,
    check_certificate,
    list_certificates,
)
from orchestration.retain.policy import deadline_status, erasure_clock_start, log_retention_months
from orchestration.secrets.vault import TENANT_KEY_PREFIX, TRANSIT_MOUNT
from orchestration.settings import (
    PLACEHOLDER_DPO_CONTACT,
    CeleryBroker,
    dpo_contact,
    encrypted_at_rest_attestation,
    executor,
)
from orchestration.transform.manifest import read_manifest
from orchestration.warehouse.grants import ALL_TENANTS_ANALYST_GROUP, ANALYST_GROUP_SUFFIX, ANALYST_LOGIN_ISSUER_ROLE
from orchestration.warehouse.schemas import LAYERS, TENANT_ID_PATTERN

KEY_ROTATION_PERIOD = timedelta(days=365)
ROLES_OF_INTEREST = ("pipeline", ALL_TENANTS_ANALYST_GROUP, ANALYST_LOGIN_ISSUER_ROLE, "compliance", "dagster")
# Tenant roles, by name: each tenant's owner and its analysts' read-only group (orchestration/warehouse/grants.py).
TENANT_ROLES_PATTERN = f"^t[0-9a-f]{{12}}(_owner|{ANALYST_GROUP_SUFFIX})$"
VULN_AUDIT_FILE_VARIABLE = "RETKEE_VULN_AUDIT_FILE"
# Column names that are buyer PII whatever dataset they turn up in (each dataset's own `known_pii` adds to it).
BUYER_PII_COLUMN = re.compile(r"^(buyer|recipient|bill)_|ship_address|phone|e_?mail|tracking_number|^cpf$")
TLS_VERSIONS_ALLOWED = ("TLSv1.2", "TLSv1.3")
# ssl's names of a context's minimum, in PostgreSQL's and OpenSSL's spelling (as the rest of the evidence).
_TLS_NAMES = {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}


@dataclass(frozen=True)
class PiiScan:
    """The PII firewall's rule book and what the warehouse's column names show of it."""

    datasets: list[dict]           # dataset, allowlisted, known_pii, allowlisted_pii (must be empty)
    columns_scanned: int           # every column of every tenant table and view (raw, quarantine, staging, marts)
    pii_columns: list[str]         # schema.table.column whose name is on the deny list (must be empty)
    quarantine_pii_columns: list[str]


@dataclass(frozen=True)
class Transport:
    """TLS of the warehouse's live connections and of Vault, and where the warehouse keeps its files."""

    ssl: str | None                  # PostgreSQL's `ssl` setting
    ssl_min_protocol_version: str | None
    tcp_connections: int
    tcp_without_tls: int
    below_tls12: int
    socket_connections: int          # Unix-socket connections: no network hop
    tls_versions: list[str]
    this_connection: str | None      # the report's own connection: TLS version and cipher
    vault_addr: str
    vault_tls: str | None            # the version Vault negotiated with us, or why none
    data_directory: str | None
    spapi_client_minimum: str | None = None  # the lowest TLS version the SP-API client's context accepts
    broker_addr: str | None = None   # the Celery broker (RETKEE_EXECUTOR=celery), or None: runs in process, no hop
    broker_tls: str | None = None    # the version the broker negotiated with us, or why none


@dataclass(frozen=True)
class AtRest:
    warehouse: str                   # how the warehouse's data directory is encrypted, or why we cannot tell
    warehouse_encrypted: bool
    landing_documents: int
    landing_ciphers: dict[str, int]  # cipher named in each envelope's header -> documents
    landing_not_envelopes: list[str]  # files in the landing zone that are no envelope (must be empty)
    tenant_key_types: dict[str, int]


@dataclass(frozen=True)
class DeadlineRow:
    tenant_id: str
    status: str
    requested: datetime
    due: datetime
    days_left: int
    overdue: bool


@dataclass(frozen=True)
class DeletionRequest:
    """One data subject's deletion request and where it stands."""

    tenant_id: str
    request_id: str | None
    requested_by: str
    requested_at: datetime
    certified_at: datetime | None
    status: str                      # certified, pending, overdue


@dataclass(frozen=True)
class CertificateView:
    """An erasure certificate as the compliance officer reads it, with its signature checked now."""

    certificate: ErasureCertificate
    check: CertificateCheck

    @property
    def tenant_id(self) -> str:
        return self.certificate.tenant_id


@dataclass(frozen=True)
class AccessLog:
    exists: bool
    entries: int
    newest: datetime | None
    tenants: int


@dataclass
class ComplianceReport:
    generated_at: datetime
    dpo_contact: str = PLACEHOLDER_DPO_CONTACT
    dpo_contact_is_placeholder: bool = True
    inventory: list[dict] = field(default_factory=list)  # asset, classification, report type, tenants, rows
    tenants_by_state: dict[str, list[dict]] = field(default_factory=dict)
    erasure_deadlines: list[DeadlineRow] = field(default_factory=list)
    erasure_certificates: list[CertificateView] | None = None  # None: the table does not exist yet
    deletion_requests: list[DeletionRequest] | None = None
    keys: list[dict] = field(default_factory=list)
    roles: list[dict] = field(default_factory=list)
    schema_grants: list[dict] = field(default_factory=list)
    vault_policies: dict[str, str] = field(default_factory=dict)
    vulnerability_audit: dict | None = None
    dataset_caps: list[dict] = field(default_factory=list)  # dataset, cap_months, source, legal_basis
    oldest_held: list[dict] | None = None  # per tenant and dataset; None: the warehouse cannot tell (old schema)
    retention_removals: list[dict] | None = None  # None: the table does not exist yet
    log_retention_months: int | None = None
    pii: PiiScan | None = None
    transport: Transport | None = None
    at_rest: AtRest | None = None
    access_log: AccessLog | None = None

    @property
    def past_cap(self) -> list[dict]:
        return [row for row in self.oldest_held or [] if row["past_cap"]]


# --- gathering ----------------------------------------------------------------------------------------
def asset_labels() -> dict[str, dict]:
    """Asset key -> its compliance metadata, from the catalogue the asset specs are built from
    (compliance/labels.py): gathering evidence does not load the code location."""
    return labels.asset_labels(read_manifest())


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


def erasure_deadlines(states: dict[str, list[dict]], now: datetime) -> list[DeadlineRow]:
    """Every tenant awaiting erasure against its 30-day deadline, by the same rule as the deadline asset check
    (retain/policy.py)."""
    deadlines = []
    for status in ("revoked", "terminated"):
        for tenant in states.get(status, []):
            clock = erasure_clock_start(tenant["erasure_requested_at"], tenant["since"])
            state = deadline_status(tenant["tenant_id"], clock, now)
            deadlines.append(DeadlineRow(tenant["tenant_id"], status, clock, state.deadline,
                                         (state.deadline - now).days, state.state == "missed"))
    return sorted(deadlines, key=lambda d: d.due)


def erasure_certificates(session: ComplianceSession) -> list[CertificateView] | None:
    """Every erasure certificate, its signature checked against Vault now (as `retkee erasure verify` does);
    None until the table exists."""
    if not _table_exists(session.conn, "audit", "erasure_certificates"):
        return None
    return [CertificateView(c, check_certificate(c, session.vault)) for c in list_certificates(session.conn)]


def deletion_requests(conn: psycopg.Connection, deadlines: list[DeadlineRow]) -> list[DeletionRequest] | None:
    """`audit.erasure_requests` with each request's state: certified, pending (within its deadline) or overdue."""
    if not _table_exists(conn, "audit", "erasure_requests"):
        return None
    overdue = {d.tenant_id for d in deadlines if d.overdue}
    rows = conn.execute(
        "select r.tenant_id, r.request_id, r.requested_by, r.requested_at, c.finished_at"
        " from audit.erasure_requests r left join audit.erasure_certificates c using (tenant_id)"
        " order by r.requested_at desc, r.tenant_id limit 500").fetchall()
    return [DeletionRequest(tenant_id, request_id, by, at, done,
                            "certified" if done else "overdue" if tenant_id in overdue else "pending")
            for tenant_id, request_id, by, at, done in rows]


def dataset_caps(caps: dict[str, AgeCap]) -> list[dict]:
    return [{"dataset": name, "cap_months": cap.months, "source": cap.source,
             "legal_basis": str(cap.legal_basis) if cap.legal_basis else "none"} for name, cap in sorted(caps.items())]


def landed_days(landing_dir: Path) -> dict[tuple[str, str], str]:
    """(tenant, dataset) -> the oldest day of a landed document, from the landing zone's folder names alone
    (`<tenant>/<extraction>/<day>/`): no document is opened. An extraction's documents count for each of its
    datasets."""
    from orchestration.extract.catalogue import EXTRACTIONS

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
            " has_database_privilege(r.oid, current_database(), 'CONNECT') as connect_warehouse,"
            " has_database_privilege(r.oid, current_database(), 'CREATE') as create_on_warehouse"
            " from pg_roles r where r.rolname = any(%s) or r.rolname ~ %s"
            " order by r.rolname",
            (list(ROLES_OF_INTEREST), TENANT_ROLES_PATTERN),
        )
        roles = cur.fetchall()
        cur.execute(
            "select n.nspname as schema, pg_get_userbyid(n.nspowner) as owner,"
            " r.rolname as role, has_schema_privilege(r.oid, n.oid, 'USAGE') as usage,"
            " has_schema_privilege(r.oid, n.oid, 'CREATE') as create"
            " from pg_namespace n cross join pg_roles r"
            " where (r.rolname = any(%s) or r.rolname ~ %s) and n.nspname !~ '^(pg_|information_schema)'"
            " order by n.nspname, r.rolname",
            (["pipeline", ALL_TENANTS_ANALYST_GROUP, "compliance"], f"^t[0-9a-f]{{12}}{ANALYST_GROUP_SUFFIX}$"),
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


def pii_scan(conn: psycopg.Connection) -> PiiScan:
    """The allowlists (each dataset's columns against the PII fields it is known to carry) and every column name
    in the tenants' schemas against the deny list: names from the catalog, never a row."""
    datasets, deny = [], {}
    for name, dataset in sorted(DATASETS.items()):
        known = {_column_name(f) for f in dataset.known_pii}
        deny[name] = known
        datasets.append({"dataset": name, "allowlisted": len(dataset.columns), "known_pii": len(dataset.known_pii),
                         "allowlisted_pii": sorted(known & {_column_name(c) for c in dataset.column_names})})
    rows = conn.execute(
        "select n.nspname, c.relname, a.attname from pg_attribute a"
        " join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname ~ '^t[0-9a-f]{12}_[a-z]+$' and c.relkind in ('r', 'p', 'v', 'm', 'f')"
        " and a.attnum > 0 and not a.attisdropped order by 1, 2, 3").fetchall()
    found = []
    for schema, table, column in rows:
        name = _column_name(column)
        if BUYER_PII_COLUMN.search(name) or name in deny.get(table, set()):
            found.append(f"{schema}.{table}.{column}")
    return PiiScan(datasets, len(rows), found, [f for f in found if f.split(".")[0].endswith("_quarantine")])


def _column_name(name: str) -> str:
    """A source field or a column, compared by one spelling: `ShipFromAddress.City` and `ship-city` alike."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.lstrip("@"))
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def transport(session: ComplianceSession) -> Transport:
    """Live TLS: every client connection the warehouse holds now (through the administrator's
    `audit.connection_security()`), the report's own, and a handshake with Vault."""
    conn = session.conn
    facts = None
    if conn.execute("select to_regprocedure('audit.connection_security()') is not null").fetchone()[0]:
        facts = conn.execute("select * from audit.connection_security()").fetchone()
    own = conn.execute("select version, cipher from pg_stat_ssl where pid = pg_backend_pid() and ssl").fetchone()
    ssl_on, minimum, data_directory, tcp, plain, below, sockets, versions = facts or (None,) * 8
    spapi = tls_context(str(session.settings.ca_file)).minimum_version
    broker_addr, broker_tls = _broker()
    return Transport(ssl_on, minimum, int(tcp or 0), int(plain or 0), int(below or 0), int(sockets or 0),
                     list(versions or []), f"{own[0]} ({own[1]})" if own else None, session.settings.vault_addr,
                     _vault_tls(session), data_directory, _TLS_NAMES.get(spapi, spapi.name), broker_addr, broker_tls)


def _vault_tls(session: ComplianceSession) -> str | None:
    address = urlsplit(session.settings.vault_addr)
    if address.scheme != "https":
        return None
    return _tls_handshake(address.hostname, address.port or 443, session.settings.ca_file)


def _broker() -> tuple[str | None, str | None]:
    """The Celery broker's address and the TLS version it negotiates, when runs go through one."""
    if executor() != "celery":
        return None, None
    broker = CeleryBroker.from_env()  # refuses any URL but rediss://host:port/db
    address = urlsplit(broker.url)
    return broker.url, _tls_handshake(address.hostname, address.port or 6379, broker.ca_file)


def _tls_handshake(host: str | None, port: int, ca_file) -> str:
    """The TLS version a verified handshake with host:port negotiates, or why there was none."""
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        with socket.create_connection((host, port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.version()
    except (OSError, ssl.SSLError) as exc:
        return f"no TLS handshake: {type(exc).__name__}"


def at_rest(session: ComplianceSession, transport: Transport, keys: list[dict]) -> AtRest:
    """The warehouse: the operator's attestation (production), else the file system the data directory is on
    (a local stack, same machine). The landing zone: the cipher each envelope's header names (headers only)."""
    attested = encrypted_at_rest_attestation()
    filesystem = _filesystem_of(transport.data_directory) if transport.data_directory else None
    if attested:
        warehouse, encrypted = f"attested by the operator: {attested} (RETKEE_WAREHOUSE_ENCRYPTED_AT_REST)", True
    elif filesystem == "fuse.gocryptfs":
        warehouse, encrypted = f"data directory {transport.data_directory} is on a gocryptfs mount (AES-256-GCM)", True
    elif transport.data_directory is None:
        warehouse, encrypted = "cannot tell: audit.connection_security is missing (provision the warehouse)", False
    else:
        seen = f"on {filesystem}" if filesystem else "not visible from this machine"
        warehouse, encrypted = (f"data directory {transport.data_directory} is {seen}: NOT encrypted at rest, "
                                "and nobody attested otherwise"), False
    ciphers: dict[str, int] = defaultdict(int)
    strays = []
    for path in sorted(p for p in Path(session.settings.landing_dir).rglob("*") if p.is_file()):
        try:
            with path.open("rb") as blob:
                head = blob.read(len(MAGIC) + 4)
                if not head.startswith(MAGIC):
                    raise EnvelopeError("not an envelope")
                length = int.from_bytes(head[len(MAGIC):], "big")
                header, _, _ = read_header(head + blob.read(min(length, 1 << 16)))
            ciphers[str(header.get("cipher"))] += 1
        except (OSError, ValueError):
            strays.append(str(path.relative_to(session.settings.landing_dir)))
    types: dict[str, int] = defaultdict(int)
    for key in keys:
        types[str(key["type"])] += 1
    return AtRest(warehouse, encrypted, sum(ciphers.values()), dict(ciphers), strays, dict(types))


def _filesystem_of(path: str) -> str | None:
    """The type of the file system `path` lives on (the longest mount point above it), from /proc/self/mountinfo."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    target, best, found = Path(path), -1, None
    for line in lines:
        fields = line.split(" ")
        mount_point = Path(fields[4].replace("\\040", " "))
        if (target == mount_point or mount_point in target.parents) and len(mount_point.parts) >= best:
            best, found = len(mount_point.parts), fields[fields.index("-") + 1]
    return found


def access_log(conn: psycopg.Connection) -> AccessLog:
    if not _table_exists(conn, "audit", "access_log"):
        return AccessLog(False, 0, None, 0)
    entries, newest, tenants = conn.execute(
        "select count(*), max(coalesce(ended_at, started_at, recorded_at)), count(distinct tenant_id)"
        " from audit.access_log").fetchone()
    return AccessLog(True, entries, newest, tenants)


def gather(session: ComplianceSession, now: datetime | None = None) -> ComplianceReport:
    now = now or datetime.now(UTC)
    contact, placeholder = dpo_contact()
    report = ComplianceReport(generated_at=now, dpo_contact=contact, dpo_contact_is_placeholder=placeholder)
    report.inventory = inventory(session.conn, asset_labels())
    caps = age_caps()
    report.dataset_caps = dataset_caps(caps)
    report.oldest_held = oldest_held(session.conn, caps, now.date(), landed_days(session.settings.landing_dir))
    report.retention_removals = retention_removals(session.conn)
    report.log_retention_months = log_retention_months()
    report.tenants_by_state = tenants_by_state(session.conn)
    report.erasure_deadlines = erasure_deadlines(report.tenants_by_state, now)
    report.erasure_certificates = erasure_certificates(session)
    report.deletion_requests = deletion_requests(session.conn, report.erasure_deadlines)
    report.keys = key_rotation(session, now)
    report.roles, report.schema_grants = roles_and_grants(session.conn)
    report.vault_policies = vault_policies(session)
    report.vulnerability_audit = last_vulnerability_audit(session.settings)
    report.pii = pii_scan(session.conn)
    report.transport = transport(session)
    report.at_rest = at_rest(session, report.transport, report.keys)
    report.access_log = access_log(session.conn)
    return report


def default_report_path(settings) -> Path:
    return Path(os.environ.get("RETKEE_COMPLIANCE_REPORT") or settings.landing_dir.parent / "reports" /
                "compliance-report.html")


