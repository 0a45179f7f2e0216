//! The benchmark matrix as data: losses x shapes x layouts x label types x passes. The
//! criterion benches and `dice-report` both iterate these tables; a new loss is one line in
//! [`LOSSES`].
//!
//! Byte model (what must move, per call; the floor divides it by the measured bandwidth):
//! - forward reads the input once and the label map once: `R = input + labels`, at read2
//!   bandwidth;
//! - forward+backward is two passes (the gradient needs the finished sums): the reduce pass
//!   reads `R` at read2 bandwidth, the backward pass reads `R` again and writes the gradient
//!   at read2+write1 bandwidth;
//! - input bytes are 4 per element (f32), times 2 for the strided layout (every other element
//!   of the innermost axis: each cache line fetched carries half unused data); labels 8 (i64)
//!   or 1 (u8) per voxel; gradient 4 per element.

use dice_core::{
    Activation, Context, DiceOptions, GdlWeight, Labels, Overlap, Pointwise, PointwiseKind, Result,
    Target, TensorView, TensorViewMut, dice_loss, dice_loss_grad,
};
use rayon::prelude::*;

/// The byte model in one line, written into the JSON report.
pub const BYTE_MODEL: &str = "fwd: R = input + labels at read2 bandwidth; fwd+bwd: R at read2, then R + gradient at \
     read2+write1; input 4 B/element (x2 strided), labels 8 (i64) or 1 (u8) B/voxel, gradient 4 B/element";

/// Runs one loss: forward when `grad` is `None`, forward+backward into `grad` otherwise;
/// returns the loss value.
pub type RunFn = fn(
    &Context,
    Activation,
    &TensorView<'_, f32>,
    &Target<'_, f32>,
    Option<&mut TensorViewMut<'_, f32>>,
) -> Result<f64>;

/// A loss under benchmark.
pub struct Loss {
    /// Short name, the first field of a case key.
    pub name: &'static str,
    /// How to call it; the activation comes from the shape (softmax, or sigmoid for binary).
    pub run: RunFn,
}

fn dice_family(
    ctx: &Context,
    x: &TensorView<'_, f32>,
    t: &Target<'_, f32>,
    grad: Option<&mut TensorViewMut<'_, f32>>,
    opts: DiceOptions,
) -> Result<f64> {
    match grad {
        None => Ok(dice_loss(ctx, x, t, &opts)?.loss()),
        Some(g) => Ok(dice_loss_grad(ctx, x, t, &opts, None, g)?.loss()),
    }
}

/// `DiceOptions` with the shape's activation and the given overlap and elementwise term.
fn opts(
    a: Activation,
    overlap: Overlap,
    pointwise: [PointwiseKind; 2],
    lambda_overlap: f64,
) -> DiceOptions {
    let kind = if a == Activation::Softmax { pointwise[0] } else { pointwise[1] };
    DiceOptions {
        activation: a,
        overlap,
        lambda_overlap,
        pointwise: Pointwise { kind, ..Default::default() },
        ..Default::default()
    }
}

const NO_TERM: [PointwiseKind; 2] = [PointwiseKind::None, PointwiseKind::None];
const CE: [PointwiseKind; 2] = [PointwiseKind::SoftmaxCe, PointwiseKind::Bce];
const FOCAL: [PointwiseKind; 2] = [PointwiseKind::SoftmaxFocal, PointwiseKind::SigmoidFocal];
const SIGMOID_FOCAL: [PointwiseKind; 2] =
    [PointwiseKind::SigmoidFocal, PointwiseKind::SigmoidFocal];

