"""Importing the code location does no work: no dbt parse, no connection, no change to the environment.

The manifest is built at build time (`make manifest`); a process that loads the code location (the webserver,
the daemon, every run worker, `retkee`) only reads it. The import runs in a fresh interpreter with audit hooks
(PEP 578), so nothing is patched: what the hooks see is what the import really did.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestration.transform.dbt_project import dbt_project

PROBE = r"""
import json, os, sys
events = []
def hook(event, args):
    if event == "socket.connect":
        events.append(["socket.connect", repr(args[1])])
    elif event == "subprocess.Popen" and "dbt" in " ".join(map(str, args[1] or [])):
        events.append(["dbt", repr(args[1])])
    elif event in ("os.putenv", "os.unsetenv") and args[0].startswith(b"RETKEE_"):
        events.append([event, repr(args[0])])  # ours, even if put back before the import ends
sys.addaudithook(hook)
before = dict(os.environ)
import orchestration.definitions  # noqa: F401
after = dict(os.environ)
print(json.dumps({
    "events": events,
    "environment_changed": sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)),
    "dbt_modules": sorted(m for m in sys.modules if m.startswith(("dbt.cli.", "dbt.parser."))),
}))
"""
# Set by a library when it is imported, not by our code: polars tunes its allocator (jemalloc).
LIBRARY_VARIABLES = {"_RJEM_MALLOC_CONF"}


def test_importing_the_code_location_parses_nothing_connects_nowhere_and_leaves_the_environment_alone():
    manifest = dbt_project.manifest_path
    built = manifest.stat()
    # A manifest older than every model: before the fix, the import re-parsed the project (and rewrote the
    # environment to do it). Now a stale manifest is `make manifest`'s business, never the import's.
    os.utime(manifest, (0, 0))
    try:
        environment = {**os.environ, "RETKEE_TENANT_ID": "t0123456789ab"}
        done = subprocess.run([sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True,
                              check=False, timeout=300, cwd=Path(__file__).resolve().parents[2])
    finally:
        os.utime(manifest, ns=(built.st_atime_ns, built.st_mtime_ns))
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["events"] == []
    assert set(seen["environment_changed"]) - LIBRARY_VARIABLES == set()
    assert seen["dbt_modules"] == []
    assert manifest.stat().st_mtime_ns == built.st_mtime_ns  # nothing rewrote the manifest
