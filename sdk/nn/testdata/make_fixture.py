#!/usr/bin/python3
"""Writes fixture.json: PyTorch's outputs and gradients for the layers of
package nn, on small fixed random inputs.

Run with Debian's python3 (torch 1.13, CPU):

    /usr/bin/python3 make_fixture.py

Every case holds its inputs, a fixed random R of the output's shape, the
output, and the gradients of sum(out * R) with respect to every input.
Values are float32, written with 9 significant digits (exact round trip).
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20170317)  # AnoGAN's arXiv date
torch.set_num_threads(1)


def tensor(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.view(-1).tolist()]}


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def away_from_zero(pre, margin=0.05):
    """Moves values of pre at least margin away from 0 (the kinks)."""
    sign = torch.where(pre >= 0, torch.ones_like(pre), -torch.ones_like(pre))
    return torch.where(pre.abs() < margin, pre + sign * margin, pre)


def case(name, op, params, inputs, fn, extra=None):
    """inputs: list of (name, tensor); fn(*tensors) -> output."""
    leaves = [(n, t.clone().requires_grad_(True)) for n, t in inputs]
    out = fn(*[t for _, t in leaves])
    r = randn(*out.shape)
    (out * r).sum().backward()
    c = {
        "name": name,
        "op": op,
        "params": params,
        "inputs": {n: tensor(t) for n, t in inputs},
        "R": tensor(r),
        "out": tensor(out),
        "grads": {n: tensor(t.grad) for n, t in leaves},
    }
    if extra:
        c["extra"] = {k: tensor(v) if torch.is_tensor(v) else v for k, v in extra().items()}
    return c


cases = []

# Conv2d: the discriminator's 5x5 stride-2 layer and a 3x3 stride-1 one.
for k, s, p, xs, co in [(5, 2, 2, (2, 3, 8, 8), 4), (3, 1, 1, (2, 3, 6, 5), 4)]:
    x, w = randn(*xs), randn(co, xs[1], k, k) * 0.2
    cases.append(case(f"conv2d_k{k}s{s}p{p}", "conv2d", {"stride": s, "pad": p},
                      [("x", x), ("w", w)],
                      lambda x, w, s=s, p=p: F.conv2d(x, w, stride=s, padding=p)))

# ConvTranspose2d: the generator's 5x5 stride-2 layer (output padding 1)
# and the common 4x4 stride-2 padding-1 one.
for k, s, p, op, xs, co in [(5, 2, 2, 1, (2, 4, 4, 4), 3), (4, 2, 1, 0, (2, 4, 3, 4), 3)]:
    x, w = randn(*xs), randn(xs[1], co, k, k) * 0.2
    cases.append(case(f"conv_transpose2d_k{k}s{s}p{p}op{op}", "conv_transpose2d",
                      {"stride": s, "pad": p, "out_pad": op},
                      [("x", x), ("w", w)],
                      lambda x, w, s=s, p=p, op=op: F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op)))

x, w = randn(3, 7), randn(5, 7)
cases.append(case("linear", "linear", {}, [("x", x), ("w", w)], lambda x, w: F.linear(x, w)))

# BatchNorm, training: the output and the running statistics after one step.
for name, xs in [("batchnorm_train", (4, 3, 3, 3)), ("batchnorm_train_2d", (6, 4))]:
    c = xs[1]
    x = randn(*xs) * 1.5 + 0.7
    gamma, beta = randn(c) * 0.5 + 1, randn(c) * 0.5
    rm0, rv0 = randn(c) * 0.3, torch.rand(c) + 0.5
    rm, rv = rm0.clone(), rv0.clone()
    cc = case(name, "batchnorm", {"train": True, "momentum": 0.1, "eps": 1e-5},
              [("x", x), ("gamma", gamma), ("beta", beta)],
              lambda x, g, b, rm=rm, rv=rv: F.batch_norm(x, rm, rv, g, b, training=True, momentum=0.1, eps=1e-5),
              extra=lambda rm0=rm0, rv0=rv0, rm=rm, rv=rv: {
                  "running_mean_before": rm0, "running_var_before": rv0,
                  "running_mean": rm, "running_var": rv})
    cases.append(cc)

x = randn(2, 3, 3, 3) + 0.3
gamma, beta = randn(3) * 0.5 + 1, randn(3) * 0.5
rm, rv = randn(3) * 0.3, torch.rand(3) + 0.5
cases.append(case("batchnorm_eval", "batchnorm", {"train": False, "momentum": 0.1, "eps": 1e-5},
                  [("x", x), ("gamma", gamma), ("beta", beta)],
                  lambda x, g, b: F.batch_norm(x, rm, rv, g, b, training=False, eps=1e-5),
                  extra=lambda: {"running_mean_before": rm, "running_var_before": rv,
                                 "running_mean": rm, "running_var": rv}))

acts = {
    "identity": lambda v: v,
    "relu": F.relu,
    "leaky_relu": lambda v: F.leaky_relu(v, 0.2),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
}
for act, f in acts.items():
    b = randn(3)
    x = away_from_zero(randn(2, 3, 2, 2) + b.view(1, -1, 1, 1)) - b.view(1, -1, 1, 1)
    cases.append(case(f"biasact_{act}", "biasact", {"act": act, "alpha": 0.2},
                      [("x", x), ("b", b)],
                      lambda x, b, f=f: f(x + b.view(1, -1, 1, 1))))

z = randn(5, 1) * 3
cases.append(case("bce_with_logits", "bce_with_logits", {"target": 0.7}, [("logits", z)],
                  lambda z: F.binary_cross_entropy_with_logits(z, torch.full_like(z, 0.7), reduction="none").view(-1)))

a = randn(3, 1, 4, 4)
b = a - away_from_zero(randn(3, 1, 4, 4))
cases.append(case("abs_diff_sum", "abs_diff_sum", {}, [("a", a), ("b", b)],
                  lambda a, b: (a - b).abs().sum(dim=(1, 2, 3))))

meta = {"torch": torch.__version__, "seed": 20170317,
        "note": "written by make_fixture.py; gradients are of sum(out * R)"}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.json")
with open(path, "w") as f:
    json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print(path, os.path.getsize(path), "bytes,", len(cases), "cases")
