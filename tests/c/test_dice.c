/* C11 tests of the dice C ABI: reference values (MONAI), gradients, the three-step API,
 * strided/dtype variants, ABI layout, and a bad-input matrix where every entry must return
 * its documented status and a message naming the argument, without crashing.
 * Built by scripts/test-c.sh with gcc -std=c11 -Wall -Wextra -pedantic -Werror, against
 * libdice.a and libdice.so, and again with -fsanitize=address,undefined. */
#include "dice.h"

#include <float.h>
#include <math.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_cases.h"

/* ---- ABI layout asserts (mirrored by const asserts in dice-ffi/src/lib.rs, options.rs) ---- */
_Static_assert(sizeof(DiceStatus) == 4, "DiceStatus is int32");
_Static_assert(sizeof(DiceDevice) == 8 && alignof(DiceDevice) == 4, "DiceDevice");
_Static_assert(sizeof(DiceDataType) == 4 && alignof(DiceDataType) == 2, "DiceDataType");
_Static_assert(offsetof(DiceDataType, bits) == 1 && offsetof(DiceDataType, lanes) == 2, "DiceDataType fields");
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(DiceTensor) == 48 && alignof(DiceTensor) == 8, "DiceTensor is DLTensor");
_Static_assert(offsetof(DiceTensor, data) == 0, "data");
_Static_assert(offsetof(DiceTensor, device) == 8, "device");
_Static_assert(offsetof(DiceTensor, ndim) == 16, "ndim");
_Static_assert(offsetof(DiceTensor, dtype) == 20, "dtype");
_Static_assert(offsetof(DiceTensor, shape) == 24, "shape");
_Static_assert(offsetof(DiceTensor, strides) == 32, "strides");
_Static_assert(offsetof(DiceTensor, byte_offset) == 40, "byte_offset");
_Static_assert(sizeof(DiceLossOptions) == DICE_LOSS_OPTIONS_SIZE, "DiceLossOptions size");
_Static_assert(offsetof(DiceLossOptions, activation) == 4, "activation");
_Static_assert(offsetof(DiceLossOptions, reduction) == 8, "reduction");
_Static_assert(offsetof(DiceLossOptions, include_background) == 12, "include_background");
_Static_assert(offsetof(DiceLossOptions, batch) == 15, "batch");
_Static_assert(offsetof(DiceLossOptions, smooth_nr) == 16, "smooth_nr");
_Static_assert(offsetof(DiceLossOptions, smooth_dr) == 24, "smooth_dr");
_Static_assert(offsetof(DiceLossOptions, weight) == 32, "weight");
_Static_assert(offsetof(DiceLossOptions, weight_len) == 40, "weight_len");
_Static_assert(offsetof(DiceLossOptions, ignore_index) == 48, "ignore_index");
_Static_assert(offsetof(DiceLossOptions, has_ignore_index) == 56, "has_ignore_index");
_Static_assert(offsetof(DiceLossOptions, soft_label) == 57, "soft_label");
_Static_assert(offsetof(DiceLossOptions, reserved) == 58, "reserved");
#endif

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    ++checks;                                                              \
    if (!(cond)) {                                                         \
      ++failures;                                                          \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);      \
      fprintf(stderr, __VA_ARGS__);                                        \
      fprintf(stderr, "\n");                                               \
    }                                                                      \
  } while (0)

#define CHECK_OK(call)                                                                          \
  do {                                                                                          \
    DiceStatus st_ = (call);                                                                    \
    CHECK(st_ == DICE_STATUS_OK, "%s -> %d (%s): %s", #call, (int)st_, dice_status_string(st_), \
          dice_last_error());                                                                   \
  } while (0)

static int close_to(double got, double want, double rtol, double atol) {
  return fabs(got - want) <= atol + rtol * fabs(want);
}

static DiceTensor tensor(void *data, DiceDataType dt, int32_t ndim, const int64_t *shape, const int64_t *strides) {
  DiceTensor t;
  t.data = data;
  t.device.device_type = DICE_DEVICE_CPU;
  t.device.device_id = 0;
  t.ndim = ndim;
  t.dtype = dt;
  t.shape = shape;
  t.strides = strides;
  t.byte_offset = 0;
  return t;
}

static const DiceDataType F32 = {DICE_DTYPE_FLOAT, 32, 1};
static const DiceDataType F64 = {DICE_DTYPE_FLOAT, 64, 1};
static const DiceDataType I64 = {DICE_DTYPE_INT, 64, 1};
static const DiceDataType U8 = {DICE_DTYPE_UINT, 8, 1};

/* Max relative-ish error of a float gradient against a double reference. */
static int grad_matches(const float *got, const double *want, size_t n, double rtol, double atol) {
  size_t i;
  for (i = 0; i < n; ++i) {
    if (!close_to(got[i], want[i], rtol, atol)) {
      fprintf(stderr, "  grad[%zu] = %.9g, expected %.9g\n", i, (double)got[i], want[i]);
      return 0;
    }
  }
  return 1;
}

static void test_version(void) {
  CHECK(dice_abi_version() == DICE_ABI_VERSION, "abi %u", dice_abi_version());
  CHECK(strcmp(dice_version(), DICE_VERSION_STRING) == 0, "version %s", dice_version());
  CHECK(strcmp(dice_status_string(DICE_STATUS_OK), "ok") == 0, "%s", dice_status_string(0));
  CHECK(strcmp(dice_status_string(12345), "unknown status code") == 0, "%s", dice_status_string(12345));
  CHECK(strcmp(dice_status_string(-1), "unknown status code") == 0, "%s", dice_status_string(-1));
}

/* MONAI DiceLoss(sigmoid=True), input/target (2, 3, 24) float32: loss 0.4284460457510177
 * (tests/reference/cases.json, case monai_DiceLoss_1d_sigmoid_multilabel_default). */
