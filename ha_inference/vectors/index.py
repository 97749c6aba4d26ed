"""The k-NN index of a vector collection, created at deploy time with the shipped mapping."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from ha_inference._internal.custom_resource import HandlerProvider
from ha_inference._internal.nag import SYNCHRONOUS_FUNCTION, acknowledge_all
from ha_inference._internal.props import checked_props
from ha_inference.compute.multi_az_function import MultiAzFunction
from ha_inference.compute.shipped import ShippedHandler, handler_code
from ha_inference.functions.vector_index import DEFAULT_INDEX, IndexDefinition
from ha_inference.vectors.collection import VectorCollection
from ha_inference.vectors.collection_endpoint import CollectionVpcEndpoint

CREATE_TIMEOUT = cdk.Duration.minutes(10)
"""How long the creator keeps trying: a new data access policy takes about a minute to apply,
and a new collection endpoint's DNS can lag behind it."""


class VectorIndex(Construct):
    """Creates one k-NN index in a :class:`VectorCollection` when the stack deploys.

    Resources: ``Resource`` (``Custom::VectorIndex``), ``Creator`` (a :class:`MultiAzFunction`
    with the shipped ``create_index`` handler) and ``Provider`` (aws-cdk-lib's custom-resource
    provider framework, which answers CloudFormation on success, failure and timeout).

    * the creator runs in the VPC on a subnet in every AZ of ``vpc_subnets`` and reaches the
      collection only through ``vpc_endpoint`` (whose security group admits it on 443); it may
      create, describe and update this one index and nothing else: no documents, no deletes;
    * Create and Update create the index when it is missing and succeed when it exists with
      the same vector field, retrying for up to 10 minutes while the data access policy
      applies; an existing index with another dimension, engine or space type fails the
      deploy with a message saying to choose a new index name;
    * Delete removes nothing: the index and its documents go with the collection (its removal
      policy decides), and the creator's role may not delete indexes.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        collection: VectorCollection,
        vpc_endpoint: CollectionVpcEndpoint,
        vpc_subnets: ec2.SubnetSelection | None = None,
        definition: IndexDefinition = DEFAULT_INDEX,
        environment_encryption: kms.IKey | None = None,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param collection: the collection the index lives in.
        :param vpc_endpoint: the collection's VPC endpoint, the creator's only path to it.
        :param vpc_subnets: where the creator runs. Default: one subnet in every AZ of the
            endpoint VPC's private subnets.
        :param definition: the index. Default: the shipped handlers' index (``passages``,
            1,024-dimension ``vector`` field, faiss HNSW, L2).
        :param environment_encryption: key for the creator's environment variables.
            Default: a new customer managed key.
        :param log_encryption_key: key for the creator's (and the provider framework's) log
            group. Default: none, CloudWatch Logs' own encryption.
        """
        super().__init__(scope, construct_id)
        if not isinstance(collection, VectorCollection):
            raise TypeError(
                f"collection must be a VectorCollection defined in this app (its data access "
                f"policy must admit the creator), got {type(collection).__name__}"
            )
        self.definition = definition
        self.creator = MultiAzFunction(
            self,
            "Creator",
            vpc=vpc_endpoint.vpc,
            vpc_subnets=vpc_subnets,
            code=handler_code(),
            handler=ShippedHandler.CREATE_INDEX.value,
            description=f"Creates the k-NN index {definition.name} at deploy time",
            timeout=CREATE_TIMEOUT,
            memory_size=256,
            environment_encryption=environment_encryption,
            log_encryption_key=log_encryption_key,
        )
        acknowledge_all(
            self.creator.function,
            SYNCHRONOUS_FUNCTION,
        )
        collection.grant_create_index(self.creator, index_name=definition.name)
        vpc_endpoint.connections.allow_default_port_from(self.creator.connections)
        provider = HandlerProvider(
            self,
            "Provider",
            on_event=self.creator.function,
            log_group=self.creator.log_group,
            environment_key=self.creator.environment_key,
        )
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::VectorIndex",
            service_timeout=cdk.Duration.minutes(15),
            properties={
                "CollectionEndpoint": collection.collection_endpoint,
                "Index": definition.to_properties(),
            },
        )
        # The creator must be in the data access policy, admitted by the network policy and
        # the endpoint's security group, before the first request.
        self.resource.node.add_dependency(collection, vpc_endpoint, self.creator)

    @property
    def index_name(self) -> str:
        return self.definition.name
