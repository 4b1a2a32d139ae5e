//! Cache hints for the event loop's hot paths: each event lands on a random one of thousands of
//! peers, so its state is rarely cached; asking for it early lets the misses overlap other work.

/// Hints the CPU to load the cache line holding `p` into all cache levels. A pure hint: it never
/// faults, reads nothing into the program and changes no result, whatever the address.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 has no architectural effect: it cannot fault or write memory, even for a
    // dangling or unmapped address, and SSE is part of the x86_64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
