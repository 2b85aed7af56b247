#!/usr/bin/python3
"""Benchmark harness: anogo against the PyTorch reference, with the OpenBLAS sgemm ceiling.

Usage (from anywhere; `make bench` calls the first form):
  /usr/bin/python3 bench/run.py             full run, about 5 to 15 minutes on 2 cores
  /usr/bin/python3 bench/run.py --smoke     tiny run (batch 8, one repetition), under a minute

For rep in 1..R it runs, one after the other and never at the same time, the sgemm ceiling and
then, for every (config, task), the torch reference (bench/torch_ref.py) and the anogo program
(bench/go/cmd/anogobench), flipping which of the two goes first on every rep. Each run is a fresh
process that does its own warm-up and timed repetitions and prints CSV rows. The harness takes
the median over the R reps for each (task, config, impl), computes ratio_vs_torch =
items_per_s(anogo) / items_per_s(torch) and GFLOP/s = FLOPs per item (dcgan_shapes.flops, the
same formula for both implementations) * items/s, and writes out/bench/bench.csv with the columns
task,config,impl,items_per_s,ratio_vs_torch,gflops,peak_rss_mb, plus every single measurement in
out/bench/bench_raw.csv. See bench/README.md for the definitions and the Go program's contract.
The f-AnoGAN tasks (train_fanogan, encode_fanogan) have no FLOP formula (empty gflops); a task
the anogo program refuses as unknown is skipped with a note, not counted as a failure.
"""

import argparse
import csv
import io
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

from dcgan_shapes import CONFIGS, TASKS, flops

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
COLUMNS = ["task", "config", "impl", "items_per_s", "ratio_vs_torch", "gflops", "peak_rss_mb"]
TORCH_PYTHON = "/usr/bin/python3"
GO_PROGRAM = "bench/go/cmd/anogobench"
SGEMM_N = 2048

# (warm-up, timed repetitions) inside one run of one implementation, per config and task.
# The 64x64 training step takes about a second in torch, so it gets the fewest.
# f-AnoGAN's WGAN-GP cycle (train_fanogan) takes seconds in torch (64x64: about 16 s, 28x28:
# about 9 s on a shared 2-core machine), so it gets one warm-up and one or two timed cycles.
SCHEDULE = {
    "64": {"train": (1, 3), "map": (1, 5), "infer": (1, 5),
           "train_fanogan": (1, 1), "encode_fanogan": (1, 5),
           "train_jointenc": (1, 2), "encode_jointenc": (1, 5),
           "train_dpa": (1, 2), "encode_dpa": (1, 5), "train_stylegan2": (1, 2)},
    "32": {"train": (2, 6), "map": (2, 10), "infer": (2, 10), "train_stylegan2": (1, 3)},
    "28": {"train": (2, 10), "map": (2, 20), "infer": (2, 20),
           "train_fanogan": (1, 2), "encode_fanogan": (1, 10),
           "train_jointenc": (1, 3), "encode_jointenc": (1, 10),
           "train_dpa": (1, 3), "encode_dpa": (1, 10), "train_stylegan2": (1, 3)},
}
SMOKE_SCHEDULE = (1, 1)
SMOKE_BATCH = 8

# mapimg: queries mapped to the end (Gamma = 500, AnoGAN Sec. 3) with anogo's per-query early stop
# and refilled batch (bench/go/cmd/anogobench/mapimg.go), on a model anogo trains once and keeps in
# out/bench/models. The torch reference maps every query for all 500 steps, so its images/s is its
# map rate (query-steps/s) of the same rep divided by 500. mapimg runs in the first rep only, and
# only for --mapimg-configs (default 28).
MAPIMG = "mapimg"
MAPIMG_GAMMA = 500

