"""`python -m local_stack up|down|status|clean`: the command line over `Stack` (used by `make run`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from local_stack.config import CELERY_WORKERS_SETTING, PORT_SETTINGS, StackConfig
from local_stack.errors import StackError
from local_stack.stack import Stack
from orchestration.settings import EXECUTOR_VARIABLE, EXECUTORS

app = typer.Typer(
    help="Bring the Retkee local stack (PostgreSQL, OpenBao, SP-API sandbox) up or down.",
    no_args_is_help=True,
    add_completion=False,
)

# Port options default to what the data dir was last brought up with (.data/stack.json), else 55432,
# 58200, 58443, 3000.
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="State directory (default: $RETKEE_DATA_DIR or <repo>/.data)."),
]
PgPort = Annotated[int | None, typer.Option(envvar=PORT_SETTINGS["pg_port"], help="PostgreSQL port (default: 55432).")]
VaultPort = Annotated[int | None, typer.Option(envvar=PORT_SETTINGS["vault_port"],
                                               help="OpenBao API port (default: 58200).")]
VaultClusterPort = Annotated[int | None, typer.Option(envvar=PORT_SETTINGS["vault_cluster_port"],
                                                      help="OpenBao raft cluster port (default: API+1).")]
SandboxPort = Annotated[int | None, typer.Option(envvar=PORT_SETTINGS["sandbox_port"],
                                                 help="SP-API sandbox port (default: 58443).")]
DagsterPort = Annotated[int | None, typer.Option(envvar=PORT_SETTINGS["dagster_port"],
                                                 help="Dagster webserver port (default: 3000).")]
RedisPort = Annotated[int | None, typer.Option(envvar=PORT_SETTINGS["redis_port"],
                                               help="The Celery broker's TLS port (default: 56379).")]
# Unlike the ports, the executor is not taken from the last `up`: without the setting, the stack is in-process.
ExecutorChoice = StrEnum("ExecutorChoice", [(value, value) for value in EXECUTORS])
Executor = Annotated[ExecutorChoice, typer.Option(envvar=EXECUTOR_VARIABLE,
                                                  help="How runs execute their steps (celery: Redis + workers).")]
CeleryWorkers = Annotated[int | None, typer.Option(envvar=CELERY_WORKERS_SETTING, min=1,
                                                   help="How many Celery workers (with celery; default: 2).")]


def _stack(data_dir: Path | None, **overrides: object) -> Stack:
    return Stack(StackConfig.for_data_dir(data_dir, **overrides))


def _run(action: Callable[[], None]) -> None:
    try:
        action()
    except StackError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error


@app.command()
def up(
    data_dir: DataDir = None,
    sandbox: Annotated[bool, typer.Option(help="Also start the SP-API sandbox.")] = True,
    pg_port: PgPort = None,
    vault_port: VaultPort = None,
    vault_cluster_port: VaultClusterPort = None,
    sandbox_port: SandboxPort = None,
    dagster_port: DagsterPort = None,
    redis_port: RedisPort = None,
    executor: Executor = ExecutorChoice.in_process,
    celery_workers: CeleryWorkers = None,
) -> None:
    """Create (first time) and start everything; write .data/local.env. Safe to repeat."""
    if vault_port is not None and vault_cluster_port is None:
        vault_cluster_port = vault_port + 1
    stack = _stack(
        data_dir, with_sandbox=sandbox, pg_port=pg_port, vault_port=vault_port,
        vault_cluster_port=vault_cluster_port, sandbox_port=sandbox_port, dagster_port=dagster_port,
        redis_port=redis_port, executor=executor.value, celery_workers=celery_workers,
    )

    def action() -> None:
        stack.up()
        # Two short lines (an 80-column terminal): `make status` shows the table with PIDs. The data dir is shown
        # relative to the working directory when it is inside it (`make run`'s `.data`).
        services = ", ".join(f"{row.name} :{row.port}" if row.port else row.name
                             for row in stack.status(show=False) if row.running)
        typer.echo(f"stack up: {services}")
        typer.echo(f"state in {_shown(stack.config.data_dir)}/, settings in {_shown(stack.config.local_env_file)}")

    _run(action)


def _shown(path: Path) -> Path:
    """`path` relative to the working directory when it is inside it, else absolute."""
    path, here = path.resolve(), Path.cwd()
    return path.relative_to(here) if path.is_relative_to(here) else path


@app.command()
def down(data_dir: DataDir = None) -> None:
    """Stop every supervised process (Dagster, sandbox, OpenBao, PostgreSQL). Data is kept."""
    stack = _stack(data_dir)
    _run(lambda: typer.echo("stopped: " + (", ".join(stack.down()) or "nothing was running")))


@app.command()
def status(data_dir: DataDir = None) -> None:
    """Show each service, its PID and port, and whether it is up."""
    _run(lambda: _stack(data_dir).status())


@app.command()
def clean(
    data_dir: DataDir = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Stop everything and DELETE the data dir (cluster, Vault storage, keys, landing zone)."""
    stack = _stack(data_dir)
    # Ask only a person at a terminal; `make clean` in CI has no one to answer.
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Delete {stack.config.data_dir} and everything in it?", abort=True)
    _run(stack.clean)


@app.command()
def demo(
    data_dir: DataDir = None,
    days: Annotated[int, typer.Option(help="How many days of history to extract.")] = 7,
) -> None:
    """Register demo sellers in the sandbox, onboard them, refresh, print a summary (needs `up`)."""
    from local_stack.demo import run_demo

    _run(lambda: run_demo(_stack(data_dir).config, days))


@app.command()
def ui(data_dir: DataDir = None) -> None:
    """Start (or show) the Dagster webserver and daemon, supervised by PID (needs `up`)."""
    from local_stack.demo import start_ui

    _run(lambda: typer.echo(f"Dagster UI: {start_ui(_stack(data_dir).config)}"))
