#!/usr/bin/python3
"""Writes fixture_fanogan.json: PyTorch's outputs and gradients for the
layers of package nn that f-AnoGAN's ResNet adds (Upsample2x, MeanPool2,
SquaredDiffSum and SquaredDiffMean, LayerNorm, the two residual blocks), on
small fixed random inputs, in the format of make_fixture.py.

Run with Debian's python3 (torch 1.13, CPU):

    /usr/bin/python3 make_fixture_fanogan.py

Every case holds its inputs, a fixed random R of the output's shape, the
output, and the gradients of sum(out * R) with respect to every input.
Values are float32, written with 9 significant digits (exact round trip).
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20190101)
torch.set_num_threads(1)


def tensor(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.view(-1).tolist()]}


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float32)


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
        c["extra"] = {k: tensor(v) for k, v in extra().items()}
    return c


cases = []

x = randn(2, 3, 3, 4)
cases.append(case("upsample2x", "upsample2x", {}, [("x", x)],
                  lambda x: F.interpolate(x, scale_factor=2, mode="nearest")))

x = randn(2, 3, 4, 6)
cases.append(case("meanpool2", "meanpool2", {}, [("x", x)], lambda x: F.avg_pool2d(x, 2)))

a, b = randn(3, 2, 3, 3), randn(3, 2, 3, 3)
cases.append(case("squared_diff_sum", "squared_diff_sum", {}, [("a", a), ("b", b)],
                  lambda a, b: ((a - b) ** 2).sum(dim=(1, 2, 3))))
cases.append(case("squared_diff_mean", "squared_diff_mean", {}, [("a", a), ("b", b)],
                  lambda a, b: ((a - b) ** 2).flatten(1).mean(1)))



def per_channel(g):
    return g.view(1, -1, 1, 1) if g.dim() == 1 else g


# LayerNorm over (C, H, W) of each sample: per-channel gamma and beta
# (WGAN-GP's critic, f-AnoGAN) and per-value ones (torch.nn.LayerNorm).
for name, xs, ps, act in [("layernorm_channel", (2, 3, 3, 4), (3,), None),
                          ("layernorm_elem", (2, 3, 3, 4), (3, 3, 4), None),
                          ("layernorm_channel_relu", (3, 4, 2, 2), (4,), "relu"),
                          ("layernorm_elem_leaky_relu", (2, 2, 3, 3), (2, 3, 3), "leaky_relu"),
                          ("layernorm_2d", (3, 5), (5,), None)]:
    x = randn(*xs) * 1.5 + 0.7
    gamma, beta = randn(*ps) * 0.5 + 1, randn(*ps) * 0.5
    f = {None: lambda v: v, "relu": F.relu, "leaky_relu": lambda v: F.leaky_relu(v, 0.2)}[act]

    def ln(x, g, b, f=f):
        if g.shape == x.shape[1:]:
            return f(F.layer_norm(x, x.shape[1:], g, b, eps=1e-5))
        return f(F.layer_norm(x, x.shape[1:], eps=1e-5) * per_channel(g) + per_channel(b))
    cases.append(case(name, "layernorm", {"eps": 1e-5, "act": act or "identity", "alpha": 0.2},
                      [("x", x), ("gamma", gamma), ("beta", beta)], ln))



# The residual blocks, written in the order of WGAN-GP's code (upsample
# before the shortcut's convolution, the second convolution's bias before
# pooling), which ResBlockUp and ResBlockDown rearrange.
def up2(v):
    return F.interpolate(v, scale_factor=2, mode="nearest")


for name, train in [("resblock_up_train", True), ("resblock_up_eval", False)]:
    n, ci, co, hw = 2, 4, 3, 3
    x = randn(n, ci, hw, hw)
    prm = [("x", x),
           ("bn1.gamma", randn(ci) * 0.3 + 1), ("bn1.beta", randn(ci) * 0.3),
           ("w1", randn(co, ci, 3, 3) * 0.3),
           ("bn2.gamma", randn(co) * 0.3 + 1), ("bn2.beta", randn(co) * 0.3),
           ("w2", randn(co, co, 3, 3) * 0.3), ("b2", randn(co) * 0.3),
           ("ws", randn(co, ci, 1, 1) * 0.5), ("bs", randn(co) * 0.3)]
    rs = {k: (randn(c) * 0.3, torch.rand(c) + 0.5) for k, c in [("bn1", ci), ("bn2", co)]}
    run = {k: (m.clone(), v.clone()) for k, (m, v) in rs.items()}

    def up_block(x, g1, be1, w1, g2, be2, w2, b2, ws, bs, train=train, run=run):
        def bn(v, k, g, b):
            return F.batch_norm(v, run[k][0], run[k][1], g, b, training=train, momentum=0.1, eps=1e-5)
        h = F.conv2d(up2(F.relu(bn(x, "bn1", g1, be1))), w1, padding=1)
        h = F.conv2d(F.relu(bn(h, "bn2", g2, be2)), w2, b2, padding=1)
        return h + F.conv2d(up2(x), ws, bs)

    def extra(rs=rs, run=run):
        e = {}
        for k in rs:
            e[k + ".running_mean_before"], e[k + ".running_var_before"] = rs[k]
            e[k + ".running_mean"], e[k + ".running_var"] = run[k]
        return e
    cases.append(case(name, "resblock_up", {"train": train, "momentum": 0.1, "eps": 1e-5}, prm, up_block, extra))

for name, per_value in [("resblock_down_channel", False), ("resblock_down_value", True)]:
    n, ci, cm, co, hw = 2, 3, 3, 4, 4
    x = randn(n, ci, hw, hw) * 1.5 + 0.3
    ps1, ps2 = ((ci, hw, hw), (cm, hw, hw)) if per_value else ((ci,), (cm,))
    prm = [("x", x),
           ("ln1.gamma", randn(*ps1) * 0.3 + 1), ("ln1.beta", randn(*ps1) * 0.3),
           ("w1", randn(cm, ci, 3, 3) * 0.3), ("b1", randn(cm) * 0.3),
           ("ln2.gamma", randn(*ps2) * 0.3 + 1), ("ln2.beta", randn(*ps2) * 0.3),
           ("w2", randn(co, cm, 3, 3) * 0.3), ("b2", randn(co) * 0.3),
           ("ws", randn(co, ci, 1, 1) * 0.5), ("bs", randn(co) * 0.3)]

    def down_block(x, g1, be1, w1, b1, g2, be2, w2, b2, ws, bs):
        def ln(v, g, b):
            if g.shape == v.shape[1:]:
                return F.layer_norm(v, v.shape[1:], g, b, eps=1e-5)
            return F.layer_norm(v, v.shape[1:], eps=1e-5) * per_channel(g) + per_channel(b)
        h = F.conv2d(F.relu(ln(x, g1, be1)), w1, b1, padding=1)
        h = F.avg_pool2d(F.conv2d(F.relu(ln(h, g2, be2)), w2, b2, padding=1), 2)
        return h + F.conv2d(F.avg_pool2d(x, 2), ws, bs)
    cases.append(case(name, "resblock_down", {"eps": 1e-5}, prm, down_block))

meta = {"torch": torch.__version__, "seed": 20190101,
        "note": "written by make_fixture_fanogan.py; gradients are of sum(out * R)"}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture_fanogan.json")
with open(path, "w") as f:
    json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print(path, os.path.getsize(path), "bytes,", len(cases), "cases")