static void test_ref_dense_sigmoid(DiceContext *ctx) {
  int64_t shape[3] = {2, 3, 24};
  float input[144], target[144], grad[144];
  double dinput[144], dtarget[144], dgrad[144];
  DiceTensor ti, tt, tg;
  DiceLossOptions o;
  double loss = -1.0;
  size_t i;
  memcpy(input, REF1_input, sizeof input);
  memcpy(target, REF1_target, sizeof target);
  CHECK_OK(dice_loss_options_default(&o));
  CHECK(o.struct_size == sizeof(DiceLossOptions) && o.include_background == 1 && o.smooth_nr == 1e-5,
        "defaults");
  o.activation = DICE_ACTIVATION_SIGMOID;
  ti = tensor(input, F32, 3, shape, NULL);
  tt = tensor(target, F32, 3, shape, NULL);
  tg = tensor(grad, F32, 3, shape, NULL);

  CHECK_OK(dice_loss(ctx, &ti, &tt, &o, &loss, NULL, 0));
  CHECK(close_to(loss, 0.4284460457510177, 1e-5, 1e-6), "loss %.12g", loss);
  CHECK(dice_last_error()[0] == '\0', "message cleared on success: %s", dice_last_error());

  loss = -1.0;
  CHECK_OK(dice_loss_grad(ctx, &ti, &tt, &o, NULL, 0, &tg, &loss, NULL, 0));
  CHECK(close_to(loss, REF1_loss[0], 1e-5, 1e-6), "loss %.12g", loss);
  CHECK(grad_matches(grad, REF1_grad, 144, 1e-4, 1e-6), "float32 grad vs MONAI");

  /* upstream 2.0 doubles the gradient */
  {
    float grad2[144];
    double up = 2.0;
    DiceTensor tg2 = tensor(grad2, F32, 3, shape, NULL);
    CHECK_OK(dice_loss_grad(ctx, &ti, &tt, &o, &up, 1, &tg2, &loss, NULL, 0));
    for (i = 0; i < 144; ++i) CHECK(close_to(grad2[i], 2.0 * grad[i], 1e-6, 0), "upstream scaling at %zu", i);
  }

  /* float64 input and target */
  for (i = 0; i < 144; ++i) {
    dinput[i] = REF1_input[i];
    dtarget[i] = REF1_target[i];
  }
  ti = tensor(dinput, F64, 3, shape, NULL);
  tt = tensor(dtarget, F64, 3, shape, NULL);
  tg = tensor(dgrad, F64, 3, shape, NULL);
  CHECK_OK(dice_loss_grad(ctx, &ti, &tt, &o, NULL, 0, &tg, &loss, NULL, 0));
  CHECK(close_to(loss, REF1_loss[0], 1e-5, 1e-6), "f64 loss %.12g", loss);
  for (i = 0; i < 144; ++i) CHECK(close_to(dgrad[i], REF1_grad[i], 1e-4, 1e-6), "f64 grad[%zu]", i);
}

/* MONAI DiceCELoss(softmax=True, to_onehot_y=True, weight=[0.5, 1, 2]) (case
 * monai_DiceCELoss_2d_softmax_label_weight): the Dice term with class weights plus the
 * weighted softmax cross-entropy, through the one-call API and through stats -> finalize. */
static void test_ref_dice_ce(DiceContext *ctx) {
  int64_t shape[4] = {2, 3, 12, 12}, lshape[4] = {2, 1, 12, 12};
  static float grad[864];
  const double w[3] = {0.5, 1.0, 2.0};
  double stats[2 * 3 * 3 + 2 * 5], loss = 0, loss2 = 0;
  DiceLossOptions o;
  DiceTensor ti = tensor((void *)REF3_input, F32, 4, shape, NULL);
  DiceTensor tl = tensor((void *)REF3_labels, I64, 4, lshape, NULL);
  DiceTensor tg = tensor(grad, F32, 4, shape, NULL);
  dice_loss_options_default(&o);
  o.activation = DICE_ACTIVATION_SOFTMAX;
  o.weight = w;
  o.weight_len = 3;
  o.pointwise = DICE_POINTWISE_SOFTMAX_CE;
  o.pw_weight = w;
  o.pw_weight_len = 3;
  CHECK_OK(dice_loss_grad(ctx, &ti, &tl, &o, NULL, 0, &tg, &loss, NULL, 0));
  CHECK(close_to(loss, REF3_loss[0], 1e-5, 1e-6), "DiceCE loss %.12g vs %.12g", loss, REF3_loss[0]);
  CHECK(grad_matches(grad, REF3_grad, 864, 1e-4, 1e-6), "DiceCE grad vs MONAI");
  /* the stats carry the elementwise sums: N x C x 3 + N x 5 values */
  CHECK(dice_stats(ctx, &ti, &tl, &o, stats, 18) == DICE_STATUS_BAD_LENGTH, "stats without the CE sums");
  CHECK_OK(dice_stats(ctx, &ti, &tl, &o, stats, 28));
  CHECK_OK(dice_finalize(stats, 28, 2, 3, &o, &loss2, NULL, 0));
  CHECK(close_to(loss2, loss, 1e-12, 1e-12), "stats -> finalize %.15g vs %.15g", loss2, loss);
}

/* The warm-up ramp of a blend weight: alpha(step) for alpha * Dice + (1 - alpha) * BCE. */
static void test_ramp(void) {
  double v = -1;
  CHECK_OK(dice_ramp(DICE_RAMP_LINEAR, 0.0, 1.0, 10, 5, &v));
  CHECK(close_to(v, 0.5, 0, 1e-15), "linear midpoint %.17g", v);
  CHECK_OK(dice_ramp(DICE_RAMP_COSINE, 0.0, 1.0, 10, 2, &v));
  CHECK(close_to(v, 0.5 * (1.0 - cos(3.14159265358979323846 * 0.2)), 0, 1e-14), "cosine %.17g", v);
  CHECK_OK(dice_ramp(DICE_RAMP_LINEAR, 0.2, 1.0, 10, 99, &v));
  CHECK(v == 1.0, "after the ramp %.17g", v);
  CHECK(dice_ramp(7, 0.0, 1.0, 10, 1, &v) == DICE_STATUS_BAD_OPTION, "bad kind");
  CHECK(dice_ramp(DICE_RAMP_LINEAR, NAN, 1.0, 10, 1, &v) == DICE_STATUS_BAD_OPTION, "NaN start");
  CHECK(dice_ramp(DICE_RAMP_LINEAR, 0.0, 1.0, 10, 1, NULL) == DICE_STATUS_NULL_POINTER, "NULL out");
}

/* MONAI DiceLoss(softmax=True, to_onehot_y=True, reduction="none"), input (2, 3, 12, 12)
 * float32, label map (2, 1, 12, 12): per-entry losses in REF2_loss (tests/reference/cases.json,
 * case monai_DiceLoss_2d_softmax_label_none; grad is d(sum loss)/d(input)). */
