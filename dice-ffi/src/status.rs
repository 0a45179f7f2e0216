//! Status codes, the thread-local error message and the panic firewall.

use std::cell::{Cell, RefCell};
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use dice_core::DiceError;

/// Result of every fallible entry point. 0 is success. Values are part of the ABI: they are
/// never renumbered or reused; new codes are appended.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiceStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument is NULL.
    NullPointer = 1,
    /// Unsupported dtype (code, bits or lanes), or input/target/grad dtypes that do not fit.
    BadDtype = 2,
    /// The tensor is not on the CPU (device_type != 1, kDLCPU).
    BadDevice = 3,
    /// A tensor's ndim is outside what the call accepts.
    BadNdim = 4,
    /// Tensors whose shapes must agree do not.
    ShapeMismatch = 5,
    /// A negative extent, or a batch/channel extent of 0.
    BadShape = 6,
    /// Offsets (extent * stride, their sums, byte_offset or the address range) overflow 64 bits.
    StrideOverflow = 7,
    /// An addressed element lies outside its buffer.
    OutOfBounds = 8,
    /// The gradient's strides address some element more than once.
    OverlappingOutput = 9,
    /// The gradient's memory overlaps the input's or the target's.
    AliasedOutput = 10,
    /// A label is outside [0, C) (or not 0/1 for a single channel) and is not ignore_index.
    LabelOutOfRange = 11,
    /// An option is out of its domain (unknown activation or reduction, a flag not 0/1,
    /// a negative or non-finite smoothing term, non-zero reserved bytes).
    BadOption = 12,
    /// A class weight or loss-mask value is negative or not finite, or the class weights'
    /// count fits no kept-class count.
    BadWeight = 13,
    /// `struct_size` is too small, ends inside a field, is implausibly large, or the bytes
    /// beyond the fields this library knows are not zero.
    StructSize = 14,
    /// An output or upstream length does not match the call (values, stats, upstream).
    BadLength = 15,
    /// Statistics of one shape were given where another was expected.
    StatsMismatch = 16,
    /// A data pointer is not aligned to its element type.
    Misaligned = 17,
    /// The thread pool could not be created.
    ThreadPool = 18,
    /// A Rust panic was caught at the boundary (a bug in the library: please report it).
    Panic = 19,
    /// A value that must be a number is NaN (probabilities, spacing, tolerances).
    NotANumber = 20,
    /// A mask the chosen metric convention requires to be non-empty is empty (medpy).
    EmptyMask = 21,
    /// Working memory sized from the arguments could not be allocated: the size overflows or
    /// the allocator refused it. Nothing was written.
    OutOfMemory = 22,
    /// A class count is above DICE_MAX_CLASSES.
    TooLarge = 23,
}

impl DiceStatus {
    /// Static description of a status, NUL-terminated.
    fn describe(code: i32) -> &'static str {
        match code {
            0 => "ok\0",
            1 => "a required pointer argument is NULL\0",
            2 => "unsupported or mismatched dtype\0",
            3 => "unsupported device (only kDLCPU is supported)\0",
            4 => "ndim outside the accepted range\0",
            5 => "shape mismatch\0",
            6 => "invalid shape\0",
            7 => "offset arithmetic overflows 64 bits\0",
            8 => "addressed element out of bounds\0",
            9 => "output strides address an element more than once\0",
            10 => "output memory overlaps an input\0",
            11 => "label out of range\0",
            12 => "invalid option\0",
            13 => "invalid class weight\0",
            14 => "invalid struct_size\0",
            15 => "buffer length mismatch\0",
            16 => "statistics shape mismatch\0",
            17 => "misaligned data pointer\0",
            18 => "thread pool creation failed\0",
            19 => "internal panic caught at the C boundary\0",
            20 => "a value is NaN\0",
            21 => "empty mask where the metric convention requires one\0",
            22 => "out of memory: working memory sized from the arguments cannot be allocated\0",
            23 => "a count is above a documented limit of the library\0",
            _ => "unknown status code\0",
        }
    }
}

/// A failure: status plus a message naming the offending argument and value.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: DiceStatus,
    pub message: String,
}

pub(crate) type FfiResult<T> = Result<T, Failure>;

/// Shorthand for building a failure.
pub(crate) fn fail<T>(status: DiceStatus, message: impl Into<String>) -> FfiResult<T> {
    Err(Failure { status, message: message.into() })
}

