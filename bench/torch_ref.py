#!/usr/bin/python3
"""PyTorch CPU reference for the anogo benchmark: the AnoGAN DCGAN, trained, mapped and run.

Run with Debian's /usr/bin/python3 (torch 1.13, CPU, float32). The models mirror the SDK's:
see dcgan_shapes.py for the architecture and the FLOP formulas. Inputs are synthetic (uniform in
[-1, 1], seeded): speed does not depend on the pixel values.

Tasks and what one item is (items_per_s in the CSV):
  train  one DCGAN step on a batch (D step on a real and a fake batch, then G step with the
         non-saturating loss, AnoGAN Eq. 2); items/s = training images per second = batch / step.
  map    one mapping step (AnoGAN Sec. 2.2) on a batch of query images: forward, backward to z,
         Adam update of z, clamp to [-1, 1]; items/s = query images advanced by one step per
         second = batch * steps/s. Steps/s (items/s / batch) is printed on stderr; the paper
         uses 500 steps per query, so images fully mapped per second = items/s / 500.
  infer  eval mode, no gradients: G(z) for a batch of latents plus D(x) (logit and f(x)) for a
         batch of images; items/s = batch / time of both.
  train_fanogan   f-AnoGAN's WGAN-GP cycle (fanogan_ref.py): 5 critic steps with the gradient
         penalty, then one generator step; items/s = real images consumed = 5 * batch / cycle.
  encode_fanogan  f-AnoGAN's one-pass scoring (fanogan_ref.py): E, G and f on a batch in eval
         mode, izi_f score per image; items/s = images scored per second.
  The f-AnoGAN tasks have their own configs: 64 (S=64, W=16, Z=128) and 28 (S=28, W=32, Z=128).
  train_jointenc, encode_jointenc  the jointly trained encoder (jointenc_ref.py): one joint step
         (D with WGAN-GP and drift, G, E) at the full resolution; the one-pass scoring.
  train_dpa, encode_dpa  the perceptual autoencoder (dpa_ref.py): one Adam step on the relative
         perceptual loss through VGG19's trunk at the image size; the scoring with its maps.
  train_stylegan2  StyleGAN2 (stylegan2_ref.py): one lazy cycle of 16 iterations (G step, D step,
         G_ema), the first with R1 through create_graph; items/s = 16 * batch / cycle.
  Every model reference module (MODEL_REFS) has the same shape: TASKS, CONFIGS, STEP_FNS,
  ITEMS_PER_BATCH; its tasks run on its own configs.

Each (task, config) is measured in its own process (when more than one is asked for), so that
peak_rss_mb (getrusage max RSS) is per task. Output: CSV with the columns
task,config,impl,items_per_s,ratio_vs_torch,gflops,peak_rss_mb (impl "torch", ratio 1).
"""

import argparse
import csv
import io
import os
import resource
import statistics
import subprocess
import sys
import time

# torch's OpenMP workers spin between parallel regions by default; this build runs transposed
# convolutions through OpenBLAS, whose own threads then compete with the spinning workers for the
# same cores (training at 64x64 measured about 2.6x slower). Sleeping workers avoid that. Set before
# torch starts its thread pool; an OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dcgan_shapes import CONFIGS, TASKS, flops  # noqa: E402
import fanogan_ref  # noqa: E402
import jointenc_ref  # noqa: E402
import dpa_ref  # noqa: E402
import stylegan2_ref  # noqa: E402

# The methods' reference modules: each has TASKS, CONFIGS (its own models by config name),
# STEP_FNS (task -> function(config, batch, seed) returning a step) and ITEMS_PER_BATCH (items
# per batch element of one step).
MODEL_REFS = (fanogan_ref, jointenc_ref, dpa_ref, stylegan2_ref)
MODEL_TASKS = {t: m for m in MODEL_REFS for t in m.TASKS}
FANOGAN_TASKS = fanogan_ref.TASKS
ALL_TASKS = tuple(TASKS) + tuple(MODEL_TASKS)

COLUMNS = ["task", "config", "impl", "items_per_s", "ratio_vs_torch", "gflops", "peak_rss_mb"]

