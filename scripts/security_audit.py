"""`make audit`: dependency vulnerability audit (pip-audit over the lock file) and static security lint (bandit).

pip-audit answers "No known vulnerabilities found" and exits 0 even when it could not look a single package
up (every dependency skipped: "not found on PyPI"), which is what happens on a machine that reaches no
vulnerability service. This script never lets that pass silently: when no package could be checked against
any service it prints exactly `not audited: no vulnerability service`; real findings, or a partial audit,
fail. bandit fails on high-severity findings; its known exceptions are listed, with reasons, in bandit.yaml.
The outcome is written to a JSON file the compliance report shows ("last vulnerability audit").
"""

from __future__ import annotations

import argparse
import json
import subprocess  # noqa: S404 - fixed argv of our own tools
import sys
from datetime import UTC, datetime
from pathlib import Path

NOT_AUDITED = "not audited: no vulnerability service"
SERVICES = ("pypi", "osv")
BANDIT_TARGETS = ("orchestration", "spapi_sandbox", "local_stack")
NETWORK_ERRORS = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "Failed to resolve",
                  "Connection refused", "timed out", "ProxyError", "Temporary failure in name resolution")


def classify_pip_audit(returncode: int, stdout: str, stderr: str) -> tuple[str, str]:
    """(outcome, summary) of one pip-audit run: clean, vulnerable, unreachable, partial or error."""
    try:
        report = json.loads(stdout) if stdout.strip() else None
    except ValueError:
        report = None
    if report is None:
        if any(marker in stderr for marker in NETWORK_ERRORS):
            return "unreachable", "the vulnerability service could not be reached"
        return "error", (stderr.strip().splitlines() or ["pip-audit failed without output"])[-1]
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    if vulnerable:
        names = ", ".join(f"{d['name']} {d.get('version', '')} ({', '.join(v['id'] for v in d['vulns'])})"
                          for d in vulnerable)
        return "vulnerable", f"{len(vulnerable)} vulnerable packages: {names}"
    if dependencies and len(skipped) == len(dependencies):
        return "unreachable", f"all {len(dependencies)} packages skipped: {skipped[0]['skip_reason']}"
    if skipped:
        return "partial", f"{len(skipped)} of {len(dependencies)} packages could not be audited"
    return "clean", f"{len(dependencies)} packages, no known vulnerabilities"


def run_pip_audit(requirements: Path, timeout: int) -> tuple[str, str, str]:
    """Try each service until one answers; returns (outcome, summary, service)."""
    last = ("unreachable", "no service tried", "none")
    for service in SERVICES:
        argv = [sys.executable, "-m", "pip_audit", "-r", str(requirements), "--no-deps", "--disable-pip",
                "--progress-spinner", "off", "--format", "json", "--timeout", str(timeout), "-s", service]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout * 6, check=False)  # noqa: S603
        except subprocess.TimeoutExpired:
            last = ("unreachable", f"{service}: no answer within {timeout * 6} s", service)
            continue
        outcome, summary = classify_pip_audit(done.returncode, done.stdout, done.stderr)
        if outcome != "unreachable":
            return outcome, summary, service
        last = (outcome, f"{service}: {summary}", service)
    return last


def run_bandit(config: Path) -> tuple[bool, str]:
    argv = [sys.executable, "-m", "bandit", "-q", "-r", *BANDIT_TARGETS, "-c", str(config), "-lll", "-f", "txt"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, required=True, help="pinned requirements exported from uv.lock")
    parser.add_argument("--bandit-config", type=Path, default=Path("bandit.yaml"))
    parser.add_argument("--result", type=Path, required=True, help="where to record the outcome (JSON)")
    parser.add_argument("--timeout", type=int, default=10, help="per-request timeout of pip-audit, seconds")
    args = parser.parse_args(argv)

    started = datetime.now(UTC)
    outcome, summary, service = run_pip_audit(args.requirements, args.timeout)
    if outcome == "unreachable":
        print(NOT_AUDITED)
        print(f"  ({summary})")
    else:
        print(f"pip-audit ({service}): {outcome}: {summary}")
    bandit_ok, bandit_output = run_bandit(args.bandit_config)
    print(f"bandit (high severity): {'no findings' if bandit_ok else 'FINDINGS'}")
    if not bandit_ok:
        print(bandit_output)

    args.result.parent.mkdir(parents=True, exist_ok=True)
    audit_outcome = "not audited" if outcome == "unreachable" else outcome
    args.result.write_text(json.dumps({
        "outcome": audit_outcome if bandit_ok else f"{audit_outcome}; bandit findings",
        "summary": NOT_AUDITED if outcome == "unreachable" else summary,
        "service": service,
        "bandit": "no high-severity findings" if bandit_ok else "high-severity findings",
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
    }, indent=2) + "\n")
    failed = outcome in ("vulnerable", "partial", "error") or not bandit_ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
