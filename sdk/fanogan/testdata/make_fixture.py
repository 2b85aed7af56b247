#!/usr/bin/python3
"""Writes fixture.json: PyTorch's values and gradients for f-AnoGAN's whole model (generator G,
WGAN-GP critic D, encoder E) and all its losses and scores, for package fanogan's tests.

Regenerate from the repository root with Debian's python3 (torch 1.13, CPU):

    /usr/bin/python3 sdk/fanogan/testdata/make_fixture.py

The model is bench/fanogan_ref.py's (imported from there; its docstring has the architecture).
Two cases, S = 28 and S = 64, both with width W = 2, latent Z = 8 and batch N = 3, to keep the
file small (about 3.9 MB, 3.1 MB of it the S = 64 case). Weights (PyTorch's default initialisation, then every BatchNorm and LayerNorm
weight ~ U(0.5, 1.5), bias ~ N(0, 0.1), BN running mean ~ N(0, 0.1), running var ~ U(0.5, 1.5))
and inputs are drawn as float32 values (real on the grid k/128, k = -128..128, like 8-bit
pixels; z, z_enc ~ N(0, 1), alpha ~ U(0, 1)); the reference results are computed in float64 from those
exact values, and again in float32 (the "f32" part) so that a test can see the float32 noise
floor. Every seed tried is checked for ReLU inputs within RELU_MARGIN (relative to the largest
input of the same call) of the kink, where float32 and float64 could take different branches;
the first seed without any is kept (meta.seed, meta.relu_margin).

Layout: {"meta": {...}, "cases": [case, ...]}; every tensor is a record
{"name": ..., "shape": [...], "data": [row-major values]} (a scalar has shape []). A case:

  meta     size, width, latent, n, lambda, kappa, eps, bn_momentum, s0, blocks, feature (F),
           d_in, d_out, g_channels, seed, relu_margin (smallest relative ReLU input seen)
  params   every parameter and buffer of G, D and E: "G." / "D." / "E." + the state_dict name
           (running_mean and running_var included, num_batches_tracked left out)
  inputs   z [N, Z], real [N, 1, S, S], alpha [N], z_enc [N, Z]
  outputs  the critic and generator step (G in train mode, batch statistics):
             fake = G(z); G.<bn>.running_mean_after / running_var_after (after that one
             forward, momentum 0.1, unbiased batch variance as PyTorch does);
             d_real = D(real), d_fake = D(fake) [N]; f_real = f(real) [N, F];
             xhat = real + alpha (fake - real); gx_xhat = grad_x sum_i D(xhat_i);
             gp = lambda mean_i (||gx_xhat_i|| - 1)^2; loss_d_wass = mean d_fake - mean d_real;
             loss_d = loss_d_wass + gp; loss_g = -mean D(fake) (same D, no D step applied)
           the encoder (G in eval mode with the params' running statistics, D frozen, E in train
           mode, each loss from the initial E):
             e_x = E(real); izif_loss = mean (real - G(e_x))^2 + kappa mean (f(real) -
             f(G(e_x)))^2; izi_loss (kappa = 0); ziz_loss = mean (z_enc - E(G(z_enc)))^2;
             E.<bn>.running_mean_after / running_var_after (after the izi_f forward)
           the scores (E, G eval, initial parameters):
             score_izif [N] = mean_pixels (x - G(E(x)))^2 + kappa mean_F (f(x) - f(G(E(x))))^2,
             score_cycle [N] = mean_Z (E(x) - E(G(E(x))))^2, recon = G(E(x)), and also
             e_x_eval = E(x) and f_recon = f(recon)
  grads    {loss: [one record per parameter]}: loss_d_wass and gp (each alone) w.r.t. every D
           parameter (the penalty through create_graph; parameters that only shift D(x), such as
           D.output.bias and the last block's conv2 and shortcut biases, get 0 from it), loss_g
           w.r.t. every G parameter, izif_loss, izi_loss and ziz_loss w.r.t. every E parameter;
           names "D.<param>", "G.<param>", "E.<param>"
  f32      the same computation in float32 from the same float32 weights and inputs:
           outputs: the records of outputs with at most 1024 values (9 significant digits);
           grads: {"gp": [...]}, the penalty's gradients (9 significant digits);
           floor: {"outputs": {name: {"max_abs_diff", "max_abs"}}, "grads": {loss: {...}}}, the
           largest |float32 - float64| and the largest |float64| of every output and of every
           gradient group, the images included (their float32 values are not written)

The script checks the penalty's create_graph gradients (and a few of loss_g's and izif_loss's)
against central finite differences in float64 and prints the relative errors; it exits with
status 1 if one is above 1e-6 relative (plus the rounding of the difference quotient).
"""

