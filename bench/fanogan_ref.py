"""f-AnoGAN (Schlegl et al. 2019) in PyTorch: the model, its losses, and two benchmark tasks.

The model is the WGAN-GP ResNet (Gulrajani et al. 2017) that f-AnoGAN trains, exactly as
sdk/fanogan builds it; sdk/fanogan/testdata/make_fixture.py imports this module, so the parameter
names below are the fixture's. Images are 1 x S x S in [-1, 1], S in {28, 32, 64}; width W,
latent size Z (the paper: W = 64, Z = 128).

    S -> (s0, L):  64 -> (4, 4),  32 -> (4, 3),  28 -> (7, 2)
    d_in[i] = W * min(2^i, 8), d_out[i] = W * min(2^(i+1), 8), i < L;  F = d_out[L-1] * s0^2
    gch = [d_out[L-1]] + reversed(d_in)  (64: 8W 8W 4W 2W W; 32: 8W 4W 2W W; 28: 4W 2W W)

    G: input Linear(Z -> gch[0] s0^2) -> [N, gch[0], s0, s0]; blocks.j UpBlock gch[j] -> gch[j+1];
       out_bn BatchNorm2d(W), ReLU, out_conv 3x3 (W -> 1), tanh.
    D: input Conv 3x3 (1 -> W); blocks.i DownBlock d_in[i] -> d_out[i] with per-sample LayerNorm
       (ln1, ln2); f(x) = the last block's output flattened (F values, NCHW order);
       output Linear(F -> 1), no sigmoid.
    E: D's trunk with BatchNorm2d (bn1, bn2) in place of the LayerNorms, output Linear(F -> Z),
       tanh.

    UpBlock:   conv2(relu(bn2(conv1(up(relu(bn1(x))))))) + shortcut(up(x)), up = nearest 2x
    DownBlock: pool(conv2(relu(n2(conv1(relu(n1(x))))))) + shortcut(pool(x)), pool = 2x2 mean
    conv1, conv2: 3x3, padding 1 (conv1 without bias); shortcut: 1x1 with bias. In G conv1 maps
    C_in -> C_out; in D and E conv1 keeps C_in channels and conv2 maps C_in -> C_out.

Benchmark tasks (bench/torch_ref.py runs them; configs "64": S=64, W=32, Z=128 and "28": S=28,
W=32, Z=128):
    train_fanogan   one WGAN-GP cycle: 5 critic steps, each on a fresh real batch with
                    L_D = mean D(G(z)) - mean D(x) + lambda * gradient penalty (create_graph),
                    then one generator step with L_G = -mean D(G(z)); Adam (1e-4, betas 0, 0.9).
                    An item is a real image consumed: items/s = 5 * batch / seconds per cycle.
    encode_fanogan  eval mode, no gradients: z = E(x), xr = G(z), f(x), f(xr) and the izi_f anomaly
                    score of every image of a batch; items/s = images scored per second.
"""

import torch
from torch import nn
import torch.nn.functional as F

BN_MOMENTUM, EPS = 0.1, 1e-5
LAMBDA = 10.0  # gradient penalty weight (WGAN-GP)
KAPPA = 1.0  # weight of the feature residual in izi_f (f-AnoGAN)
N_CRITIC = 5  # critic steps per generator step
LR, BETAS = 1e-4, (0.0, 0.9)
TASKS = ("train_fanogan", "encode_fanogan")


class Config:
    """One f-AnoGAN model: image size S, width W, latent size Z."""

    BASE = {64: (4, 4), 32: (4, 3), 28: (7, 2)}

    def __init__(self, size, width=64, latent=128):
        if size not in self.BASE:
            raise ValueError(f"fanogan_ref: image size {size} not one of 28, 32, 64")
        self.size, self.width, self.latent = size, width, latent
        self.s0, self.blocks = self.BASE[size]
        w, n = width, self.blocks
        self.d_in = [w * min(2**i, 8) for i in range(n)]
        self.d_out = [w * min(2 ** (i + 1), 8) for i in range(n)]
        self.g_channels = [self.d_out[-1]] + self.d_in[::-1]
        self.feature_size = self.d_out[-1] * self.s0 * self.s0

    def __repr__(self):
        return f"Config(size={self.size}, width={self.width}, latent={self.latent})"


# The benchmarked configurations, named by image size.
CONFIGS = {"64": Config(64, 32, 128), "28": Config(28, 32, 128)}


def relu(x):
    """The model's ReLU (a module-level name so that the fixture can watch its inputs)."""
    return F.relu(x)


