"""Typed, validated settings for the reference app, read from ``cdk.json`` context.

Every key lives under the ``ha-inference:`` prefix so that a typo is caught rather than ignored.
Values given on the command line (``cdk synth -c ha-inference:regions='["eu-west-1"]'``) arrive
as strings; JSON strings are decoded. A bad value raises :class:`SettingsError`, whose message
names the key, shows the value and says the fix.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ha_inference.architecture.regional_inference import DEFAULT_FALLBACKS, MODEL_IN_ARCHIVE
from ha_inference.bedrock.imported_model import S3_URI
from ha_inference.bedrock.profiles import check_model_id
from ha_inference.bedrock.tiers import ServiceTier
from ha_inference.data.images import hugging_face_tgi_image
from ha_inference.data.models import (
    DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL,
    MODEL_CARDS,
    model_card,
)
from ha_inference.data.zones import (
    AGENTCORE_RUNTIME,
    ZONE_IDS_COMMAND,
    ZONE_SUPPORT,
    check_zone_ids,
)
from ha_inference.regions import (
    AVAILABILITY_ZONES,
    CUSTOM_MODEL_IMPORT_REGIONS,
    Geography,
    check_region_name,
    zones_of,
)
from ha_inference.selfhosted.instance_types import hosting_instance_types

PREFIX = "ha-inference:"
PLACEHOLDER_ACCOUNT = "000000000000"
"""Stands in for the account when none is known (offline synth); never deployable."""

DEFAULT_REGIONS = ("us-east-1", "us-east-2", "us-west-2")
DEFAULT_AZ_COUNT = 3
DEFAULT_EMBEDDING_MODEL_ID = DEFAULT_EMBEDDING_MODEL
"""Titan Text Embeddings V2, invoked on demand in each Region (it has no inference profile)."""
DEFAULT_MODEL_ID = DEFAULT_CHAT_MODEL
"""Claude Sonnet 5.5: Active, and its card routes its US profile from each default Region."""


DEFAULT_SELF_HOSTED: dict[str, Any] = {
    # None: the Hugging Face TGI deep-learning container from each Region's own registry.
    "image": None,
    "instance-type": "ml.g5.xlarge",
    "fallback-instance-types": None,
    "model-data": None,
    "model-data-bucket-owner": None,
    "environment": None,
    "invocations-per-instance": 100,
    "allowed-principals": [],
    "deletion-protection": False,
    "network-isolation": None,
    "cross-region": None,
    "full-load-instances": None,
    "cross-region-principals": None,
}
"""The fields of ``ha-inference:self-hosted`` and their defaults. The self-hosted model is off
until that setting names the model: ``model-data`` (an s3:// model archive in each Region), or
a hub model id in ``environment`` with ``nat-gateways`` for the download. ``cross-region``
(default: on unless ``allowed-principals`` names outside consumers) lets every Region reach every
other Region's model over cross-Region PrivateLink. ``full-load-instances`` (default: one less
than the AZs) is how many instances carry the full load; with ``ha-inference:tolerated-az-losses``
2, each Region runs enough that the survivors of any two AZ losses still hold that many."""

# DEFAULT_FALLBACKS (the fallback types when fallback-instance-types is not set) and
# MODEL_IN_ARCHIVE (TGI's environment for model-data) are the library's defaults
# (ha_inference.architecture.regional_inference); here the fallbacks are kept where every
# configured Region offers them, so every Region runs the same types.

REGION_PLACEHOLDER = "{region}"


@dataclass(frozen=True)
class SelfHostedSettings:
    """The SageMaker model behind the runtime load balancer."""

    image: str | None
    """An ECR image URI (``{region}`` is filled in); ``None``: the Hugging Face TGI container
    from each Region's registry (:func:`ha_inference.data.images.hugging_face_tgi_image`)."""
    instance_type: str
    invocations_per_instance: int
    fallback_instance_types: tuple[str, ...] = ()
    model_data: tuple[tuple[str, str], ...] = ()
    """(Region, s3:// URL of the model archive in that Region); empty for a hub download."""
    model_data_bucket_owner: str | None = None
    """The account that owns the model archives' buckets; ``None``: the app's account."""
    environment: tuple[tuple[str, str], ...] = ()
    allowed_principals: tuple[str, ...] = ()
    deletion_protection: bool = False
    network_isolation: bool = True
    cross_region: bool = False
    """Whether each Region reaches the others' models (cross-Region PrivateLink, failover)."""
    full_load_instances: int | None = None
    """The instances that carry the full load; ``None``: one less than the AZs."""
    cross_region_principals: tuple[str, ...] | None = None
    """Who may connect the other Regions' endpoints to a Region's endpoint service; ``None``:
    the CloudFormation execution roles (CDK bootstrap) of the other Regions."""

    def image_in(self, region: str) -> str:
        if self.image is None:
            return hugging_face_tgi_image(region)
        return self.image.replace(REGION_PLACEHOLDER, region)

    def model_data_in(self, region: str) -> str | None:
        return dict(self.model_data).get(region)


class SettingsError(ValueError):
    """A context value that the reference app cannot use."""


@dataclass(frozen=True)
class AgentSettings:
    """The agent runtime (``ha-inference:agent``): the shipped retrieval agent, or an image."""

    image: str | None = None
    """An ECR image URI (``{region}`` is filled in); ``None``: the shipped retrieval agent, a
    code package (no Docker, nothing to build)."""

    def image_in(self, region: str) -> str | None:
        return self.image.replace(REGION_PLACEHOLDER, region) if self.image else None


@dataclass(frozen=True)
class PipelineSettings:
    """The delivery pipeline (``ha-inference:pipeline``): where the code comes from, and the
    waves of Regions it deploys one after the other."""

    waves: tuple[tuple[str, tuple[str, ...]], ...]
    """(wave name, its Regions), in deployment order; every Region of the app exactly once."""
    region: str
    """The pipeline's own Region."""
    branch: str = "main"
    repository: str | None = None
    """``owner/repo`` behind ``connection_arn``."""
    connection_arn: str | None = None
    codecommit_repository: str | None = None
    """A CodeCommit repository in the pipeline's account and Region, instead of a connection."""
    bake_minutes: int = 30


@dataclass(frozen=True)
class RegionSettings:
    """One Region the app deploys to, and the AZs it uses there."""

    region: str
    availability_zones: tuple[str, ...]


