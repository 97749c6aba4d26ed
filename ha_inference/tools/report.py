"""AZ-loss report for any synthesized CDK app: ``ha-inference report cdk.out``.

For every stack it maps each zonal component to its Availability Zones (read from the templates
only: subnets, interface-endpoint ENIs, load-balancer nodes, SageMaker instances, VPC Lambda
subnets, OpenSearch Serverless endpoint subnets, AgentCore runtimes' VPC-mode subnets, NAT
gateways), then works out, for the loss of
each AZ, what remains of each component. SageMaker places instances itself, so its row shows the
worst case after losing one of k AZs with N instances spread as evenly as SageMaker can:
``N - ceil(N / k)``. Load-balancer failure detection is the health-check interval times the
unhealthy threshold, plus the 60-second DNS TTL with which the NLB withdraws a failed AZ. For each
load balancer it also says whether ARC zonal shift (an operator moves that load balancer's traffic
away from an AZ in one action) and zonal autoshift (AWS does, for AZs it finds impaired) are on. A
shift moves only the load balancer's own traffic: callers that reach its targets another way (for
SageMaker Runtime, private DNS in the VPC) and what stands behind the targets (SageMaker
instances) do not move.

Writes ``az-loss.md`` (Markdown tables) and ``az-coverage.svg`` (a coverage map) to ``--out``.

Region loss: for self-hosted models (``AWS::SageMaker::Endpoint``), it also reads which Regions
offer their model to which (``AWS::EC2::VPCEndpointService`` ``SupportedRegions``), which
Regions reach which over cross-Region PrivateLink (``AWS::EC2::VPCEndpoint`` ``ServiceRegion``)
and each failover function's order (``self_hosted.handler``'s ``ROUTES``), and works out, for
the loss of each Region, which models still serve and which Regions each caller still uses. It
writes ``region-loss.md`` and ``cross-region.svg`` (the paths); the exit code stays that of the
AZ analysis.
Loss levels: per stack, a table says for every component, and for the Bedrock models the
constructs recorded, what it does after losing any one AZ, any two AZs (worst case), and the
stack's Region, what takes over, and what recovery from a lost AZ waits for, naming every
control-plane call (:mod:`ha_inference.tools.loss_levels`). A SageMaker variant is judged
against the full load its construct recorded (``ha-inference:az-loss-tolerance``).

Imported subnets: a template names them by id only. Their AZs come from what this library's
constructs recorded in the assembly for the imported subnets they are placed in
(``ha-inference:subnet-zones``, :mod:`ha_inference.metadata`), and from ``--subnet-zone
SUBNET=AZ``.

Exit codes: 0 when every stack survives the loss of any one AZ, 1 when losing one AZ leaves some
component with nothing (or a stack claims to keep its full load after losing two AZs,
``tolerated_az_losses=2``, and its templates do not), 2 when the assembly cannot be read, 3
when nothing tells the AZs of some component's subnets (imported subnets neither recorded nor
given with ``--subnet-zone``), so survival cannot be judged: the report says which components
and claims nothing for them.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from ha_inference.tools import loss_levels
from ha_inference.tools.assembly import (
    StackArtifact,
    load_stacks,
    published_subnets,
    recorded_subnet_zones,
    stack_output_key,
)
from ha_inference.tools.loss_levels import AppView, LossRow, TwoAzVerdict

DNS_TTL_SECONDS = 60
"""How long clients may keep resolving a load balancer's withdrawn AZ (the NLB record TTL)."""

NLB_DEFAULT_INTERVAL = 30
NLB_DEFAULT_UNHEALTHY = 2


@dataclass(frozen=True)
class Component:
    """Something that must survive an AZ loss, and where it runs.

    ``zones`` has one entry per placement (subnet, ENI, node); ``None`` marks a placement whose
    AZ the template does not tell. ``instances`` is set for SageMaker variants, with the
    ``full_load`` (instances) its construct recorded, if it did; ``managed`` for services that
    AWS keeps in several AZs (``True``) or in one (``False``).
    """

    kind: str
    name: str
    zones: tuple[str | None, ...] = ()
    instances: int | None = None
    managed: bool | None = None
    full_load: int | None = None

    def remaining(self, lost: str) -> int | None:
        """What is left after losing ``lost`` (instances, or placements); ``None`` if unknown."""
        if self.managed is not None:
            return 1 if self.managed else 0
        if None in self.zones:
            return None
        placed = [z for z in self.zones if z != lost]
        if self.instances is not None:
            spread = len(set(self.zones))
            if lost not in self.zones or spread == 0:
                return self.instances if spread else 0
            return self.instances - math.ceil(self.instances / spread)
        return len(placed)

    def count_in(self, zone: str) -> int:
        return sum(1 for z in self.zones if z == zone)


