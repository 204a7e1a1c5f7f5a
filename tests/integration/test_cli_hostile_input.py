"""Every `retkee` command, driven with hostile arguments (markup, control characters, megabytes, look-alike
ids, SQL, paths) and hostile files (binary, other encodings, endless lines, unclosed quotes, a bad last row),
answers with exit code 1 or 2 and one short error line, never a traceback, never echoing its input unbounded,
in bounded memory, and changes nothing. The commands run in process against the real test stack."""

from __future__ import annotations

import codecs
import tracemalloc

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
    lambda v: ["tenants", "add", "--seller-id", v, "--marketplace", "ATVPDKIKX0DER"],
    lambda v: ["tenants", "add", "--seller-id", "A1HOSTILE00001", "--marketplace", v, "--region", v],
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

    _assert_refused_in_one_line(runner.invoke(app, command(value), input="Atzr|hostile\n", catch_exceptions=True),
                                command(value)[:3])


def _assert_refused_in_one_line(result, what) -> None:
    assert result.exit_code in (1, 2), (what, result.exit_code, result.output[-500:])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    output = result.output
    assert "Traceback" not in output
    if result.exit_code == 1:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-500:]
        assert len(lines[0]) <= 420, len(lines[0])
    assert len(output) < 4000, "the input was echoed unbounded"


# --- hostile files: `costs import` and `fx import` share one reader (orchestration/csv_input.py) ---------------
COSTS_HEADER = b"sku,unit_cost,currency,valid_from\n"
FX_HEADER = b"Date,USD,JPY,\n"
HOSTILE_FILES = {
    "binary": bytes(range(256)) * 400,
    "zip-like": b"PK\x03\x04" + bytes(range(1, 32)) * 200,
    "utf-16": "sku,unit_cost,currency,valid_from\nA,1,USD,2024-01-01\n".encode("utf-16"),
    "windows-1252": COSTS_HEADER + "Café crème,1,EUR,2024-01-01\n".encode("cp1252"),
    "bom-and-markup": codecs.BOM_UTF8 + COSTS_HEADER + b"[/x],[blink]1[/blink],USD,2024-01-01\n",
    "endless-line": COSTS_HEADER + b"A" * 300_000,
    "long-field": COSTS_HEADER + b"A," + b"9" * 200_000 + b",USD,2024-01-01\n",
    "unclosed-quote": COSTS_HEADER + b'"A,1,USD,2024-01-01\n' + b"B,1,USD,2024-01-01\n" * 2000,
    "stray-quote": COSTS_HEADER + b'A"x",1,USD,2024-01-01\n"B"x,1,USD,2024-01-01\n',
    # Among enough text that it is not judged binary (more than 1% control characters is).
    "escape-codes": COSTS_HEADER + b"\x1b[2J\x1b]0;owned\x07,1,USD,2024-01-01\n" + b"B,1,USD,2024-01-01\n" * 300,
    "huge-header": b",".join([b"[red]col"] * 5000) + b"\n",
    "empty": b"",
    "header-only": COSTS_HEADER,
    "duplicate-sku": COSTS_HEADER + b"A,1,USD,2024-01-01\nA,2,USD,2024-01-01\n",
    "fx-bad-rate": FX_HEADER + b"2026-11-20,abc,160,\n",
}
hostile_file = st.one_of(st.sampled_from(sorted(HOSTILE_FILES)).map(HOSTILE_FILES.get),
                         st.binary(max_size=3000), st.text(max_size=2000).map(str.encode),
                         st.text(alphabet=',"\r\n[]/\x00\x1b', max_size=500).map(str.encode))


@pytest.fixture(scope="module")
def active_tenant(onboard) -> str:
    _, tenant = onboard("A1HOSTILEFILE01", profile={"skus": 1, "orders_per_day": 1})
    return tenant.tenant_id


