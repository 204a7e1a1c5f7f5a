"""`make audit` never reports a silent pass: no reachable vulnerability service is said plainly."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("security_audit", ROOT / "scripts" / "security_audit.py")
security_audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(security_audit)


def _report(*deps):
    return json.dumps({"dependencies": list(deps), "fixes": []})


def test_every_package_skipped_means_no_service_was_reached():
    stdout = _report({"name": "agate", "skip_reason": "Dependency not found on PyPI and could not be audited"},
                     {"name": "hvac", "skip_reason": "Dependency not found on PyPI and could not be audited"})
    assert security_audit.classify_pip_audit(0, stdout, "No known vulnerabilities found")[0] == "unreachable"


def test_a_connection_error_means_no_service_was_reached():
    stderr = "requests.exceptions.ConnectionError: ... NameResolutionError(... 'api.osv.dev' ...)"
    assert security_audit.classify_pip_audit(1, "", stderr)[0] == "unreachable"


def test_vulnerabilities_are_findings():
    stdout = _report({"name": "jinja2", "version": "2.0", "vulns": [{"id": "PYSEC-2019-217"}]},
                     {"name": "hvac", "version": "2.4.0", "vulns": []})
    outcome, summary = security_audit.classify_pip_audit(1, stdout, "")
    assert outcome == "vulnerable" and "PYSEC-2019-217" in summary


def test_a_partial_audit_is_not_a_pass():
    stdout = _report({"name": "hvac", "version": "2.4.0", "vulns": []},
                     {"name": "private-pkg", "skip_reason": "Dependency not found on PyPI"})
    assert security_audit.classify_pip_audit(0, stdout, "")[0] == "partial"


def test_clean_only_when_every_package_was_checked():
    stdout = _report({"name": "hvac", "version": "2.4.0", "vulns": []})
    assert security_audit.classify_pip_audit(0, stdout, "")[0] == "clean"


@pytest.mark.parametrize(("pip_audit", "bandit_ok", "code", "printed"), [
    (("unreachable", "osv: unreachable", "osv"), True, 0, security_audit.NOT_AUDITED),
    (("vulnerable", "1 vulnerable packages", "pypi"), True, 1, "vulnerable"),
    (("clean", "174 packages", "pypi"), False, 1, "FINDINGS"),
    (("clean", "174 packages", "pypi"), True, 0, "clean"),
])
def test_exit_code_and_output(monkeypatch, tmp_path, capsys, pip_audit, bandit_ok, code, printed):
    monkeypatch.setattr(security_audit, "run_pip_audit", lambda requirements, timeout: pip_audit)
    monkeypatch.setattr(security_audit, "run_bandit", lambda config: (bandit_ok, "B999 high finding"))
    result = tmp_path / "audit.json"
    assert security_audit.main(["--requirements", "r.txt", "--result", str(result)]) == code
    assert printed in capsys.readouterr().out
    assert json.loads(result.read_text())["outcome"]


def test_bandit_finds_no_high_severity_issue_in_our_code():
    ok, output = security_audit.run_bandit(ROOT / "bandit.yaml")
    assert ok, output
