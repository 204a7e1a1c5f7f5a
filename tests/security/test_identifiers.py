"""Every identifier that reaches SQL is validated first; a bad one is refused before any SQL is sent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.compliance.incident import parse_instant
from orchestration.warehouse.grants import grant_analyst_read, tenant_owner_role, tenant_scope
from orchestration.warehouse.schemas import TENANT_ID_PATTERN, BadIdentifier, check_tenant_id, tenant_schema

HOSTILE = [
    "t0123456789ab; drop schema audit cascade; --",
    't0123456789ab"; drop table x; --',
    "T0123456789AB",
    "t0123456789ab_raw",
    "t0123456789a",
    "public",
    "",
    "t0123456789ab\n",
    "t0123456789ab\x00",
    "../t0123456789ab",
]


class RecordingConnection:
    """Stands in for psycopg: records anything that would have been sent."""

    closed = False

    def __init__(self):
        self.sent = []

    def execute(self, *args, **kwargs):
        self.sent.append(args)
        raise AssertionError("SQL was sent for a bad identifier")


@pytest.mark.parametrize("tenant_id", HOSTILE)
def test_hostile_tenant_ids_are_refused_everywhere_before_sql(tenant_id):
    conn = RecordingConnection()
    with pytest.raises(BadIdentifier):
        check_tenant_id(tenant_id)
    with pytest.raises(BadIdentifier):
        grant_analyst_read(conn, tenant_id)
    with pytest.raises(BadIdentifier), tenant_scope(conn, tenant_id):
        pass
    with pytest.raises(BadIdentifier):
        tenant_owner_role(tenant_id)
    assert conn.sent == []


@given(st.text(max_size=40))
def test_only_t_and_twelve_hex_digits_is_a_tenant_id(text):
    if TENANT_ID_PATTERN.fullmatch(text):
        assert check_tenant_id(text) == text
    else:
        with pytest.raises(BadIdentifier):
            check_tenant_id(text)


@pytest.mark.parametrize("layer", ["raw; drop", "marts ", "audit", "control", ""])
def test_unknown_layers_are_refused(layer):
    with pytest.raises(BadIdentifier):
        tenant_schema("t0123456789ab", layer)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "1; drop table audit.access_log"])
def test_incident_window_must_be_an_iso_time(text):
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        parse_instant(text)


def test_a_bare_date_is_read_as_utc():
    assert parse_instant("2026-11-20").utcoffset().total_seconds() == 0
