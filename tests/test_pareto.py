"""Pareto fronts, hypervolume and IGD (graf.search.pareto): hand-computed cases, brute-force
checks on random point sets, and the exact NB201 fronts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from graf.search.pareto import (
    REFERENCE_MARGIN,
    ObjectiveScale,
    ParetoFront,
    hypervolume,
    hypervolume_ratio,
    igd,
    nb201_front,
    non_dominated,
    normalised_hypervolume,
    pareto_indices,
    to_minimisation,
)


# ---------------------------------------------------------------------------- independent references
def _brute_non_dominated(z: np.ndarray) -> np.ndarray:
    """Pairwise definition on minimised points."""
    n = len(z)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        for j in range(n):
            if i != j and (z[j] <= z[i]).all() and (z[j] < z[i]).any():
                keep[i] = False
                break
    return keep


def _inclusion_exclusion(z: np.ndarray, ref: np.ndarray) -> float:
    """Volume of the union of boxes [p, ref] by inclusion-exclusion over all subsets."""
    z = z[(z < ref).all(axis=1)]
    total = 0.0
    for k in range(1, len(z) + 1):
        for subset in itertools.combinations(range(len(z)), k):
            corner = z[list(subset)].max(axis=0)
            total += (-1) ** (k + 1) * float(np.prod(ref - corner))
    return total


def _grid_count(z: np.ndarray, ref: int) -> int:
    """Integer points, integer reference: count the unit cells [c, c + 1) some box [p, ref] covers."""
    m = z.shape[1]
    cells = np.array(list(itertools.product(range(ref), repeat=m)))
    covered = (z[None, :, :] <= cells[:, None, :]).all(axis=2).any(axis=1)
    return int(covered.sum())


# ---------------------------------------------------------------------------- dominance
def test_non_dominated_hand_case_keeps_ties():
    z = np.array([[1, 1], [1, 1], [2, 2], [0, 3], [3, 0], [1, 2], [0, 4]], dtype=float)
    assert non_dominated(z, ("min", "min")).tolist() == [True, True, False, True, True, False, False]


def test_mixed_senses_accuracy_against_latency():
    # accuracy (max), latency (min)
    pts = np.array([[94.0, 6.0], [93.0, 3.0], [93.0, 4.0], [90.0, 1.0], [89.0, 2.0], [94.0, 7.0]])
    assert non_dominated(pts, ("max", "min")).tolist() == [True, True, False, True, False, False]
    assert pareto_indices(pts, ("max", "min")).tolist() == [0, 1, 3]  # best accuracy first
    np.testing.assert_array_equal(to_minimisation(pts, ("max", "min")), pts * [-1, 1])


@pytest.mark.parametrize("m", [2, 3])
def test_non_dominated_matches_pairwise_definition(m):
    rng = np.random.default_rng(m)
    for trial in range(200):
        n = int(rng.integers(1, 40))
        pts = rng.integers(0, 6, size=(n, m)).astype(float)  # small grid: many ties
        senses = tuple(rng.choice(["max", "min"], size=m))
        expected = _brute_non_dominated(to_minimisation(pts, senses))
        np.testing.assert_array_equal(non_dominated(pts, senses), expected, err_msg=f"trial {trial}")


# ---------------------------------------------------------------------------- hypervolume
def test_hypervolume_hand_cases():
    # staircase (1,3), (2,2), (3,1) under reference (4,4): 1*1 + 1*2 + 1*3
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == pytest.approx(6.0)
    # a dominated point, a duplicate and a point beyond the reference add nothing
    assert hypervolume([[1, 3], [2, 2], [3, 1], [3, 3], [2, 2], [5, 0]], [4, 4]) == pytest.approx(6.0)
    assert hypervolume([[1, 2, 3]], [2, 4, 5]) == pytest.approx(1 * 2 * 2)
    # 3-D boxes [1,3]^3 (8) and [0,3]x[2,3]x[2,3] (3), overlapping in [1,3]x[2,3]x[2,3] (2)
    assert hypervolume([[1, 1, 1], [0, 2, 2]], [3, 3, 3]) == pytest.approx(8 + 3 - 2)
    assert hypervolume(np.zeros((0, 2)), [1, 1]) == 0.0
    assert hypervolume([[2, 0]], [1, 1]) == 0.0


@pytest.mark.parametrize("m", [2, 3, 4])
def test_hypervolume_matches_inclusion_exclusion(m):
    rng = np.random.default_rng(10 + m)
    for _ in range(60):
        n = int(rng.integers(1, 8))
        z = rng.random((n, m))
        ref = np.full(m, 1.05)
        assert hypervolume(z, ref) == pytest.approx(_inclusion_exclusion(z, ref), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("m", [2, 3])
def test_hypervolume_matches_grid_count(m):
    rng = np.random.default_rng(20 + m)
    ref = 12
    for _ in range(40):
        n = int(rng.integers(1, 30))
        z = rng.integers(0, ref + 2, size=(n, m)).astype(float)  # some beyond the reference
        assert hypervolume(z, np.full(m, ref)) == pytest.approx(_grid_count(z, ref))


def test_hypervolume_matches_monte_carlo():
    rng = np.random.default_rng(7)
    z = rng.random((50, 2)) ** 2
    samples = rng.random((200_000, 2)) * 1.1
    covered = np.zeros(len(samples), dtype=bool)
    for p in z:
        covered |= (samples >= p).all(axis=1)
    estimate = covered.mean() * 1.1**2
    assert hypervolume(z, [1.1, 1.1]) == pytest.approx(estimate, abs=4 * 1.21 * np.sqrt(0.25 / len(samples)))


# ---------------------------------------------------------------------------- normalised space, ratio, IGD
def test_scale_normalises_to_minimised_unit_box():
    pts = np.array([[90.0, 2.0], [10.0, 1.0], [50.0, 5.0]])
    scale = ObjectiveScale.from_points(pts, ("max", "min"))
    assert scale.lower == (10.0, 1.0) and scale.upper == (90.0, 5.0)
    np.testing.assert_allclose(scale.normalise(pts), [[0.0, 0.25], [1.0, 0.0], [0.5, 1.0]])
    np.testing.assert_allclose(scale.reference(), [1 + REFERENCE_MARGIN] * 2)
    # front (90, 2) and (10, 1) -> normalised (0, .25), (1, 0); reference 1.01:
    expected = 1.01 * (1.01 - 0.25) + 0.01 * 0.25
    assert normalised_hypervolume(pts, scale) == pytest.approx(expected)


def test_ratio_and_igd_on_exact_front_and_subsets():
    rng = np.random.default_rng(3)
    pts = np.c_[rng.uniform(10, 95, 400), rng.uniform(1, 20, 400)]
    senses = ("max", "min")
    scale = ObjectiveScale.from_points(pts, senses)
    front = pts[pareto_indices(pts, senses)]
    assert len(front) >= 3
    assert hypervolume_ratio(front, front, scale) == pytest.approx(1.0)
    assert hypervolume_ratio(pts, front, scale) == pytest.approx(1.0)  # dominated points add nothing
    assert igd(front, front, scale) == 0.0
    assert igd(pts, front, scale) == 0.0
    for drop in range(len(front)):  # with a margin every front point adds volume of its own
        subset = np.delete(front, drop, axis=0)
        assert hypervolume_ratio(subset, front, scale) < 1.0
        assert igd(subset, front, scale) > 0.0
    assert 0 < hypervolume_ratio(pts[:20], front, scale) < 1


def test_igd_hand_case():
    scale = ObjectiveScale(("min", "min"), (0.0, 0.0), (1.0, 1.0))
    exact = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    found = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # (1, 1) is dominated and ignored
    assert igd(found, exact, scale) == pytest.approx(np.sqrt(0.5) / 3)


def test_clear_errors():
    with pytest.raises(ValueError, match="unknown objective sense 'maximise'"):
        non_dominated([[1, 2]], ("maximise", "min"))
    with pytest.raises(ValueError, match="got 1 senses for 2 objectives"):
        non_dominated([[1, 2]], ("min",))
    with pytest.raises(ValueError, match="NaN/inf"):
        non_dominated([[1, np.nan]], ("min", "min"))
    with pytest.raises(ValueError, match="upper > lower"):
        ObjectiveScale(("min",), (1.0,), (1.0,))
    with pytest.raises(ValueError, match="reference"):
        hypervolume([[1, 2]], [1, 2, 3])


# ---------------------------------------------------------------------------- NB201
@pytest.mark.parametrize(
    "dataset, metric, size",
    [("cifar10", "edgegpu_latency", 25), ("cifar10", "raspi4_latency", 38), ("imagenet16", "pixel3_latency", 41)],
)
def test_nb201_exact_front(data_dir, dataset, metric, size):
    front = nb201_front(dataset, metric, data_dir=data_dir)
    test_col = {"cifar10": "cifar10_test", "imagenet16": "imagenet16_test"}[dataset]
    assert list(front.table.columns) == [test_col, f"hw:{dataset}:{metric}"]
    assert len(front.table) == 15625 and len(front.front) == size
    # every net off the front is dominated by a front net (or equal to one): the front is complete
    z = to_minimisation(front.table.to_numpy(), ("max", "min"))
    f = to_minimisation(front.front.to_numpy(), ("max", "min"))
    weakly = (f[None, :, :] <= z[:, None, :]).all(axis=2)
    strictly = (f[None, :, :] < z[:, None, :]).any(axis=2)
    on_front = front.table.index.isin(front.front.index)
    assert (weakly & strictly).any(axis=1)[~on_front].all()
    assert not (weakly & strictly).any(axis=1)[on_front].any()
    assert front.front.iloc[0, 0] == front.table.iloc[:, 0].max()  # best accuracy first
    assert front.hypervolume_ratio(front.front.index) == pytest.approx(1.0)
    assert front.igd(front.front.index) == 0.0
    assert front.hypervolume_ratio(front.front.index[1:]) < 1.0
    assert front.hypervolume_ratio(front.table.index) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not in the objective table"):
        front.igd(["|none~0|"])


def test_front_of_any_table():
    import pandas as pd

    table = pd.DataFrame({"acc": [90.0, 80.0, 85.0], "lat": [3.0, 1.0, 3.5]}, index=["a", "b", "c"])
    front = ParetoFront.of(table, ("max", "min"))
    assert list(front.front.index) == ["a", "b"]
    assert front.hypervolume_ratio(["a", "b", "c"]) == pytest.approx(1.0)
    assert front.hypervolume_ratio(["a"]) < 1.0


def test_nb201_front_senses_and_unmeasured_nets(data_dir):
    from graf.search.pareto import hw_sense

    assert hw_sense("edgegpu_energy") == "min" and hw_sense("eyeriss_arithmetic_intensity") == "max"
    # edgetpu_latency is -1 for the nets the Edge TPU compiler rejected: they are left out
    front = nb201_front("cifar10", "edgetpu_latency", data_dir=data_dir)
    assert len(front.table) == 10926 and (front.table.iloc[:, 1] > 0).all()
    # ImageNet16-120 accuracy against its own HW table by default, or another dataset's
    own = nb201_front("imagenet16", "pixel3_latency", data_dir=data_dir)
    other = nb201_front("imagenet16", "pixel3_latency", hw_dataset="cifar10", data_dir=data_dir)
    assert list(own.table.columns)[1] == "hw:imagenet16:pixel3_latency"
    assert list(other.table.columns)[1] == "hw:cifar10:pixel3_latency"
