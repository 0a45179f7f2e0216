/* Data-parallel batch Dice with MPI, exact: every rank holds a shard of the batch (whole items,
 * unequal shards allowed), and gets the loss of the whole batch and the gradient of its shard,
 * bit for bit what one process computes on the whole batch.
 *
 *   mpicc -std=c11 -O2 -Iinclude examples/mpi_batch_dice.c -Ltarget/release -ldice \
 *         -Wl,-rpath,$PWD/target/release -lm -o mpi_batch_dice
 *   mpirun -np 3 ./mpi_batch_dice [f32|f64]     (the logits' type; default f32)
 *
 * Per rank: dice_stats on its shard (one row of (I, P, G) per item and kept class, and with an
 * elementwise term five sums per item); the rows of every rank are gathered in rank order
 * (MPI_Allgatherv) and summed in item order, exactly as dice_loss pools the rows of a batch in
 * one process; dice_finalize gives the loss, dice_backward_from_stats the shard's gradient.
 *
 * Why a gather and not MPI_Allreduce(MPI_SUM) of each rank's pooled rows: the pooled stats are
 * floating-point sums, and the library sums the rows of a batch in item order
 * ((r0 + r1) + r2) + r3, while an all-reduce adds each rank's partial sum, (r0 + r1) + (r2 + r3),
 * in an order the MPI implementation chooses. The results agree to rounding, not bit for bit.
 * The program measures that too (the "allreduce" line): the largest difference in units in the
 * last place between the all-reduced and the exact pooled stats, and whether the loss differs.
 *
 * Output (one line per rank and loss, then rank 0's comparison with the single-process call on
 * the whole batch, which rank 0 also computes):
 *   rank R/P f32|f64 loss=<name> items=A..B value=%.17g grad_sum=%.17g grad_fnv=%016llx
 *   rank R/P f32|f64 loss=<name> allreduce max_ulps=U loss_bitwise=yes|no loss_ulps=V
 *   single f32|f64 loss=<name> value=%.17g
 *   check f32|f64 loss=<name> value=MATCH|MISMATCH grad=MATCH|MISMATCH
 * The exit status is 0 only when every rank's loss and gradient are bit-identical to the
 * single-process ones. */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dice.h"

#define N 7 /* items in the whole batch */
#define C 3 /* classes */
#define D 16
#define H 12
#define W 10
#define VOX (D * H * W)

