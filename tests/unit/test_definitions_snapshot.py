"""The code location's shape is frozen in a committed snapshot: asset keys, asset checks, jobs, schedules,
sensors and resources. A change to the graph is then a visible diff in review, never a silent one.

After an intended change, rewrite the snapshot and commit it with the change:

    RETKEE_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/unit/test_definitions_snapshot.py -q

CI also loads and validates every definition the way Dagster's own tools do (`dagster definitions validate`).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestration.definitions import defs

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "definitions.json"
ROOT = Path(__file__).resolve().parents[2]


def shape() -> dict:
    graph = defs.resolve_asset_graph()
    repository = defs.get_repository_def()
    jobs = sorted(defs.resolve_all_job_defs(), key=lambda j: j.name)
    return {
        "assets": sorted(key.to_user_string() for key in graph.get_all_asset_keys()),
        "asset_checks": sorted(f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys),
        # Dagster's implicit job for ad-hoc materializations is not ours to freeze.
        "jobs": [job.name for job in jobs if not job.name.startswith("__")],
        "schedules": sorted(f"{s.name}: {s.cron_schedule} -> {s.job_name}" for s in repository.schedule_defs),
        "sensors": sorted(s.name for s in repository.sensor_defs),
        "resources": sorted(defs.resources or {}),
    }


def test_the_definitions_match_the_committed_snapshot():
    current = json.dumps(shape(), indent=2) + "\n"
    if os.environ.get("RETKEE_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.exists(), f"no snapshot yet: write it with RETKEE_UPDATE_SNAPSHOT=1 ({__doc__.splitlines()[-4]})"
    assert current == SNAPSHOT.read_text(), (
        "the code location changed: review `git diff` after rewriting the snapshot with "
        "RETKEE_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/unit/test_definitions_snapshot.py"
    )


def test_dagster_validates_every_definition(tmp_path):
    """`dagster definitions validate` loads the code location as the webserver and daemon do (an empty
    DAGSTER_HOME: no storage is needed to validate)."""
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=ROOT, env={**os.environ, "DAGSTER_HOME": str(tmp_path)}, capture_output=True, text=True,
        check=False, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Validation successful" in done.stderr + done.stdout
