//! The hashing threads yield the core to request handling.

/// Lowers the calling thread's priority (nice 10): on a small machine,
/// hashing must not push request latency up.
pub fn lower() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with PRIO_PROCESS and id 0 changes only the
    // calling thread's nice value on Linux; no memory is involved.
    unsafe {
        let _ = libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}
