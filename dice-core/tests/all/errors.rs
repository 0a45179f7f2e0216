//! Bad input gets a typed error, never a panic or a silently wrong number.

use dice_core::*;

fn opts() -> DiceOptions {
    DiceOptions { activation: Activation::Softmax, ..DiceOptions::default() }
}

fn labels_call(
    x: &[f32],
    shape: &[usize],
    l: &[i64],
    lshape: &[usize],
    o: &DiceOptions,
) -> Result<Finalized> {
    let input = TensorView::contiguous("input", x, shape)?;
    let target = Target::Labels(Labels::I64(TensorView::contiguous("target", l, lshape)?));
    dice_loss(&Context::single(), &input, &target, o)
}

#[test]
fn rank_and_empty_dims() {
    let x = vec![0.5f32; 8];
    let e = labels_call(&x, &[2, 4], &[0, 0], &[2, 1], &opts()).unwrap_err();
    assert!(matches!(e, DiceError::Rank { arg: "input", rank: 2, .. }), "{e}");
    let e = TensorView::contiguous("input", &x, &[1, 1, 1, 1, 1, 1, 8]).unwrap_err();
    assert!(matches!(e, DiceError::Rank { .. }), "{e}");
    let e = labels_call(&[], &[0, 2, 4], &[], &[0, 1, 4], &opts()).unwrap_err();
    assert!(matches!(e, DiceError::EmptyDim { dim: 0, .. }), "{e}");
    let e = labels_call(&[], &[1, 0, 4], &[0; 4], &[1, 1, 4], &opts()).unwrap_err();
    assert!(matches!(e, DiceError::EmptyDim { dim: 1, .. }), "{e}");
}

#[test]
fn empty_spatial_extent_is_defined() {
    let f = labels_call(&[], &[1, 2, 0], &[], &[1, 1, 0], &opts()).unwrap();
    // all sums 0: 1 - s_nr / s_dr = 0
    assert_eq!(f.loss(), 0.0);
}

#[test]
fn shape_mismatches() {
    let x = vec![0.0f32; 2 * 3 * 4];
    let l = vec![0i64; 2 * 5];
    let e = labels_call(&x, &[2, 3, 4], &l, &[2, 1, 5], &opts()).unwrap_err();
    assert!(matches!(e, DiceError::ShapeMismatch { arg: "target", .. }), "{e}");
    let t = vec![0.0f32; 2 * 3 * 5];
    let input = TensorView::contiguous("input", &x, &[2, 3, 4]).unwrap();
    let target = Target::Dense(TensorView::contiguous("target", &t, &[2, 3, 5]).unwrap());
    let e = dice_loss(&Context::single(), &input, &target, &opts()).unwrap_err();
    assert!(matches!(e, DiceError::ShapeMismatch { .. }), "{e}");
    let l = vec![0i64; 8];
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &l, &[2, 4]).unwrap()));
    let mut g = vec![0.0f32; 20];
    let mut grad = TensorViewMut::contiguous("grad", &mut g, &[2, 2, 5]).unwrap();
    let e =
        dice_loss_grad(&Context::single(), &input, &target, &opts(), None, &mut grad).unwrap_err();
    assert!(matches!(e, DiceError::ShapeMismatch { arg: "grad", .. }), "{e}");
}

#[test]
fn stride_overflow_and_bounds() {
    let x = vec![0.0f32; 16];
    let e = TensorView::new("input", &x, 0, &[3, 2, 4], &[isize::MAX / 2, 4, 1]).unwrap_err();
    assert!(matches!(e, DiceError::StrideOverflow { .. }), "{e}");
    let e = TensorView::new("input", &x, 0, &[usize::MAX / 2, 2, 4], &[8, 4, 1]).unwrap_err();
    assert!(matches!(e, DiceError::StrideOverflow { .. }), "{e}");
    let e = TensorView::new("input", &x, 0, &[2, 2, 5], &[10, 5, 1]).unwrap_err();
    assert!(matches!(e, DiceError::OutOfBounds { .. }), "{e}");
    let e = TensorView::new("input", &x, 0, &[2, 2, 4], &[8, 4, -1]).unwrap_err();
    assert!(matches!(e, DiceError::OutOfBounds { .. }), "{e}");
    let e = TensorView::new("input", &x, 0, &[2, 2], &[8, 4, 1]).unwrap_err();
    assert!(matches!(e, DiceError::StridesLength { .. }), "{e}");
}

