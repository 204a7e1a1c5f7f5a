"""Quality: great-expectations suites (kept in expectations/) run against every loaded partition."""
