"""Tests of the benchmark's models, FLOP formulas and harness arithmetic.

Run: /usr/bin/python3 -m unittest discover -s bench -p 'test_*.py'   (a few seconds)
"""

import copy
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import dcgan_shapes as shapes  # noqa: E402
import fanogan_ref as fr  # noqa: E402
import jointenc_ref as jr  # noqa: E402
import dpa_ref as dr  # noqa: E402
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


class FanoganModelTest(unittest.TestCase):
    """The f-AnoGAN model of fanogan_ref.py (tiny widths: the shapes scale with W)."""

    def test_channels(self):
        cases = [  # (size, s0, blocks, d_in, d_out, generator channels, F)
            (64, 4, 4, [2, 4, 8, 16], [4, 8, 16, 16], [16, 16, 8, 4, 2], 16 * 16),
            (32, 4, 3, [2, 4, 8], [4, 8, 16], [16, 8, 4, 2], 16 * 16),
            (28, 7, 2, [2, 4], [4, 8], [8, 4, 2], 8 * 49),
        ]
        for size, s0, blocks, d_in, d_out, gch, feat in cases:
            cfg = fr.Config(size, width=2, latent=8)
            self.assertEqual((cfg.s0, cfg.blocks), (s0, blocks), size)
            self.assertEqual((cfg.d_in, cfg.d_out, cfg.g_channels), (d_in, d_out, gch), size)
            self.assertEqual(cfg.feature_size, feat, size)
        # The paper's width: F = 8W * 4 * 4 at 64x64, 4W * 7 * 7 at 28x28.
        self.assertEqual(fr.Config(64, 64).feature_size, 512 * 16)
        self.assertEqual(fr.Config(28, 64).feature_size, 256 * 49)
        with self.assertRaises(ValueError):
            fr.Config(48, 2)

    def test_shapes(self):
        torch.manual_seed(1)
        for size in (28, 32, 64):
            cfg = fr.Config(size, width=4, latent=8)
            g, d, e = fr.build(cfg)
            x = g(torch.randn(3, 8))
            self.assertEqual(tuple(x.shape), (3, 1, size, size), size)
            self.assertLessEqual(x.abs().max().item(), 1.0, size)
            score, f = d.score_and_features(x)
            self.assertEqual(tuple(score.shape), (3,), size)
            self.assertEqual(tuple(f.shape), (3, cfg.feature_size), size)
            z = e(x)
            self.assertEqual(tuple(z.shape), (3, 8), size)
            self.assertLess(z.abs().max().item(), 1.0, size)

    def test_parameter_names(self):
        g, d, e = fr.build(fr.Config(28, width=2, latent=8))
        for name in ("input.weight", "input.bias", "blocks.1.bn1.running_var",
                     "blocks.1.conv1.weight", "blocks.1.conv2.bias", "blocks.1.shortcut.bias",
                     "out_bn.weight", "out_conv.bias"):
            self.assertIn(name, g.state_dict(), name)
        self.assertNotIn("blocks.0.conv1.bias", g.state_dict())
        for name in ("input.bias", "blocks.0.ln1.weight", "blocks.0.ln2.bias", "output.weight"):
            self.assertIn(name, d.state_dict(), name)
        self.assertFalse(any("bn" in k or "running" in k for k in d.state_dict()))
        for name in ("blocks.1.bn1.running_mean", "blocks.1.bn2.weight", "output.bias"):
            self.assertIn(name, e.state_dict(), name)
        self.assertEqual(tuple(d.blocks[0].ln1.weight.shape), (2,))  # per channel

    def test_layer_norm(self):
        torch.manual_seed(2)
        ln = fr.ChannelLayerNorm(3)
        with torch.no_grad():
            ln.weight.uniform_(0.5, 1.5)
            ln.bias.normal_()
        x = torch.randn(2, 3, 4, 5) * 3 + 1
        mean = x.mean((1, 2, 3), keepdim=True)
        var = ((x - mean) ** 2).mean((1, 2, 3), keepdim=True)
        want = (x - mean) / torch.sqrt(var + 1e-5)
        want = want * ln.weight.view(1, 3, 1, 1) + ln.bias.view(1, 3, 1, 1)
        self.assertLess((ln(x) - want).abs().max().item(), 1e-5)

    def test_penalty_changes_the_critic_update(self):
        """The penalty is nonzero and, through create_graph, moves D's weights."""
        torch.manual_seed(3)
        cfg = fr.Config(28, width=4, latent=8)
        g, d, _ = fr.build(cfg)
        with torch.no_grad():
            fake = g(torch.randn(4, 8))
        real, alpha = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4)
        wass, gp = fr.critic_losses(d, real, fake, alpha)
        self.assertGreater(gp.item(), 0.0)
        grads = torch.autograd.grad(gp, list(d.parameters()), allow_unused=True)
        self.assertGreater(sum(float(x.abs().sum()) for x in grads if x is not None), 0.0)
        # Without create_graph the same penalty value is a constant for D's weights.
        xhat = fr.interpolate(real, fake, alpha).requires_grad_(True)
        (gx,) = torch.autograd.grad(d(xhat).sum(), xhat)
        flat = fr.LAMBDA * ((gx.flatten(1).norm(dim=1) - 1) ** 2).mean()
        self.assertAlmostEqual(flat.item(), gp.item(), places=4)
        self.assertFalse(flat.requires_grad)
        after = []
        for penalty in (gp, flat):
            dd = copy.deepcopy(d)
            opt = torch.optim.Adam(dd.parameters(), lr=fr.LR, betas=fr.BETAS)
            w, p = fr.critic_losses(dd, real, fake, alpha)
            loss = w + (p if penalty is gp else p.detach())
            loss.backward()
            opt.step()
            after.append(torch.cat([x.detach().flatten() for x in dd.parameters()]))
        self.assertGreater((after[0] - after[1]).abs().max().item(), 1e-6)

    def test_train_cycle(self):
        cfg = fr.Config(28, width=2, latent=8)
        step = fr.train_step_fn(cfg, 2, seed=1)
        loss = step()
        self.assertTrue(torch.isfinite(torch.tensor(loss)))
        self.assertEqual(fr.ITEMS_PER_BATCH["train_fanogan"], fr.N_CRITIC)

    def test_encode_scores(self):
        torch.manual_seed(4)
        cfg = fr.Config(64, width=2, latent=8)
        g, d, e = fr.build(cfg)
        for m in (g, d, e):
            m.eval()
        x = torch.rand(3, 1, 64, 64) * 2 - 1
        with torch.no_grad():
            score, xr = fr.izif_score(e, g, d, x)
            cycle = fr.cycle_score(e, g, x)
            pixels = ((x - xr) ** 2).flatten(1).mean(1)
        self.assertEqual(tuple(score.shape), (3,))
        self.assertEqual(tuple(cycle.shape), (3,))
        self.assertTrue(bool((score >= pixels).all()))  # plus kappa * the feature residual
        self.assertTrue(bool((cycle >= 0).all()))
        self.assertTrue(torch.isfinite(torch.tensor(fr.encode_step_fn(cfg, 2, seed=1)())))

    def test_model_refs_agree(self):
        """Every reference module's tasks and configs are known to run.py and torch_ref.py."""
        for ref in torch_ref.MODEL_REFS:
            for t in ref.TASKS:
                self.assertIn(t, run.MODEL_CONFIGS, t)
                self.assertEqual(set(run.MODEL_CONFIGS[t]), set(ref.CONFIGS), t)
                self.assertIn(t, ref.STEP_FNS, t)
                self.assertIn(t, ref.ITEMS_PER_BATCH, t)
                for c in ref.CONFIGS:
                    self.assertIn(t, run.SCHEDULE[c], (c, t))
                    self.assertIn(t, torch_ref.DEFAULT_REPS[c], (c, t))
        self.assertEqual(set(run.MODEL_CONFIGS), set(torch_ref.MODEL_TASKS))
        self.assertEqual(run.JOINTENC_TASKS, jr.TASKS)
        self.assertEqual(run.DPA_TASKS, dr.TASKS)
        self.assertEqual(run.STYLEGAN2_TASKS, torch_ref.stylegan2_ref.TASKS)

    def test_names_agree(self):
        self.assertEqual(run.FANOGAN_TASKS, fr.TASKS)
        self.assertEqual(run.FANOGAN_CONFIGS, tuple(fr.CONFIGS))
        self.assertEqual(run.FANOGAN_CRITIC_STEPS, fr.N_CRITIC)
        for c in fr.CONFIGS:
            for t in fr.TASKS:
                self.assertIn(t, run.SCHEDULE[c], (c, t))
                self.assertIn(t, torch_ref.DEFAULT_REPS[c], (c, t))
        self.assertEqual((fr.CONFIGS["64"].width, fr.CONFIGS["64"].latent), (32, 128))
        self.assertEqual((fr.CONFIGS["28"].width, fr.CONFIGS["28"].latent), (32, 128))


