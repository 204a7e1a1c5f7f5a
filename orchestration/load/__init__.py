"""Load: parse documents by header name, keep only allowlisted columns, COPY into the tenant's raw schema."""
