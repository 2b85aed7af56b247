"""The jointly trained encoder (Berg et al. 2019) in PyTorch: the model at its full resolution
(the last, stable phase of the growing), its losses, and two benchmark tasks.

The networks are those of sdk/jointenc (model.go) at growing level top, no fade-in. Images are
1 x S x S, S in {28, 32, 64}; width W, latent size Z. Levels: 7, 14, 28 at S = 28, else
4, 8, ... S; channels ch[k] = W * min(2^(top-k), 8). Every weight is stored N(0, 1) and used
times gain / sqrt(fan_in) (equalised learning rate; gain sqrt(2), G's first dense sqrt(2)/4, the
1x1 convolutions to grey and D's score layer 1); LeakyReLU 0.2 everywhere.

    G: PixelNorm(z) -> dense (Z -> ch0 s0^2) -> lrelu -> PixelNorm -> conv3x3 -> lrelu -> PixelNorm;
       per level k >= 1: up 2x, (conv3x3 -> lrelu -> PixelNorm) x 2; 1x1 conv to grey, no activation.
    D: 1x1 conv from grey -> lrelu; per level k down to 1: (conv3x3 -> lrelu) x 2, 2x2 mean pool;
       minibatch stddev (groups of 4) -> conv3x3 (ch0+1 -> ch0) -> lrelu -> dense (ch0 s0^2 -> ch0)
       -> lrelu -> dense (ch0 -> 1).
    E: D's layers with its own weights, no minibatch stddev, last dense (ch0 s0^2 -> Z) -> lrelu.

Benchmark tasks (configs "28": S=28, W=32, Z=128 and "64": S=64, W=32, Z=128):
    train_jointenc  one joint step on a real batch: D with WGAN-GP (create_graph; the minibatch
                    statistic detached in the penalty, as sdk/jointenc does), drift 0.001; G with
                    -mean D(G(z)); E with mean |G(z) - G(E(G(z)))|, gradients to E only; three
                    Adams (1e-3, betas 0, 0.99). items/s = batch / seconds per step.
    encode_jointenc no gradients: E(x), G(E(x)), D's features of both, the four scores of a batch.
"""

import math

import torch
from torch import nn
import torch.nn.functional as F

SLOPE, GROUP, LAMBDA, DRIFT = 0.2, 4, 10.0, 0.001
LR, BETAS = 1e-3, (0.0, 0.99)
TASKS = ("train_jointenc", "encode_jointenc")


class Config:
    """One model: image size S, width W, latent size Z."""

    def __init__(self, size, width=64, latent=512):
        if size not in (28, 32, 64):
            raise ValueError(f"jointenc_ref: image size {size} not one of 28, 32, 64")
        self.size, self.width, self.latent = size, width, latent
        s0 = 7 if size == 28 else 4
        self.levels = []
        s = s0
        while s <= size:
            self.levels.append(s)
            s *= 2
        top = len(self.levels) - 1
        self.ch = [width * min(2 ** (top - k), 8) for k in range(top + 1)]


CONFIGS = {"28": Config(28, 32, 128), "64": Config(64, 32, 128)}


