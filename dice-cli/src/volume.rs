//! Label volumes read from NIfTI-1 (.nii, .nii.gz; the `nifti` crate) and NumPy (.npy, .npz;
//! the `npyz` crate), as u16 labels in C order (last axis fastest) with their spacing.
//!
//! NIfTI stores x fastest, so a volume with dims (X, Y, Z) is held as C-order (Z, Y, X) with
//! spacing (dz, dy, dx); the metrics do not depend on the axis order as long as the spacing
//! follows it.

use nifti::{NiftiObject, NiftiType, ReaderOptions};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// File kinds the reader accepts, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Nifti,
    Npy,
    Npz,
}

/// Extensions of the readable files, longest first (".nii.gz" before ".gz").
pub const EXTENSIONS: [(&str, Format); 4] = [
    (".nii.gz", Format::Nifti),
    (".nii", Format::Nifti),
    (".npy", Format::Npy),
    (".npz", Format::Npz),
];

/// The format of a file name, if readable.
pub fn format_of(name: &str) -> Option<Format> {
    EXTENSIONS.iter().find(|(e, _)| name.ends_with(e)).map(|&(_, f)| f)
}

/// A label volume.
#[derive(Debug)]
pub struct Volume {
    /// Extents, C order.
    pub shape: Vec<usize>,
    /// Spacing per axis of `shape` (C order); None when the file has none (NumPy).
    pub spacing: Option<Vec<f64>>,
    /// Labels, C order.
    pub labels: Vec<u16>,
    /// True for NIfTI files (axes reversed with respect to the file's i, j, k).
    pub reversed_axes: bool,
}

/// A value of a label volume's storage type.
trait LabelValue: Copy {
    /// The value as a label, or the reason it is not one.
    fn to_label(self, max: u16) -> Result<u16, Bad>;
}

/// Why a stored value is not a valid label.
#[derive(Clone, Copy, Debug)]
enum Bad {
    NotInteger(f64),
    OutOfRange(f64),
}

macro_rules! int_label {
    ($($t:ty),*) => {$(
        impl LabelValue for $t {
            #[allow(unused_comparisons)]
            fn to_label(self, max: u16) -> Result<u16, Bad> {
                if self < 0 as $t || (self as u128) > max as u128 {
                    Err(Bad::OutOfRange(self as f64))
                } else {
                    Ok(self as u16)
                }
            }
        }
    )*};
}
int_label!(u8, i8, u16, i16, u32, i32, u64, i64);

impl LabelValue for f64 {
    fn to_label(self, max: u16) -> Result<u16, Bad> {
        if !self.is_finite() || self.fract() != 0.0 {
            Err(Bad::NotInteger(self))
        } else if self < 0.0 || self > max as f64 {
            Err(Bad::OutOfRange(self))
        } else {
            Ok(self as u16)
        }
    }
}

impl LabelValue for f32 {
    fn to_label(self, max: u16) -> Result<u16, Bad> {
        (self as f64).to_label(max)
    }
}

impl LabelValue for bool {
    fn to_label(self, _max: u16) -> Result<u16, Bad> {
        Ok(self as u16)
    }
}

/// Converts stored values to labels; the first bad value, where, and how many there are make
/// the error.
fn to_labels<T: LabelValue>(
    values: &[T],
    max: u16,
    map: impl Fn(T) -> T,
) -> Result<Vec<u16>, String> {
    let mut out = Vec::new();
    out.try_reserve_exact(values.len())
        .map_err(|_| format!("cannot allocate {} labels", values.len()))?;
    let mut first: Option<(usize, Bad)> = None;
    let mut bad = 0usize;
    for (i, &v) in values.iter().enumerate() {
        match map(v).to_label(max) {
            Ok(l) => out.push(l),
            Err(b) => {
                bad += 1;
                first.get_or_insert((i, b));
                out.push(0);
            }
        }
    }
    match first {
        None => Ok(out),
        Some((i, Bad::NotInteger(v))) => Err(format!(
            "not a label volume: value {v} at element {i} is not a whole number ({bad} such elements)"
        )),
        Some((i, Bad::OutOfRange(v))) => Err(format!(
            "label {v} at element {i} is outside [0, {max}] ({bad} elements out of range)"
        )),
    }
}

/// Reads a label volume; errors name the file's problem (the caller adds the path).
pub fn read_labels(path: &Path, max_label: u16) -> Result<Volume, String> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    match format_of(name) {
        Some(Format::Nifti) => read_nifti(path, max_label),
        Some(Format::Npy) => {
            let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
            read_npy(
                npyz::NpyFile::new(BufReader::new(file))
                    .map_err(|e| format!("not a valid .npy file: {e}"))?,
                max_label,
            )
        }
        Some(Format::Npz) => read_npz(path, max_label),
        None => Err("unknown file type (expected .nii, .nii.gz, .npy or .npz)".into()),
    }
}

fn nifti_error(e: nifti::NiftiError) -> String {
    match e {
        nifti::NiftiError::InvalidFormat => {
            "not a NIfTI-1 file (bad magic code); NIfTI-2 files are not supported by the reader: \
             save the volume as NIfTI-1"
                .into()
        }
        nifti::NiftiError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "truncated file: the data ends before the volume the header describes".into()
        }
        other => format!("cannot read NIfTI: {other}"),
    }
}

