"""`retkee` starts light: loading the command line imports neither Dagster, dbt, great-expectations, the SP-API
client nor Vault's; a command imports what it uses when it runs. How fast it answers is measured in
benchmarks/bench_cli_startup.py, not here."""

import json
import subprocess
import sys

HEAVY = ("dagster", "dagster_dbt", "dbt", "great_expectations", "sp_api", "hvac", "polars")


def test_loading_the_command_line_imports_no_heavy_library():
    probe = (
        "import json, sys\n"
        "import orchestration.cli\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_help_lists_every_command_group():
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "--help"], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    for group in ("tenants", "refresh", "compliance", "erasure"):
        assert group in done.stdout
