#!/usr/bin/python3
"""Writes fixture.json: PyTorch's values and gradients for package dpa's autoencoder at every
growing phase, with fade-in, and its relative perceptual L1 loss, for the package's tests.

Regenerate from the repository root with Debian's python3 (torch 1.13, CPU):

    /usr/bin/python3 sdk/dpa/testdata/make_fixture.py

The networks are written here from the description in sdk/dpa/model.go (the authors' layout:
pre-activation residual blocks with LeakyReLU 0.2 and no normalisation, 2x2 average pooling,
nearest upsampling, a linear code) with package dpa's parameter names, and computed in float64.
Two cases, S = 28 (levels 7, 14, 28; growing from 7) and S = 32 (levels 4, 8, 16, 32; growing
from 8), both with width W = 2, code Z = 3, N = 2 images and a feature trunk of width 2 (VGG19's
layout, channels 2, 2, 4, 4, 8, 8). Weights ~ N(0, 0.3^2), biases ~ N(0, 0.1^2), images ~ U(-1, 1)
of S x S, shrunk to each phase's resolution by 2x2 mean pooling.

Layout: {"cases": [case, ...]}; a case: size, width, latent, features_width, params {name:
{shape, data}}, features {name: {shape, data}}, x (N x S x S), phases [{level, res, fade, alpha,
layer, recon (N x res x res), loss [N], grads {name: data} for every parameter the phase uses}].
"""
import json
import os

import torch
import torch.nn.functional as F

SLOPE = 0.2
MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=torch.float64).reshape(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225], dtype=torch.float64).reshape(1, 3, 1, 1)
VGG = [(0, 1, False), (2, 1, False), (5, 2, True), (7, 2, False), (10, 4, True), (12, 4, False)]
LAYERS = {"relu1_2": 2, "relu2_2": 4, "relu3_2": 6}


def levels(size):
    s0 = 7 if size == 28 else 4
    out = []
    s = s0
    while s <= size:
        out.append(s)
        s *= 2
    return out


def make_params(size, width, latent, g):
    lv = levels(size)
    start = 0 if size == 28 else 1
    ch = [width * min(2 ** (len(lv) - 1 - k), 8) for k in range(len(lv))]
    p = {}

    def conv(name, cout, cin, k):
        p[name + ".weight"] = torch.randn(cout, cin, k, k, generator=g, dtype=torch.float64) * 0.3
        p[name + ".bias"] = torch.randn(cout, generator=g, dtype=torch.float64) * 0.1

    def block(name, cin, cout):
        conv(name + ".conv1", cout, cin, 3)
        conv(name + ".conv2", cout, cout, 3)
        if cin != cout:
            conv(name + ".shortcut", cout, cin, 1)

    for k in range(start, len(lv)):
        conv("E.from.%d.conv" % k, ch[k], 1, 3)
        block("E.from.%d.block" % k, ch[k], ch[k])
    for k in range(1, len(lv)):
        block("E.down.%d" % k, ch[k], ch[k - 1])
    flat = ch[0] * lv[0] * lv[0]
    p["E.out.weight"] = torch.randn(latent, flat, generator=g, dtype=torch.float64) * 0.3
    p["E.out.bias"] = torch.randn(latent, generator=g, dtype=torch.float64) * 0.1
    p["G.in.weight"] = torch.randn(flat, latent, generator=g, dtype=torch.float64) * 0.3
    p["G.in.bias"] = torch.randn(flat, generator=g, dtype=torch.float64) * 0.1
    for k in range(1, len(lv)):
        block("G.up.%d" % k, ch[k - 1], ch[k])
    for k in range(start, len(lv)):
        conv("G.to.%d" % k, 1, ch[k], 3)
    # Round to float32 so that Go starts from the same values.
    return {k: v.float().double().requires_grad_(True) for k, v in p.items()}, lv, ch, start


def lrelu(x):
    return F.leaky_relu(x, SLOPE)


def convb(p, name, x, pad):
    return F.conv2d(x, p[name + ".weight"], p[name + ".bias"], padding=pad)


def block(p, name, x, rs):
    h = lrelu(x)
    sc = x
    if rs == "down":
        h, sc = F.avg_pool2d(h, 2), F.avg_pool2d(x, 2)
    elif rs == "up":
        h, sc = F.interpolate(h, scale_factor=2, mode="nearest"), F.interpolate(x, scale_factor=2, mode="nearest")
    h = lrelu(convb(p, name + ".conv1", h, 1))
    h = convb(p, name + ".conv2", h, 1)
    if name + ".shortcut.weight" in p:
        sc = convb(p, name + ".shortcut", sc, 0)
    return h + sc


