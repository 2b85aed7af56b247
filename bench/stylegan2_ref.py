"""StyleGAN2 (Karras et al. 2020) as sdk/stylegan2 builds it, in PyTorch: the model, its training
step, and one benchmark task.

The networks are the reference's (stylegan2-ada-pytorch, training/networks.py) at a CPU size, as
sdk/stylegan2 (model.go) builds them: images 1 x S x S, S in {28, 32, 64}; resolutions 7, 14, 28 at
S = 28, else 4, 8, ... S; channels ch(r) = min(W * S / r, C); z and w of Z values; M mapping
layers. Every weight is stored N(0, 1) and used times gain / sqrt(fan_in) (the mapping network's
stored N(0, 1) / 0.01 and used times 0.01 / sqrt(fan_in), biases times 0.01); every LeakyReLU(0.2)
is followed by the gain sqrt(2).

    G mapping:   z / rms(z) -> M x (dense -> lrelu); w_avg tracked with beta 0.995.
    G synthesis: learned constant; per resolution conv0 (upsampling, r > r0) and conv1, modulated
                 3x3: x * s, conv (conv0: transposed conv of stride 2 and the [1, 3, 3, 1] filter),
                 times d = rsqrt(sum_i s_i^2 sum_k w^2 + 1e-8), + strength * noise, + bias, lrelu;
                 s = affine(w) (bias 1); toRGB modulated 1x1 without demodulation at every
                 resolution, image = upsample2d(image) + toRGB.
    D (resnet):  fromRGB 1x1 -> lrelu; per resolution from S down: (conv3x3 -> lrelu -> [filter]
                 conv3x3 stride 2 -> lrelu) + [filter] 1x1 stride 2 skip, times sqrt(1/2);
                 minibatch stddev (groups of 4, 1 feature) -> conv3x3 -> lrelu -> dense -> lrelu
                 -> dense to 1.

Training as the reference's (training/loss.py, training_loop.py), without path-length
regularisation: per iteration the G step (softplus(-D(G(z))), style mixing 0.9, random noise), the D
step (softplus(D(G(z))) + softplus(-D(x))), every 16th iteration the lazy R1 step (gamma/2 |grad_x
D(x)|^2 times 16 by create_graph, the minibatch statistic detached as sdk/stylegan2 does), then
G_ema. Adam (0.0025, betas 0, 0.99; D with the lazy correction c = 16/17: lr * c, betas^c), gamma
'auto' = 0.0002 S^2 / batch, G_ema half-life batch * 10/32 kimg with ramp-up 0.05. The modulated
convolutions run in the reference's non-fused form, the one it trains with.

Benchmark task (configs "28", "32", "64": the small setting, W = 8, C = 64, Z = 32, M = 2):
    train_stylegan2  one lazy cycle of 16 iterations (the first with R1) on synthetic real batches;
                     an item is a real image consumed: items/s = 16 * batch / seconds per cycle.
"""

import math

import torch
from torch import nn
import torch.nn.functional as F

SQRT2 = math.sqrt(2)
SLOPE, GROUP = 0.2, 4
LR, BETAS, EPS = 0.0025, (0.0, 0.99), 1e-8
R1_INTERVAL, MIXING, W_AVG_BETA, EMA_RAMPUP = 16, 0.9, 0.995, 0.05
TASKS = ("train_stylegan2",)


