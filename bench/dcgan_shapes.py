"""Shapes and analytical FLOP counts of the AnoGAN DCGAN, shared by torch_ref.py and run.py.

This module needs no torch: the harness uses it to compute GFLOP/s for every implementation
from one formula, so that the torch and anogo rows are comparable by construction.

Architecture (AnoGAN, Schlegl et al. 2017, Sec. 2.1; DCGAN of Radford et al.): image size S,
base width w, latent size nz.
    s0 = 7 if S == 28 else 4, L = log2(S / s0) layers, c_i = w * 2^(L-1-i), i = 0..L-1.
    Generator:     Linear(nz -> c0*s0*s0) -> BN -> ReLU, then L 5x5 stride-2 transposed
                   convolutions c0 -> c1 -> ... -> c_{L-1} -> 1, the last one followed by tanh.
    Discriminator: L 5x5 stride-2 convolutions 1 -> w -> 2w -> ... -> w*2^(L-1) (f(x) is the
                   output of the last one), then Linear(w*2^(L-1)*s0*s0 -> 1).

FLOP counting (per image; every count is linear in the batch size):
    A convolution or linear layer costs MACs multiply-adds and 2*MACs FLOPs forward.
        Conv2d:          MACs = Cout * Hout * Wout * Cin * k * k
        ConvTranspose2d: MACs = Cin  * Hin  * Win  * Cout * k * k  (each input pixel is
                         scattered to a k x k patch of every output channel; with stride 2 and
                         Hout = 2 Hin this equals Cout*Hout*Wout*Cin*k*k / 4)
        Linear:          MACs = in * out
    Backward costs 2*MACs for the gradient with respect to the layer input (skipped when the input
    does not require a gradient: real images, z in training) plus 2*MACs for the gradient with
    respect to the weights (skipped when the weights are frozen). BatchNorm, activations, losses
    and Adam updates are element-wise and not counted (under 1% of the total at these sizes).

    With Fg, Fd the forward FLOPs of G and D (Fd with the final linear, Fdc without it) and Fg0,
    Fd0 the forward FLOPs of G's first (linear) and D's first (conv) layer:
        train = Fg                        G forward
              + 2 Fd                      D forward on the real and the fake batch
              + 2 (2 Fd - Fd0)            D backward for both: weights, and inputs after layer 0
              + Fd + Fd                   G step: D forward on the fake batch, input gradients
                                          only (D's weights are frozen during the G step)
              + Fg + (Fg - Fg0)           G backward: weights, and inputs after the linear
              = 3 Fg - Fg0 + 8 Fd - 2 Fd0     per training image
        map   = Fg + Fdc                  forward G(z) and f(G(z)) (f(x) is computed once)
              + Fg + Fdc                  input gradients down to z; G and D frozen
              = 2 Fg + 2 Fdc              per query image per mapping step
        infer = Fg + Fd                   G(z) for one latent plus D(x) (logit and f) for one image
"""

from dataclasses import dataclass

KERNEL = 5
TASKS = ("train", "map", "infer")


@dataclass(frozen=True)
class Config:
    """One model configuration: image size S, base width w, latent size nz."""

    size: int
    width: int = 64
    nz: int = 100

    @property
    def s0(self):
        """Spatial size of G's first feature map and of f(x)."""
        return 7 if self.size == 28 else 4

    @property
    def layers(self):
        """L = log2(S / s0): the number of (transposed) convolutions in G and in D."""
        ratio = self.size // self.s0
        if self.size % self.s0 or ratio & (ratio - 1) or ratio < 2:
            raise ValueError(f"dcgan_shapes: image size {self.size} is not s0 * 2^L")
        return ratio.bit_length() - 1

    @property
    def gen_channels(self):
        """c_i = w * 2^(L-1-i): G's feature channels, widest first (64x64: 512, 256, 128, 64)."""
        n = self.layers
        return [self.width * 2 ** (n - 1 - i) for i in range(n)]

    @property
    def disc_channels(self):
        """w * 2^i: D's convolution output channels (64x64: 64, 128, 256, 512)."""
        return [self.width * 2**i for i in range(self.layers)]

    @property
    def feature_size(self):
        """Number of values in f(x) for one image: w * 2^(L-1) * s0 * s0."""
        return self.disc_channels[-1] * self.s0 * self.s0


# CONFIGS are the benchmarked configurations, named by image size.
CONFIGS = {
    "64": Config(size=64),
    "32": Config(size=32),
    "28": Config(size=28),
}


def gen_layer_macs(cfg):
    """Multiply-adds of G's layers for one latent, in execution order: [linear, convT...]."""
    c, s = cfg.gen_channels, cfg.s0
    macs = [cfg.nz * c[0] * s * s]
    outs = c[1:] + [1]
    for i, cout in enumerate(outs):
        hin = s * 2**i
        macs.append(c[i] * hin * hin * cout * KERNEL * KERNEL)
    return macs


def disc_layer_macs(cfg):
    """Multiply-adds of D's layers for one image, in execution order: [conv..., linear]."""
    macs = []
    cin = 1
    for i, cout in enumerate(cfg.disc_channels):
        hout = cfg.size // 2 ** (i + 1)
        macs.append(cout * hout * hout * cin * KERNEL * KERNEL)
        cin = cout
    macs.append(cfg.feature_size)
    return macs


def flops(cfg, task):
    """FLOPs of one item of task for cfg, by the formulas in the module docstring.

    An item is one training image (train), one query image advanced by one mapping step (map),
    or one generated plus one discriminated image (infer).
    """
    g = [2 * m for m in gen_layer_macs(cfg)]
    d = [2 * m for m in disc_layer_macs(cfg)]
    fg, fd, fdc = sum(g), sum(d), sum(d[:-1])
    if task == "train":
        return 3 * fg - g[0] + 8 * fd - 2 * d[0]
    if task == "map":
        return 2 * fg + 2 * fdc
    if task == "infer":
        return fg + fd
    raise ValueError(f"dcgan_shapes: unknown task {task!r} (want one of {', '.join(TASKS)})")


def sgemm_flops(n):
    """FLOPs of one n x n x n single-precision matrix product: 2 n^3."""
    return 2 * n**3
