"""The compliance officer's own access: the `compliance` Vault duty and the `compliance` database role.

Neither can read seller data: the role sees the audit schema, tenants' lifecycle columns and the catalog;
the duty sees key metadata and policies, its own login, nothing that decrypts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from orchestration.secrets.vault import Vault
from orchestration.settings import Settings
from orchestration.warehouse.connection import connect


@dataclass
class ComplianceSession:
    settings: Settings
    vault: Vault
    conn: psycopg.Connection


@contextmanager
def compliance_session(settings: Settings | None = None) -> Iterator[ComplianceSession]:
    settings = (settings or Settings.from_env()).for_duty("compliance")
    vault = Vault(settings)
    with connect(settings, vault, role="compliance", autocommit=True) as conn:
        yield ComplianceSession(settings, vault, conn)
