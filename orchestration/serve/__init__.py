"""Serve: what analysts and operators read out of the marts."""
