"""Loss levels for the AZ-loss report: what each component of a stack does after losing any one
AZ, any two AZs, and the stack's whole Region, what takes over, and what its recovery waits for.

Read from the templates and the constructs' metadata only (standard library). Three kinds of
component:

* **own placements** (subnets, NAT gateways, interface-endpoint and collection-endpoint ENIs,
  load-balancer nodes, VPC Lambda subnets): what is left is counted, worst case (the lost AZs
  are the ones holding the most);
* **own capacity** (SageMaker instances): the worst-case survivors of an even spread
  (:func:`ha_inference.zonal.remaining_after`) against the full load the construct recorded
  (``ha-inference:az-loss-tolerance``), so that a reduced endpoint is told from one that still
  carries its load;
* **AWS-managed** (Amazon Bedrock, an OpenSearch Serverless collection): AWS runs them across
  the Region's AZs; their loss levels are AWS's, and no AWS page promises more than the loss of
  one AZ. The two-AZ column says so instead of guessing.

Losing the Region loses everything in it. What takes over is said per component: the other
Regions of the app (each serves its own callers; nothing in the app moves a lost Region's
callers), the cross-Region path of the self-hosted model, the inference profile's other
destinations for Bedrock, or nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ha_inference.metadata import (
    AZ_LOSS_TOLERANCE_METADATA,
    FOUNDATION_MODEL_METADATA,
    IMPORTED_MODEL_METADATA,
    PROFILE_METADATA,
)
from ha_inference.tools.assembly import StackArtifact
from ha_inference.zonal import remaining_after

SERVES = "serves"
REDUCED = "reduced"
LOST = "lost"
UNKNOWN = "unknown"
NOT_PROMISED = "not promised"
"""Cell states: keeps serving (at full load where a full load is recorded), serves below its
full load, nothing left, cannot tell, or AWS-managed beyond what AWS states."""

AWS_MANAGED_NOTE = (
    "AWS-managed parts (Amazon Bedrock, OpenSearch Serverless, and the Lambda, PrivateLink and "
    "load-balancing services behind this app's own placements) are Regional services AWS runs "
    "across the Region's AZs; no AWS page promises they keep serving after the loss of two AZs "
    "(in March 2026 two of me-central-1's three AZs were impaired and AWS's advice was to move "
    "to another Region). 'serves' in the two-AZ column means this app's own placements and "
    "capacity hold; it promises nothing of AWS's."
)


class ComponentLike(Protocol):
    """What the loss levels read of a report component (:class:`report.Component`)."""

    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def zones(self) -> tuple[str | None, ...]: ...
    @property
    def instances(self) -> int | None: ...
    @property
    def managed(self) -> bool | None: ...
    @property
    def full_load(self) -> int | None: ...


@dataclass(frozen=True)
class Cell:
    """What a component does at one loss level."""

    state: str
    text: str


@dataclass(frozen=True)
class LossRow:
    """One component at the three loss levels, and what its recovery waits for."""

    component: str
    one_az: Cell
    two_azs: Cell
    region: Cell
    recovery: str
    own_capacity: bool = True
    """False for AWS-managed rows (their two-AZ cell is AWS's, not the app's)."""


@dataclass(frozen=True)
class ModelUse:
    """A Bedrock model a stack invokes, from the constructs' metadata."""

    label: str
    kind: str
    """``profile``, ``in-region`` or ``imported``."""
    destinations: tuple[str, ...] = ()


@dataclass
class AppView:
    """What the Region column needs from the whole assembly."""

    regions: tuple[str, ...] = ()
    """Every Region with a stack of the app."""
    model_fallback: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """Per Region whose self-hosted model is lost: (what takes over, callers left with none)."""
    profile_sources: dict[str, set[str]] = field(default_factory=dict)
    """Per inference profile id: the Regions the app calls it from."""


def model_uses(stack: StackArtifact) -> list[ModelUse]:
    """The Bedrock models the stack's constructs recorded: profiles, in-Region models and
    imported models."""
    found: list[ModelUse] = []
    for _path, data in stack.metadata_of(PROFILE_METADATA):
        if isinstance(data, dict) and isinstance(data.get("profileId"), str):
            destinations = tuple(sorted(data.get("destinationRegions") or []))
            found.append(ModelUse(data["profileId"], "profile", destinations))
    for _path, data in stack.metadata_of(FOUNDATION_MODEL_METADATA):
        if isinstance(data, dict) and isinstance(data.get("modelId"), str):
            found.append(ModelUse(data["modelId"], "in-region", (stack.region,)))
    for _path, data in stack.metadata_of(IMPORTED_MODEL_METADATA):
        if isinstance(data, dict):
            name = data.get("importedModelName")
            found.append(ModelUse(str(name or "imported model"), "imported", (stack.region,)))
    return found


