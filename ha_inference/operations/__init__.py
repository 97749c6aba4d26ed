"""Operating the highly available app: failover drills, dashboards, and the metrics of the
shipped handlers' answers."""