class Config:
    """One model: image size S, width W, channel cap C, z and w size Z, M mapping layers."""

    def __init__(self, size, width=8, max_channels=64, zdim=32, mapping=2):
        if size not in (28, 32, 64):
            raise ValueError(f"stylegan2_ref: image size {size} not one of 28, 32, 64")
        self.size, self.width, self.max_channels = size, width, max_channels
        self.z_dim = self.w_dim = zdim
        self.mapping = mapping
        r = 7 if size == 28 else 4
        self.res = []
        while r <= size:
            self.res.append(r)
            r *= 2
        self.num_ws = 2 * len(self.res)

    def ch(self, r):
        return min(self.width * self.size // r, self.max_channels)

    def __repr__(self):
        return f"Config(size={self.size}, width={self.width}, max_channels={self.max_channels}, zdim={self.z_dim})"


CONFIGS = {"28": Config(28), "32": Config(32), "64": Config(64)}


def fir(gain):
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = torch.outer(f, f)
    return f / f.sum() * gain


FIR_UP, FIR_DOWN = fir(4), fir(1)


def upfirdn2d(x, f, up=1, down=1, pad=(0, 0)):
    """The reference's upfirdn2d on the CPU: zeros inserted, padded, a grouped 2-D filter."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    x = F.conv2d(x, f.flip([0, 1]).view(1, 1, *f.shape).repeat(c, 1, 1, 1), groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


def lrelu(x, gain=SQRT2):
    return F.leaky_relu(x, SLOPE) * gain


class Dense(nn.Module):
    def __init__(self, fin, fout, act, lr_mult=1.0, bias_init=0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fout, fin) / lr_mult)
        self.bias = nn.Parameter(torch.full([fout], float(bias_init)))
        self.wg, self.bg, self.act = lr_mult / math.sqrt(fin), lr_mult, act

    def forward(self, x):
        y = F.linear(x, self.weight * self.wg, self.bias * self.bg)
        return lrelu(y) if self.act else y


class SynthLayer(nn.Module):
    def __init__(self, cin, cout, w_dim, up):
        super().__init__()
        self.affine = Dense(w_dim, cin, False, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, 3, 3))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.up = up

    def forward(self, x, w, noise):
        n = x.shape[0]
        s = self.affine(w)
        x = x * s.view(n, -1, 1, 1)
        if self.up:
            x = F.conv_transpose2d(x, self.weight.transpose(0, 1), stride=2)
            x = upfirdn2d(x, FIR_UP, pad=(1, 1))
        else:
            x = F.conv2d(x, self.weight, padding=1)
        d = ((self.weight.unsqueeze(0) * s.view(n, 1, -1, 1, 1)).square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
        x = x * d.view(n, -1, 1, 1) + noise * self.noise_strength
        return lrelu(x + self.bias.view(1, -1, 1, 1))


class ToRGB(nn.Module):
    def __init__(self, cin, w_dim):
        super().__init__()
        self.affine = Dense(w_dim, cin, False, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(1, cin, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1))
        self.gain = 1 / math.sqrt(cin)

    def forward(self, x, w):
        s = self.affine(w) * self.gain
        return F.conv2d(x * s.view(x.shape[0], -1, 1, 1), self.weight) + self.bias.view(1, -1, 1, 1)


class Generator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        dims = [cfg.z_dim] + [cfg.w_dim] * cfg.mapping
        self.mapping = nn.ModuleList([Dense(a, b, True, lr_mult=0.01) for a, b in zip(dims[:-1], dims[1:])])
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))
        rs = cfg.res
        self.const = nn.Parameter(torch.randn(cfg.ch(rs[0]), rs[0], rs[0]))
        self.convs, self.torgb, self.noise_res = nn.ModuleList(), nn.ModuleList(), []
        for k, r in enumerate(rs):
            if k > 0:
                self.convs.append(SynthLayer(cfg.ch(rs[k - 1]), cfg.ch(r), cfg.w_dim, True))
                self.noise_res.append(r)
            self.convs.append(SynthLayer(cfg.ch(r), cfg.ch(r), cfg.w_dim, False))
            self.noise_res.append(r)
            self.torgb.append(ToRGB(cfg.ch(r), cfg.w_dim))

    def map(self, z, update_avg):
        x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for layer in self.mapping:
            x = layer(x)
        if update_avg:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, W_AVG_BETA))
        return x

    def forward(self, z1, z2, cut, noise):
        """Training mode: style mixing of z1 and z2 at cut, the given noise planes."""
        w1, w2 = self.map(z1, True), self.map(z2, False)
        ws = w1.unsqueeze(1).repeat(1, self.cfg.num_ws, 1)
        ws[:, cut:] = w2.unsqueeze(1).repeat(1, self.cfg.num_ws - cut, 1)
        x = self.const.unsqueeze(0).repeat(z1.shape[0], 1, 1, 1)
        img, li = None, 0
        for k in range(len(self.cfg.res)):
            layers = [(self.convs[li], 0)] if k == 0 else [(self.convs[li], 2 * k - 1), (self.convs[li + 1], 2 * k)]
            for layer, wi in layers:
                x = layer(x, ws[:, wi], noise[li])
                li += 1
            y = self.torgb[k](x, ws[:, 2 * k + 1])
            img = y if img is None else upfirdn2d(img, FIR_UP, up=2, pad=(2, 1)) + y
        return img


class ConvLayer(nn.Module):
    def __init__(self, cin, cout, k, act=True, down=False, bias=True, gain=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.wg, self.act, self.down, self.gain = 1 / math.sqrt(cin * k * k), act, down, gain

    def forward(self, x):
        w = self.weight * self.wg
        if self.down and w.shape[2] == 1:
            x = F.conv2d(upfirdn2d(x, FIR_DOWN, down=2, pad=(1, 1)), w)
        elif self.down:
            x = F.conv2d(upfirdn2d(x, FIR_DOWN, pad=(2, 2)), w, stride=2)
        else:
            x = F.conv2d(x, w, padding=w.shape[2] // 2)
        if self.bias is not None:
            x = x + self.bias.view(1, -1, 1, 1)
        return lrelu(x, SQRT2 * self.gain) if self.act else x * self.gain


class Discriminator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        rs, h = cfg.res, math.sqrt(0.5)
        self.fromrgb = ConvLayer(1, cfg.ch(cfg.size), 1)
        self.blocks = nn.ModuleList()
        for k in range(len(rs) - 1, 0, -1):
            c, co = cfg.ch(rs[k]), cfg.ch(rs[k - 1])
            self.blocks.append(nn.ModuleList([ConvLayer(c, co, 1, act=False, down=True, bias=False, gain=h),
                                              ConvLayer(c, c, 3), ConvLayer(c, co, 3, down=True, gain=h)]))
        c0, r0 = cfg.ch(rs[0]), rs[0]
        self.conv = ConvLayer(c0 + 1, c0, 3)
        self.fc = Dense(c0 * r0 * r0, c0, True)
        self.out = Dense(c0, 1, False)

    def forward(self, x, detach_stat=False):
        h = self.fromrgb(x)
        for skip, conv0, conv1 in self.blocks:
            h = skip(h) + conv1(conv0(h))
        n, c, hh, ww = h.shape
        g = min(GROUP, n)
        y = h.reshape(g, -1, 1, c, hh, ww)
        y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1).repeat(g)
        if detach_stat:
            y = y.detach()
        h = torch.cat([h, y.view(n, 1, 1, 1).expand(n, 1, hh, ww)], dim=1)
        return self.out(self.fc(self.conv(h).flatten(1))).view(-1)


def build(cfg):
    return Generator(cfg), Discriminator(cfg)


def train_step_fn(cfg, batch, seed):
    """Returns a function running one lazy cycle (R1_INTERVAL iterations, the first with R1)."""
    torch.manual_seed(seed)
    g, d = build(cfg)
    g_ema, _ = build(cfg)
    g_ema.load_state_dict(g.state_dict())
    g_ema.requires_grad_(False)
    c = R1_INTERVAL / (R1_INTERVAL + 1)
    opt_g = torch.optim.Adam(g.parameters(), lr=LR, betas=BETAS, eps=EPS)
    opt_d = torch.optim.Adam(d.parameters(), lr=LR * c, betas=[b ** c for b in BETAS], eps=EPS)
    gamma = 0.0002 * cfg.size ** 2 / batch
    rng = torch.Generator().manual_seed(seed)
    shape = (batch, 1, cfg.size, cfg.size)
    state = {"images": 0}

    def inputs():
        z1 = torch.randn((batch, cfg.z_dim), generator=rng)
        z2 = torch.randn((batch, cfg.z_dim), generator=rng)
        cut = int(torch.randint(1, cfg.num_ws, [], generator=rng))
        if float(torch.rand([], generator=rng)) >= MIXING:
            cut = cfg.num_ws
        noise = [torch.randn((batch, 1, r, r), generator=rng) for r in g.noise_res]
        return z1, z2, cut, noise

    def iteration(reg):
        real = torch.rand(shape, generator=rng) * 2 - 1  # synthetic real batch
        # G step.
        d.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        loss_g = F.softplus(-d(g(*inputs()))).mean()
        loss_g.backward()
        opt_g.step()
        d.requires_grad_(True)
        # D step.
        g.requires_grad_(False)
        with torch.no_grad():
            fake = g(*inputs())
        g.requires_grad_(True)
        opt_d.zero_grad(set_to_none=True)
        loss_d = F.softplus(d(fake)).mean() + F.softplus(-d(real)).mean()
        loss_d.backward()
        opt_d.step()
        # Lazy R1.
        if reg:
            opt_d.zero_grad(set_to_none=True)
            x = real.detach().requires_grad_(True)
            (gx,) = torch.autograd.grad(d(x, detach_stat=True).sum(), x, create_graph=True)
            (gx.square().sum(dim=[1, 2, 3]).mean() * (gamma / 2) * R1_INTERVAL).backward()
            opt_d.step()
        # G_ema.
        n = min(batch * 10 / 32 * 1000, state["images"] * EMA_RAMPUP)
        beta = 0.5 ** (batch / max(n, 1e-8))
        with torch.no_grad():
            for pe, p in zip(g_ema.parameters(), g.parameters()):
                pe.copy_(p.lerp(pe, beta))
            g_ema.w_avg.copy_(g.w_avg)
        state["images"] += batch
        return loss_g.item() + loss_d.item()

    def step():
        return sum(iteration(i == 0) for i in range(R1_INTERVAL))

    return step


STEP_FNS = {"train_stylegan2": train_step_fn}
# Items per timed step: real images consumed by one lazy cycle, per batch element.
ITEMS_PER_BATCH = {"train_stylegan2": R1_INTERVAL}

if __name__ == "__main__":
    import argparse
    import statistics
    import sys
    import time

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--configs", default="32")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.configs.split(","):
        step = train_step_fn(CONFIGS[name], args.batch, args.seed)
        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        items = ITEMS_PER_BATCH["train_stylegan2"] * args.batch / med
        print(f"stylegan2_ref: train_stylegan2 {name} batch {args.batch}: {items:.2f} items/s, median cycle "
              f"{med * 1e3:.0f} ms over {args.reps} reps (min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f})",
              file=sys.stderr)
