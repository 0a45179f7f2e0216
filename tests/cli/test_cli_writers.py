"""`dice eval` on label files written by nibabel and by SimpleITK.

Every combination of writer (nibabel 5.4.2, SimpleITK 2.5.7), datatype (uint8, int16, int32,
float32 holding whole numbers) and container (.nii, .nii.gz) holds its own pair of label
volumes; the same arrays are also written as uint8 NIfTI-1 .nii.gz by nibabel. The CLI must
give every CSV value of every (case, label) row identically for both folders, report the shape
and spacing the files hold, and the reference folder's rows must equal the confusion counts
computed with numpy and MONAI's average surface distance (which depends on the axis order and
the anisotropic spacing, so a transposed or mis-spaced read shows). A prediction written by one
writer and a ground truth by the other are read as one case (their headers' spacings agree).
NIfTI-2 (nibabel's Nifti2Image, .nii and .nii.gz) is refused with its message: the reader,
the `nifti` crate 0.18.0, reads NIfTI-1 only; SimpleITK 2.5.7 (ITK 5.4) writes NIfTI-1 only.

The binary: $DICE_BIN, else target/release/dice, else target/debug/dice.
"""

import json
import subprocess

import numpy as np
import pytest

sitk = pytest.importorskip("SimpleITK")
import test_cli_vs_references as ref  # noqa: E402  (same folder: the case generator and references)

nib = ref.nib
DTYPES = {"u8": np.uint8, "i16": np.int16, "i32": np.int32, "f32": np.float32}
SITK_TYPES = {"u8": sitk.sitkUInt8, "i16": sitk.sitkInt16, "i32": sitk.sitkInt32, "f32": sitk.sitkFloat32}


def save_sitk(path, array, kind):
    """`array` in nibabel's (i, j, k) order: SimpleITK takes numpy arrays as (k, j, i) and its
    spacing as (i, j, k), so both writers store the same voxel grid."""
    img = sitk.GetImageFromArray(np.ascontiguousarray(array.transpose(2, 1, 0)).astype(DTYPES[kind]))
    assert img.GetPixelID() == SITK_TYPES[kind]
    img.SetSpacing(ref.SPACING)
    sitk.WriteImage(img, str(path))


def save_nib(path, array, kind):
    ref.save(path, array, "Nifti1Image", DTYPES[kind])


WRITERS = {"nib": save_nib, "sitk": save_sitk}


@pytest.fixture(scope="module")
def writers_dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("writers")
    for sub in ("w/pred", "w/gt", "base/pred", "base/gt"):
        (d / sub).mkdir(parents=True)
    arrays = {}
    cases = [(w, w, kind, ext) for w in WRITERS for kind in DTYPES for ext in (".nii", ".nii.gz")]
    cases += [("sitk", "nib", "u8", ".nii.gz"), ("nib", "sitk", "i16", ".nii")]
    for i, (pw, gw, kind, ext) in enumerate(cases):
        case = f"p{pw}_g{gw}_{kind}_{ext.strip('.').replace('.', '')}"
        gt, pred = ref.make_case(300 + i, drop_gt_label3=(i % 5 == 4), drop_pred_label2=(i % 7 == 3))
        WRITERS[pw](d / "w" / "pred" / f"{case}{ext}", pred, kind)
        WRITERS[gw](d / "w" / "gt" / f"{case}{ext}", gt, kind)
        ref.save(d / "base" / "pred" / f"{case}.nii.gz", pred, "Nifti1Image", np.uint8)
        ref.save(d / "base" / "gt" / f"{case}.nii.gz", gt, "Nifti1Image", np.uint8)
        arrays[case] = (gt, pred)
    return d, arrays


