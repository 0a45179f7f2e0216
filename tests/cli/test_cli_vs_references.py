"""`dice eval` against the reference implementations on the same arrays.

Writes NIfTI files with nibabel (NIfTI-1 gzipped and plain; uint8, int16, int32 and float32
holding whole numbers; a NIfTI-2 file), runs the `dice` binary, and compares every metric of
every (case, label) row of its CSV with MONAI (dice, iou, precision, recall, specificity,
hd, hd95, assd, asd, nsd), medpy 0.5.2 (hd, hd95, asd, assd with --convention medpy),
the confusion counts and volumes from numpy, and the boundary F-score from an independent
scipy computation (edge voxels by erosion, exact distance transform). seg-metrics, when
installed, is compared on the overlap scores.

The binary: $DICE_BIN, else target/release/dice, else target/debug/dice.
Run: python -m pytest tests/cli/test_cli_vs_references.py
"""

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

nib = pytest.importorskip("nibabel")
torch = pytest.importorskip("torch")
monai_metrics = pytest.importorskip("monai.metrics")
medpy_binary = pytest.importorskip("medpy.metric.binary")
ndi = pytest.importorskip("scipy.ndimage")

ROOT = Path(__file__).resolve().parents[2]
SPACING = (0.8, 0.9, 2.0)
# What the files hold: pixdim is float32, so the references use the rounded values.
SP = tuple(float(np.float32(x)) for x in SPACING)
SHAPE = (44, 40, 20)
TOL = 1.5


def binary():
    env = os.environ.get("DICE_BIN")
    if env:
        return env
    for kind in ("release", "debug"):
        p = ROOT / "target" / kind / "dice"
        if p.exists():
            return str(p)
    pytest.skip("dice binary not built (cargo build -p dice-cli)")


def blob(rng, shape, spacing, centre_mm, axes_mm):
    grid = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing)], indexing="ij")
    r2 = sum(((g - c) / a) ** 2 for g, c, a in zip(grid, centre_mm, axes_mm))
    noise = rng.normal(0, 0.08, size=shape)
    return r2 + noise <= 1.0


def make_case(seed, drop_gt_label3=False, drop_pred_label2=False):
    rng = np.random.default_rng(seed)
    mid = np.array(SHAPE) * np.array(SPACING) / 2
    gt = np.zeros(SHAPE, np.uint8)
    pred = np.zeros(SHAPE, np.uint8)
    organ_c = mid + rng.uniform(-2, 2, 3)
    organ_a = np.array([13.0, 12.0, 14.0]) + rng.uniform(-1, 1, 3)
    gt[blob(rng, SHAPE, SPACING, organ_c, organ_a)] = 1
    pred[blob(rng, SHAPE, SPACING, organ_c + rng.uniform(-1.5, 1.5, 3), organ_a * rng.uniform(0.93, 1.05))] = 1
    t_c = organ_c + rng.uniform(-4, 4, 3)
    gt[blob(rng, SHAPE, SPACING, t_c, (5.0, 4.5, 6.0))] = 2
    if not drop_pred_label2:
        pred[blob(rng, SHAPE, SPACING, t_c + rng.uniform(-1, 1, 3), (4.2, 4.0, 5.0))] = 2
    l_c = organ_c + np.array([-8.0, 3.0, 0.0])
    if not drop_gt_label3:
        gt[blob(rng, SHAPE, SPACING, l_c, (2.5, 2.5, 3.0))] = 3
    pred[blob(rng, SHAPE, SPACING, l_c + np.array([0.8, 0.0, 0.0]), (2.5, 2.5, 3.0))] = 3
    return gt, pred


# (file name, nibabel image class, dtype, gzipped)
WRITERS = [
    ("c0_u8.nii.gz", "Nifti1Image", np.uint8),
    ("c1_i16.nii", "Nifti1Image", np.int16),
    ("c2_i32.nii.gz", "Nifti1Image", np.int32),
    ("c3_f32.nii", "Nifti1Image", np.float32),
    ("c4_u8_emptygt3.nii.gz", "Nifti1Image", np.uint8),
]


