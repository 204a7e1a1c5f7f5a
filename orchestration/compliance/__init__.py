"""Compliance: the access log of every run, incident scoping, and the compliance report."""
