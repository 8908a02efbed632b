"""Sankey geometry: bands fill their nodes exactly, heights follow counts, the box holds.

The reference is the counts themselves: node heights and band thicknesses are checked
against sums of the migration matrix computed here with pandas.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from cible.reporting.sankey import GREY, NONE_KEY, OTHER_KEY, Sankey, band_path, layout_sankey


def _random_counts(segments: int, seed: int, zeros: float = 0.3) -> dict[tuple[str, str], int]:
    rng = np.random.default_rng(seed)
    keys = [f"s{i:03d}" for i in range(segments)] + [NONE_KEY]
    matrix = rng.poisson(rng.gamma(0.6, 40.0, size=(len(keys), len(keys))))
    matrix[rng.random(matrix.shape) < zeros] = 0
    return {(a, b): int(matrix[i, j]) for i, a in enumerate(keys) for j, b in enumerate(keys)}


def _check_stacking(chart: Sankey) -> None:
    """Each node's bands cover it from top to bottom, without gap or overlap."""
    for node in chart.nodes:
        if node.side == "source":
            mine = [b for b in chart.bands if b.source == node.key]
            tops = [b.source_top for b in mine]
        else:
            mine = [b for b in chart.bands if b.target == node.key]
            mine.sort(key=lambda b: b.target_top)
            tops = [b.target_top for b in mine]
        assert sum(b.thickness for b in mine) == pytest.approx(node.height, abs=1e-9)
        assert sum(b.customers for b in mine) == node.count
        edges = np.cumsum([node.y] + [b.thickness for b in mine])
        np.testing.assert_allclose(tops, edges[:-1], atol=1e-9)
        assert edges[-1] == pytest.approx(node.y + node.height, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_bands_add_up_to_node_heights_on_both_sides(seed: int):
    counts = _random_counts(8, seed)
    chart = layout_sankey(counts)
    _check_stacking(chart)
    frame = pd.Series(counts).rename_axis(["source", "target"]).reset_index(name="n")
    frame = frame[frame.n > 0]
    for side in ("source", "target"):
        expected = frame.groupby(side).n.sum()
        found = {n.key: n.count for n in chart.side(side)}
        assert found == expected.to_dict()
    assert {(b.source, b.target): b.customers for b in chart.bands} == {
        (s, t): n for s, t, n in frame.itertuples(index=False)
    }


def test_node_heights_are_proportional_to_counts_with_one_scale_for_both_columns():
    chart = layout_sankey(_random_counts(6, 11))
    ratios = [n.height / n.count for n in chart.nodes]
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-12)
    # The taller column fills the height: nodes and gaps.
    bottoms = [n.y + n.height for n in chart.nodes]
    assert max(bottoms) == pytest.approx(chart.height)
    for column in ("source", "target"):
        nodes = chart.side(column)
        gaps = [b.y - (a.y + a.height) for a, b in itertools.pairwise(nodes)]
        assert all(g == pytest.approx(8.0) for g in gaps)


def test_band_thickness_and_path_follow_its_count():
    chart = layout_sankey({("a", "b"): 25, ("a", "a"): 75, ("b", "b"): 100}, height=210, gap=10)
    scale = 200 / 200
    for band in chart.bands:
        assert band.thickness == pytest.approx(band.customers * scale)
        numbers = [float(x) for x in re.findall(r"-?\d+\.\d+", band.path)]
        assert band.path.startswith("M ") and band.path.endswith(" Z")
        assert band.path.count(" C ") == 2
        # Start of the top edge, end of the top edge, then the bottom edge back.
        assert numbers[1] == pytest.approx(band.source_top, abs=0.005)
        assert numbers[7] == pytest.approx(band.target_top, abs=0.005)
        assert numbers[9] - numbers[7] == pytest.approx(band.thickness, abs=0.01)
        assert numbers[-1] - numbers[1] == pytest.approx(band.thickness, abs=0.01)
    moved = next(b for b in chart.bands if (b.source, b.target) == ("a", "b"))
    assert moved.share_of_source == pytest.approx(0.25)