#[test]
fn overlapping_output_is_refused() {
    let mut g = vec![0.0f32; 16];
    let e = TensorViewMut::new("grad", &mut g, 0, &[2, 2, 4], &[0, 4, 1]).unwrap_err();
    assert!(matches!(e, DiceError::OverlappingOutput { .. }), "{e}");
    let e = TensorViewMut::new("grad", &mut g, 0, &[2, 2, 4], &[4, 2, 1]).unwrap_err();
    assert!(matches!(e, DiceError::OverlappingOutput { .. }), "{e}");
    assert!(TensorViewMut::new("grad", &mut g, 0, &[2, 2, 4], &[1, 2, 4]).is_ok());
}

#[test]
fn labels_out_of_range() {
    let x = vec![0.0f32; 2 * 3 * 4];
    for bad in [3i64, -1, 255] {
        let l = vec![0, 1, 2, bad, 0, 0, 0, 0];
        let e = labels_call(&x, &[2, 3, 4], &l, &[2, 1, 4], &opts()).unwrap_err();
        assert_eq!(e, DiceError::LabelOutOfRange { arg: "target", value: bad, classes: 3 });
    }
    // ...unless it is ignore_index
    let l = vec![0, 1, 2, 255, 0, 0, 0, 0];
    let o = DiceOptions { ignore_index: Some(255), ..opts() };
    assert!(labels_call(&x, &[2, 3, 4], &l, &[2, 1, 4], &o).is_ok());
    // one channel: a binary mask, labels 0 and 1 only
    let x1 = vec![0.5f32; 4];
    assert!(labels_call(&x1, &[1, 1, 4], &[0, 1, 1, 0], &[1, 1, 4], &opts()).is_ok());
    let e = labels_call(&x1, &[1, 1, 4], &[0, 2, 1, 0], &[1, 1, 4], &opts()).unwrap_err();
    assert_eq!(e, DiceError::LabelOutOfRange { arg: "target", value: 2, classes: 2 });
}

#[test]
fn weights_and_options() {
    let x = vec![0.0f32; 2 * 3 * 4];
    let l = vec![0i64; 8];
    let call = |o: DiceOptions| labels_call(&x, &[2, 3, 4], &l, &[2, 1, 4], &o).unwrap_err();
    assert_eq!(
        call(DiceOptions { weight: vec![1.0, -0.5, 1.0], ..opts() }),
        DiceError::BadWeight { index: 1, value: -0.5 }
    );
    assert!(matches!(
        call(DiceOptions { weight: vec![f64::NAN], ..opts() }),
        DiceError::BadWeight { .. }
    ));
    assert_eq!(
        call(DiceOptions { weight: vec![1.0, 1.0], ..opts() }),
        DiceError::WeightCount { expected: 3, got: 2 }
    );
    // with the background excluded, weights count the kept classes
    assert_eq!(
        call(DiceOptions { weight: vec![1.0; 3], include_background: false, ..opts() }),
        DiceError::WeightCount { expected: 2, got: 3 }
    );
    assert!(matches!(
        call(DiceOptions { smooth_dr: -1.0, ..opts() }),
        DiceError::BadOption { name: "smooth_dr", .. }
    ));
}

#[test]
fn upstream_and_stats_shapes() {
    let x = vec![0.0f64; 2 * 3 * 4];
    let l = vec![0i64; 8];
    let input = TensorView::contiguous("input", &x, &[2, 3, 4]).unwrap();
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &l, &[2, 1, 4]).unwrap()));
    let o = DiceOptions { reduction: Reduction::None, ..opts() };
    let mut g = vec![0.0; 24];
    let mut grad = TensorViewMut::contiguous("grad", &mut g, &[2, 3, 4]).unwrap();
    let e = dice_loss_grad(&Context::single(), &input, &target, &o, Some(&[1.0; 5]), &mut grad)
        .unwrap_err();
    assert_eq!(e, DiceError::UpstreamLength { expected: 6, got: 5 });
    let mut a = Stats::zeros(2, 3).unwrap();
    assert!(matches!(a.add(&Stats::zeros(2, 2).unwrap()), Err(DiceError::StatsMismatch { .. })));
    let coef = dice_finalize(&Stats::zeros(3, 3).unwrap(), &o).unwrap().coefficients(None).unwrap();
    let e = dice_backward(&Context::single(), &input, &target, &o, &coef, &mut grad).unwrap_err();
    assert!(matches!(e, DiceError::StatsMismatch { .. }), "{e}");
}

