/* A small pthread pool for splitting one kernel's work over cores.
 *
 * me_parallel_for(p, n, align, fn, arg) cuts [0, n) into a few chunks per
 * thread, each boundary a multiple of `align`, and runs fn(arg, begin, end)
 * once per chunk on the calling thread and the workers (whichever is free);
 * it returns when all are done. The chunks depend only on n, align
 * and the thread count, and a kernel gives every output element to exactly
 * one chunk with the same arithmetic it would use alone, so results do not
 * depend on the thread count. A NULL pool, a pool of 1, or a call made while
 * the pool is busy (from inside fn) runs fn(arg, 0, n) directly. */
#ifndef ME_RUNTIME_THREADPOOL_H
#define ME_RUNTIME_THREADPOOL_H

#include <stdint.h>

typedef struct me_threadpool me_threadpool;
typedef void (*me_parallel_fn)(void *arg, int64_t begin, int64_t end);

/* n_threads >= 1 counts the caller; NULL when threads cannot be started. */
me_threadpool *me_threadpool_create(int n_threads);
void me_threadpool_destroy(me_threadpool *p);
/* Threads taking part in a parallel_for (1 for NULL). */
int me_threadpool_threads(const me_threadpool *p);
void me_parallel_for(me_threadpool *p, int64_t n, int64_t align, me_parallel_fn fn, void *arg);

/* Online CPU cores (at least 1). */
int me_cpu_count(void);

#endif
