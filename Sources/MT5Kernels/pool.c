// A small pool of threads that spin briefly between jobs. A decoder step runs a couple of
// hundred parallel sections separated by little serial work; libdispatch's workers fall
// asleep in between and take longer to wake (over 200 µs measured on a 2-core VM) than a
// section lasts, so the caller ended up doing most sections alone. Workers here spin for a
// few milliseconds before they sleep on a condition variable.

#include "MT5Kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PAUSE() _mm_pause()
#else
#define PAUSE() ((void)0)
#endif

#define MAX_WORKERS 255
/// How long an idle worker spins before it sleeps.
#define SPIN_NANOSECONDS 5000000L

/// One job at a time; a caller that finds the pool busy runs its tasks itself.
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_condition = PTHREAD_COND_INITIALIZER;

static int worker_count;  // guarded by job_lock
/// Per worker, the number of the last job it was asked to join; it joins when this moves.
static atomic_uint calls[MAX_WORKERS + 1];
static unsigned job_number;  // guarded by job_lock
static atomic_int sleepers;
static atomic_int next_index;
static atomic_int finished;

// The current job: written before a worker's call moves on, read after it has.
static pg_task_function job_function;
static void *job_context;
static int job_count;

static long monotonic_nanoseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000000000L + now.tv_nsec;
}

static void run_tasks(void) {
    for (;;) {
        int index = atomic_fetch_add_explicit(&next_index, 1, memory_order_relaxed);
        if (index >= job_count) return;
        job_function(job_context, index);
    }
}

static void *worker_main(void *argument) {
    int id = (int)(intptr_t)argument;
    unsigned seen = 0;
    for (;;) {
        long spin_start = monotonic_nanoseconds();
        int spins = 0;
        while (atomic_load_explicit(&calls[id], memory_order_acquire) == seen) {
            PAUSE();
            if (++spins % 1024 != 0) continue;
            // On a busy machine a spinning worker must not keep the thread it waits for (or
            // anyone else) off the processor.
            sched_yield();
            if (monotonic_nanoseconds() - spin_start < SPIN_NANOSECONDS) continue;
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleepers, 1);
            while (atomic_load(&calls[id]) == seen) {
                pthread_cond_wait(&sleep_condition, &sleep_lock);
            }
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_lock);
        }
        seen = atomic_load_explicit(&calls[id], memory_order_acquire);
        run_tasks();
        atomic_fetch_add_explicit(&finished, 1, memory_order_release);
    }
    return 0;
}

static int processor_count(void) {
    static int count;
    if (count == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        count = online > 0 ? (int)online : 1;
    }
    return count;
}

void pg_run_tasks(int threads, int count, pg_task_function function, void *context) {
    // More threads than processors would only make the spinning workers take turns.
    if (threads > processor_count()) threads = processor_count();
    if (threads > count) threads = count;
    if (threads > MAX_WORKERS + 1) threads = MAX_WORKERS + 1;
    if (threads <= 1 || pthread_mutex_trylock(&job_lock) != 0) {
        for (int i = 0; i < count; i++) function(context, i);
        return;
    }
    while (worker_count < threads - 1) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(
            &thread, &attributes, worker_main, (void *)(intptr_t)(worker_count + 1));
        pthread_attr_destroy(&attributes);
        if (failed) break;
        worker_count++;
    }
    int helpers = threads - 1 < worker_count ? threads - 1 : worker_count;

    job_function = function;
    job_context = context;
    job_count = count;
    atomic_store(&next_index, 0);
    atomic_store(&finished, 0);
    job_number++;
    for (int id = 1; id <= helpers; id++) atomic_store(&calls[id], job_number);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&sleep_condition);
        pthread_mutex_unlock(&sleep_lock);
    }
    run_tasks();
    // A helper that was descheduled holds the job up; yielding lets it run on this processor.
    for (int spins = 1; atomic_load_explicit(&finished, memory_order_acquire) < helpers; spins++) {
        PAUSE();
        if (spins % 256 == 0) sched_yield();
    }
    pthread_mutex_unlock(&job_lock);
}