@dataclass
class StackReport:
    name: str
    region: str
    zones: list[str]
    components: list[Component]
    detection: list[str] = field(default_factory=list)
    failover: list[str] = field(default_factory=list)
    """Per load balancer: whether zonal shift and zonal autoshift are on."""
    loss: list[LossRow] = field(default_factory=list)
    """Every component (and Bedrock model) at one-AZ, two-AZ and Region loss."""
    claimed: int = 0
    """The most AZ losses a construct of the stack claims to keep its full load through."""

    @property
    def two_azs(self) -> TwoAzVerdict:
        """Whether the stack's own placements and capacity keep the full load after any two
        AZs."""
        return loss_levels.two_az_verdict(self.loss)

    @property
    def broken_claim(self) -> bool:
        """The stack claims two AZ losses (``tolerated_az_losses=2``) its templates do not keep."""
        return self.claimed >= 2 and self.two_azs.state != loss_levels.SERVES

    def unknown(self) -> list[str]:
        """Components whose AZs the template does not tell (imported VPC or subnets)."""
        return [
            f"{c.kind} {c.name}"
            for c in self.components
            if c.managed is None and (not c.zones or None in c.zones)
        ]

    @property
    def verdict(self) -> str:
        """``survives``, ``fails`` or ``unknown`` (failures win over unknowns)."""
        if self.failures():
            return "fails"
        return "unknown" if self.unknown() else "survives"

    def failures(self) -> list[str]:
        found = []
        for component in self.components:
            if component.managed is False:
                found.append(f"{component.kind} {component.name}: no standby in another AZ")
                continue
            for zone in self.zones:
                if component.remaining(zone) == 0:
                    found.append(f"{component.kind} {component.name}: nothing left without {zone}")
        return found


# --------------------------------------------------------------------------- template reading


