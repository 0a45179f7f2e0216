/* C11 tests of the metric entry points of the dice C ABI: confusion counts and derived values
 * (hand-counted), the distance transform against a brute-force loop, surface metrics on two
 * shifted squares, MONAI's subvoxel surface Dice on two shifted pixels, DeepMind surface
 * distances, the boundary loss and its gradient, reductions, and a bad-input matrix.
 * Built by scripts/test-c.sh like test_dice.c (static, shared, ASan/UBSan). */
#include "dice.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    ++checks;                                                         \
    if (!(cond)) {                                                    \
      ++failures;                                                     \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                   \
      fprintf(stderr, "\n");                                          \
    }                                                                 \
  } while (0)

#define STATUS(call, want)                                                                        \
  do {                                                                                            \
    DiceStatus s_ = (call);                                                                       \
    CHECK(s_ == (want), "status %d (%s), expected %d: %s", (int)s_, dice_status_string(s_), (int)(want), \
          dice_last_error());                                                                     \
  } while (0)

static DiceTensor tensor(void *data, int ndim, uint8_t code, uint8_t bits, const int64_t *shape) {
  DiceTensor t;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.device.device_type = DICE_DEVICE_CPU;
  t.ndim = ndim;
  t.dtype.code = code;
  t.dtype.bits = bits;
  t.dtype.lanes = 1;
  t.shape = shape;
  return t;
}

static void test_confusion(void) {
  uint8_t pred[6] = {0, 1, 2, 1, 1, 0};
  uint8_t gt[6] = {0, 1, 1, 2, 1, 0};
  int64_t shape[4] = {1, 1, 2, 3};
  DiceTensor tp = tensor(pred, 4, DICE_DTYPE_UINT, 8, shape), tg = tensor(gt, 4, DICE_DTYPE_UINT, 8, shape);
  DiceDecisions p = {&tp, DICE_DECISIONS_LABELS, 0.0}, g = {&tg, DICE_DECISIONS_LABELS, 0.0};
  uint64_t counts[12];
  STATUS(dice_confusion(NULL, &p, &g, 3, counts, 12), DICE_STATUS_OK);
  const uint64_t want[12] = {2, 0, 0, 4, 2, 1, 1, 2, 0, 1, 1, 4};
  for (int i = 0; i < 12; ++i) CHECK(counts[i] == want[i], "count %d: %llu vs %llu", i, (unsigned long long)counts[i], (unsigned long long)want[i]);
  double dice[2];
  STATUS(dice_overlap_values(counts, 1, 3, DICE_METRIC_DICE, 0.0, DICE_EMPTY_GT_NAN, 0, dice, 2), DICE_STATUS_OK);
  CHECK(fabs(dice[0] - 4.0 / 6.0) < 1e-15 && dice[1] == 0.0, "dice %g %g", dice[0], dice[1]);
  double mean, nn;
  STATUS(dice_metric_reduce(dice, 1, 2, DICE_METRIC_REDUCTION_MEAN, &mean, &nn, 1), DICE_STATUS_OK);
  CHECK(fabs(mean - 1.0 / 3.0) < 1e-15 && nn == 1.0, "mean %g not_nans %g", mean, nn);
  double gds;
  STATUS(dice_generalized_dice_score(counts, 1, 3, 1, 2, 0, &gds, 1), DICE_STATUS_OK);
  CHECK(fabs(gds - 2.0 * 4.0 / 12.0) < 1e-15, "gds %g", gds); /* linear: 2 sum tp / sum (p + g) */

  /* Errors: NULL source, unknown kind, wrong length, label out of range, NaN threshold. */
  STATUS(dice_confusion(NULL, NULL, &g, 3, counts, 12), DICE_STATUS_NULL_POINTER);
  DiceDecisions bad = {&tp, 9, 0.0};
  STATUS(dice_confusion(NULL, &bad, &g, 3, counts, 12), DICE_STATUS_BAD_OPTION);
  STATUS(dice_confusion(NULL, &p, &g, 3, counts, 11), DICE_STATUS_BAD_LENGTH);
  STATUS(dice_confusion(NULL, &p, &g, 2, counts, 8), DICE_STATUS_LABEL_OUT_OF_RANGE);
  double probs[12] = {0};
  int64_t pshape[4] = {1, 2, 2, 3};
  DiceTensor tf = tensor(probs, 4, DICE_DTYPE_FLOAT, 64, pshape);
  DiceDecisions th = {&tf, DICE_DECISIONS_THRESHOLD, NAN};
  STATUS(dice_confusion(NULL, &th, &g, 2, counts, 8), DICE_STATUS_NOT_A_NUMBER);
  DiceDecisions masks_as_float = {&tf, DICE_DECISIONS_MASKS, 0.0};
  STATUS(dice_confusion(NULL, &masks_as_float, &g, 2, counts, 8), DICE_STATUS_BAD_DTYPE);
}

