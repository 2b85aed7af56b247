"""Tests of the benchmark's models, FLOP formulas and harness arithmetic.

Run: /usr/bin/python3 -m unittest discover -s bench -p 'test_*.py'   (a few seconds)
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import dcgan_shapes as shapes  # noqa: E402
import run  # noqa: E402
import torch_ref  # noqa: E402

TOL = 1e-6


def counted_macs(module, inputs):
    """Multiply-adds of every conv, transposed conv and linear layer, from the real tensors."""
    macs = []

    def hook(mod, args, out):
        x = args[0]
        if isinstance(mod, nn.ConvTranspose2d):
            k = mod.kernel_size[0] * mod.kernel_size[1]
            macs.append(x.numel() // x.shape[0] * mod.out_channels * k)
        elif isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1]
            macs.append(out.numel() // out.shape[0] * mod.in_channels * k)
        elif isinstance(mod, nn.Linear):
            macs.append(mod.in_features * mod.out_features)

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.no_grad():
        module(inputs)
    for h in handles:
        h.remove()
    return macs


class ShapesTest(unittest.TestCase):
    def test_channels(self):
        cases = [  # (size, width, layers, s0, generator channels, discriminator channels)
            (64, 64, 4, 4, [512, 256, 128, 64], [64, 128, 256, 512]),
            (32, 64, 3, 4, [256, 128, 64], [64, 128, 256]),
            (28, 64, 2, 7, [128, 64], [64, 128]),
            (28, 8, 2, 7, [16, 8], [8, 16]),
        ]
        for i, (size, width, layers, s0, gen, disc) in enumerate(cases):
            cfg = shapes.Config(size=size, width=width)
            self.assertEqual(cfg.layers, layers, f"case {i}")
            self.assertEqual(cfg.s0, s0, f"case {i}")
            self.assertEqual(cfg.gen_channels, gen, f"case {i}")
            self.assertEqual(cfg.disc_channels, disc, f"case {i}")

    def test_bad_size(self):
        for size in (48, 20, 4):
            with self.assertRaises(ValueError, msg=f"size {size}"):
                shapes.Config(size=size).layers

    def test_known_flops(self):
        # 28x28, w = 64, nz = 100, worked by hand:
        # G: linear 100*128*49 = 627200; convT 128*7*7*64*25 = 10035200;
        #    convT 64*14*14*1*25 = 313600
        # D: conv 64*14*14*1*25 = 313600; conv 128*7*7*64*25 = 10035200; linear 128*49 = 6272
        fg = 2 * (627200 + 10035200 + 313600)
        fd = 2 * (313600 + 10035200 + 6272)
        cfg = shapes.CONFIGS["28"]
        self.assertEqual(shapes.flops(cfg, "infer"), fg + fd)
        self.assertEqual(shapes.flops(cfg, "map"), 2 * fg + 2 * (fd - 2 * 6272))
        self.assertEqual(shapes.flops(cfg, "train"), 3 * fg - 2 * 627200 + 8 * fd - 2 * 2 * 313600)
        with self.assertRaises(ValueError):
            shapes.flops(cfg, "fit")

    def test_macs_match_the_torch_modules(self):
        for name, cfg in shapes.CONFIGS.items():
            g, d = torch_ref.Generator(cfg).eval(), torch_ref.Discriminator(cfg).eval()
            self.assertEqual(counted_macs(g, torch.zeros(2, cfg.nz)), shapes.gen_layer_macs(cfg),
                             f"generator {name}")
            img = torch.zeros(2, 1, cfg.size, cfg.size)
            self.assertEqual(counted_macs(d, img), shapes.disc_layer_macs(cfg),
                             f"discriminator {name}")


class ModelTest(unittest.TestCase):
    def test_shapes_and_ranges(self):
        for name in ("64", "28"):
            cfg = shapes.CONFIGS[name]
            g, d, rng = torch_ref.build(cfg, 1)
            g.eval()
            d.eval()
            with torch.no_grad():
                x = g(torch_ref.uniform((3, cfg.nz), rng))
                logit, f = d(x)
            self.assertEqual(tuple(x.shape), (3, 1, cfg.size, cfg.size), name)
            self.assertLessEqual(x.abs().max().item(), 1.0, name)
            self.assertEqual(tuple(logit.shape), (3, 1), name)
            self.assertEqual(tuple(f.shape), (3, cfg.disc_channels[-1], cfg.s0, cfg.s0), name)

    def test_init(self):
        g, d, _ = torch_ref.build(shapes.CONFIGS["64"], 1)
        w = d.features[3].weight  # D's first BatchNorm: conv, leaky, conv, BN
        self.assertLess(abs(w.mean().item() - 1), 0.01)
        self.assertLess(abs(g.project.weight.std().item() - 0.02), 0.001)
        self.assertEqual(d.features[0].bias.abs().max().item(), 0.0)

    def test_same_seed_same_numbers(self):
        cfg = shapes.Config(size=28, width=8)
        a = torch_ref.map_step_fn(cfg, 2, seed=7)
        b = torch_ref.map_step_fn(cfg, 2, seed=7)
        self.assertEqual([a() for _ in range(3)], [b() for _ in range(3)])

    def test_mapping_lowers_the_loss(self):
        cfg = shapes.Config(size=28, width=8)
        g, _, rng = torch_ref.build(cfg, 3)  # the same G as map_step_fn's with seed 3
        g.eval()
        torch_ref.uniform((4, cfg.nz), rng)  # map_step_fn's starting z; skip it
        with torch.no_grad():
            queries = g(torch_ref.uniform((4, cfg.nz), rng))  # images G can make exactly
        step = torch_ref.map_step_fn(cfg, 4, seed=3, queries=queries)
        losses = [step() for _ in range(50)]
        self.assertLess(losses[-1], 0.9 * losses[0])

    def test_train_step_runs(self):
        cfg = shapes.Config(size=32, width=8)
        step = torch_ref.train_step_fn(cfg, 4, seed=1)
        loss = step()
        # Both losses start near log 2 (D's logits are near 0 after the N(0, 0.02) init).
        self.assertAlmostEqual(loss, 3 * 0.6931, delta=0.3)
        self.assertTrue(torch.isfinite(torch.tensor(step())))


class HarnessTest(unittest.TestCase):
    def test_summarise(self):
        samples = [  # (rep, task, config, impl, items/s, rss, gflops)
            (1, "sgemm", "2048", "openblas", 5.0, 55.0, 100.0),
            (1, "map", "28", "torch", 10.0, 300.0, None),
            (1, "map", "28", "anogo", 4.0, 100.0, None),
            (2, "sgemm", "2048", "openblas", 6.0, 57.0, 120.0),
            (2, "map", "28", "anogo", 6.0, 120.0, None),
            (2, "map", "28", "torch", 30.0, 310.0, None),
            (3, "sgemm", "2048", "openblas", 7.0, 56.0, 140.0),
            (3, "map", "28", "torch", 20.0, 320.0, None),
            (3, "map", "28", "anogo", 5.0, 110.0, None),
        ]
        rows = {(r["task"], r["impl"]): r for r in run.summarise(samples)}
        self.assertEqual(rows["sgemm", "openblas"]["gflops"], "120.00")
        self.assertEqual(rows["sgemm", "openblas"]["ratio_vs_torch"], "")
        self.assertEqual(rows["map", "torch"]["items_per_s"], "20.00")
        self.assertEqual(rows["map", "torch"]["ratio_vs_torch"], "1.000")
        self.assertEqual(rows["map", "anogo"]["ratio_vs_torch"], "0.250")
        self.assertEqual(rows["map", "anogo"]["peak_rss_mb"], "110")
        want = shapes.flops(shapes.CONFIGS["28"], "map") * 5.0 / 1e9
        self.assertLess(abs(float(rows["map", "anogo"]["gflops"]) - want), 0.01)

    def test_summarise_mapimg(self):
        """torch's mapimg rate is its map rate over Gamma; anogo's ratio is against that."""
        samples = [
            (1, "map", "64", "torch", 40.0, 500.0, None),
            (2, "map", "64", "torch", 50.0, 500.0, None),
            (3, "map", "64", "torch", 60.0, 500.0, None),
            (1, "mapimg", "64", "anogo", 0.2, 700.0, None),
        ]
        rows = {(r["task"], r["impl"]): r for r in run.summarise(samples)}
        self.assertEqual(rows["mapimg", "torch"]["items_per_s"], "0.1000")
        self.assertEqual(rows["mapimg", "anogo"]["ratio_vs_torch"], "2.000")
        self.assertEqual(rows["mapimg", "anogo"]["gflops"], "")

    def test_parse_rows(self):
        good = ",".join(run.COLUMNS) + "\ninfer,28,anogo,12.5,,1.0,80\n"
        self.assertEqual(run.parse_rows(good)[0]["items_per_s"], "12.5")
        for bad in ("", "task,config\ninfer,28\n", ",".join(run.COLUMNS) + "\n",
                    ",".join(run.COLUMNS) + "\ninfer,28,anogo,fast,,1,1\n"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                run.parse_rows(bad)

    def test_parse_go_sgemm(self):
        text = ("goos: linux\nBenchmarkSgemm2048-2   \t      10\t 112000000 ns/op\t"
                "       153.4 GFLOP/s\nPASS\n")
        row = run.parse_go_sgemm(text)
        self.assertEqual(row["gflops"], "153.40")
        self.assertLess(abs(float(row["items_per_s"]) - 1e9 / 112000000), 0.001)
        self.assertIsNone(run.parse_go_sgemm("PASS\n"))

    def test_parse_layers(self):
        text = ("goos: linux\n"
                "BenchmarkLargeConvs/64/64\u2192128_32/fwd-2   \t       5\t 121289233 ns/op\t"
                "        60.21 GFLOP/s\t        89.27 ceiling_GFLOP/s\t        67.44 pct_ceiling\n"
                "BenchmarkLargeConvs/28/64\u2192128_14/data   \t       5\t  28431958 ns/op\t"
                "        48.70 GFLOP/s\t        89.16 ceiling_GFLOP/s\t        54.62 pct_ceiling\n"
                "PASS\n")
        rows = run.parse_layers(text)
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[0]["config"], "64")
        self.assertEqual(rows[0]["layer"], "D 64->128 / G 128->64 (32x32)")
        self.assertEqual(rows[0]["uses"], "D fwd, G dx")
        self.assertEqual(rows[1]["kernel"], "data")
        self.assertEqual(rows[1]["pct_ceiling"], "54.62")
        self.assertEqual(rows[0]["algorithm"], "direct")
        self.assertEqual(rows[0]["exec_pct_ceiling"], "67.44")
        table = run.layer_table(rows)
        self.assertIn("1 of 2 kernels at >= 60%", table)
        self.assertNotIn("Winograd", table)
        self.assertEqual(run.parse_layers("PASS\n"), [])
        # A Winograd kernel: metrics in Go's order (by unit), exec_* below the direct count.
        text = ("BenchmarkLargeConvs/64/64\u2192128_32/fwd-2   \t       2\t 286013050 ns/op\t"
                "       224.0 GFLOP/s\t       165.2 ceiling_GFLOP/s\t        80.66 exec_GFLOP/s\t"
                "        48.83 exec_pct_ceiling\t       135.6 pct_ceiling\n")
        rows = run.parse_layers(text)
        self.assertEqual(len(rows), 1)
        self.assertEqual((rows[0]["algorithm"], rows[0]["gflops"], rows[0]["pct_ceiling"]),
                         ("winograd", "224.0", "135.6"))
        self.assertEqual((rows[0]["exec_gflops"], rows[0]["exec_pct_ceiling"]), ("80.66", "48.83"))
        self.assertIn("1 of them Winograd", run.layer_table(rows))


if __name__ == "__main__":
    unittest.main()
