//! Execution contexts: an opaque handle owning a thread pool.

use std::sync::OnceLock;

use dice_core::Context;

use crate::status::{DiceStatus, FfiResult, fail, guard};

/// Opaque execution context (owns the worker threads).
///
/// Thread safety: a context may be used by any number of threads at once; calls through it
/// are independent and share only its worker pool. dice_context_destroy must not run
/// concurrently with, or before the end of, any call using that context.
pub struct DiceContext {
    inner: Context,
}

static DEFAULT: OnceLock<Result<Context, String>> = OnceLock::new();

/// The context for a call: the caller's, or the process-wide default (all cores), created
/// on first use and never destroyed.
///
/// # Safety
/// `ctx` must be NULL or a live context from dice_context_create.
pub(crate) unsafe fn resolve<'a>(ctx: *const DiceContext) -> FfiResult<&'a Context> {
    if ctx.is_null() {
        return match DEFAULT.get_or_init(|| Context::new(0).map_err(|e| e.to_string())) {
            Ok(c) => Ok(c),
            Err(e) => fail(DiceStatus::ThreadPool, format!("default context: {e}")),
        };
    }
    // SAFETY: non-NULL and live by the caller's contract.
    Ok(unsafe { &(*ctx).inner })
}

/// Creates a context with `num_threads` workers (0 = one per available core, 1 = run on the
/// calling thread). On success stores it in `*out`; on failure `*out` is set to NULL (when
/// `out` is not NULL). Free it with dice_context_destroy.
///
/// # Safety
/// `out` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_context_create(
    num_threads: u32,
    out: *mut *mut DiceContext,
) -> DiceStatus {
    guard(|| {
        if out.is_null() {
            return fail(DiceStatus::NullPointer, "out is NULL");
        }
        // SAFETY: non-NULL and writable by contract.
        unsafe { out.write(std::ptr::null_mut()) };
        let inner = Context::new(num_threads as usize)?;
        let ctx = Box::into_raw(Box::new(DiceContext { inner }));
        // SAFETY: as above.
        unsafe { out.write(ctx) };
        Ok(())
    })
}

/// Destroys a context (NULL is a no-op). Joins its worker threads.
///
/// # Safety
/// `ctx` must be NULL or from dice_context_create, not yet destroyed, and unused by any
/// running call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_context_destroy(ctx: *mut DiceContext) {
    let _ = guard(|| {
        if !ctx.is_null() {
            // SAFETY: allocated by Box::into_raw in dice_context_create and not yet freed.
            drop(unsafe { Box::from_raw(ctx) });
        }
        Ok(())
    });
}

/// Worker threads of a context (NULL = the default context), or 0 if it cannot be created.
///
/// # Safety
/// `ctx` must be NULL or a live context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dice_context_num_threads(ctx: *const DiceContext) -> u32 {
    let mut n = 0;
    let _ = guard(|| {
        // SAFETY: forwarded contract.
        n = unsafe { resolve(ctx) }?.threads() as u32;
        Ok(())
    });
    n
}