static void test_distance_transform(void) {
  enum { H = 5, W = 6 };
  uint8_t mask[H * W];
  for (int i = 0; i < H * W; ++i) mask[i] = (uint8_t)((i * 7 + 3) % 11 == 0);
  int64_t shape[2] = {H, W};
  DiceTensor t = tensor(mask, 2, DICE_DTYPE_BOOL, 8, shape);
  const double spacing[2] = {1.5, 0.7};
  double out[H * W];
  STATUS(dice_distance_transform(NULL, &t, spacing, 2, 0, 0, out, H * W), DICE_STATUS_OK);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      double best = INFINITY;
      for (int i = 0; i < H * W; ++i)
        if (mask[i]) {
          double dy = 1.5 * (y - i / W), dx = 0.7 * (x - i % W);
          double d = sqrt(dy * dy + dx * dx);
          if (d < best) best = d;
        }
      CHECK(fabs(out[y * W + x] - best) < 1e-12, "edt (%d,%d): %g vs %g", y, x, out[y * W + x], best);
    }
  STATUS(dice_distance_transform(NULL, &t, spacing, 1, 0, 0, out, H * W), DICE_STATUS_SHAPE_MISMATCH);
  STATUS(dice_distance_transform(NULL, &t, spacing, 2, 1, 1, out, H * W), DICE_STATUS_BAD_OPTION);
  STATUS(dice_distance_transform(NULL, &t, NULL, 0, 2, 0, out, H * W - 1), DICE_STATUS_BAD_LENGTH);
}