# f-AnoGAN (bench/fanogan_ref.py; the same names as there, checked by test_bench.py): a WGAN-GP
# training cycle and the one-pass encoding and scoring, on their own models for configs 64 and 28.
# No FLOP formula: their gflops column stays empty. encode_fanogan is also compared with the
# mapimg row of the same config and implementation (AnoGAN's iterative mapping): its images/s
# over mapimg's, with a target of ENCODE_TARGET.
FANOGAN_TASKS = ("train_fanogan", "encode_fanogan")
FANOGAN_CONFIGS = ("64", "28")
FANOGAN_CRITIC_STEPS = 5
ENCODE_TARGET = 500
# The jointly trained encoder (bench/jointenc_ref.py): one joint step (D with WGAN-GP and drift, G,
# E) at the full resolution, and the one-pass scoring; no FLOP formula either.
JOINTENC_TASKS = ("train_jointenc", "encode_jointenc")
JOINTENC_CONFIGS = ("28", "64")
# The perceptual autoencoder (bench/dpa_ref.py): one Adam step on the relative perceptual loss
# through VGG19's trunk at the image size, and the scoring with its maps.
DPA_TASKS = ("train_dpa", "encode_dpa")
DPA_CONFIGS = ("28", "64")
# StyleGAN2 (bench/stylegan2_ref.py), HQ-AnoGAN's generator: one lazy cycle of 16 iterations (G
# step, D step, G_ema), the first with R1, at the small setting's widths.
STYLEGAN2_TASKS = ("train_stylegan2",)
STYLEGAN2_CONFIGS = ("28", "32", "64")
# Every method's task with its configs (the models of its reference module in bench/).
MODEL_CONFIGS = {**{t: FANOGAN_CONFIGS for t in FANOGAN_TASKS},
                 **{t: JOINTENC_CONFIGS for t in JOINTENC_TASKS},
                 **{t: DPA_CONFIGS for t in DPA_TASKS},
                 **{t: STYLEGAN2_CONFIGS for t in STYLEGAN2_TASKS}}
ALL_TASKS = tuple(TASKS) + (MAPIMG,) + tuple(MODEL_CONFIGS)


