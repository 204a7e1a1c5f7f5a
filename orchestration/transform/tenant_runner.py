"""Builds any number of tenants' dbt models in one process, from the one manifest built at build time.

Why: a `dbt build` CLI process per tenant pays Python start-up, adapter import and a project parse (2-3 s)
before any SQL runs, and passing the tenant through `--vars` would force a full re-parse every time. The
project's SQL is the same for every tenant; only the schemas differ (`<tenant>_raw|staging|marts`). So the
project is parsed once, at build time, with the template tenant (`make manifest`: the same manifest the
asset definitions read, orchestration/transform/dbt_project.py); the runner loads it once, and before each
tenant's invocation every node's and
source's schema is re-targeted in that parsed manifest; dbt resolves `ref()`, `source()` and `this` from
those fields at run time. `dbtRunner(manifest=...)` then skips parsing entirely.

The database role follows the tenant too: only the manifest is reused, while the profile is rendered and
the adapter (with its connections) created afresh by every invocation, from the environment set for it.
RETKEE_TENANT_ID names the tenant's schemas and, through profiles.yml's `role:`, the role dbt works as
(`<tenant>_owner`, by `set role` on each connection): what one tenant's build creates belongs to that tenant,
and another tenant's schemas answer "permission denied". The caller provisions the role first
(`tenant_scope`, orchestration/warehouse/grants.py).

dbt is not safe to invoke concurrently inside one process (global flags and adapter registry), so
invocations are serialised by a lock; run several processes for parallelism.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

from orchestration.transform.dbt_project import TEMPLATE_TENANT, ManifestNotBuilt, dbt_project, manifest_path
from orchestration.warehouse.schemas import check_tenant_id

__all__ = ["TEMPLATE_TENANT", "TenantBuild", "TenantDbtRunner", "shared_runner"]

# What `dbt parse` (`make manifest`) writes beside manifest.json: the parsed manifest, whole.
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


@dataclass(frozen=True)
class NodeOutcome:
    """What dbt did with one node (model, data test, unit test) of one tenant's build."""

    unique_id: str
    resource_type: str
    status: str  # success, error, skipped (models); pass, fail, warn, error, skipped (tests)
    message: str | None
    failures: int | None
    execution_time: float
    rows_affected: int | None = None


@dataclass
class TenantBuild:
    tenant_id: str
    success: bool
    elapsed: float
    outcomes: list[NodeOutcome] = field(default_factory=list)
    error: str | None = None
    run_seconds: float = 0.0  # dbt's own execution phase (the graph of nodes, threads in parallel)

    @property
    def node_seconds(self) -> float:
        """Time dbt spent inside nodes, summed over threads."""
        return sum(o.execution_time for o in self.outcomes)

    def problems(self) -> list[str]:
        bad = [o for o in self.outcomes if o.status in ("error", "fail")]
        lines = [f"{o.unique_id}: {o.status}: {o.message}" for o in bad]
        return ([self.error] if self.error else []) + lines


def invocation_environment(tenant_id: str, environment: Mapping[str, str]) -> dict[str, str]:
    """The environment of one tenant's dbt invocation: the caller's login, and the tenant, which names the
    schemas and the role dbt works as; nothing the caller passes can point either at another tenant."""
    return {**environment, "RETKEE_TENANT_ID": check_tenant_id(tenant_id)}


def retargeted_schema(template_schema: str, tenant_id: str) -> str:
    """`tenant_template_marts` -> `<tenant>_marts`; schemas that are not the template's stay as they are."""
    if template_schema == TEMPLATE_TENANT or template_schema.startswith(TEMPLATE_TENANT + "_"):
        return tenant_id + template_schema[len(TEMPLATE_TENANT):]
    return template_schema