static void test_surface(void) {
  enum { S = 8 };
  uint8_t gt[S * S] = {0}, pred[S * S] = {0}, empty[S * S] = {0};
  for (int y = 2; y < 6; ++y)
    for (int x = 2; x < 6; ++x) {
      gt[y * S + x] = 1;
      pred[y * S + x + 1] = 1;
    }
  int64_t shape[4] = {1, 1, S, S};
  DiceTensor tp = tensor(pred, 4, DICE_DTYPE_UINT, 8, shape), tg = tensor(gt, 4, DICE_DTYPE_UINT, 8, shape);
  DiceTensor te = tensor(empty, 4, DICE_DTYPE_UINT, 8, shape);
  DiceDecisions p = {&tp, DICE_DECISIONS_MASKS, 0.0}, g = {&tg, DICE_DECISIONS_MASKS, 0.0};
  DiceDecisions e = {&te, DICE_DECISIONS_MASKS, 0.0};
  DiceSurfaceOptions o;
  STATUS(dice_surface_options_init(&o, sizeof o), DICE_STATUS_OK);
  double hd;
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_HAUSDORFF, &o, &hd, 1), DICE_STATUS_OK);
  CHECK(hd == 1.0, "hd %g", hd);
  double medpy[4];
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_MEDPY, &o, medpy, 4), DICE_STATUS_OK);
  CHECK(medpy[0] == 1.0 && medpy[1] <= 1.0 && medpy[2] > 0.0 && medpy[2] < 1.0, "medpy %g %g %g", medpy[0], medpy[1], medpy[2]);
  const double tol[1] = {1.0};
  o.class_thresholds = tol;
  o.class_thresholds_len = 1;
  double nsd;
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_DICE, &o, &nsd, 1), DICE_STATUS_OK);
  CHECK(nsd == 1.0, "nsd %g", nsd);
  double bf[3];
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_BOUNDARY_F, &o, bf, 3), DICE_STATUS_OK);
  CHECK(bf[2] >= 0.0 && bf[2] <= 1.0, "bf %g", bf[2]);
  /* One side empty: MONAI gives +inf, medpy refuses. */
  STATUS(dice_surface_metric(NULL, &e, &g, 0, DICE_SURFACE_HAUSDORFF, &o, &hd, 1), DICE_STATUS_OK);
  CHECK(isinf(hd) && hd > 0, "hd empty pred %g", hd);
  STATUS(dice_surface_metric(NULL, &e, &g, 0, DICE_SURFACE_MEDPY, &o, medpy, 4), DICE_STATUS_EMPTY_MASK);
  o.struct_size = 3;
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_HAUSDORFF, &o, &hd, 1), DICE_STATUS_STRUCT_SIZE);
  STATUS(dice_surface_options_init(&o, 3), DICE_STATUS_STRUCT_SIZE);
  STATUS(dice_surface_metric(NULL, &p, &g, 0, 77, NULL, &hd, 1), DICE_STATUS_BAD_OPTION);
}

static void test_boundary_loss(void) {
  double x[4] = {0.2, 0.9, 0.8, 0.1}; /* (1, 2, 1, 2) probabilities */
  double phi[4] = {5.0, 5.0, -1.0, 3.0};
  double g[4];
  int64_t shape[4] = {1, 2, 1, 2};
  DiceTensor tx = tensor(x, 4, DICE_DTYPE_FLOAT, 64, shape), tp = tensor(phi, 4, DICE_DTYPE_FLOAT, 64, shape);
  DiceTensor tg = tensor(g, 4, DICE_DTYPE_FLOAT, 64, shape);
  double loss;
  STATUS(dice_boundary_loss(NULL, &tx, &tp, 0, 0, &loss, &tg), DICE_STATUS_OK);
  CHECK(fabs(loss - (-1.0 * 0.8 + 3.0 * 0.1) / 2.0) < 1e-15, "loss %g", loss);
  CHECK(g[0] == 0.0 && g[1] == 0.0 && g[2] == -0.5 && g[3] == 1.5, "grad %g %g %g %g", g[0], g[1], g[2], g[3]);
  /* Softmax: central finite differences. */
  STATUS(dice_boundary_loss(NULL, &tx, &tp, 2, 0, &loss, &tg), DICE_STATUS_OK);
  for (int i = 0; i < 4; ++i) {
    double a, b, keep = x[i];
    x[i] = keep + 1e-6;
    STATUS(dice_boundary_loss(NULL, &tx, &tp, 2, 0, &a, NULL), DICE_STATUS_OK);
    x[i] = keep - 1e-6;
    STATUS(dice_boundary_loss(NULL, &tx, &tp, 2, 0, &b, NULL), DICE_STATUS_OK);
    x[i] = keep;
    double fd = (a - b) / 2e-6;
    CHECK(fabs(fd - g[i]) < 1e-8, "softmax grad %d: %g vs %g", i, g[i], fd);
  }
  STATUS(dice_boundary_loss(NULL, &tx, &tp, 2, 0, NULL, NULL), DICE_STATUS_NULL_POINTER);
  STATUS(dice_boundary_loss(NULL, &tx, &tp, 2, 0, &loss, &tx), DICE_STATUS_ALIASED_OUTPUT);
  STATUS(dice_boundary_loss(NULL, &tx, &tp, 5, 0, &loss, NULL), DICE_STATUS_BAD_OPTION);
  /* Signed distance maps from labels. */
  int64_t lab[4] = {0, 1, 1, 1};
  int64_t lshape[3] = {1, 1, 4};
  DiceTensor tl = tensor(lab, 3, DICE_DTYPE_INT, 64, lshape);
  DiceDecisions l = {&tl, DICE_DECISIONS_LABELS, 0.0};
  double sdm[8];
  STATUS(dice_signed_distance_maps(NULL, &l, 2, NULL, 0, sdm, 8), DICE_STATUS_OK);
  const double want[8] = {-1.0, 1.0, 2.0, 3.0, 1.0, -1.0, -2.0, -3.0};
  for (int i = 0; i < 8; ++i) CHECK(sdm[i] == want[i], "sdm %d: %g vs %g", i, sdm[i], want[i]);
}