import copy
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import fanogan_ref as fr  # noqa: E402

torch.set_num_threads(1)
N, WIDTH, LATENT = 3, 2, 8
SIZES = (28, 64)
BASE_SEED = 20190201
RELU_MARGIN = 1e-6
FD_STEP = 1e-7  # well inside RELU_MARGIN, so that no ReLU changes branch between the two sides
FD_TOL = 1e-6  # relative, on top of the float64 rounding of the difference quotient
F32_FULL = 1024  # f32 outputs with at most this many values are written in full


def record(name, t, digits=None):
    t = t.detach().contiguous()
    values = t.reshape(-1).double().tolist()
    if digits:
        values = [float("%.*g" % (digits, v)) for v in values]
    return {"name": name, "shape": list(t.shape), "data": values}


def randomise_norms(models):
    """Random scales, shifts and running statistics for every BatchNorm and LayerNorm."""
    for m in models:
        for mod in m.modules():
            if isinstance(mod, (torch.nn.BatchNorm2d, fr.ChannelLayerNorm)):
                with torch.no_grad():
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.normal_(0.0, 0.1)
                    if isinstance(mod, torch.nn.BatchNorm2d):
                        mod.running_mean.normal_(0.0, 0.1)
                        mod.running_var.uniform_(0.5, 1.5)


def state(prefix, m):
    return [record(prefix + k, v) for k, v in m.state_dict().items()
            if not k.endswith("num_batches_tracked")]


def running_stats(prefix, m):
    return [record(f"{prefix}{k}_after", v) for k, v in m.state_dict().items()
            if k.endswith("running_mean") or k.endswith("running_var")]


def grads(prefix, loss, m, retain=True):
    names, params = zip(*m.named_parameters())
    gs = torch.autograd.grad(loss, params, retain_graph=retain, allow_unused=True)
    return [record(prefix + n, torch.zeros_like(p) if g is None else g)
            for n, p, g in zip(names, params, gs)]


class ReluWatch:
    """Replaces fanogan_ref.relu to find the ReLU input closest to the kink (relative)."""

    def __init__(self):
        self.margin = float("inf")
        self.orig = fr.relu

    def __enter__(self):
        def watched(x):
            a = x.detach().abs()
            top = a.max().item()
            if top > 0:
                self.margin = min(self.margin, a.min().item() / top)
            return self.orig(x)
        fr.relu = watched
        return self

    def __exit__(self, *exc):
        fr.relu = self.orig


def compute(cfg, models, inputs, dtype):
    """Every output and gradient of the fixture in dtype; returns (outputs, grads, models)."""
    g0, d, e0 = (copy.deepcopy(m).to(dtype) for m in models)
    z, real, alpha, z_enc = (inputs[k].to(dtype) for k in ("z", "real", "alpha", "z_enc"))
    out, gr = [], {}
    # Critic and generator step: G in train mode (batch statistics, running stats updated once).
    g = copy.deepcopy(g0).train()
    fake = g(z)
    out.append(record("fake", fake))
    out += running_stats("G.", g)
    d_real, f_real = d.score_and_features(real)
    d_fake = d(fake.detach())
    xhat = fr.interpolate(real, fake.detach(), alpha).requires_grad_(True)
    gp, gx = fr.gradient_penalty(d, xhat, fr.LAMBDA)
    wass = d_fake.mean() - d_real.mean()
    loss_g = fr.generator_loss(d, fake)
    out += [record("d_real", d_real), record("d_fake", d_fake), record("f_real", f_real),
            record("xhat", xhat), record("gx_xhat", gx), record("gp", gp),
            record("loss_d_wass", wass), record("loss_d", wass + gp), record("loss_g", loss_g)]
    gr["loss_d_wass"] = grads("D.", wass, d)
    gr["gp"] = grads("D.", gp, d)
    gr["loss_g"] = grads("G.", loss_g, g)
    # Encoder: G eval with the initial running statistics, D frozen (only E's gradients taken).
    g0.eval()
    e = copy.deepcopy(e0).train()
    e_x = e(real)
    xr = g0(e_x)
    izif = ((real - xr) ** 2).mean() + fr.KAPPA * ((f_real - d.features(xr)) ** 2).mean()
    out += [record("e_x", e_x), record("izif_loss", izif)]
    out += running_stats("E.", e)
    gr["izif_loss"] = grads("E.", izif, e)
    e = copy.deepcopy(e0).train()
    izi = fr.izif_loss(e, g0, d, real, kappa=0.0)
    out.append(record("izi_loss", izi))
    gr["izi_loss"] = grads("E.", izi, e)
    e = copy.deepcopy(e0).train()
    ziz = fr.ziz_loss(e, g0, z_enc)
    out.append(record("ziz_loss", ziz))
    gr["ziz_loss"] = grads("E.", ziz, e)
    # Scores: everything in eval mode with the initial parameters.
    e = copy.deepcopy(e0).eval()
    with torch.no_grad():
        score, recon = fr.izif_score(e, g0, d, real, fr.KAPPA)
        cycle = fr.cycle_score(e, g0, real)
        out += [record("score_izif", score), record("score_cycle", cycle),
                record("recon", recon), record("e_x_eval", e(real)),
                record("f_recon", d.features(recon))]
    return out, gr, (g0, d, e0)


