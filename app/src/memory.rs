//! Keeping a long-running viewer's memory flat. With glibc's defaults a
//! process that repeatedly allocates and frees large buffers from many
//! threads (scans, label maps, network activations on worker threads)
//! keeps growing: the mmap threshold rises after the first large frees, so
//! later large buffers come from per-thread heaps that are not given back.
//! A kiosk looping over the sample grew ~900 MB per loop that way. Fixing
//! the threshold (large buffers are mmapped and returned when freed),
//! bounding the heaps, and trimming after a scan or extraction is replaced
//! keeps it flat. Elsewhere these are no-ops.

/// Buffers at least this large are mmapped (and returned when freed).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Heaps for the allocating threads (glibc's default is 8 per core).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 4;

/// Sets the allocator up for a long run (call once, early, in the viewer).
pub fn tune_for_long_runs() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called
    // before the viewer's threads allocate.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// Gives freed heap memory back to the system (after a scan or an
/// extraction was replaced).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}