/* MONAI surface Dice with subvoxels: one pixel against the pixel next to it along the last
 * axis (spacing 0.7, 1.3): two diamonds of four corner cuts each, two cuts of each shared, the
 * other two 1.3 from the other contour. Surfel lengths are equal, so the value is the fraction
 * of surfels within the tolerance: 1/2 below 1.3, 1 from 1.3 on. */
static void test_surface_subvoxels(void) {
  enum { S = 5 };
  uint8_t gt[S * S] = {0}, pred[S * S] = {0}, empty[S * S] = {0};
  gt[2 * S + 1] = 1;
  pred[2 * S + 2] = 1;
  int64_t shape[4] = {1, 1, S, S}, shape1[3] = {1, 1, S * S};
  DiceTensor tp = tensor(pred, 4, DICE_DTYPE_UINT, 8, shape), tg = tensor(gt, 4, DICE_DTYPE_UINT, 8, shape);
  DiceTensor te = tensor(empty, 4, DICE_DTYPE_UINT, 8, shape), t1 = tensor(gt, 3, DICE_DTYPE_UINT, 8, shape1);
  DiceDecisions p = {&tp, DICE_DECISIONS_MASKS, 0.0}, g = {&tg, DICE_DECISIONS_MASKS, 0.0};
  DiceDecisions e = {&te, DICE_DECISIONS_MASKS, 0.0}, g1 = {&t1, DICE_DECISIONS_MASKS, 0.0};
  DiceSurfaceOptions o;
  STATUS(dice_surface_options_init(&o, sizeof o), DICE_STATUS_OK);
  const double sp[2] = {0.7, 1.3};
  double tol[1] = {1.0}, v;
  o.include_background = 1;
  o.spacing = sp;
  o.spacing_len = 2;
  o.class_thresholds = tol;
  o.class_thresholds_len = 1;
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_DICE_SUBVOXELS, &o, &v, 1), DICE_STATUS_OK);
  CHECK(fabs(v - 0.5) < 1e-15, "nsd subvoxels tau 1.0: %g", v);
  tol[0] = 1.3;
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_DICE_SUBVOXELS, &o, &v, 1), DICE_STATUS_OK);
  CHECK(v == 1.0, "nsd subvoxels tau 1.3: %g", v);
  /* One side empty: 0; both empty: NaN. */
  STATUS(dice_surface_metric(NULL, &e, &g, 0, DICE_SURFACE_DICE_SUBVOXELS, &o, &v, 1), DICE_STATUS_OK);
  CHECK(v == 0.0, "nsd subvoxels empty pred: %g", v);
  STATUS(dice_surface_metric(NULL, &e, &e, 0, DICE_SURFACE_DICE_SUBVOXELS, &o, &v, 1), DICE_STATUS_OK);
  CHECK(isnan(v), "nsd subvoxels both empty: %g", v);
  /* Bad input: a non-Euclidean metric, a missing tolerance, a wrong output length, one
   * spatial axis, a negative tolerance. Nothing is written on failure. */
  v = 42.0;
  o.distance_metric = 1;
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_DICE_SUBVOXELS, &o, &v, 1), DICE_STATUS_BAD_OPTION);
  o.distance_metric = 0;
  o.class_thresholds_len = 0;
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_DICE_SUBVOXELS, &o, &v, 1), DICE_STATUS_SHAPE_MISMATCH);
  o.class_thresholds_len = 1;
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_DICE_SUBVOXELS, &o, &v, 2), DICE_STATUS_BAD_LENGTH);
  o.spacing_len = 1;
  STATUS(dice_surface_metric(NULL, &g1, &g1, 0, DICE_SURFACE_DICE_SUBVOXELS, &o, &v, 1), DICE_STATUS_BAD_NDIM);
  o.spacing_len = 2;
  tol[0] = -1.0;
  STATUS(dice_surface_metric(NULL, &p, &g, 0, DICE_SURFACE_DICE_SUBVOXELS, &o, &v, 1), DICE_STATUS_BAD_OPTION);
  CHECK(v == 42.0, "output written on failure: %g", v);
}

