//! Peak resident memory from /proc/self/status (Linux). The peak (VmHWM) is reset per case by
//! writing 5 to /proc/self/clear_refs (Linux >= 4.0), so each case reports its own peak; where
//! the reset is refused the peak is the process-wide one and the report says so.

use std::fs;

fn status_kib(field: &str) -> Option<u64> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// Makes glibc hand every freed block of 64 KiB or more back to the kernel. By default its mmap
/// threshold grows (up to 32 MiB) after the first large free, after which freed buffers stay
/// resident and a later case's RSS-before already contains its own scratch, hiding its peak.
/// No effect outside glibc.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; glibc serialises it with the arenas.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 10);
    }
}

/// Resident set size now, in KiB.
pub fn rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

/// Peak resident set size since the last reset (or process start), in KiB.
pub fn peak_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// Resets the peak to the current RSS; false where the kernel refuses.
pub fn reset_peak() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_sees_a_touched_allocation_and_reset_forgets_it() {
        let (Some(_), true) = (rss_kib(), reset_peak()) else {
            eprintln!(
                "/proc/self/status or clear_refs unavailable: peak-RSS test not run on this kernel"
            );
            return;
        };
        let before = peak_kib().unwrap();
        let buf = vec![1u8; 64 << 20];
        std::hint::black_box(&buf);
        let during = peak_kib().unwrap();
        assert!(
            during >= before + 60 * 1024,
            "peak {during} KiB did not grow from {before} KiB by 64 MiB"
        );
        drop(buf);
        assert!(reset_peak());
        assert!(peak_kib().unwrap() < during - 60 * 1024, "reset did not lower the peak");
    }
}