fn read_nifti(path: &Path, max_label: u16) -> Result<Volume, String> {
    let obj = ReaderOptions::new().read_file(path).map_err(nifti_error)?;
    let h = obj.header().clone();
    let ndim = h.dim[0] as usize;
    if !(1..=7).contains(&ndim) {
        return Err(format!("invalid header: dim[0] = {ndim}"));
    }
    let mut dims: Vec<usize> = h.dim[1..=ndim].iter().map(|&d| d as usize).collect();
    let mut pix: Vec<f64> = h.pixdim[1..=ndim].iter().map(|&p| (p as f64).abs()).collect();
    // Trailing axes of extent 1 beyond the third (a 3-D volume saved as (X, Y, Z, 1)).
    while dims.len() > 3 && dims[dims.len() - 1] == 1 {
        dims.pop();
        pix.pop();
    }
    if dims.len() > 4 {
        return Err(format!("{} axes: at most 4 spatial axes are supported", dims.len()));
    }
    let datatype =
        h.data_type().map_err(|e| format!("unsupported datatype {}: {e}", h.datatype))?;
    let (slope, inter) = (h.scl_slope as f64, h.scl_inter as f64);
    let scaled = slope != 0.0 && slope.is_finite() && !(slope == 1.0 && inter == 0.0);
    let vol = obj.into_volume();
    let typed = |e: nifti::NiftiError| format!("cannot decode the data: {e}");
    macro_rules! labels {
        ($t:ty) => {{
            let v: Vec<$t> = vol.into_nifti_typed_data::<$t>().map_err(typed)?;
            if scaled {
                let f: Vec<f64> = v.iter().map(|&x| x as f64 * slope + inter).collect();
                to_labels(&f, max_label, |x| x)?
            } else {
                to_labels(&v, max_label, |x| x)?
            }
        }};
    }
    let labels = match datatype {
        NiftiType::Uint8 => labels!(u8),
        NiftiType::Int8 => labels!(i8),
        NiftiType::Uint16 => labels!(u16),
        NiftiType::Int16 => labels!(i16),
        NiftiType::Uint32 => labels!(u32),
        NiftiType::Int32 => labels!(i32),
        NiftiType::Uint64 => labels!(u64),
        NiftiType::Int64 => labels!(i64),
        NiftiType::Float32 => labels!(f32),
        NiftiType::Float64 => labels!(f64),
        other => return Err(format!("datatype {other:?} cannot hold labels")),
    };
    let expected: usize = dims.iter().product();
    if labels.len() != expected {
        return Err(format!(
            "the data holds {} values, the header's dims {dims:?} {expected}",
            labels.len()
        ));
    }
    dims.reverse();
    pix.reverse();
    Ok(Volume { shape: dims, spacing: Some(pix), labels, reversed_axes: true })
}

fn read_npy<R: Read>(file: npyz::NpyFile<R>, max_label: u16) -> Result<Volume, String> {
    let mut shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
    let fortran = file.order() == npyz::Order::Fortran;
    let npyz::DType::Plain(ty) = file.dtype() else {
        return Err("structured arrays cannot hold labels".into());
    };
    let size = ty.size_field();
    let bad_data = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "truncated file: the data ends before the array the header describes".to_string()
        } else {
            format!("cannot read the array data: {e}")
        }
    };
    macro_rules! labels {
        ($t:ty) => {{
            let v: Vec<$t> = file.into_vec::<$t>().map_err(bad_data)?;
            to_labels(&v, max_label, |x| x)?
        }};
    }
    use npyz::TypeChar::*;
    let mut labels = match (ty.type_char(), size) {
        (Bool, 1) => labels!(bool),
        (Uint, 1) => labels!(u8),
        (Int, 1) => labels!(i8),
        (Uint, 2) => labels!(u16),
        (Int, 2) => labels!(i16),
        (Uint, 4) => labels!(u32),
        (Int, 4) => labels!(i32),
        (Uint, 8) => labels!(u64),
        (Int, 8) => labels!(i64),
        (Float, 4) => labels!(f32),
        (Float, 8) => labels!(f64),
        _ => return Err(format!("dtype {ty} cannot hold labels")),
    };
    if shape.is_empty() || shape.len() > 4 {
        return Err(format!("{} axes: a label volume has 1 to 4", shape.len()));
    }
    if fortran {
        // Column-major data: reorder to C order over the same logical axes.
        labels = fortran_to_c(&labels, &shape);
    }
    let _ = &mut shape;
    Ok(Volume { shape, spacing: None, labels, reversed_axes: false })
}

/// Reorders column-major values of `shape` into row-major order.
fn fortran_to_c(values: &[u16], shape: &[usize]) -> Vec<u16> {
    let n = values.len();
    let rank = shape.len();
    let mut f_strides = vec![1usize; rank];
    for a in 1..rank {
        f_strides[a] = f_strides[a - 1] * shape[a - 1];
    }
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; rank];
    for _ in 0..n {
        out.push(values[idx.iter().zip(&f_strides).map(|(i, s)| i * s).sum::<usize>()]);
        for a in (0..rank).rev() {
            idx[a] += 1;
            if idx[a] < shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

fn read_npz(path: &Path, max_label: u16) -> Result<Volume, String> {
    let mut archive =
        npyz::npz::NpzArchive::open(path).map_err(|e| format!("not a valid .npz archive: {e}"))?;
    let names: Vec<String> = archive.array_names().map(str::to_owned).collect();
    if names.len() != 1 {
        return Err(format!(
            "a .npz label file must hold exactly one array, this one holds {}",
            names.len()
        ));
    }
    let file = archive
        .by_name(&names[0])
        .map_err(|e| format!("cannot read array {}: {e}", names[0]))?
        .ok_or_else(|| format!("array {} is missing", names[0]))?;
    read_npy(file, max_label)
}