def _zone_of(value: Any) -> str | None:
    """An AZ name, or ``az#i`` for CDK's ``Fn::Select [i, Fn::GetAZs]`` of an env-agnostic VPC."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Select" in value:
        index, source = value["Fn::Select"]
        if isinstance(source, dict) and "Fn::GetAZs" in source:
            return f"az#{index}"
    return None


def _subnet_zones(stack: StackArtifact) -> dict[str, str | None]:
    return {
        logical_id: _zone_of(resource.get("Properties", {}).get("AvailabilityZone"))
        for logical_id, resource in stack.of_type("AWS::EC2::Subnet").items()
    }


def _zones(refs: Any, subnets: Mapping[str, str | None]) -> tuple[str | None, ...]:
    """The AZ of each subnet reference: a ``Ref`` or another stack's output by its key, a
    literal subnet id (an imported subnet) by the id; ``None`` where nothing tells."""
    if not isinstance(refs, list):
        return (None,)
    return tuple(
        subnets.get(ref if isinstance(ref, str) else stack_output_key(ref) or "") for ref in refs
    )


def external_subnets(stacks: Sequence[StackArtifact]) -> dict[str, str | None]:
    """The AZ of every subnet another stack can read from a stack's outputs
    (:func:`~ha_inference.tools.assembly.published_subnets`, env-agnostic AZs included)."""
    return published_subnets(stacks, _subnet_zones)


def _tag(resource: dict[str, Any], key: str) -> str | None:
    for tag in resource.get("Properties", {}).get("Tags", []) or []:
        if tag.get("Key") == key:
            return str(tag.get("Value"))
    return None


def _service(name: Any) -> str:
    """The short service name of an endpoint (``bedrock-runtime``) from a literal or a join."""
    if isinstance(name, dict) and "Fn::Join" in name:
        name = "".join(p for p in name["Fn::Join"][1] if isinstance(p, str))
    if isinstance(name, str):
        parts = name.split(".")
        return ".".join(parts[3:]) if name.startswith("com.amazonaws.") else name
    return "?"


def _model(models: dict[str, dict[str, Any]], ref: Any) -> dict[str, Any]:
    """The properties of the model a variant names, by ``Fn::GetAtt`` or by literal name."""
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        found = models.get(ref["Fn::GetAtt"][0], {})
    else:
        found = next(
            (m for m in models.values() if m.get("Properties", {}).get("ModelName") == ref), {}
        )
    properties: dict[str, Any] = found.get("Properties", {})
    return properties


def components_of(
    stack: StackArtifact, external: Mapping[str, str | None] | None = None
) -> list[Component]:
    """Every zonal component of one stack's template; ``external`` maps subnets the template
    does not define: other stacks' subnets it names through their outputs
    (:func:`external_subnets`), and imported subnets it names by id."""
    subnets = {**(external or {}), **_subnet_zones(stack)}
    found: list[Component] = []

    tiers: dict[str, list[str | None]] = {}
    for logical_id, subnet in stack.of_type("AWS::EC2::Subnet").items():
        tier = _tag(subnet, "aws-cdk:subnet-name") or logical_id
        tiers.setdefault(tier, []).append(subnets[logical_id])
    found += [Component("subnets", tier, tuple(zones)) for tier, zones in sorted(tiers.items())]

    nats = [
        zone
        for n in stack.of_type("AWS::EC2::NatGateway").values()
        for zone in _zones([n.get("Properties", {}).get("SubnetId")], subnets)
    ]
    if nats:
        found.append(Component("NAT gateways", "egress", tuple(nats)))

    for logical_id, endpoint in sorted(stack.of_type("AWS::EC2::VPCEndpoint").items()):
        props = endpoint.get("Properties", {})
        if props.get("VpcEndpointType") == "Interface":
            remote = props.get("ServiceRegion")
            service = (
                f"endpoint service in {remote}"
                if isinstance(remote, str)
                else _service(props.get("ServiceName"))
            )
            found.append(
                Component(
                    "interface endpoint",
                    f"{service} ({logical_id})",
                    _zones(props.get("SubnetIds"), subnets),
                )
            )

    for logical_id, lb in sorted(
        stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").items()
    ):
        props = lb.get("Properties", {})
        refs = props.get("Subnets") or [m.get("SubnetId") for m in props.get("SubnetMappings", [])]
        kind = f"{props.get('Type', 'application')} load balancer"
        found.append(Component(kind, logical_id, _zones(refs, subnets)))

    models = stack.of_type("AWS::SageMaker::Model")
    endpoint_names = _endpoint_names(stack)
    loads = loss_levels.full_loads(stack)
    for logical_id, config in sorted(stack.of_type("AWS::SageMaker::EndpointConfig").items()):
        for variant in config.get("Properties", {}).get("ProductionVariants", []):
            count = variant.get("InitialInstanceCount")
            if not isinstance(count, int):
                continue  # serverless variants are managed by SageMaker
            vpc = _model(models, variant.get("ModelName")).get("VpcConfig")
            zones = _zones(vpc.get("Subnets"), subnets) if vpc else (None,)
            name = f"{logical_id}/{variant.get('VariantName', '?')} ({count} instances)"
            load = loads.get(endpoint_names.get(logical_id, ""))
            found.append(
                Component("SageMaker instances", name, zones, instances=count, full_load=load)
            )

    for logical_id, function in sorted(stack.of_type("AWS::Lambda::Function").items()):
        vpc = function.get("Properties", {}).get("VpcConfig")
        if vpc and vpc.get("SubnetIds"):
            found.append(
                Component("Lambda function", logical_id, _zones(vpc["SubnetIds"], subnets))
            )

    for logical_id, runtime in sorted(stack.of_type("AWS::BedrockAgentCore::Runtime").items()):
        network = runtime.get("Properties", {}).get("NetworkConfiguration", {})
        if network.get("NetworkMode") == "VPC":
            refs = network.get("NetworkModeConfig", {}).get("Subnets")
            found.append(Component("agent runtime", logical_id, _zones(refs, subnets)))

    for logical_id, endpoint in sorted(
        stack.of_type("AWS::OpenSearchServerless::VpcEndpoint").items()
    ):
        refs = endpoint.get("Properties", {}).get("SubnetIds")
        found.append(Component("collection endpoint", logical_id, _zones(refs, subnets)))

    for logical_id, collection in sorted(
        stack.of_type("AWS::OpenSearchServerless::Collection").items()
    ):
        standby = collection.get("Properties", {}).get("StandbyReplicas", "ENABLED")
        found.append(Component("collection", logical_id, managed=standby != "DISABLED"))
    return found


def _endpoint_names(stack: StackArtifact) -> dict[str, str]:
    """Endpoint config logical id -> the literal name of the endpoint that uses it."""
    found = {}
    for endpoint in stack.of_type("AWS::SageMaker::Endpoint").values():
        props = endpoint.get("Properties", {})
        config, name = props.get("EndpointConfigName"), props.get("EndpointName")
        if isinstance(config, dict) and "Fn::GetAtt" in config and isinstance(name, str):
            found[config["Fn::GetAtt"][0]] = name
    return found


def detection_of(stack: StackArtifact) -> list[str]:
    """How long an NLB takes to stop sending to a failed AZ, per target group."""
    lines = []
    for logical_id, group in sorted(
        stack.of_type("AWS::ElasticLoadBalancingV2::TargetGroup").items()
    ):
        props = group.get("Properties", {})
        if props.get("Protocol") not in {"TCP", "TLS", "UDP", "TCP_UDP"}:
            continue
        interval = props.get("HealthCheckIntervalSeconds", NLB_DEFAULT_INTERVAL)
        unhealthy = props.get("UnhealthyThresholdCount", NLB_DEFAULT_UNHEALTHY)
        if not (isinstance(interval, int) and isinstance(unhealthy, int)):
            continue
        detect = interval * unhealthy
        lines.append(
            f"{logical_id}: targets marked unhealthy after {interval} s x {unhealthy} = "
            f"{detect} s; with the {DNS_TTL_SECONDS} s DNS TTL, clients leave a failed AZ "
            f"within about {detect + DNS_TTL_SECONDS} s"
        )
    return lines


def _is_on(value: Any) -> bool:
    return str(value).lower() == "true"


def failover_of(stack: StackArtifact) -> list[str]:
    """Whether each load balancer's traffic can be shifted away from an AZ (ARC zonal shift) and
    whether AWS does so itself (zonal autoshift), from the templates' attributes and
    ``AWS::ARCZonalShift::ZonalAutoshiftConfiguration`` resources. The line says that a shift
    moves that load balancer's traffic only, never more."""
    autoshift: dict[str, bool] = {}
    for config in stack.of_type("AWS::ARCZonalShift::ZonalAutoshiftConfiguration").values():
        props = config.get("Properties", {})
        target = props.get("ResourceIdentifier")
        if isinstance(target, dict) and "Ref" in target:
            autoshift[target["Ref"]] = props.get("ZonalAutoshiftStatus") == "ENABLED"
    lines = []
    for logical_id, lb in sorted(
        stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").items()
    ):
        props = lb.get("Properties", {})
        attributes = {
            a.get("Key"): a.get("Value") for a in props.get("LoadBalancerAttributes", []) or []
        }
        shift = _is_on(attributes.get("zonal_shift.config.enabled"))
        if logical_id not in autoshift:
            auto = "off"
        elif autoshift[logical_id]:
            auto = "on, with weekly practice runs"
        else:
            auto = "off (practice runs configured)"
        note = ""
        if autoshift.get(logical_id) and not shift:
            note = "; ARC cannot shift a load balancer with zonal shift off, turn it on"
        moves = " (moves this load balancer's traffic only)" if shift else ""
        lines.append(
            f"{logical_id} ({props.get('Type', 'application')} load balancer): zonal shift "
            f"{'on' if shift else 'off'}{moves}, zonal autoshift {auto}{note}"
        )
    return lines


