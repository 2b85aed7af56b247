#!/usr/bin/python3
"""Writes fixture.json: PyTorch's float64 values and gradients of package psp's encoder, trained
with the loss of pSp (1.0 L2 + 0.8 perceptual) through the tests' generator, and numpy's W+
scores, for the package's tests.

Regenerate from the repository root with Debian's python3 (torch 1.13, numpy, CPU):

    /usr/bin/python3 sdk/psp/testdata/make_fixture.py

The networks are written here from the description in sdk/psp/model.go (Encode) and
gen_test.go (testGen), with the package's parameter names:

  encoder   E.input: 3x3 conv, bias, LeakyReLU 0.2; three stages of BLOCKS residual blocks
            (channels 2W, 4W, 8W), block b of a stage x + conv2(lrelu(conv1(x))), conv2 of the
            first block strided 2 and its shortcut a bias-free strided 1x1 conv; pyramid
            p2 = coarse, p1 = bilinear(p2, align_corners=True) + latlayer1(medium),
            p0 = bilinear(p1) + latlayer2(fine); head i: stride-2 3x3 convs with LeakyReLU 0.01
            down to 1x1 from the map of its group (round(3n/18), round(7n/18)), a linear layer;
            ws = w_avg + stack(heads)
  generator flatten(ws) -> linear -> LeakyReLU 0.2 -> [C0, S/4, S/4] -> nearest x2 twice ->
            3x3 conv to 1 channel -> + a fixed map "pix" of S x S values -> tanh (weights fixed,
            frozen; without the map, pixels inside the upsampled plateaus are exactly equal and
            float32 breaks their ties in the features' max pooling otherwise than float64)
  features  dpa's VGG19 trunk of width FW (convs features.0, .2, .5, .7, .10, .12 with 2x2 max
            pools before .5 and .10), on (x/2 + 1/2 - mean)/std repeated to RGB
  distance  per image: sum over relu1_2, relu2_2, relu3_2 of mean over positions of
            sum over channels (f(x)/(|f(x)| + 1e-10) - f(x^)/(|f(x^)| + 1e-10))^2
  loss      L = 1.0 mean_i mean_pixels (x - G(E(x)))^2 + 0.8 mean_i distance_i

Two cases: S = 28 with 6 ws and S = 32 with 8 ws, both with w of 4 values, width W = 1 (pyramid
and heads of 8 channels), 2 blocks per stage, generator C0 = 2, features of width 4, batch N = 4.
Weights ~ N(0, std^2) with std He's for the layer (the generator's linear layer 0.5/sqrt(fan_in)), biases ~ N(0, 0.1^2), w_avg
~ N(0, 0.1^2), images ~ U(-1, 1) on the grid k/128, all rounded to float32, then everything is
computed in float64. The perceptual distance is ill-conditioned where a feature vector is near
zero (v/|v| turns on a rounding error), and a LeakyReLU input near zero can take different
branches in float32 and float64: the first seed (from 100 for the first case, 200 for the second)
whose smallest feature norm (x and x^, every layer) is at least MIN_NORM of the layer's median and
whose LeakyReLU inputs are at least MIN_MARGIN of the largest of their call, and whose
reconstructions stay within MAX_RECON (float32's tanh rounds saturated pixels to exact ties, which
the features' max pooling breaks otherwise than float64) is kept (seed, min_norm, margin,
max_recon in the case).

W+ scores ("latent"): 60 training codes and 9 queries of 3 ws of 5 values (codes correlated
within a layer), k = 4: per layer the mean, Ledoit-Wolf's shrinkage and covariance (numpy,
scikit-learn's ledoit_wolf formula, centred data), the Mahalanobis score
sum_l (w_l - mu_l)^T inv(S_l) (w_l - mu_l) (np.linalg.solve), the kNN score (mean distance to
the 4 nearest training codes by a full distance matrix; for the training codes themselves,
leaving each one out), and sum_l |w_l - mu_l|.

The gradients are computed again in float32 from the same values; f32_grad_rel_err is their
relative error against float64 over all encoder weights (PyTorch's float32 noise floor).

Layout: {"cases": [case, ...], "latent": {...}}; a case: seed, min_norm, margin, max_recon,
f32_grad_rel_err, size, num_ws, w_dim, width, blocks,
gen_c0, features_width, n, params {name: {shape, data}} (the encoder's), features {name: ...},
gen {name: ...}, w_avg, x (N x S x S), ws (N x num_ws x w_dim), recon, l2 [N], lpips [N], loss,
grads {name: data} (dL/d every encoder parameter).
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)
DT = torch.float64
SLOPE, HEAD_SLOPE = 0.2, 0.01
EPS = 1e-10
MEAN = torch.tensor([0.485, 0.456, 0.406], dtype=DT).reshape(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225], dtype=DT).reshape(1, 3, 1, 1)
VGG = [(0, 1, False), (2, 1, False), (5, 2, True), (7, 2, False), (10, 4, True), (12, 4, False)]
LAYERS = {"relu1_2": 2, "relu2_2": 4, "relu3_2": 6}
N, WIDTH, BLOCKS, WDIM, C0, FW = 4, 1, 2, 4, 2, 4
MIN_NORM = 0.02  # smallest feature norm allowed, relative to the layer's median
MIN_MARGIN = 1e-6  # smallest |LeakyReLU input| allowed, relative to the largest of its call
MAX_RECON = 0.99  # largest |G(E(x))| allowed: float32's tanh rounds saturated pixels to ties
CASES = [(28, 6), (32, 8)]

margin = [float("inf")]


def lrelu(x, slope):
    a = x.detach().abs()
    if a.max() > 0:
        margin[0] = min(margin[0], (a.min() / a.max()).item())
    return F.leaky_relu(x, slope)


def f32(t):
    return t.float().double()


def sides(s):
    out = []
    for _ in range(3):
        s = (s - 1) // 2 + 1
        out.append(s)
    return out


def head_convs(s):
    n = 0
    while s > 1:
        s = (s - 1) // 2 + 1
        n += 1
    return n


def groups(n):
    coarse = max(1, int(math.floor(3 * n / 18 + 0.5)))
    medium = max(coarse + 1, int(math.floor(7 * n / 18 + 0.5)))
    return coarse, min(medium, n - 1)


def level(i, n):
    coarse, medium = groups(n)
    return 2 if i < coarse else (1 if i < medium else 0)


def make_encoder(size, num_ws, g):
    p = {}

    def conv(name, cout, cin, k, gain, bias=True):
        std = gain / math.sqrt(cin * k * k)
        p[name + ".weight"] = torch.randn(cout, cin, k, k, generator=g, dtype=DT) * std
        if bias:
            p[name + ".bias"] = torch.randn(cout, generator=g, dtype=DT) * 0.1

    lg = math.sqrt(2 / (1 + SLOPE ** 2))
    hg = math.sqrt(2 / (1 + HEAD_SLOPE ** 2))
    ch = [2 * WIDTH, 4 * WIDTH, 8 * WIDTH]
    pc = 8 * WIDTH
    conv("E.input", WIDTH, 1, 3, lg)
    cin = WIDTH
    for st in range(3):
        for b in range(BLOCKS):
            name = "E.body.%d.%d." % (st, b)
            conv(name + "conv1", ch[st], cin, 3, lg)
            conv(name + "conv2", ch[st], ch[st], 3, 1)
            if b == 0:
                conv(name + "shortcut", ch[st], cin, 1, 1, bias=False)
            cin = ch[st]
    conv("E.latlayer1", pc, ch[1], 1, 1)
    conv("E.latlayer2", pc, ch[0], 1, 1)
    sd = sides(size)
    for i in range(num_ws):
        for j in range(head_convs(sd[level(i, num_ws)])):
            conv("E.styles.%d.convs.%d" % (i, j), pc, pc, 3, hg)
        p["E.styles.%d.linear.weight" % i] = torch.randn(WDIM, pc, generator=g, dtype=DT) / math.sqrt(pc)
        p["E.styles.%d.linear.bias" % i] = torch.randn(WDIM, generator=g, dtype=DT) * 0.1
    return {k: f32(v).requires_grad_(True) for k, v in p.items()}


def encode(p, x, w_avg, num_ws):
    def conv(h, name, stride, pad, bias=True):
        return F.conv2d(h, p[name + ".weight"], p[name + ".bias"] if bias else None, stride, pad)

    h = lrelu(conv(x, "E.input", 1, 1), SLOPE)
    feats = []
    for st in range(3):
        for b in range(BLOCKS):
            name = "E.body.%d.%d." % (st, b)
            r = lrelu(conv(h, name + "conv1", 1, 1), SLOPE)
            r = conv(r, name + "conv2", 2 if b == 0 else 1, 1)
            sc = conv(h, name + "shortcut", 2, 0, bias=False) if b == 0 else h
            h = sc + r
        feats.append(h)
    maps = [None, None, feats[2]]
    for lv, name in ((1, "E.latlayer1"), (0, "E.latlayer2")):
        lat = conv(feats[lv], name, 1, 0)
        up = F.interpolate(maps[lv + 1], size=lat.shape[2:], mode="bilinear", align_corners=True)
        maps[lv] = up + lat
    styles = []
    for i in range(num_ws):
        h = maps[level(i, num_ws)]
        j = 0
        while ("E.styles.%d.convs.%d.weight" % (i, j)) in p:
            h = lrelu(conv(h, "E.styles.%d.convs.%d" % (i, j), 2, 1), HEAD_SLOPE)
            j += 1
        assert h.shape[2:] == (1, 1), h.shape
        h = h.reshape(h.shape[0], -1)
        styles.append(F.linear(h, p["E.styles.%d.linear.weight" % i], p["E.styles.%d.linear.bias" % i]))
    return torch.stack(styles, dim=1) + w_avg.reshape(1, 1, -1)


def make_gen(size, num_ws, g):
    s0 = size // 4
    fan = num_ws * WDIM
    gen = {
        "lin.weight": torch.randn(C0 * s0 * s0, fan, generator=g, dtype=DT) * 0.5 / math.sqrt(fan),
        "lin.bias": torch.randn(C0 * s0 * s0, generator=g, dtype=DT) * 0.1,
        "conv.weight": torch.randn(1, C0, 3, 3, generator=g, dtype=DT) / math.sqrt(9 * C0),
        "conv.bias": torch.randn(1, generator=g, dtype=DT) * 0.1,
        "pix": torch.randn(size * size, generator=g, dtype=DT) * 0.3,
    }
    return {k: f32(v) for k, v in gen.items()}


def synthesize(gen, ws, size):
    s0 = size // 4
    h = F.linear(ws.reshape(ws.shape[0], -1), gen["lin.weight"], gen["lin.bias"])
    h = lrelu(h, SLOPE).reshape(ws.shape[0], C0, s0, s0)
    h = F.interpolate(h, scale_factor=2, mode="nearest")
    h = F.interpolate(h, scale_factor=2, mode="nearest")
    h = F.conv2d(h, gen["conv.weight"], gen["conv.bias"], 1, 1)
    return torch.tanh(h + gen["pix"].reshape(1, 1, size, size))


def make_features(g):
    p = {}
    cin = 3
    for idx, mult, _ in VGG:
        cout = FW * mult
        p["features.%d.weight" % idx] = torch.randn(cout, cin, 3, 3, generator=g, dtype=DT) * math.sqrt(2 / (9 * cin))
        p["features.%d.bias" % idx] = torch.randn(cout, generator=g, dtype=DT) * 0.1
        cin = cout
    return {k: f32(v) for k, v in p.items()}


def extract(fp, x, layer):
    h = ((x / 2 + 0.5).repeat(1, 3, 1, 1) - MEAN.to(x.dtype)) / STD.to(x.dtype)
    for idx, _, pool in VGG[:LAYERS[layer]]:
        if pool:
            h = F.max_pool2d(h, 2)
        h = F.relu(F.conv2d(h, fp["features.%d.weight" % idx], fp["features.%d.bias" % idx], 1, 1))
    return h


def norm_dist(a, b):
    na = a / (a.pow(2).sum(1, keepdim=True).sqrt() + EPS)
    nb = b / (b.pow(2).sum(1, keepdim=True).sqrt() + EPS)
    return (na - nb).pow(2).sum(1).mean(dim=(1, 2))


def record(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def conditioning(fp, x, xr):
    """The smallest feature-vector norm of x and x^ at any layer, relative to the layer's median."""
    worst = float("inf")
    for l in LAYERS:
        for im in (x, xr):
            nr = extract(fp, im, l).pow(2).sum(1).sqrt()
            worst = min(worst, (nr.min() / nr.median()).item())
    return worst


