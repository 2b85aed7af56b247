// Command anogobench measures anogo's DCGAN the way bench/torch_ref.py
// measures PyTorch's: training steps, AnoGAN mapping steps and inference,
// on synthetic data, printing one CSV row per (task, config) with the
// columns task,config,impl,items_per_s,ratio_vs_torch,gflops,peak_rss_mb
// (impl "anogo"). bench/run.py runs it next to the PyTorch reference; see
// bench/README.md for the definitions.
//
// Usage:
//
//	anogobench --tasks train,map,infer --configs 64,28 --reps 3 --warmup 1 --threads 2 --batch 64
//
// What one item is (the same definitions as torch_ref.py):
//
//	train  one training image: items/s = batch / time of one dcgan.Trainer.Step
//	       (a D step and a G step);
//	map    one query image advanced by one mapping step of mapper.Iterative
//	       (AnoGAN Sec. 2.2): items/s = batch × steps/s;
//	infer  one generated plus one discriminated image in eval mode:
//	       items/s = batch / time of dcgan.Inference's Generate and Discriminate;
//	train_fanogan  one real image consumed by f-AnoGAN's WGAN-GP: items/s =
//	       5 × batch / time of one cycle (five critic steps with the gradient
//	       penalty, one generator step; fanogan.go);
//	encode_fanogan one image mapped and scored in one pass (E, G, the critic's
//	       features of x and G(E(x))): items/s = batch / time of fanogan.Scorer.Map.
//	train_jointenc one real image consumed by the jointly trained encoder's step at
//	       the full resolution (D with WGAN-GP and drift, G, E): items/s = batch /
//	       time of one jointenc.Trainer.Step (jointenc.go);
//	encode_jointenc one image scored in one pass (E, G, the critic's features):
//	       items/s = batch / time of jointenc.Scorer.Score;
//	train_dpa one real image consumed by one Adam step of the perceptual
//	       autoencoder at the image size (dpa.go): items/s = batch / time of
//	       one dpa.Trainer.Step;
//	encode_dpa one image scored (reconstruction, features, L_rel, map):
//	       items/s = batch / time of dpa.Scorer.Score;
//	train_stylegan2 one real image consumed by StyleGAN2's training: items/s =
//	       16 × batch / time of one lazy cycle of 16 steps, the first with R1
//	       (stylegan2.go).
//
// When more than one (task, config) is asked for, each runs in a child
// process, so that peak_rss_mb (getrusage max RSS) is the task's own.
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/anogo/anogo/sdk/data"
	"github.com/anogo/anogo/sdk/dcgan"
	"github.com/anogo/anogo/sdk/mapper"
	"github.com/anogo/anogo/sdk/nn"
)

// columns are bench.csv's columns, in order; mapimg rows add mapimgColumns
// (mean steps per query; median and largest relative excess of the final
// loss over a full Γ-step mapping of the checked queries).
var (
	columns       = []string{"task", "config", "impl", "items_per_s", "ratio_vs_torch", "gflops", "peak_rss_mb"}
	mapimgColumns = []string{"steps_per_query", "loss_excess_median", "loss_excess_max"}
)

// tasks are the measured tasks, in the harness's order; allTasks adds
// mapimg (mapimg.go), which is run only when asked for.
var (
	tasks    = []string{"train", "map", "infer"}
	allTasks = []string{"train", "map", "infer", "mapimg", taskTrainFanogan, taskEncodeFanogan, taskMapFanogan,
		taskTrainJointenc, taskEncodeJointenc, taskTrainDpa, taskEncodeDpa, taskTrainStylegan2}
)

// configs are the benchmarked models, named by image size (bench/dcgan_shapes.py).
var configs = map[string]dcgan.Config{
	"64": {Size: 64, Width: 64, Latent: 100},
	"32": {Size: 32, Width: 64, Latent: 100},
	"28": {Size: 28, Width: 64, Latent: 100},
}

