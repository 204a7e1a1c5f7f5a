"""The pure parts of analysts' logins: what a --ttl may be, and that the names OpenBao makes are the names the
database's provisioning functions accept (the same rule written once for each side must agree)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from local_stack.postgres import _LOGIN_NAME
from orchestration.serve.analyst_logins import (
    ALL_TENANTS_VAULT_ROLE,
    USERNAME_TEMPLATE,
    parse_ttl,
    vault_role,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("8h", timedelta(hours=8)), ("90m", timedelta(minutes=90)), ("1h30m", timedelta(minutes=90)),
    ("30s", timedelta(seconds=30)), ("24h", timedelta(hours=24)), (" 2H ", timedelta(hours=2)),
])
def test_a_ttl_is_a_duration_of_hours_minutes_and_seconds(text, expected):
    assert parse_ttl(text) == expected


@pytest.mark.parametrize("text", ["", "0s", "25h", "24h1s", "8", "h", "8 h", "-1h", "1d", "8h;drop", "1.5h"])
def test_a_ttl_outside_one_second_to_a_day_or_not_a_duration_is_refused(text):
    with pytest.raises(ValueError, match="--ttl must be"):
        parse_ttl(text)


def _name_openbao_makes(role: str, random: str = "ab12cd34ef56") -> str:
    """USERNAME_TEMPLATE applied as OpenBao's template functions do (replace, then lowercase random)."""
    match = re.fullmatch(r'\{\{ printf "%s(_\w+)_%s" \(\.RoleName \| replace "([\w-]+)" "" \| replace "-" "_"\) '
                         r'\(random 12 \| lowercase\) \}\}', USERNAME_TEMPLATE)
    assert match, USERNAME_TEMPLATE
    suffix, prefix = match.groups()
    return f"{role.replace(prefix, '').replace('-', '_')}{suffix}_{random.lower()}"


@pytest.mark.parametrize("tenant_id", ["t0123456789ab", None])
def test_the_login_names_openbao_makes_are_the_ones_provisioning_accepts(tenant_id):
    name = _name_openbao_makes(vault_role(tenant_id))
    assert re.fullmatch(_LOGIN_NAME, name), name
    assert name.startswith("t0123456789ab_analyst_" if tenant_id else "all_tenants_analyst_")
    assert len(name) <= 63  # PostgreSQL's identifier limit


def test_no_other_name_is_a_login_name():
    for name in ("pipeline", "t0123456789ab_owner", "t0123456789ab_analyst", "all_tenants_analyst",
                 "t0123456789ab_analyst_AB12CD34EF56", "tX123456789ab_analyst_ab12cd34ef56", ALL_TENANTS_VAULT_ROLE):
        assert not re.fullmatch(_LOGIN_NAME, name), name