def run(d, *extra):
    out = d / "out.csv"
    js = d / "out.json"
    cmd = [
        ref.binary(),
        "eval",
        str(d / "pred"),
        str(d / "gt"),
        "--csv",
        str(out),
        "--json",
        str(js),
        "--tolerance",
        str(ref.TOL),
        "-q",
        *extra,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return list(ref.csv.DictReader(open(out))), json.load(open(js))


def test_the_writers_files_hold_the_arrays(writers_dataset):
    """The files themselves (read back with nibabel) hold the arrays and spacing the test wrote,
    in the same axis order, with the intended datatype and container."""
    d, arrays = writers_dataset
    for f in sorted((d / "w").rglob("*.nii*")):
        case = f.name.split(".nii")[0]
        gt, pred = arrays[case]
        img = nib.load(str(f))
        assert isinstance(img, nib.Nifti1Image)
        assert img.get_data_dtype() == DTYPES[case.split("_")[2]], (f, img.get_data_dtype())
        assert (f.suffix == ".gz") == case.endswith("niigz")
        np.testing.assert_array_equal(np.asarray(img.dataobj), gt if f.parent.name == "gt" else pred)
        assert tuple(float(z) for z in img.header.get_zooms()) == ref.SP


def test_every_writer_datatype_and_container_reads_as_uint8_nifti1(writers_dataset):
    d, arrays = writers_dataset
    rows, js = run(d / "w")
    base_rows, _ = run(d / "base")
    assert {r["case"] for r in rows} == set(arrays)
    assert len(rows) == len(base_rows) >= 3 * len(arrays) - 2
    base = {(r["case"], r["label"]): r for r in base_rows}
    for r in rows:
        b = base[(r["case"], r["label"])]
        for k in r:
            if k not in ("pred", "gt"):
                assert r[k] == b[k], (r["case"], r["label"], k, r[k], b[k])
    for c in js["metric_per_case"]:
        assert c["shape"] == list(ref.SHAPE), c
        assert c["spacing"] == list(ref.SP), c
    assert js["failed"] == []


def test_reference_rows_match_numpy_counts_and_monai_distances(writers_dataset):
    d, arrays = writers_dataset
    rows, _ = run(d / "base", "--metrics", "counts,volumes,dice,assd")
    checked = 0
    for r in rows:
        gt, pred = arrays[r["case"]]
        lab = int(r["label"])
        p, g = pred == lab, gt == lab
        counts = ref.counts_row(p, g)
        for k in ("tp", "fp", "fn", "tn", "n_pred", "n_ref", "vol_pred", "vol_ref", "dice"):
            if k in counts:
                assert ref.close(ref.num(r[k]), float(counts[k])), (r["case"], lab, k, r[k], counts[k])
        if p.any() and g.any():
            v = ref.monai_row(p, g)["assd"]
            assert ref.close(ref.num(r["assd"]), v, rel=1e-6), (r["case"], lab, r["assd"], v)
            checked += 1
    assert checked >= 2 * len(arrays)


@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_nifti2_is_refused_with_its_reason(tmp_path, ext):
    gt, pred = ref.make_case(11)
    for sub, a in (("pred", pred), ("gt", gt)):
        (tmp_path / sub).mkdir()
        ref.save(tmp_path / sub / f"a{ext}", a, "Nifti2Image", np.uint8)
        assert nib.load(str(tmp_path / sub / f"a{ext}")).header.sizeof_hdr == 540
    res = subprocess.run(
        [ref.binary(), "eval", str(tmp_path / "pred"), str(tmp_path / "gt"), "-q"], capture_output=True, text=True
    )
    assert res.returncode == 1, (res.returncode, res.stderr)
    assert "NIfTI-2 files are not supported by the reader" in res.stderr, res.stderr


def test_simpleitk_writes_no_nifti2(tmp_path):
    """SimpleITK cannot write NIfTI-2 at all (an axis longer than 32767 is an error), so the
    NIfTI-2 files of the test come from nibabel only."""
    img = sitk.Image([40000, 1, 1], sitk.sitkUInt8)
    with pytest.raises(RuntimeError, match="greater than maximum possible dimension 32767"):
        sitk.WriteImage(img, str(tmp_path / "long.nii"))
