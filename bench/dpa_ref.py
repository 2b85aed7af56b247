"""The deep perceptual autoencoder (Shvetsova et al. 2020) in PyTorch: the autoencoder at its full
resolution (the last, stable phase of the growing), the relative perceptual L1 loss through VGG19's
trunk, and two benchmark tasks.

The networks are those of sdk/dpa (model.go, features.go), float32. Images are 1 x S x S, S in
{28, 64}; width W, code Z. Levels: 7, 14, 28 at S = 28, else 4, 8, ... S; channels
ch[k] = W * min(2^(top-k), 8); LeakyReLU 0.2.

    block(x)  = conv2(lrelu(conv1(r(lrelu(x))))) + shortcut(r(x)), r = 2x2 mean pool (down),
                nearest 2x (up) or nothing; 3x3 convolutions with biases, the shortcut a 1x1
                convolution when the channels change.
    E: 3x3 conv from grey, block at the top level; per level k down to 1: block down;
       lrelu, flatten, linear to Z.
    G: lrelu, linear (Z -> ch0 s0^2), reshape; per level: block up; lrelu, 3x3 conv to grey.
    f: VGG19's trunk up to relu3_2 (conv widths F, F, 2F, 2F, 4F, 4F with F = 64, 2x2 max pooling
       before the third and fifth), on the grey image repeated to RGB, mapped from [-1, 1] to
       [0, 1] and normalised by ImageNet's statistics; random He-normal weights (speed does not
       depend on their values).
    L_rel(x, x') = mean|f(x) - f(x')| / (mean|f(x)| + 1e-8) per image, f(x) without gradient.

Benchmark tasks (configs "28": S=28, W=32, Z=16 and "64": S=64, W=32, Z=16):
    train_dpa   one Adam step (1e-3, betas 0.9, 0.999) of the autoencoder on the batch's mean
                L_rel; items/s = batch / seconds per step.
    encode_dpa  no gradients: the reconstruction, f of both, L_rel and the map (the channel mean
                of |f(x) - f(x')| over mean|f(x)|, bilinearly upsampled to S x S).
"""

import math

import torch
from torch import nn
import torch.nn.functional as F

SLOPE = 0.2
LR, BETAS = 1e-3, (0.9, 0.999)
FEATURE_WIDTH = 64
TASKS = ("train_dpa", "encode_dpa")
VGG = [(1, False), (1, False), (2, True), (2, False), (4, True), (4, False)]  # (width mult, pool before)


class Config:
    """One model: image size S, width W, code size Z."""

    def __init__(self, size, width=32, latent=16):
        if size not in (28, 32, 64):
            raise ValueError(f"dpa_ref: image size {size} not one of 28, 32, 64")
        self.size, self.width, self.latent = size, width, latent
        s0 = 7 if size == 28 else 4
        self.levels = []
        s = s0
        while s <= size:
            self.levels.append(s)
            s *= 2
        top = len(self.levels) - 1
        self.ch = [width * min(2 ** (top - k), 8) for k in range(top + 1)]


CONFIGS = {"28": Config(28, 32, 16), "64": Config(64, 32, 16)}


def lrelu(x):
    return F.leaky_relu(x, SLOPE)


class Block(nn.Module):
    """The pre-activation residual block without normalisation."""

    def __init__(self, cin, cout, rs):
        super().__init__()
        self.rs = rs
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h, sc = lrelu(x), x
        if self.rs == "down":
            h, sc = F.avg_pool2d(h, 2), F.avg_pool2d(x, 2)
        elif self.rs == "up":
            h, sc = F.interpolate(h, scale_factor=2, mode="nearest"), F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.conv2(lrelu(self.conv1(h)))
        if self.shortcut is not None:
            sc = self.shortcut(sc)
        return h + sc


