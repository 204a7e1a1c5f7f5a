"""The compliance report: the gathered evidence (evidence.py) rendered as one HTML page a person reads.

It opens with the privacy policy's promises, one line each, judged just now (promises.py); then the data
inventory per classification, retention caps, tenants by lifecycle state, erasure deadlines, deletion requests
and certificates (as fields, their signatures checked), key rotation, database roles and grants, Vault policies
and the last vulnerability audit. The markup and its style live in one template (templates/); this module only
turns values into words. The template escapes every value, so nothing read from the warehouse can become markup.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import jinja2

from orchestration.compliance.evidence import (
    KEY_ROTATION_PERIOD,
    CertificateView,
    ComplianceReport,
    default_report_path,
    gather,
)
from orchestration.compliance.promises import promises
from orchestration.compliance.session import ComplianceSession
from orchestration.retain.policy import AMAZON_MAX_AGE_MONTHS, HARD_CEILING, LOG_MIN_RETENTION_MONTHS
from orchestration.secrets.vault import CERTIFICATE_SIGNING_KEY, TRANSIT_MOUNT
from orchestration.settings import DPO_CONTACT_VARIABLE

__all__ = ["default_report_path", "render_html", "write_report"]

TEMPLATES = Path(__file__).with_name("templates")

# What each part of a certificate's `destroyed` inventory is, in the compliance officer's words; parts a later
# version adds are shown under their own name, formatted the same way.
DESTROYED = {
    "schemas": "schemas dropped",
    "tables": "tables",
    "views": "views",
    "rows_estimate": "rows (estimate)",
    "shared_rows": "rows deleted from shared tables",
    "registry": "registry rows scrubbed",
    "landing_objects": "landing-zone documents deleted",
    "transit_key": "tenant key destroyed",
    "kv_secret": "secret destroyed (refresh token)",
    "db_roles": "database roles dropped",
    "dagster_partitions": "Dagster partitions removed",
    "runs_cancelled": "runs cancelled",
    "disk_residue": "disk residue cleared",
}
VERIFICATION = {
    "schemas_left": "schemas left",
    "relations_left": "tables and views left",
    "shared_rows_left": "rows left in shared tables",
    "registry_holds_seller_id": "registry still holds the seller id",
    "db_roles_left": "database roles left",
    "landing_objects_left": "landing-zone documents left",
    "transit_key_exists": "tenant key still exists",
    "kv_secret_exists": "secret still exists",
    "canary_decrypts": "a ciphertext made before still decrypts",
    "canary_decrypted_before": "that ciphertext decrypted before erasure",
    "dagster_partition_exists": "Dagster partition still exists",
    "in_flight_runs": "runs still in flight",
    "statistics_rewritten": "statistics catalog rewritten",
    "passed": "all checks passed",
}
SIGNATURE = {
    "valid": "valid",
    "invalid": "INVALID: the signed record is not what the signing key signed",
    "missing": "MISSING: this certificate was never signed",
}


def readable(value) -> str:
    """A value in words: lists joined, mappings as `name value` pairs, yes/no, times in UTC; never a repr."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, dict):
        return "; ".join(f"{key.replace('_', ' ')} {readable(item)}" for key, item in value.items()) or "none"
    if isinstance(value, list | tuple | set):
        return ", ".join(readable(item) for item in value) or "none"
    return str(value)


def destroyed_lines(destroyed: dict) -> list[tuple[str, str]]:
    lines = []
    for key, value in destroyed.items():
        if key == "transit_key" and isinstance(value, dict):
            text = f"{value.get('name')}, versions {readable(value.get('versions'))}"
        elif key == "kv_secret" and isinstance(value, dict):
            text = f"{value.get('path')}, versions {readable(value.get('versions'))}"
        elif key == "disk_residue" and isinstance(value, dict):
            text = (f"statistics of {len(value.get('statistics_analyzed') or [])} shared tables renewed; statistics "
                    f"catalog rewritten: {readable(value.get('statistics_rewritten'))}; WAL switched at "
                    f"{value.get('wal_switched_at', '-')}, checkpoint at {value.get('wal_after_checkpoint', '-')}")
        elif isinstance(value, list):
            text = f"{len(value)}: {readable(value)}" if value else "none"
        else:
            text = readable(value)
        lines.append((DESTROYED.get(key, key.replace("_", " ")), text))
    return lines


def verification_lines(verification: dict) -> list[tuple[str, str, bool]]:
    """(check, result, whether the result is the one an erasure must show)."""
    lines = []
    for key, value in verification.items():
        expected = value in (0, False, None) if key not in ("passed", "statistics_rewritten",
                                                             "canary_decrypted_before") else value is not False
        lines.append((VERIFICATION.get(key, key.replace("_", " ")), readable(value), expected))
    return lines


def signature_text(view: CertificateView) -> str:
    """The verdict of `retkee erasure verify`, in one line: valid, ALTERED (a stored field is not the signed one),
    INVALID (the signed record itself was changed) or MISSING."""
    check = view.check
    key = f"{TRANSIT_MOUNT}/keys/{CERTIFICATE_SIGNING_KEY}, version {check.signature_key_version}"
    if check.signature == "valid" and check.altered_fields:
        return (f"ALTERED: the signature ({key}) is valid over the signed record, but these stored fields differ "
                f"from it: {', '.join(check.altered_fields)}")
    text = SIGNATURE[check.signature]
    if check.signature == "valid":
        text += f" ({key})"
    elif check.altered_fields:
        text += f"; fields that differ from it: {', '.join(check.altered_fields)}"
    return text


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["cell"] = readable
    return environment.get_template("compliance_report.html.j2")


def render_html(report: ComplianceReport) -> str:
    by_class: dict[str, list[dict]] = defaultdict(list)
    for entry in report.inventory:
        by_class[entry["data_classification"] or "unclassified"].append(entry)
    certificates = [{"view": view, "destroyed": destroyed_lines(view.certificate.destroyed),
                     "verification": verification_lines(view.certificate.verification),
                     "signature": signature_text(view)} for view in report.erasure_certificates or []]
    return _template().render(
        report=report, promises=promises(report), inventory=dict(sorted(by_class.items())),
        states=[{"state": s, "tenants": len(ts), "ids": ", ".join(t["tenant_id"] for t in ts)}
                for s, ts in sorted(report.tenants_by_state.items())],
        certificates=certificates, granted=[g for g in report.schema_grants if g["usage"] or g["create"]],
        dpo_variable=DPO_CONTACT_VARIABLE, amazon_max_age_months=AMAZON_MAX_AGE_MONTHS,
        log_min_retention_months=LOG_MIN_RETENTION_MONTHS, key_rotation_days=KEY_ROTATION_PERIOD.days,
        erasure_days=HARD_CEILING.days,
    )


def write_report(session: ComplianceSession, path: Path, now: datetime | None = None) -> ComplianceReport:
    report = gather(session, now)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return report