static void test_ref_labels_softmax_none(DiceContext *ctx) {
  int64_t shape[4] = {2, 3, 12, 12}, lshape[4] = {2, 1, 12, 12}, lshape3[3] = {2, 12, 12};
  static float grad[864];
  static uint8_t labels8[288];
  double values[6], loss = 0, sum = 0;
  size_t i, rows = 0, classes = 0;
  DiceLossOptions o;
  DiceTensor ti = tensor((void *)REF2_input, F32, 4, shape, NULL);
  DiceTensor tl = tensor((void *)REF2_labels, I64, 4, lshape, NULL);
  DiceTensor tg = tensor(grad, F32, 4, shape, NULL);
  dice_loss_options_default(&o);
  o.activation = DICE_ACTIVATION_SOFTMAX;
  o.reduction = DICE_REDUCTION_NONE;

  CHECK_OK(dice_loss_shape(&ti, &o, &rows, &classes));
  CHECK(rows == 2 && classes == 3, "shape %zu x %zu", rows, classes);
  CHECK_OK(dice_loss_grad(ctx, &ti, &tl, &o, NULL, 0, &tg, &loss, values, 6));
  for (i = 0; i < 6; ++i) {
    CHECK(close_to(values[i], REF2_loss[i], 1e-5, 1e-6), "value[%zu] %.12g vs %.12g", i, values[i], REF2_loss[i]);
    sum += REF2_loss[i];
  }
  CHECK(close_to(loss, sum, 1e-5, 1e-6), "reduction none: loss_out is the sum (%.12g)", loss);
  CHECK(grad_matches(grad, REF2_grad, 864, 1e-4, 1e-6), "label grad vs MONAI");

  /* uint8 labels shaped (N, H, W): same values */
  for (i = 0; i < 288; ++i) labels8[i] = (uint8_t)REF2_labels[i];
  tl = tensor(labels8, U8, 3, lshape3, NULL);
  CHECK_OK(dice_loss(ctx, &ti, &tl, &o, &loss, values, 6));
  for (i = 0; i < 6; ++i) CHECK(close_to(values[i], REF2_loss[i], 1e-5, 1e-6), "u8 value[%zu]", i);
}

/* stats -> sum over two spatial tiles -> finalize -> backward-from-stats per tile equals
 * the one-call result; and the batch recipe (rows pooled into one, as after an all-reduce). */
static void test_three_steps(DiceContext *ctx) {
  int64_t shape[4] = {2, 3, 12, 12}, lshape[4] = {2, 1, 12, 12};
  int64_t tshape[4] = {2, 3, 6, 12}, tlshape[4] = {2, 1, 6, 12};
  int64_t istrides[4] = {432, 144, 12, 1}, lstrides[4] = {144, 144, 12, 1};
  static float grad_ref[864], grad_tiles[864];
  double s0[18], s1[18], sum[18], loss_ref = 0, loss = 0, pooled[9];
  size_t i, t, r, k;
  DiceLossOptions o;
  DiceTensor ti = tensor((void *)REF2_input, F32, 4, shape, NULL);
  DiceTensor tl = tensor((void *)REF2_labels, I64, 4, lshape, NULL);
  DiceTensor tg = tensor(grad_ref, F32, 4, shape, NULL);
  dice_loss_options_default(&o);
  o.activation = DICE_ACTIVATION_SOFTMAX;
  CHECK_OK(dice_loss_grad(ctx, &ti, &tl, &o, NULL, 0, &tg, &loss_ref, NULL, 0));

  /* two tiles: rows 0..5 and 6..11 of H, as strided views with byte offsets */
  for (t = 0; t < 2; ++t) {
    DiceTensor a = tensor((void *)REF2_input, F32, 4, tshape, istrides);
    DiceTensor b = tensor((void *)REF2_labels, I64, 4, tlshape, lstrides);
    a.byte_offset = t * 6 * 12 * sizeof(float);
    b.byte_offset = t * 6 * 12 * sizeof(int64_t);
    CHECK_OK(dice_stats(ctx, &a, &b, &o, t ? s1 : s0, 18));
  }
  for (i = 0; i < 18; ++i) sum[i] = s0[i] + s1[i];
  CHECK_OK(dice_finalize(sum, 18, 2, 3, &o, &loss, NULL, 0));
  CHECK(close_to(loss, loss_ref, 1e-6, 1e-9), "tiled loss %.12g vs %.12g", loss, loss_ref);
  for (t = 0; t < 2; ++t) {
    DiceTensor a = tensor((void *)REF2_input, F32, 4, tshape, istrides);
    DiceTensor b = tensor((void *)REF2_labels, I64, 4, tlshape, lstrides);
    DiceTensor g = tensor(grad_tiles, F32, 4, tshape, istrides);
    a.byte_offset = g.byte_offset = t * 6 * 12 * sizeof(float);
    b.byte_offset = t * 6 * 12 * sizeof(int64_t);
    CHECK_OK(dice_backward_from_stats(ctx, &a, &b, &o, sum, 18, 2, 3, NULL, 0, &g));
  }
  for (i = 0; i < 864; ++i) CHECK(close_to(grad_tiles[i], grad_ref[i], 1e-5, 1e-9), "tiled grad[%zu]", i);

  /* batch Dice: pool rows locally (what MPI_Allreduce(SUM) over workers would do globally) */
  o.batch = 1;
  CHECK_OK(dice_loss_grad(ctx, &ti, &tl, &o, NULL, 0, &tg, &loss_ref, NULL, 0));
  CHECK_OK(dice_stats(ctx, &ti, &tl, &o, s0, 18));
  for (k = 0; k < 9; ++k) pooled[k] = 0;
  for (r = 0; r < 2; ++r)
    for (k = 0; k < 9; ++k) pooled[k] += s0[r * 9 + k];
  CHECK_OK(dice_finalize(pooled, 9, 1, 3, &o, &loss, NULL, 0));
  CHECK(close_to(loss, loss_ref, 1e-6, 1e-9), "pooled loss %.12g vs %.12g", loss, loss_ref);
  {
    DiceTensor g = tensor(grad_tiles, F32, 4, shape, NULL);
    CHECK_OK(dice_backward_from_stats(ctx, &ti, &tl, &o, pooled, 9, 1, 3, NULL, 0, &g));
  }
  for (i = 0; i < 864; ++i) CHECK(close_to(grad_tiles[i], grad_ref[i], 1e-5, 1e-9), "pooled grad[%zu]", i);
}