@dataclass(frozen=True)
class Settings:
    """Everything the reference app reads from context."""

    account: str
    regions: tuple[RegionSettings, ...]
    vpc_cidr: str = "10.0.0.0/16"
    nat_gateways: int = 0
    model_id: str = DEFAULT_MODEL_ID
    embedding_model_id: str = DEFAULT_EMBEDDING_MODEL_ID
    geography: Geography = Geography.US
    data_residency: tuple[str, ...] | None = None
    require_all_destinations: bool = True
    self_hosted: SelfHostedSettings | None = None
    imported_model: tuple[tuple[str, str], ...] = ()
    """(Region, s3:// folder of the model to import there); empty: the inference profile."""
    zonal_autoshift: bool = False
    tolerated_az_losses: int = 1
    """AZ losses each Region's own capacity carries the full load through (1 or 2)."""
    service_tier: ServiceTier | None = None
    """Bedrock's service tier for the chat model; ``None``: none sent (Bedrock's default)."""
    embedding_service_tier: ServiceTier | None = None
    denied_service_tiers: tuple[ServiceTier, ...] = ()
    """Tiers the retrieval function's role may never use."""
    bedrock_tokens_per_minute_quota: int | None = None
    pipeline: PipelineSettings | None = None
    """Deliver through a pipeline of waves (``ha-inference:pipeline``); ``None``: ``cdk deploy``."""
    agent: AgentSettings | None = None
    """The agent runtime in every Region (``ha-inference:agent``); ``None``: no agent."""
    zone_ids: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    """(Region, the account's (AZ name, AZ ID) pairs there), from ``ha-inference:zone-ids``."""

    @property
    def region_names(self) -> tuple[str, ...]:
        return tuple(r.region for r in self.regions)

    def imported_model_in(self, region: str) -> str | None:
        """The S3 folder of the model that ``region`` imports, if the app imports one."""
        return dict(self.imported_model).get(region)

    def zone_ids_in(self, region: str) -> dict[str, str] | None:
        """The account's AZ-name-to-ID mapping in ``region``, if configured."""
        found = dict(self.zone_ids).get(region)
        return dict(found) if found is not None else None


_KEYS = {
    "account",
    "regions",
    "availability-zones",
    "az-count",
    "vpc-cidr",
    "nat-gateways",
    "bedrock-model-id",
    "embedding-model-id",
    "bedrock-geography",
    "data-residency",
    "require-all-destinations",
    "self-hosted",
    "imported-model",
    "zonal-autoshift",
    "tolerated-az-losses",
    "bedrock-service-tier",
    "embedding-service-tier",
    "denied-service-tiers",
    "bedrock-tokens-per-minute-quota",
    "pipeline",
    "agent",
    "zone-ids",
}


def _decode(key: str, value: Any) -> Any:
    """Context from ``-c key=value`` is a string; decode it when it holds JSON."""
    if isinstance(value, str) and (value[:1] in "[{" or value.lstrip("-").isdigit()):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise SettingsError(
                f"{PREFIX}{key} is not valid JSON ({err.msg}), got {value!r}; quote it as JSON, "
                f'for example -c {PREFIX}regions=\'["us-east-1","us-west-2"]\''
            ) from None
    return value


