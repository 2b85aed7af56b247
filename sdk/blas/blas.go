package blas

/*
#cgo LDFLAGS: -lopenblas

// The prototypes are declared here rather than taken from cblas.h, whose
// location differs between distributions and OpenBLAS builds.
enum anogoOrder { anogoRowMajor = 101 };
enum anogoTranspose { anogoNoTrans = 111, anogoTrans = 112 };

void cblas_sgemm(int order, int transA, int transB, int m, int n, int k,
	float alpha, const float *a, int lda, const float *b, int ldb,
	float beta, float *c, int ldc);
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// Sgemm computes c = alpha * op(a) * op(b) + beta * c for row-major matrices,
// where op(a) is m×k (a itself when transA is false, its transpose when
// true), op(b) is k×n and c is m×n.
//
// lda, ldb and ldc are the leading dimensions (row strides) of a, b and c as
// stored: a is stored as an m×k matrix (k×m when transA) and so on. When beta
// is 0, c need not be initialised. Sgemm panics with a "blas: " message when
// a size is negative, a leading dimension is too small, a slice is too short
// or a size overflows OpenBLAS's 32-bit integers.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("blas: negative size m=%d n=%d k=%d", m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	checkMatrix("a", rowsA, colsA, a, lda)
	checkMatrix("b", rowsB, colsB, b, ldb)
	checkMatrix("c", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	ta, tb := C.int(C.anogoNoTrans), C.int(C.anogoNoTrans)
	if transA {
		ta = C.anogoTrans
	}
	if transB {
		tb = C.anogoTrans
	}
	C.cblas_sgemm(C.anogoRowMajor, ta, tb, C.int(m), C.int(n), C.int(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.int(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.int(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.int(ldc))
}

// checkMatrix panics unless s can hold a rows×cols row-major matrix with
// leading dimension ld.
func checkMatrix(name string, rows, cols int, s []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("blas: leading dimension of %s is %d, less than its %d columns", name, ld, cols))
	}
	if rows > math.MaxInt32 || cols > math.MaxInt32 || ld > math.MaxInt32 {
		panic(fmt.Sprintf("blas: %s is %d×%d (ld %d), too large for 32-bit OpenBLAS", name, rows, cols, ld))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("blas: %s has %d elements, a %d×%d matrix with ld %d needs %d", name, len(s), rows, cols, ld, need))
	}
}

// scale sets c = beta * c for an m×n matrix (c = 0 when beta is 0, even
// where c holds NaN, as BLAS specifies).
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// SetThreads sets the number of threads that OpenBLAS uses for each call.
// n < 1 is taken as 1. The setting is global to the process.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	C.openblas_set_num_threads(C.int(n))
}

// Threads returns the number of threads that OpenBLAS uses for each call.
func Threads() int {
	return int(C.openblas_get_num_threads())
}
