package nn

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestExpIm2col(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, li := range []int{0, 1, 2, 3} {
		g := dcganLayers[li].geom(1)
		rng := rand.New(rand.NewPCG(1, 2))
		x := randn(rng, g.inSize())
		col := make([]float32, g.rows()*g.pix())
		ph := make([]float32, g.phaseSize())
		for _, which := range []string{"im2col", "col2im"} {
			best := time.Hour
			for range 5 {
				c0 := threadCPU()
				for range 200 {
					switch which {
					case "im2col":
						im2col(&g, x, ph, col, g.pix(), 0, g.rows(), 0, g.ho)
					case "col2im":
						col2im(&g, col, g.pix(), 0, g.rows(), x)
					}
				}
				best = min(best, (threadCPU()-c0)/200)
			}
			fmt.Printf("layer %d %s %8.1f µs cpu  %.2f GB/s\n", li, which, best.Seconds()*1e6, float64(len(col)*4)/best.Seconds()/1e9)
		}
	}
}