def load_settings(
    context: Callable[[str], Any],
    *,
    known_keys: Mapping[str, Any] | None = None,
    default_account: str | None = None,
) -> Settings:
    """Builds :class:`Settings` from a context getter such as ``app.node.try_get_context``.

    ``known_keys`` is every context key the app holds (``app.node.get_all_context()``), used to
    reject unknown ``ha-inference:`` keys. ``default_account`` is the account the CDK CLI found
    in the caller's credentials (``CDK_DEFAULT_ACCOUNT``), if any.
    """
    for key in known_keys or {}:
        if key.startswith(PREFIX) and key[len(PREFIX) :] not in _KEYS:
            raise SettingsError(
                f"{key} is not a setting of the reference app; the settings are "
                f"{', '.join(PREFIX + k for k in sorted(_KEYS))}"
            )

    def get(key: str, default: Any) -> Any:
        value = context(PREFIX + key)
        return default if value is None else _decode(key, value)

    account = str(get("account", default_account or PLACEHOLDER_ACCOUNT))
    if not (len(account) == 12 and account.isdigit()):
        raise SettingsError(
            f"{PREFIX}account must be a 12-digit AWS account id, got {account!r}; set it in "
            "cdk.json or leave it out to use the account of your credentials"
        )

    regions = get("regions", list(DEFAULT_REGIONS))
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
        raise SettingsError(
            f"{PREFIX}regions must be a list of Region names, got {regions!r}; for example "
            '["us-east-1", "us-east-2", "us-west-2"]'
        )
    if not regions:
        raise SettingsError(
            f"{PREFIX}regions is empty, so there is nothing to deploy; list at least one Region, "
            'for example ["us-east-1", "us-east-2", "us-west-2"]'
        )
    repeated = _repeated(regions)
    if repeated:
        raise SettingsError(
            f"{PREFIX}regions lists {', '.join(repeated)} more than once, got {regions!r}; "
            "list each Region once"
        )
    for region in regions:
        try:
            check_region_name(f"{PREFIX}regions", region)
        except ValueError as err:
            raise SettingsError(str(err)) from None

    az_count = get("az-count", DEFAULT_AZ_COUNT)
    if not isinstance(az_count, int) or isinstance(az_count, bool) or az_count < 2:
        raise SettingsError(
            f"{PREFIX}az-count must be a whole number of at least 2 so that losing one "
            f"Availability Zone leaves capacity, got {az_count!r}; use 2 or more (default 3)"
        )

    explicit = get("availability-zones", {})
    if not isinstance(explicit, dict):
        raise SettingsError(
            f"{PREFIX}availability-zones must map Region names to lists of AZ names, got "
            f'{explicit!r}; for example {{"us-east-1": ["us-east-1a", "us-east-1b", "us-east-1c"]}}'
        )
    stray = sorted(set(explicit) - set(regions))
    if stray:
        raise SettingsError(
            f"{PREFIX}availability-zones names {', '.join(stray)}, which "
            f"{'is' if len(stray) == 1 else 'are'} not in {PREFIX}regions {regions!r}; add the "
            "Region to regions or remove its AZ list"
        )
    region_settings = tuple(
        RegionSettings(region, _zones(region, explicit.get(region), az_count)) for region in regions
    )

    cidr = get("vpc-cidr", "10.0.0.0/16")
    try:
        network = ipaddress.IPv4Network(cidr)
    except (ValueError, TypeError):
        raise SettingsError(
            f"{PREFIX}vpc-cidr must be an IPv4 CIDR block, got {cidr!r}; for example 10.0.0.0/16"
        ) from None
    if not 16 <= network.prefixlen <= 18:
        raise SettingsError(
            f"{PREFIX}vpc-cidr must be a /16 to /18 block to hold a subnet per AZ and tier, got "
            f"{cidr!r}; use a /16, /17 or /18 block such as 10.0.0.0/16"
        )

    nat = get("nat-gateways", 0)
    if not isinstance(nat, int) or isinstance(nat, bool) or nat < 0:
        raise SettingsError(
            f"{PREFIX}nat-gateways must be 0 (no internet egress) or a positive whole number, got "
            f"{nat!r}; use 0, or one per AZ for highly available egress"
        )
    for rs in region_settings:
        if nat > len(rs.availability_zones):
            raise SettingsError(
                f"{PREFIX}nat-gateways is {nat} but {rs.region} uses only "
                f"{len(rs.availability_zones)} AZs; use at most one NAT gateway per AZ"
            )

    model_id = get("bedrock-model-id", DEFAULT_MODEL_ID)
    try:
        check_model_id(model_id)
    except ValueError as err:
        raise SettingsError(f"{PREFIX}bedrock-model-id is not usable: {err}") from None

    embedding_model_id = get("embedding-model-id", DEFAULT_EMBEDDING_MODEL_ID)
    try:
        check_model_id(embedding_model_id)
    except ValueError as err:
        raise SettingsError(f"{PREFIX}embedding-model-id is not usable: {err}") from None

    geography_name = get("bedrock-geography", Geography.US.value)
    try:
        geography = Geography(geography_name)
    except ValueError:
        raise SettingsError(
            f"{PREFIX}bedrock-geography must be one of "
            f"{', '.join(g.value for g in Geography)}, got {geography_name!r}; use the prefix of "
            "the inference profile id, for example us for us.anthropic.claude-…"
        ) from None
    imported_model = _imported_model(get("imported-model", None), regions)
    if not imported_model:  # an imported model replaces the profile
        _check_routes(model_id, geography, regions)

    residency = get("data-residency", None)
    if residency is not None:
        if not isinstance(residency, list) or not residency:
            raise SettingsError(
                f"{PREFIX}data-residency must be a non-empty list of Region names, got "
                f'{residency!r}; for example ["eu-central-1", "eu-west-1"], or leave it out'
            )
        for region in residency:
            try:
                check_region_name(f"{PREFIX}data-residency", region)
            except ValueError as err:
                raise SettingsError(str(err)) from None

    require_all = get("require-all-destinations", True)
    if not isinstance(require_all, bool):
        if require_all in ("true", "false"):
            require_all = require_all == "true"
        else:
            raise SettingsError(
                f"{PREFIX}require-all-destinations must be true or false, got {require_all!r}"
            )

    self_hosted = _self_hosted(get("self-hosted", None), regions, nat)
    autoshift, quota = _operations(get, self_hosted)
    tolerated = _tolerated_az_losses(get("tolerated-az-losses", 1), region_settings)
    tier, embedding_tier, denied = _service_tiers(get, imported_model)
    if quota is not None and imported_model:
        raise SettingsError(
            f"{PREFIX}bedrock-tokens-per-minute-quota is {quota}, a quota of the cross-Region "
            f"inference profile, but {PREFIX}imported-model replaces the profile; leave the "
            "quota out"
        )
    pipeline = _pipeline(get("pipeline", None), regions, self_hosted)
    zone_ids = _zone_ids(get("zone-ids", None), regions)
    agent = _agent(get("agent", None), regions, zone_ids)

    return Settings(
        account=account,
        regions=region_settings,
        vpc_cidr=cidr,
        nat_gateways=nat,
        model_id=model_id,
        embedding_model_id=embedding_model_id,
        geography=geography,
        data_residency=tuple(residency) if residency is not None else None,
        require_all_destinations=require_all,
        self_hosted=self_hosted,
        imported_model=imported_model,
        zonal_autoshift=autoshift,
        tolerated_az_losses=tolerated,
        service_tier=tier,
        embedding_service_tier=embedding_tier,
        denied_service_tiers=denied,
        bedrock_tokens_per_minute_quota=quota,
        pipeline=pipeline,
        agent=agent,
        zone_ids=zone_ids,
    )


def _zone_ids(
    value: Any, regions: list[str]
) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """``zone-ids``: per Region, the account's AZ-name-to-ID mapping (never guessed)."""
    key = f"{PREFIX}zone-ids"
    if value is None:
        return ()
    example = '{"us-east-1": {"us-east-1a": "use1-az6", "us-east-1b": "use1-az1", ...}}'
    if not isinstance(value, dict) or not all(
        isinstance(m, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in m.items())
        for m in value.values()
    ):
        raise SettingsError(
            f"{key} must map Region names to {{AZ name: AZ ID}} objects, got {value!r}; for "
            f"example {example}, as `{ZONE_IDS_COMMAND.format(region='<region>')}` lists them"
        )
    stray = sorted(set(value) - set(regions))
    if stray:
        raise SettingsError(
            f"{key} names {', '.join(stray)}, not in {PREFIX}regions {regions!r}; add the Region "
            "to regions or drop its mapping"
        )
    checked = []
    for region in regions:
        if region not in value:
            continue
        try:
            mapping = check_zone_ids(f"{key}.{region}", value[region], region)
        except ValueError as err:
            raise SettingsError(str(err)) from None
        checked.append((region, tuple(sorted(mapping.items()))))
    return tuple(checked)


