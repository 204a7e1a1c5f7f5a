"""Warehouse: TLS connections to PostgreSQL and the identifiers that name tenant schemas."""
