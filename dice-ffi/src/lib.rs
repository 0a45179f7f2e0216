//! C ABI for dice-core: the Dice family of losses (Dice, Jaccard, Tversky, Generalised Dice,
//! focal and log forms, Dice+CE/BCE/focal hybrids) and their gradients over DLPack-style
//! tensors. The header include/dice.h is generated from this crate by cbindgen
//! (`DICE_BLESS=1 cargo test -p dice-ffi --test header`) and checked in.
//!
//! Conventions, for every exported `dice_*` function:
//! - fallible calls return a DiceStatus (0 = DICE_STATUS_OK) and set a thread-local message
//!   (dice_last_error), cleared on success;
//! - no panic crosses the boundary: a caught panic becomes DICE_STATUS_PANIC;
//! - outputs are written only on success;
//! - pointers are borrowed for the duration of the call only.

use std::ffi::c_char;

mod api;
mod context;
mod metrics;
mod options;
mod schedule;
mod status;
mod tensor;

pub use api::{
    dice_backward_from_stats, dice_finalize, dice_loss, dice_loss_grad, dice_loss_shape,
    dice_pointwise_map, dice_stats,
};
pub use context::{
    DiceContext, dice_context_create, dice_context_destroy, dice_context_num_threads,
};
pub use metrics::*;
pub use options::{
    DICE_LOSS_OPTIONS_MAX_SIZE, DICE_LOSS_OPTIONS_SIZE, DICE_LOSS_OPTIONS_SIZE_V1, DiceActivation,
    DiceFocalAlpha, DiceGdlWeight, DiceLossForm, DiceLossOptions, DiceOverlap, DicePointwise,
    DiceReduction, DiceWeightMode, dice_loss_options_init,
};
pub use schedule::{DiceRamp, dice_ramp};
pub use status::{DiceStatus, dice_last_error, dice_last_error_copy, dice_status_string};
pub use tensor::{
    DICE_DEVICE_CPU, DICE_DTYPE_BOOL, DICE_DTYPE_FLOAT, DICE_DTYPE_INT, DICE_DTYPE_UINT,
    DiceDataType, DiceDevice, DiceTensor,
};

/// Major version of the library (semver).
pub const DICE_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const DICE_VERSION_MINOR: u32 = 3;
/// Patch version of the library.
pub const DICE_VERSION_PATCH: u32 = 0;
/// ABI version: bumped on any incompatible change of a signature, struct layout or status
/// number. A caller compiled against DICE_ABI_VERSION should check dice_abi_version() equals it.
pub const DICE_ABI_VERSION: u32 = 1;

/// Most classes a call accepts (`num_classes`, or a dense tensor's channel extent); more gives
/// DICE_STATUS_TOO_LARGE.
pub const DICE_MAX_CLASSES: u32 = 65536;
/// Most worker threads dice_context_create accepts; more gives DICE_STATUS_THREAD_POOL.
pub const DICE_MAX_THREADS: u32 = 1024;
const _: () = assert!(
    DICE_MAX_CLASSES as usize == dice_core::limits::MAX_CLASSES
        && DICE_MAX_THREADS as usize == dice_core::limits::MAX_THREADS
);

/// The library version as a NUL-terminated string, e.g. "0.2.0".
#[unsafe(no_mangle)]
pub extern "C" fn dice_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version of the loaded library (compare with DICE_ABI_VERSION).
#[unsafe(no_mangle)]
pub extern "C" fn dice_abi_version() -> u32 {
    DICE_ABI_VERSION
}

// Layout of the descriptors: DLPack's on 64-bit targets (mirrored by the C static asserts).
#[cfg(target_pointer_width = "64")]
const _: () = {
    use std::mem::{align_of, offset_of, size_of};
    assert!(size_of::<DiceDevice>() == 8 && align_of::<DiceDevice>() == 4);
    assert!(size_of::<DiceDataType>() == 4 && align_of::<DiceDataType>() == 2);
    assert!(offset_of!(DiceDataType, bits) == 1 && offset_of!(DiceDataType, lanes) == 2);
    assert!(size_of::<DiceTensor>() == 48 && align_of::<DiceTensor>() == 8);
    assert!(offset_of!(DiceTensor, data) == 0);
    assert!(offset_of!(DiceTensor, device) == 8);
    assert!(offset_of!(DiceTensor, ndim) == 16);
    assert!(offset_of!(DiceTensor, dtype) == 20);
    assert!(offset_of!(DiceTensor, shape) == 24);
    assert!(offset_of!(DiceTensor, strides) == 32);
    assert!(offset_of!(DiceTensor, byte_offset) == 40);
    assert!(size_of::<DiceStatus>() == 4);
};

#[cfg(test)]
mod tests {
    #[test]
    fn version_macros_match_cargo() {
        assert_eq!(super::DICE_VERSION_MAJOR.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(super::DICE_VERSION_MINOR.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
        assert_eq!(super::DICE_VERSION_PATCH.to_string(), env!("CARGO_PKG_VERSION_PATCH"));
    }
}