def save(path, array, cls, dtype):
    affine = np.diag(list(SPACING) + [1.0])
    img = getattr(nib, cls)(array.astype(dtype), affine)
    img.header.set_data_dtype(dtype)
    img.header.set_zooms(SPACING)
    nib.save(img, str(path))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "pred").mkdir()
    (d / "gt").mkdir()
    arrays = {}
    for i, (name, cls, dtype) in enumerate(WRITERS):
        gt, pred = make_case(100 + i, drop_gt_label3=(i == 4), drop_pred_label2=(i == 1))
        save(d / "gt" / name, gt, cls, dtype)
        save(d / "pred" / name, pred, cls, dtype)
        case = name.split(".nii")[0]
        arrays[case] = (gt, pred)
    return d, arrays


def run_cli(d, *extra):
    out = d / ("out_" + "_".join(e.strip("-") for e in extra if e.startswith("--")) + ".csv")
    cmd = [binary(), "eval", str(d / "pred"), str(d / "gt"), "--csv", str(out), "--tolerance", str(TOL), "-q", *extra]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(open(out)))
    return rows


def num(s):
    return float(s)


def close(a, b, rel=1e-9, abs_=1e-12):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


def t(mask):
    return torch.from_numpy(mask.astype(np.float64))[None, None]


def edges(mask):
    return mask & ~ndi.binary_erosion(mask, structure=ndi.generate_binary_structure(3, 1), border_value=0)


def boundary_f(p, g, tol):
    ep, eg = edges(p), edges(g)
    dg = ndi.distance_transform_edt(~eg, sampling=SP)
    dp = ndi.distance_transform_edt(~ep, sampling=SP)
    prec = (dg[ep] <= tol).mean()
    rec = (dp[eg] <= tol).mean()
    return 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)


def monai_row(p, g):
    P, G = t(p), t(g)
    cm = monai_metrics.get_confusion_matrix(P, G, include_background=True)
    cmm = lambda name: float(monai_metrics.compute_confusion_matrix_metric(name, cm)[0, 0])
    sp = list(SP)
    return {
        "dice": float(monai_metrics.compute_dice(P, G, include_background=True, ignore_empty=True)[0, 0]),
        "iou": float(monai_metrics.compute_iou(P, G, include_background=True, ignore_empty=True)[0, 0]),
        "precision": cmm("precision"),
        "recall": cmm("sensitivity"),
        "specificity": cmm("specificity"),
        "hd": float(monai_metrics.compute_hausdorff_distance(P, G, include_background=True, spacing=sp)[0, 0]),
        "hd95": float(
            monai_metrics.compute_hausdorff_distance(P, G, include_background=True, percentile=95, spacing=sp)[0, 0]
        ),
        "assd": float(
            monai_metrics.compute_average_surface_distance(P, G, include_background=True, symmetric=True, spacing=sp)[
                0, 0
            ]
        ),
        "asd": float(
            monai_metrics.compute_average_surface_distance(P, G, include_background=True, symmetric=False, spacing=sp)[
                0, 0
            ]
        ),
        "nsd": float(monai_metrics.compute_surface_dice(P, G, [TOL], include_background=True, spacing=sp)[0, 0]),
    }


def counts_row(p, g):
    tp, fp, fn = int((p & g).sum()), int((p & ~g).sum()), int((~p & g).sum())
    tn = p.size - tp - fp - fn
    vox = SP[0] * SP[1] * SP[2]
    out = {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "n_pred": tp + fp,
        "n_ref": tp + fn,
        "vol_pred": (tp + fp) * vox,
        "vol_ref": (tp + fn) * vox,
        "vs": 1 - abs(fn - fp) / (2 * tp + fp + fn) if 2 * tp + fp + fn else math.nan,
        "precision": tp / (tp + fp) if tp + fp else math.nan,
        "specificity": tn / (tn + fp) if tn + fp else math.nan,
    }
    if tp + fn:
        out.update({"dice": 2 * tp / (2 * tp + fp + fn), "iou": tp / (tp + fp + fn), "recall": tp / (tp + fn)})
    return out


