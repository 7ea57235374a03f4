"""The four original proxies as their public implementations compute them: the speed reference.

A stand-alone process (like ``graf proxies`` it imports torch, builds each net, computes,
writes a table), re-implementing each proxy the way its public code does, so that
``bench_proxies.py speed --public`` can time both whole processes on the same nets in one run:

* naswot (Mellor et al., ICML'21, their repository): a forward hook on every ``nn.ReLU``
  turns its input into a float 0/1 code matrix c and adds ``c cᵀ + (1 - c)(1 - c)ᵀ`` to K,
  through NumPy; score ``numpy.linalg.slogdet(K)``.
* synflow (Abdelfattah et al., ICLR'21, foresight / NASLib): a copy of the net without
  BatchNorm, every parameter replaced by its absolute value, in float64; one forward of an
  all-ones input, backward of the summed output; score ``Σ |θ ⊙ ∂R/∂θ|`` over conv and linear
  weights.
* jacov (foresight / NASLib): the input gradient of the summed outputs; score
  ``-Σ log(v + k) + 1 / (v + k)`` over the eigenvalues v of ``numpy.corrcoef`` of the rows,
  k = 1e-5.
* ntk (TE-NAS, Chen et al., ICLR'21): for each of 3 Kaiming-normal (fan_out) inits, a
  training-mode forward of 32 samples and **one backward pass per sample** (``retain_graph``),
  the gradients of every ``weight`` parameter concatenated into a row of J; ``Θ = J Jᵀ``,
  κ = λ_max / λ_min by ``torch.linalg.eigvalsh``; the mean over the inits.

The later proxies, each as its authors' or NASLib's code computes it (``--proxies``; the same
seeds, sample counts and repeats as ``graf proxies`` so that the work is the same):

* snip, grad_norm, plain (NASLib): one cross-entropy backward of the batch through the
  training-mode net; Σ|θ ⊙ g|, Σ_layers ‖g‖, Σ θ ⊙ g over conv and linear weights (snip's
  weight-mask trick gives the same gradient).
* fisher (NASLib): an identity hook after every conv / linear layer keeps its output a and
  ∂L/∂a; per channel ½·mean_n(Σ_hw a·δ)², broadcast to the layer's weights and summed.
* grasp (NASLib): the gradient g with ``create_graph``, then the backward of g·stop(g), and
  Σ −θ ⊙ (H g).
* l2_norm: Σ_layers ‖θ‖.
* epe_nas (NASLib): the input Jacobian, ``numpy.corrcoef`` per class, Σ_c |Σ log(|C| + k)|.
* zen (NASLib): Gaussian init, two training-mode forward passes on Gaussian inputs, log of the
  mean absolute change of the pre-pooling features plus Σ log √mean(running_var).
* zico (authors): two half batches, ``backward`` accumulated, per layer log Σ mean|g| / std g.
* meco (authors): forward hooks on every module, the smallest eigenvalue
  (``torch.linalg.eig``) of each output's channel correlation matrix, one sample.
* swap (authors): hooks on ReLUs, signs of their outputs, unique rows of the units x samples
  matrix (``torch.unique``), mean over the Gaussian inits.
* linear_regions (TE-NAS's LinearRegionCount): the thin net and crops of ``graf proxies``;
  binary codes of every ReLU, the Hamming-distance matrix by two matrix products, and the
  count Σ_i 1 / #{j: codes_j = codes_i}.

The nets, weights and batch are the project's (:func:`proxies.network.build_network`,
:func:`proxies.batch.cifar10_batch`), so the values are comparable with ``graf proxies``
(the ranks agree; the bits do not, e.g. float32 against float64 kernels).

    python benchmarks/public_proxies.py --archs FILE --out table.csv [--batch-size 64] [--seed 0]
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from proxies.batch import cifar10_batch  # noqa: E402
from proxies.network import build_network  # noqa: E402

NAMES = ("naswot", "synflow", "jacov", "ntk")
LATER = ("snip", "grad_norm", "plain", "fisher", "grasp", "l2_norm", "epe_nas", "zen", "zico", "meco", "swap",
         "linear_regions")


def _weights(net: nn.Module) -> list[nn.Parameter]:
    return [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _loss_grads(net: nn.Module, x: torch.Tensor, y: torch.Tensor, create_graph: bool = False):
    net.train()
    net.zero_grad()
    loss = nn.functional.cross_entropy(net(torch.Tensor(x)), y)
    return torch.autograd.grad(loss, _weights(net), create_graph=create_graph, allow_unused=True)


def snip_gradnorm_plain(net: nn.Module, x, y) -> dict:
    g = _loss_grads(net, x, y)
    w = _weights(net)
    return {"snip": float(sum(torch.sum(torch.abs(a * b)) for a, b in zip(w, g) if b is not None)),
            "grad_norm": float(sum(b.norm() for b in g if b is not None)),
            "plain": float(sum(torch.sum(a * b) for a, b in zip(w, g) if b is not None))}


def fisher(net: nn.Module, x, y) -> float:
    acts = []

    def hook(module, inputs, output):
        output.retain_grad()
        acts.append((module, output))

    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        net.train()
        net.zero_grad()
        nn.functional.cross_entropy(net(torch.Tensor(x)), y).backward()
    finally:
        for h in handles:
            h.remove()
    total = 0.0
    for m, a in acts:
        if a.grad is None:
            continue
        g = (a * a.grad).sum(dim=(2, 3)) if a.dim() == 4 else a * a.grad
        per = 0.5 * g.pow(2).mean(0)
        total += float(torch.sum(per.abs() * (m.weight[0].numel())))
    return total


def grasp(net: nn.Module, x, y) -> float:
    w = _weights(net)
    g0 = [t.detach() if t is not None else None for t in _loss_grads(net, x, y)]
    g = _loss_grads(net, x, y, create_graph=True)
    z = sum(torch.sum(a * b) for a, b in zip(g, g0) if a is not None)
    hg = torch.autograd.grad(z, w, allow_unused=True)
    return float(sum(torch.sum(-a.detach() * b) for a, b in zip(w, hg) if b is not None))


def l2_norm(net: nn.Module) -> float:
    return float(sum(t.norm() for t in _weights(net)))


def epe_nas(net: nn.Module, x, y) -> float:
    net.train()
    xi = torch.Tensor(x).detach().clone().requires_grad_(True)
    out = net(xi)
    out.backward(torch.ones_like(out))
    jac = xi.grad.detach().reshape(xi.shape[0], -1).numpy()
    labels = y.numpy()
    total = 0.0
    for c in np.unique(labels):
        rows = jac[labels == c]
        corr = np.corrcoef(rows) if len(rows) > 1 else np.ones((1, 1))
        total += abs(float(np.sum(np.log(np.abs(corr) + 1e-5))))
    return total


def zen(net: nn.Module, x, seed: int) -> float:
    net = copy.deepcopy(net)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.normal_(generator=g)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()
    feats = []
    pool = next(m for m in net.modules() if isinstance(m, nn.AdaptiveAvgPool2d))
    h = pool.register_forward_hook(lambda m, i, o: feats.append(i[0]))
    try:
        net.train()
        a = torch.randn(x.shape, generator=g)
        b = torch.randn(x.shape, generator=g)
        with torch.no_grad():
            net(a)
            net(a + 0.01 * b)
    finally:
        h.remove()
    delta = torch.sum(torch.abs(feats[0] - feats[1]), dim=[1, 2, 3]).mean()
    bn = sum(float(torch.log(torch.sqrt(torch.mean(m.running_var)))) for m in net.modules()
             if isinstance(m, nn.BatchNorm2d))
    return float(torch.log(delta)) + bn


def zico(net: nn.Module, x, y) -> float:
    net.train()
    net.zero_grad()
    grads: dict[str, list[np.ndarray]] = {}
    cut = x.shape[0] // 2
    for a, b in ((0, cut), (cut, x.shape[0])):
        nn.functional.cross_entropy(net(torch.Tensor(x[a:b])), y[a:b]).backward()
        for name, m in net.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None:
                grads.setdefault(name, []).append(m.weight.grad.detach().reshape(-1).numpy().copy())
    total = 0.0
    for gs in grads.values():
        g = np.stack(gs)
        sd = g.std(axis=0)
        keep = sd != 0
        s = np.sum(np.mean(np.abs(g), axis=0)[keep] / sd[keep])
        if s != 0:
            total += float(np.log(s))
    return total


def meco(net: nn.Module, x) -> float:
    values = []

    def hook(module, inputs, output):
        if not isinstance(output, torch.Tensor) or output.dim() != 4:
            return
        f = output[0].reshape(output.shape[1], -1).detach()
        corr = torch.nan_to_num(torch.corrcoef(f), nan=0.0, posinf=0.0, neginf=0.0)
        values.append(float(torch.min(torch.real(torch.linalg.eig(corr)[0]))))

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    try:
        net.train()
        with torch.no_grad():
            net(torch.Tensor(x[:1]))
    finally:
        for h in handles:
            h.remove()
    return float(np.sum(values))


def swap(arch: str, x, seed: int, samples: int = 16, inits: int = 2) -> float:
    counts = []
    for i in range(inits):
        net = build_network(arch, seed=seed * 1000 + i)
        g = torch.Generator().manual_seed(seed * 1000 + i)
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    m.weight.normal_(generator=g)
        codes = []
        handles = [m.register_forward_hook(lambda m, i, o: codes.append(torch.sign(o.detach()).reshape(o.shape[0], -1)))
                   for m in net.modules() if isinstance(m, nn.ReLU)]
        try:
            net.train()
            with torch.no_grad():
                net(torch.Tensor(x[:samples]))
        finally:
            for h in handles:
                h.remove()
        counts.append(torch.unique(torch.cat(codes, dim=1).T, dim=0).shape[0])
    return float(np.mean(counts))


def linear_regions(arch: str, x, seed: int) -> float:
    from proxies.linear_regions import LR_INITS, crop_inputs, thin_network
    from proxies.network import init_default

    inputs = crop_inputs(torch.Tensor(x), seed)
    counts = []
    for i in range(LR_INITS):
        net = thin_network(arch)
        init_default(net, torch.Generator().manual_seed(seed * 1000 + i))
        codes = []
        handles = [m.register_forward_hook(lambda m, a, o: codes.append((o.detach() > 0).reshape(o.shape[0], -1).float()))
                   for m in net.modules() if isinstance(m, nn.ReLU)]
        rows = []
        try:
            net.train()
            with torch.no_grad():
                for batch in inputs:
                    codes.clear()
                    net(batch)
                    rows.append(torch.cat(codes, dim=1))
        finally:
            for h in handles:
                h.remove()
        c = torch.cat(rows)
        dist = c @ (1 - c).T + (1 - c) @ c.T  # Hamming distances
        same = (dist == 0).sum(dim=1).float()
        counts.append(float(torch.sum(1.0 / same)))
    return float(np.mean(counts))


def later(name: str, arch: str, x, seed: int) -> float:
    net = build_network(arch, seed=seed)
    y = x.labels
    if name in ("snip", "grad_norm", "plain"):
        return snip_gradnorm_plain(net, x, y)[name]
    return {"fisher": lambda: fisher(net, x, y), "grasp": lambda: grasp(net, x, y), "l2_norm": lambda: l2_norm(net),
            "epe_nas": lambda: epe_nas(net, x, y), "zen": lambda: zen(net, x, seed), "zico": lambda: zico(net, x, y),
            "meco": lambda: meco(net, x), "swap": lambda: swap(arch, x, seed),
            "linear_regions": lambda: linear_regions(arch, x, seed)}[name]()


def naswot(net: nn.Module, x: torch.Tensor) -> float:
    n = x.shape[0]
    K = np.zeros((n, n))

    def hook(module, inputs, output):
        c = (inputs[0].view(n, -1) > 0).float()
        nonlocal K
        K = K + (c @ c.t()).numpy() + ((1.0 - c) @ (1.0 - c).t()).numpy()

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        net.train()
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    return float(np.linalg.slogdet(K)[1])


def synflow(net: nn.Module, x: torch.Tensor) -> float:
    net = copy.deepcopy(net)
    for name, m in list(net.named_modules()):
        for child, sub in list(m.named_children()):
            if isinstance(sub, nn.BatchNorm2d):
                setattr(m, child, nn.Identity())
    with torch.no_grad():
        for p in net.state_dict().values():
            p.abs_()
    net = net.double()
    net.zero_grad()
    out = net(torch.ones((1, *x.shape[1:]), dtype=torch.float64))
    torch.sum(out).backward()
    total = 0.0
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None:
            total += float(torch.sum(torch.abs(m.weight.detach() * m.weight.grad)))
    return total


def jacov(net: nn.Module, x: torch.Tensor) -> float:
    net.train()
    net.zero_grad()
    x = torch.Tensor(x).detach().clone().requires_grad_(True)
    y = net(x)
    y.backward(torch.ones_like(y))
    jac = x.grad.detach().reshape(x.shape[0], -1).numpy()
    v, _ = np.linalg.eig(np.corrcoef(jac))
    k = 1e-5
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)).real)


def ntk(arch: str, x: torch.Tensor, seed: int) -> float:
    x = x[:32]
    conds = []
    for r in range(3):
        net = build_network(arch, seed=seed * 1000 + r, init="kaiming_normal")
        net.train()
        net.zero_grad()
        logits = net(x)
        grads = []
        for i in range(x.shape[0]):
            logits[i:i + 1].backward(torch.ones_like(logits[i:i + 1]), retain_graph=True)
            grads.append(torch.cat([p.grad.view(-1).detach() for n, p in net.named_parameters()
                                    if "weight" in n and p.grad is not None]))
            net.zero_grad()
        J = torch.stack(grads)
        eig = torch.linalg.eigvalsh(J @ J.t())
        conds.append(float(eig[-1] / eig[0]))
    return float(np.mean(conds))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", required=True, help="NB201 arch strings, one a line")
    p.add_argument("--out", required=True, help="CSV table (index arch, one column per proxy)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--proxies", default=",".join(NAMES), help=f"the four (default), or any of {', '.join(LATER)}")
    args = p.parse_args(argv)
    archs = [a.strip() for a in Path(args.archs).read_text().splitlines() if a.strip()]
    x = cifar10_batch(args.batch_size, args.seed, args.data_dir)
    names = args.proxies.split(",")
    rows = []
    for a in archs:
        row = {"arch": a}
        if set(names) & set(NAMES):
            net = build_network(a, seed=args.seed)
            four = {"naswot": lambda: naswot(net, x), "synflow": lambda: synflow(net, x),
                    "jacov": lambda: jacov(net, x), "ntk": lambda: ntk(a, x, args.seed)}
        for n in names:
            row[n] = four[n]() if n in NAMES else later(n, a, x, args.seed)
        rows.append(row)
    import pandas as pd

    pd.DataFrame(rows).set_index("arch").to_csv(args.out)


if __name__ == "__main__":
    main()