def analyse(
    assembly_dir: str | Path, subnet_zones: Mapping[str, str] | None = None
) -> list[StackReport]:
    """One :class:`StackReport` per stack. Imported subnets, which templates name by id only,
    get their AZs from what the constructs recorded in the assembly
    (:func:`~ha_inference.tools.assembly.recorded_subnet_zones`) and from ``subnet_zones``
    (subnet id to AZ, ``--subnet-zone``), which wins."""
    reports = []
    stacks = load_stacks(assembly_dir)
    external = {
        **external_subnets(stacks),
        **recorded_subnet_zones(stacks),
        **(subnet_zones or {}),
    }
    app = app_view(stacks)
    for stack in stacks:
        components = components_of(stack, external)
        zones = sorted({z for c in components for z in c.zones if z is not None})
        reports.append(
            StackReport(
                stack.name,
                stack.region,
                zones,
                components,
                detection_of(stack),
                failover_of(stack),
                loss_levels.loss_rows(components, loss_levels.model_uses(stack), stack.region, app),
                loss_levels.claimed_tolerance(stack),
            )
        )
    return reports


def app_view(stacks: Sequence[StackArtifact]) -> AppView:
    """What the loss levels' Region column needs from the whole assembly: the app's Regions,
    what takes over each Region's self-hosted model, and where each profile is called from."""
    paths = region_paths(stacks)
    fallback = {}
    for loss in region_losses(paths):
        if loss.lost not in paths.models:
            continue
        callers = loss.callers
        using = [
            f"{caller} uses " + ", ".join(f"{r} (own)" if r == caller else r for r in regions)
            for caller, regions in sorted(callers.items())
            if regions
        ]
        if using:
            takes_over = "the cross-Region path: " + "; ".join(using)
            fallback[loss.lost] = (takes_over, tuple(loss.stranded))
    return AppView(
        regions=tuple(sorted({s.region for s in stacks})),
        model_fallback=fallback,
        profile_sources=loss_levels.profile_sources(stacks),
    )


# --------------------------------------------------------------------------- rendering


def _cell(value: int | None) -> str:
    return "?" if value is None else str(value)


def _left(component: Component, zone: str) -> str:
    """A loss-column cell: what remains, or whether a managed service keeps serving."""
    if component.managed is not None:
        return "serving" if component.managed else "lost"
    return _cell(component.remaining(zone))


def _placed(component: Component, zone: str) -> str:
    """A per-AZ cell: placements in the AZ (``+?`` or ``?`` when some placement's AZ is not
    known), or how a managed service covers it."""
    if component.managed is not None:
        return "standby" if component.managed else "no standby"
    count = component.count_in(zone)
    if None in component.zones:
        return f"{count}+?" if count else "?"
    return str(count)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def to_markdown(reports: Sequence[StackReport]) -> str:
    out = ["# AZ-loss report", ""]
    for report in reports:
        out += [f"## {report.name} ({report.region})", ""]
        if not report.components:
            out += ["No zonal components.", ""]
            continue
        header = ["Component", *report.zones, *(f"lose {z}" for z in report.zones)]
        out += [_row(header), "|" + "---|" * len(header)]
        for c in report.components:
            placed = [_placed(c, z) for z in report.zones]
            left = [_left(c, z) for z in report.zones]
            out.append(_row([f"{c.kind}: {c.name}", *placed, *left]))
        out.append("")
        out += [f"- {line}" for line in report.detection]
        out += [f"- {line}" for line in report.failover]
        if report.verdict == "fails":
            out.append("- **Does not survive the loss of one AZ:** " + "; ".join(report.failures()))
        elif report.verdict == "unknown":
            out.append(
                "- **Cannot tell whether it survives the loss of one AZ:** nothing in the "
                "assembly tells the AZs of the subnets of " + "; ".join(report.unknown()) + ". "
                "A template names an imported subnet by its id only; the constructs of "
                "ha-inference record the AZ of each imported subnet they are placed in when the "
                "VPC is imported with its AZs (ec2.Vpc.from_vpc_attributes(availability_zones="
                "..., subnet ids in AZ order), ec2.Vpc.from_lookup). For other subnets, give "
                "each one's AZ: ha-inference report --subnet-zone subnet-0abc=us-east-1a ..."
            )
        else:
            out.append("- **Survives the loss of any one AZ.**")
        out += ["", *_loss_level_lines(report)]
        out.append("")
    if any(report.loss for report in reports):
        out += ["Note: " + loss_levels.AWS_MANAGED_NOTE, ""]
    return "\n".join(out)