/// Every loss, one line each, configured as its MONAI counterpart (benchmarks/compare_pytorch.py
/// maps the names): the elementwise term is the softmax form, or the sigmoid form on the binary
/// shape; Tversky alpha 0.3 (false positives), beta 0.7; Generalised Dice with square weights.
pub const LOSSES: &[Loss] = &[
    Loss {
        name: "dice",
        run: |c, a, x, t, g| dice_family(c, x, t, g, opts(a, Overlap::Dice, NO_TERM, 1.0)),
    },
    Loss {
        name: "jaccard",
        run: |c, a, x, t, g| {
            dice_family(
                c,
                x,
                t,
                g,
                DiceOptions { jaccard: true, ..opts(a, Overlap::Dice, NO_TERM, 1.0) },
            )
        },
    },
    Loss {
        name: "tversky",
        run: |c, a, x, t, g| {
            dice_family(
                c,
                x,
                t,
                g,
                opts(a, Overlap::Tversky { alpha: 0.3, beta: 0.7 }, NO_TERM, 1.0),
            )
        },
    },
    Loss {
        name: "gdice",
        run: |c, a, x, t, g| {
            dice_family(c, x, t, g, opts(a, Overlap::Generalized(GdlWeight::Square), NO_TERM, 1.0))
        },
    },
    Loss {
        name: "focal",
        run: |c, a, x, t, g| dice_family(c, x, t, g, opts(a, Overlap::Dice, FOCAL, 0.0)),
    },
    Loss {
        name: "dice_ce",
        run: |c, a, x, t, g| dice_family(c, x, t, g, opts(a, Overlap::Dice, CE, 1.0)),
    },
    // MONAI's DiceFocalLoss uses the sigmoid focal term whatever the Dice activation.
    Loss {
        name: "dice_focal",
        run: |c, a, x, t, g| dice_family(c, x, t, g, opts(a, Overlap::Dice, SIGMOID_FOCAL, 1.0)),
    },
];

/// A tensor shape (N, C, spatial...) and the activation it is used with.
pub struct Shape {
    /// Short name, a field of the case key.
    pub name: &'static str,
    /// Extents, N and C first.
    pub dims: &'static [usize],
    /// Softmax over C, or sigmoid for the single-channel binary shape.
    pub activation: Activation,
}

/// The shapes of the issue: 2-D, 3-D, spatio-temporal, binary.
pub const SHAPES: &[Shape] = &[
    Shape { name: "2d", dims: &[8, 4, 512, 512], activation: Activation::Softmax },
    Shape { name: "3d", dims: &[2, 4, 128, 128, 128], activation: Activation::Softmax },
    Shape { name: "st", dims: &[1, 2, 8, 64, 128, 128], activation: Activation::Softmax },
    Shape { name: "bin", dims: &[8, 1, 512, 512], activation: Activation::Sigmoid },
];

/// Memory layout of the input (and gradient).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Row-major N, C, spatial...
    Contiguous,
    /// N, spatial..., C (channels innermost); the gradient has the same layout.
    ChannelsLast,
    /// Row-major with every other element of the innermost axis (`x[..., ::2]` of a buffer
    /// twice as wide); the gradient is contiguous, as autograd would allocate it.
    Strided,
}

/// Every layout.
pub const LAYOUTS: &[Layout] = &[Layout::Contiguous, Layout::ChannelsLast, Layout::Strided];

impl Layout {
    /// Short name, a field of the case key.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Contiguous => "contig",
            Layout::ChannelsLast => "chlast",
            Layout::Strided => "strided",
        }
    }

    /// Axes from outermost to innermost in memory.
    fn order(self, rank: usize) -> Vec<usize> {
        match self {
            Layout::ChannelsLast => [0].into_iter().chain(2..rank).chain([1]).collect(),
            _ => (0..rank).collect(),
        }
    }

    /// Element step along the innermost memory axis.
    fn step(self) -> usize {
        if self == Layout::Strided { 2 } else { 1 }
    }
}

/// Element type of the label map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelType {
    /// i64 (PyTorch's default integer type).
    I64,
    /// u8 (compact masks).
    U8,
}

/// Every label type.
pub const LABEL_TYPES: &[LabelType] = &[LabelType::I64, LabelType::U8];

impl LabelType {
    /// Short name, a field of the case key.
    pub fn name(self) -> &'static str {
        match self {
            LabelType::I64 => "i64",
            LabelType::U8 => "u8",
        }
    }

    /// Bytes per label.
    pub fn bytes(self) -> usize {
        match self {
            LabelType::I64 => 8,
            LabelType::U8 => 1,
        }
    }
}

/// What a call computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// Loss only.
    Forward,
    /// Loss and input gradient.
    ForwardBackward,
}

/// Both passes.
pub const PASSES: &[Pass] = &[Pass::Forward, Pass::ForwardBackward];

