package nn

import (
	"fmt"

	"github.com/anogo/anogo/sdk/blas"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func expRun(g geom, kind, reps int) (wall, cpu time.Duration) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := randn(rng, g.n*g.inSize())
	w := randn(rng, g.co*g.rows())
	y := randn(rng, g.n*g.outSize())
	run := func() {
		switch kind {
		case kFwd:
			convForward(&g, x, w, y)
		case kData:
			convBackwardData(&g, y, w, x)
		default:
			convBackwardFilter(&g, x, y, w)
		}
	}
	run()
	c0, t0 := cpuTime(), time.Now()
	for range reps {
		run()
	}
	return time.Since(t0) / time.Duration(reps), (cpuTime() - c0) / time.Duration(reps)
}

func TestExpCols(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	for _, tc := range []int{1024} {
		targetCols = tc
		for _, li := range []int{0, 1, 2, 3} {
			l := dcganLayers[li]
			g := l.geom(benchBatch)
			for kind, kn := range []string{"fwd", "dx", "dw"} {
				wall, cpu := expRun(g, kind, 3)
				gf := g.flops() / cpu.Seconds() / 1e9
				fmt.Printf("cols %4d layer %d %s wall %6.1f ms cpu %6.1f ms  %5.1f GFLOP/cpu-s\n", tc, li, kn, wall.Seconds()*1e3, cpu.Seconds()*1e3, gf)
			}
		}
	}
	targetCols = 1024
}

func TestExpThreads(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	defer SetWorkers(2)
	for rep := range 2 {
		for _, mode := range []string{"goroutines", "openblas"} {
			if mode == "goroutines" {
				SetWorkers(2)
			} else {
				SetWorkers(1)
				blas.SetThreads(2)
			}
			var tot time.Duration
			var fl float64
			for _, li := range []int{0, 1, 2, 3} {
				g := dcganLayers[li].geom(benchBatch)
				for kind := range 3 {
					wall, _ := expRun(g, kind, 2)
					tot += wall
					fl += g.flops()
				}
			}
			fmt.Printf("rep %d %-10s all D layers fwd+dx+dw: %6.0f ms wall, %5.1f GFLOP/s\n", rep, mode, tot.Seconds()*1e3, fl/tot.Seconds()/1e9)
		}
	}
}