def fd_check(label, loss_fn, model, picks):
    """Central differences of loss_fn() against autograd for a few (param, flat index) picks.

    An index None picks the entry with the largest gradient. Returns the worst excess of the
    error over its allowance (FD_TOL relative plus the rounding of the difference quotient), as
    a multiple of the allowance: <= 1 passes."""
    named = dict(model.named_parameters())
    worst = 0.0
    for pname, idx in picks:
        p = named[pname]
        loss = loss_fn()
        (ad,) = torch.autograd.grad(loss, p, allow_unused=True)
        ad = torch.zeros_like(p) if ad is None else ad
        if idx is None:
            idx = int(ad.abs().reshape(-1).argmax())
        ad = ad.reshape(-1)[idx].item()
        flat = p.data.view(-1)
        keep = flat[idx].item()
        flat[idx] = keep + FD_STEP  # through .data: not recorded by autograd
        up = loss_fn().item()
        flat[idx] = keep - FD_STEP
        down = loss_fn().item()
        flat[idx] = keep
        fd = (up - down) / (2 * FD_STEP)
        scale = max(abs(fd), abs(ad))
        rel = abs(fd - ad) / scale if scale > 0 else 0.0
        allowed = FD_TOL * scale + 8 * 2.0**-52 * abs(loss.item()) / FD_STEP
        worst = max(worst, abs(fd - ad) / allowed)
        print(f"  {label} {pname}[{idx}]: autograd {ad:+.12e} finite diff {fd:+.12e} "
              f"rel err {rel:.1e} ({abs(fd - ad) / allowed:.2f} of the allowance)")
    return worst


def self_check(cfg, models, inputs):
    g0, d, e0 = (copy.deepcopy(m).double() for m in models)
    z, real, alpha = (inputs[k].double() for k in ("z", "real", "alpha"))
    with torch.no_grad():
        fake = copy.deepcopy(g0).train()(z)
    xhat = fr.interpolate(real, fake, alpha).requires_grad_(True)
    last = cfg.blocks - 1

    def penalty():
        return fr.gradient_penalty(d, xhat, fr.LAMBDA)[0]

    worst = fd_check("gp", penalty, d, [
        ("input.weight", 0), ("input.bias", 1), ("blocks.0.ln1.weight", 1),
        ("blocks.0.ln1.bias", 0), ("blocks.0.conv1.weight", 5), ("blocks.0.shortcut.weight", 3),
        (f"blocks.{last}.ln2.weight", None), (f"blocks.{last}.ln2.bias", None),
        (f"blocks.{last}.conv2.weight", 7), (f"blocks.{last}.conv2.bias", 1),
        ("output.weight", 3), ("output.weight", None), ("output.bias", 0)])
    g = copy.deepcopy(g0).train()
    worst = max(worst, fd_check("loss_g", lambda: fr.generator_loss(d, g(z)), g, [
        ("input.weight", 4), ("blocks.0.bn1.weight", 1), (f"blocks.{last}.conv1.weight", 3),
        (f"blocks.{last}.shortcut.weight", None), ("out_bn.bias", 0), ("out_conv.bias", 0)]))
    e = copy.deepcopy(e0).train()
    g0.eval()
    worst = max(worst, fd_check("izif_loss", lambda: fr.izif_loss(e, g0, d, real), e, [
        ("input.weight", 2), ("blocks.0.bn2.weight", 0), (f"blocks.{last}.conv2.bias", 1),
        ("output.weight", 11), ("output.bias", None)]))
    return worst


