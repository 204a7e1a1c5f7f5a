"""Tenants: the sellers we serve, each under a pseudonymous id, and their lifecycle."""
