"""Data Kiosk 2023-11-15: GraphQL queries of analytics_salesAndTraffic_2024_04_24 over the sandbox's world."""
