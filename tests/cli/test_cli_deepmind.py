"""`dice eval --convention deepmind` against DeepMind's surface-distance package (PyPI
`surface-distance` 0.1, the `surface_distance` module of github.com/deepmind/surface-distance).

- The vendored reference case `deepmind_surface_distance_3d_aniso` (tests/reference/npz,
  produced by the same package): its two masks written as NIfTI-1 by nibabel, the CLI run with
  the case's spacing and each of its tolerances must reproduce the stored values.
- Label volumes of three structures (anisotropic spacing, a missed structure, an empty ground
  truth), written as NIfTI-1; every row is compared with the package called on the same masks
  with the spacing the files hold.

Column mapping (docs/cli.md): hd = compute_robust_hausdorff(100), hd95 = (95),
asd = the pred->gt average of compute_average_surface_distance, assd = the mean of its two
averages, nsd = compute_surface_dice_at_tolerance, bf = the F1 of the two fractions of
compute_surface_overlap_at_tolerance.

surface-distance 0.1 writes `np.Inf`, which NumPy 2 removed; the package reaches it only for an
empty mask. The test restores that alias (`np.Inf = np.inf`) so that the package runs unchanged.
For a missed structure the package gives hd, hd95 +inf and nsd 0 as the CLI; its pred->gt
average and overlap fraction are 0/0 = NaN there, where the CLI reports asd +inf and bf 0 in
every convention, so those two are compared only when both masks are non-empty.
"""

import subprocess
import warnings

import numpy as np
import pytest

sd = pytest.importorskip("surface_distance")
import test_cli_vs_references as ref  # noqa: E402  (same folder: the case generator and helpers)

nib = ref.nib
if not hasattr(np, "Inf"):
    np.Inf = np.inf  # the alias surface-distance 0.1 uses (removed in NumPy 2.0)

CASE = ref.ROOT / "tests" / "reference" / "npz" / "deepmind_surface_distance_3d_aniso.npz"
METRICS = "hd,hd95,asd,assd,nsd,bf"


def run(d, *extra):
    out = d / "out.csv"
    cmd = [
        ref.binary(),
        "eval",
        str(d / "pred"),
        str(d / "gt"),
        "--convention",
        "deepmind",
        "--metrics",
        METRICS,
        "--csv",
        str(out),
        "-q",
        *extra,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return list(ref.csv.DictReader(open(out)))


def package_row(g, p, spacing, tol):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 0/0 in the averages of an empty surface
        dist = sd.compute_surface_distances(g, p, spacing)
        g2p, p2g = sd.compute_average_surface_distance(dist)
        rec, prec = sd.compute_surface_overlap_at_tolerance(dist, tol)
    return {
        "hd": sd.compute_robust_hausdorff(dist, 100),
        "hd95": sd.compute_robust_hausdorff(dist, 95),
        "asd": p2g,
        "assd": (g2p + p2g) / 2,
        "nsd": sd.compute_surface_dice_at_tolerance(dist, tol),
        "bf": 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0,
    }


def write_pair(d, gt, pred, zooms):
    for sub, a in (("gt", gt), ("pred", pred)):
        (d / sub).mkdir(parents=True, exist_ok=True)
        img = nib.Nifti1Image(a.astype(np.uint8), np.diag(list(zooms) + [1.0]))
        img.header.set_zooms(zooms)
        nib.save(img, str(d / sub / "a.nii.gz"))


@pytest.mark.parametrize("tol", ["0.5", "1", "2"])
def test_the_stored_surface_distance_case(tmp_path, tol):
    z = np.load(CASE)
    spacing = [float(x) for x in z["param_spacing_mm"]]
    write_pair(tmp_path, z["mask_gt"], z["mask_pred"], spacing)
    # --spacing: the case's exact float64 spacing (the header holds it rounded to float32).
    rows = run(tmp_path, "--tolerance", tol, "--spacing", ",".join(repr(s) for s in spacing))
    assert len(rows) == 1 and rows[0]["label"] == "1"
    r = {k: float(v) for k, v in rows[0].items() if k in METRICS.split(",")}
    g2p, p2g = z["expected_average_surface_distance"]
    rec, prec = z[f"expected_surface_overlap_{tol}"]
    expected = {
        "hd": float(z["expected_robust_hausdorff_100"]),
        "hd95": float(z["expected_robust_hausdorff_95"]),
        "asd": float(p2g),
        "assd": float(g2p + p2g) / 2,
        "nsd": float(z[f"expected_surface_dice_{tol}"]),
        "bf": float(2 * prec * rec / (prec + rec)),
    }
    for k, v in expected.items():
        assert ref.close(r[k], v, rel=1e-12), (k, r[k], v)
    # The live package on the same masks agrees with the stored values.
    live = package_row(z["mask_gt"].astype(bool), z["mask_pred"].astype(bool), spacing, float(tol))
    for k, v in expected.items():
        assert ref.close(live[k], v, rel=1e-12), (k, live[k], v)


@pytest.fixture(scope="module")
def labels_dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("deepmind")
    arrays = {}
    for i in range(4):
        gt, pred = ref.make_case(500 + i, drop_gt_label3=(i == 2), drop_pred_label2=(i == 1))
        for sub, a in (("gt", gt), ("pred", pred)):
            (d / sub).mkdir(exist_ok=True)
            ref.save(d / sub / f"c{i}.nii.gz", a, "Nifti1Image", np.uint8)
        arrays[f"c{i}"] = (gt, pred)
    return d, arrays


@pytest.mark.parametrize("tol", [1.0, 2.5])
def test_every_row_against_the_package(labels_dataset, tol):
    d, arrays = labels_dataset
    rows = run(d, "--tolerance", repr(tol))
    both, miss, empty_gt = 0, 0, 0
    for r in rows:
        gt, pred = arrays[r["case"]]
        lab = int(r["label"])
        g, p = gt == lab, pred == lab
        mine = {k: float(r[k]) for k in METRICS.split(",")}
        if not g.any():
            assert all(np.isnan(v) for v in mine.values()), r  # --empty nan
            empty_gt += 1
            continue
        theirs = package_row(g, p, list(ref.SP), tol)
        keys = list(theirs) if p.any() else ["hd", "hd95", "nsd"]
        for k in keys:
            assert ref.close(mine[k], float(theirs[k]), rel=1e-12), (r["case"], lab, k, mine[k], theirs[k])
        if p.any():
            both += 1
        else:
            assert mine["asd"] == np.inf and np.isnan(theirs["asd"]) and mine["bf"] == 0.0
            miss += 1
    assert both >= 9 and miss == 1 and empty_gt == 1
