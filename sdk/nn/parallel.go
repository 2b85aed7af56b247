package nn

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/anogo/anogo/sdk/blas"
)

// Threading: the layers split their work into independent tasks (samples,
// channels or rows of a matrix) that Workers() goroutines take in turn, and
// every goroutine calls OpenBLAS single-threaded. This keeps im2col, col2im
// and element-wise work parallel too, where OpenBLAS's own threads would
// leave one core idle outside the matrix products. See doc.go for the
// measurements behind the choice.

var (
	workers     atomic.Int64
	workersInit sync.Once
)

// Workers returns the number of goroutines that each layer uses. It is
// runtime.GOMAXPROCS(0) unless SetWorkers changed it; when it is above 1 the
// first call also sets OpenBLAS to one thread per call (blas.SetThreads(1)).
func Workers() int {
	workersInit.Do(func() { setWorkers(runtime.GOMAXPROCS(0)) })
	return int(workers.Load())
}

// SetWorkers sets the number of goroutines that each layer uses (n < 1 is
// taken as 1). With more than one, OpenBLAS is set to one thread per call;
// with one, OpenBLAS keeps its thread count, so that SetWorkers(1) followed
// by blas.SetThreads(k) gives the other arrangement, where only the matrix
// products run in parallel.
func SetWorkers(n int) {
	workersInit.Do(func() {})
	setWorkers(n)
}

func setWorkers(n int) {
	n = max(n, 1)
	workers.Store(int64(n))
	if n > 1 {
		blas.SetThreads(1)
	}
}

// parallel runs body(worker, task) for every task in [0, tasks), spreading
// them over up to Workers() goroutines; worker is in [0, nw) and indexes
// per-worker scratch. It returns when every task is done.
func parallel(tasks int, body func(worker, task int)) {
	nw := min(Workers(), tasks)
	if nw <= 1 {
		for t := range tasks {
			body(0, t)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(nw)
	for w := range nw {
		go func() {
			defer wg.Done()
			for {
				t := int(next.Add(1) - 1)
				if t >= tasks {
					return
				}
				body(w, t)
			}
		}()
	}
	wg.Wait()
}

// span returns the i-th of parts nearly equal ranges of [0, n).
func span(n, parts, i int) (lo, hi int) {
	return n * i / parts, n * (i + 1) / parts
}

// scratch is a free list of float32 buffers shared by every op: ops run one
// after another, so a few buffers of the largest size in use serve all of
// them and nothing big is allocated once the first run is over.
var scratch bufPool

type bufPool struct {
	mu   sync.Mutex
	free [][]float32
}

// get returns a buffer of length n (contents undefined). It takes the
// smallest free buffer that is large enough; failing that it drops the
// largest free one (to keep the list short) and allocates.
func (p *bufPool) get(n int) []float32 {
	p.mu.Lock()
	best, largest := -1, -1
	for i, b := range p.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(p.free[best])) {
			best = i
		}
		if largest < 0 || cap(b) > cap(p.free[largest]) {
			largest = i
		}
	}
	if best >= 0 {
		b := p.free[best]
		p.remove(best)
		p.mu.Unlock()
		return b[:n]
	}
	if largest >= 0 {
		p.remove(largest)
	}
	p.mu.Unlock()
	return make([]float32, n)
}

func (p *bufPool) remove(i int) {
	last := len(p.free) - 1
	p.free[i] = p.free[last]
	p.free[last] = nil
	p.free = p.free[:last]
}

// put returns a buffer to the pool.
func (p *bufPool) put(b []float32) {
	if cap(b) == 0 {
		return
	}
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// minPerTask is the least number of elements that an element-wise task is
// given; below it a goroutine costs more than it saves.
const minPerTask = 1 << 14

// parallelRange splits [0, n) into at most Workers() ranges of at least
// minPer elements each and runs fn on them in parallel.
func parallelRange(n, minPer int, fn func(lo, hi int)) {
	parts := min(Workers(), max(n/max(minPer, 1), 1))
	if parts <= 1 {
		fn(0, n)
		return
	}
	parallel(parts, func(_, t int) {
		lo, hi := span(n, parts, t)
		fn(lo, hi)
	})
}

// pgemm computes c = op(a)·op(b) (c overwritten) like blas.Sgemm with alpha
// 1 and beta 0, splitting the larger of c's two dimensions over the workers.
func pgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	parts := min(Workers(), max(m*n*k/(1<<18), 1))
	if parts <= 1 || (m < 2 && n < 2) {
		blas.Sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
		return
	}
	if m >= n {
		parts = min(parts, m)
		parallel(parts, func(_, t int) {
			m0, m1 := span(m, parts, t)
			ao := m0 * lda
			if transA {
				ao = m0
			}
			blas.Sgemm(transA, transB, m1-m0, n, k, 1, a[ao:], lda, b, ldb, 0, c[m0*ldc:], ldc)
		})
		return
	}
	parts = min(parts, n)
	parallel(parts, func(_, t int) {
		n0, n1 := span(n, parts, t)
		bo := n0
		if transB {
			bo = n0 * ldb
		}
		blas.Sgemm(transA, transB, m, n1-n0, k, 1, a, lda, b[bo:], ldb, 0, c[n0:], ldc)
	})
}