def _agent(
    value: Any, regions: list[str], zone_ids: tuple[tuple[str, Any], ...]
) -> AgentSettings | None:
    """``agent``: ``true`` (the shipped retrieval agent), ``{"image": <ECR URI>}``, or off."""
    key = f"{PREFIX}agent"
    if value is None or value is False or value == "false":
        return None
    if value is True or value == "true":
        settings = AgentSettings()
    elif isinstance(value, dict) and set(value) <= {"image"}:
        image = value.get("image")
        if not isinstance(image, str) or ".dkr.ecr." not in image:
            raise SettingsError(
                f"{key}.image must be a linux/arm64 image URI in Amazon ECR (may contain "
                f"{{region}}), got {image!r}; for example "
                '"111111111111.dkr.ecr.{region}.amazonaws.com/agent:1.0", or set agent to true '
                "for the shipped retrieval agent"
            )
        settings = AgentSettings(image=image)
    else:
        raise SettingsError(
            f"{key} must be true (the shipped retrieval agent), an object with an ECR image "
            f'("image"), or false, got {value!r}'
        )
    table = ZONE_SUPPORT[AGENTCORE_RUNTIME]
    unsupported = [r for r in regions if table.supported(r) is None]
    if unsupported:
        raise SettingsError(
            f"{key} is on, but ha-inference has no data on the AZs that support AgentCore "
            f"Runtime's VPC mode in {', '.join(unsupported)} (it has "
            f"{', '.join(sorted(table.zone_ids))}); deploy the agent to those Regions, or build "
            "your own app with MultiAzAgentRuntime(supported_az_ids=...)"
        )
    mapped = {region for region, _ in zone_ids}
    missing = [r for r in regions if r not in mapped]
    if missing:
        command = ZONE_IDS_COMMAND.format(region=missing[0])
        raise SettingsError(
            f"{key} is on, but {PREFIX}zone-ids has no AZ-name-to-ID mapping for "
            f"{', '.join(missing)}: AgentCore Runtime's VPC mode is offered only in some AZ IDs "
            "and AZ names map to different IDs in every account, so the app cannot choose the "
            f"agent's subnets without it. Run `{command}` (per Region) and set {PREFIX}zone-ids "
            'to {"<region>": {"<region>a": "<AZ ID>", ...}}'
        )
    return settings


def _check_routes(model_id: str, geography: Geography, regions: list[str]) -> None:
    """The chat model's card routes ``geography`` from every Region (the app cannot pass
    routes of its own)."""
    card = model_card(model_id)
    with_routes = sorted(m for m, c in MODEL_CARDS.items() if c.routes)
    if card is None or not card.routes:
        raise SettingsError(
            f"{PREFIX}bedrock-model-id is {model_id!r}, whose cross-Region routes ha-inference "
            f"has not recorded, so the app cannot grant it; use one of {', '.join(with_routes)}, "
            "or build your own app with CrossRegionInferenceProfile(routes=...) from the "
            "model's card"
        )
    table = card.routes.get(geography)
    if table is None:
        raise SettingsError(
            f"{PREFIX}bedrock-geography is {geography.value!r}, but the card of {model_id!r} "
            f"lists no {geography.value}. profile; use one of "
            f"{', '.join(g.value for g in card.geographies)}"
        )
    outside = [r for r in regions if r not in table.source_regions]
    if outside:
        raise SettingsError(
            f"{PREFIX}regions has {', '.join(outside)}, which cannot use the "
            f"{geography.value!r} inference profile of {model_id!r} ({PREFIX}bedrock-geography); "
            f"its card lists the source Regions {', '.join(sorted(table.source_regions))}; "
            "deploy to those Regions or choose the geography that serves yours"
        )


def _service_tier(key: str, value: Any) -> ServiceTier:
    try:
        return ServiceTier(value)
    except ValueError:
        raise SettingsError(
            f"{PREFIX}{key} must be one of {', '.join(t.value for t in ServiceTier)}, got "
            f"{value!r}; leave it out to send no tier (Bedrock's default); reserved needs a "
            "reservation arranged with AWS"
        ) from None


def _service_tiers(
    get: Callable[[str, Any], Any], imported_model: tuple[tuple[str, str], ...]
) -> tuple[ServiceTier | None, ServiceTier | None, tuple[ServiceTier, ...]]:
    """``bedrock-service-tier``, ``embedding-service-tier`` and ``denied-service-tiers``."""
    raw_tier, raw_embedding = get("bedrock-service-tier", None), get("embedding-service-tier", None)
    tier = None if raw_tier is None else _service_tier("bedrock-service-tier", raw_tier)
    embedding = (
        None if raw_embedding is None else _service_tier("embedding-service-tier", raw_embedding)
    )
    raw_denied = get("denied-service-tiers", [])
    if not isinstance(raw_denied, list):
        raise SettingsError(
            f"{PREFIX}denied-service-tiers must be a list of tiers, got {raw_denied!r}; for "
            'example ["flex"]'
        )
    denied = tuple(_service_tier("denied-service-tiers", t) for t in raw_denied)
    for key, chosen in (("bedrock-service-tier", tier), ("embedding-service-tier", embedding)):
        if chosen is not None and chosen in denied:
            raise SettingsError(
                f"{PREFIX}{key} is {chosen.value}, which {PREFIX}denied-service-tiers denies the "
                "retrieval function, so every call would be refused; choose another tier or "
                "remove it from the denied ones"
            )
    if tier is not None and imported_model:
        raise SettingsError(
            f"{PREFIX}bedrock-service-tier is {tier.value}, but {PREFIX}imported-model replaces "
            "the inference profile, and Bedrock documents service tiers for foundation models; "
            "leave the tier out"
        )
    return tier, embedding, denied


def _tolerated_az_losses(value: Any, regions: tuple[RegionSettings, ...]) -> int:
    """``tolerated-az-losses``: 1 or 2, with an AZ left in every Region."""
    key = f"{PREFIX}tolerated-az-losses"
    if value not in (1, 2) or isinstance(value, bool):
        raise SettingsError(
            f"{key} must be 1 or 2, got {value!r}; 2 keeps each Region's own capacity at full "
            "load after losing any two AZs (and runs more self-hosted instances), 1 after one"
        )
    short = [r for r in regions if len(r.availability_zones) <= value]
    if short:
        listed = ", ".join(f"{r.region} ({len(r.availability_zones)})" for r in short)
        raise SettingsError(
            f"{key} is {value}, which needs at least {value + 1} AZs in every Region so that one "
            f"is left, but {listed} {'uses' if len(short) == 1 else 'use'} fewer; raise "
            f"{PREFIX}az-count (or list more {PREFIX}availability-zones), or set {key} to 1"
        )
    return int(value)