/* DeepMind surface-distance: one voxel (an octahedron of 8 corner triangles, area
 * sqrt((s1 s2)^2 + (s0 s2)^2 + (s0 s1)^2) = 7 for spacing 1, 2, 3) against itself and against
 * itself shifted one voxel along axis 2 (4 surfels coincide, 4 are 3 away). */
static void test_deepmind(void) {
  enum { N = 4 };
  uint8_t gt[N * N * N] = {0}, pred[N * N * N] = {0}, empty[N * N * N] = {0};
  gt[(1 * N + 1) * N + 1] = 1;
  pred[(1 * N + 1) * N + 2] = 1;
  int64_t shape[3] = {N, N, N}, shape4[4] = {1, N, N, N};
  DiceTensor tg = tensor(gt, 3, DICE_DTYPE_UINT, 8, shape), tp = tensor(pred, 3, DICE_DTYPE_UINT, 8, shape);
  DiceTensor te = tensor(empty, 3, DICE_DTYPE_UINT, 8, shape), t4 = tensor(gt, 4, DICE_DTYPE_UINT, 8, shape4);
  const double sp[3] = {1.0, 2.0, 3.0};
  uint64_t counts[2];
  STATUS(dice_surfel_counts(NULL, &tg, &tg, sp, 3, counts, 2), DICE_STATUS_OK);
  CHECK(counts[0] == 8 && counts[1] == 8, "counts %llu %llu", (unsigned long long)counts[0], (unsigned long long)counts[1]);
  double dg[8], ag[8], dp[8], ap[8], v[2];
  STATUS(dice_surface_distances(NULL, &tg, &tg, sp, 3, dg, ag, 8, dp, ap, 8), DICE_STATUS_OK);
  double area = 0.0;
  for (int i = 0; i < 8; ++i) {
    area += ag[i];
    CHECK(dg[i] == 0.0 && dp[i] == 0.0 && ag[i] == ap[i], "self %d: %g %g", i, dg[i], dp[i]);
  }
  CHECK(fabs(area - 7.0) < 1e-12, "octahedron area %g", area);
  STATUS(dice_surface_distances(NULL, &tg, &tp, sp, 3, dg, ag, 8, dp, ap, 8), DICE_STATUS_OK);
  for (int i = 0; i < 8; ++i) CHECK(dg[i] == (i < 4 ? 0.0 : 3.0) && dp[i] == dg[i], "shifted %d: %g %g", i, dg[i], dp[i]);
  STATUS(dice_surface_distance_metric(dg, ag, 8, dp, ap, 8, DICE_DEEPMIND_SURFACE_DICE, 1.0, v, 1), DICE_STATUS_OK);
  CHECK(fabs(v[0] - 0.5) < 1e-15, "surface dice %g", v[0]);
  STATUS(dice_surface_distance_metric(dg, ag, 8, dp, ap, 8, DICE_DEEPMIND_ROBUST_HAUSDORFF, 100.0, v, 1), DICE_STATUS_OK);
  CHECK(v[0] == 3.0, "robust hd %g", v[0]);
  STATUS(dice_surface_distance_metric(dg, ag, 8, dp, ap, 8, DICE_DEEPMIND_AVERAGE_DISTANCE, 0.0, v, 2), DICE_STATUS_OK);
  CHECK(fabs(v[0] - 1.5) < 1e-12 && fabs(v[1] - 1.5) < 1e-12, "asd %g %g", v[0], v[1]);
  STATUS(dice_surface_distance_metric(dg, ag, 8, dp, ap, 8, DICE_DEEPMIND_SURFACE_OVERLAP, 0.0, v, 2), DICE_STATUS_OK);
  CHECK(fabs(v[0] - 0.5) < 1e-15 && fabs(v[1] - 0.5) < 1e-15, "overlap %g %g", v[0], v[1]);
  /* Empty prediction: no prediction surfels, every ground-truth distance +inf. */
  STATUS(dice_surfel_counts(NULL, &tg, &te, sp, 3, counts, 2), DICE_STATUS_OK);
  CHECK(counts[0] == 8 && counts[1] == 0, "counts empty %llu", (unsigned long long)counts[1]);
  STATUS(dice_surface_distances(NULL, &tg, &te, sp, 3, dg, ag, 8, NULL, NULL, 0), DICE_STATUS_OK);
  CHECK(isinf(dg[0]) && isinf(dg[7]), "empty pred distances %g", dg[0]);
  STATUS(dice_surface_distance_metric(dg, ag, 8, NULL, NULL, 0, DICE_DEEPMIND_ROBUST_HAUSDORFF, 95.0, v, 1), DICE_STATUS_OK);
  CHECK(isinf(v[0]), "robust hd empty %g", v[0]);
  /* Bad input. */
  STATUS(dice_surface_distances(NULL, &tg, &tp, sp, 3, dg, ag, 7, dp, ap, 8), DICE_STATUS_BAD_LENGTH);
  STATUS(dice_surface_distances(NULL, &tg, &tp, sp, 3, dg, ag, 8, NULL, ap, 8), DICE_STATUS_NULL_POINTER);
  STATUS(dice_surface_distances(NULL, NULL, &tp, sp, 3, dg, ag, 8, dp, ap, 8), DICE_STATUS_NULL_POINTER);
  STATUS(dice_surfel_counts(NULL, &t4, &t4, sp, 3, counts, 2), DICE_STATUS_BAD_NDIM);
  STATUS(dice_surfel_counts(NULL, &tg, &tp, sp, 2, counts, 2), DICE_STATUS_SHAPE_MISMATCH);
  STATUS(dice_surface_distance_metric(dg, ag, 8, dp, ap, 8, 9, 0.0, v, 1), DICE_STATUS_BAD_OPTION);
  STATUS(dice_surface_distance_metric(dg, ag, 8, dp, ap, 8, DICE_DEEPMIND_ROBUST_HAUSDORFF, NAN, v, 1), DICE_STATUS_NOT_A_NUMBER);
  const double unsorted[2] = {2.0, 1.0}, ones[2] = {1.0, 1.0};
  STATUS(dice_surface_distance_metric(unsorted, ones, 2, NULL, NULL, 0, DICE_DEEPMIND_SURFACE_DICE, 1.0, v, 1), DICE_STATUS_BAD_OPTION);
}

int main(void) {
  test_confusion();
  test_distance_transform();
  test_surface();
  test_surface_subvoxels();
  test_boundary_loss();
  test_deepmind();
  if (failures) {
    fprintf(stderr, "%d of %d metric checks failed\n", failures, checks);
    return 1;
  }
  printf("all %d metric checks passed\n", checks);
  return 0;
}