def _loss_level_lines(report: StackReport) -> list[str]:
    """The stack's loss-level table and its two-AZ and Region verdicts."""
    if not report.loss:
        return []
    out = [f"### {report.name}: one AZ, two AZs, the Region", ""]
    out += loss_levels.markdown_rows(report.loss)
    out += ["", f"- {report.two_azs.line(report.claimed)}"]
    lost_region = [r.region.text for r in report.loss if "**nothing" in r.region.text]
    if lost_region:
        out.append(
            f"- **Losing {report.region}:** some parts have nothing to take over ("
            + "; ".join(sorted(set(lost_region)))
            + "). Nothing in the app moves this Region's callers to another Region: they "
            "must call another Region's stack themselves."
        )
    else:
        out.append(
            f"- **Losing {report.region}:** every part has another Region's counterpart (above). "
            "Nothing in the app moves this Region's callers to another Region: they must call "
            "another Region's stack themselves."
        )
    return out


def to_svg(reports: Sequence[StackReport]) -> str:
    """A coverage map: one row per component, a column per AZ, then one per lost AZ."""
    row_h, label_w, cell_w, pad = 22, 470, 112, 10
    width = label_w + cell_w * 2 * max((len(r.zones) for r in reports), default=1) + 2 * pad
    parts: list[str] = []
    y = pad
    for report in reports:
        parts.append(_text(pad, y + 16, f"{report.name} ({report.region})", bold=True, size=15))
        y += row_h + 6
        columns = [*report.zones, *(f"lose {z}" for z in report.zones)]
        for i, column in enumerate(columns):
            parts.append(_text(label_w + i * cell_w + cell_w / 2, y + 14, column, anchor="middle"))
        y += row_h
        for c in report.components:
            parts.append(_text(pad, y + 15, _fit(f"{c.kind}: {c.name}", 66)))
            for i, zone in enumerate(report.zones):
                present = c.managed if c.managed is not None else c.count_in(zone) > 0
                label = _placed(c, zone)
                parts.append(
                    _box(
                        label_w + i * cell_w,
                        y,
                        cell_w,
                        row_h,
                        fill="#7fbf7f" if present else "#dddddd",
                        label=label,
                    )
                )
            for i, zone in enumerate(report.zones):
                left = c.remaining(zone)
                color = "#dddddd" if left is None else "#7fbf7f" if left > 0 else "#e06666"
                parts.append(
                    _box(
                        label_w + (len(report.zones) + i) * cell_w,
                        y,
                        cell_w,
                        row_h,
                        fill=color,
                        label=_left(c, zone),
                    )
                )
            y += row_h
        verdict, color = {
            "survives": ("survives the loss of any one AZ", "#2d6a2d"),
            "fails": ("FAILS: an AZ loss leaves a component with nothing", "#a61c1c"),
            "unknown": ("CANNOT TELL: some components' AZs are not in the template", "#8a6d00"),
        }[report.verdict]
        parts.append(_text(pad, y + 16, verdict, bold=True, color=color))
        y += row_h + pad * 2
    parts.append(
        _text(
            pad,
            y + 4,
            "Per-AZ columns: placements (subnets, endpoint ENIs, load-balancer nodes). 'lose' "
            "columns: what remains; for SageMaker, instances in the worst case N - ceil(N/k).",
            size=11,
            color="#555555",
        )
    )
    y += row_h
    height = y + pad
    return _svg_document(width, height, parts)


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _svg_document(width: int, height: int, parts: list[str]) -> str:
    """A standalone SVG picture of ``width`` x ``height`` on white, holding ``parts``."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="12">\n<rect width="100%" height="100%" fill="white"/>\n'
        + "\n".join(parts)
        + "\n</svg>\n"
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    bold: bool = False,
    size: int = 12,
    anchor: str = "start",
    color: str = "#222222",
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:g}" y="{y:g}" font-size="{size}" text-anchor="{anchor}" fill="{color}"'
        f"{weight}>{escape(text)}</text>"
    )


def _box(x: float, y: float, w: float, h: float, *, fill: str, label: str) -> str:
    return (
        f'<rect x="{x + 1:g}" y="{y + 1:g}" width="{w - 2:g}" height="{h - 2:g}" fill="{fill}" '
        f'stroke="white"/>' + _text(x + w / 2, y + 15, label, anchor="middle")
    )


# --------------------------------------------------------------------------- Region loss

SELF_HOSTED_HANDLER = "self_hosted.handler"
"""The handler of the shipped failover function, whose ``ROUTES`` give a Region's order."""


