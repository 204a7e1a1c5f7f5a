"""Every `retkee` command, driven with hostile arguments (markup, control characters, megabytes, look-alike
ids, SQL, paths), answers with exit code 1 or 2 and one short error line, never a traceback, never echoing
its input unbounded, and changes nothing. The commands run in process against the real test stack."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

pytestmark = pytest.mark.integration

SPECIALS = ["[/x]", "[blink]x[/blink]", "[red]", "\x00", "\x1b[2J", "A" * 100_000, "t000000000000", "t" + "f" * 12,
            "T0123456789AB", "'; drop schema control cascade; --", "../../etc/passwd", "", " ", "-", "--help-me",
            "🦆" * 50, "2026-13-45", "9999-12-31", "nan", "\n\n"]
hostile = st.one_of(st.sampled_from(SPECIALS), st.text(min_size=0, max_size=300),
                    st.text(alphabet="[]/\\'\";${}%\x00\x1b", max_size=40))

# Each command with the place a hostile value goes (a tenant id, a status, a date, a path, a reason).
COMMANDS = [
    lambda v: ["tenants", "show", v],
    lambda v: ["tenants", "revoke", v],
    lambda v: ["tenants", "terminate", v, "--reason", v],
    lambda v: ["tenants", "list", "--status", v],
    lambda v: ["tenants", "list", "--output", v],
    lambda v: ["tenants", "erase", v],
    lambda v: ["tenants", "erase", v, "--yes"],
    lambda v: ["tenants", "erase", "t000000000000", "--yes", "--request-id", v],
    lambda v: ["tenants", "export", v, "--out", "/nonexistent/x"],
    lambda v: ["erasure", "certificates", "--tenant", v],
    lambda v: ["erasure", "verify", v],
    lambda v: ["report", v],
    lambda v: ["report", "t000000000000", "--from", v],
    lambda v: ["refresh", "--tenant", v, "--days", "1", "--no-snapshots", "--no-marts"],
    lambda v: ["refresh", "--end", v, "--days", "1", "--tenant", "t000000000000"],
    lambda v: ["incident", "scope", "--since", v],
    lambda v: ["costs", "import", "/nonexistent/costs.csv", "--tenant", v],
    lambda v: ["fx", "import", v],
    lambda v: ["tenants", "settings", v, "--reporting-currency", v],
    lambda v: ["tenants", "settings", v, "--lead-time-days", "10"],
    lambda v: ["analysts", "grant", v, "--ttl", v],
    lambda v: ["analysts", "connect", v],
]


@pytest.fixture(scope="module")
def runner(pipeline_stack, tmp_path_factory):
    return CliRunner()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c("V")[:2]))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=hostile)
def test_a_hostile_argument_gets_one_error_line_and_no_traceback(runner, command, value, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no settings file here: the stack's environment only
    from orchestration.cli import app

    result = runner.invoke(app, command(value), catch_exceptions=True)
    assert result.exit_code in (1, 2), (command(value)[:3], result.exit_code, result.output[-500:])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    output = result.output
    assert "Traceback" not in output
    if result.exit_code == 1:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-500:]
        assert len(lines[0]) <= 420, len(lines[0])
    assert len(output) < 4000, "the input was echoed unbounded"


def test_the_tenant_list_is_unchanged_by_the_hostile_runs(runner, pipeline_stack, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    from orchestration.cli import app

    listed = runner.invoke(app, ["tenants", "list", "--output", "csv"])
    assert listed.exit_code == 0, listed.output
    assert "drop schema" not in listed.output and "[blink]" not in listed.output


def test_revoking_twice_says_the_tenant_was_already_revoked_and_when(runner, onboard, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    from orchestration.cli import app

    _, tenant = onboard("A1REVOKETWICE1")
    first = runner.invoke(app, ["tenants", "revoke", tenant.tenant_id, "--reason", "[/x] seller left"])
    assert first.exit_code == 0 and f"tenant {tenant.tenant_id} is now revoked" in first.output
    shown = runner.invoke(app, ["tenants", "show", tenant.tenant_id])
    assert shown.exit_code == 0 and "[/x] seller left" in shown.output
    again = runner.invoke(app, ["tenants", "revoke", tenant.tenant_id])
    assert again.exit_code == 0, again.output
    assert "was already revoked (since 20" in again.output and "nothing changed" in again.output


def test_certificates_of_a_tenant_never_erased_is_an_error(runner, onboard, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    from orchestration.cli import app

    _, tenant = onboard("A1NOCERT000001")
    result = runner.invoke(app, ["erasure", "certificates", "--tenant", tenant.tenant_id])
    assert result.exit_code == 1 and "no erasure certificate for tenant" in result.stderr