impl Pass {
    /// Short name, the last field of the case key.
    pub fn name(self) -> &'static str {
        match self {
            Pass::Forward => "fwd",
            Pass::ForwardBackward => "fwdbwd",
        }
    }
}

/// One data configuration: the buffers are built once and shared by every loss and pass.
#[derive(Clone, Copy)]
pub struct Config {
    /// Shape (and activation).
    pub shape: &'static Shape,
    /// Input layout.
    pub layout: Layout,
    /// Label type.
    pub labels: LabelType,
}

impl Config {
    /// Every configuration of the full matrix.
    pub fn all() -> Vec<Config> {
        let mut v = Vec::new();
        for shape in SHAPES {
            for &layout in LAYOUTS {
                for &labels in LABEL_TYPES {
                    v.push(Config { shape, layout, labels });
                }
            }
        }
        v
    }

    /// The case key `loss/shape/layout/labels/pass`.
    pub fn key(&self, loss: &Loss, pass: Pass) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            loss.name,
            self.shape.name,
            self.layout.name(),
            self.labels.name(),
            pass.name()
        )
    }

    /// The `--quick` subset (CI): soft Dice on every shape (contiguous, i64), on u8 labels and
    /// on the other two layouts for 3-D; every other loss on 3-D (softmax form) and binary
    /// (sigmoid form), contiguous i64 only, so each new loss adds two cases, not a matrix.
    pub fn in_quick(&self, loss: &Loss) -> bool {
        let base = self.layout == Layout::Contiguous && self.labels == LabelType::I64;
        let three_d = self.shape.name == "3d";
        if loss.name == "dice" {
            base || three_d && (self.labels == LabelType::I64 || self.layout == Layout::Contiguous)
        } else {
            base && (three_d || self.shape.name == "bin")
        }
    }

    /// Input elements.
    pub fn elements(&self) -> usize {
        self.shape.dims.iter().product()
    }

    /// Voxels (elements per channel).
    pub fn voxels(&self) -> usize {
        self.elements() / self.shape.dims[1]
    }

    /// Bytes that must move (see the module documentation).
    pub fn bytes(&self) -> Bytes {
        let input = self.elements() * 4 * self.layout.step();
        Bytes { read: input + self.voxels() * self.labels.bytes(), grad: self.elements() * 4 }
    }
}

/// Byte model of one configuration.
#[derive(Clone, Copy, Debug)]
pub struct Bytes {
    /// One read of the input and the labels.
    pub read: usize,
    /// The gradient written.
    pub grad: usize,
}

impl Bytes {
    /// Total bytes moved by a pass.
    pub fn moved(&self, pass: Pass) -> usize {
        match pass {
            Pass::Forward => self.read,
            Pass::ForwardBackward => 2 * self.read + self.grad,
        }
    }

    /// Seconds the pass needs at the given bandwidths (bytes/s): the floor.
    pub fn floor(&self, pass: Pass, read2: f64, read2_write1: f64) -> f64 {
        match pass {
            Pass::Forward => self.read as f64 / read2,
            Pass::ForwardBackward => {
                self.read as f64 / read2 + (self.read + self.grad) as f64 / read2_write1
            }
        }
    }
}

/// Row-major strides over `dims` visiting axes in `order` (outermost first), with `step`
/// elements between neighbours on the innermost axis; also the buffer length.
fn strides(dims: &[usize], order: &[usize], step: usize) -> (Vec<isize>, usize) {
    let mut st = vec![0isize; dims.len()];
    let mut s = step;
    for &ax in order.iter().rev() {
        st[ax] = s as isize;
        s *= dims[ax];
    }
    (st, s)
}

