"""The training objective (proxies.train) and `graf train` / `graf evaluate --labels`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from graf.cli import main  # noqa: E402
from proxies.train import TrainConfig, load_images, train_network, train_outcome  # noqa: E402

GOOD = "(2, 4, 0, 0, 3, 2)"  # NASLib tuple: convolutions on every path
DEAD = "(1, 1, 1, 1, 1, 1)"  # every edge none: the input never reaches the output


@pytest.fixture(scope="module", autouse=True)
def _one_thread(torch_one_thread):
    yield


def small_npz(path, n_per_class: int = 12, size: int = 8):
    """Digits 0, 1, 2 as uint8 N x H x W x 1 (a small real dataset)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.concatenate([np.flatnonzero(d.target == k)[:n_per_class] for k in (0, 1, 2)])
    x = (d.images[keep] * (255 / 16)).round().astype(np.uint8)[..., None]
    np.savez(path, x=x, y=d.target[keep])
    return path


def test_digits_split_and_shapes():
    data = load_images(TrainConfig())
    assert data.classes == 10
    assert data.x_train.shape[1:] == (3, 8, 8)  # digits stay 8x8, grey copied to 3 channels
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 1797
    assert len(data.y_val) == pytest.approx(0.2 * 1797, abs=2) and len(data.y_test) == pytest.approx(0.2 * 1797, abs=2)
    assert np.allclose(data.x_train.mean(axis=(0, 2, 3)), 0, atol=1e-4)  # normalised with the train split's stats
    # stratified: every class in every split
    assert all(len(np.unique(y)) == 10 for y in (data.y_train, data.y_val, data.y_test))
    assert load_images(TrainConfig(image_size=16)).x_val.shape[1:] == (3, 16, 16)


def test_same_seed_same_numbers_and_dead_net_predicts_one_class(tmp_path):
    config = TrainConfig(data=str(small_npz(tmp_path / "d.npz")), C=4, N=1, epochs=2)
    a, b = train_network(GOOD, config), train_network(GOOD, config)
    assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    assert 0 <= a["val_acc"] <= 100 and a["seconds"] > 0
    other = train_network(GOOD, TrainConfig(data=config.data, C=4, N=1, epochs=2, seed=1))
    assert other["train_loss"] != a["train_loss"]
    # a net whose output does not depend on its input predicts one class for every image:
    # its accuracy is that class's share of the split (hand-computable from the labels)
    dead = train_network(DEAD, config)
    data = load_images(config)
    shares = {100.0 * np.mean(data.y_val == k) for k in range(data.classes)}
    assert any(math.isclose(dead["val_acc"], s) for s in shares)


def test_npz_with_given_splits_and_folder_of_images(tmp_path):
    from PIL import Image

    x = np.random.default_rng(0).integers(0, 256, size=(30, 6, 6, 3), dtype=np.uint8)
    y = np.arange(30) % 3
    np.savez(tmp_path / "s.npz", x=x, y=y, x_val=x[:9], y_val=y[:9], x_test=x[:6], y_test=y[:6])
    data = load_images(TrainConfig(data=str(tmp_path / "s.npz")))
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (30, 9, 6)  # splits used as given
    root = tmp_path / "images"
    for name, value in (("cat", 40), ("dog", 220)):
        (root / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((10, 12, 3), value + i, np.uint8)).save(root / name / f"{i}.png")
    config = TrainConfig(data=str(root), C=4, epochs=1, image_size=8, val_fraction=0.34, test_fraction=0.33)
    data = load_images(config)
    assert data.classes == 2 and data.x_train.shape[1:] == (3, 8, 8)
    assert train_outcome(GOOD, config)["error"] == ""


