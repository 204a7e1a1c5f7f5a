"""The retention pieces are in the code location, and the sensor runs under the daemon without a click."""

from dagster import DefaultSensorStatus

from orchestration.defs.retention import (
    RETENTION_JOBS,
    RETENTION_SENSORS,
    erasure_run_config,
    retention_sensor,
)


def test_retention_jobs_sensor_and_check_are_in_the_code_location():
    from orchestration.definitions import defs

    jobs = {job.name for job in defs.resolve_all_job_defs()}
    assert {"erase_tenant", "rotate_tenant_keys", "check_erasure_deadlines"} <= jobs
    assert {job.name for job in RETENTION_JOBS} <= jobs
    assert defs.resolve_sensor_def("retention_sensor") is not None
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert "erasure_deadlines" in checks


def test_retention_sensor_is_on_by_default():
    from orchestration.defs.retention import rebuild_marts_after_retention

    assert RETENTION_SENSORS == [retention_sensor, rebuild_marts_after_retention]
    assert all(s.default_status == DefaultSensorStatus.RUNNING for s in RETENTION_SENSORS)


def test_erasure_run_config_refuses_anything_but_a_tenant_id():
    import pytest

    from orchestration.warehouse.schemas import BadIdentifier

    assert erasure_run_config("t0123456789ab")["ops"]["erase_tenant_data"]["config"]["tenant_id"] == "t0123456789ab"
    with pytest.raises(BadIdentifier):
        erasure_run_config("A1SELLERID; drop")