def _operations(
    get: Callable[[str, Any], Any], self_hosted: SelfHostedSettings | None
) -> tuple[bool, int | None]:
    """``zonal-autoshift`` and ``bedrock-tokens-per-minute-quota``."""
    autoshift = get("zonal-autoshift", False)
    if autoshift in ("true", "false"):
        autoshift = autoshift == "true"
    if not isinstance(autoshift, bool):
        raise SettingsError(
            f"{PREFIX}zonal-autoshift must be true or false, got {autoshift!r}; true lets AWS "
            "shift the runtime load balancer away from an impaired AZ, with weekly practice runs"
        )
    if autoshift and self_hosted is None:
        raise SettingsError(
            f"{PREFIX}zonal-autoshift is true but there is no runtime load balancer to shift "
            f"({PREFIX}self-hosted is off); name the self-hosted model or set zonal-autoshift to "
            "false"
        )
    quota = get("bedrock-tokens-per-minute-quota", None)
    if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 1):
        raise SettingsError(
            f"{PREFIX}bedrock-tokens-per-minute-quota must be a positive whole number of tokens "
            f"per minute, got {quota!r}; copy the applied cross-Region tokens-per-minute quota of "
            "the model from Service Quotas (service code bedrock), or leave it out"
        )
    return autoshift, quota


def _fallbacks(value: Any, instance_type: str, regions: list[str]) -> tuple[str, ...]:
    """``self-hosted.fallback-instance-types``: 0-4 types, each offered in every Region."""
    key = f"{PREFIX}self-hosted.fallback-instance-types"
    known = [
        (region, offered)
        for region in regions
        if (offered := hosting_instance_types(region)) is not None
    ]
    if value is None:
        return tuple(
            t
            for t in DEFAULT_FALLBACKS.get(instance_type, ())
            if all(t in offered for _, offered in known)
        )
    if (
        not isinstance(value, list)
        or len(value) > 4
        or not all(isinstance(t, str) and t.startswith("ml.") for t in value)
    ):
        raise SettingsError(
            f"{key} must be a list of up to 4 SageMaker instance types in priority order, got "
            f'{value!r}; for example ["ml.g6.xlarge", "ml.g6e.xlarge"]'
        )
    repeated = _repeated([instance_type, *value])
    if repeated:
        raise SettingsError(
            f"{key} repeats {', '.join(repeated)} (with instance-type {instance_type}), got "
            f"{value!r}; name each type once"
        )
    for region, offered in known:
        missing = [t for t in value if t not in offered]
        if missing:
            raise SettingsError(
                f"{key} has {', '.join(missing)}, not offered for SageMaker hosting in {region}, "
                f"got {value!r}; choose types every configured Region offers"
            )
    return tuple(value)


def _self_hosted(value: Any, regions: list[str], nat_gateways: int) -> SelfHostedSettings | None:
    key = f"{PREFIX}self-hosted"
    if value is None or value is False or value == "false":
        return None
    if not isinstance(value, dict):
        raise SettingsError(
            f"{key} must be an object naming the model (model-data, or environment with a hub "
            f"model id), or false to leave the self-hosted model out, got {value!r}"
        )
    stray = sorted(set(value) - set(DEFAULT_SELF_HOSTED))
    if stray:
        hint = " (model-data-url is now model-data)" if "model-data-url" in stray else ""
        raise SettingsError(
            f"{key} has unknown field(s) {', '.join(stray)}{hint}; the fields are "
            f"{', '.join(sorted(DEFAULT_SELF_HOSTED))}"
        )
    merged = {**DEFAULT_SELF_HOSTED, **value}
    image, instance_type = merged["image"], merged["instance-type"]
    if image is not None and (not isinstance(image, str) or ".dkr.ecr." not in image):
        raise SettingsError(
            f"{key}.image must be an Amazon ECR image URI (may contain {{region}}), got "
            f"{image!r}; for example {hugging_face_tgi_image('us-east-1')}, or leave it out "
            "for that container in every Region"
        )
    if not isinstance(instance_type, str) or not instance_type.startswith("ml."):
        raise SettingsError(
            f"{key}.instance-type must be a SageMaker instance type such as ml.g5.xlarge, got "
            f"{instance_type!r}"
        )
    fallbacks = _fallbacks(merged["fallback-instance-types"], instance_type, regions)
    target = merged["invocations-per-instance"]
    if not isinstance(target, int) or isinstance(target, bool) or target < 1:
        raise SettingsError(
            f"{key}.invocations-per-instance must be a positive whole number (invocations per "
            f"instance per minute that autoscaling aims for), got {target!r}; load-test to find it"
        )
    model_data = _model_data(merged["model-data"], regions)
    environment = merged["environment"]
    if environment is None:
        environment = MODEL_IN_ARCHIVE if model_data else {}
    if not isinstance(environment, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in environment.items()
    ):
        raise SettingsError(
            f"{key}.environment must map names to string values, got {environment!r}"
        )
    if not model_data:
        _check_hub_download(environment, nat_gateways)
    isolation = merged["network-isolation"]
    if isolation is None:
        isolation = bool(model_data)
    if not isinstance(isolation, bool):
        raise SettingsError(f"{key}.network-isolation must be true or false, got {isolation!r}")
    if isolation and not model_data:
        raise SettingsError(
            f"{key}.network-isolation is true but the container downloads its model (no "
            "model-data), which needs the network; set network-isolation to false, or give "
            "model-data so SageMaker downloads the archive before the container starts"
        )
    principals = merged["allowed-principals"] or []
    if not isinstance(principals, list) or not all(
        isinstance(p, str) and p.startswith("arn:") for p in principals
    ):
        raise SettingsError(
            f"{key}.allowed-principals must be a list of IAM principal ARNs allowed to connect "
            f"to the PrivateLink endpoint service, got {principals!r}"
        )
    owner = merged["model-data-bucket-owner"]
    if owner is not None and (
        not model_data or not isinstance(owner, str) or not re.fullmatch(r"\d{12}", owner)
    ):
        raise SettingsError(
            f"{key}.model-data-bucket-owner must be the 12-digit account that owns the "
            f"model-data buckets (SageMaker reads the archive only from that account's bucket), "
            f"got {owner!r}"
            + ("" if model_data else " without model-data")
            + "; leave it out for buckets of the app's own account"
        )
    protect = merged["deletion-protection"]
    if not isinstance(protect, bool):
        raise SettingsError(f"{key}.deletion-protection must be true or false, got {protect!r}")
    cross_region = _cross_region(merged["cross-region"], principals, regions)
    full_load = merged["full-load-instances"]
    if full_load is not None and (
        not isinstance(full_load, int) or isinstance(full_load, bool) or full_load < 1
    ):
        raise SettingsError(
            f"{key}.full-load-instances must be a positive whole number of instances, got "
            f"{full_load!r}; divide the peak invocations per minute by invocations-per-instance, "
            "or leave it out (one less than the AZs)"
        )
    connectors = _cross_region_principals(merged["cross-region-principals"], cross_region)
    return SelfHostedSettings(
        image=image,
        instance_type=instance_type,
        invocations_per_instance=target,
        fallback_instance_types=fallbacks,
        model_data=model_data,
        model_data_bucket_owner=owner,
        environment=tuple(sorted(environment.items())),
        allowed_principals=tuple(principals),
        deletion_protection=protect,
        network_isolation=isolation,
        cross_region=cross_region,
        full_load_instances=full_load,
        cross_region_principals=connectors,
    )