def case(size, num_ws, base_seed):
    """The first seed from base_seed whose features and LeakyReLU inputs are well away from zero."""
    for seed in range(base_seed, base_seed + 1000):
        margin[0] = float("inf")
        c = case_seed(size, num_ws, seed)
        if c["min_norm"] >= MIN_NORM and c["margin"] >= MIN_MARGIN and c["max_recon"] <= MAX_RECON:
            print("S=%d: seed %d, smallest relative feature norm %.3g, LeakyReLU margin %.2g, "
                  "largest |recon| %.3f, PyTorch's float32 gradients off by %.2g relative" %
                  (size, seed, c["min_norm"], c["margin"], c["max_recon"], c["f32_grad_rel_err"]))
            return c
    raise SystemExit("no seed found")


def forward(p, gen, fp, w_avg, x, size, num_ws):
    """ws, G(E(x)), both loss terms per image, the loss and its gradients, in x's dtype."""
    ws = encode(p, x, w_avg, num_ws)
    xr = synthesize(gen, ws, size)
    l2 = (x - xr).pow(2).reshape(N, -1).mean(1)
    lp = sum(norm_dist(extract(fp, x, l), extract(fp, xr, l)) for l in LAYERS)
    loss = 1.0 * l2.mean() + 0.8 * lp.mean()
    grads = torch.autograd.grad(loss, list(p.values()))
    return ws, xr, l2, lp, loss, grads