# Optimiser and loss settings of the benchmark (DCGAN recipe; AnoGAN Sec. 2.2 for mapping).
TRAIN_LR, TRAIN_BETAS = 2e-4, (0.5, 0.999)
MAP_LR, MAP_BETAS = 0.01, (0.9, 0.999)
LAMBDA = 0.1  # AnoGAN Eq. 5: L = (1 - lambda) L_R + lambda L_D
LEAK = 0.2
BN_MOMENTUM, BN_EPS = 0.1, 1e-5

# Default warm-up and timed repetitions per config and task: enough for a stable median within a
# few seconds per (task, config) on 2 cores.
DEFAULT_REPS = {
    "64": {"train": 5, "map": 10, "infer": 10, "train_fanogan": 2, "encode_fanogan": 5,
           "train_jointenc": 3, "encode_jointenc": 5, "train_dpa": 3, "encode_dpa": 5,
           "train_stylegan2": 2},
    "32": {"train": 10, "map": 20, "infer": 20, "train_stylegan2": 3},
    "28": {"train": 20, "map": 40, "infer": 40, "train_fanogan": 2, "encode_fanogan": 10,
           "train_jointenc": 5, "encode_jointenc": 10, "train_dpa": 5, "encode_dpa": 10,
           "train_stylegan2": 3},
}
DEFAULT_WARMUP = 2
# A WGAN-GP cycle takes seconds (64x64: about 16 s on a shared 2-core machine): one warm-up.
TASK_WARMUP = {t: 1 for t in MODEL_TASKS}


class Generator(nn.Module):
    """DCGAN generator: z [N, nz] -> image [N, 1, S, S] in [-1, 1]."""

    def __init__(self, cfg):
        super().__init__()
        c, s0 = cfg.gen_channels, cfg.s0
        self.c0, self.s0 = c[0], s0
        self.project = nn.Linear(cfg.nz, c[0] * s0 * s0, bias=False)
        self.bn0 = nn.BatchNorm2d(c[0], eps=BN_EPS, momentum=BN_MOMENTUM)
        blocks = []
        for cin, cout in zip(c[:-1], c[1:]):
            blocks += [
                nn.ConvTranspose2d(cin, cout, 5, 2, 2, output_padding=1, bias=False),
                nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM),
                nn.ReLU(),
            ]
        blocks += [nn.ConvTranspose2d(c[-1], 1, 5, 2, 2, output_padding=1, bias=True), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, z):
        h = self.project(z).view(-1, self.c0, self.s0, self.s0)
        return self.blocks(F.relu(self.bn0(h)))


class Discriminator(nn.Module):
    """DCGAN discriminator: image [N, 1, S, S] -> (logit [N, 1], f(x) [N, w*2^(L-1), s0, s0])."""

    def __init__(self, cfg):
        super().__init__()
        layers, cin = [], 1
        for i, cout in enumerate(cfg.disc_channels):
            first = i == 0
            layers.append(nn.Conv2d(cin, cout, 5, 2, 2, bias=first))
            if not first:
                layers.append(nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM))
            layers.append(nn.LeakyReLU(LEAK))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classify = nn.Linear(cfg.feature_size, 1, bias=True)

    def forward(self, x):
        f = self.features(x)
        return self.classify(f.flatten(1)), f


