"""Data that changes with AWS, each row with its source and the date it was read.

* :mod:`ha_inference.data.models`: Amazon Bedrock models, their cross-Region routes and their
  lifecycle, one row per model card.
* :mod:`ha_inference.data.images`: the AWS Deep Learning Container registries per Region.
* :mod:`ha_inference.regions`: Regions, Availability Zones and service coverage.
* :mod:`ha_inference.selfhosted.instance_types`: SageMaker hosting instance types per Region.

``tests/data/test_data_sources.py`` checks every Region, endpoint and instance type in them against
botocore's endpoint and service data of the pinned version.
"""
