"""The one-parse runner re-targets the template tenant's schemas, and only those."""

from orchestration.transform.tenant_runner import TEMPLATE_TENANT, retargeted_schema


def test_template_schemas_become_the_tenants_schemas():
    assert retargeted_schema(f"{TEMPLATE_TENANT}_marts", "t0123456789ab") == "t0123456789ab_marts"
    assert retargeted_schema(f"{TEMPLATE_TENANT}_raw", "t0123456789ab") == "t0123456789ab_raw"
    assert retargeted_schema(TEMPLATE_TENANT, "t0123456789ab") == "t0123456789ab"


def test_schemas_of_no_tenant_are_left_alone():
    assert retargeted_schema("control", "t0123456789ab") == "control"
    assert retargeted_schema("tenant_templates_x", "t0123456789ab") == "tenant_templates_x"
