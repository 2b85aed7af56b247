// Package blas provides the one BLAS routine that anogo's layers need,
// single-precision general matrix multiplication (sgemm), as a thin cgo
// binding to OpenBLAS, plus control over OpenBLAS's thread count.
//
// Matrices are row-major float32 slices with an explicit leading dimension,
// as in CBLAS: element (i, j) of an m×n matrix a with leading dimension lda is
// a[i*lda+j]. Caller mistakes (negative sizes, a leading dimension smaller
// than the row length, a slice too short for the matrix it holds) panic with
// a message that starts with "blas: ", as gonum's BLAS does.
//
// Building needs OpenBLAS's shared library (Debian: libopenblas-dev); the
// package links it with -lopenblas.
//
// Threads: OpenBLAS runs each call on its own pool of Threads() threads.
// Callers that already run several sgemm calls in parallel goroutines (as
// package nn does) should call SetThreads(1) so that the two kinds of
// parallelism do not oversubscribe the cores.
package blas