def _cross_region(value: Any, principals: list[str], regions: list[str]) -> bool:
    """On by default with two or more Regions, unless outside consumers are allowed: the
    endpoint service then requires acceptance of each connection, which the app's own
    cross-Region endpoints cannot get during a deploy (CloudFormation cannot accept one)."""
    key = f"{PREFIX}self-hosted.cross-region"
    if value is None:
        return len(regions) > 1 and not principals
    if not isinstance(value, bool):
        raise SettingsError(f"{key} must be true or false, got {value!r}")
    if value and principals and len(regions) > 1:
        raise SettingsError(
            f"{key} is true but {PREFIX}self-hosted.allowed-principals names outside consumers "
            f"({', '.join(principals)}), whose connections must be accepted one by one; the "
            "app's own Regions would need acceptance too, which CloudFormation cannot give "
            "during a deploy. Leave cross-region out (false) to serve only the listed "
            "principals, or remove allowed-principals to connect the Regions"
        )
    if value and len(regions) < 2:
        raise SettingsError(
            f"{key} is true but {PREFIX}regions has one Region ({', '.join(regions)}), so there "
            "is no other Region to reach; add Regions or leave cross-region out"
        )
    return value


def _cross_region_principals(value: Any, cross_region: bool) -> tuple[str, ...] | None:
    """IAM principals allowed to connect the app's other Regions to a Region's endpoint
    service; by default (``None``) the regional stacks use the CloudFormation execution roles
    of the other Regions, which create those endpoints during a deploy."""
    key = f"{PREFIX}self-hosted.cross-region-principals"
    if value is None:
        return None
    if not cross_region:
        raise SettingsError(
            f"{key} is set but cross-region is off, so no endpoint service offers other "
            "Regions; leave it out or turn cross-region on"
        )
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(p, str) and p.startswith("arn:") for p in value)
    ):
        raise SettingsError(
            f"{key} must be a non-empty list of IAM principal ARNs (the roles that deploy the "
            f"-CrossRegion stacks), got {value!r}; leave it out for the CDK bootstrap's "
            "CloudFormation execution roles"
        )
    return tuple(value)


def _model_data(value: Any, regions: list[str]) -> tuple[tuple[str, str], ...]:
    """Per-Region model archives: a map, or one URL with {region} (or one Region only)."""
    return _per_region_urls(
        f"{PREFIX}self-hosted.model-data",
        value,
        regions,
        thing="model archive",
        why_per_region=(
            "SageMaker reads model artifacts only from a bucket in the endpoint's own Region "
            "(and the S3 gateway endpoint reaches only that Region)"
        ),
        example="s3://my-models-{region}/llm/model.tar.gz",
        is_url=lambda url: url.startswith("s3://") and not url.endswith("/"),
        url_rule="the s3:// URL of a model archive object (s3://<bucket>/<key>.tar.gz)",
    )


def _imported_model(value: Any, regions: list[str]) -> tuple[tuple[str, str], ...]:
    """Per-Region S3 folders of the model to import, like ``self-hosted.model-data``."""
    key = f"{PREFIX}imported-model"
    if value is None or value is False or value == "false":
        return ()
    folders = _per_region_urls(
        key,
        value,
        regions,
        thing="model folder",
        why_per_region=(
            "each Region imports its own copy, and importing from a bucket in another Region "
            "would make deploying one Region depend on the other"
        ),
        example="s3://my-models-{region}/llama-3-8b-support/",
        is_url=lambda url: S3_URI.match(url) is not None,
        url_rule=(
            "the s3:// URI of the model's Hugging Face folder (s3://<bucket>/<folder>/, "
            "Bedrock's S3Uri pattern)"
        ),
    )
    unsupported = [region for region in regions if region not in CUSTOM_MODEL_IMPORT_REGIONS]
    if unsupported:
        raise SettingsError(
            f"{key} is set but {', '.join(unsupported)} "
            f"{'has' if len(unsupported) == 1 else 'have'} no Amazon Bedrock Custom Model "
            f"Import (offered in {', '.join(sorted(CUSTOM_MODEL_IMPORT_REGIONS))}); deploy to "
            f"those Regions ({PREFIX}regions) or leave {key} out to use the inference profile"
        )
    return folders