class EqConv(nn.Module):
    """A convolution (or, with k = 0, a dense layer) on weight * gain / sqrt(fan_in)."""

    def __init__(self, cin, cout, k, gain=math.sqrt(2)):
        super().__init__()
        shape = (cout, cin) if k == 0 else (cout, cin, k, k)
        self.weight = nn.Parameter(torch.randn(*shape))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.c = gain / math.sqrt(cin * max(k, 1) ** 2)
        self.k = k

    def forward(self, x):
        w = self.weight * self.c
        if self.k == 0:
            return F.linear(x, w, self.bias)
        return F.conv2d(x, w, self.bias, padding=self.k // 2)


def lrelu(x):
    return F.leaky_relu(x, SLOPE)


def pixel_norm(x):
    return x / torch.sqrt((x * x).mean(dim=1, keepdim=True) + 1e-8)


def mbstd(h, detach=False):
    n, c, hh, ww = h.shape
    g = min(GROUP, n)
    y = h.reshape(g, n // g, c, hh, ww)
    y = y - y.mean(dim=0, keepdim=True)
    s = torch.sqrt((y * y).mean(dim=0) + 1e-8).mean(dim=[1, 2, 3]).repeat(g)
    if detach:
        s = s.detach()
    return torch.cat([h, s.view(n, 1, 1, 1).expand(n, 1, hh, ww)], dim=1)


class Generator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ch, s0 = cfg.ch, cfg.levels[0]
        self.dense = EqConv(cfg.latent, ch[0] * s0 * s0, 0, gain=math.sqrt(2) / 4)
        self.conv = EqConv(ch[0], ch[0], 3)
        self.up = nn.ModuleList([nn.ModuleList([EqConv(ch[k - 1], ch[k], 3), EqConv(ch[k], ch[k], 3)])
                                 for k in range(1, len(ch))])
        self.to_grey = EqConv(ch[-1], 1, 1, gain=1.0)

    def forward(self, z):
        s0 = self.cfg.levels[0]
        h = lrelu(self.dense(pixel_norm(z))).view(z.shape[0], self.cfg.ch[0], s0, s0)
        h = pixel_norm(lrelu(self.conv(pixel_norm(h))))
        for c1, c2 in self.up:
            h = F.interpolate(h, scale_factor=2)
            h = pixel_norm(lrelu(c1(h)))
            h = pixel_norm(lrelu(c2(h)))
        return self.to_grey(h)


class Trunk(nn.Module):
    """D (critic=True) or E."""

    def __init__(self, cfg, critic):
        super().__init__()
        ch, s0 = cfg.ch, cfg.levels[0]
        self.critic = critic
        self.from_grey = EqConv(1, ch[-1], 1)
        self.down = nn.ModuleList([nn.ModuleList([EqConv(ch[k], ch[k], 3), EqConv(ch[k], ch[k - 1], 3)])
                                   for k in range(len(ch) - 1, 0, -1)])
        self.out_conv = EqConv(ch[0] + (1 if critic else 0), ch[0], 3)
        self.dense = EqConv(ch[0] * s0 * s0, ch[0] if critic else cfg.latent, 0)
        if critic:
            self.score = EqConv(ch[0], 1, 0, gain=1.0)

    def features(self, x):
        h = lrelu(self.from_grey(x))
        for c1, c2 in self.down:
            h = F.avg_pool2d(lrelu(c2(lrelu(c1(h)))), 2)
        return h

    def forward(self, x, detach_stat=False):
        h = self.features(x)
        if self.critic:
            h = mbstd(h, detach_stat)
        h = lrelu(self.dense(lrelu(self.out_conv(h)).flatten(1)))
        return self.score(h).view(-1) if self.critic else h


def build(cfg):
    return Generator(cfg), Trunk(cfg, True), Trunk(cfg, False)


def critic_loss(d, real, fake, mix):
    dr, df = d(real), d(fake)
    xh = (mix.view(-1, 1, 1, 1) * real + (1 - mix.view(-1, 1, 1, 1)) * fake).requires_grad_(True)
    (gx,) = torch.autograd.grad(d(xh, detach_stat=True).sum(), xh, create_graph=True)
    gp = LAMBDA * ((gx.flatten(1).norm(dim=1) - 1) ** 2).mean()
    return df.mean() - dr.mean() + gp + DRIFT * (dr * dr).mean()


def train_step_fn(cfg, batch, seed):
    """Returns a function doing one joint step (D, G, E) on a synthetic real batch."""
    torch.manual_seed(seed)
    g, d, e = build(cfg)
    opts = [torch.optim.Adam(m.parameters(), lr=LR, betas=BETAS) for m in (g, d, e)]
    rng = torch.Generator().manual_seed(seed)
    shape = (batch, 1, cfg.size, cfg.size)

    def z():
        return 0.1 * torch.randn((batch, cfg.latent), generator=rng)

    def step():
        real = torch.rand(shape, generator=rng) * 2 - 1
        with torch.no_grad():
            fake = g(z())
        mix = torch.rand(batch, generator=rng)
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss_d = critic_loss(d, real, fake, mix)
        loss_d.backward()
        opts[1].step()
        d.requires_grad_(False)
        loss_g = -d(g(z())).mean()
        loss_g.backward()
        opts[0].step()
        d.requires_grad_(True)
        g.requires_grad_(False)
        with torch.no_grad():
            x = g(z())
        loss_e = (x - g(e(x))).abs().mean()
        loss_e.backward()
        opts[2].step()
        g.requires_grad_(True)
        return loss_d.item() + loss_g.item() + loss_e.item()

    return step


def encode_step_fn(cfg, batch, seed):
    """Returns a function that encodes, reconstructs and scores a batch."""
    torch.manual_seed(seed)
    g, d, e = build(cfg)
    rng = torch.Generator().manual_seed(seed)
    x = torch.rand((batch, 1, cfg.size, cfg.size), generator=rng) * 2 - 1

    def step():
        with torch.no_grad():
            code = e(x)
            rec = g(code)
            r = (x - rec).abs().flatten(1).mean(1)
            f = (d.features(x) - d.features(rec)).abs().flatten(1).mean(1)
            scores = torch.stack([code.norm(dim=1), r, f, 0.9 * r + 0.1 * f], dim=1)
        return float(scores.sum())

    return step


STEP_FNS = {"train_jointenc": train_step_fn, "encode_jointenc": encode_step_fn}
ITEMS_PER_BATCH = {"train_jointenc": 1, "encode_jointenc": 1}

if __name__ == "__main__":
    import time
    for name, fn in STEP_FNS.items():
        step = fn(CONFIGS["28"], 8, 1)
        step()
        t = time.perf_counter()
        step()
        print(name, "28x28 batch 8: %.3f s" % (time.perf_counter() - t))