/* Negative and permuted strides give the same loss as the contiguous input. */
static void test_strided(DiceContext *ctx) {
  int64_t shape[3] = {2, 3, 24}, rstrides[3] = {72, 24, -1};
  float rev_in[144], rev_t[144];
  double loss_ref = 0, loss = 0;
  size_t n, x;
  DiceLossOptions o;
  DiceTensor ti = tensor((void *)REF1_input, F32, 3, shape, NULL);
  DiceTensor tt = tensor((void *)REF1_target, F32, 3, shape, NULL);
  dice_loss_options_default(&o);
  o.activation = DICE_ACTIVATION_SIGMOID;
  CHECK_OK(dice_loss(ctx, &ti, &tt, &o, &loss_ref, NULL, 0));
  /* reverse the last axis in memory, then read it back with stride -1 from the last element */
  for (n = 0; n < 6; ++n)
    for (x = 0; x < 24; ++x) {
      rev_in[n * 24 + (23 - x)] = REF1_input[n * 24 + x];
      rev_t[n * 24 + (23 - x)] = REF1_target[n * 24 + x];
    }
  ti = tensor(rev_in, F32, 3, shape, rstrides);
  tt = tensor(rev_t, F32, 3, shape, rstrides);
  ti.byte_offset = tt.byte_offset = 23 * sizeof(float);
  CHECK_OK(dice_loss(ctx, &ti, &tt, &o, &loss, NULL, 0));
  CHECK(close_to(loss, loss_ref, 1e-6, 1e-9), "negative strides %.12g vs %.12g", loss, loss_ref);
}

/* ---- bad-input matrix ------------------------------------------------------------------- */

/* A valid call (N=2, C=3, 4x4, float32 input, int64 labels, dense float target available)
 * that each case breaks in one way. Pointers refer into the fixture itself. */
typedef struct {
  int64_t shape[4], lshape[4], gshape[4], strides[4], lstrides[4];
  float input[96], dense[96], grad[96];
  int64_t labels[32];
  float mask[32];
  int64_t mshape[3];
  DiceTensor msk;
  double weight[4], upstream[8], stats[18], values[8];
  size_t values_len, stats_len, upstream_len, rows, classes;
  DiceTensor in, tgt, grd;
  DiceLossOptions o;
  alignas(8) unsigned char big[DICE_LOSS_OPTIONS_SIZE + 64]; /* a "newer caller" options struct */
  const DiceTensor *pin, *ptgt, *pgrd;
  const DiceLossOptions *popts;
  double *ploss, *pvalues, *pstats, *pup;
  double loss;
} Fixture;

#define GRAD_SENTINEL 7.25f
#define VALUES_SENTINEL (-777.0)

static void fixture_init(Fixture *f) {
  size_t i;
  memset(f, 0, sizeof *f);
  f->shape[0] = 2, f->shape[1] = 3, f->shape[2] = 4, f->shape[3] = 4;
  memcpy(f->gshape, f->shape, sizeof f->shape);
  f->lshape[0] = 2, f->lshape[1] = 1, f->lshape[2] = 4, f->lshape[3] = 4;
  for (i = 0; i < 96; ++i) {
    f->input[i] = (float)((int)(i * 37 % 17) - 8) / 4.0f;
    f->dense[i] = (float)((i / 16) % 3 == (i % 16) % 3);
  }
  for (i = 0; i < 32; ++i) f->labels[i] = (int64_t)(i * 7 % 3);
  for (i = 0; i < 32; ++i) f->mask[i] = (float)(i % 4) * 0.5f; /* (N, 4, 4) loss mask */
  f->mshape[0] = 2, f->mshape[1] = 4, f->mshape[2] = 4;
  f->msk = tensor(f->mask, F32, 3, f->mshape, NULL);
  f->in = tensor(f->input, F32, 4, f->shape, NULL);
  f->tgt = tensor(f->labels, I64, 4, f->lshape, NULL);
  f->grd = tensor(f->grad, F32, 4, f->gshape, NULL);
  dice_loss_options_default(&f->o);
  f->o.activation = DICE_ACTIVATION_SOFTMAX;
  f->values_len = 6;
  f->stats_len = 18;
  f->upstream_len = 1;
  f->upstream[0] = 1.0;
  f->rows = 2;
  f->classes = 3;
  f->pin = &f->in, f->ptgt = &f->tgt, f->pgrd = &f->grd, f->popts = &f->o;
  f->ploss = &f->loss, f->pvalues = f->values, f->pstats = f->stats, f->pup = f->upstream;
  f->loss = -12345.0;
  for (i = 0; i < 18; ++i) f->stats[i] = 1.0 + (double)i;
  for (i = 0; i < 96; ++i) f->grad[i] = GRAD_SENTINEL;
  for (i = 0; i < 8; ++i) f->values[i] = VALUES_SENTINEL;
}

/* Whether every output of the fixture still holds what fixture_init put there. */
static int outputs_untouched(const Fixture *f) {
  size_t i;
  int same = f->loss == -12345.0;
  for (i = 0; i < 96; ++i) same &= f->grad[i] == GRAD_SENTINEL;
  for (i = 0; i < 8; ++i) same &= f->values[i] == VALUES_SENTINEL;
  for (i = 0; i < 18; ++i) same &= f->stats[i] == 1.0 + (double)i;
  return same;
}

static DiceStatus run_loss(Fixture *f) {
  return dice_loss(NULL, f->pin, f->ptgt, f->popts, f->ploss, f->pvalues, f->values_len);
}
static DiceStatus run_grad(Fixture *f) {
  return dice_loss_grad(NULL, f->pin, f->ptgt, f->popts, f->pup, f->upstream_len, f->pgrd, f->ploss, f->pvalues,
                        f->values_len);
}
static DiceStatus run_stats(Fixture *f) {
  return dice_stats(NULL, f->pin, f->ptgt, f->popts, f->pstats, f->stats_len);
}
static DiceStatus run_finalize(Fixture *f) {
  return dice_finalize(f->pstats, f->stats_len, f->rows, f->classes, f->popts, f->ploss, f->pvalues,
                       f->values_len);
}
static DiceStatus run_backward(Fixture *f) {
  return dice_backward_from_stats(NULL, f->pin, f->ptgt, f->popts, f->pstats, f->stats_len, f->rows, f->classes,
                                  f->pup, f->upstream_len, f->pgrd);
}