def claimed_tolerance(stack: StackArtifact) -> int:
    """The most AZ losses a construct of the stack claims to carry its full load through."""
    claims = [d for _path, d in stack.metadata_of(AZ_LOSS_TOLERANCE_METADATA)]
    values = [c.get("toleratedAzLosses") for c in claims if isinstance(c, dict)]
    return max((v for v in values if isinstance(v, int)), default=0)


def full_loads(stack: StackArtifact) -> dict[str, int]:
    """The full load each SageMaker endpoint recorded, by endpoint name."""
    found: dict[str, int] = {}
    for _path, claim in stack.metadata_of(AZ_LOSS_TOLERANCE_METADATA):
        if isinstance(claim, dict) and isinstance(claim.get("endpointName"), str):
            load = claim.get("fullLoadInstances")
            if isinstance(load, int):
                found[claim["endpointName"]] = load
    return found


# --------------------------------------------------------------------------- cells


def _placements_left(zones: Sequence[str | None], lost: int) -> int | None:
    """Placements left, worst case, after losing ``lost`` AZs (``None`` when some AZ is not
    known)."""
    if None in zones:
        return None
    counts = sorted(Counter(zones).values(), reverse=True)
    return len(zones) - sum(counts[:lost])


def zonal_cell(component: ComponentLike, lost: int) -> Cell:
    """What is left of a component of this app after losing ``lost`` AZs."""
    if component.managed is not None:
        if not component.managed:
            return Cell(LOST, "**nothing left** (no standby replicas)")
        if lost == 1:
            return Cell(SERVES, "serves (standby replicas in another AZ)")
        return Cell(NOT_PROMISED, "not promised (AWS-managed)")
    if component.instances is not None:
        return _instances_cell(component, lost)
    left = _placements_left(component.zones, lost)
    if left is None:
        return Cell(UNKNOWN, "?")
    if left <= 0:
        return Cell(LOST, "**nothing left**")
    return Cell(SERVES, f"serves ({left} of {len(component.zones)})")


def _instances_cell(component: ComponentLike, lost: int) -> Cell:
    if None in component.zones:
        return Cell(UNKNOWN, "?")
    count = component.instances or 0
    left = remaining_after(count, len(set(component.zones)), lost)
    load = component.full_load
    if left <= 0:
        return Cell(LOST, "**nothing left**")
    if load is None:
        return Cell(SERVES, f"serves ({left} of {count} instances; full load not recorded)")
    if left >= load:
        return Cell(SERVES, f"full load ({left} of {count} instances, needs {load})")
    return Cell(REDUCED, f"reduced: {left} of {count} instances, full load needs {load}")


RECOVERY = {
    "subnets": "nothing",
    "NAT gateways": "nothing: one per AZ, each serving its own AZ",
    "interface endpoint": "nothing to create: its network interface in every AZ exists",
    "collection endpoint": "nothing to create: its network interface in every AZ exists",
    "Lambda function": (
        "nothing to create: Lambda made its network interface in each subnet at deploy (a "
        "function idle for weeks loses them; its next call fails while Lambda re-creates them)"
    ),
    "collection": "AWS: the standby replicas take over",
}


def recovery(component: ComponentLike, two_azs: Cell) -> str:
    """What the component's recovery from a lost AZ waits for; a control-plane call is named."""
    if component.kind.endswith("load balancer"):
        return (
            "nothing: health checks take the lost AZ's node out of DNS; a zonal shift (an ARC "
            "API call) can do it sooner"
        )
    if component.instances is not None:
        if two_azs.state == SERVES and component.full_load is not None:
            return "nothing: the instances left carry the full load"
        return (
            "a scale-out and instance replacement (SageMaker and EC2 control planes) to get back "
            "to full load; raise tolerated_az_losses to run that capacity already"
        )
    return RECOVERY.get(component.kind, "nothing")


def region_cell(component: ComponentLike, region: str, app: AppView) -> Cell:
    """What takes over when the component's whole Region is lost."""
    others = [r for r in app.regions if r != region]
    if component.instances is not None:
        fallback = app.model_fallback.get(region)
        if fallback is None:
            return Cell(LOST, "lost; **nothing**: no other Region's model is reachable")
        takes_over, stranded = fallback
        if stranded:
            return Cell(LOST, f"lost; {takes_over}; **{', '.join(stranded)} left with none**")
        return Cell(LOST, f"lost; {takes_over}")
    if component.kind == "collection":
        if others:
            return Cell(
                LOST,
                f"lost with its passages; {', '.join(others)} hold what was loaded into them",
            )
        return Cell(LOST, "lost with its passages; **nothing**")
    if others:
        return Cell(LOST, f"lost; {', '.join(others)} serve their own callers")
    return Cell(LOST, "lost; **nothing** (the app has one Region)")