def case_seed(size, num_ws, seed):
    g = torch.Generator().manual_seed(seed)
    p = make_encoder(size, num_ws, g)
    gen = make_gen(size, num_ws, g)
    fp = make_features(g)
    w_avg = f32(torch.randn(WDIM, generator=g, dtype=DT) * 0.1)
    x = torch.randint(-128, 129, (N, 1, size, size), generator=g).to(DT) / 128
    ws, xr, l2, lp, loss, grads = forward(p, gen, fp, w_avg, x, size, num_ws)
    lr_margin = margin[0]
    # The same in float32, from the same values: PyTorch's float32 noise floor.
    to32 = lambda d: {k: v.detach().float().requires_grad_(v.requires_grad) for k, v in d.items()}
    g32 = forward(to32(p), to32(gen), to32(fp), w_avg.float(), x.float(), size, num_ws)[5]
    num = sum(((a - b.double()) ** 2).sum().item() for a, b in zip(grads, g32))
    den = sum((a ** 2).sum().item() for a in grads)
    names = list(p)
    return {
        "seed": seed, "min_norm": conditioning(fp, x, xr.detach()), "margin": lr_margin,
        "max_recon": xr.detach().abs().max().item(), "f32_grad_rel_err": math.sqrt(num / den),
        "size": size, "num_ws": num_ws, "w_dim": WDIM, "width": WIDTH, "blocks": BLOCKS,
        "gen_c0": C0, "features_width": FW, "n": N,
        "params": {k: record(v) for k, v in p.items()},
        "features": {k: record(v) for k, v in fp.items()},
        "gen": {k: record(v) for k, v in gen.items()},
        "w_avg": w_avg.tolist(), "x": x.reshape(-1).tolist(),
        "ws": ws.detach().reshape(-1).tolist(), "recon": xr.detach().reshape(-1).tolist(),
        "l2": l2.detach().tolist(), "lpips": lp.detach().tolist(), "loss": loss.item(),
        "grads": {k: gr.reshape(-1).tolist() for k, gr in zip(names, grads)},
    }


