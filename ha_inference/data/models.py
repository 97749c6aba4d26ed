"""Amazon Bedrock models: routes and lifecycle, one row per model card.

Each :class:`ModelCard` row holds what the model's own card in the Bedrock user guide says:
for every geography with a system-defined cross-Region inference profile, the source Regions
that may call it and the destination Regions each of them routes to; the model's lifecycle
(Active, Legacy, end of life) with its dates; and, for models invoked in-Region, the Regions
that offer them. Each row names its card and the day it was read, and says which of its routes
the card did not show (:attr:`ModelCard.unverified`).

AWS keeps these tables on the model cards
(https://docs.aws.amazon.com/bedrock/latest/userguide/model-cards.html) and advises confirming
them with ``GetInferenceProfile`` from the source Region (``models[].modelArn``);
``ha-inference preflight`` does that before a deploy. A geography's destinations for a
given source Region do not change; AWS adds source Regions and new profiles instead, and a
global profile's destinations can grow ("Supported Regions and models for inference profiles",
https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html).

Lifecycle dates: the model card (models launched on or after 2026-09-07 carry an "EOL no sooner
than" date) and the table of Legacy models,
https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle-legacy.html. Bedrock's
dates govern on Bedrock, whatever the model provider publishes for its own API.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from ha_inference.regions import Geography, RoutingTable

READ_ON = "2026-12-08"
"""When the rows below were last read against their sources."""

CARD = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-{}.html"
LEGACY_TABLE = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle-legacy.html"
KNOWLEDGE_BASE_MODELS = (
    "https://docs.aws.amazon.com/bedrock/latest/userguide/knowledge-base-supported.html"
)


class ModelStatus(enum.Enum):
    """A model's state on Bedrock (``modelLifecycle.status`` of ``GetFoundationModel``, plus the
    state after its end-of-life date, when calls fail)."""

    ACTIVE = "Active"
    LEGACY = "Legacy"
    END_OF_LIFE = "end of life"


@dataclass(frozen=True)
class Lifecycle:
    """Where a model is in Bedrock's lifecycle, with the dates AWS published and their source."""

    status: ModelStatus
    """The status AWS lists for the model."""
    source: str
    """Where the status and dates come from, and when they were read."""
    legacy_since: date | None = None
    """The day the model became Legacy. Default: none (not Legacy, or the date is unknown)."""
    end_of_life: date | None = None
    """The day calls stop working (Bedrock's EOL date). Default: none set."""
    end_of_life_no_sooner_than: date | None = None
    """The floor the card promises while no EOL date is set. Default: none."""

    def status_on(self, day: date) -> ModelStatus:
        """The model's state on ``day``: end of life from its EOL date on, Legacy from its
        Legacy date on (without a known Legacy date: when AWS lists it as Legacy), Active
        otherwise."""
        if self.end_of_life is not None and day >= self.end_of_life:
            return ModelStatus.END_OF_LIFE
        if self.legacy_since is not None:
            return ModelStatus.LEGACY if day >= self.legacy_since else ModelStatus.ACTIVE
        if self.status is ModelStatus.ACTIVE:
            return ModelStatus.ACTIVE
        return ModelStatus.LEGACY


@dataclass(frozen=True)
class ModelCard:
    """One model as its card describes it (see the module docstring)."""

    model_id: str
    """The foundation-model id (no geography prefix)."""
    name: str
    """The model's name as its card gives it."""
    card: str
    """The model card's URL."""
    read: str
    """When the card was read, and from which copy."""
    lifecycle: Lifecycle
    """Where the model is in Bedrock's lifecycle."""
    routes: Mapping[Geography, RoutingTable] = field(default_factory=lambda: MappingProxyType({}))
    """Per geography with a system-defined profile: source Region -> destination Regions.
    Default: none (no profile recorded)."""
    unverified: Mapping[Geography, str] = field(default_factory=lambda: MappingProxyType({}))
    """Per geography: what of its routes the card did not show, and where it came from instead.
    Default: none, every route is from the card."""
    in_region: frozenset[str] | None = None
    """Regions that serve the model on demand without a profile. Default: ``None``, not
    recorded."""
    in_region_source: str = ""
    """Where ``in_region`` comes from. Default: empty (not recorded)."""

    @property
    def geographies(self) -> tuple[Geography, ...]:
        return tuple(g for g in Geography if g in self.routes)

    def __repr__(self) -> str:
        """Short and stable (the API reference prints it): id, status, geographies."""
        geographies = ", ".join(g.value for g in self.geographies) or "no routes"
        return f"ModelCard({self.model_id!r}, {self.lifecycle.status.value}, {geographies})"


