"""The reference architecture as constructs: a private VPC for inference, everything a Region
serves from (:class:`RegionalInference`), and its failover to other Regions' self-hosted models."""