def init_weights(module):
    """DCGAN initialisation: conv/linear weights N(0, 0.02), BN weights N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build(cfg, seed):
    """Returns (G, D, rng) initialised from seed; rng seeds every later random draw."""
    torch.manual_seed(seed)
    g, d = Generator(cfg), Discriminator(cfg)
    g.apply(init_weights)
    d.apply(init_weights)
    rng = torch.Generator().manual_seed(seed)
    return g, d, rng


def uniform(shape, rng):
    """Values uniform on [-1, 1]: latents z (AnoGAN Sec. 2.1) and synthetic images."""
    return torch.rand(shape, generator=rng) * 2 - 1


def train_step_fn(cfg, batch, seed):
    """Returns a function doing one DCGAN training step on a fixed synthetic real batch."""
    g, d, rng = build(cfg, seed)
    g.train()
    d.train()
    opt_g = torch.optim.Adam(g.parameters(), lr=TRAIN_LR, betas=TRAIN_BETAS)
    opt_d = torch.optim.Adam(d.parameters(), lr=TRAIN_LR, betas=TRAIN_BETAS)
    real = uniform((batch, 1, cfg.size, cfg.size), rng)
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        z = uniform((batch, cfg.nz), rng)
        fake = g(z)
        # D step: real and fake batches through D separately (BatchNorm statistics per batch).
        opt_d.zero_grad(set_to_none=True)
        loss_d = F.binary_cross_entropy_with_logits(d(real)[0], ones)
        loss_d = loss_d + F.binary_cross_entropy_with_logits(d(fake.detach())[0], zeros)
        loss_d.backward()
        opt_d.step()
        # G step, non-saturating loss -log D(G(z)) (AnoGAN Eq. 2), on the same fake batch.
        # D's weights are frozen meanwhile: the same result, without unused weight gradients.
        d.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        loss_g = F.binary_cross_entropy_with_logits(d(fake)[0], ones)
        loss_g.backward()
        opt_g.step()
        d.requires_grad_(True)
        return loss_d.item() + loss_g.item()

    return step


def map_step_fn(cfg, batch, seed, queries=None):
    """Returns a function doing one mapping step (AnoGAN Sec. 2.2) for a batch of queries.

    queries [batch, 1, S, S] are the images to map; None means synthetic uniform ones.
    """
    g, d, rng = build(cfg, seed)
    g.eval()
    d.eval()
    g.requires_grad_(False)
    d.requires_grad_(False)
    x = uniform((batch, 1, cfg.size, cfg.size), rng) if queries is None else queries
    with torch.no_grad():
        fx = d(x)[1]  # f(x) once per query, not per step
    z = uniform((batch, cfg.nz), rng).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=MAP_LR, betas=MAP_BETAS)

    def step():
        opt.zero_grad(set_to_none=True)
        gz = g(z)
        residual = (x - gz).abs().sum()  # L_R, AnoGAN Eq. 3
        discrimination = (fx - d(gz)[1]).abs().sum()  # L_D, AnoGAN Eq. 4 (feature matching)
        loss = (1 - LAMBDA) * residual + LAMBDA * discrimination  # AnoGAN Eq. 5
        loss.backward()
        opt.step()
        with torch.no_grad():
            z.clamp_(-1, 1)
        return loss.item()

    return step


def infer_step_fn(cfg, batch, seed):
    """Returns a function running G on a batch of latents and D on a batch of images."""
    g, d, rng = build(cfg, seed)
    g.eval()
    d.eval()
    x = uniform((batch, 1, cfg.size, cfg.size), rng)
    z = uniform((batch, cfg.nz), rng)

    def step():
        with torch.no_grad():
            gz = g(z)
            logit, f = d(x)
        return float(gz[0, 0, 0, 0] + logit[0, 0] + f[0, 0, 0, 0])

    return step


STEP_FNS = {"train": train_step_fn, "map": map_step_fn, "infer": infer_step_fn}


def measure(task, config, batch, warmup, reps, seed=1):
    """Times reps steps after warmup ones; returns (items/s from the median step, step times)."""
    if task in MODEL_TASKS:
        ref = MODEL_TASKS[task]
        step = ref.STEP_FNS[task](ref.CONFIGS[config], batch, seed)
        batch *= ref.ITEMS_PER_BATCH[task]
    else:
        step = STEP_FNS[task](CONFIGS[config], batch, seed)
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return batch / statistics.median(times), times


def peak_rss_mb():
    """Peak resident set size of this process in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row(task, config, items_per_s, rss):
    """One CSV row of the torch reference; GFLOP/s from the analytical count (none for f-AnoGAN)."""
    gflops = ""
    if task not in MODEL_TASKS:
        gflops = f"{flops(CONFIGS[config], task) * items_per_s / 1e9:.2f}"
    return [task, config, "torch", f"{items_per_s:.2f}", "1.000", gflops, f"{rss:.0f}"]