def test_every_metric_against_monai_and_numpy(dataset):
    d, arrays = dataset
    rows = run_cli(d)
    assert {r["case"] for r in rows} == set(arrays)
    checked = 0
    for r in rows:
        gt, pred = arrays[r["case"]]
        lab = int(r["label"])
        p, g = pred == lab, gt == lab
        ref = counts_row(p, g)
        for k, v in ref.items():
            assert close(num(r[k]), float(v)), (r["case"], lab, k, r[k], v)
        if g.sum() == 0:
            # Empty ground truth, default policy `nan`: every ground-truth based score is NaN
            # (MONAI ignore_empty=True gives NaN for Dice and IoU as well).
            for k in ("dice", "iou", "recall", "hd", "hd95", "assd", "asd", "nsd", "bf"):
                assert math.isnan(num(r[k])), (r["case"], lab, k, r[k])
            assert math.isnan(monai_row(p, g)["dice"])
            continue
        ref = monai_row(p, g)
        if not p.any():
            del ref["hd95"]  # MONAI: NaN for a miss, the CLI +inf (test_missed_structure_is_inf_as_monai)
        # MONAI computes in float32 whatever the input dtype: its values agree to float32
        # resolution; counts_row checked the overlap scores exactly above.
        for k, v in ref.items():
            assert close(num(r[k]), v, rel=1e-6), (r["case"], lab, k, r[k], v)
        if p.sum():
            assert close(num(r["bf"]), boundary_f(p, g, TOL)), (r["case"], lab, r["bf"])
        else:
            assert num(r["bf"]) == 0.0
        checked += 1
    assert checked >= 13


def test_medpy_convention(dataset):
    d, arrays = dataset
    rows = run_cli(d, "--convention", "medpy", "--metrics", "hd,hd95,asd,assd")
    checked = 0
    for r in rows:
        gt, pred = arrays[r["case"]]
        lab = int(r["label"])
        p, g = pred == lab, gt == lab
        if not p.any() or not g.any():
            continue  # medpy raises on an empty mask
        for k, fn in (
            ("hd", medpy_binary.hd),
            ("hd95", medpy_binary.hd95),
            ("asd", medpy_binary.asd),
            ("assd", medpy_binary.assd),
        ):
            v = fn(p, g, voxelspacing=SP, connectivity=1)
            assert close(num(r[k]), v, rel=1e-9), (r["case"], lab, k, r[k], v)
        checked += 1
    assert checked >= 12


def test_empty_policy_one_matches_monai_ignore_empty_false(dataset):
    d, arrays = dataset
    rows = run_cli(d, "--empty", "one", "--metrics", "dice,iou")
    for r in rows:
        gt, pred = arrays[r["case"]]
        lab = int(r["label"])
        P, G = t(pred == lab), t(gt == lab)
        v = float(monai_metrics.compute_dice(P, G, include_background=True, ignore_empty=False)[0, 0])
        if not (gt == lab).any():
            assert num(r["dice"]) == v and v in (0.0, 1.0), (r["case"], lab, r["dice"], v)
            assert num(r["iou"]) == v
        else:
            assert close(num(r["dice"]), v, rel=1e-6), (r["case"], lab, r["dice"], v)  # float32 in MONAI


def test_missed_structure_is_inf_as_monai(dataset):
    d, arrays = dataset
    rows = run_cli(d)
    r = next(r for r in rows if r["case"] == "c1_i16" and r["label"] == "2")
    gt, pred = arrays["c1_i16"]
    assert not (pred == 2).any() and (gt == 2).any()
    m = monai_row(pred == 2, gt == 2)
    for k in ("hd", "assd", "asd"):
        assert num(r[k]) == math.inf and m[k] == math.inf
    # MONAI's hd95 of a miss is NaN (torch.quantile over +inf values); the CLI reports +inf so
    # that a missed structure is not dropped from the means (docs/cli.md).
    assert num(r["hd95"]) == math.inf and math.isnan(m["hd95"])
    assert num(r["nsd"]) == 0.0 == m["nsd"]
    assert num(r["dice"]) == 0.0


