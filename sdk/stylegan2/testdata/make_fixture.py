#!/usr/bin/python3
"""Writes fixture.json: StyleGAN2's G and D as package stylegan2 builds
them, computed by PyTorch in float64 the way the reference code computes
them, for the Go tests (fixture_test.go).

Run with Debian's python3 (torch 1.13, CPU):

    /usr/bin/python3 make_fixture.py

Three models, at 28, 32 and 64 pixels, width 2 (channels 2, 4, 8, 8 ...:
MaxChannels 8), z and w of 8, two mapping layers, batch 4. Nothing random
is stored: every weight and input is drawn from a generator that the Go
test reproduces bit for bit (splitmix64 seeded by the FNV-1a hash of
"<size>/<name>", the sum of four 24-bit uniforms, centred and scaled to
unit variance, in float64, then offset + scale times it rounded to
float32). The stored weights are what Go's optimisers see; the networks
use them with the reference's gains (networks.py: FullyConnectedLayer's
lr_multiplier / sqrt(fan_in) and bias gain, Conv2dLayer's 1 / sqrt(fan_in),
bias_act's gain sqrt(2) after every LeakyReLU(0.2), the resnet block's
sqrt(1/2), ToRGBLayer's weight gain on the styles), written here from that
description independently of the Go code, which folds the gains into its
constants.

The modulated convolutions are computed as the reference fuses them: per
sample weights w * s, demodulated by rsqrt(sum (w s)^2 + 1e-8), one grouped
convolution; the one that upsamples as a transposed convolution of stride
2 (the weight [O, I, 3, 3] transposed, not flipped) followed by the
[1, 3, 3, 1] filter (upfirdn2d, padding 1, gain 4). D's downsampling is the reference's: the filter with padding 2
then a stride-2 3x3 convolution, the filter with padding 1 and stride 2
before the 1x1 shortcut. The noise inputs are added times their strength
after demodulation, before the bias.

Written for each size:

  - w1, w2 = mapping(z1), mapping(z2); img = synthesis(ws) with ws the
    style mix of w1 and w2 at the cutoff and the given noise (28, 32 only);
  - d_fake = D(img), d_real = D(real), with the coupled minibatch statistic;
  - loss_g = mean softplus(-D(img)) and its gradient to G's weights;
  - loss_d = mean softplus(D(img)) + mean softplus(-D(real)) (img detached)
    and its gradient to D's weights;
  - r1 = gamma/2 * mean |grad_x D(real)|^2 with the minibatch statistic
    detached, and its weight gradient by create_graph=True;
  - r1_aug: the same for D(A(x)), A = a horizontal flip of the images in
    aug_flip plus a brightness offset aug_shift per image;
  - r1_coupled: R1 differentiating through the statistic (the reference),
    its value and the relative difference of its weight gradient;
  - synth: sum(Synthesis(ws0) * R) with zero noise and its gradient to ws0
    (the encoder's path: weights frozen).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
DT = torch.float64
SQRT2 = math.sqrt(2)
N, WIDTH, MAXC, ZDIM, WDIM, LAYERS, CUT, GAMMA = 4, 2, 8, 8, 8, 2, 3, 0.5
AUG_FLIP = [1, 3]
AUG_SHIFT = [0.1, -0.2, 0.05, 0.3]
MASK = (1 << 64) - 1


def fnv1a(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h ^= b
        h = (h * 0x100000001b3) & MASK
    return h


def gen(key, n, scale=1.0, offset=0.0):
    """n float32 values offset + scale * g, g ~ unit variance, reproducible in Go."""
    state = fnv1a(key)
    out = []
    for _ in range(n):
        s = 0.0
        for _ in range(4):
            state = (state + 0x9e3779b97f4a7c15) & MASK
            z = state
            z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK
            z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK
            z ^= z >> 31
            s += (z >> 40) / 16777216.0
        g = (s - 2.0) * math.sqrt(3.0)
        out.append(offset + scale * g)
    return torch.tensor(out, dtype=torch.float32).to(DT)


class Cfg:
    def __init__(self, size):
        self.size = size
        r0 = 7 if size == 28 else 4
        self.res = []
        r = r0
        while r <= size:
            self.res.append(r)
            r *= 2
        self.num_ws = 2 * len(self.res)

    def ch(self, r):
        return min(WIDTH * self.size // r, MAXC)


def shapes(cfg):
    """G's and D's parameters (name, shape, scale, offset), in Go's order."""
    g, d = [], []
    fan = ZDIM
    for i in range(LAYERS):
        g.append(("G.mapping.fc%d.weight" % i, (WDIM, fan), 100.0, 0.0))
        g.append(("G.mapping.fc%d.bias" % i, (WDIM,), 10.0, 0.0))
        fan = WDIM
    rs = cfg.res
    g.append(("G.synthesis.b%d.const" % rs[0], (cfg.ch(rs[0]), rs[0], rs[0]), 1.0, 0.0))
    for k, r in enumerate(rs):
        pre = "G.synthesis.b%d." % r
        convs = [("conv1", cfg.ch(r))] if k == 0 else [("conv0", cfg.ch(rs[k - 1])), ("conv1", cfg.ch(r))]
        for name, cin in convs:
            g.append((pre + name + ".affine.weight", (cin, WDIM), 1.0, 0.0))
            g.append((pre + name + ".affine.bias", (cin,), 0.1, 1.0))
            g.append((pre + name + ".weight", (cfg.ch(r), cin, 3, 3), 1.0, 0.0))
            g.append((pre + name + ".noise_strength", (1,), 0.1, 0.0))
            g.append((pre + name + ".bias", (cfg.ch(r),), 0.1, 0.0))
        g.append((pre + "torgb.affine.weight", (cfg.ch(r), WDIM), 1.0, 0.0))
        g.append((pre + "torgb.affine.bias", (cfg.ch(r),), 0.1, 1.0))
        g.append((pre + "torgb.weight", (1, cfg.ch(r), 1, 1), 1.0, 0.0))
        g.append((pre + "torgb.bias", (1,), 0.1, 0.0))
    top = cfg.size
    d.append(("D.b%d.fromrgb.weight" % top, (cfg.ch(top), 1, 1, 1), 1.0, 0.0))
    d.append(("D.b%d.fromrgb.bias" % top, (cfg.ch(top),), 0.1, 0.0))
    for k in range(len(rs) - 1, 0, -1):
        pre = "D.b%d." % rs[k]
        c, co = cfg.ch(rs[k]), cfg.ch(rs[k - 1])
        d.append((pre + "conv0.weight", (c, c, 3, 3), 1.0, 0.0))
        d.append((pre + "conv0.bias", (c,), 0.1, 0.0))
        d.append((pre + "conv1.weight", (co, c, 3, 3), 1.0, 0.0))
        d.append((pre + "conv1.bias", (co,), 0.1, 0.0))
        d.append((pre + "skip.weight", (co, c, 1, 1), 1.0, 0.0))
    pre, c0, r0 = "D.b%d." % rs[0], cfg.ch(rs[0]), rs[0]
    d.append((pre + "conv.weight", (c0, c0 + 1, 3, 3), 1.0, 0.0))
    d.append((pre + "conv.bias", (c0,), 0.1, 0.0))
    d.append((pre + "fc.weight", (c0, c0 * r0 * r0), 1.0, 0.0))
    d.append((pre + "fc.bias", (c0,), 0.1, 0.0))
    d.append((pre + "out.weight", (1, c0), 1.0, 0.0))
    d.append((pre + "out.bias", (1,), 0.1, 0.0))
    return g, d