def up2(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


class ChannelLayerNorm(nn.Module):
    """Normalises each sample over (C, H, W) (biased variance); scale and shift per channel."""

    def __init__(self, channels, eps=EPS):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        y = F.layer_norm(x, x.shape[1:], eps=self.eps)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def batch_norm(channels):
    return nn.BatchNorm2d(channels, eps=EPS, momentum=BN_MOMENTUM)


class UpBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.bn1 = batch_norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn2 = batch_norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=True)
        self.shortcut = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x):
        h = self.conv1(up2(relu(self.bn1(x))))
        return self.conv2(relu(self.bn2(h))) + self.shortcut(up2(x))


class DownBlock(nn.Module):
    """The residual down block: the critic's LayerNorm (ln1, ln2) or the encoder's BN (bn1, bn2)."""

    def __init__(self, cin, cout, layer_norm):
        super().__init__()
        norm = ChannelLayerNorm if layer_norm else batch_norm
        self.names = ("ln1", "ln2") if layer_norm else ("bn1", "bn2")
        # Registered in the order of use, so that state_dict lists them that way.
        setattr(self, self.names[0], norm(cin))
        self.conv1 = nn.Conv2d(cin, cin, 3, padding=1, bias=False)
        setattr(self, self.names[1], norm(cin))
        self.conv2 = nn.Conv2d(cin, cout, 3, padding=1, bias=True)
        self.shortcut = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x):
        n1, n2 = (getattr(self, n) for n in self.names)
        h = self.conv1(relu(n1(x)))
        h = F.avg_pool2d(self.conv2(relu(n2(h))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))


class Generator(nn.Module):
    """z [N, Z] -> image [N, 1, S, S] in [-1, 1]."""

    def __init__(self, cfg):
        super().__init__()
        c, s0 = cfg.g_channels, cfg.s0
        self.c0, self.s0 = c[0], s0
        self.input = nn.Linear(cfg.latent, c[0] * s0 * s0, bias=True)
        self.blocks = nn.ModuleList(UpBlock(a, b) for a, b in zip(c[:-1], c[1:]))
        self.out_bn = batch_norm(cfg.width)
        self.out_conv = nn.Conv2d(cfg.width, 1, 3, padding=1, bias=True)

    def forward(self, z):
        h = self.input(z).view(-1, self.c0, self.s0, self.s0)
        for b in self.blocks:
            h = b(h)
        return torch.tanh(self.out_conv(relu(self.out_bn(h))))


class Trunk(nn.Module):
    """The critic's and the encoder's shared layout: input conv, then the down blocks."""

    def __init__(self, cfg, layer_norm):
        super().__init__()
        self.input = nn.Conv2d(1, cfg.width, 3, padding=1, bias=True)
        self.blocks = nn.ModuleList(DownBlock(a, b, layer_norm)
                                    for a, b in zip(cfg.d_in, cfg.d_out))

    def features(self, x):
        """f(x): the last block's output, flattened per image, [N, F]."""
        h = self.input(x)
        for b in self.blocks:
            h = b(h)
        return h.flatten(1)


class Critic(Trunk):
    """x [N, 1, S, S] -> D(x) [N] (no sigmoid); features(x) is f(x) [N, F]."""

    def __init__(self, cfg):
        super().__init__(cfg, layer_norm=True)
        self.output = nn.Linear(cfg.feature_size, 1, bias=True)

    def forward(self, x):
        return self.output(self.features(x)).view(-1)

    def score_and_features(self, x):
        f = self.features(x)
        return self.output(f).view(-1), f


class Encoder(Trunk):
    """x [N, 1, S, S] -> z [N, Z] in (-1, 1)."""

    def __init__(self, cfg):
        super().__init__(cfg, layer_norm=False)
        self.output = nn.Linear(cfg.feature_size, cfg.latent, bias=True)

    def forward(self, x):
        return torch.tanh(self.output(self.features(x)))


def build(cfg):
    """G, D, E with PyTorch's default initialisation (seed with torch.manual_seed first)."""
    return Generator(cfg), Critic(cfg), Encoder(cfg)


# ---- losses (Gulrajani et al. 2017; Schlegl et al. 2019) ----

def interpolate(real, fake, alpha):
    """xhat_i = real_i + alpha_i (fake_i - real_i)."""
    return real + alpha.view(-1, 1, 1, 1) * (fake - real)


