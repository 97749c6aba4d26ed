"""Custom-resource handler that registers a VPC endpoint's ENI IPs as NLB targets (one asset)."""