class TenantDbtRunner:
    """One built dbt manifest, re-targeted to each tenant in turn and run with dbt's Python API."""

    def __init__(self, project: DbtProject = dbt_project) -> None:
        self.project = project
        self.project_dir = Path(project.project_dir)
        self.profiles_dir = Path(project.profiles_dir)
        # Per-process scratch: several processes (Dagster runs, tests) must not share run_results or logs.
        # Removed with the runner or at interpreter exit: every run worker process makes one.
        self._scratch = Path(tempfile.mkdtemp(prefix="retkee-dbt-"))
        self._remove_scratch = weakref.finalize(self, shutil.rmtree, self._scratch, ignore_errors=True)
        self._lock = threading.Lock()
        self._manifest: Any = None
        self._templates: dict[str, tuple[Any, str, str | None]] = {}
        self.parse_seconds = 0.0  # loading the built manifest (the name benchmarks/ reports it under)

    # --- the manifest, loaded once ---
    def manifest(self) -> Any:
        with self._lock:
            if self._manifest is None:
                self._load()
            return self._manifest

    def _common_args(self) -> list[str]:
        return [
            "--project-dir", str(self.project_dir),
            "--profiles-dir", str(self.profiles_dir),
            "--target-path", str(self._scratch / "target"),
            "--log-path", str(self._scratch / "logs"),
        ]

    def _load(self) -> None:
        """The manifest `make manifest` built, as dbt's own object (what `dbtRunner(manifest=...)` takes): no
        parse, so a process that builds marts skips dbt's 2-3 s of parsing. It is read from the parse's
        partial-parse file, dbt's complete serialisation of that object (written after every reference is
        resolved); manifest.json is a lossy view of it, where a generic test loses its kind and cannot compile."""
        from dbt.contracts.graph.manifest import Manifest
        from dbt.parser.manifest import extended_mashumuro_decoder

        started = time.perf_counter()
        if self.project is dbt_project:
            manifest_path()  # under `dagster dev`, re-parses an edited project first (dagster-dbt's prepare_if_dev)
        built = Path(self.project.project_dir) / self.project.target_path / PARTIAL_PARSE_FILE
        if not built.exists():
            raise ManifestNotBuilt(f"the dbt manifest {built} is not built: run `make manifest`")
        manifest = Manifest.from_msgpack(built.read_bytes(), decoder=extended_mashumuro_decoder)
        manifest.build_flat_graph()
        for collection in (manifest.nodes, manifest.sources, manifest.unit_tests):
            for unique_id, node in collection.items():
                self._templates[unique_id] = (node, node.schema, getattr(node, "relation_name", None))
        self._manifest = manifest
        self.parse_seconds = time.perf_counter() - started

    def _retarget(self, tenant_id: str) -> None:
        for node, schema, relation_name in self._templates.values():
            target = retargeted_schema(schema, tenant_id)
            node.schema = target
            if relation_name is not None and hasattr(node, "relation_name"):
                node.relation_name = relation_name.replace(f'"{schema}"', f'"{target}"')

    # --- building ---
    def build(
        self,
        tenant_id: str,
        environment: Mapping[str, str],
        *,
        select: Sequence[str] = (),
        full_refresh: bool = False,
        command: str = "build",
        dbt_vars: Mapping[str, object] | None = None,
        on_node: Callable[[NodeOutcome], None] | None = None,
    ) -> TenantBuild:
        """Run `dbt <command>` for one tenant as its owner role; `environment` carries the database login for
        this call only, `dbt_vars` the tenant's own settings (orchestration/tenants/settings.py). `on_node` hears
        of each node as dbt finishes it (from dbt's threads), before the build is over; the returned build's
        outcomes are the whole record, a node `on_node` never heard of (one dbt skipped) included."""
        from dbt.cli.main import dbtRunner

        check_tenant_id(tenant_id)
        manifest = self.manifest()
        args = [command, "--quiet", "--no-write-json", *self._common_args()]
        if select:
            args += ["--select", *select]
        if full_refresh:
            args.append("--full-refresh")
        if dbt_vars:
            args += ["--vars", json.dumps(dict(dbt_vars))]
        started = time.perf_counter()
        with self._lock, _environment(invocation_environment(tenant_id, environment)):
            self._retarget(tenant_id)
            try:
                callbacks = [_node_finished(on_node)] if on_node is not None else []
                result = dbtRunner(manifest=manifest, callbacks=callbacks).invoke(args)
            finally:
                self._retarget(TEMPLATE_TENANT)
        elapsed = time.perf_counter() - started
        outcomes = [_outcome(r) for r in getattr(result.result, "results", None) or []]
        error = str(result.exception) if result.exception else None
        run_seconds = float(getattr(result.result, "elapsed_time", 0.0) or 0.0)
        return TenantBuild(tenant_id, bool(result.success), elapsed, outcomes, error, run_seconds)


def _outcome(result: Any) -> NodeOutcome:
    response = result.adapter_response or {}
    status = getattr(result.status, "value", str(result.status))
    return NodeOutcome(
        unique_id=result.node.unique_id,
        resource_type=str(getattr(result.node.resource_type, "value", result.node.resource_type)),
        status=str(status).lower(),
        message=result.message,
        failures=result.failures,
        execution_time=float(result.execution_time or 0.0),
        rows_affected=response.get("rows_affected"),
    )


def _node_finished(on_node: Callable[[NodeOutcome], None]) -> Callable[[Any], None]:
    """A dbt event callback passing each NodeFinished event on as a NodeOutcome (the fields `_outcome` reads
    from a finished run's results, as the event carries them). It never raises: dbt would count a callback's
    error as the node's own failure. A node it cannot pass on is still in the build's final outcomes."""
    from google.protobuf.json_format import MessageToDict

    def callback(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        try:
            node, result = event.data.node_info, event.data.run_result
            rows = MessageToDict(result.adapter_response).get("rows_affected")
            on_node(NodeOutcome(
                unique_id=node.unique_id,
                resource_type=node.resource_type,
                status=result.status.lower(),
                message=result.message or None,
                failures=result.num_failures,
                execution_time=float(result.execution_time),
                rows_affected=None if rows is None else int(rows),
            ))
        except Exception:  # noqa: BLE001 - see the docstring
            logging.getLogger(__name__).warning("a finished dbt node could not be passed on", exc_info=True)

    return callback


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for one dbt invocation and put the previous values back afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_shared: TenantDbtRunner | None = None
_shared_lock = threading.Lock()


def shared_runner() -> TenantDbtRunner:
    """The process-wide runner: the first tenant loads the manifest, every later one reuses it."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TenantDbtRunner()
        return _shared
