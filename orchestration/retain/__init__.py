"""Retain or erase: lifecycle deadlines, cryptographic erasure with certificates, key rotation, data-subject export."""
