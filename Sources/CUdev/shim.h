#ifndef CUDEV_SHIM_H
#define CUDEV_SHIM_H
#include <libudev.h>
#include <sys/sysmacros.h>

/// The symbolic name of an errno value ("ENOENT"), or NULL if unknown.
/// glibc >= 2.32 has strerrorname_np only under _GNU_SOURCE, which Swift's Glibc
/// module does not define, so it is declared here.
static inline const char *cudev_errno_name(int error) {
    extern const char *strerrorname_np(int);
    return strerrorname_np(error);
}
#endif
