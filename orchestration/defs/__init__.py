"""Dagster definitions, one module per concern: partitions, resources, extraction, marts, quality."""
