"""Identifiers that reach SQL or the file system are validated first."""

import pytest

from orchestration.land.landing_zone import document_key
from orchestration.tenants.registry import TenantError, new_tenant_id, validate_seller
from orchestration.warehouse.schemas import BadIdentifier, check_tenant_id, tenant_schema


@pytest.mark.parametrize("bad", ["", "t123", "T0123456789ab", "t0123456789ab; drop table x", 'a"b', None])
def test_bad_tenant_ids_are_rejected(bad):
    with pytest.raises(BadIdentifier):
        check_tenant_id(bad)


def test_tenant_ids_are_random_and_valid():
    ids = {new_tenant_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(check_tenant_id(i) for i in ids)


def test_schema_names_only_for_known_layers():
    assert tenant_schema("t0123456789ab", "raw") == "t0123456789ab_raw"
    with pytest.raises(BadIdentifier):
        tenant_schema("t0123456789ab", "public")


def test_landing_keys_refuse_path_tricks():
    with pytest.raises(ValueError):
        document_key("t0123456789ab", "..", "2026-01-01", "doc")
    with pytest.raises(ValueError):
        document_key("t0123456789ab", "orders", "2026/01", "doc")


@pytest.mark.parametrize(
    "seller, region, marketplaces",
    [("nope", "na", ["ATVPDKIKX0DER"]), ("A1B2C3D4E5F6G7", "xx", ["ATVPDKIKX0DER"]), ("A1B2C3D4E5F6G7", "na", [])],
)
def test_bad_seller_details_are_refused(seller, region, marketplaces):
    with pytest.raises(TenantError):
        validate_seller(seller, region, marketplaces)