// defaultReps are the timed repetitions per config and task when --reps is
// 0, as in torch_ref.py.
var defaultReps = map[string]map[string]int{
	"64": {"train": 5, "map": 10, "infer": 10, taskTrainFanogan: 2, taskEncodeFanogan: 10, taskTrainJointenc: 3, taskEncodeJointenc: 10, taskTrainDpa: 3, taskEncodeDpa: 10, taskTrainStylegan2: 2},
	"32": {"train": 10, "map": 20, "infer": 20, taskTrainFanogan: 3, taskEncodeFanogan: 20, taskTrainJointenc: 3, taskEncodeJointenc: 20, taskTrainStylegan2: 3},
	"28": {"train": 20, "map": 40, "infer": 40, taskTrainFanogan: 3, taskEncodeFanogan: 20, taskTrainJointenc: 5, taskEncodeJointenc: 20, taskTrainDpa: 5, taskEncodeDpa: 20, taskTrainStylegan2: 3},
}

// options are the parsed flags.
type options struct {
	tasks, configs []string
	reps, warmup   int
	threads, batch int
	seed           uint64
	cpuprofile     string
	rssLog         bool
	width          int    // overrides the configs' channel width when > 0
	queries        int    // mapimg: queries mapped (0: 2 × batch)
	modelDir       string // mapimg: where its trained models are kept
}

// rssLog, when set by --rss-log, receives the resident set size after every
// timed step of train and infer.
var rssLog io.Writer

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "anogobench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	runtime.GOMAXPROCS(o.threads)
	nn.SetWorkers(o.threads)
	var rows [][]string
	jobs := len(o.tasks) * len(o.configs)
	for _, c := range o.configs {
		for _, t := range o.tasks {
			var row []string
			if jobs == 1 {
				row, err = measure(o, t, c, stderr)
			} else {
				row, err = child(o, t, c, stderr)
			}
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
	}
	// mapimg rows carry extra columns (mapimgColumns); other rows leave them empty.
	header := columns
	for _, r := range rows {
		if len(r) > len(columns) {
			header = append(slices.Clone(columns), mapimgColumns...)
		}
	}
	for i, r := range rows {
		for len(r) < len(header) {
			r = append(r, "")
		}
		rows[i] = r
	}
	w := csv.NewWriter(stdout)
	w.Write(header)
	w.WriteAll(rows)
	return w.Error()
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("anogobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	taskList := fs.String("tasks", strings.Join(tasks, ","), "comma-separated tasks: "+strings.Join(allTasks, ", "))
	configList := fs.String("configs", "64,28", "comma-separated configs (image sizes): 64, 32, 28")
	reps := fs.Int("reps", 0, "timed repetitions per task (0: a default per config and task)")
	warmup := fs.Int("warmup", 2, "untimed warm-up repetitions")
	threads := fs.Int("threads", 2, "cores used (GOMAXPROCS and nn workers)")
	batch := fs.Int("batch", 64, "batch size")
	seed := fs.Uint64("seed", 1, "seed of the weights and the synthetic data")
	rss := fs.Bool("rss-log", false, "print the resident set size (VmRSS) after every timed train or infer step to stderr")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps to this file (one task and config only)")
	width := fs.Int("width", 0, "channel width instead of the configs' 64 (for long memory checks; the harness never sets it)")
	tol := fs.Float64("mapimg-tol", mapimgTol, "mapimg: per-query early stop tolerance (relative improvement per step)")
	lr := fs.Float64("mapimg-lr", mapimgLR, "mapimg: Adam's learning rate on z")
	queries := fs.Int("queries", 0, "mapimg: phantom test patches mapped (0: twice the batch)")
	modelDir := fs.String("model-dir", "out/bench/models", "mapimg: folder of the trained models (trained once when missing)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o := options{reps: *reps, warmup: *warmup, threads: *threads, batch: *batch, seed: *seed, cpuprofile: *cpuprofile, rssLog: *rss,
		queries: *queries, modelDir: *modelDir, width: *width}
	if o.queries == 0 {
		o.queries = 2 * o.batch
	}
	mapimgTol, mapimgLR = *tol, *lr
	var err error
	if o.tasks, err = parseList(*taskList, allTasks, "task"); err != nil {
		return o, err
	}
	if o.configs, err = parseList(*configList, []string{"64", "32", "28"}, "config"); err != nil {
		return o, err
	}
	if o.reps < 0 || o.warmup < 0 {
		return o, fmt.Errorf("--reps and --warmup must not be negative")
	}
	if o.cpuprofile != "" && len(o.tasks)*len(o.configs) != 1 {
		return o, fmt.Errorf("--cpuprofile needs exactly one task and one config")
	}
	if o.threads < 1 || o.batch < 1 {
		return o, fmt.Errorf("--threads and --batch must be at least 1")
	}
	return o, nil
}

func parseList(v string, allowed []string, what string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allowed, s) {
			return nil, fmt.Errorf("unknown %s %q; want some of %s", what, s, strings.Join(allowed, ", "))
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s given", what)
	}
	return out, nil
}

