"""One stack per Region that reaches the other Regions' self-hosted models (cross-Region paths).

Why a stack of its own: every Region both offers its model and reaches the others'. An endpoint
to another Region's service can only be created once that service exists, so whatever holds it
must deploy after the other Region's stack; if the regional stacks held their own paths, each
would have to deploy after every other one, a cycle. Here the regional stacks deploy first, in
any order and independently, and each Region's ``HaInference-<region>-CrossRegion`` stack
deploys after all of them (``add_dependency``). A failed deploy of a paths stack rolls back only
the paths; the models keep serving.

Order, traced:

* ``cdk deploy --all`` (first time): every ``HaInference-<region>`` (model, load balancer,
  endpoint service offering the other Regions to this account), then every ``-CrossRegion``
  stack: CloudFormation resolves each other Region's service id (``Fn::GetStackOutput`` with that
  Region), creates the endpoints (``ServiceRegion``), the private hosted zones, the security
  group rules and the failover function. ``cdk deploy HaInference-<region>-CrossRegion
  --exclusively`` before the other Regions' stacks exist fails on ``Fn::GetStackOutput`` and
  rolls back, leaving the models alone.
* Update: a regional stack updates its endpoint service in place (``SupportedRegions``,
  permissions; the id stays). If the service is replaced (a new logical id), the output it
  publishes gets a new name, so the ``-CrossRegion`` stacks change too and, deployed after it,
  connect to the new service; the old service cannot be deleted while their endpoints are
  connected, so CloudFormation leaves it behind in the regional stack's cleanup: delete it once
  they have moved.
* ``cdk destroy --all`` (or ``cdk destroy HaInference-<region>``, which takes the stacks that
  depend on it along): the ``-CrossRegion`` stacks first (function, zones, endpoints), then the
  regional stacks, whose endpoint services then have no connections left (a service with
  connected endpoints cannot be deleted). Deploying again starts over as on the first day.
* Removing a Region: destroy its ``-CrossRegion`` stack, take it out of ``ha-inference:regions``
  and ``cdk deploy --all`` (the other Regions drop their paths to it and stop offering it their
  services), then delete its regional stack (``aws cloudformation delete-stack``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from ha_inference import CrossRegionFailover, RuntimeRoute
from stacks.regional_stack import RegionalStack


class CrossRegionStack(cdk.Stack):
    """The paths from one Region's VPC to the other Regions' self-hosted models, and the
    failover function that uses them (own Region first, then the others in configured order):
    :class:`ha_inference.CrossRegionFailover`, id ``Default`` (its resources keep the logical ids
    they had when the stack built them itself)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        regional: RegionalStack,
        peers: Sequence[RegionalStack],
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=regional.account, region=regional.region),
            description=(
                "ha-inference reference app (GENREL05-BP01 step 5): private cross-Region paths "
                f"from {regional.region} to the self-hosted models of "
                f"{', '.join(p.region for p in peers)}, and a failover function"
            ),
            **kwargs,
        )
        if regional.inference.self_hosted is None:
            raise ValueError(
                f"regional stack {regional.stack_name} hosts no self-hosted model; cross-Region "
                "paths connect Regions that do"
            )
        routes = [_route(peer) for peer in peers]
        for peer in peers:
            # aws-cdk-lib adds it for the service id reference too; said here for the reader.
            self.add_stack_dependency(peer, f"connects to {peer.region}'s endpoint service")
        self.failover = CrossRegionFailover(
            self, "Default", inference=regional.inference, routes=routes
        )
        cdk.CfnOutput(
            self,
            "FailoverFunctionName",
            value=self.failover.failover.function.function.function_name,
            description="aws lambda invoke --function-name <this> --payload "
            '\'{"inputs": "..."}\' answer.json (this Region first, then '
            f"{', '.join(p.region for p in peers)})",
        )


def _route(peer: RegionalStack) -> RuntimeRoute:
    route = peer.inference.runtime_route
    if route is None:
        raise ValueError(
            f"regional stack {peer.stack_name} does not offer its self-hosted model to other "
            "Regions (ha-inference:self-hosted.cross-region is off)"
        )
    return route