@dataclass
class RegionPaths:
    """Self-hosted models across Regions, read from the templates: which Regions host one,
    which Regions each one's endpoint services offer it to (``SupportedRegions``), which Regions
    each Region has a cross-Region endpoint to (``ServiceRegion``), and each failover
    function's order."""

    models: dict[str, list[str]] = field(default_factory=dict)
    offers: dict[str, set[str]] = field(default_factory=dict)
    paths: dict[str, set[str]] = field(default_factory=dict)
    orders: dict[str, list[str]] = field(default_factory=dict)
    profiles: dict[str, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)
    """Per Region: the Bedrock inference profiles called from it and their destinations."""

    @property
    def regions(self) -> list[str]:
        """Every Region that hosts a model or calls one in another Region."""
        return sorted(set(self.models) | set(self.paths) | set(self.orders))

    @property
    def all_regions(self) -> list[str]:
        """Those, and every Region that calls a Bedrock inference profile."""
        return sorted(set(self.regions) | set(self.profiles))

    def offered(self, provider: str, consumer: str) -> bool:
        return consumer in self.offers.get(provider, set())

    def reachable(self, caller: str) -> list[str]:
        """The Regions whose model ``caller`` can use: its own, and each Region it has a path
        to that offers it the service, in its failover order where the templates tell it."""
        found = [caller] if caller in self.models else []
        found += [
            region
            for region in sorted(self.paths.get(caller, set()))
            if region in self.models and self.offered(region, caller)
        ]
        order = self.orders.get(caller) or []
        return sorted(found, key=lambda r: order.index(r) if r in order else len(order))


def region_paths(stacks: Sequence[StackArtifact]) -> RegionPaths:
    """The :class:`RegionPaths` of an assembly's stacks."""
    found = RegionPaths()
    for stack in stacks:
        region = stack.region
        for use in loss_levels.model_uses(stack):
            if use.kind == "profile":
                found.profiles.setdefault(region, []).append((use.label, use.destinations))
        for logical_id, endpoint in sorted(stack.of_type("AWS::SageMaker::Endpoint").items()):
            name = endpoint.get("Properties", {}).get("EndpointName")
            found.models.setdefault(region, []).append(
                name if isinstance(name, str) else logical_id
            )
        for service in stack.of_type("AWS::EC2::VPCEndpointService").values():
            offered = service.get("Properties", {}).get("SupportedRegions") or []
            found.offers.setdefault(region, set()).update(r for r in offered if isinstance(r, str))
        for endpoint in stack.of_type("AWS::EC2::VPCEndpoint").values():
            remote = endpoint.get("Properties", {}).get("ServiceRegion")
            if isinstance(remote, str) and remote != region:
                found.paths.setdefault(region, set()).add(remote)
        for function in stack.of_type("AWS::Lambda::Function").values():
            props = function.get("Properties", {})
            if props.get("Handler") != SELF_HOSTED_HANDLER:
                continue
            routes = ((props.get("Environment") or {}).get("Variables") or {}).get("ROUTES")
            if not isinstance(routes, str):
                continue
            try:
                order = [route["region"] for route in json.loads(routes)]
            except (TypeError, ValueError, KeyError):
                continue
            found.orders[region] = order
    return found


@dataclass(frozen=True)
class RegionLoss:
    """What serves self-hosted inference after losing ``lost``: the Regions whose models are
    left, and for each other caller the Regions it can still use, in the order it tries them."""

    lost: str
    serving: tuple[str, ...]
    callers: dict[str, tuple[str, ...]]

    @property
    def stranded(self) -> list[str]:
        """Callers left with no model to use."""
        return [caller for caller, regions in self.callers.items() if not regions]


def region_losses(paths: RegionPaths) -> list[RegionLoss]:
    """One :class:`RegionLoss` per Region that hosts or calls a self-hosted model."""
    losses = []
    for lost in paths.regions:
        losses.append(
            RegionLoss(
                lost=lost,
                serving=tuple(r for r in sorted(paths.models) if r != lost),
                callers={
                    caller: tuple(r for r in paths.reachable(caller) if r != lost)
                    for caller in paths.regions
                    if caller != lost
                },
            )
        )
    return losses