def from_grey(p, x, k):
    return block(p, "E.from.%d.block" % k, convb(p, "E.from.%d.conv" % k, x, 1), "keep")


def encode(p, x, k, alpha):
    h = from_grey(p, x, k)
    if alpha is not None:
        h = block(p, "E.down.%d" % k, h, "down")
        old = from_grey(p, F.avg_pool2d(x, 2), k - 1)
        h = (1 - alpha) * old + alpha * h
        k -= 1
    for j in range(k, 0, -1):
        h = block(p, "E.down.%d" % j, h, "down")
    h = lrelu(h).flatten(1)
    return F.linear(h, p["E.out.weight"], p["E.out.bias"])


def decode(p, z, k, alpha, lv, ch):
    h = F.linear(lrelu(z), p["G.in.weight"], p["G.in.bias"]).reshape(z.shape[0], ch[0], lv[0], lv[0])
    top = k - 1 if alpha is not None else k
    for j in range(1, top + 1):
        h = block(p, "G.up.%d" % j, h, "up")

    def to_grey(h, j):
        return convb(p, "G.to.%d" % j, lrelu(h), 1)

    if alpha is None:
        return to_grey(h, k)
    old = F.interpolate(to_grey(h, k - 1), scale_factor=2, mode="nearest")
    new = to_grey(block(p, "G.up.%d" % k, h, "up"), k)
    return (1 - alpha) * old + alpha * new


def features(fp, x, layer):
    h = (x.expand(-1, 3, -1, -1) * 0.5 + 0.5 - MEAN) / STD
    for idx, _, pool in VGG[: LAYERS[layer]]:
        if pool:
            h = F.max_pool2d(h, 2)
        h = F.relu(F.conv2d(h, fp["features.%d.weight" % idx], fp["features.%d.bias" % idx], padding=1))
    return h


def rel_loss(fp, x, xr, layer):
    fx, fr = features(fp, x, layer), features(fp, xr, layer)
    den = fx.abs().mean((1, 2, 3)).detach() + 1e-8
    return (fx - fr).abs().mean((1, 2, 3)) / den


def layer_at(res):
    return "relu1_2" if res <= 8 else "relu2_2" if res <= 16 else "relu3_2"


def r9(u):
    return float("%.9g" % float(u))


def rec(t):
    return {"shape": list(t.shape), "data": [r9(v) for v in t.detach().flatten()]}


def case(size, seed):
    g = torch.Generator().manual_seed(seed)
    width, latent, fw, n = 2, 3, 2, 2
    p, lv, ch, start = make_params(size, width, latent, g)
    fp = {}
    cin = 3
    for idx, mult, _ in VGG:
        cout = fw * mult
        fp["features.%d.weight" % idx] = (torch.randn(cout, cin, 3, 3, generator=g, dtype=torch.float64) * (2 / (9 * cin)) ** 0.5).float().double()
        fp["features.%d.bias" % idx] = (torch.randn(cout, generator=g, dtype=torch.float64) * 0.1).float().double()
        cin = cout
    x = (torch.rand(n, 1, size, size, generator=g, dtype=torch.float64) * 2 - 1).float().double()
    phases = []
    alphas = iter([0.3, 0.7, 0.5])
    for k in range(start, len(lv)):
        for fade in ([False] if k == start else [True, False]):
            alpha = next(alphas) if fade else None
            res = lv[k]
            xs = x
            while xs.shape[-1] > res:
                xs = F.avg_pool2d(xs, 2)
            xr = decode(p, encode(p, xs, k, alpha), k, alpha, lv, ch)
            layer = layer_at(res)
            l = rel_loss(fp, xs, xr, layer)
            for v in p.values():
                v.grad = None
            l.mean().backward()
            grads = {name: [r9(u) for u in v.grad.flatten()] for name, v in p.items() if v.grad is not None}
            phases.append({"level": k, "res": res, "fade": fade, "alpha": alpha if fade else 1.0, "layer": layer,
                           "recon": [r9(u) for u in xr.detach().flatten()], "loss": [r9(u) for u in l.detach()],
                           "grads": grads})
    return {"size": size, "width": width, "latent": latent, "features_width": fw,
            "params": {k: rec(v) for k, v in p.items()}, "features": {k: rec(v) for k, v in fp.items()},
            "x": [r9(u) for u in x.flatten()], "phases": phases}


def main():
    out = {"cases": [case(28, 1), case(32, 2)]}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