def _per_region_urls(
    key: str,
    value: Any,
    regions: list[str],
    *,
    thing: str,
    why_per_region: str,
    example: str,
    is_url: Callable[[str], bool],
    url_rule: str,
) -> tuple[tuple[str, str], ...]:
    """One s3:// URL per Region: a map, or one URL with {region} (or one Region only), each
    Region with a bucket of its own."""
    if value is None:
        return ()
    if isinstance(value, str):
        if REGION_PLACEHOLDER not in value and len(regions) > 1:
            raise SettingsError(
                f"{key} is one URL for {len(regions)} Regions ({', '.join(regions)}), got "
                f"{value!r}; {why_per_region}, so copy the {thing} to a bucket in each Region "
                'and give a map {"<region>": "s3://..."}, or a URL with {region} such as '
                f"{example}"
            )
        urls = {region: value.replace(REGION_PLACEHOLDER, region) for region in regions}
    elif isinstance(value, dict):
        stray = sorted(set(value) - set(regions))
        if stray:
            raise SettingsError(
                f"{key} names {', '.join(stray)}, which {'is' if len(stray) == 1 else 'are'} not "
                f"in {PREFIX}regions {regions!r}; remove it or add the Region"
            )
        missing = [region for region in regions if region not in value]
        if missing:
            raise SettingsError(
                f"{key} has no {thing} for {', '.join(missing)}; every Region hosts the "
                "model, so give each one an s3:// URL of a bucket in that Region"
            )
        urls = {region: value[region] for region in regions}
    else:
        raise SettingsError(
            f"{key} must be an s3:// URL (with {{region}} for several Regions) or a map from "
            f"Region to s3:// URL, got {value!r}"
        )
    for region, url in urls.items():
        if not isinstance(url, str) or not is_url(url):
            raise SettingsError(f"{key} for {region} must be {url_rule}, got {url!r}")
    shared = _repeated(urls.values())
    if shared:
        raise SettingsError(
            f"{key} uses {', '.join(shared)} in several Regions; a bucket lives in one Region, "
            f"so give each Region the {thing.rsplit(maxsplit=1)[-1]} in its own bucket"
        )
    return tuple(sorted(urls.items()))


def _check_hub_download(environment: dict[str, str], nat_gateways: int) -> None:
    key = f"{PREFIX}self-hosted"
    hub_id = environment.get("HF_MODEL_ID", "")
    if not hub_id or hub_id.startswith("/"):
        raise SettingsError(
            f"{key} names no model: model-data is not set and environment.HF_MODEL_ID is "
            f"{hub_id or 'not set'!r}, so the container would have nothing to serve and fail its "
            "health checks; set model-data to an s3:// model archive in each Region (recommended: "
            "no internet needed), or set environment.HF_MODEL_ID to a Hugging Face hub id with "
            f"{PREFIX}nat-gateways for the download"
        )
    if nat_gateways == 0:
        raise SettingsError(
            f"{key}.environment.HF_MODEL_ID is the hub model {hub_id!r} but the VPC has no NAT "
            f"({PREFIX}nat-gateways is 0), so the container cannot download it; set "
            f"{PREFIX}nat-gateways to one per AZ, or give model-data (an s3:// archive in each "
            "Region) instead"
        )


def _zones(region: str, given: Any, az_count: int) -> tuple[str, ...]:
    key = f"{PREFIX}availability-zones[{region!r}]"
    known = AVAILABILITY_ZONES[region]
    if given is None:
        if az_count > zones_of(region):
            raise SettingsError(
                f"{PREFIX}az-count is {az_count} but {region} offers an account only "
                f"{zones_of(region)} Availability Zones; lower az-count or list that Region's "
                f"AZs in {PREFIX}availability-zones"
            )
        return known[:az_count]
    if not isinstance(given, list) or not all(isinstance(z, str) for z in given):
        raise SettingsError(
            f"{key} must be a list of AZ names, got {given!r}; for example "
            f'["{known[0]}", "{known[1]}", "{known[2 % len(known)]}"]'
        )
    if len(given) < 2:
        raise SettingsError(
            f"{key} must list at least 2 Availability Zones so that losing one leaves capacity, "
            f"got {given!r}; add another AZ of {region} ({', '.join(known)})"
        )
    repeated = _repeated(given)
    if repeated:
        raise SettingsError(
            f"{key} lists {', '.join(repeated)} more than once, got {given!r}; list each AZ once"
        )
    foreign = [z for z in given if z not in known]
    if foreign:
        raise SettingsError(
            f"{key} has {', '.join(foreign)}, which {'is' if len(foreign) == 1 else 'are'} not an "
            f"Availability Zone of {region}; use AZs of that Region: {', '.join(known)}"
        )
    if len(given) > zones_of(region):
        raise SettingsError(
            f"{key} lists {len(given)} AZs but an account has only {zones_of(region)} in "
            f"{region}; list the AZs your account has (aws ec2 describe-availability-zones)"
        )
    return tuple(given)


# --------------------------------------------------------------------------- pipeline

PIPELINE_FIELDS = {
    "connection-arn": None,
    "repository": None,
    "branch": "main",
    "codecommit-repository": None,
    "waves": None,
    "bake-minutes": 30,
    "region": None,
}
"""The fields of ``ha-inference:pipeline`` and their defaults. ``waves`` defaults to one wave per
geography (the Region name's prefix: us, eu, ap, ...) in the order of ``ha-inference:regions``;
``region`` (the pipeline's own Region) to the first Region of the first wave."""

MAX_REGIONS_PER_WAVE = 5
"""One alarm rule per Region, and a CodePipeline stage condition holds at most 5 rules."""

CONNECTION_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:"
    r"connection/[A-Za-z0-9-]+$"
)
REPOSITORY = re.compile(r"^[\w.-]+(/[\w.-]+)+$")
WAVE_NAME = re.compile(r"^[A-Za-z0-9.@\-_]{1,100}$")
"""A CodePipeline stage name (botocore ``codepipeline`` ``StageName``)."""
RESERVED_WAVE_NAMES = frozenset({"Source", "Build", "UpdatePipeline", "Assets"})
"""The stages CDK Pipelines adds before the waves."""
CODECOMMIT_NAME = re.compile(r"^[\w.-]{1,100}$")