def region_loss_markdown(paths: RegionPaths) -> str:
    """The Region-loss report: Bedrock's inference profiles, then the self-hosted models'
    cross-Region paths and what each Region's loss leaves."""
    out = ["# Region-loss report", "", *_profile_loss_lines(paths)]
    if not paths.models:
        out += ["No self-hosted model (AWS::SageMaker::Endpoint) in the assembly.", ""]
        return "\n".join(out)
    out += ["## Self-hosted models", ""]
    out += ["### Paths", "", "| Region | Hosts | Reaches over cross-Region PrivateLink | Tries |"]
    out.append("|---|---|---|---|")
    for region in paths.regions:
        reaches = []
        for remote in sorted(paths.paths.get(region, set())):
            note = "" if paths.offered(remote, region) else f" (not offered by {remote})"
            reaches.append(remote + note)
        hosts = ", ".join(paths.models.get(region, [])) or "-"
        order = " → ".join(paths.orders.get(region, [])) or "-"
        out.append(f"| {region} | {hosts} | {', '.join(reaches) or '-'} | {order} |")
    out += ["", "### Losing one Region", ""]
    callers = paths.regions
    out.append("| Lost | Models still serving | " + " | ".join(f"{c} uses" for c in callers) + " |")
    out.append("|" + "---|" * (2 + len(callers)))
    losses = region_losses(paths)
    for loss in losses:
        cells = []
        for caller in callers:
            if caller == loss.lost:
                cells.append("(lost)")
                continue
            regions = loss.callers[caller]
            cells.append(
                ", ".join(f"{r} (own)" if r == caller else r for r in regions)
                if regions
                else "**nothing**"
            )
        serving = ", ".join(loss.serving) or "**nothing**"
        out.append(f"| {loss.lost} | {serving} | " + " | ".join(cells) + " |")
    out.append("")
    problems = region_loss_problems(losses)
    if problems:
        out.append("- **Does not survive the loss of every Region:** " + "; ".join(problems))
    else:
        out.append(
            "- **Survives the loss of any one Region:** another Region's self-hosted model "
            "still serves, and every other Region still reaches one."
        )
    out.append("")
    return "\n".join(out)


def _profile_loss_lines(paths: RegionPaths) -> list[str]:
    """What losing a Region does to Bedrock calls through inference profiles: a lost
    destination is routed around by Bedrock; a lost source Region takes its callers' entry
    point with it, and nothing in the app moves them."""
    if not paths.profiles:
        return []
    out = [
        "## Bedrock inference profiles",
        "",
        "| Called from | Profile | Runs in | Losing a destination Region | Losing the Region it "
        "is called from |",
        "|---|---|---|---|---|",
    ]
    for region in sorted(paths.profiles):
        for profile, destinations in sorted(paths.profiles[region]):
            others = [r for r in sorted(paths.profiles) if r != region]
            lost_here = (
                f"lost with its callers; {', '.join(others)} call their own"
                if others
                else "lost; **nothing** takes over (one Region)"
            )
            out.append(
                f"| {region} | {profile} | {', '.join(destinations)} | Bedrock may route to the "
                f"others (AWS documents routing by capacity, not by Region health) | "
                f"{lost_here} |"
            )
    out += [
        "",
        "- Bedrock chooses the destination of each call; the app never moves its callers. A "
        "caller whose Region is lost must call another Region's stack (its own endpoint, "
        "function and collection) itself.",
        "- The IAM grants name each destination Region; a service control policy that denies "
        "one breaks every call routed there: `ha-inference scp cdk.out` prints the statements "
        "that keep the profiles working under a Region-deny SCP.",
        "",
    ]
    return out


def region_loss_problems(losses: Sequence[RegionLoss]) -> list[str]:
    """What each Region's loss leaves without a self-hosted model: no model serving anywhere
    (one Region hosts them all), or a caller with none it can reach."""
    problems = []
    for loss in losses:
        if not loss.serving:
            problems.append(f"losing {loss.lost} leaves no self-hosted model serving")
        problems += [f"losing {loss.lost} leaves {caller} nothing" for caller in loss.stranded]
    return problems


