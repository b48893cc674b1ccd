// libfuse3 high-level API, pinned to API version 3.5, plus small inline helpers for what
// Swift cannot reach directly: macros (fuse_new, fuse_loop_mt) and bitfields of
// struct fuse_file_info.
#ifndef CFUSE3_SHIM_H
#define CFUSE3_SHIM_H

#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <stdlib.h>
#include <sys/prctl.h>

/// fuse_new (a macro choosing the versioned symbol).
static inline struct fuse *cfuse_new(struct fuse_args *args, const struct fuse_operations *op,
                                     void *private_data) {
    return fuse_new(args, op, sizeof(*op), private_data);
}

/// fuse_loop_mt with up to `max_idle_threads` idle workers (threads are created on demand).
static inline int cfuse_loop_mt(struct fuse *f, unsigned max_idle_threads) {
    struct fuse_loop_config config = { .clone_fd = 0, .max_idle_threads = max_idle_threads };
    return fuse_loop_mt(f, &config);
}

/// Bypass the page cache for this open file: every read and write reaches the daemon.
static inline void cfuse_set_direct_io(struct fuse_file_info *fi) {
    fi->direct_io = 1;
    fi->keep_cache = 0;
}

/// The private data given to cfuse_new, from inside a callback.
static inline void *cfuse_private_data(void) {
    return fuse_get_context()->private_data;
}

/// prctl(PR_SET_IO_FLUSHER, 1): this process serves block I/O (memory reclaim must not
/// wait on writeback that needs this process). Needs CAP_SYS_RESOURCE; 0 or -1/errno.
static inline int cfuse_set_io_flusher(void) {
    return prctl(57 /* PR_SET_IO_FLUSHER */, 1, 0, 0, 0);
}

#endif