class Harness:
    """Runs the implementations and collects rows; the settings are the parsed flags."""

    def __init__(self, args):
        self.args = args
        self.samples = []  # (rep, task, config, impl, items_per_s, peak_rss_mb or None, gflops)
        self.loads = []  # 1-minute load average when each sample's run started
        self.load = 0.0
        self.failures = []
        self.notes = []
        self.go = None
        self.go_refused = set()  # tasks the anogo program does not know (yet)
        self.sgemm_built = False

    def log(self, msg):
        print(f"bench: {msg}", file=sys.stderr, flush=True)

    def run(self, cmd, what, env=None, refused=None):
        """Runs cmd from the repository root; returns its CSV rows with impl, or None on failure.

        refused: a regular expression; when the run fails with a matching stderr, it is skipped
        (no failure) and run returns False."""
        t0 = time.perf_counter()
        self.load = os.getloadavg()[0]
        try:
            out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=self.args.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            self.fail(f"{what}: {err}")
            return None
        stderr = out.stderr.decode(errors="replace").strip()
        if self.args.verbose and stderr:
            print(stderr, file=sys.stderr)
        if out.returncode != 0:
            if refused and re.search(refused, stderr):
                return False
            self.fail(f"{what}: exit status {out.returncode}: {shlex.join(cmd)}\n{stderr[-2000:]}")
            return None
        try:
            rows = parse_rows(out.stdout.decode(errors="replace"))
        except ValueError as err:
            self.fail(f"{what}: {err}")
            return None
        self.log(f"{what}: {', '.join(r['items_per_s'] for r in rows)} items/s "
                 f"({time.perf_counter() - t0:.1f} s)")
        return rows

    def fail(self, msg):
        self.failures.append(msg)
        self.log("FAILED " + msg)

    def add(self, rep, rows, impl):
        for r in rows:
            if r["impl"] != impl:
                self.fail(f"{impl} printed a row for impl {r['impl']!r}; ignored")
                continue
            if r.get("steps_per_query"):
                self.notes.append(
                    f"{r['task']} {r['config']}: {r['steps_per_query']} steps per query on average "
                    f"(Gamma {MAPIMG_GAMMA}, per-query early stop); final loss over the loss after "
                    f"all {MAPIMG_GAMMA} steps (16 queries mapped again without early stop): "
                    f"median {100 * float(r['loss_excess_median']):+.2f}%, "
                    f"max {100 * float(r['loss_excess_max']):+.2f}%")
            rss = float(r["peak_rss_mb"]) if r.get("peak_rss_mb") else None
            gflops = float(r["gflops"]) if r.get("gflops") else None
            self.samples.append((rep, r["task"], r["config"], impl, float(r["items_per_s"]),
                                 rss, gflops))
            self.loads.append(self.load)

    def model_flags(self, task, config):
        if task == MAPIMG:
            return ["--tasks", task, "--configs", config, "--threads", str(self.args.threads),
                    "--batch", str(self.args.batch),
                    "--model-dir", os.path.join(self.args.outdir, "models")]
        warmup, reps = SMOKE_SCHEDULE if self.args.smoke else SCHEDULE[config][task]
        if self.args.inner_reps:
            reps = self.args.inner_reps
        return ["--tasks", task, "--configs", config, "--reps", str(reps), "--warmup",
                str(warmup), "--threads", str(self.args.threads), "--batch", str(self.args.batch)]

    def torch(self, rep, task, config):
        env = dict(os.environ, OMP_NUM_THREADS=str(self.args.threads))
        script = os.path.join(BENCH, "torch_ref.py")
        cmd = [self.args.python, script] + self.model_flags(task, config)
        rows = self.run(cmd, f"rep {rep} torch {task} {config}", env)
        if rows is not None:
            self.add(rep, rows, "torch")

    def anogo(self, rep, task, config):
        if self.go is None or task in self.go_refused:
            return
        cmd = self.go + self.model_flags(task, config)
        # A task the anogo program does not have yet is skipped, not a failure.
        refused = r"unknown task\W+" + re.escape(task) + r"\b"
        rows = self.run(cmd, f"rep {rep} anogo {task} {config}", refused=refused)
        if rows is False:
            self.go_refused.add(task)
            msg = (f"anogo rows for {task} skipped: the anogo program refused the task "
                   f"(unknown task); only torch measured it")
            self.log(msg)
            self.notes.append(msg)
        elif rows is not None:
            self.add(rep, rows, "anogo")

    def find_go(self):
        """Sets self.go to the anogo benchmark command, building it; explains when there is none."""
        if self.args.no_go:
            self.notes.append("anogo rows skipped (--no-go)")
            return
        if self.args.go:
            self.go = shlex.split(self.args.go)
            return
        if not os.path.isdir(os.path.join(ROOT, GO_PROGRAM)):
            self.notes.append(f"anogo rows missing: the Go benchmark program {GO_PROGRAM} does not "
                              "exist yet; only torch and the sgemm ceiling were measured")
            return
        binary = os.path.join(self.args.outdir, "anogobench")
        cmd = ["go", "build", "-o", binary, "./" + GO_PROGRAM]
        self.log("building " + shlex.join(cmd))
        out = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             check=False)
        if out.returncode != 0:
            self.fail(f"anogo rows missing: go build ./{GO_PROGRAM} failed:\n"
                      + out.stdout.decode(errors="replace")[-2000:])
            return
        self.go = [binary]

    def sgemm(self, rep):
        """Measures the sgemm ceiling: sdk/blas's Go benchmark if it exists, else the C program."""
        threads = str(self.args.threads)
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads)
        if self.args.sgemm == "go" or (self.args.sgemm == "auto" and has_go_sgemm_benchmark()):
            self.load = os.getloadavg()[0]
            benchtime = "2x" if self.args.smoke else "10x"
            cmd = ["go", "test", "-run", "^$", "-bench", "^BenchmarkSgemm2048$", "-benchtime",
                   benchtime, "./sdk/blas"]
            out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=self.args.timeout, check=False)
            text = out.stdout.decode(errors="replace")
            row = parse_go_sgemm(text) if out.returncode == 0 else None
            if row is not None:
                self.log(f"rep {rep} sgemm (go test ./sdk/blas): {row['gflops']} GFLOP/s")
                self.add(rep, [row], "openblas")
                return
            self.fail(f"go test -bench BenchmarkSgemm2048 ./sdk/blas gave no GFLOP/s metric; "
                      f"using bench/sgemm_ceiling.c\n{text[-1000:]}")
        binary = os.path.join(self.args.outdir, "sgemm_ceiling")
        if not self.sgemm_built:
            cc = os.environ.get("CC", "cc")
            cmd = [cc, "-O2", "-o", binary, os.path.join(BENCH, "sgemm_ceiling.c"), "-lopenblas"]
            out = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 check=False)
            if out.returncode != 0:
                self.fail("compiling bench/sgemm_ceiling.c failed "
                          "(is libopenblas-dev installed?):\n"
                          + out.stdout.decode(errors="replace")[-2000:])
                return
            self.sgemm_built = True
        reps = "2" if self.args.smoke else "10"
        rows = self.run([binary, str(SGEMM_N), threads, reps], f"rep {rep} sgemm", env)
        if rows is not None:
            self.add(rep, rows, "openblas")

    def layers(self):
        """Runs sdk/nn's BenchmarkLargeConvs; returns its rows (layers.csv) or None."""
        threads = str(self.args.threads)
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads)
        benchtime = "1x" if self.args.smoke else "5x"
        cmd = ["go", "test", "-run", "^$", "-bench", "^BenchmarkLargeConvs$", "-benchtime",
               benchtime, "-cpu", threads, "./sdk/nn"]
        self.log("per-layer efficiency: " + shlex.join(cmd))
        t0 = time.perf_counter()
        try:
            out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=self.args.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            self.fail(f"per-layer efficiency: {err}")
            return None
        text = out.stdout.decode(errors="replace")
        rows = parse_layers(text) if out.returncode == 0 else []
        if not rows:
            self.fail(f"per-layer efficiency: no BenchmarkLargeConvs results\n{text[-2000:]}")
            return None
        self.log(f"per-layer efficiency: {len(rows)} kernels ({time.perf_counter() - t0:.1f} s)")
        return rows

    def measure(self):
        os.makedirs(self.args.outdir, exist_ok=True)
        self.find_go()
        for rep in range(1, self.args.reps + 1):
            self.sgemm(rep)
            for config in self.args.configs:
                for task in self.args.tasks:
                    if task in MODEL_CONFIGS and config not in MODEL_CONFIGS[task]:
                        note = (f"{task} {config} skipped: {task} has configs "
                                f"{', '.join(MODEL_CONFIGS[task])}")
                        if note not in self.notes:
                            self.notes.append(note)
                        continue
                    if task == MAPIMG:
                        if rep == 1 and config in self.args.mapimg_configs:
                            self.anogo(rep, task, config)
                        continue
                    pair = (self.torch, self.anogo)
                    first, second = pair if rep % 2 else pair[::-1]
                    first(rep, task, config)
                    second(rep, task, config)


