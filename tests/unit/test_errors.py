"""One error base class, one place that tells the user: every error the project raises on purpose is a
RetkeeError, and the command line turns any of them, raised anywhere in a command, into one line and exit code 1.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from orchestration import cli
from orchestration.errors import RetkeeError
from orchestration.tenants.registry import TenantError

PACKAGE = Path(__file__).resolve().parents[2] / "orchestration"
BUILTIN_BASES = {"Exception", "ValueError", "RuntimeError", "OSError", "LookupError", "KeyError"}


def project_error_classes() -> dict[str, set[str]]:
    """Every class defined in orchestration/ that derives from an exception, by name -> the names of its bases."""
    classes: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                classes[f"{path.relative_to(PACKAGE)}:{node.name}"] = {
                    base.id if isinstance(base, ast.Name) else base.attr
                    for base in node.bases if isinstance(base, ast.Name | ast.Attribute)}
    by_name = {key.split(":")[1]: bases for key, bases in classes.items()}

    def is_error(name: str, seen: frozenset = frozenset()) -> bool:
        if name in BUILTIN_BASES or name == "RetkeeError":
            return True
        return name in by_name and name not in seen and any(is_error(b, seen | {name}) for b in by_name[name])

    return {key: bases for key, bases in classes.items() if any(is_error(b) for b in bases)}


def derives_from_retkee_error(name: str, by_name: dict[str, set[str]]) -> bool:
    if name == "RetkeeError":
        return True
    return any(derives_from_retkee_error(b, by_name) for b in by_name.get(name, ()))


def test_every_error_the_project_defines_is_a_retkee_error():
    classes = project_error_classes()
    by_name = {key.split(":")[1]: bases for key, bases in classes.items()}
    assert len(classes) > 20  # the scan finds them (VaultError, TenantError, CsvInputError, ManifestNotBuilt, ...)
    outside = sorted(key for key in classes if not derives_from_retkee_error(key.split(":")[1], by_name)
                     and not key.endswith(":RetkeeError"))
    assert outside == []


def _command_raising(exc: BaseException):
    app = typer.Typer(cls=cli.RetkeeCommands)

    @app.command()
    def fails() -> None:
        raise exc

    @app.command()
    def other() -> None:  # two commands, so Typer keeps the group (and its error handling)
        pass

    return app


@pytest.mark.parametrize("exc", [
    TenantError("no tenant t000000000000"),
    RetkeeError("[red]markup[/red] and \x1b[2J control\ncharacters " + "x" * 5000),
    ValueError("not a date: '2026-13-45'"),
    FileNotFoundError(2, "No such file or directory"),
])
def test_a_known_error_in_any_command_is_one_line_and_exit_code_1(exc):
    done = CliRunner().invoke(_command_raising(exc), ["fails"])
    assert done.exit_code == 1
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert len(lines[0]) <= len("error: ") + cli.MAX_ERROR_CHARACTERS
    assert "Traceback" not in done.output and "\x1b" not in done.output


def test_a_bug_is_not_hidden_as_an_error_line():
    done = CliRunner().invoke(_command_raising(KeyError("a bug")), ["fails"])
    assert isinstance(done.exception, KeyError)
