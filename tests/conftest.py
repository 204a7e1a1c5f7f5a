"""The test session starts from the same build step as `make test`: the dbt manifest (a build artifact the code
location reads, never parses) is rebuilt when a file of dbt_project/ is newer than it, by `make manifest`."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session) -> None:
    subprocess.run(["make", "--no-print-directory", "-s", "manifest"], cwd=ROOT, check=True)  # noqa: S607