/// A cheap deterministic hash of an index (so data has no short period).
fn mix(i: usize) -> u64 {
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Input and label buffers of one configuration.
struct Inputs {
    dims: &'static [usize],
    input: Vec<f32>,
    input_strides: Vec<isize>,
    label_dims: Vec<usize>,
    labels_i64: Vec<i64>,
    labels_u8: Vec<u8>,
}

impl Inputs {
    fn views(&self) -> Result<(TensorView<'_, f32>, Target<'_, f32>)> {
        let input = TensorView::new("input", &self.input, 0, self.dims, &self.input_strides)?;
        let target = Target::Labels(if self.labels_u8.is_empty() {
            Labels::I64(TensorView::contiguous("target", &self.labels_i64, &self.label_dims)?)
        } else {
            Labels::U8(TensorView::contiguous("target", &self.labels_u8, &self.label_dims)?)
        });
        Ok((input, target))
    }
}

/// The buffers of one configuration.
pub struct Data {
    /// The configuration.
    pub config: Config,
    inputs: Inputs,
    grad: Vec<f32>,
    grad_strides: Vec<isize>,
}

impl Data {
    /// Logits uniform in [-4, 4), labels uniform in [0, C) (0/1 for one channel); the gradient
    /// buffer is written once here so page faults are not timed.
    pub fn new(config: Config) -> Data {
        let dims = config.shape.dims;
        let rank = dims.len();
        let (input_strides, len) = strides(dims, &config.layout.order(rank), config.layout.step());
        let grad_layout =
            if config.layout == Layout::Strided { Layout::Contiguous } else { config.layout };
        let (grad_strides, grad_len) = strides(dims, &grad_layout.order(rank), 1);
        let classes = dims[1].max(2) as u64;
        let mut input = vec![0f32; len];
        input
            .par_iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = (mix(i) >> 40) as f32 / (1u64 << 24) as f32 * 8.0 - 4.0);
        let label = |i: usize| mix(i ^ 0x5555_5555) % classes;
        let voxels = config.voxels();
        let (labels_i64, labels_u8) = match config.labels {
            LabelType::I64 => {
                ((0..voxels).into_par_iter().map(|i| label(i) as i64).collect(), Vec::new())
            }
            LabelType::U8 => {
                (Vec::new(), (0..voxels).into_par_iter().map(|i| label(i) as u8).collect())
            }
        };
        let mut label_dims = dims.to_vec();
        label_dims[1] = 1;
        let inputs = Inputs { dims, input, input_strides, label_dims, labels_i64, labels_u8 };
        Data { config, inputs, grad: vec![1f32; grad_len], grad_strides }
    }

    /// Bytes held in the buffers (input, labels, gradient).
    pub fn resident_bytes(&self) -> usize {
        let i = &self.inputs;
        4 * i.input.len() + 8 * i.labels_i64.len() + i.labels_u8.len() + 4 * self.grad.len()
    }

    /// Runs `loss` once for `pass`; returns the loss value.
    pub fn run(&mut self, ctx: &Context, loss: &Loss, pass: Pass) -> Result<f64> {
        let (input, target) = self.inputs.views()?;
        let act = self.config.shape.activation;
        match pass {
            Pass::Forward => (loss.run)(ctx, act, &input, &target, None),
            Pass::ForwardBackward => {
                let mut g = TensorViewMut::new(
                    "grad",
                    &mut self.grad,
                    0,
                    self.config.shape.dims,
                    &self.grad_strides,
                )?;
                (loss.run)(ctx, act, &input, &target, Some(&mut g))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dice_core::reference;

    #[test]
    fn strides_of_each_layout() {
        let d = [2, 3, 4, 5];
        assert_eq!(strides(&d, &Layout::Contiguous.order(4), 1), (vec![60, 20, 5, 1], 120));
        assert_eq!(strides(&d, &Layout::ChannelsLast.order(4), 1), (vec![60, 1, 15, 3], 120));
        assert_eq!(strides(&d, &Layout::Strided.order(4), 2), (vec![120, 40, 10, 2], 240));
    }

    #[test]
    fn byte_model() {
        let c = Config { shape: &SHAPES[1], layout: Layout::Strided, labels: LabelType::U8 };
        let n = 2 * 4 * 128 * 128 * 128;
        let b = c.bytes();
        assert_eq!(b.read, n * 8 + n / 4);
        assert_eq!(b.moved(Pass::ForwardBackward), 2 * (n * 8 + n / 4) + 4 * n);
        assert_eq!(b.floor(Pass::Forward, 2.0, 1.0), b.read as f64 / 2.0);
        assert_eq!(
            b.floor(Pass::ForwardBackward, 2.0, 1.0),
            b.read as f64 / 2.0 + (b.read + b.grad) as f64
        );
    }

    #[test]
    fn keys_are_unique_and_quick_is_a_strict_subset() {
        let mut keys = Vec::new();
        let mut quick = 0;
        for c in Config::all() {
            for l in LOSSES {
                for &p in PASSES {
                    keys.push(c.key(l, p));
                    quick += c.in_quick(l) as usize;
                }
            }
        }
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n);
        assert_eq!(
            n,
            LOSSES.len() * SHAPES.len() * LAYOUTS.len() * LABEL_TYPES.len() * PASSES.len()
        );
        assert!(quick > 0 && quick < n);
    }

    /// Every loss runs on every small configuration, forward and forward+backward agree on the
    /// loss, and the gradient is finite and not all zero.
    #[test]
    fn every_loss_runs_on_every_configuration() {
        static SMALL: [Shape; 2] = [
            Shape { name: "s4", dims: &[2, 3, 5, 7], activation: Activation::Softmax },
            Shape { name: "s1", dims: &[2, 1, 3, 4, 5], activation: Activation::Sigmoid },
        ];
        let ctx = Context::new(1).unwrap();
        for shape in &SMALL {
            for &layout in LAYOUTS {
                for &labels in LABEL_TYPES {
                    let mut d = Data::new(Config { shape, layout, labels });
                    for loss in LOSSES {
                        let key = d.config.key(loss, Pass::ForwardBackward);
                        let f = d
                            .run(&ctx, loss, Pass::Forward)
                            .unwrap_or_else(|e| panic!("{key}: {e}"));
                        d.grad.fill(0.0);
                        let fb = d
                            .run(&ctx, loss, Pass::ForwardBackward)
                            .unwrap_or_else(|e| panic!("{key}: {e}"));
                        assert!(
                            f.is_finite() && (f - fb).abs() <= 1e-6 * f.abs().max(1.0),
                            "{key}: {f} vs {fb}"
                        );
                        assert!(
                            d.grad.iter().all(|v| v.is_finite())
                                && d.grad.iter().any(|&v| v != 0.0),
                            "{key}: gradient"
                        );
                    }
                }
            }
        }
    }

    /// Every layout and label type gives the loss and gradient of the scalar f64 oracle on
    /// small shapes, so each benchmark times the computation it names.
    #[test]
    fn every_configuration_matches_the_oracle() {
        static SMALL: [Shape; 2] = [
            Shape { name: "s4", dims: &[2, 3, 5, 7], activation: Activation::Softmax },
            Shape { name: "s1", dims: &[2, 1, 3, 4, 5], activation: Activation::Sigmoid },
        ];
        let ctx = Context::new(1).unwrap();
        for shape in &SMALL {
            for &layout in LAYOUTS {
                for &labels in LABEL_TYPES {
                    let mut d = Data::new(Config { shape, layout, labels });
                    // The oracle covers the Dice family; other losses have their own tests in dice-core.
                    for (name, jaccard) in [("dice", false), ("jaccard", true)] {
                        let loss = LOSSES.iter().find(|l| l.name == name).unwrap();
                        let opts = DiceOptions {
                            activation: shape.activation,
                            jaccard,
                            ..Default::default()
                        };
                        let want = {
                            let (x, t) = d.inputs.views().unwrap();
                            reference::dice_reference(&x, &t, &opts)
                        };
                        for &pass in PASSES {
                            let key = d.config.key(loss, pass);
                            let got = d.run(&ctx, loss, pass).unwrap();
                            assert!(
                                (got - want.loss).abs() < 1e-5,
                                "{key}: {got} vs oracle {}",
                                want.loss
                            );
                        }
                        let g =
                            TensorViewMut::new("grad", &mut d.grad, 0, shape.dims, &d.grad_strides)
                                .unwrap();
                        let mut idx = vec![0usize; shape.dims.len()];
                        for (k, w) in want.grad.iter().enumerate() {
                            let mut r = k;
                            for ax in (0..idx.len()).rev() {
                                idx[ax] = r % shape.dims[ax];
                                r /= shape.dims[ax];
                            }
                            assert!(
                                (*g.get(&idx) as f64 - w).abs() < 1e-5,
                                "{}: grad at {idx:?}",
                                d.config.key(loss, Pass::ForwardBackward)
                            );
                        }
                    }
                }
            }
        }
    }
}