@pytest.mark.parametrize("make, message", [
    (lambda p: np.savez(p / "b.npz", x=np.zeros((4, 8, 8), np.float32), y=np.zeros(4)), "uint8"),
    (lambda p: np.savez(p / "b.npz", images=np.zeros((4, 8, 8, 1), np.uint8)), "needs arrays 'x'"),
])
def test_bad_npz_is_one_clear_error(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(ValueError, match=message):
        load_images(TrainConfig(data=str(tmp_path / "b.npz")))


def test_diverging_loss_is_a_recorded_failure(tmp_path):
    out = train_outcome(GOOD, TrainConfig(data=str(small_npz(tmp_path / "d.npz")), C=4, lr=1e30, epochs=3))
    assert math.isnan(out["val_acc"]) and "loss became" in out["error"]


def test_graf_train_labels_resume_and_evaluate(tmp_path, capsys):
    data = small_npz(tmp_path / "d.npz", n_per_class=8)
    archs = tmp_path / "archs.txt"
    nets = [GOOD, DEAD, "(0, 0, 0, 0, 0, 0)", "(3, 3, 3, 3, 3, 3)", "(4, 2, 0, 1, 3, 0)", "(2, 2, 2, 2, 2, 2)"]
    archs.write_text("\n".join(nets) + "\n")
    out = tmp_path / "labels.parquet"
    cmd = ["train", "--archs", str(archs), "--train-data", str(data), "--channels", "4", "--out", str(out), "--json",
           "--no-progress", "-q"]
    assert main(cmd) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rows"] == 6 and summary["trained"] == 6
    table = pd.read_parquet(out)
    assert list(table.columns) == ["val_acc", "test_acc", "train_loss", "seconds", "error"]
    assert table.index.name == "arch" and (table["error"] == "").all()
    assert main(cmd) == 2  # exists, no --overwrite
    capsys.readouterr()

    # a run killed after 3 nets (and in the middle of the 4th line) resumes and trains only the other 3
    from graf.search.runner import checkpoint_path

    out2 = tmp_path / "again.parquet"
    assert main(cmd[:-4] + [str(out2), "--json", "--no-progress", "-q"]) == 0
    capsys.readouterr()
    ckpt = checkpoint_path(out2)
    header = json.dumps({"graf_train_checkpoint": 1, "run": _train_run_id(nets, data)}, separators=(",", ":"))
    lines = [header] + [json.dumps({"seed": 0, "n": i + 1, "asks": i + 1, "arch": a, "outcome": {
        "target": float(r.val_acc), "test": float(r.test_acc), "seconds": float(r.seconds), "error": "",
        "train_loss": float(r.train_loss)}}) for i, (a, r) in enumerate(table.iloc[:3].iterrows())]
    ckpt.write_text("\n".join(lines) + "\n" + lines[1][:20])
    out2.unlink()
    assert main(cmd[:-4] + [str(out2), "--resume", "--json", "--no-progress", "-q"]) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (resumed["resumed"], resumed["trained"]) == (3, 3)
    assert not ckpt.exists()
    again = pd.read_parquet(out2)
    pd.testing.assert_frame_equal(again.drop(columns="seconds"), table.drop(columns="seconds"))

    # the label table as the target of graf evaluate
    assert main(["evaluate", "--labels", str(out), "--inputs", "graf", "--train-sizes", "3", "--seeds", "2",
                 "--json", "-q", "--no-progress"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["target"] == "val_acc" and res["nets"] == 6 and res["target_source"] == str(out)
    assert main(["evaluate", "--labels", str(out), "--target", "nope", "--inputs", "graf", "--json", "-q"]) == 2
    assert "no numeric column 'nope'" in capsys.readouterr().err


def _train_run_id(nets, data):
    import hashlib

    from graf.spaces import get_space

    space = get_space("nb201")
    archs = [str(space.parse(a)) for a in nets]
    config = TrainConfig(data=str(Path(data).resolve()), C=4).identity() | {"device": None}
    return {"config": config, "archs": len(archs), "archs_sha256": hashlib.sha256("\n".join(archs).encode()).hexdigest()}


def test_graf_explain_takes_a_label_table(tmp_path, capsys):
    from graf.data import get_benchmark
    from graf.spaces import get_space

    # a label table in graf train's layout whose values are NB201's 12-epoch CIFAR-10 accuracies (real labels)
    space = get_space("nb201")
    nets = [str(a) for a in space.valid_archs()[:24]]
    bench = get_benchmark(space).table().loc[nets]
    labels = pd.DataFrame({"val_acc": bench["cifar10_valid_12ep"].astype(float), "test_acc": bench["cifar10_test"],
                           "train_loss": 0.0, "seconds": 1.0, "error": ""}, index=pd.Index(nets, name="arch"))
    labels.loc[nets[0], ["val_acc", "error"]] = [np.nan, "RuntimeError: out of memory"]  # a failed training
    labels.to_parquet(tmp_path / "labels.parquet")
    assert main(["explain", "--labels", str(tmp_path / "labels.parquet"), "--inputs", "graf", "--train-size", "10",
                 "--shap-backend", "shap", "--out", str(tmp_path / "explain"), "--json", "-q", "--no-progress"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["target"] == "val_acc" and res["n_test"] == 13  # 23 nets with a value, 10 to train on
