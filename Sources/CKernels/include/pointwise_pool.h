// A fixed pool of worker threads that splits one task into parts, for the engine's own
// parallelism (OpenBLAS is then called single-threaded inside each part). Threads are
// created once; running a task allocates nothing.
#ifndef POINTWISE_POOL_H
#define POINTWISE_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*pw_task)(void *context, size_t part);

/// Runs task(context, part) for part in [0, parts): part 0 on the calling thread, the others on
/// the pool's workers; returns when all are done. Safe to call from several threads: while the
/// pool runs one caller's task, other callers (and tasks inside tasks) run all their parts themselves.
void pw_pool_run(size_t parts, pw_task task, void *context);

/// Threads available to a task (the caller included); at least 1.
size_t pw_pool_size(void);

/// Sets the number of threads (the caller included), starting workers as needed (up to 64).
/// Returns the size now in effect. Safe while tasks run: a running task keeps the threads it started
/// with, and every task runs all its parts whatever the size.
size_t pw_pool_resize(size_t threads);

#ifdef __cplusplus
}
#endif

#endif