def gradient_penalty(d, xhat, lam=LAMBDA):
    """lam * mean_i (||grad_x D(xhat_i)||_2 - 1)^2 through a differentiable gradient.

    Returns (penalty, grad_x sum_i D(xhat_i)); xhat must require a gradient."""
    (gx,) = torch.autograd.grad(d(xhat).sum(), xhat, create_graph=True)
    norms = gx.flatten(1).norm(dim=1)
    return lam * ((norms - 1) ** 2).mean(), gx


def critic_losses(d, real, fake, alpha, lam=LAMBDA):
    """(mean D(fake) - mean D(real), the penalty); L_D is their sum. fake must be detached."""
    wass = d(fake).mean() - d(real).mean()
    xhat = interpolate(real, fake, alpha).detach().requires_grad_(True)
    gp, _ = gradient_penalty(d, xhat, lam)
    return wass, gp


def generator_loss(d, fake):
    """L_G = -mean D(G(z))."""
    return -d(fake).mean()


def izif_loss(e, g, d, x, kappa=KAPPA):
    """f-AnoGAN's izi_f encoder loss: mean (x - G(E(x)))^2 + kappa mean (f(x) - f(G(E(x))))^2.

    kappa = 0 gives izi. G and D are used as they are (the caller sets G to eval, freezes D)."""
    xr = g(e(x))
    loss = ((x - xr) ** 2).mean()
    if kappa:
        loss = loss + kappa * ((d.features(x) - d.features(xr)) ** 2).mean()
    return loss


def ziz_loss(e, g, z):
    """f-AnoGAN's ziz encoder loss: mean (z - E(G(z)))^2."""
    return ((z - e(g(z))) ** 2).mean()


def izif_score(e, g, d, x, kappa=KAPPA):
    """Per-image anomaly score [N] and the reconstruction G(E(x)) (call in eval mode)."""
    xr = g(e(x))
    pixels = ((x - xr) ** 2).flatten(1).mean(1)
    features = ((d.features(x) - d.features(xr)) ** 2).mean(1)
    return pixels + kappa * features, xr


def cycle_score(e, g, x):
    """Per-image latent-cycle score mean (E(x) - E(G(E(x))))^2 [N] (call in eval mode)."""
    z = e(x)
    return ((z - e(g(z))) ** 2).mean(1)


# ---- benchmark steps ----

def train_step_fn(cfg, batch, seed):
    """Returns a function doing one WGAN-GP cycle (N_CRITIC critic steps, one generator step)."""
    torch.manual_seed(seed)
    g, d, _ = build(cfg)
    g.train()
    d.train()
    opt_g = torch.optim.Adam(g.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(d.parameters(), lr=LR, betas=BETAS)
    rng = torch.Generator().manual_seed(seed)
    shape = (batch, 1, cfg.size, cfg.size)

    def step():
        for _ in range(N_CRITIC):
            real = torch.rand(shape, generator=rng) * 2 - 1  # synthetic real batch
            z = torch.randn((batch, cfg.latent), generator=rng)
            with torch.no_grad():  # the same values as G(z).detach(); G's BN updates its stats
                fake = g(z)
            alpha = torch.rand(batch, generator=rng)
            opt_d.zero_grad(set_to_none=True)
            wass, gp = critic_losses(d, real, fake, alpha)
            loss_d = wass + gp
            loss_d.backward()
            opt_d.step()
        z = torch.randn((batch, cfg.latent), generator=rng)
        d.requires_grad_(False)  # D's weight gradients are not needed for G's step
        opt_g.zero_grad(set_to_none=True)
        loss_g = generator_loss(d, g(z))
        loss_g.backward()
        opt_g.step()
        d.requires_grad_(True)
        return loss_d.item() + loss_g.item()

    return step


def encode_step_fn(cfg, batch, seed):
    """Returns a function that encodes, reconstructs and scores (izi_f) a batch of images."""
    torch.manual_seed(seed)
    g, d, e = build(cfg)
    for m in (g, d, e):
        m.eval()
    rng = torch.Generator().manual_seed(seed)
    x = torch.rand((batch, 1, cfg.size, cfg.size), generator=rng) * 2 - 1

    def step():
        with torch.no_grad():
            score, _ = izif_score(e, g, d, x)
        return float(score.sum())

    return step


STEP_FNS = {"train_fanogan": train_step_fn, "encode_fanogan": encode_step_fn}
# Items per timed step: real images per cycle (train) or images scored (encode), times batch.
ITEMS_PER_BATCH = {"train_fanogan": N_CRITIC, "encode_fanogan": 1}
