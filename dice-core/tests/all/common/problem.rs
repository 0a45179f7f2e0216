//! Random (N, C, spatial) loss problems shared by the property tests.

use super::Rng;
use dice_core::*;

/// A loss problem: logits or probabilities `x`, a dense target and, optionally, the label map
/// it was made from (then the one the engine reads), and the options.
#[derive(Clone, Debug)]
pub struct Case {
    pub shape: Vec<usize>,
    pub x: Vec<f64>,
    pub dense: Vec<f64>,
    pub labels: Option<Vec<i64>>,
    pub opts: DiceOptions,
}

impl Case {
    /// The label map's shape, (N, 1, spatial...).
    pub fn label_shape(&self) -> Vec<usize> {
        let mut s = self.shape.clone();
        s[1] = 1;
        s
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The target as the engine takes it: the label map when there is one, else `dense` (the
    /// case's dense target in the caller's precision).
    pub fn target<'a, T: Float>(&'a self, dense: &'a [T]) -> Target<'a, T> {
        match &self.labels {
            Some(l) => Target::Labels(Labels::I64(
                TensorView::contiguous("target", l, &self.label_shape()).unwrap(),
            )),
            None => Target::Dense(TensorView::contiguous("target", dense, &self.shape).unwrap()),
        }
    }
}

/// The label value that marks ignored voxels in [`problem`].
pub const IGNORED: i64 = 99;

/// Shape, x (uniform in `x_range`), dense target and label map of a random problem. Labels are
/// uniform over the classes (2 for one channel); with `ignore`, each voxel is [`IGNORED`] with
/// probability 1/5. The dense target is the labels' one-hot (all zero on ignored voxels), or
/// uniform in [0, 1) with `soft`.
pub fn problem(
    r: &mut Rng,
    n: usize,
    c: usize,
    spatial: &[usize],
    x_range: (f64, f64),
    soft: bool,
    ignore: bool,
) -> (Vec<usize>, Vec<f64>, Vec<f64>, Vec<i64>) {
    let shape: Vec<usize> = [vec![n, c], spatial.to_vec()].concat();
    let numel: usize = shape.iter().product();
    let plane = numel / (n * c);
    let x: Vec<f64> = (0..numel).map(|_| r.uniform(x_range.0, x_range.1)).collect();
    let classes = if c == 1 { 2 } else { c };
    let lab: Vec<i64> = (0..n * plane)
        .map(|_| if ignore && r.below(5) == 0 { IGNORED } else { r.below(classes) as i64 })
        .collect();
    let mut dense = vec![0.0; numel];
    for b in 0..n {
        for k in 0..plane {
            for ch in 0..c {
                let l = lab[b * plane + k];
                let hard =
                    if c == 1 { (l == 1) as u8 as f64 } else { (l == ch as i64) as u8 as f64 };
                dense[(b * c + ch) * plane + k] = if l == IGNORED {
                    0.0
                } else if soft {
                    r.uniform(0.0, 1.0)
                } else {
                    hard
                };
            }
        }
    }
    (shape, x, dense, lab)
}