impl From<DiceError> for Failure {
    fn from(e: DiceError) -> Self {
        use DiceError as E;
        let status = match &e {
            E::Rank { .. } | E::StridesLength { .. } => DiceStatus::BadNdim,
            E::ShapeMismatch { .. } => DiceStatus::ShapeMismatch,
            E::EmptyDim { .. } => DiceStatus::BadShape,
            E::StrideOverflow { .. } => DiceStatus::StrideOverflow,
            E::OutOfBounds { .. } => DiceStatus::OutOfBounds,
            E::OverlappingOutput { .. } => DiceStatus::OverlappingOutput,
            E::AliasedOutput { .. } => DiceStatus::AliasedOutput,
            E::LabelOutOfRange { .. } => DiceStatus::LabelOutOfRange,
            E::BadWeight { .. } | E::WeightCount { .. } | E::BadLossMask { .. } => {
                DiceStatus::BadWeight
            }
            E::BadOption { .. } => DiceStatus::BadOption,
            E::StatsMismatch { .. } => DiceStatus::StatsMismatch,
            E::UpstreamLength { .. } => DiceStatus::BadLength,
            E::ThreadPool(_) => DiceStatus::ThreadPool,
            E::NotANumber { .. } => DiceStatus::NotANumber,
            E::EmptyMask { .. } => DiceStatus::EmptyMask,
            E::OutOfMemory { .. } => DiceStatus::OutOfMemory,
            E::TooLarge { .. } => DiceStatus::TooLarge,
        };
        Failure { status, message: e.to_string() }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(msg: &str) {
    // Interior NULs cannot occur in our messages, but never fail here: replace them.
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

thread_local! {
    /// True while this thread runs an entry point body under [`guard`].
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Installs, once per process, a panic hook that stays silent for panics inside [`guard`]
/// or on the library's own pool threads (named `dice-N`, they run only inside a guarded call;
/// the message reaches the caller through the status and dice_last_error), and hands every
/// other panic to the hook that was installed before.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let pool_thread = std::thread::current().name().is_some_and(|n| n.starts_with("dice-"));
            if !GUARDED.with(Cell::get) && !pool_thread {
                previous(info);
            }
        }));
    });
}

/// Runs an entry point body: catches panics, records the message, returns the status.
/// The message is cleared on success. Panics print nothing: the status carries them.
pub(crate) fn guard(body: impl FnOnce() -> FfiResult<()>) -> DiceStatus {
    install_quiet_hook();
    // Nested guards (an entry point calling another) restore the outer state.
    let outer = GUARDED.with(|g| g.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(body));
    GUARDED.with(|g| g.set(outer));
    let (status, msg) = match outcome {
        Ok(Ok(())) => (DiceStatus::Ok, String::new()),
        Ok(Err(f)) => (f.status, f.message),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_string());
            (DiceStatus::Panic, format!("internal panic: {what}"))
        }
    };
    // Setting the message cannot panic in practice; guard it anyway so nothing unwinds out.
    let _ = catch_unwind(|| set_last_error(&msg));
    status
}

/// A static, NUL-terminated description of a status code (any value is accepted; unknown
/// codes give "unknown status code"). Never NULL; valid for the life of the process.
#[unsafe(no_mangle)]
pub extern "C" fn dice_status_string(code: i32) -> *const c_char {
    DiceStatus::describe(code).as_ptr().cast()
}

/// The detailed message of the last failing call on the calling thread ("" after a
/// successful call). Never NULL. Valid until the next dice_ call on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn dice_last_error() -> *const c_char {
    catch_unwind(|| LAST_ERROR.with(|e| e.borrow().as_ptr())).unwrap_or(c"".as_ptr())
}

/// Copies the last error message of the calling thread into `buf` (capacity `len` bytes,
/// always NUL-terminated when len > 0, truncated if needed). `buf` may be NULL when len == 0.
/// Returns the full message length in bytes, without the NUL (as snprintf does).
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_last_error_copy(buf: *mut c_char, len: usize) -> usize {
    let copy = || {
        LAST_ERROR.with(|e| {
            let e = e.borrow();
            let bytes = e.as_bytes();
            if !buf.is_null() && len > 0 {
                let n = bytes.len().min(len - 1);
                // SAFETY: the caller guarantees `buf` is writable for `len` bytes and
                // n + 1 <= len; the source is our own CString, disjoint from `buf`.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                    *buf.add(n) = 0;
                }
            }
            bytes.len()
        })
    };
    catch_unwind(copy).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: dice_last_error never returns NULL and the string lives until the next call.
        unsafe { CStr::from_ptr(dice_last_error()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn panics_become_a_status_and_a_message() {
        let st = guard(|| panic!("boom {}", 7));
        assert_eq!(st, DiceStatus::Panic);
        assert_eq!(last(), "internal panic: boom 7");
        assert_eq!(guard(|| Ok(())), DiceStatus::Ok);
        assert_eq!(last(), "");
    }

    /// In a child process (the panic hook is process-wide): a panic inside a guard prints
    /// nothing, one outside still reaches the default hook.
    #[test]
    fn guarded_panics_print_nothing() {
        if std::env::var_os("DICE_PANIC_CHILD").is_some() {
            assert_eq!(guard(|| panic!("inside-guard")), DiceStatus::Panic);
            let _ = std::panic::catch_unwind(|| panic!("outside-guard"));
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "status::tests::guarded_panics_print_nothing",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DICE_PANIC_CHILD", "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("outside-guard"), "the control panic was not printed: {err}");
        assert!(!err.contains("inside-guard"), "a guarded panic was printed: {err}");
    }

    #[test]
    fn every_code_has_a_distinct_string() {
        let all: Vec<String> = (0..=23)
            .map(|c| {
                // SAFETY: dice_status_string returns a static NUL-terminated string.
                unsafe { CStr::from_ptr(dice_status_string(c)) }.to_string_lossy().into_owned()
            })
            .collect();
        assert!(all.iter().all(|s| s != "unknown status code"));
        let mut dedup = all.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), all.len());
        assert_eq!(DiceStatus::Panic as i32, 19);
    }
}
