#!/usr/bin/python3
"""Times PyTorch's CPU convolutions at the paper's DCGAN layer shapes
(batch 64, 5x5, stride 2, padding 2; ConvTranspose2d with output padding 1)
for comparison with BenchmarkConv2d64 and BenchmarkConvTranspose2d64:

    /usr/bin/python3 bench_torch.py [threads]

For each layer it prints milliseconds and GFLOP/s of the forward pass, the
input gradient (dx) and the weight gradient (dw), each timed alone through
torch.nn.grad / autograd. Last, like BenchmarkDCGAN64, one forward and
backward pass of the paper's DCGAN (G then D, BatchNorm in training mode,
BCE-with-logits cost) on a batch of 64, in images per second.
"""
import sys
import time

import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)
N, K, S, P = 64, 5, 2, 2
layers = [(1, 64, 64), (64, 32, 128), (128, 16, 256), (256, 8, 512)]  # (c, h, co) in conv sense


def timeit(fn, reps=3):
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def report(name, secs, flops):
    print(f"{name:32s} {secs * 1e3:8.1f} ms {flops / secs / 1e9:7.1f} GFLOP/s")


print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn {torch.backends.mkldnn.is_available()}")
for c, h, co in layers:
    ho = h // 2
    flops = 2 * N * co * c * K * K * ho * ho
    x = torch.randn(N, c, h, h)
    w = torch.randn(co, c, K, K)
    gy = torch.randn(N, co, ho, ho)
    name = f"Conv2d {c}->{co} {h}->{ho}"
    with torch.no_grad():
        report(name + " fwd", timeit(lambda: F.conv2d(x, w, stride=S, padding=P)), flops)
    report(name + " dx", timeit(lambda: torch.nn.grad.conv2d_input(x.shape, w, gy, stride=S, padding=P)), flops)
    report(name + " dw", timeit(lambda: torch.nn.grad.conv2d_weight(x, w.shape, gy, stride=S, padding=P)), flops)
for c, h, co in reversed(layers):
    ho = h // 2
    flops = 2 * N * co * c * K * K * ho * ho
    xt = torch.randn(N, co, ho, ho, requires_grad=True)
    wt = torch.randn(co, c, K, K, requires_grad=True)
    name = f"ConvT {co}->{c} {ho}->{h}"
    with torch.no_grad():
        report(name + " fwd", timeit(lambda: F.conv_transpose2d(xt, wt, stride=S, padding=P, output_padding=1)), flops)
    out = F.conv_transpose2d(xt, wt, stride=S, padding=P, output_padding=1)
    g = torch.randn_like(out)
    report(name + " dx+dw", timeit(lambda: torch.autograd.grad(out, (xt, wt), g, retain_graph=True)), 2 * flops)


def dcgan():
    import torch.nn as nn
    g = nn.Sequential(
        nn.Linear(100, 512 * 16, bias=False), nn.Unflatten(1, (512, 4, 4)),
        nn.BatchNorm2d(512), nn.ReLU(), nn.ConvTranspose2d(512, 256, 5, 2, 2, 1, bias=False),
        nn.BatchNorm2d(256), nn.ReLU(), nn.ConvTranspose2d(256, 128, 5, 2, 2, 1, bias=False),
        nn.BatchNorm2d(128), nn.ReLU(), nn.ConvTranspose2d(128, 64, 5, 2, 2, 1, bias=False),
        nn.BatchNorm2d(64), nn.ReLU(), nn.ConvTranspose2d(64, 1, 5, 2, 2, 1, bias=False),
        nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, 64, 5, 2, 2, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 5, 2, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
        nn.Conv2d(128, 256, 5, 2, 2, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2),
        nn.Conv2d(256, 512, 5, 2, 2, bias=False), nn.BatchNorm2d(512), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(512 * 16, 1, bias=False))
    z = torch.rand(N, 100) * 2 - 1
    ones = torch.ones(N, 1)

    def step():
        g.zero_grad()
        d.zero_grad()
        F.binary_cross_entropy_with_logits(d(g(z)), ones).backward()

    secs = timeit(step)
    print(f"{'DCGAN G+D fwd+bwd':32s} {secs * 1e3:8.1f} ms {N / secs:7.1f} images/s")


dcgan()