@pytest.mark.parametrize("command", ["costs", "fx"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=hostile_file)
def test_a_hostile_file_gets_one_error_line_and_no_traceback(runner, active_tenant, command, data, monkeypatch,
                                                              tmp_path):
    monkeypatch.chdir(tmp_path)
    from orchestration.cli import app

    path = tmp_path / "hostile.csv"
    path.write_bytes(data)
    argv = ["costs", "import", str(path), "--tenant", active_tenant] if command == "costs" else ["fx", "import",
                                                                                                 str(path)]
    _assert_refused_in_one_line(runner.invoke(app, argv, catch_exceptions=True), command)


@pytest.mark.parametrize(("name", "expected"), [
    ("binary", "not a CSV text file"), ("zip-like", "not a CSV text file"), ("utf-16", "UTF-16, not UTF-8"),
    ("windows-1252", "looks like windows-1252"), ("endless-line", "line 2 is longer than 10,000 characters"),
    ("long-field", "line 2 is longer than 10,000"), ("unclosed-quote", "an unclosed quote?"),
    ("stray-quote", "line 3: not valid CSV"), ("escape-codes", "sku contains control characters"),
    ("duplicate-sku", "line 3: SKU 'A' already has a USD cost from 2024-01-01 on line 2"),
    ("bom-and-markup", "line 2: unit_cost '[blink]1[/blink]' is not a number"),
])
def test_each_hostile_file_is_named_for_what_it_is(runner, active_tenant, name, expected, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    from orchestration.cli import app

    path = tmp_path / f"{name}.csv"
    path.write_bytes(HOSTILE_FILES[name])
    result = runner.invoke(app, ["costs", "import", str(path), "--tenant", active_tenant])
    assert result.exit_code == 1 and expected in result.stderr, result.stderr[-500:]


def test_a_bad_last_row_of_a_large_file_imports_nothing_and_memory_stays_flat(runner, active_tenant, monkeypatch,
                                                                             tmp_path):
    """6 MB of good rows and one bad row at the end: found, named, nothing imported; Python's own allocations
    stay a fraction of what reading it whole took (~20x the file's size; benchmarks/bench_costs_import.py shows
    the command's memory does not grow with the file)."""
    monkeypatch.chdir(tmp_path)
    from orchestration.cli import app

    rows = 160_000
    path = tmp_path / "large.csv"
    with path.open("wb") as out:
        out.write(COSTS_HEADER)
        for start in range(0, rows, 10_000):
            out.write(b"".join(b"SKU-LARGE-%09d,1.25,USD,2024-01-01\n" % i for i in range(start, start + 10_000)))
        out.write(b"SKU-LAST,1.25,USD,2024-02-30\n")
    assert path.stat().st_size > 6_000_000
    # Imported before the measurement, as an earlier command would have: the peak is the import's, not Python's.
    import charset_normalizer  # noqa: F401

    import orchestration.costs.store  # noqa: F401

    tracemalloc.start()
    try:
        result = runner.invoke(app, ["costs", "import", str(path), "--tenant", active_tenant])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 1, result.output[-500:]
    assert f"line {rows + 2}: valid_from '2024-02-30' is not a date" in result.stderr
    # Read whole and parsed into a list, as before, the same file took over 100 MB.
    assert peak < 16_000_000, f"{peak:,} bytes allocated at the peak for a {path.stat().st_size:,}-byte file"
    imported = runner.invoke(app, ["costs", "import", str(tmp_path / "missing.csv"), "--tenant", active_tenant])
    assert "cannot read" in imported.stderr
    from orchestration.defs.resources import open_session

    with open_session() as session:
        held = session.conn.execute("select to_regclass(%s)", (f"{active_tenant}_raw.unit_costs",)).fetchone()[0]
        assert held is None or session.conn.execute(
            f"select count(*) from {active_tenant}_raw.unit_costs").fetchone()[0] == 0  # noqa: S608


def test_the_limits_are_settable_and_each_refusal_names_its_setting(runner, active_tenant, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    from orchestration.cli import app

    path = tmp_path / "costs.csv"
    path.write_bytes(COSTS_HEADER + b"A,1,USD,2024-01-01\nB,1,USD,2024-01-01\nC,1,USD,2024-01-01\n")
    for variable, value, expected in (("RETKEE_CSV_MAX_BYTES", "50", "the limit is 50 bytes"),
                                      ("RETKEE_CSV_MAX_ROWS", "2", "more than 2 rows"),
                                      ("RETKEE_CSV_MAX_FIELD_CHARACTERS", "9", "line 1, column 4: a field of 10"),
                                      ("RETKEE_CSV_MAX_LINE_CHARACTERS", "20", "line 1 is longer than 20"),
                                      ("RETKEE_CSV_MAX_ROWS", "many", "must be a whole number")):
        monkeypatch.setenv(variable, value)
        result = runner.invoke(app, ["costs", "import", str(path), "--tenant", active_tenant])
        monkeypatch.delenv(variable)
        assert result.exit_code == 1 and expected in result.stderr and variable in result.stderr, result.stderr
    result = runner.invoke(app, ["costs", "import", str(path), "--tenant", active_tenant])
    assert result.exit_code == 0 and "imported 3 unit costs for 3 SKUs" in result.output, result.output


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


@pytest.mark.parametrize("command", [
    ["erasure", "certificates", "--tenant", "garbage"], ["erasure", "verify", "garbage"],
    ["costs", "import", "-", "--tenant", "garbage"], ["tenants", "show", "garbage"]])
def test_a_malformed_tenant_id_is_refused_in_one_line(runner, command, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    from orchestration.cli import app

    result = runner.invoke(app, command, input="sku,unit_cost,currency,valid_from\n")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]] and "'garbage'" in lines[0] and "tenant" in lines[0], result.stderr


def test_a_report_path_that_cannot_be_written_is_one_error_line(runner, pipeline_stack, monkeypatch, tmp_path):
    """Not in COMMANDS: a compliance report takes seconds to gather, and any path is a legitimate one."""
    monkeypatch.chdir(tmp_path)
    from orchestration.cli import app

    result = runner.invoke(app, ["compliance", "report", "--output", str(tmp_path / ("[red]" * 60))])
    _assert_refused_in_one_line(result, "compliance report")
    assert result.exit_code == 1 and "File name too long" in result.stderr