def to_region_svg(paths: RegionPaths) -> str:
    """The cross-Region paths: one box per Region (its self-hosted model, where the Bedrock
    profile called from it runs, and what takes over when it is lost), an arrow per path
    (consumer to provider), and how one request travels."""
    regions = paths.all_regions
    box_w, box_h, gap, pad, top = 300, 228, 70, 20, 170
    width = max(2 * pad + len(regions) * box_w + (len(regions) - 1) * gap, 1060)
    x_of = {r: pad + i * (box_w + gap) for i, r in enumerate(regions)}
    parts = [
        _text(
            pad,
            26,
            "Inference across Regions: Bedrock profiles and cross-Region PrivateLink",
            bold=True,
            size=15,
        ),
        _text(
            pad,
            46,
            "Arrows point from the calling Region to the Region whose model it reaches "
            "(red: the service does not offer the caller).",
            size=11,
            color="#555555",
        ),
        '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" '
        'orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#2d5f8a"/></marker>'
        '<marker id="refused" markerWidth="10" markerHeight="8" refX="9" refY="4" '
        'orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#a61c1c"/></marker></defs>',
    ]
    index = {region: i for i, region in enumerate(regions)}
    for consumer, providers in sorted(paths.paths.items()):
        for provider in sorted(providers):
            if consumer not in x_of or provider not in x_of:
                continue
            span = abs(index[provider] - index[consumer])
            above = index[consumer] < index[provider]
            spread = 22 * (span - 1)
            if above:
                x1 = x_of[consumer] + box_w / 2 + 30 + spread
                x2 = x_of[provider] + box_w / 2 - 30 - spread
                y, cy = top, top - 40 - 35 * span
            else:
                x1 = x_of[consumer] + box_w / 2 - 30 - spread
                x2 = x_of[provider] + box_w / 2 + 30 + spread
                y, cy = top + box_h, top + box_h + 40 + 35 * span
            offered = paths.offered(provider, consumer)
            color, marker = ("#2d5f8a", "arrow") if offered else ("#a61c1c", "refused")
            parts.append(
                f'<path d="M{x1:g},{y:g} Q{(x1 + x2) / 2:g},{cy:g} {x2:g},{y:g}" fill="none" '
                f'stroke="{color}" stroke-width="2" marker-end="url(#{marker})"/>'
            )
    for region in regions:
        x = x_of[region]
        order = paths.orders.get(region)
        lines = [
            "model: " + (", ".join(paths.models.get(region, [])) or "none here"),
            "NLB + endpoint service offered to:",
            "   " + (", ".join(sorted(paths.offers.get(region, set()))) or "no other Region"),
            "failover function tries:",
            "   " + (" → ".join(order) if order else "-"),
            *_profile_box_lines(paths, region),
            "if this Region is lost:",
            "   " + _takes_over(paths, region),
        ]
        parts.append(
            f'<rect x="{x}" y="{top}" width="{box_w}" height="{box_h}" rx="8" fill="#eef4fa" '
            'stroke="#2d5f8a"/>'
        )
        parts.append(_text(x + 12, top + 24, region, bold=True, size=14))
        for i, line in enumerate(lines):
            parts.append(_text(x + 12, top + 48 + i * 18, _fit(line, 46), size=11))
    legend = [
        "How a caller in Region A reaches Region B's model:",
        "1. DNS: a private hosted zone in A's VPC answers runtime.sagemaker.B.amazonaws.com with "
        "A's interface endpoint to B",
        "    (ServiceRegion B, one interface in every AZ of A). TLS and SigV4 stay those of "
        "Region B.",
        "2. Security groups: the caller may send TCP 443 to that endpoint, and the endpoint "
        "admits TCP 443 from the caller, nothing else.",
        "3. Cross-Region PrivateLink to B's endpoint service (offered to A, this account, no "
        "acceptance), then B's internal NLB in every AZ.",
        "4. B's sagemaker.runtime endpoint (its policy allows invoking B's model) and the "
        "SageMaker endpoint with an instance in every AZ;",
        "    IAM: the caller's role may invoke B's endpoint ARN. The failover function tries "
        "its own Region first, then the others in order.",
        "Bedrock: each Region calls its profile at its own bedrock-runtime endpoint; Bedrock "
        "picks the destination. Nothing in the app moves the callers of a lost Region.",
    ]
    legend_y = top + box_h + 40 + 35 * max(len(regions) - 1, 1) + 30
    for i, line in enumerate(legend):
        parts.append(_text(pad, legend_y + i * 18, line, size=11, bold=i == 0))
    height = legend_y + len(legend) * 18 + pad
    return _svg_document(width, height, parts)


def _profile_box_lines(paths: RegionPaths, region: str) -> list[str]:
    profiles = paths.profiles.get(region, [])
    if not profiles:
        return ["Bedrock profile: none called here", ""]
    profile, destinations = profiles[0]
    more = f" (+{len(profiles) - 1} more)" if len(profiles) > 1 else ""
    return [f"Bedrock: {profile}{more}", f"   runs in {', '.join(destinations)}"]


def _takes_over(paths: RegionPaths, region: str) -> str:
    """Who serves when ``region`` is lost, in a few words for the picture."""
    others = [r for r in paths.all_regions if r != region]
    if not others:
        return "nothing (one Region)"
    return f"{', '.join(others)} serve their own callers"


# --------------------------------------------------------------------------- command line


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ha-inference report",
        description="What survives the loss of each Availability Zone, per stack.",
    )
    parser.add_argument("assembly", nargs="?", default="cdk.out", help="cloud assembly (cdk.out)")
    parser.add_argument(
        "--out",
        default=None,
        help="write az-loss.md, az-coverage.svg, region-loss.md and cross-region.svg here",
    )
    parser.add_argument(
        "--subnet-zone",
        action="append",
        default=[],
        type=_subnet_zone,
        metavar="SUBNET=AZ",
        help="the AZ of an imported subnet the templates name by id, e.g. "
        "subnet-0abc=us-east-1a (repeatable); ha-inference constructs record their own",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        reports = analyse(args.assembly, dict(args.subnet_zone))
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 2
    markdown = to_markdown(reports)
    print(markdown)
    regions = region_paths(load_stacks(args.assembly))
    region_markdown = region_loss_markdown(regions)
    print(region_markdown)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "az-loss.md").write_text(markdown + "\n")
        (out / "az-coverage.svg").write_text(to_svg(reports))
        (out / "region-loss.md").write_text(region_markdown + "\n")
        (out / "cross-region.svg").write_text(to_region_svg(regions))
    verdicts = {report.verdict for report in reports}
    if "fails" in verdicts or any(report.broken_claim for report in reports):
        return 1
    return 3 if "unknown" in verdicts else 0


def _subnet_zone(value: str) -> tuple[str, str]:
    subnet, _, zone = value.partition("=")
    if not subnet.startswith("subnet-") or not zone:
        raise argparse.ArgumentTypeError(
            f"expected SUBNET=AZ such as subnet-0abc=us-east-1a, got {value!r}"
        )
    return subnet, zone


if __name__ == "__main__":
    sys.exit(main())
