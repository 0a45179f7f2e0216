//! Runtime choice of the SIMD backend.
//!
//! The best level the CPU supports is detected once. `DICE_ARCH` (scalar, v3/avx2,
//! v4/avx512, neon) can lower it, never raise it, so tests and users can force a backend.
//! Tests also iterate [`Backend::available`] directly, running every kernel on every
//! backend the machine has.

use pulp::{Simd, WithSimd};
use std::sync::OnceLock;

/// A SIMD instruction-set level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Backend {
    /// Portable scalar code (one lane), the baseline on every CPU.
    Scalar,
    /// x86-64-v3: AVX2 + FMA, 8 f32 lanes.
    #[cfg(target_arch = "x86_64")]
    V3,
    /// x86-64-v4: AVX-512, 16 f32 lanes.
    #[cfg(target_arch = "x86_64")]
    V4,
    /// AArch64 NEON, 4 f32 lanes.
    #[cfg(target_arch = "aarch64")]
    Neon,
}

impl Backend {
    /// Lower-case name, as accepted by `DICE_ARCH`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            #[cfg(target_arch = "x86_64")]
            Backend::V3 => "v3",
            #[cfg(target_arch = "x86_64")]
            Backend::V4 => "v4",
            #[cfg(target_arch = "aarch64")]
            Backend::Neon => "neon",
        }
    }

    fn parse(s: &str) -> Option<Backend> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scalar" | "none" => Some(Backend::Scalar),
            #[cfg(target_arch = "x86_64")]
            "v3" | "avx2" => Some(Backend::V3),
            #[cfg(target_arch = "x86_64")]
            "v4" | "avx512" => Some(Backend::V4),
            #[cfg(target_arch = "aarch64")]
            "neon" => Some(Backend::Neon),
            _ => None,
        }
    }

    /// Every backend this CPU can run, lowest first.
    pub fn available() -> Vec<Backend> {
        let mut v = vec![Backend::Scalar];
        // Miri interprets the portable scalar code; the SIMD levels' intrinsics are the
        // compiler's and out of its scope (and far too slow to interpret).
        if cfg!(miri) {
            return v;
        }
        #[cfg(target_arch = "x86_64")]
        {
            if pulp::x86::V3::try_new().is_some() {
                v.push(Backend::V3);
            }
            if pulp::x86::V4::try_new().is_some() {
                v.push(Backend::V4);
            }
        }
        #[cfg(target_arch = "aarch64")]
        if pulp::aarch64::Neon::try_new().is_some() {
            v.push(Backend::Neon);
        }
        v
    }

    /// The detected level, lowered by `DICE_ARCH` when set (read once per process).
    /// An unknown `DICE_ARCH` value is ignored with a message on stderr.
    pub fn active() -> Backend {
        static ACTIVE: OnceLock<Backend> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let best = *Backend::available().last().expect("scalar is always available");
            match std::env::var("DICE_ARCH") {
                Ok(s) => match Backend::parse(&s) {
                    Some(want) => want.min(best),
                    None => {
                        eprintln!("dice: ignoring unknown DICE_ARCH={s:?}; using {}", best.name());
                        best
                    }
                },
                Err(_) => best,
            }
        })
    }

    /// Runs `op` with this backend's SIMD token. Falls back to scalar when the CPU lacks the
    /// level (only reachable by asking for a backend that `available` did not list). One
    /// scalar call site, so the scalar instantiation is inlined once.
    #[inline]
    pub fn dispatch<Op: WithSimd>(self, op: Op) -> Op::Output {
        match self {
            Backend::Scalar => {}
            #[cfg(target_arch = "x86_64")]
            Backend::V3 => {
                if let Some(s) = pulp::x86::V3::try_new() {
                    return Simd::vectorize(s, op);
                }
            }
            #[cfg(target_arch = "x86_64")]
            Backend::V4 => {
                if let Some(s) = pulp::x86::V4::try_new() {
                    return Simd::vectorize(s, op);
                }
            }
            #[cfg(target_arch = "aarch64")]
            Backend::Neon => {
                if let Some(s) = pulp::aarch64::Neon::try_new() {
                    return Simd::vectorize(s, op);
                }
            }
        }
        op.with_simd(pulp::Scalar::new())
    }
}
