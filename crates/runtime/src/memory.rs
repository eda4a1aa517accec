//! How a worker process tunes glibc's malloc: measured per worker, because what suits one hurts another.
//!
//! glibc serves blocks above its mmap threshold (128 KB at start) with their own mappings, returned to the
//! system when freed, but raises that threshold each time such a block is freed; after that, page-sized
//! buffers come from per-thread heaps (up to 8 per core), which keep their peak. Figures from
//! `cargo bench --bench pipeline` (README, Performance), CPU per page and peak RSS:
//!
//! | | glibc's defaults | threshold fixed at 128 KB | default threshold, one heap per core (2) |
//! |---|---|---|---|
//! | fetcher (fetch-only, 3,000 pages) | - | 1.23 ms, 52.8 MB | 1.05 ms, 79.6 MB |
//! | extractor (extract-only, 5,000 pages) | 2.27 ms, 66.1 MB | 2.77 ms, 53.5 MB | 2.27-2.35 ms, 52.3-52.4 MB |
//! | store (store-only, 20,000 articles, two writers) | - | 0.12-0.13 ms, 54.2-55.3 MB | 0.11 ms, 56.7-62.4 MB |
//!
//! The fetcher holds many whole pages at once (one per request in flight, each also compressed), so it keeps
//! the fixed threshold: every page buffer is its own mapping, given back when freed. So does the store: the
//! adaptive threshold saved it little CPU and took it close to the 64 MB we promise. The extractor works on
//! a page at a time per thread; with the fixed threshold it spent a fifth of its CPU mapping, faulting in and
//! unmapping page-sized buffers, so it keeps glibc's adaptive threshold and instead bounds the heaps that can
//! each hold a peak to one per core (glibc allows eight per core; one heap in all, tried on two cores, made
//! the extractor's threads queue for it). mimalloc, tried as the global allocator, peaked at 165 MB in the
//! fetcher and 247 MB in the extractor.

/// What a worker asks of malloc at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    /// Blocks of 128 KB and more get their own mappings, returned to the system when freed.
    ReturnLargeBlocks,
    /// glibc's adaptive mmap threshold, with at most one heap per core.
    HeapPerCore,
}

/// Applies `policy`. Call once at start, before any other thread exists.
// The one call into C newspipe makes: glibc's mallopt has no safe wrapper in a maintained crate.
#[allow(unsafe_code)]
pub fn tune_allocator(policy: Allocator) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets tuning parameters; called before any other thread exists.
    unsafe {
        match policy {
            Allocator::ReturnLargeBlocks => libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024),
            Allocator::HeapPerCore => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                libc::mallopt(libc::M_ARENA_MAX, i32::try_from(cores).unwrap_or(i32::MAX))
            }
        };
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = policy;
}
