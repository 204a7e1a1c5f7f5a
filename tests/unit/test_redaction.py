"""Secrets never print: not in repr, not in logs."""

import logging

import pytest

from orchestration.secrets.redaction import RedactingFilter, Secret, scrub


def test_secret_hides_its_value():
    secret = Secret("Atzr|very-secret-refresh-token")
    assert "very-secret" not in repr(secret) and "very-secret" not in str(secret)
    assert secret.reveal() == "Atzr|very-secret-refresh-token"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)


def test_log_records_are_scrubbed(caplog):
    Secret("s3cr3t-client-value-123")
    logger = logging.getLogger("retkee.test")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("calling with %s", "s3cr3t-client-value-123")
    assert "s3cr3t-client-value-123" not in caplog.text
    assert "redacted" in caplog.text
    assert scrub("x s3cr3t-client-value-123 y") == "x ***redacted*** y"