def ledoit_wolf(x):
    """scikit-learn's ledoit_wolf_shrinkage and shrunk covariance on centred data."""
    x = x - x.mean(0)
    n, p = x.shape
    x2 = x ** 2
    emp_cov_trace = x2.sum(0) / n
    mu = emp_cov_trace.sum() / p
    delta_ = ((x.T @ x) ** 2).sum() / n ** 2
    beta_ = (x2.T @ x2).sum()
    beta = 1.0 / (p * n) * (beta_ / n - delta_)
    delta = (delta_ - 2.0 * mu * emp_cov_trace.sum() + p * mu ** 2) / p
    beta = min(beta, delta)
    shrink = 0.0 if beta == 0 else beta / delta
    emp = x.T @ x / n
    return (1 - shrink) * emp + shrink * mu * np.eye(p), shrink


def latent():
    rng = np.random.default_rng(20240601)
    nt, nq, L, D, K = 60, 9, 3, 5, 4
    mix = rng.normal(size=(L, D, D))
    train = np.stack([rng.normal(size=(nt, D)) @ mix[l] + l for l in range(L)], axis=1)
    query = np.stack([rng.normal(size=(nq, D)) @ mix[l] * 1.5 + l for l in range(L)], axis=1)
    train = train.astype(np.float32).astype(np.float64)
    query = query.astype(np.float32).astype(np.float64)
    means, covs, shr = [], [], []
    for l in range(L):
        c, s = ledoit_wolf(train[:, l])
        means.append(train[:, l].mean(0))
        covs.append(c)
        shr.append(s)

    def maha(w):
        return sum(float((w[l] - means[l]) @ np.linalg.solve(covs[l], w[l] - means[l])) for l in range(L))

    def l2(w):
        return sum(float(np.linalg.norm(w[l] - means[l])) for l in range(L))

    flat_t = train.reshape(nt, -1)

    def knn(w, skip=None):
        d = np.linalg.norm(flat_t - w.reshape(1, -1), axis=1)
        if skip is not None:
            d = np.delete(d, skip)
        return float(np.sort(d)[:K].mean())

    return {
        "num_ws": L, "w_dim": D, "k": K,
        "train": train.reshape(-1).tolist(), "query": query.reshape(-1).tolist(),
        "mean": np.concatenate(means).tolist(), "shrinkage": shr,
        "cov": np.stack(covs).reshape(-1).tolist(),
        "maha": [maha(w) for w in query], "knn": [knn(w) for w in query], "l2": [l2(w) for w in query],
        "maha_train": [maha(w) for w in train], "knn_train": [knn(w, i) for i, w in enumerate(train)],
    }


def main():
    out = {"cases": [case(s, n, 100 * (i + 1)) for i, (s, n) in enumerate(CASES)], "latent": latent()}
    path = os.path.join(HERE, "fixture.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
