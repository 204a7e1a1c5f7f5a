"""A refresh takes what lives as long as the process out of the garbage collector's full collections
(refresh.keep_out_of_collections): before its first run, and once more after the first tenant (dbt is parsed by
then), never again after that."""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from orchestration import refresh as refresh_module

TENANTS = ["t0000000000a1", "t0000000000b2", "t0000000000c3"]


def test_frozen_before_the_first_run_and_after_the_first_tenant_only(monkeypatch):
    happened: list[str] = []
    monkeypatch.setattr(refresh_module, "hold_storage_connections", lambda instance: None)
    monkeypatch.setattr(refresh_module, "_register_tenants", lambda instance, tenant_ids: None)
    monkeypatch.setattr(refresh_module.gc, "freeze", lambda: happened.append("freeze"))

    def run_job(job_name, instance, **_):
        happened.append(job_name)
        return SimpleNamespace(success=True, run_id="r", all_events=[])

    monkeypatch.setattr(refresh_module, "run_job", run_job)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    report = refresh_module.refresh(TENANTS, [yesterday], instance=object())
    assert len(report.succeeded) == 6
    assert happened == ["freeze", "extract_reports", "build_marts",
                        "freeze", "extract_reports", "build_marts",
                        "extract_reports", "build_marts"]


def test_what_is_frozen_is_no_garbage_and_stays_out_of_collections():
    class Cycle:
        pass

    garbage = Cycle()
    garbage.me = garbage  # a cycle nothing refers to: only a collection frees it
    gone = weakref.ref(garbage)
    del garbage
    kept = [Cycle()]
    assert any(o is kept for o in gc.get_objects())  # looked at by every full collection, until frozen
    try:
        refresh_module.keep_out_of_collections()
        assert gone() is None  # collected before the freeze, not kept for the process's life
        assert not any(o is kept for o in gc.get_objects())  # in the permanent generation, which none walks
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
