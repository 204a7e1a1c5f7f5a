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
