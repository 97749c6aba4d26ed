"""The AZ-loss report on small synthesized samples, including a single-AZ one that must fail."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from ha_inference.metadata import SUBNET_ZONES_METADATA
from ha_inference.tools.assembly import StackArtifact
from ha_inference.tools.report import (
    Component,
    StackReport,
    analyse,
    failover_of,
    main,
    to_markdown,
    to_svg,
)
from tests.support import ROOT, Synth, new_app
from tests.support.samples import sample_stack
from tests.support.stubs import ACCOUNT, REGION, write_assembly


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("report") / "cdk.out"
    app = new_app(outdir)
    sample_stack(app, "Ha", ha=True)
    sample_stack(app, "NonHa", ha=False)
    sample_stack(app, "SingleAz", ha=True, zones=1)
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def reports(assembly: Path) -> dict[str, StackReport]:
    return {report.name: report for report in analyse(assembly)}


def component(report: StackReport, kind: str) -> Component:
    (found,) = [c for c in report.components if c.kind == kind]
    return found


def test_maps_every_zonal_component_to_its_azs(reports: dict[str, StackReport]) -> None:
    ha = reports["Ha"]
    assert ha.zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    kinds = {c.kind for c in ha.components}
    assert kinds == {
        "subnets",
        "interface endpoint",
        "network load balancer",
        "SageMaker instances",
        "Lambda function",
        "collection endpoint",
        "collection",
        "agent runtime",
    }
    for kind in (
        "interface endpoint",
        "network load balancer",
        "Lambda function",
        "collection endpoint",
        "agent runtime",
    ):
        for found in [c for c in ha.components if c.kind == kind]:
            assert sorted(found.zones) == ha.zones, kind  # type: ignore[type-var]


def test_ha_sample_survives_the_loss_of_any_az(reports: dict[str, StackReport]) -> None:
    ha = reports["Ha"]
    assert ha.failures() == []
    sagemaker = component(ha, "SageMaker instances")
    assert sagemaker.instances == 3
    # Worst case with 3 instances over 3 AZs: losing one AZ leaves 3 - ceil(3/3) = 2.
    assert [sagemaker.remaining(z) for z in ha.zones] == [2, 2, 2]
    assert [component(ha, "Lambda function").remaining(z) for z in ha.zones] == [2, 2, 2]


def test_non_ha_sample_fails_with_each_single_az_component(reports: dict[str, StackReport]) -> None:
    failures = reports["NonHa"].failures()
    for expected in (
        "SageMaker instances EndpointConfig/primary (1 instances): nothing left without us-east-1a",
        "network load balancer LoadBalancer: nothing left without us-east-1a",
        "Lambda function Function: nothing left without us-east-1a",
        "collection endpoint CollectionEndpoint: nothing left without us-east-1a",
        "collection Collection: no standby in another AZ",
        "agent runtime AgentRuntime: nothing left without us-east-1a",
    ):
        assert expected in failures
    assert not any("us-east-1b" in f for f in failures)


def test_single_az_app_fails(
    reports: dict[str, StackReport], assembly: Path, tmp_path: Path
) -> None:
    single = reports["SingleAz"]
    assert single.zones == ["us-east-1a"]
    assert "subnets private: nothing left without us-east-1a" in single.failures()
    assert main([str(assembly), "--out", str(tmp_path)]) == 1


def test_detection_time_from_health_checks(reports: dict[str, StackReport]) -> None:
    (line,) = reports["Ha"].detection
    assert line == (
        "TargetGroup: targets marked unhealthy after 30 s x 2 = 60 s; with the 60 s DNS TTL, "
        "clients leave a failed AZ within about 120 s"
    )


def test_says_whether_each_load_balancer_can_be_shifted(
    reports: dict[str, StackReport], assembly: Path, tmp_path: Path
) -> None:
    assert reports["Ha"].failover == [
        "LoadBalancer (network load balancer): zonal shift on (moves this load balancer's traffic only), zonal autoshift off"
    ]
    assert reports["NonHa"].failover == [
        "LoadBalancer (network load balancer): zonal shift off, zonal autoshift off"
    ]
    main([str(assembly), "--out", str(tmp_path)])
    markdown = (tmp_path / "az-loss.md").read_text()
    assert (
        "- LoadBalancer (network load balancer): zonal shift on (moves this load balancer's traffic only), zonal autoshift off"
        in markdown
    ), "a shift is never said to move more than the load balancer's own traffic"


def _stack(resources: dict[str, Any]) -> StackArtifact:
    return StackArtifact("S", "111111111111", "us-east-1", Path("S.json"), {"Resources": resources})


def _nlb(shift: str | None) -> dict[str, Any]:
    attributes = [] if shift is None else [{"Key": "zonal_shift.config.enabled", "Value": shift}]
    return {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "Properties": {"Type": "network", "LoadBalancerAttributes": attributes},
    }


def _autoshift(target: str, status: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "ResourceIdentifier": {"Ref": target},
        "PracticeRunConfiguration": {
            "OutcomeAlarms": [{"AlarmIdentifier": "x", "Type": "CLOUDWATCH"}]
        },
    }
    if status is not None:
        props["ZonalAutoshiftStatus"] = status
    return {"Type": "AWS::ARCZonalShift::ZonalAutoshiftConfiguration", "Properties": props}


def test_autoshift_is_read_from_its_configuration() -> None:
    stack = _stack(
        {
            "Shifted": _nlb("true"),
            "ShiftedConfig": _autoshift("Shifted", "ENABLED"),
            "Practising": _nlb("true"),
            "PractisingConfig": _autoshift("Practising", None),
            "Broken": _nlb(None),
            "BrokenConfig": _autoshift("Broken", "ENABLED"),
            "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {}},
        }
    )
    assert failover_of(stack) == [
        "Alb (application load balancer): zonal shift off, zonal autoshift off",
        "Broken (network load balancer): zonal shift off, zonal autoshift on, with weekly "
        "practice runs; ARC cannot shift a load balancer with zonal shift off, turn it on",
        "Practising (network load balancer): zonal shift on (moves this load balancer's traffic only), zonal autoshift off "
        "(practice runs configured)",
        "Shifted (network load balancer): zonal shift on (moves this load balancer's traffic only), zonal autoshift on, "
        "with weekly practice runs",
    ]


def test_outputs_markdown_and_svg(
    reports: dict[str, StackReport], assembly: Path, tmp_path: Path
) -> None:
    main([str(assembly), "--out", str(tmp_path)])
    markdown = (tmp_path / "az-loss.md").read_text()
    assert "| Component | us-east-1a | us-east-1b | us-east-1c | lose us-east-1a |" in markdown
    assert "**Survives the loss of any one AZ.**" in markdown
    svg = ET.parse(tmp_path / "az-coverage.svg").getroot()
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "Ha (us-east-1)" in texts and "lose us-east-1c" in texts
    assert to_markdown([]) == "# AZ-loss report\n" and to_svg([]).startswith("<svg")


def test_exit_code_zero_when_everything_survives(tmp_path: Path) -> None:
    outdir = tmp_path / "cdk.out"
    app = new_app(outdir)
    sample_stack(app, "Ha", ha=True)
    app.synth()
    assert main([str(outdir)]) == 0


def test_fails_clearly_without_an_assembly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "is not a cloud assembly (no manifest.json); synthesize your app first" in err
    assert "make" not in err  # it speaks to any app, not only this repository's


def test_unknown_zones_are_not_counted_as_lost() -> None:
    imported = Component("Lambda function", "Imported", (None, None))
    assert imported.remaining("us-east-1a") is None
    report = StackReport("S", "us-east-1", ["us-east-1a"], [imported])
    assert report.failures() == []


def test_reference_app_survives_the_loss_of_any_az(reference: Synth) -> None:
    for report in analyse(reference.assembly.directory):
        assert report.failures() == [], report.name
        kinds = {c.kind for c in report.components}
        if report.name.endswith("-CrossRegion"):
            # Paths to the other Regions: endpoints and the failover function, in subnets of
            # the regional stack.
            assert kinds == {"interface endpoint", "Lambda function"}, report.name
            assert report.verdict == "survives" and len(report.zones) == 3
            continue
        assert {
            "subnets",
            "interface endpoint",
            "network load balancer",
            "SageMaker instances",
            "Lambda function",
            "collection endpoint",
            "collection",
        } <= kinds
        assert len(report.zones) == 3
        assert [line.split(":")[1].strip() for line in report.detection] == [
            "targets marked unhealthy after 10 s x 2 = 20 s; with the 60 s DNS TTL, clients leave a failed AZ within about 80 s"
        ]
        (failover,) = report.failover
        assert failover.startswith("RuntimeLoadBalancer")
        assert failover.endswith(
            "(network load balancer): zonal shift on (moves this load balancer's traffic only), zonal autoshift on, "
            "with weekly practice runs"
        ), failover


def test_readme_picture_is_current(reference: Synth) -> None:
    """docs/az-coverage.svg is what the report draws for the reference app (make docs)."""
    reports = analyse(reference.assembly.directory)
    assert (ROOT / "docs" / "az-coverage.svg").read_text() == to_svg(reports), (
        "docs/ is stale: run 'make docs' and commit the result"
    )
    assert (ROOT / "docs" / "az-loss.md").read_text() == to_markdown(reports) + "\n"


# --------------------------------------------------------------------------- imported subnets

IMPORTED = ("subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2", "subnet-0aaaaaaaaaaaaaaa3")
IMPORTED_ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


def table_rows(markdown: str) -> list[list[list[str]]]:
    """Every Markdown table of ``markdown``: its rows, each a list of cells."""
    tables: list[list[list[str]]] = []
    previous = ""
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append([cell.strip() for cell in line.strip().strip("|").split("|")])
        previous = line
    return tables


def assert_tables_well_formed(markdown: str) -> None:
    tables = table_rows(markdown)
    assert tables, "no table"
    for rows in tables:
        header, rule, *body = rows
        assert all(set(cell) == {"-"} for cell in rule) and len(rule) == len(header), rows[:2]
        for row in body:
            assert len(row) == len(header), f"{row} under {header}"


def imported_vpc_assembly(directory: Path, recorded: dict[str, str] | None) -> Path:
    """A stack whose function runs in three imported subnets, named by id; ``recorded``: the
    AZs a construct of the library recorded for them (``ha-inference:subnet-zones``)."""
    template = {
        "Resources": {
            "Answers": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"VpcConfig": {"SubnetIds": list(IMPORTED)}},
            }
        }
    }
    metadata = (
        {"/Imported/Worker": ({"type": SUBNET_ZONES_METADATA, "data": recorded},)}
        if recorded
        else {}
    )
    stack = StackArtifact(
        "Imported", ACCOUNT, REGION, directory / "Imported.template.json", template,
        metadata=metadata,
    )  # fmt: skip
    return write_assembly(directory, [stack])


def test_cannot_tell_for_imported_subnets_nothing_records_and_says_how_to_tell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = imported_vpc_assembly(tmp_path / "cdk.out", recorded=None)
    assert main([str(assembly)]) == 3
    out = capsys.readouterr().out
    assert "**Cannot tell whether it survives the loss of one AZ:**" in out
    assert "Lambda function Answers" in out
    assert "--subnet-zone subnet-0abc=us-east-1a" in out
    assert_tables_well_formed(out)


def test_imported_subnets_map_to_the_zones_the_constructs_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = dict(zip(IMPORTED, IMPORTED_ZONES, strict=True))
    assembly = imported_vpc_assembly(tmp_path / "cdk.out", recorded)
    assert main([str(assembly)]) == 0
    out = capsys.readouterr().out
    assert "| Lambda function: Answers | 1 | 1 | 1 | 2 | 2 | 2 |" in out
    assert "**Survives the loss of any one AZ.**" in out
    assert_tables_well_formed(out)


def test_imported_subnets_map_to_the_zones_given_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = imported_vpc_assembly(tmp_path / "cdk.out", recorded=None)
    given = [f"--subnet-zone={s}={z}" for s, z in zip(IMPORTED[:2], IMPORTED_ZONES, strict=False)]
    assert main([str(assembly), *given, "--subnet-zone", f"{IMPORTED[2]}=us-east-1c"]) == 0
    out = capsys.readouterr().out
    assert "| Lambda function: Answers | 1 | 1 | 1 | 2 | 2 | 2 |" in out
    assert_tables_well_formed(out)


def test_some_zones_unknown_shows_question_marks_in_a_well_formed_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assembly = imported_vpc_assembly(tmp_path / "cdk.out", {IMPORTED[0]: "us-east-1a"})
    assert main([str(assembly)]) == 3
    out = capsys.readouterr().out
    assert "| Lambda function: Answers | 1+? | ? |" in out
    assert_tables_well_formed(out)


def test_fails_on_a_malformed_subnet_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), "--subnet-zone", "us-east-1a"])
    assert exit_info.value.code == 2
    assert "expected SUBNET=AZ such as subnet-0abc=us-east-1a, got 'us-east-1a'" in (
        capsys.readouterr().err
    )


def test_the_tables_of_the_reference_report_are_well_formed(reference: Synth) -> None:
    assert_tables_well_formed(to_markdown(analyse(reference.assembly.directory)))
