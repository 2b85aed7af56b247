#!/usr/bin/python3
"""Times PyTorch's CPU versions of the f-AnoGAN layers on the shapes of
fanogan_bench_test.go, for comparison with BenchmarkFAnoGAN*:

    /usr/bin/python3 bench_torch_fanogan.py [threads]

Element-wise layers on [64, 128, 32, 32] (LayerNorm's and Upsample2x's
backward timed through autograd, with the forward pass subtracted), the 3x3
stride-1 convolutions of the blocks at batch 16 (forward, dx, dw), and one
block of each kind forward and backward at batch 16, in images per second.
"""
import sys
import time

import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)


def timeit(fn, reps=5):
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
N, C, H, W = 64, 128, 32, 32
elems = N * C * H * W
x = torch.randn(N, C, H, W)
g = torch.randn(N, C, H, W)


def report(name, secs, n=elems):
    print(f"{name:36s} {secs * 1e3:8.2f} ms {n / secs / 1e9:7.2f} Gelem/s")


gc, bc = torch.randn(C), torch.randn(C)
ge, be = torch.randn(C, H, W), torch.randn(C, H, W)


def ln_channel(v, gg, bb):
    return F.relu(F.layer_norm(v, v.shape[1:], eps=1e-5) * gg.view(1, -1, 1, 1) + bb.view(1, -1, 1, 1))


def ln_value(v, gg, bb):
    return F.relu(F.layer_norm(v, v.shape[1:], gg, bb, eps=1e-5))


for name, fn, gg, bb in [("channel", ln_channel, gc, bc), ("value", ln_value, ge, be)]:
    with torch.no_grad():
        fwd = timeit(lambda: fn(x, gg, bb))
    report(f"LayerNorm+ReLU {name} fwd", fwd)
    xr, gr, br = x.clone().requires_grad_(), gg.clone().requires_grad_(), bb.clone().requires_grad_()

    def fb():
        out = fn(xr, gr, br)
        out.backward(g)
    report(f"LayerNorm+ReLU {name} bwd (x, params)", timeit(fb) - fwd)

xs = torch.randn(N, C, H // 2, W // 2)
with torch.no_grad():
    report("Upsample2x", timeit(lambda: F.interpolate(xs, scale_factor=2, mode="nearest")))
    report("MeanPool2", timeit(lambda: F.avg_pool2d(x, 2)))
    y = torch.randn(N, C, H, W)
    report("SquaredDiffSum fwd", timeit(lambda: ((x - y) ** 2).sum(dim=(1, 2, 3))))

for n, c, h, co, k in [(16, 128, 32, 64, 3), (16, 64, 32, 64, 3), (16, 64, 32, 128, 3), (16, 128, 16, 64, 1)]:
    p = (k - 1) // 2
    flops = 2 * n * co * c * k * k * h * h
    xc, wc, gy = torch.randn(n, c, h, h), torch.randn(co, c, k, k), torch.randn(n, co, h, h)
    name = f"Conv2d k{k} {c}->{co} {h}"
    for kind, fn in [("fwd", lambda: F.conv2d(xc, wc, padding=p)),
                     ("dx", lambda: torch.nn.grad.conv2d_input(xc.shape, wc, gy, padding=p)),
                     ("dw", lambda: torch.nn.grad.conv2d_weight(xc, wc.shape, gy, padding=p))]:
        with torch.no_grad():
            s = timeit(fn)
        print(f"{name + ' ' + kind:36s} {s * 1e3:8.2f} ms {flops / s / 1e9:7.1f} GFLOP/s")


def prm(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_()


def up_block(v, ps):
    g1, b1, w1, g2, b2, w2, c2b, ws, bs = ps
    h = F.relu(F.batch_norm(v, None, None, g1, b1, training=True))
    h = F.conv2d(F.interpolate(h, scale_factor=2), w1, padding=1)
    h = F.relu(F.batch_norm(h, None, None, g2, b2, training=True))
    h = F.conv2d(h, w2, c2b, padding=1)
    return h + F.conv2d(F.interpolate(v, scale_factor=2), ws, bs)


def down_block(v, ps):
    g1, b1, w1, g2, b2, w2, c2b, ws, bs = ps
    h = F.conv2d(ln_channel(v, g1, b1), w1, padding=1)
    h = F.avg_pool2d(F.conv2d(ln_channel(h, g2, b2), w2, c2b, padding=1), 2)
    return h + F.conv2d(F.avg_pool2d(v, 2), ws, bs)


n = 16
for name, fn, ci, co, h in [("up 128->64 16->32", up_block, 128, 64, 16), ("down 64->128 32->16", down_block, 64, 128, 32)]:
    cm = co if fn is up_block else ci
    ps = [prm(ci), prm(ci, scale=0.1), prm(cm, ci, 3, 3, scale=0.05), prm(cm), prm(cm, scale=0.1),
          prm(co, cm, 3, 3, scale=0.05), prm(co, scale=0.1), prm(co, ci, 1, 1, scale=0.1), prm(co, scale=0.1)]
    v = prm(n, ci, h, h)
    t = torch.randn_like(fn(v, ps))

    def step():
        ((fn(v, ps) - t) ** 2).sum().backward()
    s = timeit(step)
    print(f"{'block ' + name + ' fwd+bwd':36s} {s * 1e3:8.2f} ms {n / s:7.1f} images/s")
