//! C ABI for dice-core (grows in the C ABI issue): the version entry point.

use std::ffi::c_char;

/// The library version as a NUL-terminated string, e.g. "0.1.0".
#[unsafe(no_mangle)]
pub extern "C" fn dice_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