def run_one(args, task, config):
    """Measures one (task, config) in this process and returns its CSV row."""
    reps = args.reps or DEFAULT_REPS[config].get(task, 3)
    warmup = TASK_WARMUP.get(task, DEFAULT_WARMUP) if args.warmup is None else args.warmup
    items, times = measure(task, config, args.batch, warmup, reps, args.seed)
    steps = "cycles" if task == "train_fanogan" else "steps"
    print(
        f"torch_ref: {task} {config}: {items:.2f} items/s, {1 / statistics.median(times):.3f} "
        f"{steps}/s, "
        f"median step {statistics.median(times) * 1e3:.1f} ms over {reps} reps "
        f"(min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f})",
        file=sys.stderr,
    )
    return row(task, config, items, peak_rss_mb())


def run_child(args, task, config):
    """Measures one (task, config) in a fresh process so that its peak RSS is its own."""
    cmd = [sys.executable, os.path.abspath(__file__), "--tasks", task, "--configs", config,
           "--threads", str(args.threads), "--batch", str(args.batch), "--seed", str(args.seed)]
    if args.reps:
        cmd += ["--reps", str(args.reps)]
    if args.warmup is not None:
        cmd += ["--warmup", str(args.warmup)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, env=thread_env(args.threads), check=False)
    if out.returncode != 0:
        raise SystemExit(f"torch_ref: {task} {config} failed with exit status {out.returncode}")
    rows = list(csv.reader(io.StringIO(out.stdout.decode())))
    return rows[1]


def thread_env(threads):
    """The environment with OpenMP limited to threads, set before torch starts its pool."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def parse_list(value, allowed, what):
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(bad) or '(none)'}; want some of {', '.join(allowed)}")
    return items


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", default=",".join(ALL_TASKS),
                   type=lambda v: parse_list(v, ALL_TASKS, "task"), help="comma-separated tasks")
    p.add_argument("--configs", default="64,28",
                   type=lambda v: parse_list(v, list(CONFIGS), "config"),
                   help="comma-separated configs (image sizes): 64, 32, 28")
    p.add_argument("--reps", type=int, default=0,
                   help="timed repetitions per task (0: a default per config and task)")
    p.add_argument("--warmup", type=int, default=None,
                   help=f"untimed warm-up repetitions (default {DEFAULT_WARMUP}; 1 for the "
                        "f-AnoGAN tasks)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--batch", type=int, default=64, help="batch size")
    p.add_argument("--seed", type=int, default=1, help="seed of weights and synthetic data")
    p.add_argument("--quick", action="store_true", help="1 warm-up and 2 timed reps (smoke test)")
    p.add_argument("--out", default="-", help="CSV file to write (default stdout)")
    args = p.parse_args(argv)
    if args.quick:
        args.reps, args.warmup = 2, 1
    if args.reps < 0 or (args.warmup is not None and args.warmup < 0):
        p.error("--reps and --warmup must not be negative")
    if args.threads < 1 or args.batch < 1:
        p.error("--threads and --batch must be at least 1")
    bad = [(t, c) for t in args.tasks if t in MODEL_TASKS for c in args.configs
           if c not in MODEL_TASKS[t].CONFIGS]
    if bad and len(args.tasks) * len(args.configs) == 1:
        t, c = bad[0]
        p.error(f"{t} {c}: {t} has configs {', '.join(MODEL_TASKS[t].CONFIGS)}")
    return args


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    jobs = []
    for c in args.configs:
        for t in args.tasks:
            if t in MODEL_TASKS and c not in MODEL_TASKS[t].CONFIGS:
                print(f"torch_ref: {t} {c} skipped: {t} has configs "
                      f"{', '.join(MODEL_TASKS[t].CONFIGS)}", file=sys.stderr)
                continue
            jobs.append((t, c))
    if len(jobs) == 1:
        rows = [run_one(args, *jobs[0])]
    else:
        rows = [run_child(args, t, c) for t, c in jobs]
    if args.out != "-":
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    out = sys.stdout if args.out == "-" else open(args.out, "w", newline="")
    try:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    main(sys.argv[1:])
