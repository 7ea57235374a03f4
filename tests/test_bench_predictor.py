"""benchmarks/bench_predictor.py: a configuration interrupted after some runs continues from its
checkpoint, and its record equals that of an uninterrupted evaluation."""

from __future__ import annotations

import json

import numpy as np

from graf.predictor import build_dataset, evaluate_predictor
from graf.spaces import get_space

from conftest import load_script


def _module():
    return load_script("benchmarks/bench_predictor.py")


def test_an_interrupted_configuration_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    bench = _module()
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    nets = [str(a) for a in get_space("nb201").valid_archs()][:150]
    args = dict(model="rf", seeds=3, sizes=[20, 40], nets=nets, nets_label="150 nets")
    ds = build_dataset("cifar10_val_naslib", "graf", nets=nets)
    direct = evaluate_predictor(ds.X, ds.y, train_sizes=[20, 40], seeds=3, model="rf").runs

    # a run that stopped after two runs (the second of them cut mid-line by a kill), then a rerun
    cmd = ("graf evaluate --space nb201 --target cifar10_val_naslib --inputs graf --train-sizes 20,40 --seeds 3 "
           "--model rf --archs <150 nets> --json")
    ckpt = bench._checkpoint("probe", cmd)
    ckpt.parent.mkdir(parents=True)
    first = {"train_size": 20, "seed": 0, "tau": 0.5, "rho": 0.5, "n_test": 130}  # marked: must be kept, not recomputed
    ckpt.write_text(json.dumps({"command": cmd}) + "\n" + json.dumps(first) + "\n" + '{"train_size": 20, "se')
    bench.run_config("probe", "cifar10_val_naslib", "graf", **args)
    record = json.loads((tmp_path / "predictor_probe.jsonl").read_text())
    assert record["command"] == cmd and record["resumed_runs"] == 1
    taus = direct.groupby("train_size")["tau"].apply(list)
    assert record["tau_by_seed"]["20"] == [0.5] + taus[20][1:]
    assert record["tau_by_seed"]["40"] == taus[40]
    assert not ckpt.exists()
    summary = {r["train_size"]: r for r in record["results"]}
    assert summary[40]["tau_mean"] == np.mean(taus[40]) and summary[20]["seeds"] == 3

    # recorded: with done= it is skipped; a checkpoint of another command is not read
    bench.run_config("probe", "cifar10_val_naslib", "graf", done={cmd}, **args)
    assert len((tmp_path / "predictor_probe.jsonl").read_text().splitlines()) == 1
    ckpt.write_text(json.dumps({"command": cmd}) + "\n" + json.dumps(first) + "\n")
    assert bench._finished_runs(ckpt, cmd) == [first] and bench._finished_runs(ckpt, "another command") == []