def spread(a, b):
    """{max_abs_diff, max_abs}: the largest |float32 - float64| and |float64| of one output or of
    one group of gradient records."""
    a, b = (x if isinstance(x, list) else [x] for x in (a, b))
    pairs = [(u, v) for ra, rb in zip(a, b) for u, v in zip(ra["data"], rb["data"])]
    return {"max_abs_diff": max(abs(u - v) for u, v in pairs),
            "max_abs": max(abs(u) for u, _ in pairs)}


def make_case(size):
    cfg = fr.Config(size, WIDTH, LATENT)
    for seed in range(BASE_SEED, BASE_SEED + 100):
        torch.manual_seed(seed)
        models = fr.build(cfg)  # float32, as PyTorch makes them
        randomise_norms(models)
        inputs = {
            "z": torch.randn(N, LATENT),
            "real": torch.randint(-128, 129, (N, 1, size, size)) / 128.0,  # 8-bit-like grid
            "alpha": torch.rand(N),
            "z_enc": torch.randn(N, LATENT),
        }
        with ReluWatch() as watch:
            out, gr, _ = compute(cfg, models, inputs, torch.float64)
        if watch.margin >= RELU_MARGIN:
            break
        print(f"S={size}: seed {seed} has a ReLU input {watch.margin:.1e} from the kink; next")
    else:
        raise SystemExit("no seed without ReLU inputs near the kink")
    out32, gr32, _ = compute(cfg, models, inputs, torch.float32)
    print(f"S={size}: seed {seed}, smallest relative ReLU input {watch.margin:.2e}")
    worst = self_check(cfg, models, inputs)
    gp = spread(gr["gp"], gr32["gp"])
    print(f"S={size}: finite differences within {worst:.2f} of their allowance; float32 penalty "
          f"gradients differ from float64 by up to {gp['max_abs_diff']:.2e} (largest entry "
          f"{gp['max_abs']:.2e})")
    g, d, e = models
    meta = {"size": size, "width": WIDTH, "latent": LATENT, "n": N, "lambda": fr.LAMBDA,
            "kappa": fr.KAPPA, "eps": fr.EPS, "bn_momentum": fr.BN_MOMENTUM, "s0": cfg.s0,
            "blocks": cfg.blocks, "feature": cfg.feature_size, "d_in": cfg.d_in,
            "d_out": cfg.d_out, "g_channels": cfg.g_channels, "seed": seed,
            "relu_margin": watch.margin}
    f32_out = [dict(r, data=[float("%.9g" % v) for v in r["data"]]) for r in out32
               if len(r["data"]) <= F32_FULL]
    f32_gp = [dict(r, data=[float("%.9g" % v) for v in r["data"]]) for r in gr32["gp"]]
    floor = {"outputs": {r["name"]: spread(r, r32) for r, r32 in zip(out, out32)},
             "grads": {k: spread(gr[k], gr32[k]) for k in gr}}
    case = {
        "meta": meta,
        "params": state("G.", g) + state("D.", d) + state("E.", e),
        "inputs": [record(k, v) for k, v in inputs.items()],
        "outputs": out,
        "grads": gr,
        "f32": {"outputs": f32_out, "grads": {"gp": f32_gp}, "floor": floor},
    }
    return case, worst


def main():
    cases, worst = [], 0.0
    for size in SIZES:
        case, w = make_case(size)
        cases.append(case)
        worst = max(worst, w)
    meta = {"torch": torch.__version__, "model": "bench/fanogan_ref.py",
            "note": "written by sdk/fanogan/testdata/make_fixture.py; see its docstring"}
    path = os.path.join(HERE, "fixture.json")
    with open(path, "w") as f:
        json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes, {len(cases)} cases")
    if worst > 1:
        print(f"finite-difference check FAILED: an error is {worst:.2f} times its allowance")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
