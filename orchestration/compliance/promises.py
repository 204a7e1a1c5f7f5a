"""The privacy policy's promises, each judged against the evidence gathered at report time.

One line per promise: what we promise, the mechanism that keeps it, the evidence read from the live system just
now, and whether that evidence holds (green) or not (red). Pure: it reads a `ComplianceReport` (evidence.py) and
decides; nothing here is restated text about the system, every figure comes from the gathered evidence, and a
promise whose evidence could not be gathered is red.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.compliance.evidence import TLS_VERSIONS_ALLOWED, ComplianceReport
from orchestration.retain.policy import HARD_CEILING
from orchestration.settings import DUTIES
from orchestration.warehouse.grants import ALL_TENANTS_ANALYST_GROUP, ANALYST_GROUP_SUFFIX
from orchestration.warehouse.schemas import LAYERS, TENANT_ID_PATTERN

# The pipeline runs daily; an access log with nothing newer than this says the log or the schedule has stopped.
ACCESS_LOG_STALE_AFTER_HOURS = 48
TENANT_KEY_TYPE = "aes256-gcm96"
LANDING_CIPHER = "AES-256-GCM"
# Schemas no analyst may enter (a tenant's raw, staging and quarantine schemas neither).
PRIVATE_SCHEMAS = ("audit", "control", "provisioning")
# Attributes no application role may hold.
ADMIN_ATTRIBUTES = ("superuser", "createrole", "createdb", "bypassrls")


@dataclass(frozen=True)
class Promise:
    number: int
    promise: str
    mechanism: str
    evidence: list[str]   # each a finding, with its figures
    holds: bool
    problems: list[str]   # why it is red (empty when it holds)


def promises(report: ComplianceReport) -> list[Promise]:
    return [_no_buyer_pii(report), _encrypted(report), _least_privilege(report), _retention(report),
            _subject_rights(report), _incident_scoping(report)]


def _promise(number, promise, mechanism, evidence, problems) -> Promise:
    return Promise(number, promise, mechanism, evidence, not problems, problems)


def _no_buyer_pii(report: ComplianceReport) -> Promise:
    scan, problems = report.pii, []
    if scan is None:
        return _promise(1, "Only what analytics need; no buyer PII lands anywhere", "PII firewall", [],
                        ["the warehouse's columns were not scanned"])
    leaky = [d["dataset"] for d in scan.datasets if d["allowlisted_pii"]]
    evidence = [f"{len(scan.datasets)} datasets, each with a column allowlist "
                f"({sum(d['allowlisted'] for d in scan.datasets)} columns allowed, "
                f"{sum(d['known_pii'] for d in scan.datasets)} known PII fields kept out)",
                f"{len(scan.pii_columns)} of {scan.columns_scanned} column names in tenant schemas are on the PII "
                "deny list",
                f"{len(scan.quarantine_pii_columns)} PII columns in quarantine"]
    if leaky:
        problems.append(f"allowlists that admit a known PII field: {', '.join(leaky)}")
    if scan.pii_columns:
        problems.append(f"PII column names found: {', '.join(scan.pii_columns[:10])}")
    return _promise(1, "Only what analytics need; no buyer PII lands anywhere",
                    "Column allowlist per dataset (orchestration/load/datasets.py): a column not listed never leaves "
                    "memory, not even encrypted", evidence, problems)


def _encrypted(report: ComplianceReport) -> Promise:
    t, r, problems, evidence = report.transport, report.at_rest, [], []
    if t is None or r is None:
        return _promise(2, "TLS 1.2+ on every hop; AES-256 at rest", "TLS everywhere, envelopes, encrypted disk", [],
                        ["transport and storage were not examined"])
    evidence.append(f"warehouse: ssl={t.ssl or '?'}, ssl_min_protocol_version={t.ssl_min_protocol_version or '?'}; "
                    f"{t.tcp_connections} live connections, {t.tcp_without_tls} without TLS, "
                    f"{t.below_tls12} below TLS 1.2 (versions: {', '.join(t.tls_versions) or 'none'}); "
                    f"this report's: {t.this_connection or 'not TLS'}")
    evidence.append(f"Vault {t.vault_addr}: {t.vault_tls or 'not https'}")
    evidence.append(f"Celery broker {t.broker_addr}: {t.broker_tls or 'not rediss'}" if t.broker_addr
                    else "Celery broker: none (runs execute in process)")
    evidence.append(f"SP-API client: minimum {t.spapi_client_minimum or '?'} (extract/connection.tls_context; "
                    "Amazon's endpoints are not probed from the report)")
    evidence.append(f"warehouse at rest: {r.warehouse}")
    ciphers = ", ".join(f"{n} {cipher}" for cipher, n in sorted(r.landing_ciphers.items())) or "none"
    evidence.append(f"landing zone: {r.landing_documents} envelopes ({ciphers}), {len(r.landing_not_envelopes)} "
                    "files that are not envelopes")
    types = ", ".join(f"{n} {kind}" for kind, n in sorted(r.tenant_key_types.items())) or "none yet"
    evidence.append(f"tenant keys wrapping the envelopes' data keys: {types}")
    if t.ssl != "on":
        problems.append("the warehouse does not have ssl on")
    if t.ssl_min_protocol_version not in TLS_VERSIONS_ALLOWED:
        problems.append(f"the warehouse accepts TLS below 1.2 (ssl_min_protocol_version={t.ssl_min_protocol_version})")
    if t.tcp_without_tls or t.below_tls12:
        problems.append("connections without TLS 1.2+ are open")
    if t.spapi_client_minimum not in TLS_VERSIONS_ALLOWED:
        problems.append(f"the SP-API client accepts {t.spapi_client_minimum or 'an unknown minimum'}")
    if t.vault_tls not in TLS_VERSIONS_ALLOWED:
        problems.append(f"Vault: {t.vault_tls or 'not https'}")
    if t.broker_addr and t.broker_tls not in TLS_VERSIONS_ALLOWED:
        problems.append(f"the Celery broker: {t.broker_tls or 'not rediss'}")
    if not r.warehouse_encrypted:
        problems.append("the warehouse is not encrypted at rest")
    if set(r.landing_ciphers) - {LANDING_CIPHER} or r.landing_not_envelopes:
        problems.append(f"landing zone files not sealed with {LANDING_CIPHER}: "
                        f"{', '.join(r.landing_not_envelopes[:5]) or ', '.join(r.landing_ciphers)}")
    if set(r.tenant_key_types) - {TENANT_KEY_TYPE}:
        problems.append(f"tenant keys of another type than {TENANT_KEY_TYPE}")
    return _promise(2, "TLS 1.2+ on every hop; AES-256 at rest",
                    "hostssl only with ssl_min_protocol_version; https to Vault and the SP-API; AES-256-GCM envelopes "
                    "under per-tenant Vault keys; the warehouse's data directory on an encrypted disk",
                    evidence, problems)


def _least_privilege(report: ComplianceReport) -> Promise:
    problems = []
    admin_like = [f"{role['role']} ({', '.join(a for a in ADMIN_ATTRIBUTES if role.get(a))})" for role in report.roles
                  if any(role.get(a) for a in ADMIN_ATTRIBUTES)]
    creators = [role["role"] for role in report.roles if role.get("create_on_warehouse")]
    # An analyst group reaches marts only: the staff group every tenant's, a tenant's group its own tenant's.
    analyst_reach = sorted({f"{g['role']}: {g['schema']}" for g in report.schema_grants
                            if _is_analyst_group(g["role"]) and g["usage"] and not _analyst_may_read(g)})
    compliance_reach = sorted({g["schema"] for g in report.schema_grants if g["role"] == "compliance" and g["usage"]
                               and _tenant_schema(g["schema"])})
    writers = sorted({g["schema"] for g in report.schema_grants
                      if (_is_analyst_group(g["role"]) or g["role"] == "compliance") and g["create"]})
    policies = set(report.vault_policies)
    missing = [duty for duty in DUTIES if duty not in policies]
    evidence = [f"{len(report.roles)} database roles examined: {len(admin_like)} with administrative attributes, "
                f"{len(creators)} with CREATE on the warehouse",
                f"analyst reaches {len(analyst_reach)} schemas beyond marts; compliance reaches "
                f"{len(compliance_reach)} tenant schemas; {len(writers)} schemas writable by either",
                f"Vault: {len(DUTIES) - len(missing)} of {len(DUTIES)} duties have their own policy "
                f"({', '.join(d for d in DUTIES if d in policies) or 'none'})"]
    if not report.roles:
        problems.append("no database role could be read")
    if admin_like:
        problems.append(f"administrative attributes: {', '.join(admin_like)}")
    if creators:
        problems.append(f"CREATE on the warehouse: {', '.join(creators)}")
    if analyst_reach or compliance_reach or writers:
        problems.append(f"reach beyond duty: {', '.join(analyst_reach + compliance_reach + writers)}")
    if missing:
        problems.append(f"duties without a policy: {', '.join(missing)}")
    return _promise(3, "Role-based access, least privilege", "One database role and one Vault AppRole per duty; "
                    "one owner role per tenant; audit tables owned by the administrator", evidence, problems)


def _retention(report: ComplianceReport) -> Promise:
    problems, evidence = [], []
    if report.oldest_held is None:
        problems.append("the oldest day held cannot be read (audit.oldest_days_held is missing)")
    else:
        evidence.append(f"{len(report.oldest_held)} tenant datasets held, {len(report.past_cap)} past their cap")
        if report.past_cap:
            problems.append(f"{len(report.past_cap)} tenant datasets hold data older than their cap")
    overdue = [d.tenant_id for d in report.erasure_deadlines if d.overdue]
    evidence.append(f"{len(report.erasure_deadlines)} tenants awaiting erasure, {len(overdue)} past the "
                    f"{HARD_CEILING.days}-day deadline")
    if overdue:
        problems.append(f"erasure overdue: {', '.join(overdue)}")
    certificates = report.erasure_certificates or []
    bad = [c.tenant_id for c in certificates if not (c.certificate.verified and c.check.valid)]
    evidence.append(f"{len(certificates)} erasure certificates, {len(certificates) - len(bad)} verified with a valid "
                    "signature")
    if bad:
        problems.append(f"certificates unverified, unsigned or altered: {', '.join(bad)}")
    return _promise(4, f"Kept only while subscribed and within each dataset's cap; erased within {HARD_CEILING.days} "
                    "days", "Daily age-based removal; cryptographic erasure (key, secret, schemas, landing zone, disk "
                    "residue) with a signed certificate", evidence, problems)


def _is_analyst_group(role: str) -> bool:
    return role == ALL_TENANTS_ANALYST_GROUP or role.endswith(ANALYST_GROUP_SUFFIX)


def _analyst_may_read(grant: dict) -> bool:
    """Shared schemas (public, reference rates) yes; private ones never; of tenant schemas, marts only."""
    schema = grant["schema"]
    if schema in PRIVATE_SCHEMAS:
        return False
    if not _tenant_schema(schema):
        return True
    if not schema.endswith("_marts"):
        return False
    own_marts = grant["role"].removesuffix(ANALYST_GROUP_SUFFIX) + "_marts"
    return grant["role"] == ALL_TENANTS_ANALYST_GROUP or schema == own_marts


def _tenant_schema(schema: str) -> bool:
    tenant, _, layer = schema.partition("_")
    return bool(TENANT_ID_PATTERN.fullmatch(tenant)) and layer in LAYERS


def _subject_rights(report: ComplianceReport) -> Promise:
    requests = report.deletion_requests
    if requests is None:
        return _promise(5, "Data-subject rights: access, rectification, deletion", "retkee tenants export / erase",
                        [], ["audit.erasure_requests does not exist: deletion requests cannot be recorded"])
    by_status = {s: sum(1 for r in requests if r.status == s) for s in ("certified", "pending", "overdue")}
    evidence = [f"{len(requests)} deletion requests recorded: {by_status['certified']} certified, "
                f"{by_status['pending']} pending, {by_status['overdue']} overdue",
                f"{sum(1 for r in requests if r.request_id)} carry the data subject's request id"]
    problems = [f"{by_status['overdue']} deletion requests are overdue"] if by_status["overdue"] else []
    return _promise(5, "Data-subject rights: access, rectification, deletion",
                    "access: retkee tenants export; deletion: retkee tenants erase --request-id; rectification: no "
                    "command, a re-extraction of the day replaces it (docs/privacy.md)", evidence, problems)


def _incident_scoping(report: ComplianceReport) -> Promise:
    log = report.access_log
    if log is None or not log.exists:
        return _promise(6, "An incident is scoped in time to notify Amazon within 24 hours", "audit.access_log", [],
                        ["audit.access_log does not exist"])
    age = (report.generated_at - log.newest).total_seconds() / 3600 if log.newest else None
    evidence = [f"audit.access_log: {log.entries} runs of {log.tenants} tenants, newest "
                f"{log.newest.isoformat(timespec='minutes') if log.newest else 'none'}"
                + (f" ({age:.0f} h ago)" if age is not None else "")]
    problems = []
    if age is None or age > ACCESS_LOG_STALE_AFTER_HOURS:
        problems.append(f"no run logged in the last {ACCESS_LOG_STALE_AFTER_HOURS} hours: the log or the daily "
                        "schedule has stopped")
    return _promise(6, "An incident is scoped in time to notify Amazon within 24 hours",
                    "Every run copied into audit.access_log; retkee incident scope --since T", evidence, problems)
