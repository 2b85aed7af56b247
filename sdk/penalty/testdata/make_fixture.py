#!/usr/bin/python3
"""Writes fixture.json: a small critic with the layer types of f-AnoGAN's
WGAN-GP critic, and PyTorch's values and weight gradients of the WGAN-GP
penalty and of R1, both by double backpropagation
(torch.autograd.grad(..., create_graph=True)).

Run with Debian's python3 (torch 1.13, CPU):

    /usr/bin/python3 make_fixture.py

The critic, for 1x8x8 inputs (batch 4):

    conv1 3x3 pad 1, 1->4, bias; LeakyReLU(0.2); LayerNorm((4, 8, 8)); mean pool 2x2
    conv2 3x3 pad 1, 4->8, bias; LeakyReLU(0.2); LayerNorm((8, 4, 4)); mean pool 2x2
    linear 32->1, bias

Weights and inputs are float32 values; the reference gradients are computed
in float64 (keys without suffix) and in float32 (suffix _f32). Values are
written with 17 significant digits. Seeds whose inputs put a pre-activation
within 1e-5 of a LeakyReLU kink (relative to its layer's largest) are
skipped, so that float32 and float64 see the same activation pattern.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
N = 4
LAMBDA = 10.0
GAMMA = 10.0
NAMES = ["conv1.w", "conv1.b", "ln1.g", "ln1.b", "conv2.w", "conv2.b", "ln2.g", "ln2.b", "fc.w", "fc.b"]


def tensor(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": [float("%.17g" % v) for v in t.view(-1).tolist()]}


def critic(p, x, pre=None):
    z = F.conv2d(x, p["conv1.w"], p["conv1.b"], padding=1)
    if pre is not None:
        pre.append(z)
    h = F.layer_norm(F.leaky_relu(z, 0.2), (4, 8, 8), p["ln1.g"], p["ln1.b"], eps=1e-5)
    h = F.avg_pool2d(h, 2)
    z = F.conv2d(h, p["conv2.w"], p["conv2.b"], padding=1)
    if pre is not None:
        pre.append(z)
    h = F.layer_norm(F.leaky_relu(z, 0.2), (8, 4, 4), p["ln2.g"], p["ln2.b"], eps=1e-5)
    h = F.avg_pool2d(h, 2)
    return F.linear(h.flatten(1), p["fc.w"], p["fc.b"]).view(-1)


def grads(out, params):
    gs = torch.autograd.grad(out, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(gs, params)]


def references(p32, real, fake, alpha, dtype):
    p = {k: v.to(dtype).requires_grad_(True) for k, v in p32.items()}
    params = [p[k] for k in NAMES]
    real, fake, alpha = real.to(dtype), fake.to(dtype), alpha.to(dtype)
    out = {}
    # WGAN-GP (Gulrajani et al. 2017, Eq. 3).
    xh = (alpha.view(-1, 1, 1, 1) * real + (1 - alpha.view(-1, 1, 1, 1)) * fake).requires_grad_(True)
    d = critic(p, xh)
    gx, = torch.autograd.grad(d.sum(), xh, create_graph=True)
    gp = LAMBDA * ((gx.flatten(1).norm(dim=1) - 1) ** 2).mean()
    out["xhat"], out["d_xhat"], out["gx_xhat"] = xh, d, gx
    out["gp"], out["gp_grads"] = gp, grads(gp, params)
    # R1 (Mescheder et al. 2018, Eq. 9), batch mean.
    xr = real.clone().requires_grad_(True)
    gr, = torch.autograd.grad(critic(p, xr).sum(), xr, create_graph=True)
    r1 = GAMMA / 2 * (gr.flatten(1).norm(dim=1) ** 2).mean()
    out["r1"], out["r1_grads"] = r1, grads(r1, params)
    # The critic's WGAN loss, mean D(fake) - mean D(real), and its sum with
    # the penalty: what one critic step of Algorithm 1 differentiates.
    loss = critic(p, fake).mean() - critic(p, real).mean()
    out["loss_grads"] = grads(loss, params)
    return out


def kink_margin(p, xs):
    m = float("inf")
    for x in xs:
        pre = []
        critic(p, x.double(), pre)
        for z in pre:
            m = min(m, (z.abs().min() / z.abs().max()).item())
    return m


def draw(seed):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, sc: torch.randn(*s, generator=g) * sc
    p = {
        "conv1.w": r(4, 1, 3, 3, sc=0.5), "conv1.b": r(4, sc=0.1),
        "ln1.g": 1 + r(4, 8, 8, sc=0.1), "ln1.b": r(4, 8, 8, sc=0.1),
        "conv2.w": r(8, 4, 3, 3, sc=0.3), "conv2.b": r(8, sc=0.1),
        "ln2.g": 1 + r(8, 4, 4, sc=0.1), "ln2.b": r(8, 4, 4, sc=0.1),
        "fc.w": r(1, 32, sc=0.3), "fc.b": r(1, sc=0.1),
    }
    real = torch.tanh(r(N, 1, 8, 8, sc=1.0))
    fake = torch.tanh(r(N, 1, 8, 8, sc=1.0))
    alpha = torch.rand(N, generator=g)
    return p, real, fake, alpha


seed = 20171231  # WGAN-GP's NeurIPS year
while True:
    p, real, fake, alpha = draw(seed)
    xh = alpha.view(-1, 1, 1, 1) * real + (1 - alpha.view(-1, 1, 1, 1)) * fake
    pd = {k: v.double() for k, v in p.items()}
    if kink_margin(pd, [xh, real, fake]) > 1e-5:
        break
    seed += 1

r64 = references(p, real, fake, alpha, torch.float64)
r32 = references(p, real, fake, alpha, torch.float32)
fx = {
    "meta": {"torch": torch.__version__, "seed": seed, "lambda": LAMBDA, "gamma": GAMMA, "n": N,
             "note": "written by make_fixture.py; *_grads are lists in the order of params"},
    "params": [{"name": k, **tensor(p[k])} for k in NAMES],
    "real": tensor(real), "fake": tensor(fake), "alpha": tensor(alpha),
}
for k, v in r64.items():
    fx[k] = [tensor(t) for t in v] if isinstance(v, list) else tensor(v)
for k in ["gp", "gp_grads", "r1", "r1_grads"]:
    v = r32[k]
    fx[k + "_f32"] = [tensor(t) for t in v] if isinstance(v, list) else tensor(v)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.json")
with open(path, "w") as f:
    json.dump(fx, f, separators=(",", ":"))
    f.write("\n")
print(path, os.path.getsize(path), "bytes, seed", seed, "gp", r64["gp"].item(), "r1", r64["r1"].item())
