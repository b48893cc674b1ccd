#ifndef CBENCHSUPPORT_H
#define CBENCHSUPPORT_H

// glibc's heap counters for blksnap-bench's memory figures (malloc.h is not part of
// Swift's Glibc module).
#include <malloc.h>
#include <stddef.h>

/// Bytes the program holds from malloc right now: in-use arena bytes plus mmapped
/// blocks (glibc `mallinfo2`: uordblks + hblkhd). Counts the main arena only; call
/// `bench_use_single_arena` first so every thread allocates there.
static inline size_t bench_heap_allocated_bytes(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

/// Makes every thread allocate from the main arena (M_ARENA_MAX = 1), so that
/// `bench_heap_allocated_bytes` sees all allocations, and fixes the mmap threshold
/// at 1 MiB and the trim threshold at 64 MiB: chunk buffers (256 KiB) then always come
/// from the arena, as they do in any long-running program once glibc's dynamic
/// threshold has risen past them, and each one costs the heap the same bytes.
static inline void bench_use_single_arena(void) {
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

#endif
