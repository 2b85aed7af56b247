#!/usr/bin/python3
"""Writes fixture.json: one critic step of package jointenc computed by
PyTorch in float64, for the Go tests (fixture_test.go).

Run with Debian's python3 (torch 1.13, CPU):

    /usr/bin/python3 make_fixture.py

The critic is jointenc's D for 28x28 images at width 2 (channels 8, 4, 2
at 7, 14, 28 pixels), in the fade-in to 14x14 at alpha = 0.3, batch 8
(two groups of the minibatch standard deviation), with the equalised
learning rate: the stored weights w are leaves, the network runs on
w * gain / sqrt(fan_in). It writes the stored weights (biases random, to
check their gradients), the real and fake batches, the interpolation
weights, and:

  - loss: -mean D(real) + mean D(fake) + drift * mean D(real)^2, each
    batch with its own coupled statistic, and its gradient;
  - penalty_frozen: lambda * mean (|grad_x D(xh)| - 1)^2 with the minibatch
    statistic of xh detached (what the Go critic computes), its value and
    weight gradient by torch.autograd.grad(..., create_graph=True);
  - penalty_coupled: the same differentiating through the statistic (the
    authors' TensorFlow code);
  - adam: the stored weights after one Adam step (lr 1e-3, betas 0, 0.99)
    on loss + penalty_frozen.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(19051103)
torch.set_num_threads(1)
DT = torch.float64
SLOPE, GROUP, LAMBDA, DRIFT = 0.2, 4, 10.0, 0.001
W, SIZE, N, ALPHA = 2, 28, 8, 0.3
LEVELS = [7, 14, 28]
CH = [W * min(2 ** (len(LEVELS) - 1 - k), 8) for k in range(len(LEVELS))]
K = 1  # the fade-in to 14x14


def shapes():
    s = []
    for k in range(len(LEVELS)):
        s.append(("D.from.%d" % k, (CH[k], 1, 1, 1), math.sqrt(2)))
    for k in range(1, len(LEVELS)):
        s.append(("D.down.%d.conv1" % k, (CH[k], CH[k], 3, 3), math.sqrt(2)))
        s.append(("D.down.%d.conv2" % k, (CH[k - 1], CH[k], 3, 3), math.sqrt(2)))
    c0, s0 = CH[0], LEVELS[0]
    s.append(("D.out.conv", (c0, c0 + 1, 3, 3), math.sqrt(2)))
    s.append(("D.out.dense", (c0, c0 * s0 * s0), math.sqrt(2)))
    s.append(("D.out.score", (1, c0), 1.0))
    return s


SHAPES = shapes()
raw = {}
scale = {}
for name, shape, gain in SHAPES:
    fan_in = 1
    for d in shape[1:]:
        fan_in *= d
    raw[name + ".weight"] = torch.randn(*shape, dtype=torch.float32).to(DT)
    raw[name + ".bias"] = (0.1 * torch.randn(shape[0], dtype=torch.float32)).to(DT)
    scale[name + ".weight"] = float(torch.tensor(gain / math.sqrt(fan_in), dtype=torch.float32))
    scale[name + ".bias"] = 1.0


def conv(p, x, name, act=True):
    w = p[name + ".weight"] * scale[name + ".weight"]
    y = F.conv2d(x, w, p[name + ".bias"], padding=w.shape[2] // 2)
    return F.leaky_relu(y, SLOPE) if act else y


def mbstd_stat(h):
    n, c, hh, ww = h.shape
    g = min(GROUP, n)
    y = h.reshape(g, n // g, c, hh, ww)
    y = y - y.mean(dim=0, keepdim=True)
    y = torch.sqrt((y * y).mean(dim=0) + 1e-8)
    return y.mean(dim=[1, 2, 3]).repeat(g)


def critic(p, x, detach_stat):
    h = conv(p, x, "D.from.%d" % K)
    h = conv(p, h, "D.down.%d.conv1" % K)
    h = conv(p, h, "D.down.%d.conv2" % K)
    h = F.avg_pool2d(h, 2)
    old = conv(p, F.avg_pool2d(x, 2), "D.from.%d" % (K - 1))
    h = (1 - ALPHA) * old + ALPHA * h
    s = mbstd_stat(h)
    if detach_stat:
        s = s.detach()
    n, _, hh, ww = h.shape
    h = torch.cat([h, s.view(n, 1, 1, 1).expand(n, 1, hh, ww)], dim=1)
    h = conv(p, h, "D.out.conv")
    h = F.leaky_relu(F.linear(h.flatten(1), p["D.out.dense.weight"] * scale["D.out.dense.weight"], p["D.out.dense.bias"]), SLOPE)
    h = F.linear(h, p["D.out.score.weight"] * scale["D.out.score.weight"], p["D.out.score.bias"])
    return h.view(-1)


def leaves():
    return {k: v.clone().requires_grad_(True) for k, v in raw.items()}


NAMES = list(raw.keys())
r = LEVELS[K]
real = torch.rand(N, 1, r, r, dtype=torch.float32).to(DT) * 2 - 1
fake = (0.5 * torch.randn(N, 1, r, r, dtype=torch.float32)).to(DT)
mix = torch.rand(N, dtype=torch.float32).to(DT)
xh = (mix.view(N, 1, 1, 1) * real + (1 - mix.view(N, 1, 1, 1)) * fake).to(torch.float32).to(DT)


def loss_grad():
    p = leaves()
    dr, df = critic(p, real, False), critic(p, fake, False)
    loss = -dr.mean() + df.mean() + DRIFT * (dr * dr).mean()
    g = torch.autograd.grad(loss, [p[k] for k in NAMES], allow_unused=True)
    g = [torch.zeros_like(p[k]) if v is None else v for k, v in zip(NAMES, g)]
    return loss, dict(zip(NAMES, g)), dr, df


def penalty(detach_stat):
    p = leaves()
    x = xh.clone().requires_grad_(True)
    d = critic(p, x, detach_stat)
    (gx,) = torch.autograd.grad(d.sum(), x, create_graph=True)
    norms = gx.flatten(1).norm(dim=1)
    pen = LAMBDA * ((norms - 1) ** 2).mean()
    g = torch.autograd.grad(pen, [p[k] for k in NAMES], allow_unused=True)
    g = [torch.zeros_like(p[k]) if v is None else v for k, v in zip(NAMES, g)]
    return pen, dict(zip(NAMES, g)), d, gx


loss, lg, dr, df = loss_grad()
pf, pg_f, d_xh, gx_f = penalty(True)
pc, pg_c, _, gx_c = penalty(False)

# One Adam step (beta1 = 0, beta2 = 0.99, eps 1e-8, t = 1) on loss + frozen penalty.
LR, B2, EPS = 1e-3, 0.99, 1e-8
after = {}
for k in NAMES:
    g = (lg[k] + pg_f[k]).to(torch.float32).to(DT)
    v = (1 - B2) * g * g
    after[k] = raw[k] - LR * g / (torch.sqrt(v / (1 - B2)) + EPS)


def tensor(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": [float("%.17g" % v) for v in t.view(-1).tolist()]}


def tensors(d):
    return {k: tensor(v) for k, v in d.items()}


def rel(a, b):
    num = sum(float(((a[k] - b[k]) ** 2).sum()) for k in NAMES)
    den = sum(float((b[k] ** 2).sum()) for k in NAMES)
    return math.sqrt(num / den)


out = {
    "meta": {"torch": torch.__version__, "script": os.path.basename(__file__),
             "size": SIZE, "width": W, "level": K, "fade_alpha": ALPHA, "n": N,
             "lambda": LAMBDA, "drift": DRIFT, "lr": LR, "beta1": 0.0, "beta2": B2},
    "weights": tensors(raw),
    "real": tensor(real), "fake": tensor(fake), "mix": tensor(mix), "xh": tensor(xh),
    "d_real": tensor(dr), "d_fake": tensor(df), "d_xh": tensor(d_xh),
    "loss": float(loss), "loss_grad": tensors(lg),
    "penalty_frozen": float(pf), "penalty_frozen_grad": tensors(pg_f), "gx_frozen": tensor(gx_f),
    "penalty_coupled": float(pc), "penalty_coupled_grad": tensors(pg_c), "gx_coupled": tensor(gx_c),
    "coupled_vs_frozen": {"penalty": abs(float(pc) - float(pf)) / abs(float(pc)),
                          "grad": rel(pg_f, pg_c),
                          "input_grad": float((gx_c - gx_f).norm() / gx_c.norm())},
    "adam_after": tensors(after),
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(path, os.path.getsize(path), "bytes; coupled vs frozen:", out["coupled_vs_frozen"])