def weights(cfg, spec):
    out = {}
    for name, shape, scale, offset in spec:
        n = 1
        for s in shape:
            n *= s
        out[name] = gen("%d/%s" % (cfg.size, name), n, scale, offset).view(*shape).requires_grad_(True)
    return out


def fir(gain):
    f = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=DT)
    f = torch.outer(f, f)
    return f / f.sum() * gain


def upfirdn2d(x, f, up=1, down=1, pad=(0, 0)):
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    k = f.flip([0, 1]).view(1, 1, *f.shape).repeat(c, 1, 1, 1)
    x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down]


def lrelu(x, gain=SQRT2):
    return F.leaky_relu(x, 0.2) * gain


def fc(p, name, x, act, lr_mult=1.0):
    w = p[name + ".weight"] * (lr_mult / math.sqrt(x.shape[1]))
    y = F.linear(x, w, p[name + ".bias"] * lr_mult)
    return lrelu(y) if act else y


def mapping(p, z):
    x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
    for i in range(LAYERS):
        x = fc(p, "G.mapping.fc%d" % i, x, True, lr_mult=0.01)
    return x


def modconv(x, w, styles, demod, up):
    n, ci, h, ww = x.shape
    wm = w.unsqueeze(0) * styles.view(n, 1, -1, 1, 1)
    if demod:
        wm = wm * (wm.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().view(n, -1, 1, 1, 1)
    if not up:
        y = F.conv2d(x.reshape(1, -1, h, ww), wm.reshape(-1, ci, *w.shape[2:]), padding=w.shape[2] // 2, groups=n)
        return y.reshape(n, -1, h, ww)
    wt = wm.transpose(1, 2).reshape(-1, w.shape[0], *w.shape[2:])
    y = F.conv_transpose2d(x.reshape(1, -1, h, ww), wt, stride=2, groups=n)
    y = y.reshape(n, -1, *y.shape[2:])
    return upfirdn2d(y, fir(4), pad=(1, 1))


def synthesis(cfg, p, ws, noise):
    n = ws.shape[0]
    rs = cfg.res
    x = p["G.synthesis.b%d.const" % rs[0]].unsqueeze(0).repeat(n, 1, 1, 1)
    img, li = None, 0
    for k, r in enumerate(rs):
        pre = "G.synthesis.b%d." % r
        convs = [("conv1", False, 0)] if k == 0 else [("conv0", True, 2 * k - 1), ("conv1", False, 2 * k)]
        for name, up, wi in convs:
            styles = fc(p, pre + name + ".affine", ws[:, wi], False)
            x = modconv(x, p[pre + name + ".weight"], styles, True, up)
            if noise is not None:
                x = x + noise[li] * p[pre + name + ".noise_strength"]
            li += 1
            x = lrelu(x + p[pre + name + ".bias"].view(1, -1, 1, 1))
        styles = fc(p, pre + "torgb.affine", ws[:, 2 * k + 1], False) / math.sqrt(x.shape[1])
        y = modconv(x, p[pre + "torgb.weight"], styles, False, False) + p[pre + "torgb.bias"].view(1, -1, 1, 1)
        img = y if img is None else upfirdn2d(img, fir(4), up=2, pad=(2, 1)) + y
    return img


def conv_layer(p, name, x, act=True, down=False, bias=True, gain=1.0):
    w = p[name + ".weight"]
    w = w / math.sqrt(w[0].numel())
    if down and w.shape[2] == 1:
        x = F.conv2d(upfirdn2d(x, fir(1), down=2, pad=(1, 1)), w)
    elif down:
        x = F.conv2d(upfirdn2d(x, fir(1), pad=(2, 2)), w, stride=2)
    else:
        x = F.conv2d(x, w, padding=w.shape[2] // 2)
    if bias:
        x = x + p[name + ".bias"].view(1, -1, 1, 1)
    return lrelu(x, SQRT2 * gain) if act else x * gain


def mbstd_stat(x):
    n, c, h, w = x.shape
    g = min(4, n)
    y = x.reshape(g, -1, 1, c, h, w)
    y = y - y.mean(dim=0)
    y = (y.square().mean(dim=0) + 1e-8).sqrt()
    return y.mean(dim=[2, 3, 4]).reshape(-1).repeat(g)


def discriminator(cfg, p, x, detach_stat=False):
    rs = cfg.res
    h = conv_layer(p, "D.b%d.fromrgb" % cfg.size, x)
    for k in range(len(rs) - 1, 0, -1):
        pre = "D.b%d." % rs[k]
        y = conv_layer(p, pre + "skip", h, act=False, down=True, bias=False, gain=math.sqrt(0.5))
        h = conv_layer(p, pre + "conv0", h)
        h = conv_layer(p, pre + "conv1", h, down=True, gain=math.sqrt(0.5))
        h = y + h
    s = mbstd_stat(h)
    if detach_stat:
        s = s.detach()
    n, _, hh, ww = h.shape
    h = torch.cat([h, s.view(n, 1, 1, 1).expand(n, 1, hh, ww)], dim=1)
    pre = "D.b%d." % rs[0]
    h = conv_layer(p, pre + "conv", h)
    h = fc(p, pre + "fc", h.flatten(1), True)
    return fc(p, pre + "out", h, False).view(-1)


def style_mix(w1, w2, cut, num_ws):
    ws = w1.unsqueeze(1).repeat(1, num_ws, 1)
    ws[:, cut:] = w2.unsqueeze(1).repeat(1, num_ws - cut, 1)
    return ws


def grads(out, p, create_graph=False):
    names = list(p.keys())
    gs = torch.autograd.grad(out, [p[k] for k in names], allow_unused=True, create_graph=create_graph)
    return {k: (torch.zeros_like(p[k]) if g is None else g) for k, g in zip(names, gs)}


def augment(x):
    y = x.clone()
    for i in AUG_FLIP:
        y[i] = y[i].flip([2])
    return y + torch.tensor(AUG_SHIFT, dtype=DT).view(-1, 1, 1, 1)


def r1(cfg, pd, x, detach_stat, aug=False):
    x = x.detach().clone().requires_grad_(True)
    d = discriminator(cfg, pd, augment(x) if aug else x, detach_stat)
    (gx,) = torch.autograd.grad(d.sum(), x, create_graph=True)
    pen = GAMMA / 2 * gx.square().sum(dim=[1, 2, 3]).mean()
    return pen, grads(pen, pd)


def flat(t, digits=10):
    return [float("%.*g" % (digits, v)) for v in t.detach().contiguous().view(-1).tolist()]


def rel(a, b):
    num = sum(float(((a[k] - b[k]) ** 2).sum()) for k in a)
    den = sum(float((b[k] ** 2).sum()) for k in b)
    return math.sqrt(num / den)


def model_case(size):
    cfg = Cfg(size)
    gspec, dspec = shapes(cfg)
    pg, pd = weights(cfg, gspec), weights(cfg, dspec)
    key = lambda name: "%d/%s" % (size, name)
    z1 = gen(key("z1"), N * ZDIM).view(N, ZDIM)
    z2 = gen(key("z2"), N * ZDIM).view(N, ZDIM)
    noise = []
    for i, r in enumerate(r for r in cfg.res for _ in range(1 if r == cfg.res[0] else 2)):
        noise.append(gen(key("noise%d" % i), N * r * r).view(N, 1, r, r))
    real = gen(key("real"), N * size * size, 0.5).view(N, 1, size, size)
    w1, w2 = mapping(pg, z1), mapping(pg, z2)
    img = synthesis(cfg, pg, style_mix(w1, w2, CUT, cfg.num_ws), noise)
    d_fake = discriminator(cfg, pd, img)
    loss_g = F.softplus(-d_fake).mean()
    grad_g = grads(loss_g, pg)
    fake = img.detach()
    d_fake2, d_real = discriminator(cfg, pd, fake), discriminator(cfg, pd, real)
    loss_d = F.softplus(d_fake2).mean() + F.softplus(-d_real).mean()
    grad_d = grads(loss_d, pd)
    r1f, r1f_grad = r1(cfg, pd, real, True)
    r1a, r1a_grad = r1(cfg, pd, real, True, aug=True)
    r1c, r1c_grad = r1(cfg, pd, real, False)
    ws0 = gen(key("ws0"), N * cfg.num_ws * WDIM).view(N, cfg.num_ws, WDIM).requires_grad_(True)
    rr = gen(key("R"), N * size * size).view(N, 1, size, size)
    synth = (synthesis(cfg, {k: v.detach() for k, v in pg.items()}, ws0, None) * rr).sum()
    (ws_grad,) = torch.autograd.grad(synth, ws0)
    out = {
        "size": size, "w1": flat(w1), "w2": flat(w2),
        "d_fake": flat(d_fake), "d_real": flat(d_real),
        "loss_g": float(loss_g), "grad_g": {k: flat(v) for k, v in grad_g.items()},
        "loss_d": float(loss_d), "grad_d": {k: flat(v) for k, v in grad_d.items()},
        "r1": float(r1f), "grad_r1": {k: flat(v) for k, v in r1f_grad.items()},
        "r1_aug": float(r1a), "grad_r1_aug": {k: flat(v) for k, v in r1a_grad.items()},
        "r1_coupled": float(r1c), "r1_coupled_grad_vs_frozen": rel(r1f_grad, r1c_grad),
        "synth": float(synth), "ws_grad": flat(ws_grad),
    }
    if size != 64:
        out["img"] = flat(img)
    return out


cases = [model_case(s) for s in (28, 32, 64)]
meta = {"torch": torch.__version__, "script": os.path.basename(__file__), "n": N, "width": WIDTH,
        "max_channels": MAXC, "z_dim": ZDIM, "w_dim": WDIM, "mapping_layers": LAYERS, "cutoff": CUT,
        "gamma": GAMMA, "aug_flip": AUG_FLIP, "aug_shift": AUG_SHIFT}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.json")
with open(path, "w") as f:
    json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print(path, os.path.getsize(path), "bytes")
