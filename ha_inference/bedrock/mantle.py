"""The ``bedrock-mantle`` endpoint in the AZs that offer it: :class:`BedrockMantleEndpoint`.

``bedrock-mantle`` serves the OpenAI-compatible APIs (Responses, Chat Completions) and the
Anthropic Messages API of Amazon Bedrock at ``bedrock-mantle.<region>.api.aws``, with its own IAM
prefix (``bedrock-mantle:``) and projects. It has no cross-Region routing: a request is served in
the Region called, so Regional HA on it means failing over between Regional hostnames in the
client. Sources: the Bedrock user guide, "Amazon Bedrock Mantle"
(https://docs.aws.amazon.com/bedrock/latest/userguide/bedrock-mantle.html) and the Service
Authorization Reference for "Amazon Bedrock Powered by AWS Mantle".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_bedrockmantle as mantle
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ha_inference._internal.names import warn_private_dns_takes_over
from ha_inference._internal.network import closed_interface_endpoint, closed_security_group
from ha_inference._internal.props import checked_props
from ha_inference._internal.validation import concrete_region
from ha_inference._internal.zones import place_in_supported_zones
from ha_inference.data.zones import BEDROCK_MANTLE
from ha_inference.regions import BEDROCK_MANTLE_REGIONS, REGIONS_WITHOUT, Geography

INFERENCE_ACTIONS = ("bedrock-mantle:CreateInference", "bedrock-mantle:CountTokens")
"""The inference actions; both take the ``bedrock-mantle:Model`` condition key."""
MODEL_KEY = "bedrock-mantle:Model"
DEFAULT_PROJECT_ID = "default"
"""The project every account has: requests that name no project use it."""
PROJECT_TYPE = "AWS::BedrockMantle::Project"
_PREFIXES = tuple(f"{g.value}." for g in Geography)
_PROJECT_NAME = re.compile(r"^.{1,128}$", re.DOTALL)


@jsii.implements(ec2.IConnectable)
class BedrockMantleEndpoint(Construct):
    """The ``bedrock-mantle`` interface endpoint in every selected AZ that offers it.

    Resources: ``Endpoint`` (``com.amazonaws.<region>.bedrock-mantle``), ``SecurityGroup``, and
    ``Project`` (``AWS::BedrockMantle::Project``) with ``project_name``.

    * an interface only in AZs whose AZ ID offers the service (it is reported not to be offered
      in every AZ), at least two: ``zone_ids`` says which of the account's AZ names those are;
    * a policy that allows ``bedrock-mantle:CreateInference`` and ``CountTokens`` on the
      project only, for the listed models only (``bedrock-mantle:Model``), for principals of
      this account;
    * no ingress until callers are admitted through ``connections`` (port 443), no egress.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        models: Sequence[str],
        zone_ids: Mapping[str, str] | None = None,
        supported_az_ids: Sequence[str] | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        project_name: str | None = None,
        private_dns_enabled: bool = True,
    ) -> None:
        """
        :param vpc: the VPC of the endpoint.
        :param models: the model ids the endpoint lets callers use (in-Region ids such as
            ``openai.gpt-oss-120b``: mantle has no cross-Region profiles).
        :param zone_ids: this account's AZ-name-to-ID mapping in the stack's Region (e.g.
            ``{"us-east-1a": "use1-az6", ...}``, as ``aws ec2 describe-availability-zones
            --query 'AvailabilityZones[].[ZoneName,ZoneId]'`` lists it), with
            ``supported_az_ids``. Default: none.
        :param supported_az_ids: the AZ IDs that offer ``bedrock-mantle`` in the stack's Region,
            as ``aws ec2 describe-vpc-endpoint-services --service-names
            com.amazonaws.<region>.bedrock-mantle`` reports them (``AvailabilityZoneIds``; no
            AWS page lists them). Default: none: every selected AZ, with a warning (the
            service is reported to be offered in only some AZs; ``ha-inference preflight``
            checks them before a deploy).
        :param vpc_subnets: where the endpoint's interfaces go; every selected subnet must be in
            an AZ that offers the service. Default: one subnet in every AZ of the VPC's private
            subnets that offers it.
        :param project_name: create an ``AWS::BedrockMantle::Project`` with this name and allow
            inference on it only. Default: the account's ``default`` project.
        :param private_dns_enabled: whether ``bedrock-mantle.<region>.api.aws`` resolves to the
            endpoint inside ``vpc`` (for every caller there). Default: ``True``.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        region = concrete_region("BedrockMantleEndpoint", stack)
        _check_props(region, models, project_name)
        self.models = tuple(models)
        """The model ids callers may use through the endpoint."""
        placement = place_in_supported_zones(
            "vpc_subnets",
            vpc,
            vpc_subnets,
            scope=self,
            service=BEDROCK_MANTLE,
            zone_ids=zone_ids,
            supported=supported_az_ids,
        )
        self.availability_zones = placement.zonal.availability_zones
        """The AZs of the endpoint's interfaces."""
        self.zone_ids = placement.zone_ids
        """Their AZ IDs."""
        self.project: mantle.CfnProject | None = None
        self.project_arn = self._create_project(stack, region, project_name)
        """The ARN of the project inference is allowed on."""
        self.security_group = closed_security_group(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="bedrock-mantle endpoint: HTTPS from allowed peers",
        )
        if private_dns_enabled:
            warn_private_dns_takes_over(self, vpc, [BEDROCK_MANTLE])
        self.endpoint = closed_interface_endpoint(
            self,
            "Endpoint",
            vpc=vpc,
            service=ec2.InterfaceVpcEndpointAwsService(BEDROCK_MANTLE),
            short_name=BEDROCK_MANTLE,
            subnets=placement.zonal.selection,
            security_group=self.security_group,
            private_dns_enabled=private_dns_enabled,
        )
        """The interface endpoint."""
        self.endpoint.add_to_policy(
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=list(INFERENCE_ACTIONS),
                resources=[self.project_arn],
                conditions={
                    "StringEquals": {
                        "aws:PrincipalAccount": stack.account,
                        MODEL_KEY: list(self.models),
                    }
                },
            )
        )
        self._connections = ec2.Connections(
            security_groups=[self.security_group], default_port=ec2.Port.tcp(443)
        )

    def _create_project(self, stack: cdk.Stack, region: str, name: str | None) -> str:
        if name is None:
            return stack.format_arn(
                service="bedrock-mantle",
                resource="project",
                resource_name=DEFAULT_PROJECT_ID,
                arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
            )
        self.project = mantle.CfnProject(self, "Project", name=name)
        return str(self.project.attr_arn)

    def grant_inference(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` run inference (``CreateInference``, ``CountTokens``) on the project,
        with the endpoint's models only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(INFERENCE_ACTIONS),
            resource_arns=[self.project_arn],
            conditions={"StringEquals": {MODEL_KEY: list(self.models)}},
        )

    @property
    def connections(self) -> ec2.Connections:
        """The endpoint's security group, default port 443: admit callers with
        ``connections.allow_default_port_from(peer)``."""
        return self._connections


def _check_props(region: str, models: Sequence[str], project_name: str | None) -> None:
    if region not in BEDROCK_MANTLE_REGIONS:
        raise ValueError(
            f"BedrockMantleEndpoint needs a Region that serves bedrock-mantle, got {region}; "
            f"deploy to one of {', '.join(sorted(BEDROCK_MANTLE_REGIONS))}, or call models in "
            f"{region} through bedrock-runtime (BedrockVpcEndpoints)"
        )
    if not models:
        raise ValueError(
            "models must name at least one model id such as 'openai.gpt-oss-120b', got none; "
            "list the models callers may use"
        )
    for index, model in enumerate(models):
        if model.startswith(_PREFIXES):
            raise ValueError(
                f"models[{index}] is {model!r}, a cross-Region inference profile id, but "
                "bedrock-mantle has no cross-Region routing; give the model's in-Region id, or "
                "invoke the profile on bedrock-runtime (BedrockVpcEndpoints, "
                "CrossRegionInferenceProfile) to have Bedrock route across Regions"
            )
        if not model.strip():
            raise ValueError(f"models[{index}] must be a model id, got {model!r}")
    if project_name is None:
        return
    if not _PROJECT_NAME.match(project_name):
        raise ValueError(
            f"project_name must be 1 to 128 characters, got {len(project_name)}; shorten it"
        )
    if region in REGIONS_WITHOUT[PROJECT_TYPE]:
        raise ValueError(
            f"project_name is set, but CloudFormation offers no {PROJECT_TYPE} in {region}, got "
            f"{project_name!r}; leave project_name out to use the default project, or create "
            "the project with the bedrock-mantle API"
        )