// child measures one (task, config) in a fresh process of this program and
// returns its row.
func child(o options, task, config string, stderr io.Writer) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "--tasks", task, "--configs", config,
		"--reps", strconv.Itoa(o.reps), "--warmup", strconv.Itoa(o.warmup),
		"--threads", strconv.Itoa(o.threads), "--batch", strconv.Itoa(o.batch),
		"--seed", strconv.FormatUint(o.seed, 10),
		"--queries", strconv.Itoa(o.queries), "--model-dir", o.modelDir, "--width", strconv.Itoa(o.width),
		"--mapimg-tol", strconv.FormatFloat(mapimgTol, 'g', -1, 64), "--mapimg-lr", strconv.FormatFloat(mapimgLR, 'g', -1, 64))
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", task, config, err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(recs) != 2 {
		return nil, fmt.Errorf("%s %s: child printed %q", task, config, out)
	}
	return recs[1], nil
}

// measure runs one (task, config) in this process and returns its row.
func measure(o options, task, config string, stderr io.Writer) ([]string, error) {
	cfg := configs[config]
	if o.width > 0 {
		cfg.Width = o.width
	}
	reps := o.reps
	if reps == 0 {
		reps = defaultReps[config][task]
	}
	var times []time.Duration
	var cpu time.Duration
	var err error
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	if o.rssLog {
		rssLog = stderr
	}
	if task == "mapimg" {
		r, err := mapImages(config, cfg, o.batch, o.queries, o.seed, o.modelDir, stderr)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", task, config, err)
		}
		items := float64(o.queries) / r.wall.Seconds()
		rss := peakRSSMiB()
		fmt.Fprintf(stderr, "anogobench: mapimg %s: %d queries mapped in %.1f s (Γ = %d, early stop %g over %d steps): %.1f steps per query on average, %.4f images/s, peak RSS %.0f MiB; final loss over the loss after all %d steps, %d queries: median +%.2f%%, max +%.2f%%\n",
			config, o.queries, r.wall.Seconds(), mapimgGamma, mapimgTol, mapimgPatience, r.steps, items, rss, mapimgGamma, min(mapimgCheck, o.queries), 100*r.excessMedian, 100*r.excessMax)
		return []string{task, config, "anogo", fmt.Sprintf("%.4f", items), "", "", fmt.Sprintf("%.0f", rss),
			fmt.Sprintf("%.1f", r.steps), fmt.Sprintf("%.4f", r.excessMedian), fmt.Sprintf("%.4f", r.excessMax)}, nil
	}
	items := o.batch
	fcfg := fanoganConfigs[config]
	if o.width > 0 {
		fcfg.Width = o.width
	}
	switch task {
	case taskTrainFanogan:
		times, cpu, err = timeTrainFanogan(fcfg, o.batch, o.warmup, reps, o.seed)
		items = fanoganItems(task, o.batch)
	case taskEncodeFanogan:
		times, cpu, err = timeEncodeFanogan(fcfg, o.batch, o.warmup, reps, o.seed)
	case taskMapFanogan:
		times, cpu, err = timeMapFanogan(fcfg, o.batch, o.warmup, reps, o.seed)
	case taskTrainJointenc, taskEncodeJointenc:
		jcfg := jointencConfigs[config]
		if o.width > 0 {
			jcfg.Width = o.width
		}
		if task == taskTrainJointenc {
			times, cpu, err = timeTrainJointenc(jcfg, o.batch, o.warmup, reps, o.seed)
		} else {
			times, cpu, err = timeEncodeJointenc(jcfg, o.batch, o.warmup, reps, o.seed)
		}
		items = jointencItems(task, o.batch)
	case taskTrainStylegan2:
		scfg := stylegan2Configs[config]
		if o.width > 0 {
			scfg.Width = o.width
		}
		times, cpu, err = timeTrainStylegan2(scfg, o.batch, o.warmup, reps, o.seed)
		items = stylegan2Items(task, o.batch)
	case taskTrainDpa, taskEncodeDpa:
		dcfg, ok := dpaConfigs[config]
		if !ok {
			return nil, fmt.Errorf("%s has configs 64 and 28, not %s", task, config)
		}
		if o.width > 0 {
			dcfg.Width = o.width
		}
		if task == taskTrainDpa {
			times, cpu, err = timeTrainDpa(dcfg, o.batch, o.warmup, reps, o.seed)
		} else {
			times, cpu, err = timeEncodeDpa(dcfg, o.batch, o.warmup, reps, o.seed)
		}
	case "train":
		times, cpu, err = timeTrain(cfg, o.batch, o.warmup, reps, o.seed)
	case "map":
		times, cpu, err = timeMap(cfg, o.batch, o.warmup, reps, o.seed)
	case "infer":
		times, cpu, err = timeInfer(cfg, o.batch, o.warmup, reps, o.seed)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", task, config, err)
	}
	med := median(times)
	rate := float64(items) / med.Seconds()
	rss := peakRSSMiB()
	fmt.Fprintf(stderr, "anogobench: %s %s: %.2f items/s, %.3f steps/s, median step %.1f ms over %d reps (min %.1f, max %.1f), CPU %.1f ms per step, peak RSS %.0f MiB\n",
		task, config, rate, 1/med.Seconds(), ms(med), len(times), ms(slices.Min(times)), ms(slices.Max(times)), ms(cpu)/float64(len(times)), rss)
	// The harness recomputes ratio and GFLOP/s from bench/dcgan_shapes.py.
	return []string{task, config, "anogo", fmt.Sprintf("%.2f", rate), "", "", fmt.Sprintf("%.0f", rss)}, nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1e3 }