static DiceStatus run_map(Fixture *f) {
  return dice_pointwise_map(NULL, f->pin, f->ptgt, f->popts, f->pgrd);
}

static void check_bad(const char *what, int line, DiceStatus got, DiceStatus want, const char *needle,
                      const Fixture *f) {
  char buf[512];
  size_t full = dice_last_error_copy(buf, sizeof buf);
  ++checks;
  if (got != want || (needle && !strstr(buf, needle)) || full != strlen(dice_last_error()) ||
      (want != DICE_STATUS_OK && (buf[0] == '\0' || !outputs_untouched(f)))) {
    ++failures;
    fprintf(stderr, "FAIL line %d: [%s] status %d (%s), expected %d (%s); message \"%s\" should contain \"%s\"%s\n",
            line, what, (int)got, dice_status_string(got), (int)want, dice_status_string(want), buf,
            needle ? needle : "", !outputs_untouched(f) && want != DICE_STATUS_OK ? "; an output written on failure" : "");
  }
}

/* Each case: fresh fixture, one mutation, one call, expected status and message fragment. */
#define CASE(run, want, needle, ...)                      \
  do {                                                    \
    Fixture *f = &fx;                                     \
    fixture_init(f);                                      \
    __VA_ARGS__;                                          \
    check_bad(#__VA_ARGS__, __LINE__, run(f), want, needle, f); \
  } while (0)

static Fixture fx;

static void test_bad_inputs(void) {
  /* the unmodified fixture works with every entry point */
  CASE(run_loss, DICE_STATUS_OK, NULL, (void)0);
  CASE(run_grad, DICE_STATUS_OK, NULL, (void)0);
  CASE(run_stats, DICE_STATUS_OK, NULL, (void)0);
  CASE(run_finalize, DICE_STATUS_OK, NULL, (void)0);
  CASE(run_backward, DICE_STATUS_OK, NULL, (void)0);
  CASE(run_loss, DICE_STATUS_OK, NULL, f->tgt = tensor(f->dense, F32, 4, f->shape, NULL));
  CASE(run_loss, DICE_STATUS_OK, NULL, f->popts = NULL);

  /* NULL pointers, each argument */
  CASE(run_loss, DICE_STATUS_NULL_POINTER, "input is NULL", f->pin = NULL);
  CASE(run_loss, DICE_STATUS_NULL_POINTER, "target is NULL", f->ptgt = NULL);
  CASE(run_loss, DICE_STATUS_NULL_POINTER, "loss_out is NULL", f->ploss = NULL);
  CASE(run_grad, DICE_STATUS_NULL_POINTER, "grad is NULL", f->pgrd = NULL);
  CASE(run_grad, DICE_STATUS_OK, NULL, f->pup = NULL); /* NULL upstream = ones */
  CASE(run_grad, DICE_STATUS_BAD_LENGTH, "upstream gradient: 0 values given", f->upstream_len = 0);
  CASE(run_loss, DICE_STATUS_NULL_POINTER, "input.data is NULL", f->in.data = NULL);
  CASE(run_loss, DICE_STATUS_NULL_POINTER, "target.shape is NULL", f->tgt.shape = NULL);
  CASE(run_grad, DICE_STATUS_NULL_POINTER, "grad.data is NULL", f->grd.data = NULL);
  CASE(run_loss, DICE_STATUS_NULL_POINTER, "opts.weight is NULL", f->o.weight_len = 3);
  CASE(run_stats, DICE_STATUS_NULL_POINTER, "stats_out is NULL", f->pstats = NULL);
  CASE(run_finalize, DICE_STATUS_NULL_POINTER, "stats is NULL", f->pstats = NULL);
  CASE(run_backward, DICE_STATUS_NULL_POINTER, "stats is NULL", f->pstats = NULL);

  /* dtype, device, ndim */
  CASE(run_loss, DICE_STATUS_BAD_DTYPE, "input: dtype int64", f->in.dtype = I64);
  CASE(run_loss, DICE_STATUS_BAD_DTYPE, "code 9", f->in.dtype.code = 9);
  CASE(run_loss, DICE_STATUS_BAD_DTYPE, "input.dtype.lanes = 4", f->in.dtype.lanes = 4);
  CASE(run_loss, DICE_STATUS_BAD_DTYPE, "input.dtype.bits = 12", f->in.dtype.bits = 12);
  CASE(run_loss, DICE_STATUS_BAD_DTYPE, "target: dtype float64", f->tgt = tensor(f->dense, F64, 4, f->shape, NULL));
  CASE(run_grad, DICE_STATUS_BAD_DTYPE, "grad: dtype float64", f->grd.dtype = F64);
  CASE(run_loss, DICE_STATUS_BAD_DEVICE, "input.device.device_type = 2", f->in.device.device_type = 2);
  CASE(run_loss, DICE_STATUS_BAD_DEVICE, "target.device.device_type = 0", f->tgt.device.device_type = 0);
  CASE(run_grad, DICE_STATUS_BAD_DEVICE, "grad.device.device_type = 2", f->grd.device.device_type = 2);
  CASE(run_loss, DICE_STATUS_BAD_NDIM, "input.ndim = 7", f->in.ndim = 7);
  CASE(run_loss, DICE_STATUS_BAD_NDIM, "input.ndim = -1", f->in.ndim = -1);
  CASE(run_loss, DICE_STATUS_BAD_NDIM, "input: rank 2", f->in.ndim = 2);

  /* options */
  CASE(run_loss, DICE_STATUS_BAD_OPTION, "opts.reduction = 7", f->o.reduction = 7);
  CASE(run_loss, DICE_STATUS_BAD_OPTION, "opts.activation = -1", f->o.activation = -1);
  CASE(run_loss, DICE_STATUS_BAD_OPTION, "opts.jaccard = 2", f->o.jaccard = 2);
  CASE(run_loss, DICE_STATUS_BAD_OPTION, "opts.reserved[3] = 1", f->o.reserved[3] = 1);
  CASE(run_loss, DICE_STATUS_BAD_OPTION, "smooth_nr", f->o.smooth_nr = -1.0);
  CASE(run_loss, DICE_STATUS_BAD_OPTION, "smooth_dr", f->o.smooth_dr = NAN);
  CASE(run_loss, DICE_STATUS_BAD_WEIGHT, "weight[1] = -1", f->weight[0] = 1; f->weight[1] = -1; f->weight[2] = 1;
       f->o.weight = f->weight; f->o.weight_len = 3);
  CASE(run_loss, DICE_STATUS_BAD_WEIGHT, "weight: 2 values given", f->o.weight = f->weight; f->o.weight_len = 2);
  CASE(run_loss, DICE_STATUS_OK, NULL, f->weight[0] = 2; f->o.weight = f->weight; f->o.weight_len = 1);

  /* struct_size versioning */
  CASE(run_loss, DICE_STATUS_STRUCT_SIZE, "opts.struct_size = 0", f->o.struct_size = 0);
  CASE(run_loss, DICE_STATUS_STRUCT_SIZE, "opts.struct_size = 2", f->o.struct_size = 2);
  CASE(run_loss, DICE_STATUS_STRUCT_SIZE, "ends inside a field", f->o.struct_size = 20);
  CASE(run_loss, DICE_STATUS_STRUCT_SIZE, "opts.struct_size = 100000", f->o.struct_size = 100000);
  /* an older caller's 16-byte prefix: smooth terms etc. take defaults, garbage past it ignored */
  CASE(run_loss, DICE_STATUS_OK, NULL, f->o.struct_size = 16; f->o.smooth_nr = -5.0; f->o.reserved[0] = 7);
  /* a version 0.1 caller (64-byte struct): the loss-family fields take their defaults */
  CASE(run_loss, DICE_STATUS_OK, NULL, f->o.struct_size = DICE_LOSS_OPTIONS_SIZE_V1; f->o.overlap = 99);
  CASE(run_loss, DICE_STATUS_BAD_OPTION, "opts.overlap = 99", f->o.overlap = 99);
  CASE(run_loss, DICE_STATUS_BAD_OPTION, "opts.pointwise = 7", f->o.pointwise = 7);
  CASE(run_loss, DICE_STATUS_NULL_POINTER, "opts.pw_weight is NULL", f->o.pw_weight_len = 2);
  CASE(run_loss, DICE_STATUS_BAD_OPTION, "alpha", f->o.overlap = DICE_OVERLAP_TVERSKY; f->o.tversky_alpha = -1.0);
  /* softmax focal without the background (since 0.3): its own softmax over the kept channels, as MONAI */
  CASE(run_loss, DICE_STATUS_OK, NULL, f->o.pointwise = DICE_POINTWISE_SOFTMAX_FOCAL; f->o.include_background = 0;
       f->values_len = 4);
  CASE(run_loss, DICE_STATUS_BAD_WEIGHT, "2 values given", f->o.pointwise = DICE_POINTWISE_SOFTMAX_CE;
       f->o.pw_weight = f->weight; f->o.pw_weight_len = 2);
  /* the loss mask (since 0.3): valid, a 0.2 caller's 232-byte struct ignores the field, bad values / dtype /
   * shape / aliasing are refused */
  CASE(run_grad, DICE_STATUS_OK, NULL, f->o.loss_mask = &f->msk);
  CASE(run_backward, DICE_STATUS_OK, NULL, f->o.loss_mask = &f->msk);
  CASE(run_stats, DICE_STATUS_OK, NULL, f->o.loss_mask = &f->msk);
  CASE(run_loss, DICE_STATUS_OK, NULL, f->o.struct_size = 232; f->o.loss_mask = (const DiceTensor *)(void *)f->big);
  CASE(run_loss, DICE_STATUS_OK, NULL, f->o.struct_size = 224; f->o.temporal = -1.0);
  CASE(run_loss, DICE_STATUS_BAD_WEIGHT, "loss_mask: value NaN", f->o.loss_mask = &f->msk; f->mask[5] = NAN);
  CASE(run_grad, DICE_STATUS_BAD_WEIGHT, "loss_mask: value -1", f->o.loss_mask = &f->msk; f->mask[31] = -1.0f);
  CASE(run_loss, DICE_STATUS_BAD_WEIGHT, "loss_mask: value inf", f->o.loss_mask = &f->msk; f->mask[0] = INFINITY);
  CASE(run_loss, DICE_STATUS_BAD_DTYPE, "loss_mask: dtype", f->o.loss_mask = &f->msk; f->msk.dtype = F64);
  CASE(run_loss, DICE_STATUS_SHAPE_MISMATCH, "loss_mask", f->o.loss_mask = &f->msk; f->mshape[1] = 2; f->mshape[2] = 8);
  CASE(run_grad, DICE_STATUS_ALIASED_OUTPUT, "loss_mask", f->o.loss_mask = &f->msk;
       f->msk = tensor(f->grad, F32, 3, f->mshape, NULL));
  CASE(run_loss, DICE_STATUS_BAD_OPTION, "temporal term takes no loss mask", f->o.loss_mask = &f->msk;
       f->o.temporal = 0.5);
  /* a newer caller: zero tail accepted, non-zero tail refused */
  CASE(run_loss, DICE_STATUS_OK, NULL, memcpy(f->big, &f->o, sizeof f->o);
       ((DiceLossOptions *)(void *)f->big)->struct_size = sizeof f->big; f->popts = (const DiceLossOptions *)(void *)f->big);
  CASE(run_loss, DICE_STATUS_STRUCT_SIZE, "not zero", memcpy(f->big, &f->o, sizeof f->o);
       ((DiceLossOptions *)(void *)f->big)->struct_size = sizeof f->big; f->big[DICE_LOSS_OPTIONS_SIZE + 6] = 1;
       f->popts = (const DiceLossOptions *)(void *)f->big);
  {
    DiceLossOptions o;
    CHECK(dice_loss_options_init(&o, 3) == DICE_STATUS_STRUCT_SIZE, "init with size 3");
    CHECK(dice_loss_options_init(NULL, sizeof o) == DICE_STATUS_NULL_POINTER, "init NULL");
    CHECK(dice_context_create(1, NULL) == DICE_STATUS_NULL_POINTER, "context_create NULL out");
  }

  /* shapes */
  CASE(run_loss, DICE_STATUS_SHAPE_MISMATCH, "target: shape", f->lshape[2] = 3);
  CASE(run_loss, DICE_STATUS_SHAPE_MISMATCH, "target: shape",
       f->shape[3] = 2; f->tgt = tensor(f->dense, F32, 4, f->gshape, NULL));
  CASE(run_grad, DICE_STATUS_SHAPE_MISMATCH, "grad: shape", f->gshape[3] = 2);
  CASE(run_loss, DICE_STATUS_BAD_SHAPE, "input.shape[2] = -4", f->shape[2] = -4);
  CASE(run_loss, DICE_STATUS_BAD_SHAPE, "input: dimension 0 has extent 0", f->shape[0] = 0; f->lshape[0] = 0);

  /* strides and addresses */
  CASE(run_loss, DICE_STATUS_STRIDE_OVERFLOW, "input: shape[2] = 4 times strides[2] = 4611686018427387903",
       f->strides[0] = 48; f->strides[1] = 16; f->strides[2] = INT64_MAX / 2; f->strides[3] = 1;
       f->in.strides = f->strides);
  CASE(run_loss, DICE_STATUS_STRIDE_OVERFLOW, "sum of extent * stride", f->strides[0] = INT64_MAX / 2;
       f->strides[1] = INT64_MAX / 4; f->strides[2] = INT64_MAX / 4; f->strides[3] = 1; f->in.strides = f->strides);
  CASE(run_loss, DICE_STATUS_STRIDE_OVERFLOW, "addressed byte range", f->in.byte_offset = UINT64_MAX - 8);
  CASE(run_loss, DICE_STATUS_STRIDE_OVERFLOW, "contiguous stride product", f->shape[2] = INT64_MAX);
  CASE(run_loss, DICE_STATUS_STRIDE_OVERFLOW, "element count", f->shape[2] = INT64_MAX; f->strides[0] = 1;
       f->strides[1] = 1; f->strides[2] = 1; f->strides[3] = 1; f->in.strides = f->strides);
  CASE(run_grad, DICE_STATUS_STRIDE_OVERFLOW, "grad: the sum of extent * stride", f->strides[0] = INT64_MAX;
       f->strides[1] = 16; f->strides[2] = 4; f->strides[3] = 1; f->grd.strides = f->strides);
  CASE(run_loss, DICE_STATUS_MISALIGNED, "not aligned to 4 bytes", f->in.byte_offset = 2);

  /* labels */
  CASE(run_loss, DICE_STATUS_LABEL_OUT_OF_RANGE, "label 3", f->labels[5] = 3);
  CASE(run_loss, DICE_STATUS_LABEL_OUT_OF_RANGE, "label -1", f->labels[31] = -1);
  CASE(run_loss, DICE_STATUS_OK, NULL, f->labels[31] = -1; f->o.has_ignore_index = 1; f->o.ignore_index = -1);

  /* outputs */
  CASE(run_grad, DICE_STATUS_ALIASED_OUTPUT, "grad (bytes", f->grd.data = f->input);
  CASE(run_grad, DICE_STATUS_ALIASED_OUTPUT, "overlaps the memory of input", f->grd.data = f->input;
       f->grd.byte_offset = 95 * sizeof(float));
  CASE(run_grad, DICE_STATUS_ALIASED_OUTPUT, "overlaps the memory of target",
       f->tgt = tensor(f->dense, F32, 4, f->shape, NULL); f->grd.data = f->dense);
  CASE(run_backward, DICE_STATUS_ALIASED_OUTPUT, "overlaps the memory of input", f->grd.data = f->input);
  CASE(run_grad, DICE_STATUS_OVERLAPPING_OUTPUT, "grad: the strides address some element more than once",
       f->strides[0] = 48; f->strides[1] = 16; f->strides[2] = 4; f->strides[3] = 0; f->grd.strides = f->strides);

  /* lengths */
  CASE(run_loss, DICE_STATUS_BAD_LENGTH, "values_len = 5, expected 6", f->values_len = 5);
  CASE(run_loss, DICE_STATUS_OK, NULL, f->pvalues = NULL; f->values_len = 1000);
  CASE(run_stats, DICE_STATUS_BAD_LENGTH, "stats_len = 17, expected 18", f->stats_len = 17);
  CASE(run_finalize, DICE_STATUS_BAD_LENGTH, "stats_len = 18, expected 9", f->rows = 1);
  CASE(run_finalize, DICE_STATUS_STATS_MISMATCH, "rows = 0", f->rows = 0);
  CASE(run_grad, DICE_STATUS_BAD_LENGTH, "upstream gradient: 1 values given, expected 6",
       f->o.reduction = DICE_REDUCTION_NONE);
  CASE(run_backward, DICE_STATUS_STATS_MISMATCH, "stats: shape",
       f->classes = 2; f->stats_len = 12);
  CASE(run_finalize, DICE_STATUS_BAD_LENGTH, "overflows", f->rows = (size_t)1 << 62; f->classes = 4);

  /* outputs untouched when the second item fails after the first could have been written */
  CASE(run_backward, DICE_STATUS_LABEL_OUT_OF_RANGE, "label 3", f->labels[31] = 3);
  CASE(run_backward, DICE_STATUS_BAD_WEIGHT, "loss_mask: value NaN", f->o.loss_mask = &f->msk; f->mask[31] = NAN);
  CASE(run_map, DICE_STATUS_OK, NULL, f->o.pointwise = DICE_POINTWISE_SOFTMAX_FOCAL);
  CASE(run_map, DICE_STATUS_LABEL_OUT_OF_RANGE, "label -2", f->o.pointwise = DICE_POINTWISE_SOFTMAX_FOCAL;
       f->labels[31] = -2);
  CASE(run_map, DICE_STATUS_BAD_WEIGHT, "loss_mask: value -1", f->o.pointwise = DICE_POINTWISE_SOFTMAX_FOCAL;
       f->o.loss_mask = &f->msk; f->mask[31] = -1.0f);

  /* resource limits: more classes than DICE_MAX_CLASSES, and batches whose working memory no
   * address space holds (2^50 items broadcast by stride 0, or empty) */
  CASE(run_loss, DICE_STATUS_TOO_LARGE, "input: 70000 is above the limit 65536", f->shape[1] = 70000;
       f->strides[0] = 0; f->strides[1] = 0; f->strides[2] = 4; f->strides[3] = 1; f->in.strides = f->strides;
       f->pvalues = NULL);
  CASE(run_loss, DICE_STATUS_OUT_OF_MEMORY, "cannot allocate", f->shape[0] = f->lshape[0] = (int64_t)1 << 50;
       f->strides[0] = 0; f->strides[1] = 16; f->strides[2] = 4; f->strides[3] = 1; f->in.strides = f->strides;
       f->lstrides[0] = 0; f->lstrides[1] = 16; f->lstrides[2] = 4; f->lstrides[3] = 1; f->tgt.strides = f->lstrides;
       f->pvalues = NULL);
  CASE(run_loss, DICE_STATUS_OUT_OF_MEMORY, "stats: cannot allocate", f->shape[0] = f->lshape[0] = (int64_t)1 << 50;
       f->shape[3] = f->lshape[3] = 0; f->pvalues = NULL);
  {
    DiceContext *ctx = (DiceContext *)(void *)&fx;
    CHECK(dice_context_create(UINT32_MAX, &ctx) == DICE_STATUS_THREAD_POOL && ctx == NULL &&
              strstr(dice_last_error(), "the limit is 1024") != NULL,
          "UINT32_MAX threads: %s", dice_last_error());
    CHECK(dice_context_create(DICE_MAX_THREADS + 1, &ctx) == DICE_STATUS_THREAD_POOL, "DICE_MAX_THREADS + 1");
  }
}

/* The loss mask: all ones equals no mask; zero weights equal ignore_index on those voxels. The
 * per-element focal map sums to the term of dice_loss with reduction none. */
static void test_loss_mask_and_map(DiceContext *ctx) {
  int64_t shape[4] = {2, 3, 12, 12}, lshape[4] = {2, 1, 12, 12}, mshape[3] = {2, 12, 12};
  static float ones[288], zeros_at[288], out[864];
  static int64_t ignored[288];
  double plain = 0, masked = 0, sum = 0, values[6];
  size_t i;
  DiceLossOptions o;
  DiceTensor ti = tensor((void *)REF2_input, F32, 4, shape, NULL);
  DiceTensor tl = tensor((void *)REF2_labels, I64, 4, lshape, NULL);
  DiceTensor tm = tensor(ones, F32, 3, mshape, NULL);
  DiceTensor tig = tensor(ignored, I64, 4, lshape, NULL);
  DiceTensor to = tensor(out, F32, 4, shape, NULL);
  for (i = 0; i < 288; ++i) {
    ones[i] = 1.0f;
    zeros_at[i] = (float)(i % 5 != 0);
    ignored[i] = i % 5 ? REF2_labels[i] : 255;
  }
  dice_loss_options_default(&o);
  o.activation = DICE_ACTIVATION_SOFTMAX;
  o.pointwise = DICE_POINTWISE_SOFTMAX_CE;
  CHECK_OK(dice_loss(ctx, &ti, &tl, &o, &plain, NULL, 0));
  o.loss_mask = &tm;
  CHECK_OK(dice_loss(ctx, &ti, &tl, &o, &masked, NULL, 0));
  CHECK(masked == plain, "all-ones mask %.17g vs %.17g", masked, plain);
  tm.data = zeros_at;
  CHECK_OK(dice_loss(ctx, &ti, &tl, &o, &masked, NULL, 0));
  o.loss_mask = NULL;
  o.has_ignore_index = 1;
  o.ignore_index = 255;
  CHECK_OK(dice_loss(ctx, &ti, &tig, &o, &plain, NULL, 0));
  CHECK(masked == plain, "binary mask %.17g vs ignore_index %.17g", masked, plain);

  /* MONAI DiceFocalLoss(sigmoid=True, reduction="none"): dice per entry + focal per element */
  dice_loss_options_default(&o);
  o.activation = DICE_ACTIVATION_SIGMOID;
  o.reduction = DICE_REDUCTION_NONE;
  o.pointwise = DICE_POINTWISE_SIGMOID_FOCAL;
  o.lambda_overlap = 0.0;
  CHECK_OK(dice_pointwise_map(ctx, &ti, &tl, &o, &to));
  for (i = 0; i < 864; ++i) sum += out[i];
  CHECK_OK(dice_loss(ctx, &ti, &tl, &o, &masked, values, 6));
  CHECK(close_to(sum, masked, 1e-5, 1e-9), "map sum %.9g vs the focal term %.9g", sum, masked);
  o.pointwise = DICE_POINTWISE_SOFTMAX_CE;
  CHECK(dice_pointwise_map(ctx, &ti, &tl, &o, &to) == DICE_STATUS_BAD_OPTION, "CE has no per-element map");
  o.pointwise = DICE_POINTWISE_SIGMOID_FOCAL;
  to.data = (void *)REF2_input;
  CHECK(dice_pointwise_map(ctx, &ti, &tl, &o, &to) == DICE_STATUS_ALIASED_OUTPUT, "out overlaps input");
}

static void test_last_error_copy(void) {
  char small[8];
  DiceTensor t;
  double loss;
  size_t n;
  memset(&t, 0, sizeof t);
  CHECK(dice_loss(NULL, &t, &t, NULL, &loss, NULL, 0) == DICE_STATUS_BAD_DEVICE, "zeroed tensor -> bad device");
  n = dice_last_error_copy(small, sizeof small);
  CHECK(n == strlen(dice_last_error()) && n > 7, "full length %zu", n);
  CHECK(strlen(small) == 7 && strncmp(small, dice_last_error(), 7) == 0, "truncated copy '%s'", small);
  CHECK(dice_last_error_copy(NULL, 0) == n, "length query");
}

static void test_context(void) {
  DiceContext *ctx = NULL;
  CHECK_OK(dice_context_create(2, &ctx));
  CHECK(ctx != NULL && dice_context_num_threads(ctx) == 2, "two threads");
  CHECK(dice_context_num_threads(NULL) >= 1, "default context");
  test_ref_dense_sigmoid(ctx);
  dice_context_destroy(ctx);
  dice_context_destroy(NULL);
}

int main(void) {
  DiceContext *one = NULL;
  test_version();
  CHECK_OK(dice_context_create(1, &one));
  test_ref_dense_sigmoid(one);
  test_ref_dense_sigmoid(NULL);
  test_ref_labels_softmax_none(one);
  test_ref_dice_ce(one);
  test_ramp();
  test_three_steps(one);
  test_strided(NULL);
  test_loss_mask_and_map(one);
  test_bad_inputs();
  test_last_error_copy();
  test_context();
  dice_context_destroy(one);
  printf("%s: %d checks, %d failures\n", failures ? "FAILED" : "ok", checks, failures);
  return failures ? 1 : 0;
}
