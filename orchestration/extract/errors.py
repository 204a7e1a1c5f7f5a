"""What can go wrong when talking to SP-API, sorted by what the pipeline must do about it."""

from __future__ import annotations

from orchestration.errors import RetkeeError


class ExtractionError(RetkeeError, RuntimeError):
    """Base class; messages name the tenant, dataset and operation, never a token."""


class SellerRevoked(ExtractionError):
    """The seller withdrew our authorization (invalid_grant, or 403 Unauthorized on a fresh token)."""


class TransientApiError(ExtractionError):
    """Throttled, 5xx, network, expired URL or a damaged download: worth another try."""


class ReportFatal(ExtractionError):
    """Amazon could not produce the report (processingStatus FATAL); the reason is kept."""


class DocumentError(ExtractionError):
    """A downloaded document cannot be used as it is (bad status, charset or body)."""
