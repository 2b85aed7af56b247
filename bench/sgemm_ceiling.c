/*
 * sgemm_ceiling measures OpenBLAS single-precision matrix multiplication, C = A B with
 * n x n matrices (default 2048), on a fixed number of threads: the practical ceiling of
 * GFLOP/s for convolution-as-matrix-product code on this machine.
 *
 * Build and run (bench/run.py does this):
 *   cc -O2 -o out/bench/sgemm_ceiling bench/sgemm_ceiling.c -lopenblas
 *   out/bench/sgemm_ceiling [n [threads [reps]]]      (defaults 2048 2 10)
 *
 * Output: a CSV header and one row with the columns of bench.csv:
 *   task,config,impl,items_per_s,ratio_vs_torch,gflops,peak_rss_mb
 *   sgemm,2048,openblas,<products per second>,,<GFLOP/s>,<peak RSS MiB>
 * items_per_s and gflops come from the median of reps timed products (after one untimed
 * warm-up); one product costs 2 n^3 FLOPs. Diagnostics go to stderr.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* fill sets m[i] to values in [-1, 1) from a fixed 64-bit linear congruential sequence. */
static void fill(float *m, size_t len, unsigned long long seed) {
	unsigned long long s = seed;
	for (size_t i = 0; i < len; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		m[i] = (float)((double)(s >> 40) / (double)(1ULL << 24) * 2.0 - 1.0);
	}
}

/* arg parses argv[i] as a positive integer, or returns def when it is absent. */
static int arg(int argc, char **argv, int i, int def, const char *name) {
	if (argc <= i) {
		return def;
	}
	char *end;
	long v = strtol(argv[i], &end, 10);
	if (*end != '\0' || v < 1 || v > 1 << 20) {
		fprintf(stderr, "sgemm_ceiling: %s \"%s\" is not a positive integer\n", name, argv[i]);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv) {
	int n = arg(argc, argv, 1, 2048, "n");
	int threads = arg(argc, argv, 2, 2, "threads");
	int reps = arg(argc, argv, 3, 10, "reps");
	size_t len = (size_t)n * (size_t)n;
	float *a = malloc(len * sizeof *a), *b = malloc(len * sizeof *b), *c = malloc(len * sizeof *c);
	double *times = malloc((size_t)reps * sizeof *times);
	if (a == NULL || b == NULL || c == NULL || times == NULL) {
		fprintf(stderr, "sgemm_ceiling: out of memory for n=%d\n", n);
		return 1;
	}
	fill(a, len, 1);
	fill(b, len, 2);
	openblas_set_num_threads(threads);

	for (int r = -1; r < reps; r++) { /* r == -1 is the warm-up */
		double t0 = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
			    c, n);
		if (r >= 0) {
			times[r] = now() - t0;
		}
	}
	qsort(times, (size_t)reps, sizeof *times, cmp_double);
	double median = reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
	double gflops = 2.0 * (double)n * (double)n * (double)n / median / 1e9;

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "sgemm_ceiling: n=%d threads=%d reps=%d median %.1f ms (min %.1f, max %.1f), %s\n",
		n, threads, reps, median * 1e3, times[0] * 1e3, times[reps - 1] * 1e3,
		openblas_get_config());
	printf("task,config,impl,items_per_s,ratio_vs_torch,gflops,peak_rss_mb\n");
	printf("sgemm,%d,openblas,%.3f,,%.2f,%.0f\n", n, 1.0 / median, gflops,
	       (double)ru.ru_maxrss / 1024.0);
	free(a);
	free(b);
	free(c);
	free(times);
	return 0;
}
