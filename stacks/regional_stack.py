"""One stack per configured Region: the network, and the inference path on top of it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from ha_inference import BedrockVpcEndpoints, CrossRegionInferenceProfile
from stacks.config import RegionSettings, Settings
from stacks.network import Network


class RegionalStack(cdk.Stack):
    """The reference app in one Region.

    Its Availability Zones come from configuration, never from a context lookup, so synth is
    offline and deterministic and uses every configured AZ (an environment-agnostic stack would
    get only two).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        region: RegionSettings,
        **kwargs: Any,
    ) -> None:
        self._zones = list(region.availability_zones)
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=settings.account, region=region.region),
            description=(
                "ha-inference reference app (GENREL05-BP01): highly available generative-AI "
                f"inference in {region.region} across {', '.join(region.availability_zones)}"
            ),
            **kwargs,
        )
        self.settings = settings
        self.region_settings = region
        self.network = Network(
            self,
            "Network",
            availability_zones=region.availability_zones,
            cidr=settings.vpc_cidr,
            nat_gateways=settings.nat_gateways,
        )

        # Bedrock: the cross-Region profile, and its runtime endpoints in every AZ.
        self.profile = CrossRegionInferenceProfile(
            self, "InferenceProfile", model_id=settings.model_id, geography=settings.geography
        )
        self.bedrock_endpoints = BedrockVpcEndpoints(
            self,
            "BedrockEndpoints",
            vpc=self.network.vpc,
            subnets=self.network.endpoint_subnets,
            invoke_targets=[self.profile],
        )
        self.inference_role = iam.Role(
            self,
            "InferenceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Invokes the model through the cross-Region inference profile only",
        )
        self.profile.grant_invoke(self.inference_role)

    @property
    def availability_zones(self) -> list[str]:
        """The configured AZs (overrides the context lookup an env-specific stack would make)."""
        return self._zones
