#!/usr/bin/python3
"""Writes fixture.json: package ada's augmentations computed by PyTorch in
float64, for the Go tests (fixture_test.go).

Run with Debian's python3 (torch 1.13, CPU):

    /usr/bin/python3 make_fixture.py

Every case is a batch (N, C, H, W) with fixed per-sample parameters: x-flip
(0/1), quarter turns (0..3), integer translation (pixels), isotropic scale,
rotation before and after the anisotropic scaling (radians), anisotropic
scale, fractional translation (pixels), brightness, contrast and luma flip
(0/1). From them the script builds, with 3x3 homogeneous matrices, the
inverse geometric map G_inv (output pixel to input pixel, both about the
image centre) as the product of the inverse transforms in the order they
are applied, and the colour map as a 4x4 matrix (brightness, then contrast,
then the Householder reflection about the luma axis), reduced to one
channel as the mean of its RGB rows (y = x * sum(row[:3]) + row[3]) and
applied to every channel. It then runs

    grid = affine_grid(diag(2/W, 2/H) G_inv diag(W/2, H/2), align_corners=False)
    out  = colour(grid_sample(x, grid, 'bilinear', 'reflection', align_corners=False))

and writes, per case, the parameters, G_inv's top rows ("geom"), the colour
scale and offset, x, a fixed random R of the output's shape, the output, and
the gradient of sum(out * R) with respect to x by autograd. x and R are
float32 values (9 significant digits); the rest is float64 (17 digits).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20201206)  # ADA's NeurIPS 2020 conference week
torch.set_num_threads(1)
DT = torch.float64


def mat(rows):
    return torch.tensor(rows, dtype=DT)


def scale2(sx, sy):
    return mat([[sx, 0, 0], [0, sy, 0], [0, 0, 1]])


def translate2(tx, ty):
    return mat([[1, 0, tx], [0, 1, ty], [0, 0, 1]])


def rotate2(theta):
    c, s = math.cos(theta), math.sin(theta)
    return mat([[c, -s, 0], [s, c, 0], [0, 0, 1]])


# rotate2(k pi/2) with exact entries (cos(pi/2) does not round to 0).
QUARTER = [mat([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), mat([[0, -1, 0], [1, 0, 0], [0, 0, 1]]),
           mat([[-1, 0, 0], [0, -1, 0], [0, 0, 1]]), mat([[0, 1, 0], [-1, 0, 0], [0, 0, 1]])]


def geometry(p):
    """G_inv: output pixel -> input pixel, about the centre."""
    g = torch.eye(3, dtype=DT)
    g = g @ scale2(1 - 2 * p["xflip"], 1)                # inverse of the flip
    g = g @ QUARTER[p["rot90"]]                          # inverse of a turn by -k pi/2
    g = g @ translate2(-p["xint"][0], -p["xint"][1])
    g = g @ scale2(1 / p["scale"], 1 / p["scale"])
    g = g @ rotate2(p["pre_rot"])                        # inverse of a turn by -theta
    g = g @ scale2(1 / p["aniso"], p["aniso"])
    g = g @ rotate2(p["post_rot"])
    g = g @ translate2(-p["xfrac"][0], -p["xfrac"][1])
    return g


def colour(p):
    """(scale, offset) of the grey colour map."""
    b, c, i = p["brightness"], p["contrast"], p["lumaflip"]
    bright = torch.eye(4, dtype=DT)
    bright[:3, 3] = b
    contrast = torch.diag(torch.tensor([c, c, c, 1], dtype=DT))
    v = torch.tensor([1, 1, 1, 0], dtype=DT) / math.sqrt(3)
    flip = torch.eye(4, dtype=DT) - 2 * torch.outer(v, v) * i
    m = flip @ contrast @ bright
    row = m[:3, :].mean(dim=0)
    return float(row[:3].sum()), float(row[3])


def identity():
    return {"xflip": 0, "rot90": 0, "xint": [0, 0], "scale": 1.0, "pre_rot": 0.0,
            "aniso": 1.0, "post_rot": 0.0, "xfrac": [0.0, 0.0],
            "brightness": 0.0, "contrast": 1.0, "lumaflip": 0}


def params(**kw):
    p = identity()
    p.update(kw)
    return p


def f32(t):
    return [float("%.9g" % v) for v in t.detach().to(torch.float32).reshape(-1).tolist()]


def f64(t):
    return [float("%.17g" % v) for v in t.detach().reshape(-1).tolist()]


def case(name, shape, plist):
    n, c, h, w = shape
    assert len(plist) == n
    x = torch.randn(n, c, h, w).to(DT)     # float32 values held in float64
    r = torch.randn(n, c, h, w).to(DT)
    gs = torch.stack([geometry(p) for p in plist])
    cols = [colour(p) for p in plist]
    norm = torch.diag(torch.tensor([2 / w, 2 / h, 1], dtype=DT))
    unnorm = torch.diag(torch.tensor([w / 2, h / 2, 1], dtype=DT))
    theta = (norm @ gs @ unnorm)[:, :2, :]
    xl = x.clone().requires_grad_(True)
    grid = F.affine_grid(theta, [n, c, h, w], align_corners=False)
    y = F.grid_sample(xl, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    a = torch.tensor([s for s, _ in cols], dtype=DT).view(n, 1, 1, 1)
    o = torch.tensor([b for _, b in cols], dtype=DT).view(n, 1, 1, 1)
    out = y * a + o
    (out * r).sum().backward()
    return {
        "name": name, "shape": shape, "params": plist,
        "geom": f64(gs[:, :2, :]), "scale": f64(a), "offset": f64(o),
        "x": f32(x), "r": f32(r), "out": f64(out), "grad": f64(xl.grad),
    }


def rand_params(g):
    u = lambda: float(torch.rand([], generator=g, dtype=DT))
    nrm = lambda: float(torch.randn([], generator=g, dtype=DT))
    return params(xflip=int(u() < 0.5), rot90=int(u() * 4), xint=[int(round(6 * u() - 3)), int(round(6 * u() - 3))],
                  scale=2 ** (0.2 * nrm()), pre_rot=(2 * u() - 1) * math.pi, aniso=2 ** (0.2 * nrm()),
                  post_rot=(2 * u() - 1) * math.pi, xfrac=[0.125 * 12 * nrm(), 0.125 * 12 * nrm()],
                  brightness=0.2 * nrm(), contrast=2 ** (0.5 * nrm()), lumaflip=int(u() < 0.5))


square = [
    identity(),
    params(xflip=1),
    params(rot90=1),
    params(rot90=3, xflip=1, xint=[2, -1]),
    params(scale=0.45, brightness=0.3),                 # zoom out: several reflections
    params(pre_rot=0.7, aniso=1.3, post_rot=-2.1, contrast=1.7, lumaflip=1),
    params(xflip=1, rot90=2, xint=[-1, 1], scale=1.2, pre_rot=0.3, aniso=0.8, post_rot=1.1,
           xfrac=[0.37, -0.81], brightness=-0.15, contrast=0.6, lumaflip=1),
    params(xfrac=[2.6, -9.3], contrast=0.5),            # far outside: reflected back
]
rect = [
    params(rot90=1),                                    # a turn of a non-square image
    params(xflip=1, xint=[3, -2], lumaflip=1),
    params(scale=0.3, post_rot=2.5, brightness=0.1),
    params(pre_rot=-0.4, aniso=1.5, xfrac=[-1.3, 0.45], contrast=1.3),
]
gen = torch.Generator().manual_seed(7)
randoms = [rand_params(gen) for _ in range(6)]

cases = [
    case("square", [8, 1, 8, 8], square),
    case("rect", [4, 2, 6, 10], rect),
    case("random", [6, 1, 12, 12], randoms),
]
meta = {"torch": torch.__version__, "seed": 20201206,
        "note": "written by make_fixture.py; grad is d sum(out * R) / dx"}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.json")
with open(path, "w") as f:
    json.dump({"meta": meta, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print(path, os.path.getsize(path), "bytes,", len(cases), "cases")
