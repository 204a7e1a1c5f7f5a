"""Where the pipeline finds its servers: connection settings read from the environment.

Only non-secret settings live here. Every secret (database password, LWA app credentials, seller
refresh tokens, data keys) is fetched from Vault at run time through the pipeline's AppRole.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from orchestration.errors import RetkeeError

DUTIES = ("pipeline", "onboarding", "erasure", "key-release", "compliance", "rotation", "analyst-issuer")
ENVIRONMENTS = ("local", "ci", "production")
# Passwords that ship as defaults somewhere (Postgres images, tutorials, our own early drafts).
DEFAULT_PASSWORDS = frozenset({"postgres", "password", "dagster", "retkee", "changeme", "admin", "secret", "root"})
MIN_PRODUCTION_PASSWORD_LENGTH = 16
# Subject organisation of the CA that `make run` generates for the local stack.
LOCAL_CA_ORGANIZATION = "Retkee local stack"


class SettingsError(RetkeeError, RuntimeError):
    """A required setting is missing or points nowhere."""


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SettingsError(
            f"{name} is not set. Run `make run` (it writes .data/local.env, which `retkee` reads from the "
            "repository root) or export it; see docs/operations.md for every setting."
        )
    return value


# A file of non-secret `KEY=value` settings. `retkee` reads it at start so that its commands work as the README
# writes them, with nothing sourced first: RETKEE_SETTINGS_FILE names it; in a local environment, without that
# setting, `.data/local.env` of the current directory (what `make run` writes) is used when it exists.
SETTINGS_FILE_VARIABLE = "RETKEE_SETTINGS_FILE"
LOCAL_SETTINGS_FILE = Path(".data") / "local.env"


def load_settings_file(environ: dict[str, str] | None = None, cwd: Path | None = None) -> Path | None:
    """Fill the settings the environment lacks from the settings file; what is exported already wins.

    Returns the file read, or None. A named file that is missing, or a line that is not `KEY=value`, is refused
    with its line number (never its value, in case someone put a secret there)."""
    environ = os.environ if environ is None else environ
    named = environ.get(SETTINGS_FILE_VARIABLE)
    if named:
        path = Path(named)
        if not path.is_file():
            raise SettingsError(f"{SETTINGS_FILE_VARIABLE} names {path}, which does not exist")
    else:
        if environment(environ) == "production":
            return None  # production names its settings; it never picks up a file lying in the cwd
        path = (cwd or Path.cwd()) / LOCAL_SETTINGS_FILE
        if not path.is_file():
            return None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.replace("_", "").isalnum() or not key[0].isalpha():
            raise SettingsError(f"{path}:{number} is not a KEY=value line")
        environ.setdefault(key, value)
    return path


# Dagster's own run and event storage (dagster.yaml reads these). The password may come as a file of its own
# (DAGSTER_PG_PASSWORD_FILE: the local stack's secret file, or a mounted secret in production), so that it is
# never written into a settings file nor exported into the user's shell.
DAGSTER_STORAGE_SETTINGS = ("DAGSTER_HOME", "DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB",
                            "DAGSTER_PG_USERNAME")
DAGSTER_PASSWORD_FILE_VARIABLE = "DAGSTER_PG_PASSWORD_FILE"  # noqa: S105 - the name of a setting


def require_dagster_storage(environ: dict[str, str] | None = None) -> None:
    """Make sure Dagster's storage can be opened, before a command changes anything; one line if not.

    DAGSTER_PG_PASSWORD is read from DAGSTER_PG_PASSWORD_FILE when only the file is given (a JSON object with
    `password`, or the password alone)."""
    environ = os.environ if environ is None else environ
    missing = [name for name in DAGSTER_STORAGE_SETTINGS if not environ.get(name)]
    if not environ.get("DAGSTER_PG_PASSWORD"):
        password_file = environ.get(DAGSTER_PASSWORD_FILE_VARIABLE)
        if password_file:
            environ["DAGSTER_PG_PASSWORD"] = _read_password_file(Path(password_file))
        else:
            missing.append(f"DAGSTER_PG_PASSWORD (or {DAGSTER_PASSWORD_FILE_VARIABLE})")
    if missing:
        raise SettingsError(
            f"Dagster's storage is not configured: {', '.join(missing)} not set. Run `make run` first (it "
            "writes .data/local.env) and run `retkee` from the repository root; see docs/operations.md."
        )


def _read_password_file(path: Path, variable: str = DAGSTER_PASSWORD_FILE_VARIABLE) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{variable} {path} cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError:
        data = text
    password = data.get("password") if isinstance(data, dict) else data
    if not isinstance(password, str) or not password:
        raise SettingsError(f"{variable} {path} holds no password")
    return password


# How the steps of a run are executed. `in_process` (default): Dagster's own default executor, so `retkee refresh`
# runs every step in its own process and a run the daemon launches runs in that run's worker. `celery`: every step
# is a task on the Celery broker below, run by whichever worker takes it (dagster-celery; docs/scaling.md).
EXECUTOR_VARIABLE = "RETKEE_EXECUTOR"
EXECUTORS = ("in_process", "celery")


def executor(environ: Mapping[str, str] | None = None) -> str:
    value = (os.environ if environ is None else environ).get(EXECUTOR_VARIABLE, "in_process")
    if value not in EXECUTORS:
        raise SettingsError(f"{EXECUTOR_VARIABLE} must be one of {', '.join(EXECUTORS)} (got {value!r})")
    return value


# The Celery broker (and result backend): a Redis server reached over TLS only (`rediss://`, verified against
# RETKEE_CA_FILE, TLS 1.2 at least), its password in a file of its own (the local stack's secret file, or a
# mounted secret in production), never in the URL, a settings file or the environment.
CELERY_BROKER_URL_VARIABLE = "RETKEE_CELERY_BROKER_URL"
CELERY_BROKER_PASSWORD_FILE_VARIABLE = "RETKEE_CELERY_BROKER_PASSWORD_FILE"  # noqa: S105 - the name of a setting


@dataclass(frozen=True)
class CeleryBroker:
    url: str  # rediss://host:port/db, without credentials
    password_file: Path
    ca_file: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CeleryBroker:
        environ = os.environ if environ is None else environ
        missing = [name for name in (CELERY_BROKER_URL_VARIABLE, CELERY_BROKER_PASSWORD_FILE_VARIABLE,
                                     "RETKEE_CA_FILE") if not environ.get(name)]
        if missing:
            raise SettingsError(f"{EXECUTOR_VARIABLE}=celery needs {', '.join(missing)}: bring the stack up with "
                                f"`{EXECUTOR_VARIABLE}=celery make run` (docs/operations.md)")
        url = environ[CELERY_BROKER_URL_VARIABLE]
        parts = urlsplit(url)
        if parts.scheme != "rediss" or not parts.hostname:
            raise SettingsError(f"{CELERY_BROKER_URL_VARIABLE} must be rediss://host:port/db (TLS; got {url!r})")
        if parts.username or parts.password:
            raise SettingsError(f"{CELERY_BROKER_URL_VARIABLE} must not hold credentials: the password comes from "
                                f"{CELERY_BROKER_PASSWORD_FILE_VARIABLE}")
        return cls(url=url, password_file=Path(environ[CELERY_BROKER_PASSWORD_FILE_VARIABLE]),
                   ca_file=Path(environ["RETKEE_CA_FILE"]))

    def url_with_password(self) -> str:
        """The URL Celery connects with; it holds the password, so it is made where it is used and kept nowhere."""
        parts = urlsplit(self.url)
        password = quote(_read_password_file(self.password_file, CELERY_BROKER_PASSWORD_FILE_VARIABLE), safe="")
        netloc = f":{password}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def tls_options(self) -> dict[str, object]:
        """redis-py's TLS options: the server's certificate checked against our CA and its name, TLS 1.2 at least
        (Celery's `broker_use_ssl` and `redis_backend_use_ssl`)."""
        return {
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
            "ssl_ca_certs": str(self.ca_file),
            "ssl_check_hostname": True,
            "ssl_min_version": ssl.TLSVersion.TLSv1_2,
        }


@dataclass(frozen=True)
class Settings:
    pg_host: str
    pg_port: int
    pg_database: str
    ca_file: Path
    vault_addr: str
    vault_approle_file: Path
    landing_dir: Path

    @classmethod
    def from_env(cls) -> Settings:
        settings = cls(
            pg_host=os.environ.get("RETKEE_PG_HOST", "localhost"),
            pg_port=int(os.environ.get("RETKEE_PG_PORT", "55432")),
            pg_database=os.environ.get("RETKEE_PG_DATABASE", "warehouse"),
            ca_file=Path(_required("RETKEE_CA_FILE")),
            vault_addr=_required("RETKEE_VAULT_ADDR"),
            vault_approle_file=Path(_required("RETKEE_VAULT_APPROLE_FILE")),
            landing_dir=Path(_required("RETKEE_LANDING_DIR")),
        )
        return settings.checked()

    def checked(self) -> Settings:
        """These settings, refused in one line if Vault is not https, the CA file is missing, or a production
        process would run on development defaults. The same rules for the environment (`from_env`) and for the
        Dagster resources configured from it (defs/resources.py)."""
        VaultLogin(self.vault_addr, self.ca_file, self.vault_approle_file).checked()
        if environment() == "production":
            refuse_dev_defaults(self)
        return self

    def for_duty(self, duty: str) -> Settings:
        """The same servers, logged into Vault under another duty's AppRole (onboarding, erasure)."""
        return Settings(**{**self.__dict__, "vault_approle_file": duty_approle_file(self.vault_approle_file, duty)})


def duty_approle_file(pipeline_approle_file: Path, duty: str) -> Path:
    """Each duty's AppRole file sits beside the pipeline's (RETKEE_VAULT_APPROLE_FILE): approle-<duty>.json."""
    if duty not in DUTIES:
        raise SettingsError(f"unknown Vault duty {duty!r}")
    if duty == "pipeline":
        return Path(pipeline_approle_file)
    return Path(pipeline_approle_file).with_name(f"approle-{duty}.json")


@dataclass(frozen=True)
class VaultLogin:
    """Where one duty logs into Vault: the part of Settings a Vault client reads (secrets/vault.py)."""

    vault_addr: str
    ca_file: Path
    vault_approle_file: Path

    def checked(self) -> VaultLogin:
        if not self.vault_addr.startswith("https://"):
            raise SettingsError(f"RETKEE_VAULT_ADDR must be https:// (got {self.vault_addr!r})")
        if not Path(self.ca_file).is_file():
            raise SettingsError(f"RETKEE_CA_FILE {self.ca_file} does not exist")
        return self


@dataclass(frozen=True)
class WarehouseAddress:
    """Where the warehouse is: the part of Settings a warehouse connection reads (warehouse/connection.py)."""

    pg_host: str
    pg_port: int
    pg_database: str
    ca_file: Path


# Finances v0 (listFinancialEvents) is deprecated; Amazon removes it on 2027-08-27 (docs/amazon/spapi-money.md
# section 2). Until then RETKEE_FINANCES_V0 keeps its extraction running beside Finances 2024-06-19, which is
# the marts' money source either way: `on` (default, so the v0 table stays comparable) or `off`.
FINANCES_V0_REMOVAL = "2027-08-27"
FINANCES_V0_SWITCH = "RETKEE_FINANCES_V0"


def finances_v0_enabled(environ: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get(FINANCES_V0_SWITCH, "on")
    if value not in ("on", "off"):
        raise SettingsError(f"{FINANCES_V0_SWITCH} must be on or off (got {value!r})")
    return value == "on"


# Sales and traffic come from Data Kiosk by default: GET_SALES_AND_TRAFFIC_REPORT is capped per application since
# 2026-04-24 (once per 15 minutes, 96 a day, across all sellers; docs/amazon/spapi-limits.md section 1), which an
# application above 96 sellers cannot live with. `report` keeps the report path for an application below the cap.
SALES_TRAFFIC_SOURCE_VARIABLE = "RETKEE_SALES_TRAFFIC_SOURCE"
SALES_TRAFFIC_SOURCES = ("data_kiosk", "report")


def sales_traffic_source(environ: Mapping[str, str] | None = None) -> str:
    """RETKEE_SALES_TRAFFIC_SOURCE: `data_kiosk` (default) or `report`; anything else is refused."""
    value = (os.environ if environ is None else environ).get(SALES_TRAFFIC_SOURCE_VARIABLE, "data_kiosk")
    if value not in SALES_TRAFFIC_SOURCES:
        raise SettingsError(f"{SALES_TRAFFIC_SOURCE_VARIABLE} must be {' or '.join(SALES_TRAFFIC_SOURCES)} "
                            f"(got {value!r})")
    return value


def environment(environ: Mapping[str, str] | None = None) -> str:
    """RETKEE_ENV: `local` (default), `ci` or `production`; anything else is a typo we refuse."""
    value = (os.environ if environ is None else environ).get("RETKEE_ENV", "local")
    if value not in ENVIRONMENTS:
        raise SettingsError(f"RETKEE_ENV must be one of {', '.join(ENVIRONMENTS)} (got {value!r})")
    return value


# Whom a seller or an auditor writes to about their data (deletion requests included): the privacy policy's
# Data Protection Officer. The repository holds no policy text naming one, so the default is a placeholder that
# the compliance report and docs/privacy.md mark as such until the operator sets the real address.
DPO_CONTACT_VARIABLE = "RETKEE_DPO_CONTACT"
PLACEHOLDER_DPO_CONTACT = "privacy@retkee.example"


def dpo_contact(environ: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """The Data Protection Officer's contact, and whether it is still the placeholder."""
    value = ((os.environ if environ is None else environ).get(DPO_CONTACT_VARIABLE) or "").strip()
    return (value, False) if value else (PLACEHOLDER_DPO_CONTACT, True)


# The operator's attestation that the warehouse's storage is encrypted at rest (docs/security.md, "Encryption at
# rest"): how, e.g. `rds-kms`, `ebs-kms`, `gocryptfs`. The pipeline cannot see the database's disks, so
# production refuses to start until someone who can has said so; the local stack checks its own mount.
ENCRYPTED_AT_REST_VARIABLE = "RETKEE_WAREHOUSE_ENCRYPTED_AT_REST"
_NOT_AN_ATTESTATION = frozenset({"", "0", "no", "false", "off", "none", "plain"})


def encrypted_at_rest_attestation(environ: Mapping[str, str] | None = None) -> str | None:
    """How the operator says the warehouse is encrypted at rest (`rds-kms`, ...), or None if nobody said so."""
    value = (os.environ if environ is None else environ).get(ENCRYPTED_AT_REST_VARIABLE, "").strip()
    return None if value.lower() in _NOT_AN_ATTESTATION else value


def refuse_dev_defaults(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """A production process does not start on anything the local stack generated for development.

    Refused: the project's self-signed CA (or any file under a `.data/` dir), a Vault token in the environment
    or a root-token file beside the AppRole file, default or short database passwords, and a warehouse whose
    encryption at rest nobody attested (RETKEE_WAREHOUSE_ENCRYPTED_AT_REST). The messages name the setting and
    the file, never a value.
    """
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    if encrypted_at_rest_attestation(environ) is None:
        problems.append(f"{ENCRYPTED_AT_REST_VARIABLE} does not say how the warehouse is encrypted at rest (e.g. "
                        "rds-kms, ebs-kms): production never runs on an unencrypted data directory")
    for name, path in (("RETKEE_CA_FILE", settings.ca_file), ("RETKEE_VAULT_APPROLE_FILE", settings.vault_approle_file),
                       ("RETKEE_LANDING_DIR", settings.landing_dir)):
        if ".data" in Path(path).parts:
            problems.append(f"{name} points into a local-stack data dir ({path})")
    if _is_local_ca(settings.ca_file):
        problems.append(f"RETKEE_CA_FILE {settings.ca_file} is the local stack's self-signed CA")
    for name in ("VAULT_TOKEN", "BAO_TOKEN", "RETKEE_VAULT_TOKEN"):
        if environ.get(name):
            problems.append(f"{name} is set: production logs into Vault with its AppRole, never a token")
    root_token_file = _root_token_file_beside(settings.vault_approle_file)
    if root_token_file is not None:
        problems.append(f"a Vault root token file lies beside the AppRole file ({root_token_file}); revoke the "
                        "root token after bootstrap and remove the file")
    for name in ("DAGSTER_PG_PASSWORD", "PGPASSWORD"):
        value = environ.get(name)
        if value is not None and (value.lower() in DEFAULT_PASSWORDS or len(value) < MIN_PRODUCTION_PASSWORD_LENGTH):
            problems.append(f"{name} is a default or short password (< {MIN_PRODUCTION_PASSWORD_LENGTH} characters)")
    if problems:
        raise SettingsError("RETKEE_ENV=production refuses development defaults:\n  - " + "\n  - ".join(problems))


def _is_local_ca(ca_file: Path) -> bool:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        certificates = x509.load_pem_x509_certificates(Path(ca_file).read_bytes())
    except (OSError, ValueError):
        return False
    for certificate in certificates:
        organizations = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        if any(o.value == LOCAL_CA_ORGANIZATION for o in organizations):
            return True
    return False


def _root_token_file_beside(approle_file: Path) -> Path | None:
    directory = Path(approle_file).parent
    if not directory.is_dir():
        return None
    for candidate in sorted(directory.glob("*.json")):
        try:
            data = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("root_token"):
            return candidate
    return None