static void die(const char *what, DiceStatus st) {
  fprintf(stderr, "%s failed: %d (%s): %s\n", what, (int)st, dice_status_string(st), dice_last_error());
  MPI_Abort(MPI_COMM_WORLD, 2);
}
#define OK(call)                                   \
  do {                                             \
    DiceStatus st_ = (call);                       \
    if (st_ != DICE_STATUS_OK) die(#call, st_);    \
  } while (0)

/* splitmix64: the data of item n depends on n only, so a shard equals the batch's items */
static uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int f64; /* the logits' type: 0 float32, 1 float64 */
static size_t esize(void) { return f64 ? sizeof(double) : sizeof(float); }

/* Logits (n, C, D, H, W) and labels (n, 1, D, H, W) int64 of items first..first+n-1.
 * Item 1 has no voxel of class 2 (a shard without one class). */
static void fill(int first, int n, void *x, int64_t *y) {
  for (int i = 0; i < n; ++i) {
    uint64_t item = (uint64_t)(first + i);
    for (int k = 0; k < C * VOX; ++k) {
      double v = (double)(mix(item << 32 | (uint64_t)k) >> 11) * 0x1p-53 * 6.0 - 3.0;
      size_t at = (size_t)i * C * VOX + (size_t)k;
      if (f64)
        ((double *)x)[at] = v;
      else
        ((float *)x)[at] = (float)v;
    }
    for (int v = 0; v < VOX; ++v) {
      int64_t label = (int64_t)(mix(~(item << 32 | (uint64_t)v)) % C);
      y[(size_t)i * VOX + v] = (item == 1 && label == 2) ? 0 : label;
    }
  }
}

static DiceTensor tensor(void *data, uint8_t code, uint8_t bits, const int64_t *shape) {
  DiceTensor t;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.device.device_type = DICE_DEVICE_CPU;
  t.ndim = 5;
  t.dtype.code = code;
  t.dtype.bits = bits;
  t.dtype.lanes = 1;
  t.shape = shape;
  t.strides = NULL;
  return t;
}

/* FNV-1a over the bytes: a bitwise fingerprint of a gradient shard */
static unsigned long long fnv(const void *p, size_t len) {
  const unsigned char *b = p;
  unsigned long long h = 1469598103934665603ull;
  for (size_t i = 0; i < len; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

static double fsum(const void *g, size_t len) {
  double s = 0.0;
  for (size_t i = 0; i < len; ++i) s += f64 ? ((const double *)g)[i] : (double)((const float *)g)[i];
  return s;
}

/* distance in units in the last place between two finite doubles of the same sign */
static double ulps(double a, double b) {
  if (a == b) return 0.0;
  int64_t ia, ib;
  memcpy(&ia, &a, 8);
  memcpy(&ib, &b, 8);
  return fabs((double)(ia - ib));
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (dice_abi_version() != DICE_ABI_VERSION) {
    fprintf(stderr, "libdice ABI %u, header %u\n", dice_abi_version(), (unsigned)DICE_ABI_VERSION);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  f64 = argc > 1 && strcmp(argv[1], "f64") == 0;
  if (argc > 1 && !f64 && strcmp(argv[1], "f32") != 0) {
    if (rank == 0) fprintf(stderr, "usage: mpi_batch_dice [f32|f64]\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  if (size > N) {
    if (rank == 0) fprintf(stderr, "at most %d ranks (one item each)\n", N);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }

  /* unequal shards: the first N % size ranks get one item more */
  int counts[N], firsts[N];
  for (int r = 0, f = 0; r < size; ++r) {
    counts[r] = N / size + (r < N % size);
    firsts[r] = f;
    f += counts[r];
  }
  int n = counts[rank], first = firsts[rank];
  void *x = malloc(esize() * (size_t)n * C * VOX), *grad = malloc(esize() * (size_t)n * C * VOX);
  int64_t *y = malloc(sizeof(int64_t) * (size_t)n * VOX);
  fill(first, n, x, y);
  int64_t xs[5] = {n, C, D, H, W}, ys[5] = {n, 1, D, H, W};
  const uint8_t bits = f64 ? 64 : 32;
  DiceTensor input = tensor(x, DICE_DTYPE_FLOAT, bits, xs), target = tensor(y, DICE_DTYPE_INT, 64, ys);
  DiceTensor g = tensor(grad, DICE_DTYPE_FLOAT, bits, xs);
  DiceContext *ctx = NULL;
  OK(dice_context_create(1, &ctx));

  int failed = 0;
  for (int which = 0; which < 2; ++which) {
    const char *name = which == 0 ? "batch_dice" : "batch_dice_ce";
    DiceLossOptions o;
    OK(dice_loss_options_default(&o));
    o.activation = DICE_ACTIVATION_SOFTMAX;
    o.include_background = 0;
    o.batch = 1;
    if (which == 1) { /* MONAI DiceCELoss(softmax, batch): + mean cross-entropy over every voxel */
      o.include_background = 1;
      o.pointwise = DICE_POINTWISE_SOFTMAX_CE;
    }
    const int k = which == 0 ? C - 1 : C;  /* kept classes */
    const int rec = which == 0 ? 0 : 5;    /* per-row sums of the elementwise term */
    const int per_row = k * 3 + rec;       /* doubles per item once rearranged */

    /* 1. this shard's stats: n x k triples, then n records */
    size_t len = (size_t)n * k * 3 + (size_t)n * rec;
    double *local = malloc(sizeof(double) * len);
    OK(dice_stats(ctx, &input, &target, &o, local, len));
    /* rearranged item by item, so that the gathered buffer is item-major in rank order */
    double *mine = malloc(sizeof(double) * (size_t)n * per_row);
    for (int i = 0; i < n; ++i) {
      memcpy(mine + (size_t)i * per_row, local + (size_t)i * k * 3, sizeof(double) * k * 3);
      memcpy(mine + (size_t)i * per_row + k * 3, local + (size_t)n * k * 3 + (size_t)i * rec, sizeof(double) * rec);
    }
    /* 2. every rank's rows, in rank order = item order; summed item by item (the library's order) */
    int rc[N], rd[N];
    for (int r = 0; r < size; ++r) {
      rc[r] = counts[r] * per_row;
      rd[r] = firsts[r] * per_row;
    }
    double *all = malloc(sizeof(double) * (size_t)N * per_row);
    MPI_Allgatherv(mine, n * per_row, MPI_DOUBLE, all, rc, rd, MPI_DOUBLE, MPI_COMM_WORLD);
    double *pooled = calloc((size_t)per_row, sizeof(double)); /* one row: k triples, then 1 record */
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < per_row; ++j) pooled[j] += all[(size_t)i * per_row + j];
    double loss;
    OK(dice_finalize(pooled, (size_t)per_row, 1, (size_t)k, &o, &loss, NULL, 0));
    /* 3. the gradient of this shard from the global stats */
    OK(dice_backward_from_stats(ctx, &input, &target, &o, pooled, (size_t)per_row, 1, (size_t)k, NULL, 0, &g));
    size_t glen = (size_t)n * C * VOX;
    unsigned long long h = fnv(grad, esize() * glen);
    printf("rank %d/%d %s loss=%s items=%d..%d value=%.17g grad_sum=%.17g grad_fnv=%016llx\n", rank, size,
           f64 ? "f64" : "f32", name, first, first + n - 1, loss, fsum(grad, glen), h);

    /* measured: MPI_Allreduce(SUM) of each rank's pooled rows instead of the ordered sum */
    double *part = calloc((size_t)per_row, sizeof(double)), *reduced = malloc(sizeof(double) * per_row);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < per_row; ++j) part[j] += mine[(size_t)i * per_row + j];
    MPI_Allreduce(part, reduced, per_row, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    double worst = 0.0, loss_ar;
    for (int j = 0; j < per_row; ++j) worst = fmax(worst, ulps(reduced[j], pooled[j]));
    OK(dice_finalize(reduced, (size_t)per_row, 1, (size_t)k, &o, &loss_ar, NULL, 0));
    printf("rank %d/%d %s loss=%s allreduce max_ulps=%.0f loss_bitwise=%s loss_ulps=%.0f\n", rank, size,
           f64 ? "f64" : "f32", name, worst,
           loss_ar == loss ? "yes" : "no", ulps(loss_ar, loss));

    /* rank 0: the single-process call on the whole batch, and the comparison */
    double their[2 * N];
    double me[2] = {loss, 0.0};
    memcpy(&me[1], &h, sizeof h);
    MPI_Gather(me, 2, MPI_DOUBLE, their, 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      char *X = malloc(esize() * (size_t)N * C * VOX), *G = malloc(esize() * (size_t)N * C * VOX);
      int64_t *Y = malloc(sizeof(int64_t) * (size_t)N * VOX);
      fill(0, N, X, Y);
      int64_t XS[5] = {N, C, D, H, W}, YS[5] = {N, 1, D, H, W};
      DiceTensor XI = tensor(X, DICE_DTYPE_FLOAT, bits, XS), YT = tensor(Y, DICE_DTYPE_INT, 64, YS);
      DiceTensor GT = tensor(G, DICE_DTYPE_FLOAT, bits, XS);
      double single;
      OK(dice_loss_grad(ctx, &XI, &YT, &o, NULL, 0, &GT, &single, NULL, 0));
      printf("single %s loss=%s value=%.17g\n", f64 ? "f64" : "f32", name, single);
      int value_ok = 1, grad_ok = 1;
      for (int r = 0; r < size; ++r) {
        unsigned long long hr;
        memcpy(&hr, &their[2 * r + 1], sizeof hr);
        value_ok &= their[2 * r] == single;
        grad_ok &= hr == fnv(G + esize() * (size_t)firsts[r] * C * VOX, esize() * (size_t)counts[r] * C * VOX);
      }
      printf("check %s loss=%s value=%s grad=%s\n", f64 ? "f64" : "f32", name, value_ok ? "MATCH" : "MISMATCH", grad_ok ? "MATCH" : "MISMATCH");
      failed |= !(value_ok && grad_ok);
      free(X);
      free(G);
      free(Y);
    }
    free(local);
    free(mine);
    free(all);
    free(pooled);
    free(part);
    free(reduced);
  }
  dice_context_destroy(ctx);
  free(x);
  free(grad);
  free(y);
  MPI_Bcast(&failed, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return failed ? 1 : 0;
}