#[test]
fn nan_input_propagates_to_its_entry() {
    let mut x = vec![0.25f64; 2 * 2 * 4];
    x[5] = f64::NAN; // item 0, channel 1
    let l = vec![0i64, 1, 0, 1, 1, 0, 1, 0];
    let input = TensorView::contiguous("input", &x, &[2, 2, 4]).unwrap();
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &l, &[2, 1, 4]).unwrap()));
    let o = DiceOptions { reduction: Reduction::None, ..DiceOptions::default() };
    let f = dice_loss(&Context::single(), &input, &target, &o).unwrap();
    let v = f.values();
    assert!(v[1].is_nan() && !v[0].is_nan() && !v[2].is_nan() && !v[3].is_nan(), "{v:?}");
    // through a softmax the NaN reaches every channel of its voxel's item
    let o = DiceOptions {
        activation: Activation::Softmax,
        reduction: Reduction::None,
        ..DiceOptions::default()
    };
    let f = dice_loss(&Context::single(), &input, &target, &o).unwrap();
    assert!(f.values()[0].is_nan() && f.values()[1].is_nan() && !f.values()[2].is_nan());
}

#[test]
fn loss_family_options() {
    let x = vec![0.1f32; 2 * 3 * 4];
    let l = vec![0i64, 1, 2, 1, 0, 2, 1, 1];
    let call = |o: DiceOptions| labels_call(&x, &[2, 3, 4], &l, &[2, 1, 4], &o).unwrap_err();
    let bad = |o: DiceOptions, name: &str| {
        let e = call(o);
        assert!(matches!(e, DiceError::BadOption { name: n, .. } if n == name), "{name}: {e}");
    };
    bad(
        DiceOptions { overlap: Overlap::Tversky { alpha: -0.1, beta: 0.5 }, ..opts() },
        "alpha/beta",
    );
    bad(
        DiceOptions { overlap: Overlap::Tversky { alpha: 0.5, beta: f64::NAN }, ..opts() },
        "alpha/beta",
    );
    bad(
        DiceOptions {
            overlap: Overlap::Tversky { alpha: 0.5, beta: 0.5 },
            jaccard: true,
            ..opts()
        },
        "jaccard",
    );
    bad(
        DiceOptions {
            overlap: Overlap::Generalized(GdlWeight::Square),
            pool_classes: true,
            ..opts()
        },
        "overlap",
    );
    bad(
        DiceOptions {
            overlap: Overlap::Generalized(GdlWeight::Square),
            weight: vec![1.0; 3],
            ..opts()
        },
        "weight",
    );
    bad(DiceOptions { gamma: 0.0, ..opts() }, "gamma");
    bad(DiceOptions { clamp_dr: -1.0, ..opts() }, "clamp_dr");
    bad(DiceOptions { form: LossForm::NegLog { eps: 0.0 }, ..opts() }, "eps");
    bad(DiceOptions { lambda_overlap: -1.0, ..opts() }, "lambda");
    bad(DiceOptions { temporal: f64::INFINITY, ..opts() }, "lambda");
    bad(DiceOptions { classes: vec![3], ..opts() }, "classes");
    bad(DiceOptions { frames: true, ..opts() }, "frames"); // rank 3: no axis after T
    bad(DiceOptions { temporal: 0.5, ..opts() }, "frames");
    let pw = |p: Pointwise| DiceOptions { pointwise: p, ..opts() };
    bad(
        pw(Pointwise {
            kind: PointwiseKind::SoftmaxCe,
            label_smoothing: 1.5,
            ..Default::default()
        }),
        "label_smoothing",
    );
    bad(
        pw(Pointwise { kind: PointwiseKind::SigmoidFocal, gamma: -1.0, ..Default::default() }),
        "focal gamma",
    );
    bad(
        pw(Pointwise {
            kind: PointwiseKind::SigmoidFocal,
            alpha: FocalAlpha::Scalar(1.5),
            ..Default::default()
        }),
        "alpha",
    );
    bad(
        pw(Pointwise {
            kind: PointwiseKind::SoftmaxCe,
            alpha: FocalAlpha::Scalar(0.5),
            ..Default::default()
        }),
        "alpha",
    );
    // reduction none with an elementwise term is allowed (its per-element values come from
    // dice_pointwise_map); with the temporal term it is not
    assert!(
        labels_call(
            &x,
            &[2, 3, 4],
            &l,
            &[2, 1, 4],
            &DiceOptions {
                reduction: Reduction::None,
                ..pw(Pointwise { kind: PointwiseKind::Bce, ..Default::default() })
            }
        )
        .is_ok()
    );
    let e = call(pw(Pointwise {
        kind: PointwiseKind::SoftmaxCe,
        weight: vec![1.0; 2],
        ..Default::default()
    }));
    assert!(matches!(e, DiceError::WeightCount { expected: 3, got: 2 }), "{e}");
    let e = call(pw(Pointwise {
        kind: PointwiseKind::Bce,
        weight: vec![1.0, -2.0, 1.0],
        ..Default::default()
    }));
    assert!(matches!(e, DiceError::BadWeight { index: 1, .. }), "{e}");
    let e = call(pw(Pointwise {
        kind: PointwiseKind::SigmoidFocal,
        alpha: FocalAlpha::PerClass(vec![0.5; 2]),
        ..Default::default()
    }));
    assert!(matches!(e, DiceError::WeightCount { expected: 3, got: 2 }), "{e}");
}