def test_band_path_is_a_closed_pair_of_cubic_curves():
    assert band_path(10, 5, 90, 45, 4) == (
        "M 10.00 5.00 C 50.00 5.00 50.00 45.00 90.00 45.00 "
        "L 90.00 49.00 C 50.00 49.00 50.00 9.00 10.00 9.00 Z"
    )


def test_order_labels_colours_and_none_grey():
    chart = layout_sankey(
        {("b", "a"): 3, (NONE_KEY, "b"): 2, ("a", NONE_KEY): 1},
        labels={"a": "Alpha", "b": "Beta"},
        colors={"a": "#ff0000", "b": "#00ff00", NONE_KEY: "#123456"},
        order=["b", "a"],
    )
    assert [n.key for n in chart.side("source")] == ["b", "a", NONE_KEY]
    assert [n.key for n in chart.side("target")] == ["b", "a", NONE_KEY]
    by = {(n.side, n.key): n for n in chart.nodes}
    assert by[("source", "a")].label == "Alpha" and by[("source", "a")].color == "#ff0000"
    assert by[("target", NONE_KEY)].color == GREY
    assert next(b for b in chart.bands if b.source == NONE_KEY).color == GREY
    _check_stacking(chart)


def test_an_empty_migration_draws_nothing():
    for counts in ({}, {("a", "b"): 0}):
        chart = layout_sankey(counts)
        assert chart.total == 0 and chart.nodes == [] and chart.bands == []


def test_a_single_segment_is_one_node_a_side_and_one_full_band():
    chart = layout_sankey({("a", "a"): 7}, height=300)
    assert [(n.side, n.y, n.height) for n in chart.nodes] == [
        ("source", 0.0, 300.0),
        ("target", 0.0, 300.0),
    ]
    (band,) = chart.bands
    assert band.thickness == 300.0 and band.share_of_source == 1.0


def test_two_hundred_segments_stay_bounded_and_exact():
    counts = _random_counts(200, 3, zeros=0.9)
    chart = layout_sankey(counts, width=720, height=360, max_nodes=24)
    assert len(chart.side("source")) <= 24 and len(chart.side("target")) <= 24
    assert len(chart.bands) <= 24 * 24
    _check_stacking(chart)
    for node in chart.nodes:
        assert node.y >= 0 and node.y + node.height <= chart.height + 1e-9
        assert node.x >= 0 and node.x + node.width <= chart.width
    for band in chart.bands:
        numbers = [float(x) for x in re.findall(r"-?\d+\.\d+", band.path)]
        assert min(numbers) >= 0 and max(numbers[1::2]) <= chart.height + 0.01
    # Counts stay exact: merged segments sum into the merged node and bands.
    total = sum(counts.values())
    assert chart.total == total == sum(b.customers for b in chart.bands)
    other = next(n for n in chart.side("source") if n.key == OTHER_KEY)
    kept = {n.key for n in chart.side("source")} - {OTHER_KEY}
    assert other.count == sum(n for (s, _), n in counts.items() if s not in kept)
    assert other.merged == 200 - 22
    assert any(b.thin for b in chart.bands) and not all(b.thin for b in chart.bands)
    for band in chart.bands:
        assert band.thin == (band.customers / total < 0.005)


def test_many_nodes_narrow_the_gaps_instead_of_overflowing():
    counts = {(f"s{i}", f"s{i}"): 1 for i in range(60)}
    chart = layout_sankey(counts, height=100, gap=8, max_nodes=100)
    last = chart.side("source")[-1]
    assert last.y + last.height == pytest.approx(100)
    assert all(n.height == pytest.approx(50 / 60) for n in chart.nodes)


def test_a_box_too_small_is_refused():
    with pytest.raises(ValueError, match="too small"):
        layout_sankey({("a", "a"): 1}, width=100, margin=60)