def test_numpy_files_give_the_nifti_rows(dataset, tmp_path):
    """The same arrays as .npy (C and Fortran order) and .npz, with --spacing in array-axis
    order, score exactly as the NIfTI files (whose axes the reader reverses internally)."""
    d, arrays = dataset
    nifti_rows = {(r["case"], r["label"]): r for r in run_cli(d)}
    for kind in ("c", "fortran", "npz"):
        k = tmp_path / kind
        (k / "pred").mkdir(parents=True)
        (k / "gt").mkdir()
        for case, (gt, pred) in arrays.items():
            for sub, a in (("gt", gt), ("pred", pred)):
                if kind == "c":
                    np.save(k / sub / f"{case}.npy", a)
                elif kind == "fortran":
                    np.save(k / sub / f"{case}.npy", np.asfortranarray(a))
                else:
                    np.savez_compressed(k / sub / f"{case}.npz", labels=a)
        rows = run_cli(k, "--spacing", ",".join(repr(x) for x in SP))
        assert len(rows) == len(nifti_rows)
        for r in rows:
            ref = nifti_rows[(r["case"], r["label"])]
            for key in r:
                if key in ("assd", "asd"):
                    # Means over the edge voxels: the reversed axis order sums them in another
                    # order, so the last bits may differ.
                    assert close(num(r[key]), num(ref[key]), rel=1e-13), (
                        kind,
                        r["case"],
                        r["label"],
                        key,
                        r[key],
                        ref[key],
                    )
                elif key not in ("pred", "gt"):
                    assert r[key] == ref[key], (kind, r["case"], r["label"], key, r[key], ref[key])


@pytest.mark.parametrize("target_kind", ["npy", "nifti"])
def test_loss_and_gradient_against_monai(dataset, tmp_path, target_kind):
    losses = pytest.importorskip("monai.losses")
    d, arrays = dataset
    gt = arrays["c0_u8"][0].astype(np.int64)
    rng = np.random.default_rng(3)
    x = (np.eye(4)[gt].transpose(3, 0, 1, 2)[None] * 2 + rng.normal(0, 1, (1, 4) + gt.shape)).astype(np.float64)
    np.save(tmp_path / "x.npy", x)
    target = tmp_path / "y.npy" if target_kind == "npy" else d / "gt" / "c0_u8.nii.gz"
    np.save(tmp_path / "y.npy", gt)
    g_path = tmp_path / "g.npy"
    res = subprocess.run(
        [
            binary(),
            "loss",
            str(tmp_path / "x.npy"),
            str(target),
            "--loss",
            "tversky",
            "--alpha",
            "0.3",
            "--beta",
            "0.7",
            "--softmax",
            "--include-background",
            "false",
            "--grad",
            str(g_path),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    mine = float(res.stdout.split("loss Tversky: ")[1].split()[0])
    xt = torch.from_numpy(x).requires_grad_()
    ref = losses.TverskyLoss(softmax=True, to_onehot_y=True, include_background=False, alpha=0.3, beta=0.7)(
        xt, torch.from_numpy(gt)[None, None]
    )
    ref.backward()
    assert close(mine, ref.item(), rel=1e-12), (mine, ref.item())
    g = np.load(g_path)
    assert g.shape == x.shape and g.dtype == np.float64
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=0, atol=1e-15)


def test_nifti2_gives_a_clear_error(tmp_path):
    gt, pred = make_case(7)
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    save(tmp_path / "pred" / "a.nii", pred, "Nifti2Image", np.uint8)
    save(tmp_path / "gt" / "a.nii", gt, "Nifti2Image", np.uint8)
    res = subprocess.run(
        [binary(), "eval", str(tmp_path / "pred"), str(tmp_path / "gt"), "-q"], capture_output=True, text=True
    )
    assert res.returncode == 1
    assert "NIfTI-2 files are not supported" in res.stderr, res.stderr


def test_seg_metrics_overlap(dataset):
    sm = pytest.importorskip("seg_metrics.seg_metrics")
    d, arrays = dataset
    rows = run_cli(d)
    for case, (gt, pred) in arrays.items():
        labels = [l for l in (1, 2, 3) if (gt == l).any() and (pred == l).any()]
        out = sm.write_metrics(
            labels=labels,
            gdth_img=gt,
            pred_img=pred,
            spacing=list(SP),
            metrics=["dice", "jaccard", "precision", "recall"],
            verbose=False,
        )
        res = out[0] if isinstance(out, list) else out
        for i, lab in enumerate(labels):
            r = next(r for r in rows if r["case"] == case and r["label"] == str(lab))
            for mine, theirs in (
                ("dice", "dice"),
                ("iou", "jaccard"),
                ("precision", "precision"),
                ("recall", "recall"),
            ):
                assert close(num(r[mine]), float(res[theirs][i]), rel=1e-9), (case, lab, mine, r[mine], res[theirs][i])


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