class DpaModelTest(unittest.TestCase):
    """dpa_ref.py computes what package dpa computes: its autoencoder and loss, loaded with the
    weights of sdk/dpa/testdata/fixture.json (made independently from sdk/dpa/model.go), give the
    fixture's reconstruction and L_rel at the image size."""

    def test_matches_sdk_fixture(self):
        import json
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "dpa",
                            "testdata", "fixture.json")
        with open(path) as f:
            cases = json.load(f)["cases"]
        for c in cases:
            cfg = dr.Config(c["size"], c["width"], c["latent"])
            top = len(cfg.levels) - 1
            ae, feats = dr.AE(cfg).double(), dr.Features(c["features_width"]).double()
            p = {k: torch.tensor(v["data"], dtype=torch.float64).reshape(v["shape"])
                 for k, v in c["params"].items()}
            mods = {f"E.from.{top}.conv": ae.from_grey, f"G.to.{top}": ae.to_grey,
                    "E.out": ae.enc_out, "G.in": ae.dec_in}
            for sub in ("conv1", "conv2", "shortcut"):
                mods[f"E.from.{top}.block.{sub}"] = getattr(ae.from_block, sub)
                for k in range(1, top + 1):
                    mods[f"E.down.{k}.{sub}"] = getattr(ae.down[top - k], sub)
                    mods[f"G.up.{k}.{sub}"] = getattr(ae.up[k - 1], sub)
            with torch.no_grad():
                for name, mod in mods.items():
                    if mod is None:
                        continue
                    mod.weight.copy_(p[name + ".weight"])
                    mod.bias.copy_(p[name + ".bias"])
                for conv, idx in zip(feats.convs, (0, 2, 5, 7, 10, 12)):
                    fp = c["features"]
                    conv.weight.copy_(torch.tensor(fp[f"features.{idx}.weight"]["data"],
                                                   dtype=torch.float64).reshape(conv.weight.shape))
                    conv.bias.copy_(torch.tensor(fp[f"features.{idx}.bias"]["data"], dtype=torch.float64))
                x = torch.tensor(c["x"], dtype=torch.float64).reshape(-1, 1, c["size"], c["size"])
                xr = ae(x)
                loss = dr.rel_loss(feats, x, xr)[0]
            ph = [q for q in c["phases"] if q["res"] == c["size"] and not q["fade"]][0]
            self.assertEqual(ph["layer"], "relu3_2")
            want = torch.tensor(ph["recon"], dtype=torch.float64).reshape(xr.shape)
            self.assertLess(float((xr - want).abs().max()), 1e-6 * max(1.0, float(want.abs().max())))
            self.assertLess(float((loss - torch.tensor(ph["loss"], dtype=torch.float64)).abs().max()), 1e-6)

    def test_steps_run(self):
        cfg = dr.Config(28, 4, 3)
        for name, fn in dr.STEP_FNS.items():
            self.assertTrue(math.isfinite(fn(cfg, 2, 1)()), name)


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

    def test_summarise_fanogan(self):
        samples = [
            (1, "encode_fanogan", "28", "torch", 100.0, 400.0, None),
            (1, "encode_fanogan", "28", "anogo", 300.0, 100.0, 5.0),
            (1, "train_fanogan", "28", "torch", 30.0, 500.0, None),
        ]
        rows = {(r["task"], r["impl"]): r for r in run.summarise(samples)}
        self.assertEqual(rows["encode_fanogan", "anogo"]["ratio_vs_torch"], "3.000")
        self.assertEqual(rows["encode_fanogan", "anogo"]["gflops"], "")
        self.assertEqual(rows["train_fanogan", "torch"]["ratio_vs_torch"], "1.000")
        self.assertIn("0.0938 cycles/s", run.table(run.summarise(samples), 64))

    def test_encode_vs_mapimg(self):
        rows = [
            {"task": "map", "config": "28", "impl": "torch", "items_per_s": "250.00"},
            {"task": "mapimg", "config": "28", "impl": "anogo", "items_per_s": "2.0000"},
            {"task": "encode_fanogan", "config": "28", "impl": "torch", "items_per_s": "400.00"},
            {"task": "encode_fanogan", "config": "28", "impl": "anogo", "items_per_s": "1500.00"},
            {"task": "encode_fanogan", "config": "64", "impl": "torch", "items_per_s": "80.00"},
        ]
        got = run.encode_vs_mapimg(rows)
        self.assertEqual(got["28", "anogo"], (1500.0, 2.0, 750.0, "mapimg"))
        self.assertEqual(got["28", "torch"], (400.0, 0.5, 800.0, "map / 500"))
        self.assertNotIn(("64", "torch"), got)  # no map or mapimg row at 64
        rows.append({"task": "mapimg", "config": "28", "impl": "torch", "items_per_s": "0.8000"})
        self.assertEqual(run.encode_vs_mapimg(rows)["28", "torch"][1:], (0.8, 500.0, "mapimg"))

    def test_refused_task_is_skipped(self):
        h = run.Harness(run.parse_args(["--no-go", "--reps", "1"]))
        h.log = lambda msg: None
        refuse = ("import sys; sys.stderr.write('anogobench: unknown task \"train_fanogan\"; "
                  "want some of train, map\\n'); sys.exit(1)")
        h.go = [sys.executable, "-c", refuse]
        h.anogo(1, "train_fanogan", "28")
        h.anogo(2, "train_fanogan", "64")  # not run again
        self.assertEqual(h.failures, [])
        self.assertEqual(h.go_refused, {"train_fanogan"})
        self.assertEqual(sum("train_fanogan skipped" in n for n in h.notes), 1)
        # Any other failure still counts.
        h.go = [sys.executable, "-c", "import sys; sys.exit(3)"]
        h.anogo(1, "encode_fanogan", "28")
        self.assertEqual(len(h.failures), 1)

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
