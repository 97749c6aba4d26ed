"""Region data that changes with AWS: geographies, AZ names, service coverage.

Everything in this module is data with its source. When AWS changes a table, change it here and
nowhere else; ``tests/library/test_regions.py`` cross-checks the parts that cfn-lint also knows and
``tests/data/test_data_sources.py`` every Region against botocore's endpoint data.

Sources:

* Inference-profile routes: per model, in :mod:`ha_inference.data.models` (each model's card).
* Availability Zone names: ``cfnlint.helpers.AVAILABILITY_ZONES`` (cfn-lint 1.58.0), plus
  ``us-west-1b`` (us-west-1 offers two AZs per account, named a/b or a/c or b/c depending on the
  account) and ``eu-west-2d`` (euw2-az4, London's fourth AZ, on "AWS Availability Zones",
  https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html,
  read 2026-12-08; cfn-lint 1.58.0 does not know it yet).
* AZs per account: the same AWS page (AZ IDs per Region, read 2026-12-08).
* Service coverage: the CloudFormation registry schemas shipped in cfn-lint 1.58.0
  (schema date 2026-10-20), and botocore's ``endpoints.json`` of the pinned botocore for
  services whose Regions CloudFormation lists more widely than the service has endpoints.
* Amazon Bedrock Custom Model Import: the Bedrock user guide, "Import a customized model into
  Amazon Bedrock",
  https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-import-model.html,
  checked 2026-12 (:data:`CUSTOM_MODEL_IMPORT_DATE`). Neither CloudFormation's registry schemas in
  cfn-lint 1.58.0 nor aws-cdk-lib 2.275 know ``AWS::Bedrock::ModelImportJob``, so there is
  nothing to cross-check it against yet.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


class Geography(enum.Enum):
    """The prefix of a system-defined cross-Region inference profile id (``{geo}.{model}``)."""

    US = "us"
    EU = "eu"
    APAC = "apac"
    JP = "jp"
    AU = "au"
    IN = "in"
    US_GOV = "us-gov"
    GLOBAL = "global"


@dataclass(frozen=True)
class RoutingTable:
    """Where one geography's inference profile routes requests, by source Region.

    ``routes`` maps each source Region (where the caller invokes the profile) to the destination
    Regions Bedrock may process the request in. Destinations always include the source Region.
    """

    geography: Geography
    """The geography whose profile this is."""
    routes: Mapping[str, frozenset[str]]
    """Source Region -> the destination Regions a request may be processed in."""

    @classmethod
    def of(cls, geography: Geography, routes: Mapping[str, Iterable[str]]) -> RoutingTable:
        """Builds a table from plain lists, checking that every Region name is well formed."""
        if not routes:
            raise ValueError(
                f"routes for geography {geography.value!r} must name at least one source Region, "
                "got an empty mapping; pass {source_region: [destination regions]}"
            )
        frozen: dict[str, frozenset[str]] = {}
        for source, destinations in routes.items():
            dest = frozenset(destinations)
            for region in {source, *dest}:
                check_region_name("routes", region)
            if not dest:
                raise ValueError(
                    f"routes[{source!r}] must list at least one destination Region, got none; "
                    "copy the destinations from the model card"
                )
            frozen[source] = dest
        return cls(geography=geography, routes=MappingProxyType(frozen))

    def __repr__(self) -> str:
        """Sorted, so that it reads the same in every process (the API reference prints it)."""
        routes = {source: sorted(self.routes[source]) for source in sorted(self.routes)}
        return f"RoutingTable.of(Geography.{self.geography.name}, {routes!r})"

    @property
    def source_regions(self) -> frozenset[str]:
        """The Regions that may invoke this geography's profile."""
        return frozenset(self.routes)

    @property
    def all_destinations(self) -> frozenset[str]:
        """Every Region any source of this geography can route to."""
        return frozenset().union(*self.routes.values())

    def destinations(self, source_region: str) -> frozenset[str]:
        """The destination Regions for a request made in ``source_region``."""
        try:
            return self.routes[source_region]
        except KeyError:
            raise ValueError(
                f"Region {source_region!r} is not a source Region of the "
                f"{self.geography.value!r} inference profile (source Regions: "
                f"{', '.join(sorted(self.routes))}); deploy this stack to one of those Regions "
                "or choose the geography that serves it"
            ) from None


AVAILABILITY_ZONES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        region: tuple(f"{region}{letter}" for letter in letters)
        for region, letters in {
            "af-south-1": "abc", "ap-east-1": "abc", "ap-east-2": "abc",
            "ap-northeast-1": "abcd", "ap-northeast-2": "abcd", "ap-northeast-3": "abc",
            "ap-south-1": "abc", "ap-south-2": "abc", "ap-southeast-1": "abc",
            "ap-southeast-2": "abc", "ap-southeast-3": "abc", "ap-southeast-4": "abc",
            "ap-southeast-5": "abc", "ap-southeast-6": "abc", "ap-southeast-7": "abc",
            "ca-central-1": "abcd", "ca-west-1": "abc", "cn-north-1": "abc",
            "cn-northwest-1": "abc", "eu-central-1": "abc", "eu-central-2": "abc",
            "eu-north-1": "abc", "eu-south-1": "abc", "eu-south-2": "abc", "eu-west-1": "abc",
            "eu-west-2": "abcd", "eu-west-3": "abc", "il-central-1": "abc",
            "me-central-1": "abc", "me-south-1": "abc", "mx-central-1": "abc",
            "sa-east-1": "abc", "us-east-1": "abcdef", "us-east-2": "abc",
            "us-gov-east-1": "abc", "us-gov-west-1": "abc", "us-west-1": "abc",
            "us-west-2": "abcd",
        }.items()
    }
)  # fmt: skip
"""AZ names known in each Region (names, not IDs: the name-to-ID mapping differs per account)."""