def _routes(
    *tables: tuple[Geography, Mapping[str, Iterable[str]]],
) -> Mapping[Geography, RoutingTable]:
    return MappingProxyType({g: RoutingTable.of(g, r) for g, r in tables})


def _same(regions: Iterable[str]) -> dict[str, frozenset[str]]:
    """Every Region in ``regions`` is a source that routes to all of them."""
    group = frozenset(regions)
    return {region: group for region in group}


_US_CORE = ("us-east-1", "us-east-2", "us-west-2")
_EU_CORE = ("eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3")
_COMMERCIAL = (
    # Americas
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1",
    "sa-east-1", "mx-central-1",
    # Europe, Middle East and Africa
    "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1",
    "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "af-south-1",
    # Asia Pacific
    "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
)  # fmt: skip
"""The destinations of a global profile as the Claude Sonnet 4.5 and Haiku 4.5 cards list them
("all commercial Regions"); every card read marks each of them as a global source Region."""


def _us(*, ca_west: bool) -> dict[str, frozenset[str]]:
    """The "Geo: US" table of the Claude cards: the three core Regions route among themselves;
    us-west-1 and the Canadian sources add themselves to them."""
    table = {
        **_same(_US_CORE),
        "us-west-1": frozenset({*_US_CORE, "us-west-1"}),
        "ca-central-1": frozenset({*_US_CORE, "ca-central-1"}),
    }
    if ca_west:
        table["ca-west-1"] = frozenset({*_US_CORE, "ca-west-1"})
    return table


def _eu() -> dict[str, frozenset[str]]:
    """The "Geo: EU" table of the Claude cards: six core Regions; Zurich and London add
    themselves. No card read lists il-central-1 as a source."""
    return {
        **_same(_EU_CORE),
        "eu-central-2": frozenset({*_EU_CORE, "eu-central-2"}),
        "eu-west-2": frozenset({*_EU_CORE, "eu-west-2"}),
    }


_JP = _same(("ap-northeast-1", "ap-northeast-3"))
_AU = _same(("ap-southeast-2", "ap-southeast-4"))
_AU_NZ = {
    **_AU,
    "ap-southeast-6": frozenset({"ap-southeast-2", "ap-southeast-4", "ap-southeast-6"}),
}
_GLOBAL_FROM_OTHER_CARDS = (
    "the card lists the global source Regions but not their destinations; taken as the "
    "global list of the Claude Sonnet 4.5 and Haiku 4.5 cards (AWS: every commercial Region)"
)

_TITAN_TEXT_EMBEDDINGS_V2_REGIONS = frozenset(
    {
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
        "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-central-2", "eu-north-1",
        "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
        "us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1", "us-west-2",
    }
)  # fmt: skip

