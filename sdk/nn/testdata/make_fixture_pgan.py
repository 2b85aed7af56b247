#!/usr/bin/python3
"""Writes fixture_pgan.json: PyTorch's outputs and gradients for the layers
of package nn that the progressive-growing GAN of package jointenc adds
(PixelNorm, MinibatchStd coupled and with the statistic held constant,
AppendChannel), on small fixed random inputs, in the format of
make_fixture.py.

Run with Debian's python3 (torch 1.13, CPU):

    /usr/bin/python3 make_fixture_pgan.py

Every case holds its inputs, a fixed random R of the output's shape, the
output, and the gradients of sum(out * R) with respect to every input.
The layers are written here from Karras et al. 2018 (Eq. 2 and Sec. 3),
with the grouping of the minibatch standard deviation of their code.
"""
import json
import os

import torch

torch.manual_seed(20180430)
torch.set_num_threads(1)


def tensor(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.view(-1).tolist()]}


def case(name, op, params, inputs, fn, grads=None):
    leaves = [(n, t.clone().requires_grad_(True)) for n, t in inputs]
    out = fn(*[t for _, t in leaves])
    r = torch.randn(*out.shape)
    (out * r).sum().backward()
    want = grads if grads is not None else [n for n, _ in inputs]
    return {
        "name": name, "op": op, "params": params,
        "inputs": {n: tensor(t) for n, t in inputs},
        "R": tensor(r), "out": tensor(out),
        "grads": {n: tensor(t.grad) for n, t in leaves if n in want},
    }


def pixel_norm(x, eps=1e-8):
    return x / torch.sqrt((x * x).mean(dim=1, keepdim=True) + eps)


def mbstd_stat(x, group):
    n, c, h, w = x.shape
    g = min(group, n)
    y = x.reshape(g, n // g, c, h, w)
    y = y - y.mean(dim=0, keepdim=True)
    y = torch.sqrt((y * y).mean(dim=0) + 1e-8)
    s = y.mean(dim=[1, 2, 3])          # [M]
    return s.repeat(g)                  # sample g*M + m gets s[m]


def mbstd(x, group, frozen=False):
    s = mbstd_stat(x, group)
    if frozen:
        s = s.detach()
    n, c, h, w = x.shape
    return torch.cat([x, s.view(n, 1, 1, 1).expand(n, 1, h, w)], dim=1)


def append_channel(x, s):
    n, c, h, w = x.shape
    return torch.cat([x, s.view(n, 1, 1, 1).expand(n, 1, h, w)], dim=1)


cases = []
for shape in [(3, 5), (2, 4, 3, 3)]:
    x = torch.randn(*shape)
    cases.append(case("pixelnorm %s" % (shape,), "pixelnorm", {"eps": 1e-8}, [("x", x)], pixel_norm))
for n, group in [(8, 4), (4, 4), (6, 2), (3, 4)]:
    x = torch.randn(n, 3, 2, 2)
    cases.append(case("mbstd n%d g%d" % (n, group), "mbstd", {"group": group, "frozen": False}, [("x", x)],
                      lambda x, group=group: mbstd(x, group)))
x = torch.randn(8, 3, 2, 2)
cases.append(case("mbstd frozen", "mbstd", {"group": 4, "frozen": True}, [("x", x)],
                  lambda x: mbstd(x, 4, frozen=True)))
x, s = torch.randn(4, 2, 3, 3), torch.rand(4)
cases.append(case("append_channel", "append_channel", {}, [("x", x), ("s", s)], append_channel, grads=["x"]))

meta = {"torch": torch.__version__, "script": os.path.basename(__file__)}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture_pgan.json"), "w") as f:
    json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