func median(ts []time.Duration) time.Duration {
	s := slices.Clone(ts)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// peakRSSMiB is this process's peak resident set size (Linux reports
// ru_maxrss in KiB).
func peakRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

// syntheticQueries returns n unlabelled size×size images of values
// uniform on [-1, 1], drawn with seed: the queries of the mapping tasks.
func syntheticQueries(size, n int, seed uint64) []data.Sample {
	rng := rand.New(rand.NewPCG(seed, seed))
	qs := make([]data.Sample, n)
	for i := range qs {
		im := data.NewImage(size, size)
		dcgan.SampleZ(rng, im.Pix)
		qs[i] = data.Sample{ID: fmt.Sprintf("q%03d", i), Image: im, Label: -1}
	}
	return qs
}

// uniform returns n values uniform on [-1, 1]: synthetic images and codes.
func uniform(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	dcgan.SampleZ(rng, v)
	return v
}

// timeTrain times reps calls of Trainer.Step (a D step and a G step, DCGAN's
// recipe) on a fixed synthetic real batch, after warmup untimed ones.
func timeTrain(cfg dcgan.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, err := dcgan.New(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	tc := dcgan.DefaultTrainConfig()
	tc.BatchSize, tc.Seed = batch, seed
	tr, err := dcgan.NewTrainer(m, tc)
	if err != nil {
		return nil, 0, err
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	real := uniform(rng, batch*cfg.Size*cfg.Size)
	return timeSteps(warmup, reps, func() error {
		_, err := tr.Step(real, batch)
		return err
	})
}

// timeInfer times G(z) on a batch of codes plus D(x) on a batch of images,
// both in eval mode without gradients.
func timeInfer(cfg dcgan.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, err := dcgan.New(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	in, err := m.NewInference(batch)
	if err != nil {
		return nil, 0, err
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	x := uniform(rng, batch*cfg.Size*cfg.Size)
	z := uniform(rng, batch*cfg.Latent)
	return timeSteps(warmup, reps, func() error {
		if _, err := in.Generate(z); err != nil {
			return err
		}
		_, _, err := in.Discriminate(x)
		return err
	})
}

// timeMap times single steps of mapper.Iterative's batched mapping of batch
// synthetic queries: one Map call with warmup + reps steps (no early stop),
// timed between successive Progress callbacks, each of which marks the end
// of one step (forward, backward to z, Adam on z, clamp). The first step
// also builds the graph and computes f(x), so it always counts as warm-up.
func timeMap(cfg dcgan.Config, batch, warmup, reps int, seed uint64) ([]time.Duration, time.Duration, error) {
	m, err := dcgan.New(cfg, seed)
	if err != nil {
		return nil, 0, err
	}
	qs := syntheticQueries(cfg.Size, batch, seed)
	warmup = max(warmup, 1)
	var marks []time.Time
	var cpu0, cpu1 time.Duration
	it := &mapper.Iterative{
		Model: m, Steps: warmup + reps, Batch: batch, Seed: seed,
		Progress: func(done, total int) {
			marks = append(marks, time.Now())
			switch len(marks) {
			case warmup:
				cpu0 = cpuTime()
			case warmup + reps:
				cpu1 = cpuTime()
			}
		},
	}
	if _, err := it.Map(context.Background(), qs); err != nil {
		return nil, 0, err
	}
	if len(marks) != warmup+reps {
		return nil, 0, fmt.Errorf("mapping reported %d steps, want %d", len(marks), warmup+reps)
	}
	times := make([]time.Duration, 0, reps)
	for i := warmup; i < len(marks); i++ {
		times = append(times, marks[i].Sub(marks[i-1]))
	}
	return times, cpu1 - cpu0, nil
}

// timeSteps runs step warmup times untimed, then reps times timed; it
// returns the wall time of each timed step and the CPU time of all of them.
func timeSteps(warmup, reps int, step func() error) ([]time.Duration, time.Duration, error) {
	for range warmup {
		if err := step(); err != nil {
			return nil, 0, err
		}
	}
	times := make([]time.Duration, 0, reps)
	cpu0 := cpuTime()
	for range reps {
		t0 := time.Now()
		if err := step(); err != nil {
			return nil, 0, err
		}
		times = append(times, time.Since(t0))
		if rssLog != nil {
			fmt.Fprintf(rssLog, "anogobench: step %d: %.2f s, VmRSS %.0f MiB, peak %.0f MiB\n", len(times), times[len(times)-1].Seconds(), residentMiB(), peakRSSMiB())
		}
	}
	return times, cpuTime() - cpu0, nil
}

// cpuTime is the user plus system CPU time of this process so far: with the
// machine shared, CPU time per step is a measure that other jobs disturb
// less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// residentMiB is this process's current resident set size (VmRSS in
// /proc/self/status), or 0 where that file cannot be read.
func residentMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