_MODELS = (
    ModelCard(
        model_id="anthropic.claude-sonnet-5-5",
        name="Claude Sonnet 5.5",
        card=CARD.format("anthropic-claude-sonnet-5-5"),
        read=f"{READ_ON}, from a copy of the card's Markdown taken 2026-10-06",
        lifecycle=Lifecycle(
            ModelStatus.ACTIVE,
            source="model card: launched 2026-09-28, Active, EOL no sooner than 2027-09-28, "
            "Legacy period 6 months",
            end_of_life_no_sooner_than=date(2027, 9, 28),
        ),
        routes=_routes(
            (Geography.US, _us(ca_west=True)),
            (Geography.EU, _eu()),
            (Geography.GLOBAL, _same(_COMMERCIAL)),
        ),
        unverified=MappingProxyType({Geography.GLOBAL: _GLOBAL_FROM_OTHER_CARDS}),
    ),
    ModelCard(
        model_id="anthropic.claude-opus-4-7",
        name="Claude Opus 4.7",
        card=CARD.format("anthropic-claude-opus-4-7"),
        read=f"{READ_ON}, from a copy of the card's Markdown (undated; launch 2026-04-16)",
        lifecycle=Lifecycle(
            ModelStatus.ACTIVE,
            source=f"model card: Active, EOL date N/A; not in the Legacy table ({LEGACY_TABLE})",
        ),
        routes=_routes(
            (Geography.US, _us(ca_west=True)),
            (Geography.EU, _eu()),
            (Geography.JP, _JP),
            (Geography.AU, _AU),
            (Geography.GLOBAL, _same(_COMMERCIAL)),
        ),
        unverified=MappingProxyType({Geography.GLOBAL: _GLOBAL_FROM_OTHER_CARDS}),
    ),
    ModelCard(
        model_id="anthropic.claude-haiku-4-5-20251001-v1:0",
        name="Claude Haiku 4.5",
        card=CARD.format("anthropic-claude-haiku-4-5"),
        read=f"{READ_ON}, from a copy of the card's Markdown taken 2026-10-06",
        lifecycle=Lifecycle(
            ModelStatus.ACTIVE,
            source="model card: Active; EOL no sooner than 2026-10-01, so it can enter Legacy "
            "at any time",
            end_of_life_no_sooner_than=date(2026, 10, 1),
        ),
        routes=_routes(
            (Geography.US, _us(ca_west=False)),
            (Geography.EU, _eu()),
            (Geography.AU, _AU_NZ),
            (Geography.JP, _JP),
            (Geography.IN, _same(("ap-south-1", "ap-south-2"))),
            (Geography.GLOBAL, _same(_COMMERCIAL)),
        ),
    ),
    ModelCard(
        model_id="anthropic.claude-sonnet-4-5-20250929-v1:0",
        name="Claude Sonnet 4.5",
        card=CARD.format("anthropic-claude-sonnet-4-5"),
        read=f"{READ_ON}, routes from a copy of the card (when it still said Active)",
        lifecycle=Lifecycle(
            ModelStatus.LEGACY,
            source=f"{LEGACY_TABLE} (copy dated by its content 2026-09-30 to 2026-10-14)",
            legacy_since=date(2026, 10, 8),
            end_of_life=date(2027, 4, 8),
        ),
        routes=_routes(
            (Geography.US, _us(ca_west=False)),
            (Geography.US_GOV, _same(("us-gov-east-1", "us-gov-west-1"))),
            (Geography.EU, _eu()),
            (Geography.AU, _AU_NZ),
            (Geography.JP, _JP),
            (Geography.GLOBAL, _same(_COMMERCIAL)),
        ),
        unverified=MappingProxyType(
            {
                Geography.US_GOV: "the card lists the GovCloud source Regions in its "
                "'Geo: US' table; the us-gov. profile id itself appears on no AWS page read",
            }
        ),
    ),
    ModelCard(
        model_id="anthropic.claude-opus-4-1-20250805-v1:0",
        name="Claude Opus 4.1",
        card=CARD.format("anthropic-claude-opus-4-1"),
        read=f"{READ_ON}, lifecycle only: the card's routes were not read",
        lifecycle=Lifecycle(
            ModelStatus.LEGACY,
            source=f"{LEGACY_TABLE} (copy dated by its content 2026-09-30 to 2026-10-14)",
            end_of_life=date(2027, 1, 8),
        ),
    ),
    ModelCard(
        model_id="anthropic.claude-sonnet-4-20250514-v1:0",
        name="Claude Sonnet 4",
        card=CARD.format("anthropic-claude-sonnet-4"),
        read=f"{READ_ON}, lifecycle only: past its end of life, no route is usable",
        lifecycle=Lifecycle(
            ModelStatus.LEGACY,
            source=f"{LEGACY_TABLE} (copy dated by its content 2026-09-30 to 2026-10-14)",
            end_of_life=date(2026, 10, 14),
        ),
    ),
    ModelCard(
        model_id="amazon.titan-embed-text-v2:0",
        name="Titan Text Embeddings V2",
        card=CARD.format("amazon-titan-text-embeddings-v2"),
        read=f"{READ_ON}, Regions from a copy of the Knowledge Bases model table (undated)",
        lifecycle=Lifecycle(
            ModelStatus.ACTIVE,
            source=f"not in the Legacy table ({LEGACY_TABLE}); no cross-Region profile exists",
        ),
        in_region=_TITAN_TEXT_EMBEDDINGS_V2_REGIONS,
        in_region_source=f"{KNOWLEDGE_BASE_MODELS}, 'Single-region model support' column",
    ),
)

MODEL_CARDS: Mapping[str, ModelCard] = MappingProxyType({m.model_id: m for m in _MODELS})
"""Every model the library has read a card for, by foundation-model id."""

DEFAULT_CHAT_MODEL = "anthropic.claude-sonnet-5-5"
"""The reference app's chat model: Active, with routes on its card from every default Region."""

DEFAULT_EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
"""The reference app's embedding model, invoked in-Region (it has no inference profile)."""

DEFAULT_ROUTES: Mapping[Geography, RoutingTable] = MODEL_CARDS[DEFAULT_CHAT_MODEL].routes
"""The routes of :data:`DEFAULT_CHAT_MODEL`'s profiles (US, EU, global). Other models route
differently: see :data:`MODEL_CARDS`."""


def model_card(model_id: str) -> ModelCard | None:
    """The row for ``model_id``, or ``None`` when the library has read no card for it."""
    return MODEL_CARDS.get(model_id)
