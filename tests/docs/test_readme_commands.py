"""The README's commands work exactly as written: every block marked `bash runnable` in README.md and
docs/operations.md runs, line by line, in a fresh shell against a stack of its own, from a directory laid out
as a clone is after `make run` (`.venv/`, `.data/`), with nothing exported first.

A command fails the test when it exits non-zero, prints a traceback, or prints the environment of the shell
it runs in (a bare `export` does: the README's old `source <(sed 's/^/export /' .data/local.env)` line ran
`export # ...` and listed every variable of the user's shell).
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "operations.md")
BLOCK = re.compile(r"^```bash runnable\n(.*?)^```", re.M | re.S)
MARK = "@@retkee-docs-command@@"


def runnable_commands(markdown: str) -> list[str]:
    """The command lines of every `bash runnable` block, in order (blank lines and comment lines left out)."""
    lines = []
    for block in BLOCK.findall(markdown):
        lines += [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return lines


def run_commands(commands: list[str], cwd: Path, environ: dict[str, str], timeout: float = 900) -> list[dict]:
    """Run the commands in one bash process (so `T=$(...)` carries to the next line), stopping at the first
    failure; returns, per command started, its output and whether it failed."""
    script = ["set -euo pipefail"]
    for index, command in enumerate(commands):
        script += [f"echo '{MARK}{index}'", f"echo '{MARK}{index}' >&2", command]
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=timeout)
    results = []
    out_parts = re.split(re.escape(MARK) + r"(\d+)\n", done.stdout)
    err_parts = re.split(re.escape(MARK) + r"(\d+)\n", done.stderr)
    outs = dict(zip(out_parts[1::2], out_parts[2::2], strict=True))
    errs = dict(zip(err_parts[1::2], err_parts[2::2], strict=True))
    for index, command in enumerate(commands):
        if str(index) not in outs:
            break
        results.append({"command": command, "stdout": outs[str(index)], "stderr": errs.get(str(index), ""),
                        "failed": False})
    if done.returncode != 0 and results:
        results[-1]["failed"] = True
    return results


def problems(results: list[dict], canary: str) -> list[str]:
    found = []
    for result in results:
        output = result["stdout"] + result["stderr"]
        if result["failed"]:
            found.append(f"exited non-zero: {result['command']}\n{output[-2000:]}")
        if "Traceback (most recent call last)" in output:
            found.append(f"printed a traceback: {result['command']}\n{output[-2000:]}")
        if canary in output:
            found.append(f"printed the shell's environment: {result['command']}")
    return found


def user_shell_environment(canary: str) -> dict[str, str]:
    """What a user's shell has: PATH and HOME, no RETKEE_* or DAGSTER_* setting; plus a canary variable."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TERM", "USER")}
    return {**keep, "RETKEE_DOCS_CANARY": canary, "COLUMNS": "80"}


def test_the_checker_catches_the_old_environment_line_a_failing_command_and_a_traceback(tmp_path):
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "local.env").write_text("# Written by `python -m local_stack up`.\nRETKEE_PG_PORT=1\n")
    canary = "canary-" + uuid.uuid4().hex
    old_line = "source <(sed 's/^/export /' .data/local.env)"
    results = run_commands([old_line, "true"], tmp_path, user_shell_environment(canary))
    assert [p.split(":")[0] for p in problems(results, canary)] == ["printed the shell's environment"]
    results = run_commands(["echo one", "false", "echo never"], tmp_path, user_shell_environment(canary))
    assert len(results) == 2 and problems(results, canary) == ["exited non-zero: false\n"]
    results = run_commands(["python3 -c 'raise SystemExit(0) from print(\"Traceback (most recent call last)\")'"],
                           tmp_path, user_shell_environment(canary))
    assert problems(results, canary)[0].startswith("printed a traceback")


def test_every_document_has_runnable_commands_of_the_product():
    readme = runnable_commands(DOCUMENTS[0].read_text())
    assert any(line.startswith(".venv/bin/retkee compliance report") for line in readme)
    assert any(line.startswith(".venv/bin/retkee tenants erase") for line in readme)
    assert not any("export" in line.split("#")[0] for line in readme)


@pytest.mark.integration
def test_the_readme_commands_work_as_written_after_make_run(tmp_path):
    from local_stack.demo import DemoSeller, onboard_demo_sellers
    from local_stack.throwaway import throwaway_stack

    commands = [line for document in DOCUMENTS for line in runnable_commands(document.read_text())]
    canary = "canary-" + uuid.uuid4().hex
    with throwaway_stack("retkee-docs-test-", time_scale=0.01) as config:
        onboard_demo_sellers(config, (DemoSeller("A1RETKEEDOCS01", "na", ("ATVPDKIKX0DER",),
                                                 {"skus": 4, "orders_per_day": 6}),))
        clone = tmp_path / "clone"
        clone.mkdir()
        for entry in REPO_ROOT.iterdir():  # the clone's files, its .venv, and the stack's state as its .data
            if entry.name not in (".data", ".git"):
                (clone / entry.name).symlink_to(entry)
        (clone / ".data").symlink_to(config.data_dir)
        results = run_commands(commands, clone, user_shell_environment(canary))
        event_log_file = config.log_dir / "dagster-runs.log"
        event_log = event_log_file.read_text() if event_log_file.exists() else ""
    assert not problems(results, canary), "\n\n".join(problems(results, canary))
    assert len(results) == len(commands), f"only {len(results)} of {len(commands)} commands ran"
    by_command = {r["command"].split("#")[0].strip(): r["stdout"] for r in results}
    listed = next(out for cmd, out in by_command.items() if cmd == ".venv/bin/retkee tenants list")
    tenant_ids = re.findall(r"\bt[0-9a-f]{12}\b", listed)
    assert tenant_ids, f"no whole tenant id in an 80-column `tenants list`:\n{listed}"
    erased = next(out for cmd, out in by_command.items() if cmd.startswith(".venv/bin/retkee tenants erase"))
    assert f"tenant {tenant_ids[0]} erased" in erased
    # A refresh shows progress, not Dagster's log: a line per run and the totals; its events go to a file.
    refreshed = next(r for r in results if r["command"].startswith(".venv/bin/retkee refresh"))
    lines = (refreshed["stdout"] + refreshed["stderr"]).splitlines()
    assert not [line for line in lines if " - DEBUG - " in line or " - INFO - " in line], lines[:5]
    assert len(lines) <= 3 + 3 + 2, lines  # 3 days + today's snapshots + marts, the totals, where the log is
    page = next(out for cmd, out in by_command.items() if cmd.startswith(".venv/bin/retkee report"))
    assert "seller-" in page and ".html" in page, page
    summary = next(out for cmd, out in by_command.items() if cmd == ".venv/bin/retkee summary")
    assert "profit and loss" in summary and "net profit" in summary, summary
    # Dagster names a finished run's event PIPELINE_SUCCESS (its older name for RUN_SUCCESS).
    assert event_log.count(" STEP_SUCCESS ") >= 3 and re.search(r" (RUN|PIPELINE)_SUCCESS ", event_log)
