"""Operating the highly available app: failover drills and dashboards."""