ZONES_PER_ACCOUNT: Mapping[str, int] = MappingProxyType({"us-west-1": 2, "ca-central-1": 3})
"""Regions where an account sees fewer AZs than the names above (default: all of them):
us-west-1 gives newer accounts two of its three AZs; ca-central-1 has three AZ IDs (cac1-az1,
-az2, -az4) for the four names cfn-lint knows."""

REGIONS_WITHOUT: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # AWS::OpenSearchServerless::Collection and ::VpcEndpoint (cfn-lint 1.58.0 schemas),
        # plus me-south-1, where botocore's endpoints.json has no "aoss" endpoint although the
        # schemas list the type.
        "AWS::OpenSearchServerless::Collection": frozenset(
            {
                "af-south-1", "ap-east-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
                "ap-southeast-6", "ap-southeast-7", "ca-west-1", "il-central-1", "me-central-1",
                "me-south-1", "mx-central-1", "cn-north-1", "cn-northwest-1",
            }
        ),
        # The docs list more Regions for application profiles than CloudFormation supports.
        "AWS::Bedrock::ApplicationInferenceProfile": frozenset(
            {
                "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-4",
                "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "cn-north-1",
                "cn-northwest-1", "eu-north-1", "eu-south-2", "il-central-1", "mx-central-1",
                "us-gov-east-1", "us-gov-west-1", "us-west-1",
            }
        ),
        "AWS::SageMaker::EndpointConfig": frozenset({"me-central-1", "us-gov-east-1"}),
        # Amazon Bedrock mantle projects (cfn-lint 1.58.0 schemas): fewer Regions than the
        # bedrock-mantle endpoint serves (not eu-central-1, eu-south-1, ap-southeast-2).
        "AWS::BedrockMantle::Project": frozenset(
            {
                "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-2", "ap-northeast-3",
                "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-4",
                "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1",
                "ca-west-1", "cn-north-1", "cn-northwest-1", "eu-central-1", "eu-central-2",
                "eu-south-1", "eu-south-2", "eu-west-3", "il-central-1", "me-central-1",
                "mx-central-1", "us-gov-east-1", "us-west-1",
            }
        ),
        # Amazon Bedrock AgentCore runtimes (cfn-lint 1.58.0 schemas).
        "AWS::BedrockAgentCore::Runtime": frozenset(
            {
                "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-3", "ap-southeast-3",
                "ap-southeast-4", "ap-southeast-6", "ca-west-1", "eu-central-2", "il-central-1",
                "me-central-1", "mx-central-1", "us-gov-east-1",
            }
        ),
        # AWS FIS experiment templates (cfn-lint 1.58.0 schemas).
        "AWS::FIS::ExperimentTemplate": frozenset(
            {
                "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
                "ap-southeast-6", "ap-southeast-7", "ca-west-1", "cn-north-1", "cn-northwest-1",
                "il-central-1", "mx-central-1",
            }
        ),
    }
)  # fmt: skip
"""CloudFormation resource types and the known Regions where they are not available."""

CUSTOM_MODEL_IMPORT_REGIONS: frozenset[str] = frozenset(
    {"eu-central-1", "us-east-1", "us-east-2", "us-west-2"}
)
"""Regions where Amazon Bedrock Custom Model Import (``CreateModelImportJob``) is offered: US East
(N. Virginia), US East (Ohio), US West (Oregon) and Europe (Frankfurt), as the Bedrock user guide
lists them. An imported model is served only in the Region it was imported into."""

CUSTOM_MODEL_IMPORT_DATE = "2026-12"
"""When :data:`CUSTOM_MODEL_IMPORT_REGIONS` was last checked against the Bedrock user guide."""

BEDROCK_MANTLE_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-2", "ap-southeast-3", "ap-south-1", "ap-southeast-2",
        "ap-northeast-1", "eu-central-1", "eu-west-1", "eu-west-2", "eu-south-1", "eu-north-1",
        "sa-east-1", "us-gov-west-1",
    }
)  # fmt: skip
"""Regions that serve the ``bedrock-mantle`` endpoint, as the Bedrock user guide lists them
("Amazon Bedrock Mantle", https://docs.aws.amazon.com/bedrock/latest/userguide/bedrock-mantle.html,
stored copy read 2026-12-07; it agrees with the visible part of "Endpoints by Region"). botocore
has no ``bedrock-mantle`` endpoint data to cross-check it against."""

_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


def check_region_name(prop: str, region: str) -> None:
    """Raises ``ValueError`` unless ``region`` is a Region this library knows."""
    if not isinstance(region, str) or region not in AVAILABILITY_ZONES:
        hint = (
            "it is not a Region name"
            if not isinstance(region, str) or not _REGION_NAME.match(region)
            else "it is not a Region this library has data for"
        )
        raise ValueError(
            f"{prop} has an unknown Region {region!r} ({hint}); use one of "
            f"{', '.join(sorted(AVAILABILITY_ZONES))}"
        )


def zones_of(region: str) -> int:
    """How many AZs one account can use in ``region``."""
    return ZONES_PER_ACCOUNT.get(region, len(AVAILABILITY_ZONES[region]))


def partition_of(region: str) -> str:
    """The ARN partition of a Region (``aws``, ``aws-us-gov`` or ``aws-cn``)."""
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"