def parse_rows(text):
    """Parses CSV text with a header that has at least the bench.csv columns."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise ValueError("printed no CSV")
    missing = [c for c in COLUMNS if c not in reader.fieldnames]
    if missing:
        raise ValueError(f"CSV header {reader.fieldnames} lacks {', '.join(missing)}")
    rows = list(reader)
    if not rows:
        raise ValueError("printed a CSV header but no rows")
    for r in rows:
        try:
            float(r["items_per_s"])
        except ValueError:
            raise ValueError(f"items_per_s {r['items_per_s']!r} is not a number") from None
    return rows


def has_go_sgemm_benchmark():
    """Reports whether sdk/blas has a BenchmarkSgemm2048 in one of its test files."""
    folder = os.path.join(ROOT, "sdk", "blas")
    if not os.path.isdir(folder):
        return False
    for name in os.listdir(folder):
        if name.endswith("_test.go"):
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                if "func BenchmarkSgemm2048(" in f.read():
                    return True
    return False


GO_BENCH_LINE = re.compile(
    r"^BenchmarkSgemm2048\S*\s+\d+\s+([0-9.e+]+) ns/op.*?([0-9.e+]+) GFLOP/s", re.MULTILINE)


def parse_go_sgemm(text):
    """Turns `go test -bench BenchmarkSgemm2048` output into a bench.csv row, or None."""
    m = GO_BENCH_LINE.search(text)
    if m is None:
        return None
    ns, gflops = float(m.group(1)), float(m.group(2))
    return {"task": "sgemm", "config": str(SGEMM_N), "impl": "openblas",
            "items_per_s": f"{1e9 / ns:.3f}", "ratio_vs_torch": "", "gflops": f"{gflops:.2f}",
            "peak_rss_mb": ""}


LAYER_COLUMNS = ["config", "layer", "kernel", "uses", "algorithm", "gflops", "ceiling_gflops",
                 "pct_ceiling", "exec_gflops", "exec_pct_ceiling"]
LAYER_USES = {"fwd": "D fwd, G dx", "data": "D dx, G fwd", "filter": "D dw, G dw"}
# Go's benchmark output orders the custom metrics by unit name.
LAYER_LINE = re.compile(
    r"^BenchmarkLargeConvs/(\d+)/(\d+)\S(\d+)_(\d+)/(fwd|data|filter)(?:-\d+)?\s+\d+\s+"
    r"[\d.]+ ns/op(.*)$", re.M)
LAYER_METRIC = re.compile(r"([\d.]+) (\S+)")


def parse_layers(text):
    """Turns `go test -bench BenchmarkLargeConvs ./sdk/nn` output into layers.csv rows.

    Each row is one large convolution kernel at batch 64: the D convolution c->co on h x h
    images and the G transposed convolution co->c with the same weights share it."""
    rows = []
    for m in LAYER_LINE.finditer(text):
        config, c, co, h, kernel, rest = m.groups()
        metrics = {unit: value for value, unit in LAYER_METRIC.findall(rest)}
        try:
            gflops, ceil, pct = (metrics[u] for u in ("GFLOP/s", "ceiling_GFLOP/s", "pct_ceiling"))
        except KeyError:
            continue
        exec_gflops = metrics.get("exec_GFLOP/s", gflops)
        exec_pct = metrics.get("exec_pct_ceiling", pct)
        # The Winograd kernels execute fewer operations than the direct convolution they compute.
        algorithm = "winograd" if float(exec_gflops) < 0.99 * float(gflops) else "direct"
        rows.append({"config": config, "layer": f"D {c}->{co} / G {co}->{c} ({h}x{h})",
                     "kernel": kernel, "uses": LAYER_USES[kernel], "algorithm": algorithm,
                     "gflops": gflops, "ceiling_gflops": ceil, "pct_ceiling": pct,
                     "exec_gflops": exec_gflops, "exec_pct_ceiling": exec_pct})
    return rows


def layer_table(rows):
    """The per-layer rows as an aligned text table with a summary line."""
    head = LAYER_COLUMNS
    body = [[r[c] for c in head] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip()
             for line in [head] + body]
    if rows:
        pcts = [float(r["pct_ceiling"]) for r in rows]
        lines.append(f"{sum(p >= 60 for p in pcts)} of {len(pcts)} kernels at >= 60% of the "
                     f"sgemm ceiling measured in the same process (lowest {min(pcts):.1f}%)")
        wino = [r for r in rows if r["algorithm"] == "winograd"]
        if wino:
            ex = [float(r["exec_pct_ceiling"]) for r in wino]
            lines.append(f"{len(wino)} of them Winograd: gflops and pct_ceiling count the direct "
                         "convolution's operations; the operations their products execute run at "
                         f"{min(ex):.1f}% to {max(ex):.1f}% of the ceiling (exec_pct_ceiling)")
    return "\n".join(lines)


def summarise(samples):
    """Median rows per (task, config, impl), in first-seen order, with ratios and GFLOP/s.

    samples are (rep, task, config, impl, items_per_s, peak_rss_mb or None, gflops or None).
    GFLOP/s of the model tasks comes from dcgan_shapes.flops; sgemm keeps its measured value.
    """
    groups = {}
    for _, task, config, impl, items, rss, gflops in samples:
        g = groups.setdefault((task, config, impl), {"items": [], "rss": [], "gflops": []})
        g["items"].append(items)
        if rss is not None:
            g["rss"].append(rss)
        if gflops is not None:
            g["gflops"].append(gflops)
    # The torch reference's mapimg rate: every query takes all of Gamma's steps.
    torch_map = {c: g for (t, c, i), g in groups.items() if t == "map" and i == "torch"}
    for (task, config, impl) in list(groups):
        if task == MAPIMG and config in torch_map and (MAPIMG, config, "torch") not in groups:
            groups[(MAPIMG, config, "torch")] = {
                "items": [x / MAPIMG_GAMMA for x in torch_map[config]["items"]],
                "rss": torch_map[config]["rss"], "gflops": []}
    rows = []
    for (task, config, impl), g in groups.items():
        items = statistics.median(g["items"])
        if task == MAPIMG:
            torch = groups.get((task, config, "torch"))
            ratio = items / statistics.median(torch["items"]) if torch else None
            gflops = None
        elif task in TASKS:
            gflops = flops(CONFIGS[config], task) * items / 1e9
            torch = groups.get((task, config, "torch"))
            ratio = items / statistics.median(torch["items"]) if torch else None
        elif task in MODEL_CONFIGS:
            gflops = None
            torch = groups.get((task, config, "torch"))
            ratio = items / statistics.median(torch["items"]) if torch else None
        else:
            gflops = statistics.median(g["gflops"]) if g["gflops"] else None
            ratio = None
        rss = statistics.median(g["rss"]) if g["rss"] else None
        rows.append({
            "task": task, "config": config, "impl": impl,
            "items_per_s": f"{items:.4f}" if task == MAPIMG else f"{items:.2f}",
            "ratio_vs_torch": "" if ratio is None else f"{ratio:.3f}",
            "gflops": "" if gflops is None else f"{gflops:.2f}",
            "peak_rss_mb": "" if rss is None else f"{rss:.0f}",
        })
    return rows


def encode_vs_mapimg(rows):
    """encode_fanogan against mapimg of the same config and impl, from summarise's rows.

    Returns {(config, impl): (encode images/s, mapimg images/s, ratio, where mapimg came from)}.
    Without a torch mapimg row (it exists only next to an anogo one), torch's rate is its map
    row over MAPIMG_GAMMA, the same derivation as summarise's."""
    rate = {(r["task"], r["config"], r["impl"]): float(r["items_per_s"]) for r in rows}
    out = {}
    for (task, config, impl), items in rate.items():
        if task != "encode_fanogan":
            continue
        mapimg, source = rate.get((MAPIMG, config, impl)), "mapimg"
        if mapimg is None and impl == "torch" and ("map", config, "torch") in rate:
            mapimg, source = rate["map", config, "torch"] / MAPIMG_GAMMA, f"map / {MAPIMG_GAMMA}"
        if mapimg:
            out[config, impl] = (items, mapimg, items / mapimg, source)
    return out


