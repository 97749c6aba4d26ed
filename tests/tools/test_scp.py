"""``ha-inference scp``: the SCP statements that keep an app's inference profiles working under a
Region-deny SCP, evaluated with @cloud-copilot/iam-simulate as organization policies (with AWS's
``FullAWSAccess`` beside them): every destination Region of every profile the app uses is
allowed, and nothing else is."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam

from ha_inference import ApplicationInferenceProfile, CrossRegionInferenceProfile, Geography
from ha_inference.tools import scp
from ha_inference.tools.assembly import load_stacks
from tests.support import TEST_ACCOUNT, Synth, new_app
from tests.support.rehearsal.policies import ALLOW_ALL, Simulator, simulation

FULL_AWS_ACCESS = ALLOW_ALL
"""AWS's FullAWSAccess SCP (Allow * on *), which a deny-list SCP sits beside."""
ROLE = f"arn:aws:iam::{TEST_ACCOUNT}:role/answers"
MODEL = "anthropic.claude-sonnet-5-5"
US = ("us-east-1", "us-east-2", "us-west-2")


def fm(region: str, model: str = MODEL) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model}"


def profile_arn(region: str, profile: str) -> str:
    return f"arn:aws:bedrock:{region}:{TEST_ACCOUNT}:inference-profile/{profile}"


@dataclass(frozen=True)
class Call:
    """One authorization Bedrock makes for a call: the action, the resource, the Region the
    request is authorized in, and the profile it came through (if any)."""

    resource: str
    region: str
    through: str | None = None
    action: str = "bedrock:InvokeModel"

    def context(self) -> Mapping[str, str]:
        found = {"aws:RequestedRegion": self.region}
        if self.through:
            found["bedrock:InferenceProfileArn"] = self.through
        return found


def simulated(resource: str) -> str:
    """The resource iam-simulate evaluates: itself, or for the Region-less model ARN (which
    iam-data's ARN format, ``arn:${Partition}:bedrock:${Region}::foundation-model/...``, cannot
    type without a Region) the model in us-east-1. Every statement the command prints has
    ``Resource: "*"`` and decides on the context (``aws:RequestedRegion`` stays
    ``unspecified``), so the stand-in is decided the same."""
    return resource.replace(":bedrock:::", ":bedrock:us-east-1::")


def decide(document: Mapping[str, Any], calls: list[Call]) -> dict[Call, bool]:
    """Whether the SCP (beside FullAWSAccess, identity policy allowing everything) allows each
    call, in one Node process."""
    assert all(s.get("Resource") == "*" for s in document["Statement"]), "see simulated()"
    simulator = Simulator()
    keys = {
        call: simulator.submit(
            simulation(
                principal=ROLE,
                action=call.action,
                resource=simulated(call.resource),
                account=TEST_ACCOUNT,
                context=call.context(),
                identity_policies=[("allow-all", ALLOW_ALL)],
                service_control_policies=[
                    ("FullAWSAccess", FULL_AWS_ACCESS),
                    ("RegionDeny", document),
                ],
            )
        )
        for call in calls
    }
    simulator.run()
    return {call: simulator.result(key).allowed for call, key in keys.items()}


# --------------------------------------------------------------------------- the reference app


def test_reference_app_profiles_reach_every_destination_and_nothing_else(
    reference: Synth,
) -> None:
    stacks = load_stacks(reference.assembly.directory)
    profiles = scp.routed_profiles(stacks)
    approved = scp.app_regions(stacks)
    assert approved == list(US)
    document = scp.policy(profiles, approved)
    profile = f"us.{MODEL}"
    allowed = [
        Call(fm(destination), destination, profile_arn(source, profile))
        for source in US
        for destination in US
    ] + [Call(profile_arn(source, profile), source) for source in US]
    allowed += [
        Call(fm(r), r, profile_arn(r, profile), "bedrock:InvokeModelWithResponseStream") for r in US
    ]
    refused = [
        # The same profile authorized in a Region it does not route to.
        Call(fm("us-west-1"), "us-west-1", profile_arn("us-east-1", profile)),
        Call(fm("eu-west-1"), "eu-west-1", profile_arn("us-east-1", profile)),
        # The model called directly outside the approved Regions.
        Call(fm("us-west-1"), "us-west-1"),
        # Another profile: a global one (Region-less, 'unspecified') and another geography's.
        Call(fm(""), scp.REGIONLESS, profile_arn("us-east-1", f"global.{MODEL}")),
        Call(fm("eu-west-1"), "eu-west-1", profile_arn("eu-west-1", f"eu.{MODEL}")),
        # The Region deny still holds for everything else.
        Call(fm("us-west-1"), "us-west-1", action="bedrock:GetFoundationModel"),
    ]
    decided = decide(document, allowed + refused)
    assert [c for c in allowed if not decided[c]] == []
    assert [c for c in refused if decided[c]] == []


# --------------------------------------------------------------------------- routes outside