def model_rows(models: Sequence[ModelUse], region: str, app: AppView) -> list[LossRow]:
    """Rows for the Bedrock models the stack invokes (AWS-managed)."""
    rows = []
    for model in models:
        label, lost, recovery_text = _model_row(model, region, app)
        rows.append(
            LossRow(
                label,
                Cell(SERVES, "serves (AWS-managed)"),
                Cell(NOT_PROMISED, "not promised (AWS-managed)"),
                Cell(LOST, lost),
                recovery_text,
                own_capacity=False,
            )
        )
    return rows


def _model_row(model: ModelUse, region: str, app: AppView) -> tuple[str, str, str]:
    """(row label, what takes over when ``region`` is lost, recovery) of a Bedrock model."""
    if model.kind == "profile":
        callers = sorted(app.profile_sources.get(model.label, set()) - {region})
        around = [d for d in model.destinations if d != region]
        return (
            f"Bedrock profile: {model.label} (runs in {', '.join(model.destinations)})",
            f"lost here; {', '.join(callers)} call the same profile"
            if callers
            else "lost here; **nothing**: no other Region of the app calls it",
            "AWS; losing a destination Region instead, Bedrock may route to "
            + (", ".join(around) or "no other Region"),
        )
    if model.kind == "imported":
        return (
            f"Bedrock imported model: {model.label}",
            "lost; **nothing**: served in this Region only",
            "AWS",
        )
    others = [r for r in app.regions if r != region]
    return (
        f"Bedrock in-Region model: {model.label}",
        f"lost; {', '.join(others)} invoke their own copy"
        if others
        else "lost; **nothing**: invoked in this Region only",
        "AWS",
    )


def loss_rows(
    components: Sequence[ComponentLike],
    models: Sequence[ModelUse],
    region: str,
    app: AppView,
) -> list[LossRow]:
    """Every row of a stack's loss-level table: its components, then its Bedrock models."""
    rows = []
    for component in components:
        two = zonal_cell(component, 2)
        rows.append(
            LossRow(
                f"{component.kind}: {component.name}",
                zonal_cell(component, 1),
                two,
                region_cell(component, region, app),
                recovery(component, two),
                own_capacity=component.managed is None,
            )
        )
    return rows + model_rows(models, region, app)


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class TwoAzVerdict:
    """Whether the app's own placements and capacity keep the full load after any two AZs."""

    state: str
    """``serves``, ``reduced``, ``lost`` or ``unknown``."""
    detail: list[str]

    def line(self, claimed: int) -> str:
        """The report's two-AZ line; a claim the templates do not keep says so first."""
        prefix = ""
        if claimed >= 2 and self.state != SERVES:
            prefix = (
                "**Claims to keep its full load after losing two AZs (tolerated_az_losses=2), "
                "but does not.** "
            )
        if self.state == SERVES:
            return (
                "**Its own placements and capacity keep the full load after losing any two "
                "AZs**, with no scale-out on the recovery path; the AWS-managed parts are AWS's "
                "(see the note below)."
            )
        if self.state == UNKNOWN:
            return (
                prefix
                + "**Cannot tell what is left after losing two AZs:** "
                + "; ".join(self.detail)
            )
        if self.state == REDUCED:
            return (
                prefix
                + "**Serves below its full load after losing two AZs:** "
                + "; ".join(self.detail)
                + ". Getting back waits for a scale-out, a control-plane call; "
                "tolerated_az_losses=2 provisions that capacity before the loss."
            )
        return prefix + "**Does not survive the loss of two AZs:** " + "; ".join(self.detail)


def two_az_verdict(rows: Sequence[LossRow]) -> TwoAzVerdict:
    own = [row for row in rows if row.own_capacity]
    for state in (LOST, UNKNOWN, REDUCED):
        hit = [f"{row.component}: {row.two_azs.text}" for row in own if row.two_azs.state == state]
        if hit:
            return TwoAzVerdict(state, hit)
    return TwoAzVerdict(SERVES, [])


def profile_sources(stacks: Sequence[StackArtifact]) -> dict[str, set[str]]:
    """Per inference profile id: the Regions the app calls it from."""
    found: dict[str, set[str]] = {}
    for stack in stacks:
        for model in model_uses(stack):
            if model.kind == "profile":
                found.setdefault(model.label, set()).add(stack.region)
    return found


def markdown_rows(rows: Sequence[LossRow]) -> list[str]:
    """The loss-level table of one stack, as Markdown lines."""
    out = [
        "| Component | Lose one AZ | Lose any two AZs | Lose the Region: what takes over "
        "| Recovery from a lost AZ waits for |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [row.component, row.one_az.text, row.two_azs.text, row.region.text, row.recovery]
        out.append("| " + " | ".join(_escape(cell) for cell in cells) + " |")
    return out


def _escape(text: str) -> str:
    return text.replace("|", "\\|")
