"""Delivery of a multi-Region app: waves per geography on CDK Pipelines, a verify step after
each Region, and alarm-gated rollback (:class:`RegionalDeliveryPipeline`)."""
