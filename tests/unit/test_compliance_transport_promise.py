"""Promise 2 (TLS 1.2+ on every hop) judged from given transport evidence: the Celery broker is a hop when runs go
through it, and a broker without TLS 1.2+ turns the promise red."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestration.compliance.evidence import AtRest, ComplianceReport, Transport
from orchestration.compliance.promises import promises

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _promise_2(**broker) -> object:
    transport = Transport(
        ssl="on", ssl_min_protocol_version="TLSv1.2", tcp_connections=3, tcp_without_tls=0, below_tls12=0,
        socket_connections=0, tls_versions=["TLSv1.3"], this_connection="TLSv1.3 (TLS_AES_256_GCM_SHA384)",
        vault_addr="https://localhost:58200", vault_tls="TLSv1.3", data_directory="/enc/pgdata",
        spapi_client_minimum="TLSv1.2", **broker)
    at_rest = AtRest(warehouse="gocryptfs (AES-256-GCM)", warehouse_encrypted=True, landing_documents=1,
                     landing_ciphers={"AES-256-GCM": 1}, landing_not_envelopes=[], tenant_key_types={"aes256-gcm96": 2})
    report = ComplianceReport(generated_at=NOW, dpo_contact="privacy@retkee.example", transport=transport,
                              at_rest=at_rest)
    (promise,) = [p for p in promises(report) if p.number == 2]
    return promise


def test_in_process_runs_have_no_broker_hop_and_the_promise_holds():
    promise = _promise_2()
    assert promise.holds, promise.problems
    assert "Celery broker: none (runs execute in process)" in promise.evidence


def test_a_broker_over_tls_13_holds():
    promise = _promise_2(broker_addr="rediss://localhost:56379/0", broker_tls="TLSv1.3")
    assert promise.holds, promise.problems
    assert "Celery broker rediss://localhost:56379/0: TLSv1.3" in promise.evidence


@pytest.mark.parametrize("tls", ["no TLS handshake: SSLError", "TLSv1.1", None])
def test_a_broker_without_tls_12_turns_the_promise_red(tls):
    promise = _promise_2(broker_addr="rediss://localhost:56379/0", broker_tls=tls)
    assert not promise.holds
    assert any(problem.startswith("the Celery broker") for problem in promise.problems)
