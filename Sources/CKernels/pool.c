#include "pointwise_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define PW_POOL_MAX 64
// A worker spins this many times (yielding) for the next task before it sleeps: tasks of one
// forward pass follow each other within microseconds, and waking a sleeping thread costs tens.
#define PW_SPIN_ROUNDS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t workers[PW_POOL_MAX];
static unsigned long first_generation[PW_POOL_MAX];  // the generation current when each worker started
static size_t started = 0;            // workers created (changed under the lock)
static atomic_size_t size = 1;        // threads a task may use, the caller included

static pw_task current_task;
static void *current_context;
static size_t current_parts;
static size_t current_threads;        // threads running parts of the current task (the caller and workers 0..T-2)
static atomic_ulong generation = 0;   // bumped for each task
static atomic_size_t remaining = 0;   // workers that have not finished (or skipped) the current task
static atomic_flag busy = ATOMIC_FLAG_INIT;  // a task is running

// Every started worker takes part in every task: with T = current_threads, worker `index` runs
// parts index + 1, index + 1 + T, … (the caller runs 0, T, 2T, …), so a task of any number of
// parts runs completely whatever the pool's size; a worker with no part only acknowledges. The
// caller waits for all of them, so no worker can still be reading one task's fields when the
// next task writes them.
static void *worker_main(void *argument) {
    size_t index = (size_t)argument;  // this worker runs part index + 1
    unsigned long seen = first_generation[index];  // set before the thread started: no task is missed
    for (;;) {
        unsigned long now;
        int spins = 0;
        while ((now = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
            if (++spins < PW_SPIN_ROUNDS) { sched_yield(); continue; }
            pthread_mutex_lock(&lock);
            while ((now = atomic_load_explicit(&generation, memory_order_acquire)) == seen) pthread_cond_wait(&wake, &lock);
            pthread_mutex_unlock(&lock);
            break;
        }
        seen = now;
        if (index + 1 < current_threads)
            for (size_t part = index + 1; part < current_parts; part += current_threads) current_task(current_context, part);
        atomic_fetch_sub_explicit(&remaining, 1, memory_order_acq_rel);
    }
    return NULL;
}

size_t pw_pool_size(void) { return atomic_load_explicit(&size, memory_order_relaxed); }

size_t pw_pool_resize(size_t threads) {
    if (threads < 1) threads = 1;
    if (threads > PW_POOL_MAX) threads = PW_POOL_MAX;
    pthread_mutex_lock(&lock);
    while (started + 1 < threads) {
        first_generation[started] = atomic_load(&generation);  // tasks are issued under the lock
        if (pthread_create(&workers[started], NULL, worker_main, (void *)started) != 0) break;
        pthread_detach(workers[started]);
        started++;
    }
    size_t now = started + 1 < threads ? started + 1 : threads;
    atomic_store_explicit(&size, now, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
    return now;
}

void pw_pool_run(size_t parts, pw_task task, void *context) {
    // With one part, one thread, or the pool busy with another caller's task (callers on
    // several threads, or a task inside a task), the caller runs every part itself: the
    // same parts, so the same result, just not in parallel.
    if (parts <= 1 || pw_pool_size() <= 1 || atomic_flag_test_and_set_explicit(&busy, memory_order_acquire)) {
        for (size_t part = 0; part < parts; part++) task(context, part);
        return;
    }
    pthread_mutex_lock(&lock);
    // Set under the lock, so that a resize (which starts workers under it) never sees half a task.
    current_task = task;
    current_context = context;
    current_parts = parts;
    size_t threads = atomic_load_explicit(&size, memory_order_relaxed);
    current_threads = threads < started + 1 ? threads : started + 1;
    atomic_store_explicit(&remaining, started, memory_order_release);
    atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    for (size_t part = 0; part < parts; part += current_threads) task(context, part);
    while (atomic_load_explicit(&remaining, memory_order_acquire) != 0) sched_yield();
    atomic_flag_clear_explicit(&busy, memory_order_release);
}
