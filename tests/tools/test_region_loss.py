"""The report's Region-loss section, on a two-Region sample of the reference app."""

from __future__ import annotations

from pathlib import Path

import pytest

from ha_inference.tools.assembly import load_stacks
from ha_inference.tools.report import (
    RegionPaths,
    analyse,
    main,
    region_loss_markdown,
    region_losses,
    region_paths,
    to_region_svg,
)
from tests.support import ROOT, Synth, synth_reference

EAST, WEST = "us-east-1", "us-west-2"


@pytest.fixture(scope="module")
def two_regions(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth_reference(
        tmp_path_factory.mktemp("two-regions"),
        {
            "ha-inference:regions": [EAST, WEST],
            "ha-inference:require-all-destinations": False,
            "ha-inference:self-hosted": {
                "model-data": "s3://ha-inference-models-{region}/llm/model.tar.gz"
            },
        },
    )


@pytest.fixture(scope="module")
def paths(two_regions: Synth) -> RegionPaths:
    return region_paths(load_stacks(two_regions.assembly.directory))


def test_reads_models_offers_paths_and_order_from_the_templates(
    two_regions: Synth, paths: RegionPaths
) -> None:
    names = {
        s.region: s.inference.self_hosted.endpoint_name
        for s in two_regions.stacks
        if s.inference.self_hosted
    }
    assert paths.models == {EAST: [names[EAST]], WEST: [names[WEST]]}
    assert paths.offers == {EAST: {WEST}, WEST: {EAST}}
    assert paths.paths == {EAST: {WEST}, WEST: {EAST}}
    assert paths.orders == {EAST: [EAST, WEST], WEST: [WEST, EAST]}


def test_losing_either_region_leaves_the_other_serving_both(paths: RegionPaths) -> None:
    losses = {loss.lost: loss for loss in region_losses(paths)}
    assert losses[EAST].serving == (WEST,)
    assert losses[EAST].callers == {WEST: (WEST,)}
    assert losses[WEST].callers == {EAST: (EAST,)}
    assert all(loss.stranded == [] for loss in losses.values())
    # With both Regions up, each tries its own model first, then the other's.
    assert paths.reachable(EAST) == [EAST, WEST]
    assert paths.reachable(WEST) == [WEST, EAST]


def test_markdown_says_what_serves_after_each_loss(paths: RegionPaths) -> None:
    text = region_loss_markdown(paths)
    assert "| us-east-1 | us-west-2 | (lost) | us-west-2 (own) |" in text
    assert "| us-west-2 | us-east-1 | us-east-1 (own) | (lost) |" in text
    assert f"| {EAST} | " in text and "us-east-1 → us-west-2" in text
    assert "**Survives the loss of any one Region:**" in text


def test_a_region_without_a_path_is_stranded() -> None:
    """Consumer-only Region us-east-2 reaches us-east-1 only; us-west-2 offers nobody."""
    paths = RegionPaths(
        models={EAST: ["a"], WEST: ["b"]},
        offers={EAST: {"us-east-2"}, WEST: set()},
        paths={"us-east-2": {EAST, WEST}},
    )
    assert paths.reachable("us-east-2") == [EAST], "us-west-2 does not offer its service"
    losses = {loss.lost: loss for loss in region_losses(paths)}
    assert losses[EAST].stranded == ["us-east-2"]
    assert losses[WEST].callers == {EAST: (EAST,), "us-east-2": (EAST,)}
    text = region_loss_markdown(paths)
    assert "us-west-2 (not offered by us-west-2)" in text
    assert "losing us-east-1 leaves us-east-2 nothing" in text
    assert 'stroke="#a61c1c"' in to_region_svg(paths), "the refused path is drawn red"


def test_one_region_does_not_survive_its_own_loss() -> None:
    """A one-Region app's self-hosted model is gone with its Region: the page says so under the
    row that shows nothing serving, never that the app survives."""
    paths = RegionPaths(models={EAST: ["llm"]}, orders={})
    (loss,) = region_losses(paths)
    assert (loss.lost, loss.serving, loss.callers) == (EAST, (), {})
    text = region_loss_markdown(paths)
    assert "| us-east-1 | **nothing** | (lost) |" in text
    assert (
        "- **Does not survive the loss of every Region:** losing us-east-1 leaves no "
        "self-hosted model serving"
    ) in text
    assert "Survives the loss of any one Region" not in text


def test_a_region_that_only_calls_loses_its_model_with_the_one_host() -> None:
    """us-east-2 calls us-east-1's model; losing us-east-1 strands it and leaves no model."""
    paths = RegionPaths(
        models={EAST: ["llm"]}, offers={EAST: {"us-east-2"}}, paths={"us-east-2": {EAST}}
    )
    text = region_loss_markdown(paths)
    # Losing the caller us-east-2 leaves the host serving: no problem listed for it.
    assert (
        "- **Does not survive the loss of every Region:** losing us-east-1 leaves no "
        "self-hosted model serving; losing us-east-1 leaves us-east-2 nothing\n"
    ) in text


def test_no_model_no_section() -> None:
    assert "No self-hosted model" in region_loss_markdown(RegionPaths())


def test_the_cross_region_stacks_survive_the_loss_of_any_az(two_regions: Synth) -> None:
    """Their endpoints and function sit in subnets of the regional stacks, named through
    Fn::GetStackOutput; the report follows those references to the subnets' AZs."""
    reports = {r.name: r for r in analyse(two_regions.assembly.directory)}
    for region in (EAST, WEST):
        report = reports[f"HaInference-{region}-CrossRegion"]
        assert report.verdict == "survives", report.unknown()
        kinds = sorted(c.kind for c in report.components)
        assert kinds == ["Lambda function", "interface endpoint"]
        assert report.zones == [f"{region}a", f"{region}b", f"{region}c"]


def test_the_command_writes_the_region_loss_files(two_regions: Synth, tmp_path: Path) -> None:
    assert main([two_regions.assembly.directory, "--out", str(tmp_path)]) == 0
    paths = region_paths(load_stacks(two_regions.assembly.directory))
    assert (tmp_path / "region-loss.md").read_text() == region_loss_markdown(paths) + "\n"
    assert (tmp_path / "cross-region.svg").read_text() == to_region_svg(paths)


def test_readme_diagram_and_table_are_current(reference: Synth) -> None:
    """docs/cross-region.svg and docs/region-loss.md are what the report draws for the
    reference app (make docs)."""
    paths = region_paths(load_stacks(reference.assembly.directory))
    assert (ROOT / "docs" / "cross-region.svg").read_text() == to_region_svg(paths), (
        "docs/ is stale: run 'make docs' and commit the result"
    )
    assert (ROOT / "docs" / "region-loss.md").read_text() == region_loss_markdown(paths) + "\n"