def write_csv(path, columns, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def table(rows, batch):
    """The rows as an aligned text table, with mapping steps/s added for the map rows."""
    head = COLUMNS + ["note"]
    body = []
    encode = encode_vs_mapimg(rows)
    for r in rows:
        note = ""
        if r["task"] == "map":
            note = f"{float(r['items_per_s']) / batch:.3f} steps/s"
        elif r["task"] == "train_fanogan":
            note = f"{float(r['items_per_s']) / (FANOGAN_CRITIC_STEPS * batch):.4f} cycles/s"
        elif r["task"] == "encode_fanogan" and (r["config"], r["impl"]) in encode:
            ratio = encode[r["config"], r["impl"]][2]
            note = f"{ratio:.0f}x mapimg (target >= {ENCODE_TARGET}x)"
        elif r["task"] == MAPIMG:
            note = ("images mapped/s, early stop" if r["impl"] == "anogo"
                    else f"images mapped/s = map / {MAPIMG_GAMMA}")
        body.append([r[c] for c in COLUMNS] + [note])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip()
             for line in [head] + body]
    return "\n".join(lines)


def shown(path):
    """path relative to the repository root when it lies inside it."""
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def parse_list(value, allowed, what):
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(bad) or '(none)'}; want some of {', '.join(allowed)}")
    return items


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true",
                   help=f"tiny run: batch {SMOKE_BATCH}, 1 rep, 1 warm-up + 1 timed step")
    p.add_argument("--reps", type=int, default=None,
                   help="alternating repetitions R whose median is reported (default 3; smoke 1)")
    p.add_argument("--inner-reps", type=int, default=0,
                   help="timed steps inside each run (default: a schedule per config and task)")
    p.add_argument("--tasks", default=None, type=lambda v: parse_list(v, ALL_TASKS, "task"),
                   help=f"default {','.join(ALL_TASKS)}; smoke {','.join(TASKS)}")
    p.add_argument("--configs", default="64,28",
                   type=lambda v: parse_list(v, list(CONFIGS), "config"))
    p.add_argument("--mapimg-configs", default="28",
                   type=lambda v: parse_list(v, list(CONFIGS), "config"),
                   help="configs whose mapimg task runs (default 28: at 64x64 it trains a model "
                        "once and its mapping takes about 7 minutes)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=None, help=f"default 64; smoke {SMOKE_BATCH}")
    p.add_argument("--out", default=os.path.join(ROOT, "out", "bench", "bench.csv"))
    p.add_argument("--python", default=TORCH_PYTHON, help="python with torch")
    p.add_argument("--go", default="",
                   help=f"anogo benchmark command (default: build {GO_PROGRAM})")
    p.add_argument("--no-go", action="store_true", help="measure torch and sgemm only")
    p.add_argument("--sgemm", choices=("auto", "go", "c"), default="auto",
                   help="ceiling from sdk/blas's BenchmarkSgemm2048 (go), sgemm_ceiling.c (c), "
                        "or go when that benchmark exists (auto)")
    p.add_argument("--timeout", type=float, default=900, help="seconds allowed per run")
    p.add_argument("--no-layers", action="store_true",
                   help="skip the per-layer measurement that ends every run with anogo: each "
                        "large convolution's GFLOP/s against the sgemm ceiling measured in the "
                        "same process (sdk/nn BenchmarkLargeConvs; out/bench/layers.csv)")
    p.add_argument("--layers-only", action="store_true",
                   help="only the per-layer measurement, no torch or anogo runs (about a minute)")
    p.add_argument("-v", "--verbose", action="store_true", help="show each run's stderr")
    args = p.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.smoke else 3
    if args.tasks is None:
        args.tasks = list(TASKS) if args.smoke else list(ALL_TASKS)
    if args.batch is None:
        args.batch = SMOKE_BATCH if args.smoke else 64
    if args.reps < 1 or args.threads < 1 or args.batch < 1 or args.inner_reps < 0:
        p.error("--reps, --threads and --batch must be at least 1, --inner-reps at least 0")
    args.out = os.path.abspath(args.out)
    args.outdir = os.path.dirname(args.out)
    return args


def main(argv):
    args = parse_args(argv)
    h = Harness(args)
    load = os.getloadavg()[0]
    if load > 0.5:
        h.notes.append(f"the machine was busy at the start (1-minute load {load:.2f} on "
                       f"{os.cpu_count()} CPUs): timings are noisy")
    t0 = time.perf_counter()
    if args.layers_only:
        return layers_main(h, args, load, t0)
    h.measure()
    rows = summarise(h.samples)
    write_csv(args.out, COLUMNS, rows)
    raw = os.path.join(args.outdir, "bench_raw.csv")
    write_csv(raw, ["rep"] + COLUMNS[:4] + ["peak_rss_mb", "load"], [
        {"rep": rep, "task": t, "config": c, "impl": i, "items_per_s": f"{x:.2f}",
         "peak_rss_mb": "" if rss is None else f"{rss:.0f}", "load": f"{load:.2f}"}
        for (rep, t, c, i, x, rss, _), load in zip(h.samples, h.loads)])
    print(table(rows, args.batch))
    print(f"\nbench: wrote {shown(args.out)} and {shown(raw)} "
          f"({args.reps} reps, batch {args.batch}, {args.threads} threads, "
          f"{time.perf_counter() - t0:.0f} s, load {load:.2f} -> {os.getloadavg()[0]:.2f})")
    if not args.no_layers and not args.no_go:
        layer_rows = h.layers()
        if layer_rows is not None:
            path = os.path.join(args.outdir, "layers.csv")
            write_csv(path, LAYER_COLUMNS, layer_rows)
            print("\nlarge convolutions, batch 64 (sdk/nn BenchmarkLargeConvs):")
            print(layer_table(layer_rows))
            print(f"bench: wrote {shown(path)}")
    for (config, impl), (items, mapimg, ratio, source) in encode_vs_mapimg(rows).items():
        verdict = "met" if ratio >= ENCODE_TARGET else "NOT met"
        print(f"bench: encode_fanogan {config} {impl}: {items:.2f} images/s = {ratio:.0f}x "
              f"{impl}'s mapimg ({mapimg:.4f} images/s, {source}); target >= {ENCODE_TARGET}x "
              f"{verdict}")
    for note in h.notes:
        print("bench: " + note)
    if h.failures:
        print(f"bench: {len(h.failures)} run(s) failed; see the messages above", file=sys.stderr)
        return 1
    return 0


def layers_main(h, args, load, t0):
    """--layers-only: the per-layer table alone."""
    os.makedirs(args.outdir, exist_ok=True)
    rows = h.layers()
    if rows is None:
        return 1
    path = os.path.join(args.outdir, "layers.csv")
    write_csv(path, LAYER_COLUMNS, rows)
    print("large convolutions, batch 64 (sdk/nn BenchmarkLargeConvs):")
    print(layer_table(rows))
    print(f"\nbench: wrote {shown(path)} ({time.perf_counter() - t0:.0f} s, "
          f"load {load:.2f} -> {os.getloadavg()[0]:.2f})")
    for note in h.notes:
        print("bench: " + note)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
