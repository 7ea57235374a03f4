"""NB101's categorical parameters (21 edge bits, 5 ops) and the strategies that sample them.

Hand-built assignments check NB101's own rules (prune the nodes off every input -> output
path, then at most 9 edges); the strategies are run on NAS-Bench-Suite-Zero's 292 NB101 cells.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from graf.cli import main
from graf.search import REINFORCE, BenchmarkObjective, OptunaSearch, run_search
from graf.spaces import InvalidParameters, get_space
from graf.spaces.nb101 import MAX_EDGES, OPS, NB101Arch

SPACE = get_space("nb101")
#: the cell of NB101's README (7 nodes, 9 edges)
README_MATRIX = np.array([[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                          [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]])
#: three 7-node cells: about 0.2 % of uniform choices give a 7-node cell at all
RARE = [NB101Arch.from_spec(README_MATRIX, ops) for ops in ([1, 2, 2, 2, 0], [0] * 5, [2] * 5)]


def _assignment(edges=(), ops=None) -> dict[str, str]:
    """Edges ``(x, y)`` on, every other off; ``ops`` maps interior node -> op (default conv3x3)."""
    ops = {v: "conv3x3-bn-relu" for v in range(1, 6)} | (ops or {})
    on = {f"edge_{x}-{y}" for x, y in edges}
    return {**{k: "1" if k in on else "0" for k in SPACE.parameters() if k.startswith("edge_")},
            **{f"op_{v}": ops[v] for v in range(1, 6)}}


@pytest.fixture(scope="module")
def objective(data_dir):
    return BenchmarkObjective("cifar10", space="nb101", data_dir=data_dir)


# --------------------------------------------------------------------------- the parameters
def test_parameters_are_21_edge_bits_then_5_ops():
    params = SPACE.parameters()
    names = list(params)
    assert names[:7] == ["edge_0-1", "edge_0-2", "edge_0-3", "edge_0-4", "edge_0-5", "edge_0-6", "edge_1-2"]
    assert names[20:] == ["edge_5-6", "op_1", "op_2", "op_3", "op_4", "op_5"]
    assert all(params[n] == ("0", "1") for n in names[:21])
    assert all(params[n] == OPS for n in names[21:])


@pytest.mark.parametrize("edges,reason", [
    ((), "does not reach the output"),
    (((1, 2), (2, 6), (0, 3)), "does not reach the output"),  # 0 -> 3 is a dead end, 1 is never reached
    (tuple((x, y) for x in range(7) for y in range(x + 1, 7)), "at most 9 edges after pruning, got 21"),
    (((0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (1, 6), (2, 6), (3, 6), (4, 6), (5, 6)), "got 10"),
])
def test_a_choice_that_is_no_cell_is_invalid_parameters(edges, reason):
    with pytest.raises(InvalidParameters, match=reason):
        SPACE.from_parameters(_assignment(edges))


def test_nodes_off_every_path_are_pruned_before_the_edges_are_counted():
    # in -> 1 -> out, and 10 more edges among nodes 2..5 and into the output that the input never reaches
    dead = [(x, y) for x in range(2, 6) for y in range(x + 1, 7)]
    values = _assignment([(0, 1), (1, 6), *dead], {1: "maxpool3x3"})
    assert sum(v == "1" for v in values.values()) == 2 + len(dead) > MAX_EDGES
    assert str(SPACE.from_parameters(values)) == "010-001-000|maxpool3x3"
    assert str(SPACE.from_parameters(_assignment([(0, 6)]))) == "01-00|"


def test_relabelled_choices_give_one_canonical_cell():
    a = SPACE.from_parameters(_assignment([(0, 1), (0, 2), (1, 6), (2, 6)], {1: "conv1x1-bn-relu", 2: "maxpool3x3"}))
    b = SPACE.from_parameters(_assignment([(0, 4), (0, 2), (4, 6), (2, 6)], {4: "conv1x1-bn-relu", 2: "maxpool3x3"}))
    assert a == b and a.spec_hash == b.spec_hash
    assert a == NB101Arch.parse("0110-0001-0001-0000|conv1x1,maxpool3x3")


def _cells_of_random_choices(n: int, seed: int) -> list[NB101Arch]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        try:
            out.append(SPACE.from_parameters({k: c[int(rng.integers(len(c)))] for k, c in SPACE.parameters().items()}))
        except InvalidParameters:
            pass
    return out


def test_round_trip_over_a_seeded_sample():
    # NB101's README cell (7 nodes, 9 edges) and the cells of 1500 seeded uniform choices
    readme = NB101Arch.from_spec(README_MATRIX, [1, 2, 2, 2, 0])
    archs = [readme, *_cells_of_random_choices(1500, 123)]
    assert {a.n for a in archs} == {2, 3, 4, 5, 6, 7} and readme.num_edges == MAX_EDGES
    for arch in archs:
        values = SPACE.to_parameters(arch)
        assert sum(values[k] == "1" for k in values if k.startswith("edge_")) == arch.num_edges
        assert all(values[f"op_{v}"] == OPS[0] for v in range(arch.n - 1, 6))  # unused nodes
        assert SPACE.from_parameters(values) == arch


# --------------------------------------------------------------------------- REINFORCE
def test_reinforce_redraws_choices_that_are_no_cell(objective):
    s = REINFORCE(seed=0, space="nb101", pool=objective.archs)
    r = run_search(s, objective, 20)
    assert r.queries == 20 == r.history["arch"].nunique()
    assert set(r.history["arch"]) <= set(objective.archs)
    # the policy starts uniform: about 27 % of uniform choices are no cell (measured on 20,000)
    assert s.n_invalid > 0 and 0.1 < s.n_invalid / s.n_draws < 0.45
    assert s.n_draws > 20 + s.n_invalid and s.n_fallbacks == 0


def test_reinforce_steps_on_the_choice_it_sampled(objective):
    s = REINFORCE(learning_rate=0.1, seed=1, space="nb101", pool=objective.archs)
    first = s.ask()
    s.tell(first, 80.0)  # the first value is its own baseline: no step
    arch = s.ask()
    sampled = dict(s._sampled[str(arch)])
    assert sampled != SPACE.to_parameters(arch)  # pruned or relabelled: not the canonical assignment
    before = [z.copy() for z in s.logits]
    s.tell(arch, 95.0)  # above the baseline: every sampled choice becomes more likely
    for k, name in enumerate(SPACE.parameters()):
        chosen = SPACE.parameters()[name].index(sampled[name])
        change = s.logits[k] - before[k]
        assert change[chosen] > 0 and (np.delete(change, chosen) < 0).all()


def test_reinforce_replaces_after_max_redraws_then_runs_out():
    rare = RARE
    s = REINFORCE(max_redraws=0, seed=2, space="nb101", pool=rare)
    asked = [s.ask() for _ in range(3)]
    assert sorted(map(str, asked)) == sorted(map(str, rare))
    assert s.n_fallbacks == 3 and s.n_draws == 3
    with pytest.raises(ValueError, match="asked every architecture"):
        s.ask()


# --------------------------------------------------------------------------- optuna (TPE)
def test_tpe_tells_choices_that_are_no_cell_as_failed_trials(objective):
    optuna = pytest.importorskip("optuna")
    s = OptunaSearch(seed=0, space="nb101", pool=objective.archs)
    r = run_search(s, objective, 14)  # 10 random startup trials, then TPE
    assert r.queries == 14 == r.history["arch"].nunique() and set(r.history["arch"]) <= set(objective.archs)
    trials = s.study.trials
    assert len(trials) == s.n_draws + s.n_fallbacks and s.n_invalid > 0
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) >= s.n_invalid
    for t in trials:
        if t.state == optuna.trial.TrialState.COMPLETE:
            assert t.value == objective.peek_target(SPACE.from_parameters(t.params))  # never an invalid one
    invalid = 0
    for t in failed:
        try:
            SPACE.from_parameters(t.params)
        except InvalidParameters:
            invalid += 1
    assert invalid == s.n_invalid


def test_tpe_enqueues_a_pool_member_after_max_redraws_then_runs_out():
    pytest.importorskip("optuna")
    rare = RARE
    s = OptunaSearch(max_redraws=1, seed=3, space="nb101", pool=rare)
    asked = [s.ask() for _ in range(3)]
    assert sorted(map(str, asked)) == sorted(map(str, rare)) and s.n_fallbacks == 3
    for a in asked:
        s.tell(a, 90.0)
    with pytest.raises(ValueError, match="asked every architecture"):
        s.ask()


def test_a_study_driven_by_reinforce_on_nb101(objective):
    optuna = pytest.importorskip("optuna")
    from graf.search.sampler import StrategySampler

    strategy = REINFORCE(seed=4, space="nb101", pool=objective.archs)
    sampler = StrategySampler(strategy)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda trial: objective.peek_target(sampler.arch(trial)), n_trials=8)
    archs = [str(SPACE.from_parameters(t.params)) for t in study.trials]
    assert [str(a) for a, _ in strategy.told] == archs and len(set(archs)) == 8
    study.enqueue_trial({k: "0" if k.startswith("edge_") else v for k, v in study.trials[0].params.items()})
    with pytest.raises(InvalidParameters, match="does not reach the output"):  # a hand-made choice that is no cell
        study.optimize(lambda trial: objective.peek_target(sampler.arch(trial)), n_trials=1)
    assert study.trials[-1].state == optuna.trial.TrialState.FAIL
    assert len(strategy.told) == 8 and not strategy._pending


@pytest.mark.parametrize("algorithm", ["reinforce", "tpe"])
def test_cli_searches_nb101_with_parameterised_strategies(algorithm, data_dir, capsys):
    pytest.importorskip("optuna")
    code = main(["search", "--data-dir", str(data_dir), "--space", "nb101", "--algorithm", algorithm,
                 "--budget", "12", "--seeds", "2", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["space"] == "nb101" and out["queries_mean"] == 12 and out["target"] == "val_accuracy"
    assert 73.0 < out["test_acc_mean"] <= 94.72  # the benchmark's range of val_accuracy over its 292 cells
    # every query took at least one draw; uniform NB101 choices are no cell about a quarter of the time
    assert out["draws_per_query_mean"] >= 1.0 and 0.0 < out["invalid_draws_per_query_mean"] < out["draws_per_query_mean"]
    assert 0.0 <= out["fallbacks_per_query_mean"] <= 1.0
