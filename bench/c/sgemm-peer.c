/* The same BLAS called from C: the ceiling the FFI path is compared with in `npm run bench -- train`.
 * Usage: sgemm-peer N THREADS REPEATS  ->  prints the median GFLOP/s of N×N·N×N products.
 * Built by the benchmark with the system C compiler against the library the engine loaded. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc);
void openblas_set_num_threads(int n);

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *x, const void *y) { double a = *(const double *)x, b = *(const double *)y; return (a > b) - (a < b); }

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1024, threads = argc > 2 ? atoi(argv[2]) : 1, reps = argc > 3 ? atoi(argv[3]) : 7;
  openblas_set_num_threads(threads);
  float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
  for (long i = 0; i < (long)n * n; i++) { a[i] = (float)((i * 7) % 13) / 13.0f; b[i] = (float)((i * 5) % 11) / 11.0f; }
  double *t = malloc(sizeof(double) * reps);
  for (int r = 0; r < 2; r++) cblas_sgemm(101, 111, 111, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
  for (int r = 0; r < reps; r++) {
    double s = now();
    cblas_sgemm(101, 111, 111, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    t[r] = now() - s;
  }
  qsort(t, reps, sizeof(double), cmp);
  printf("%.3f\n", 2.0 * n * n * (double)n / t[reps / 2] / 1e9);
  return 0;
}