@pytest.fixture(scope="module")
def one_region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An app in us-east-1 only, calling a US profile (destinations us-east-1, us-east-2,
    us-west-2), a global one, and an application profile copying the US one."""
    outdir = tmp_path_factory.mktemp("scp") / "cdk.out"
    app = new_app(outdir)
    stack = cdk.Stack(app, "Answers", env=cdk.Environment(account=TEST_ACCOUNT, region="us-east-1"))
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    us = CrossRegionInferenceProfile(stack, "Us", model_id=MODEL)
    world = CrossRegionInferenceProfile(stack, "Global", model_id=MODEL, geography=Geography.GLOBAL)
    tagged = ApplicationInferenceProfile(
        stack, "Tagged", inference_profile_name="answers", source=us
    )
    for target in (us, world, tagged):
        target.grant_invoke(role)
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def one_region_policy(one_region: Path) -> dict[str, Any]:
    stacks = load_stacks(one_region)
    return scp.policy(scp.routed_profiles(stacks), scp.app_regions(stacks))


def test_reads_each_kind_of_profile(one_region: Path) -> None:
    profiles = {p.label: p for p in scp.routed_profiles(load_stacks(one_region))}
    assert profiles[f"us.{MODEL}"].regions == US
    assert profiles[f"us.{MODEL}"].patterns == (profile_arn("us-east-1", f"us.{MODEL}"),)
    assert profiles[f"global.{MODEL}"].regions == ("unspecified", "us-east-1")
    copied = profiles[f"application profiles copying us.{MODEL}"]
    assert copied.regions == US
    assert copied.patterns == (
        f"arn:aws:bedrock:us-east-1:{TEST_ACCOUNT}:application-inference-profile/*",
    )


def test_routes_outside_the_approved_region_pass_and_nothing_else(
    one_region_policy: dict[str, Any],
) -> None:
    us, world = profile_arn("us-east-1", f"us.{MODEL}"), profile_arn("us-east-1", f"global.{MODEL}")
    tagged = f"arn:aws:bedrock:us-east-1:{TEST_ACCOUNT}:application-inference-profile/a1b2c3d4e5f6"
    allowed = [
        Call(fm("us-east-2"), "us-east-2", us),
        Call(fm("us-west-2"), "us-west-2", us),
        Call(fm(""), scp.REGIONLESS, world),
        Call(fm("us-east-1"), "us-east-1", world),
        Call(world, "us-east-1"),
        Call(fm("us-west-2"), "us-west-2", tagged),
        Call(tagged, "us-east-1"),
    ]
    refused = [
        Call(fm("us-east-2"), "us-east-2"),  # direct, outside the approved Region
        Call(fm("us-west-1"), "us-west-1", us),  # the US profile outside its destinations
        Call(fm(""), scp.REGIONLESS, us),  # a geographic profile never authorizes Region-less
        Call(fm("eu-west-1"), "eu-west-1", world),  # global: authorized Region-less only
        Call(fm("eu-west-1"), "eu-west-1", tagged),
        Call(profile_arn("us-east-2", f"us.{MODEL}"), "us-east-2"),  # a profile called elsewhere
        Call(fm("us-east-2"), "us-east-2", us, "bedrock:GetFoundationModel"),
    ]
    decided = decide(one_region_policy, allowed + refused)
    assert [c for c in allowed if not decided[c]] == []
    assert [c for c in refused if decided[c]] == []


def test_without_the_statements_a_region_deny_breaks_the_routes(
    one_region_policy: dict[str, Any],
) -> None:
    """The check can fail: a plain Region deny (AWS's first statement without the Bedrock
    exemption) refuses the calls the printed statements allow."""
    plain = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "NotAction": ["iam:*"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}},
            }
        ],
    }
    us = profile_arn("us-east-1", f"us.{MODEL}")
    calls = [
        Call(fm("us-east-2"), "us-east-2", us),
        Call(fm(""), scp.REGIONLESS, profile_arn("us-east-1", f"global.{MODEL}")),
    ]
    assert decide(plain, calls) == dict.fromkeys(calls, False)
    assert decide(one_region_policy, calls) == dict.fromkeys(calls, True)


# --------------------------------------------------------------------------- the command


def test_prints_the_explanation_then_the_policy(
    one_region: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scp.main([str(one_region)]) == 0
    out = capsys.readouterr().out
    comments = [line for line in out.splitlines() if line.startswith("#")]
    assert any(
        "us-east-2, us-west-2" in line and "AccessDeniedException" in line for line in comments
    )
    assert any("'unspecified'" in line for line in comments)
    document = json.loads(out[out.index("{") :])
    assert [s["Sid"] for s in document["Statement"]][:2] == [
        "DenyUnapprovedRegionsExceptBedrockInference",
        "DenyBedrockInferenceOutsideApprovedRegions",
    ]


def test_json_prints_the_document_only(
    one_region: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        scp.main(
            [
                str(one_region),
                "--json",
                "--approved-region",
                "us-east-1",
                "--approved-region",
                "eu-west-1",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    first = document["Statement"][0]["Condition"]["StringNotEquals"]["aws:RequestedRegion"]
    assert first == ["eu-west-1", "us-east-1"]


def test_fails_when_approved_regions_leave_out_an_app_region(
    one_region: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scp.main([str(one_region), "--approved-region", "us-west-2"]) == 2
    assert capsys.readouterr().err.startswith(
        "--approved-region leaves out us-east-1, where the app deploys stacks, got us-west-2;"
    )


def test_fails_clearly_without_an_assembly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scp.main([str(tmp_path)]) == 2
    assert "synthesize your app first" in capsys.readouterr().err
