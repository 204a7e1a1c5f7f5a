"""The one-parse runner re-targets the template tenant's schemas, and only those."""

from orchestration.transform.tenant_runner import TEMPLATE_TENANT, retargeted_schema


def test_template_schemas_become_the_tenants_schemas():
    assert retargeted_schema(f"{TEMPLATE_TENANT}_marts", "t0123456789ab") == "t0123456789ab_marts"
    assert retargeted_schema(f"{TEMPLATE_TENANT}_raw", "t0123456789ab") == "t0123456789ab_raw"
    assert retargeted_schema(TEMPLATE_TENANT, "t0123456789ab") == "t0123456789ab"


def test_schemas_of_no_tenant_are_left_alone():
    assert retargeted_schema("control", "t0123456789ab") == "control"
    assert retargeted_schema("tenant_templates_x", "t0123456789ab") == "tenant_templates_x"


def test_dbt_works_as_the_owner_role_of_the_tenant_it_builds_whatever_the_caller_passes():
    """The profile's `role:` follows the tenant the runner targets, so one tenant's build cannot create or read
    relations as the pipeline or as another tenant (regression: a profile without `role:` built everything as
    `pipeline`)."""
    from dbt.config.profile import read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    from orchestration.transform.dbt_project import DBT_PROJECT_DIR
    from orchestration.transform.tenant_runner import invocation_environment
    from orchestration.warehouse.grants import tenant_owner_role

    tenant, other = "t0123456789ab", "tba9876543210"
    set_invocation_context(invocation_environment(tenant, {"RETKEE_TENANT_ID": other, "RETKEE_DBT_USER": "pipeline"}))
    try:
        rendered = ProfileRenderer({}).render_data(read_profile(str(DBT_PROJECT_DIR)))
    finally:
        set_invocation_context({})
    target = rendered["retkee"]["outputs"][rendered["retkee"]["target"]]
    assert target["role"] == tenant_owner_role(tenant)
    assert target["schema"] == tenant
    assert target["user"] == "pipeline"


def test_the_runner_removes_its_scratch_directory():
    """Every process that builds marts makes a runner; its dbt logs and run results must not pile up in /tmp."""
    import gc

    from orchestration.transform.tenant_runner import TenantDbtRunner

    runner = TenantDbtRunner()
    scratch = runner._scratch
    assert scratch.is_dir()
    del runner
    gc.collect()
    assert not scratch.exists()


def test_the_runner_loads_the_built_manifest_whole_and_parses_nothing():
    """One parse, at build time: the runner reads what `make manifest` built (in a fresh interpreter, dbt's CLI
    entry point, through which every parse runs, is never imported), and generic tests keep their kind
    (regression: read back from manifest.json they became singular tests and every one failed to compile)."""
    import json
    import subprocess
    import sys

    probe = (
        "import json, sys\n"
        "from orchestration.transform.tenant_runner import TenantDbtRunner\n"
        "manifest = TenantDbtRunner().manifest()\n"
        "kinds = sorted({type(n).__name__ for n in manifest.nodes.values() if n.resource_type == 'test'"
        " and getattr(n, 'test_metadata', None)})\n"
        "print(json.dumps({'generic': kinds, 'cli': 'dbt.cli.main' in sys.modules, 'nodes': len(manifest.nodes)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["generic"] == ["GenericTestNode"]
    assert seen["cli"] is False
    assert seen["nodes"] > 0
