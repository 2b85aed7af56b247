#!/usr/bin/python3
"""Writes fixture_stylegan2.json: PyTorch's outputs and gradients for the
layers of package nn that StyleGAN2's generator and discriminator need
(fir.go: UpFIRDn2d; modconv.go: Modulate, Demodulate, AddNoise, Repeat,
StyleMix, Pick, SwapIO) and for whole modulated convolutions, on small fixed random
inputs, in the format of make_fixture.py.

Run with Debian's python3 (torch 1.13, CPU):

    /usr/bin/python3 make_fixture_stylegan2.py

Every case holds its inputs, a fixed random R of the output's shape, the
output, and the gradients of sum(out * R) with respect to the inputs that
have one. The resampling is written here from its definition in Karras et
al. 2020 (App. B) and their code's description of upfirdn2d: insert zeros,
pad, convolve with the flipped-over 2-D filter f x f, keep every down-th
pixel. The modulated convolutions are computed the way that code fuses
them (per-sample weights w * s, demodulated, one grouped convolution), and
the upsampling one as a transposed convolution of stride 2 followed by the
[1, 3, 3, 1] filter; the Go side composes them from the separate layers.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20191203)  # StyleGAN2's arXiv date
torch.set_num_threads(1)


def tensor(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float("%.9g" % v) for v in t.view(-1).tolist()]}


def case(name, op, params, inputs, fn, grads=None):
    leaves = [(n, t.clone().requires_grad_(n in (grads if grads is not None else [m for m, _ in inputs])))
              for n, t in inputs]
    out = fn(*[t for _, t in leaves])
    r = torch.randn(*out.shape)
    (out * r).sum().backward()
    return {
        "name": name, "op": op, "params": params,
        "inputs": {n: tensor(t) for n, t in inputs},
        "R": tensor(r), "out": tensor(out),
        "grads": {n: tensor(t.grad) for n, t in leaves if t.requires_grad},
    }


def fir(gain):
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    return f / f.sum() * gain ** 0.5


def upfirdn2d(x, f, up, down, pad0, pad1):
    n, c, h, w = x.shape
    x = x.reshape(n, c, h, 1, w, 1)
    x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
    x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [pad0, pad1, pad0, pad1])
    f2 = torch.outer(f, f).flip([0, 1])
    x = F.conv2d(x, f2.view(1, 1, *f2.shape).repeat(c, 1, 1, 1), groups=c)
    return x[:, :, ::down, ::down]


def demod(s, w, gain, eps=1e-8):
    ww = w.unsqueeze(0) * s.view(s.shape[0], 1, -1, 1, 1)
    return gain * (ww.square().sum(dim=[2, 3, 4]) + eps).rsqrt()


def modconv_fused(x, w, s, gain):
    """Modulated 3x3 convolution (padding 1) as one grouped convolution."""
    n, ci, h, ww = x.shape
    wm = w.unsqueeze(0) * s.view(n, 1, -1, 1, 1)
    wm = wm * demod(s, w, gain).view(n, -1, 1, 1, 1)
    y = F.conv2d(x.reshape(1, -1, h, ww), wm.reshape(-1, ci, *w.shape[2:]), padding=1, groups=n)
    return y.reshape(n, -1, h, ww)


def modconv_up_fused(x, w, s, gain):
    """The upsampling one: a transposed convolution of stride 2 with the
    per-sample weights (w [O, I, k, k] transposed to [I, O, k, k], not
    flipped, as the reference does), then the [1, 3, 3, 1] filter with
    padding 1, gain 4."""
    n, ci, h, ww = x.shape
    wm = w.unsqueeze(0) * s.view(n, 1, -1, 1, 1)
    wm = wm * demod(s, w, gain).view(n, -1, 1, 1, 1)
    wm = wm.transpose(1, 2).reshape(-1, w.shape[0], *w.shape[2:])  # [n*ci, co, k, k]
    y = F.conv_transpose2d(x.reshape(1, -1, h, ww), wm, stride=2, groups=n)
    y = y.reshape(n, -1, *y.shape[2:])
    return upfirdn2d(y, fir(4), 1, 1, 1, 1)


cases = []
for shape, (up, down, p0, p1), gain in [
        ((2, 3, 4, 4), (2, 1, 2, 1), 4),   # upsample2d
        ((2, 2, 3, 3), (2, 1, 3, 2), 4),   # before an upsampling 3x3 convolution
        ((2, 3, 6, 6), (1, 1, 2, 2), 1),   # the blur before a stride-2 3x3 convolution
        ((2, 2, 6, 6), (1, 2, 1, 1), 1),   # the stride-2 1x1 shortcut
        ((1, 2, 5, 7), (2, 3, 1, 0), 2)]:  # odd sizes, another factor
    x = torch.randn(*shape)
    cases.append(case("upfirdn2d %s up%d down%d p%d,%d" % (shape, up, down, p0, p1), "upfirdn2d",
                      {"up": up, "down": down, "pad0": p0, "pad1": p1, "gain": gain}, [("x", x)],
                      lambda x, up=up, down=down, p0=p0, p1=p1, gain=gain: upfirdn2d(x, fir(gain), up, down, p0, p1)))
x, s = torch.randn(3, 4, 2, 3), torch.randn(3, 4)
cases.append(case("modulate 4-d", "modulate", {}, [("x", x), ("s", s)], lambda x, s: x * s.view(3, 4, 1, 1)))
x, s = torch.randn(3, 5), torch.randn(3, 5)
cases.append(case("modulate 2-d", "modulate", {}, [("x", x), ("s", s)], lambda x, s: x * s))
s, w = torch.randn(3, 4), torch.randn(5, 4, 3, 3)
cases.append(case("demodulate", "demodulate", {"gain": 2 ** 0.5, "eps": 1e-8}, [("s", s), ("w", w)],
                  lambda s, w: demod(s, w, 2 ** 0.5)))
x, noise, st = torch.randn(2, 3, 4, 4), torch.randn(2, 1, 4, 4), torch.randn(1)
cases.append(case("add_noise", "add_noise", {}, [("x", x), ("noise", noise), ("strength", st)],
                  lambda x, noise, st: x + st * noise, grads=["x", "strength"]))
x = torch.randn(3, 2, 2)
cases.append(case("repeat", "repeat", {"n": 4}, [("x", x)], lambda x: x.unsqueeze(0).repeat(4, 1, 1, 1)))
a, b, cut = torch.randn(3, 4), torch.randn(3, 4), torch.tensor([2.0])


def style_mix(a, b, cut, layers=5):
    ws = a.unsqueeze(1).repeat(1, layers, 1)
    c = int(cut.item())
    return torch.cat([ws[:, :c], b.unsqueeze(1).repeat(1, layers - c, 1)], dim=1)


cases.append(case("style_mix", "style_mix", {"layers": 5}, [("a", a), ("b", b), ("cut", cut)], style_mix,
                  grads=["a", "b"]))
w = torch.randn(3, 2, 2, 2)
cases.append(case("swap_io", "swap_io", {}, [("w", w)], lambda w: w.transpose(0, 1)))
x = torch.randn(3, 5, 4)
cases.append(case("pick", "pick", {"layer": 3}, [("x", x)], lambda x: x[:, 3]))
x, w, s = torch.randn(2, 3, 5, 5), torch.randn(4, 3, 3, 3), torch.randn(2, 3)
cases.append(case("modconv", "modconv", {"gain": 2 ** 0.5}, [("x", x), ("w", w), ("s", s)],
                  lambda x, w, s: modconv_fused(x, w, s, 2 ** 0.5)))
x, w, s = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 3, 3), torch.randn(2, 3)
cases.append(case("modconv up", "modconv_up", {"gain": 2 ** 0.5}, [("x", x), ("w", w), ("s", s)],
                  lambda x, w, s: modconv_up_fused(x, w, s, 2 ** 0.5)))

meta = {"torch": torch.__version__, "script": os.path.basename(__file__)}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture_stylegan2.json"), "w") as f:
    json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