def _pipeline(
    value: Any, regions: list[str], self_hosted: SelfHostedSettings | None
) -> PipelineSettings | None:
    """``ha-inference:pipeline``: off when absent or false."""
    key = f"{PREFIX}pipeline"
    if value is None or value is False or value == "false":
        return None
    if not isinstance(value, dict):
        raise SettingsError(
            f"{key} must be an object naming the source and the waves, or false to deploy with "
            f'cdk deploy, got {value!r}; for example {{"connection-arn": "arn:aws:'
            f'codeconnections:...", "repository": "owner/repo", "waves": {{"us": '
            f'["us-east-1", "us-east-2"]}}}}'
        )
    stray = sorted(set(value) - set(PIPELINE_FIELDS))
    if stray:
        raise SettingsError(
            f"{key} has unknown field(s) {', '.join(stray)}; the fields are "
            f"{', '.join(sorted(PIPELINE_FIELDS))}"
        )
    if self_hosted is not None and self_hosted.cross_region:
        raise SettingsError(
            f"{key} cannot deliver the cross-Region paths ({PREFIX}self-hosted.cross-region is "
            "on): each HaInference-<region>-CrossRegion stack depends on every other Region's "
            "stack, and CDK Pipelines cannot make a stack depend on a stack of another Region's "
            f"stage; set {PREFIX}self-hosted.cross-region to false, or leave {key} out and "
            "deploy with cdk deploy --all"
        )
    merged = {**PIPELINE_FIELDS, **value}
    waves = _waves(merged["waves"], regions)
    region = merged["region"] or waves[0][1][0]
    try:
        check_region_name(f"{key}.region", region)
    except ValueError as err:
        raise SettingsError(str(err)) from None
    bake = merged["bake-minutes"]
    if not isinstance(bake, int) or isinstance(bake, bool) or bake < 1:
        raise SettingsError(
            f"{key}.bake-minutes must be a whole number of minutes, at least 1, got {bake!r}; "
            "it is how long CodePipeline watches each Region's alarms after a wave (default 30)"
        )
    return PipelineSettings(
        waves=waves, region=region, bake_minutes=bake, **_pipeline_source(key, merged)
    )


def _pipeline_source(key: str, merged: dict[str, Any]) -> dict[str, Any]:
    """A CodeConnections connection with ``owner/repo``, or a CodeCommit repository."""
    arn, repository = merged["connection-arn"], merged["repository"]
    codecommit, branch = merged["codecommit-repository"], merged["branch"]
    if not isinstance(branch, str) or not branch or any(c.isspace() for c in branch):
        raise SettingsError(f"{key}.branch must be a branch name, got {branch!r}")
    if codecommit is not None:
        if arn is not None or repository is not None:
            raise SettingsError(
                f"{key} names both a connection (connection-arn, repository) and "
                "codecommit-repository; keep one source"
            )
        if not isinstance(codecommit, str) or not CODECOMMIT_NAME.match(codecommit):
            raise SettingsError(
                f"{key}.codecommit-repository must be a CodeCommit repository name (letters, "
                f"digits, . _ -), got {codecommit!r}"
            )
        return {"codecommit_repository": codecommit, "branch": branch}
    if not isinstance(arn, str) or not CONNECTION_ARN.match(arn):
        raise SettingsError(
            f"{key}.connection-arn must be the ARN of an AWS CodeConnections connection, got "
            f"{arn!r}; create one (aws codeconnections create-connection), complete its "
            "handshake in the console, and copy its ARN "
            "(arn:aws:codeconnections:<region>:<account>:connection/<id>)"
        )
    if not isinstance(repository, str) or not REPOSITORY.match(repository):
        raise SettingsError(
            f"{key}.repository must name the repository as owner/repo, got {repository!r}"
        )
    return {"connection_arn": arn, "repository": repository, "branch": branch}


def _waves(value: Any, regions: list[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``waves``: a map of wave name to Regions, or a list of Region lists (named wave-1,
    wave-2, ...); default one wave per geography. Every Region of the app exactly once."""
    key = f"{PREFIX}pipeline.waves"
    if value is None:
        by_geography: dict[str, list[str]] = {}
        for region in regions:
            by_geography.setdefault(region.rsplit("-", 2)[0], []).append(region)
        named = list(by_geography.items())
    elif isinstance(value, dict):
        named = list(value.items())
    elif isinstance(value, list):
        named = [(f"wave-{i}", wave) for i, wave in enumerate(value, start=1)]
    else:
        raise SettingsError(
            f'{key} must map wave names to lists of Regions ({{"us": ["us-east-1"], "eu": '
            f'["eu-west-1"]}}) or be a list of Region lists, got {value!r}'
        )
    if not named:
        raise SettingsError(f"{key} is empty; give at least one wave, or leave waves out")
    for name, wave in named:
        _check_wave(key, name, wave, regions)
    listed = [region for _, wave in named for region in wave]
    repeated = _repeated(listed)
    if repeated:
        raise SettingsError(
            f"{key} lists {', '.join(repeated)} in more than one wave (or twice in one), got "
            f"{value!r}; deploy each Region in exactly one wave"
        )
    missing = [region for region in regions if region not in listed]
    if missing:
        raise SettingsError(
            f"{key} leaves out {', '.join(missing)}, which {PREFIX}regions deploys, got "
            f"{value!r}; add each Region to a wave (or remove it from {PREFIX}regions)"
        )
    return tuple((name, tuple(wave)) for name, wave in named)


def _check_wave(key: str, name: Any, wave: Any, regions: list[str]) -> None:
    if not isinstance(name, str) or not WAVE_NAME.match(name) or name in RESERVED_WAVE_NAMES:
        raise SettingsError(
            f"{key} has the wave name {name!r}; a wave becomes a CodePipeline stage, so use 1 to "
            "100 letters, digits or . @ - _, and not "
            f"{', '.join(sorted(RESERVED_WAVE_NAMES))} (stages CDK Pipelines adds)"
        )
    if not isinstance(wave, list) or not all(isinstance(r, str) for r in wave):
        raise SettingsError(f"{key}[{name!r}] must be a list of Region names, got {wave!r}")
    if not wave:
        raise SettingsError(
            f"{key}[{name!r}] is empty; list its Regions, for example "
            '["us-east-1", "us-east-2"], or remove the wave'
        )
    foreign = [region for region in wave if region not in regions]
    if foreign:
        raise SettingsError(
            f"{key}[{name!r}] names {', '.join(foreign)}, which the app does not deploy "
            f"({PREFIX}regions is {regions!r}); add {'it' if len(foreign) == 1 else 'them'} to "
            f"{PREFIX}regions or remove {'it' if len(foreign) == 1 else 'them'} from the wave"
        )
    if len(wave) > MAX_REGIONS_PER_WAVE:
        raise SettingsError(
            f"{key}[{name!r}] has {len(wave)} Regions, but a wave is one CodePipeline stage "
            f"whose rollback condition holds at most {MAX_REGIONS_PER_WAVE} alarm rules (one "
            "per Region); split the wave"
        )


def _repeated(values: Iterable[str]) -> list[str]:
    """The values that occur more than once, each named once, sorted (for error messages)."""
    return sorted(value for value, count in Counter(values).items() if count > 1)
