"""Transform: dbt turns each tenant's raw tables into staging views and mart tables."""
