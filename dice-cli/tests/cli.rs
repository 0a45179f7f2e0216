//! The `dice` binary end to end: bad inputs give their message and exit status, the demo runs,
//! the CSV / JSON shapes, atomic outputs, and the loss command against dice-core.

use npyz::WriterBuilder;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn dice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dice")).args(args).output().expect("run dice")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh folder under the target dir for one test.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dice-cli-tests").join(name);
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(d.join("pred")).unwrap();
    fs::create_dir_all(d.join("gt")).unwrap();
    d
}

fn npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[u64], data: &[T]) {
    let file = fs::File::create(path).unwrap();
    let mut w =
        npyz::WriteOptions::new().default_dtype().shape(shape).writer(file).begin_nd().unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// gt = [0,1,1,1,1,0,0,0], pred = [0,0,1,1,1,1,0,0] along the last axis: tp 3, fp 1, fn 1.
fn small_pair(d: &Path, name: &str) {
    npy::<u8>(&d.join("gt").join(name), &[1, 1, 8], &[0, 1, 1, 1, 1, 0, 0, 0]);
    npy::<u8>(&d.join("pred").join(name), &[1, 1, 8], &[0, 0, 1, 1, 1, 1, 0, 0]);
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", rows[0]))
}

#[test]
fn exact_values_on_a_small_pair() {
    let d = scratch("exact");
    small_pair(&d, "a.npy");
    let csv = d.join("out.csv");
    let out = dice(&["eval", s(&d.join("pred")), s(&d.join("gt")), "--csv", s(&csv), "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("spacing 1 was used"), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("[1/1]"), "--quiet prints no progress");
    let rows = csv_rows(&csv);
    assert_eq!(rows.len(), 2);
    let get = |n: &str| rows[1][column(&rows, n)].clone();
    assert_eq!(get("case"), "a");
    assert_eq!(get("label"), "1");
    assert_eq!(get("dice"), "0.75");
    assert_eq!(get("iou"), "0.6");
    assert_eq!(get("tp"), "3");
    assert_eq!(get("fp"), "1");
    assert_eq!(get("fn"), "1");
    assert_eq!(get("tn"), "3");
    // Edges along one line: both ends of each run; distances 1 at each end.
    assert_eq!(get("hd"), "1");
    // With --spacing 1,1,2 the distances double along the last axis.
    let out = dice(&[
        "eval",
        s(&d.join("pred")),
        s(&d.join("gt")),
        "--csv",
        s(&csv),
        "--spacing",
        "1,1,2",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = csv_rows(&csv);
    assert_eq!(rows[1][column(&rows, "hd")], "2");
    assert_eq!(rows[1][column(&rows, "vol_ref")], "8");
}

#[test]
fn missing_pair_fails_that_case_only() {
    let d = scratch("missing");
    small_pair(&d, "a.npy");
    npy::<u8>(&d.join("pred").join("b.npy"), &[1, 1, 8], &[0; 8]);
    let csv = d.join("out.csv");
    let out = dice(&["eval", s(&d.join("pred")), s(&d.join("gt")), "--csv", s(&csv), "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("case b: missing pair: no ground truth for prediction"), "{err}");
    let rows = csv_rows(&csv);
    assert_eq!(rows.len(), 2, "the finished case is written");
    assert_eq!(rows[1][0], "a");
    let json_path = d.join("out.json");
    let out = dice(&["eval", s(&d.join("pred")), s(&d.join("gt")), "--json", s(&json_path), "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(json["metric_per_case"].as_array().unwrap().len(), 1);
    assert_eq!(json["failed"][0]["case"], "b");
    assert!(json["failed"][0]["error"].as_str().unwrap().starts_with("missing pair"));
}

#[test]
fn suffixes_pair_differently_named_files() {
    let d = scratch("suffix");
    for (dir, suffix) in [("pred", "_seg.npy"), ("gt", "_label.npy")] {
        npy::<u8>(&d.join(dir).join(format!("p1{suffix}")), &[1, 1, 8], &[0, 1, 1, 1, 1, 0, 0, 0]);
        npy::<u8>(&d.join(dir).join(format!("p2{suffix}")), &[1, 1, 8], &[0, 0, 1, 1, 0, 0, 0, 0]);
    }
    // A file without the suffix is not read.
    npy::<u8>(&d.join("pred").join("other.npy"), &[1, 1, 8], &[0; 8]);
    let csv = d.join("out.csv");
    let out = dice(&[
        "eval",
        s(&d.join("pred")),
        s(&d.join("gt")),
        "--suffix",
        "_seg.npy",
        "--gt-suffix",
        "_label.npy",
        "--csv",
        s(&csv),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = csv_rows(&csv);
    let cases: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(cases, ["p1", "p2"]);
    assert!(rows[1..].iter().all(|r| r[column(&rows, "dice")] == "1"));
}

#[test]
fn truncated_and_corrupt_files() {
    let d = scratch("corrupt");
    small_pair(&d, "a.npy");
    // A truncated .npy: the header promises 64 values.
    npy::<u8>(&d.join("gt").join("b.npy"), &[4, 4, 4], &[1; 64]);
    let bytes = fs::read(d.join("gt").join("b.npy")).unwrap();
    fs::write(d.join("gt").join("b.npy"), &bytes[..bytes.len() - 10]).unwrap();
    npy::<u8>(&d.join("pred").join("b.npy"), &[4, 4, 4], &[1; 64]);
    // Not a NIfTI file at all, and a gzip stream cut short.
    fs::write(d.join("gt").join("c.nii"), vec![7u8; 600]).unwrap();
    fs::write(d.join("pred").join("c.nii"), vec![7u8; 600]).unwrap();
    let demo = scratch("corrupt-demo");
    let out = dice(&["demo", s(&demo), "--cases", "1", "--threads", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let gz = fs::read(demo.join("gt").join("case_000.nii.gz")).unwrap();
    fs::write(d.join("gt").join("e.nii.gz"), &gz[..gz.len() / 2]).unwrap();
    fs::copy(demo.join("pred").join("case_000.nii.gz"), d.join("pred").join("e.nii.gz")).unwrap();
    let out = dice(&["eval", s(&d.join("pred")), s(&d.join("gt")), "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("case b: ground truth") && err.contains("b.npy: truncated file"), "{err}");
    assert!(err.contains("case c: prediction") && err.contains("not a NIfTI-1 file"), "{err}");
    assert!(
        err.contains("case e: ground truth") && err.contains("e.nii.gz: truncated file"),
        "{err}"
    );
    assert!(!err.contains("case a"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A little-endian NIfTI-2 single file (540-byte header, magic `n+2\0\r\n\x1a\n`, no extension),
/// uint8 (2, 2, 2) at 1 mm, laid out as nifti2.h defines the header.
fn nifti2_file(path: &Path, data: &[u8; 8]) {
    let mut h = vec![0u8; 540];
    h[0..4].copy_from_slice(&540i32.to_le_bytes());
    h[4..12].copy_from_slice(b"n+2\0\r\n\x1a\n");
    h[12..14].copy_from_slice(&2i16.to_le_bytes()); // datatype: uint8
    h[14..16].copy_from_slice(&8i16.to_le_bytes()); // bitpix
    for (field, d) in h[16..80].chunks_exact_mut(8).zip([3i64, 2, 2, 2, 1, 1, 1, 1]) {
        field.copy_from_slice(&d.to_le_bytes()); // dim
    }
    for field in h[104..168].chunks_exact_mut(8) {
        field.copy_from_slice(&1f64.to_le_bytes()); // pixdim
    }
    h[168..176].copy_from_slice(&544i64.to_le_bytes()); // vox_offset
    h[176..184].copy_from_slice(&1f64.to_le_bytes()); // scl_slope
    h.extend_from_slice(&[0u8; 4]); // no extension
    h.extend_from_slice(data);
    fs::write(path, h).unwrap();
}

#[test]
fn nifti2_is_refused_with_its_reason() {
    let d = scratch("nifti2");
    nifti2_file(&d.join("gt").join("a.nii"), &[0, 1, 1, 0, 0, 1, 1, 0]);
    nifti2_file(&d.join("pred").join("a.nii"), &[0, 1, 0, 0, 0, 1, 1, 1]);
    let out = dice(&["eval", s(&d.join("pred")), s(&d.join("gt")), "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("case a: prediction")
            && err.contains("NIfTI-2 files are not supported by the reader"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
#[test]
fn shape_mismatch_non_integer_and_out_of_range() {
    let d = scratch("bad-values");
    npy::<u8>(&d.join("pred").join("shape.npy"), &[2, 2, 2], &[0; 8]);
    npy::<u8>(&d.join("gt").join("shape.npy"), &[2, 2, 3], &[0; 12]);
    npy::<f32>(
        &d.join("pred").join("float.npy"),
        &[2, 2, 2],
        &[0.0, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0],
    );
    npy::<u8>(&d.join("gt").join("float.npy"), &[2, 2, 2], &[0; 8]);
    npy::<i32>(&d.join("pred").join("neg.npy"), &[2, 2, 2], &[0, -1, 0, 0, 0, 0, 0, 0]);
    npy::<u8>(&d.join("gt").join("neg.npy"), &[2, 2, 2], &[0; 8]);
    npy::<u8>(&d.join("pred").join("big.npy"), &[2, 2, 2], &[0, 1, 2, 3, 0, 0, 0, 0]);
    npy::<u8>(&d.join("gt").join("big.npy"), &[2, 2, 2], &[0, 1, 2, 2, 0, 0, 0, 0]);
    // Whole numbers stored as float32 are labels.
    npy::<f32>(
        &d.join("pred").join("wholefloat.npy"),
        &[2, 2, 2],
        &[0.0, 1.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0],
    );
    npy::<u8>(&d.join("gt").join("wholefloat.npy"), &[2, 2, 2], &[0, 1, 2, 2, 0, 0, 0, 0]);
    let csv = d.join("out.csv");
    let out = dice(&[
        "eval",
        s(&d.join("pred")),
        s(&d.join("gt")),
        "--max-label",
        "2",
        "--csv",
        s(&csv),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("case shape: shape mismatch: prediction [2, 2, 2], ground truth [2, 2, 3]"),
        "{err}"
    );
    assert!(
        err.contains("case float: prediction")
            && err.contains("value 0.5 at element 3 is not a whole number"),
        "{err}"
    );
    assert!(
        err.contains("case neg: prediction")
            && err.contains("label -1 at element 1 is outside [0, 2]"),
        "{err}"
    );
    assert!(
        err.contains("case big: prediction")
            && err.contains("label 3 at element 3 is outside [0, 2]"),
        "{err}"
    );
    assert!(!err.contains("case wholefloat"), "{err}");
    let rows = csv_rows(&csv);
    assert!(rows[1..].iter().all(|r| r[0] == "wholefloat"));
    assert_eq!(rows.len(), 3, "labels 1 and 2 of the one good case");
}

#[test]
fn fail_fast_stops_and_atomic_output_replaces_the_old_file() {
    let d = scratch("failfast");
    for name in ["a", "b", "c", "d"] {
        npy::<u8>(&d.join("gt").join(format!("{name}.npy")), &[1, 1, 4], &[0, 1, 1, 0]);
    }
    // Only "a" has a prediction; with --fail-fast on one thread, b stops the run.
    npy::<u8>(&d.join("pred").join("a.npy"), &[1, 1, 4], &[0, 1, 0, 0]);
    let csv = d.join("out.csv");
    fs::write(&csv, "old content that must disappear\n").unwrap();
    let out = dice(&[
        "eval",
        s(&d.join("pred")),
        s(&d.join("gt")),
        "--fail-fast",
        "--threads",
        "1",
        "--csv",
        s(&csv),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("case b: missing pair"), "{err}");
    assert!(err.contains("--fail-fast: 2 cases not evaluated"), "{err}");
    let body = fs::read_to_string(&csv).unwrap();
    assert!(body.starts_with("case,label,pred,gt,dice"), "{body}");
    assert_eq!(body.lines().count(), 2);
    let leftovers: Vec<_> = fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // An output in a folder that does not exist: a clear error, status 2, nothing half-written.
    let out = dice(&[
        "eval",
        s(&d.join("pred")),
        s(&d.join("gt")),
        "--csv",
        s(&d.join("nope").join("x.csv")),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot write"), "{}", text(&out.stderr));
}

#[test]
fn usage_errors_exit_2() {
    let d = scratch("usage");
    small_pair(&d, "a.npy");
    let (p, g) = (d.join("pred"), d.join("gt"));
    let cases: [(&[&str], &str); 5] = [
        (&["--metrics", "dice,bogus"], "unknown metric \"bogus\""),
        (&["--regions", "1,x"], "--regions"),
        (&["--tolerance=-1"], "--tolerance"),
        (&["--labels", "0,1"], "background"),
        (&["--spacing", "1,1"], "--spacing has 2 values"),
    ];
    for (extra, msg) in cases {
        let mut args = vec!["eval", s(&p), s(&g), "-q"];
        args.extend_from_slice(extra);
        let out = dice(&args);
        let err = text(&out.stderr);
        assert!(err.contains(msg), "{extra:?}: {err}");
        assert_ne!(out.status.code(), Some(0), "{extra:?}");
    }
    let out = dice(&["eval", s(&p), s(&d.join("gt").join("a.npy")), "-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("must both be files or both be folders"));
    // Two files, one absent: that case fails and names it.
    let absent = d.join("gt").join("absent.npy");
    let out = dice(&["eval", s(&p.join("a.npy")), s(&absent), "-q"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("no such file: {}", absent.display())),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn demo_csv_and_json_shapes() {
    let d = scratch("demo");
    let out = dice(&["demo", s(&d), "--cases", "3", "--threads", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("3 cases scored"), "{stdout}");
    // stderr is not a terminal here: one plain progress line per case.
    let err = text(&out.stderr);
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with('[') && l.contains("/3] case_") && l.ends_with(": ok"))
            .count(),
        3,
        "{err}"
    );
    for metric in ["dice", "hd95", "nsd", "bf", "vol_ref"] {
        assert!(stdout.contains(metric), "{stdout}");
    }
    // Case 1 misses the lesion: its lesion Dice is 0 and the worst case of label 3.
    let rows = csv_rows(&d.join("scores.csv"));
    assert_eq!(rows[0].len(), 4 + 20);
    assert_eq!(rows.len(), 1 + 3 * 3);
    let (dice_col, hd_col) = (column(&rows, "dice"), column(&rows, "hd"));
    let lesion1 = rows.iter().find(|r| r[0] == "case_001" && r[1] == "3").unwrap();
    assert_eq!(lesion1[dice_col], "0");
    assert_eq!(lesion1[hd_col], "inf");
    for r in &rows[1..] {
        let v: f64 = r[dice_col].parse().unwrap();
        assert!((0.0..=1.0).contains(&v));
    }
    let organ: Vec<f64> =
        rows[1..].iter().filter(|r| r[1] == "1").map(|r| r[dice_col].parse().unwrap()).collect();
    assert!(organ.iter().all(|&v| v > 0.8 && v < 1.0), "{organ:?}");
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["metric_per_case"].as_array().unwrap().len(), 3);
    let case0 = &json["metric_per_case"][0];
    assert_eq!(case0["case"], "case_000");
    assert_eq!(case0["spacing"].as_array().unwrap().len(), 3);
    assert_eq!(case0["shape"], serde_json::json!([96, 96, 40]));
    assert!(case0["metrics"]["2"]["dice"].is_number());
    let means = json["mean"].as_object().unwrap();
    assert_eq!(means.keys().collect::<Vec<_>>(), ["1", "2", "3"]);
    let m1: f64 = organ.iter().sum::<f64>() / 3.0;
    assert!((json["mean"]["1"]["dice"].as_f64().unwrap() - m1).abs() < 1e-12);
    let fg = json["foreground_mean"]["dice"].as_f64().unwrap();
    let per: Vec<f64> =
        ["1", "2", "3"].iter().map(|k| json["mean"][*k]["dice"].as_f64().unwrap()).collect();
    assert!((fg - per.iter().sum::<f64>() / 3.0).abs() < 1e-12);
    assert_eq!(json["failed"].as_array().unwrap().len(), 0);
    // Regions and a metric subset.
    let csv = d.join("regions.csv");
    let out = dice(&[
        "eval",
        s(&d.join("pred")),
        s(&d.join("gt")),
        "--regions",
        "1,2,3",
        "2,3",
        "--metrics",
        "dice,hd95",
        "--convention",
        "deepmind",
        "--csv",
        s(&csv),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = csv_rows(&csv);
    assert_eq!(rows[0], ["case", "label", "pred", "gt", "dice", "hd95"]);
    assert_eq!(rows.len(), 1 + 3 * 2);
    assert!(rows[1..].iter().all(|r| r[1] == "1+2+3" || r[1] == "2+3"));
}

#[test]
fn spacing_mismatch_between_headers() {
    use nifti::writer::WriterOptions;
    let d = scratch("spacing");
    let data =
        ndarray::Array3::<u8>::from_shape_fn((4, 4, 4), |(x, y, z)| ((x + y + z) % 3 == 0) as u8);
    for (dir, dz) in [("gt", 2.0f32), ("pred", 2.5f32)] {
        let h = nifti::NiftiHeader {
            pixdim: [1.0, 1.0, 1.0, dz, 1.0, 1.0, 1.0, 1.0],
            ..Default::default()
        };
        WriterOptions::new(d.join(dir).join("a.nii"))
            .reference_header(&h)
            .write_nifti(&data)
            .unwrap();
    }
    let out = dice(&["eval", s(&d.join("pred")), s(&d.join("gt")), "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("spacing mismatch: prediction [1.0, 1.0, 2.5], ground truth [1.0, 1.0, 2.0]"),
        "{err}"
    );
    let out = dice(&["eval", s(&d.join("pred")), s(&d.join("gt")), "-q", "--spacing", "1,1,2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn loss_matches_the_library_and_writes_the_gradient() {
    use dice_core::*;
    let d = scratch("loss");
    let (n, c, v) = (2usize, 3usize, 4 * 4 * 4usize);
    let logits: Vec<f32> = (0..n * c * v).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
    let labels: Vec<i64> = (0..n * v).map(|i| (i * 7 % 3) as i64).collect();
    npy(&d.join("x.npy"), &[2, 3, 4, 4, 4], &logits);
    npy(&d.join("y.npy"), &[2, 4, 4, 4], &labels);
    let g = d.join("g.npy");
    let out = dice(&[
        "loss",
        s(&d.join("x.npy")),
        s(&d.join("y.npy")),
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
        s(&g),
        "--threads",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ctx = Context::new(1).unwrap();
    let input = TensorView::contiguous("input", &logits, &[2, 3, 4, 4, 4]).unwrap();
    let target = Target::Labels(Labels::I64(
        TensorView::contiguous("target", &labels, &[2, 1, 4, 4, 4]).unwrap(),
    ));
    let opts = DiceOptions {
        activation: Activation::Softmax,
        include_background: false,
        overlap: Overlap::Tversky { alpha: 0.3, beta: 0.7 },
        ..Default::default()
    };
    let mut grad = vec![0f32; logits.len()];
    let mut gv = TensorViewMut::contiguous("grad", &mut grad, &[2, 3, 4, 4, 4]).unwrap();
    let expected = dice_loss_grad(&ctx, &input, &target, &opts, None, &mut gv).unwrap().loss();
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("loss Tversky: {expected}\n")), "{stdout} vs {expected}");
    let written = npyz::NpyFile::new(fs::File::open(&g).unwrap()).unwrap();
    assert_eq!(written.shape(), &[2, 3, 4, 4, 4]);
    let written: Vec<f32> = written.into_vec().unwrap();
    assert_eq!(written, grad);
    // A label map that does not fit the input.
    npy(&d.join("bad.npy"), &[2, 4, 4, 3], &labels[..96]);
    let out = dice(&["loss", s(&d.join("x.npy")), s(&d.join("bad.npy"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("do not fit the input"), "{}", text(&out.stderr));
}

#[test]
fn deepmind_convention_is_the_library_on_the_same_masks() {
    use dice_core::metrics::surface_distances;
    let d = scratch("deepmind");
    let shape = [12usize, 10, 9];
    let ball = |c: [f64; 3], r: f64| -> Vec<u8> {
        let mut v = Vec::new();
        for z in 0..shape[0] {
            for y in 0..shape[1] {
                for x in 0..shape[2] {
                    let p = [z as f64, y as f64, x as f64];
                    v.push(((0..3).map(|a| (p[a] - c[a]).powi(2)).sum::<f64>() <= r * r) as u8);
                }
            }
        }
        v
    };
    let (g, p) = (ball([6.0, 5.0, 4.0], 3.2), ball([6.5, 4.0, 4.5], 2.7));
    let dims: Vec<u64> = shape.iter().map(|&x| x as u64).collect();
    npy(&d.join("gt").join("a.npy"), &dims, &g);
    npy(&d.join("pred").join("a.npy"), &dims, &p);
    let csv = d.join("out.csv");
    let spacing = [2.0, 0.7, 1.1];
    let out = dice(&[
        "eval",
        s(&d.join("pred")),
        s(&d.join("gt")),
        "--convention",
        "deepmind",
        "--spacing",
        "2,0.7,1.1",
        "--tolerance",
        "1.5",
        "--metrics",
        "hd,hd95,assd,asd,nsd,bf",
        "--csv",
        s(&csv),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = csv_rows(&csv);
    let get = |n: &str| -> f64 { rows[1][column(&rows, n)].parse().unwrap() };
    let ctx = dice_core::Context::new(1).unwrap();
    let gv = dice_core::TensorView::contiguous("gt", &g, &shape).unwrap();
    let pv = dice_core::TensorView::contiguous("pred", &p, &shape).unwrap();
    let sd = surface_distances(&ctx, &gv, &pv, &spacing).unwrap();
    let (g2p, p2g) = sd.average_surface_distance();
    let (rec, prec) = sd.surface_overlap_at_tolerance(1.5).unwrap();
    assert_eq!(get("hd"), sd.robust_hausdorff(100.0).unwrap());
    assert_eq!(get("hd95"), sd.robust_hausdorff(95.0).unwrap());
    assert_eq!(get("asd"), p2g);
    assert_eq!(get("assd"), (g2p + p2g) / 2.0);
    assert_eq!(get("nsd"), sd.surface_dice_at_tolerance(1.5).unwrap());
    assert_eq!(get("bf"), 2.0 * prec * rec / (prec + rec));
    assert!(get("hd") > get("hd95") && get("hd95") > 0.0);
}

#[test]
fn a_label_absent_from_a_case_gets_the_row_of_an_empty_pair() {
    let d = scratch("absent-label");
    npy::<u8>(&d.join("gt").join("a.npy"), &[1, 1, 6], &[0, 1, 1, 2, 2, 0]);
    npy::<u8>(&d.join("pred").join("a.npy"), &[1, 1, 6], &[0, 1, 1, 2, 0, 0]);
    npy::<u8>(&d.join("gt").join("b.npy"), &[1, 1, 6], &[0, 1, 1, 0, 0, 0]);
    npy::<u8>(&d.join("pred").join("b.npy"), &[1, 1, 6], &[0, 1, 1, 0, 0, 0]);
    let csv = d.join("out.csv");
    let out = dice(&[
        "eval",
        s(&d.join("pred")),
        s(&d.join("gt")),
        "--csv",
        s(&csv),
        "-q",
        "--threads",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = csv_rows(&csv);
    let b2 = rows.iter().find(|r| r[0] == "b" && r[1] == "2").expect("row of label 2 in case b");
    for m in ["dice", "iou", "recall", "hd", "hd95", "nsd", "bf", "precision"] {
        assert_eq!(b2[column(&rows, m)], "nan", "{m}");
    }
    assert_eq!(b2[column(&rows, "tn")], "6");
    assert_eq!(b2[column(&rows, "specificity")], "1");
    // --empty one: both empty scores 1 (distances 0); --empty skip drops the row.
    let out = dice(&[
        "eval",
        s(&d.join("pred")),
        s(&d.join("gt")),
        "--csv",
        s(&csv),
        "-q",
        "--empty",
        "one",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let rows = csv_rows(&csv);
    let b2 = rows.iter().find(|r| r[0] == "b" && r[1] == "2").unwrap();
    assert_eq!(
        (
            b2[column(&rows, "dice")].as_str(),
            b2[column(&rows, "hd")].as_str(),
            b2[column(&rows, "nsd")].as_str()
        ),
        ("1", "0", "1")
    );
    let out = dice(&[
        "eval",
        s(&d.join("pred")),
        s(&d.join("gt")),
        "--csv",
        s(&csv),
        "-q",
        "--empty",
        "skip",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let rows = csv_rows(&csv);
    assert!(!rows.iter().any(|r| r[0] == "b" && r[1] == "2"));
    assert_eq!(rows.len(), 1 + 3);
}