#[test]
fn bad_loss_masks() {
    let x = vec![0.1f64; 2 * 3 * 4];
    let l = vec![0i64, 1, 2, 1, 0, 2, 1, 1];
    let input = TensorView::contiguous("input", &x, &[2, 3, 4]).unwrap();
    let target =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &l, &[2, 1, 4]).unwrap()));
    let ctx = Context::single();
    let call = |m: &[f64], shape: &[usize], o: &DiceOptions| {
        let mv = TensorView::contiguous("loss_mask", m, shape).unwrap();
        dice_loss_masked(&ctx, &input, &target, Some(&mv), o)
    };
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.5] {
        let mut m = vec![1.0; 8];
        m[5] = bad;
        let e = call(&m, &[2, 1, 4], &opts()).unwrap_err();
        assert!(
            matches!(e, DiceError::BadLossMask { value } if value.to_bits() == bad.to_bits()),
            "{bad}: {e}"
        );
        // the backward pass checks too
        let mv = TensorView::contiguous("loss_mask", &m, &[2, 4]).unwrap();
        let coef = dice_finalize(&Stats::zeros(2, 3).unwrap(), &opts())
            .unwrap()
            .coefficients(None)
            .unwrap();
        let mut g = vec![0.0; x.len()];
        let mut grad = TensorViewMut::contiguous("grad", &mut g, &[2, 3, 4]).unwrap();
        let e = dice_backward_masked(&ctx, &input, &target, Some(&mv), &opts(), &coef, &mut grad)
            .unwrap_err();
        assert!(matches!(e, DiceError::BadLossMask { .. }), "{e}");
    }
    // -0.0 is a valid zero weight
    assert!(call(&[-0.0; 8], &[2, 1, 4], &opts()).is_ok());
    for shape in [&[2, 3, 4][..], &[1, 1, 4], &[2, 1, 2, 2], &[2, 8], &[8]] {
        let e = call(&[1.0; 24][..shape.iter().product()], shape, &opts()).unwrap_err();
        assert!(matches!(e, DiceError::ShapeMismatch { arg: "loss_mask", .. }), "{shape:?}: {e}");
    }
    // the temporal term takes no mask (rank 4 so that it is otherwise valid)
    let x4 = vec![0.1f64; 2 * 3 * 2 * 2];
    let l4 = vec![0i64; 8];
    let m4 = vec![1.0; 8];
    let i4 = TensorView::contiguous("input", &x4, &[2, 3, 2, 2]).unwrap();
    let t4 =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &l4, &[2, 1, 2, 2]).unwrap()));
    let mv = TensorView::contiguous("loss_mask", &m4, &[2, 2, 2]).unwrap();
    let e = dice_loss_masked(&ctx, &i4, &t4, Some(&mv), &DiceOptions { temporal: 0.5, ..opts() })
        .unwrap_err();
    assert!(matches!(e, DiceError::BadOption { name: "loss_mask", .. }), "{e}");
    let e = dice_loss(
        &ctx,
        &i4,
        &t4,
        &DiceOptions { temporal: 0.5, reduction: Reduction::None, ..opts() },
    )
    .unwrap_err();
    assert!(matches!(e, DiceError::BadOption { name: "reduction", .. }), "{e}");
    // empty spatial extent: a (N, 1, 0) mask is fine, as elsewhere
    let e0: Vec<f64> = vec![];
    let i0 = TensorView::contiguous("input", &e0, &[2, 3, 0]).unwrap();
    let l0: Vec<i64> = vec![];
    let t0 =
        Target::Labels(Labels::I64(TensorView::contiguous("target", &l0, &[2, 1, 0]).unwrap()));
    let m0 = TensorView::contiguous("loss_mask", &e0, &[2, 1, 0]).unwrap();
    assert!(dice_loss_masked(&ctx, &i0, &t0, Some(&m0), &opts()).is_ok());
}
