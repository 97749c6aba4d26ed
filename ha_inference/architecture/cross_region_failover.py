"""Failover from one Region's self-hosted model to other Regions': :class:`CrossRegionFailover`.

It builds in the VPC of a :class:`RegionalInference` that hosts a model, beside it or in a stack
of its own. A stack of its own is what the reference app uses: an endpoint to another Region's
endpoint service can only be created once that service exists, so whatever holds the paths
deploys after every other Region's stack; if the regional stacks held them, each would have to
deploy after every other one, a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from ha_inference._internal import props
from ha_inference._internal.nag import SYNCHRONOUS_FUNCTION, acknowledge, acknowledge_all
from ha_inference.architecture.regional_inference import RegionalInference
from ha_inference.operations.answers import AnswerMetrics
from ha_inference.selfhosted.cross_region import (
    CrossRegionRuntimePaths,
    RuntimeRoute,
    SageMakerFailoverFunction,
)

FAILOVER_ALARM_WITHOUT_ACTIONS = (
    "No action on purpose: who is paged, and how, is the operator's choice "
    "(alarm.add_alarm_action). In the reference app this construct deploys after the Region's "
    "regional stack, so that stack's AZ-loss drill cannot name this alarm as a stop condition; "
    "watch it during a drill."
)


class CrossRegionFailover(Construct):
    """Private paths from a :class:`RegionalInference`'s VPC to other Regions' self-hosted
    models, and a function that invokes this Region's model first, then theirs in order.

    Resources: ``Paths`` (:class:`CrossRegionRuntimePaths`: an interface endpoint per other
    Region over cross-Region PrivateLink, with private DNS for its runtime hostname),
    ``Failover`` (:class:`SageMakerFailoverFunction`, in every AZ) and
    ``FailoverServerErrorShare`` (the alarm on its answers' 5xx share, without actions).
    """

    @props.checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        inference: RegionalInference,
        routes: Sequence[RuntimeRoute],
    ) -> None:
        """
        :param inference: this Region's :class:`RegionalInference`, with a self-hosted model;
            the paths and the function go into its VPC and subnets.
        :param routes: the other Regions' models, in failover order, each the
            ``runtime_route`` of that Region's :class:`RegionalInference` (its endpoint service
            must offer this Region).
        """
        super().__init__(scope, construct_id)
        _check_props(inference, routes)
        assert inference.self_hosted is not None
        self.paths = CrossRegionRuntimePaths(
            self,
            "Paths",
            vpc=inference.vpc,
            vpc_subnets=inference.endpoint_subnets,
            routes=list(routes),
        )
        self.failover = SageMakerFailoverFunction(
            self,
            "Failover",
            vpc=inference.vpc,
            vpc_subnets=inference.workload_subnets,
            routes=[RuntimeRoute.of(inference.self_hosted), *routes],
            local_network=inference.runtime_load_balancer,
            paths=self.paths,
            log_encryption_key=inference.logs_key,
        )
        # Invoked synchronously: the caller receives every error itself.
        acknowledge_all(self.failover.function.function, SYNCHRONOUS_FUNCTION)
        # The function answers 502/503 instead of raising, so its answers' 5xx share (published
        # by the handler) is what moves when no Region serves it.
        self.failover_alarm = AnswerMetrics(self.failover.function.function).add_server_error_alarm(
            self, "FailoverServerErrorShare"
        )
        """The failover function's 5xx-share alarm (no action: add yours)."""
        acknowledge(
            self.failover_alarm,
            "NIST.800.53.R5-CloudWatchAlarmAction",
            FAILOVER_ALARM_WITHOUT_ACTIONS,
        )


def _check_props(inference: object, routes: object) -> None:
    props.check_instance(
        "inference", inference, RegionalInference, "the RegionalInference of this Region"
    )
    assert isinstance(inference, RegionalInference)
    if inference.self_hosted is None or inference.runtime_load_balancer is None:
        raise ValueError(
            f"inference {inference.node.path} hosts no self-hosted model, and cross-Region "
            "failover connects Regions that do; pass self_hosted=SelfHostedModelOptions(...) "
            "to it"
        )
    if isinstance(routes, RuntimeRoute | str | bytes):
        raise TypeError(
            f"routes must be a list of RuntimeRoute, got {props.given(routes)}; pass [route]"
        )
    props.check_instance("routes", routes, Sequence, "a list of RuntimeRoute")
    assert isinstance(routes, Sequence)
    if not routes:
        raise ValueError(
            "routes is empty, so there is no other Region to fail over to; pass the other "
            "Regions' RegionalInference.runtime_route"
        )
    for index, route in enumerate(routes):
        if route is None:
            raise ValueError(
                f"routes[{index}] is None: that Region's RegionalInference offers its model to "
                "no other Region; give its SelfHostedModelOptions an endpoint_service with "
                "allowed_regions naming this Region"
            )
        props.check_instance(
            f"routes[{index}]",
            route,
            RuntimeRoute,
            "a RuntimeRoute (RegionalInference.runtime_route)",
        )