class AE(nn.Module):
    """The autoencoder at its top level."""

    def __init__(self, cfg):
        super().__init__()
        ch, lv, top = cfg.ch, cfg.levels, len(cfg.levels) - 1
        self.cfg = cfg
        self.from_grey = nn.Conv2d(1, ch[top], 3, padding=1)
        self.from_block = Block(ch[top], ch[top], "keep")
        self.down = nn.ModuleList([Block(ch[k], ch[k - 1], "down") for k in range(top, 0, -1)])
        self.enc_out = nn.Linear(ch[0] * lv[0] * lv[0], cfg.latent)
        self.dec_in = nn.Linear(cfg.latent, ch[0] * lv[0] * lv[0])
        self.up = nn.ModuleList([Block(ch[k - 1], ch[k], "up") for k in range(1, top + 1)])
        self.to_grey = nn.Conv2d(ch[top], 1, 3, padding=1)

    def forward(self, x):
        h = self.from_block(self.from_grey(x))
        for b in self.down:
            h = b(h)
        z = self.enc_out(lrelu(h).flatten(1))
        c0, s0 = self.cfg.ch[0], self.cfg.levels[0]
        h = self.dec_in(lrelu(z)).reshape(x.shape[0], c0, s0, s0)
        for b in self.up:
            h = b(h)
        return self.to_grey(lrelu(h))


class Features(nn.Module):
    """VGG19's trunk up to relu3_2 with random He-normal weights, frozen."""

    def __init__(self, width=FEATURE_WIDTH):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1))
        convs, cin = [], 3
        for mult, _ in VGG:
            c = nn.Conv2d(cin, width * mult, 3, padding=1)
            nn.init.normal_(c.weight, std=math.sqrt(2 / (9 * cin)))
            nn.init.zeros_(c.bias)
            convs.append(c)
            cin = width * mult
        self.convs = nn.ModuleList(convs)
        self.requires_grad_(False)

    def forward(self, x):
        h = (x.expand(-1, 3, -1, -1) * 0.5 + 0.5 - self.mean) / self.std
        for c, (_, pool) in zip(self.convs, VGG):
            if pool:
                h = F.max_pool2d(h, 2)
            h = F.relu(c(h))
        return h


def rel_loss(f, x, xr):
    """L_rel per image, and f(x), f(x')."""
    with torch.no_grad():
        fx = f(x)
    fr = f(xr)
    den = fx.abs().mean((1, 2, 3)) + 1e-8
    return (fx - fr).abs().mean((1, 2, 3)) / den, fx, fr


def build(cfg):
    return AE(cfg), Features()


def train_step_fn(cfg, batch, seed):
    """Returns a function that takes one Adam step on a fixed synthetic batch."""
    torch.manual_seed(seed)
    ae, f = build(cfg)
    opt = torch.optim.Adam(ae.parameters(), lr=LR, betas=BETAS)
    rng = torch.Generator().manual_seed(seed)
    x = torch.rand((batch, 1, cfg.size, cfg.size), generator=rng) * 2 - 1

    def step():
        opt.zero_grad(set_to_none=True)
        loss = rel_loss(f, x, ae(x))[0].mean()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def encode_step_fn(cfg, batch, seed):
    """Returns a function that reconstructs and scores a batch, with its maps."""
    torch.manual_seed(seed)
    ae, f = build(cfg)
    rng = torch.Generator().manual_seed(seed)
    x = torch.rand((batch, 1, cfg.size, cfg.size), generator=rng) * 2 - 1

    def step():
        with torch.no_grad():
            xr = ae(x)
            l, fx, fr = rel_loss(f, x, xr)
            den = fx.abs().mean((1, 2, 3), keepdim=True) + 1e-8
            m = ((fx - fr).abs().mean(1, keepdim=True) / den)
            m = F.interpolate(m, size=(cfg.size, cfg.size), mode="bilinear", align_corners=False)
        return float(l.sum() + m.sum())

    return step


STEP_FNS = {"train_dpa": train_step_fn, "encode_dpa": encode_step_fn}
ITEMS_PER_BATCH = {"train_dpa": 1, "encode_dpa": 1}

if __name__ == "__main__":
    import time
    for name, fn in STEP_FNS.items():
        step = fn(CONFIGS["28"], 8, 1)
        step()
        t = time.perf_counter()
        step()
        print(name, "28x28 batch 8: %.3f s" % (time.perf_counter() - t))
