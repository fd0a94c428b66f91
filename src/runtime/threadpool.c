/* Thread pool (see threadpool.h).
 *
 * A job is cut into a few chunks per thread; the caller and the workers take
 * chunks from a shared counter, and the caller waits only for the chunks to
 * be finished, not for every worker to wake up, so a worker the OS has not
 * scheduled yet delays nothing. Workers spin briefly on the job generation
 * before sleeping, because a model's kernels follow each other closely; a
 * spinning worker starts a job without taking the mutex (the generation is
 * bumped before the caller locks it to wake sleepers), and a finished job
 * signals the caller only when it sleeps, so a small job costs no lock
 * hand-off between the threads.
 *
 * The counter holds the job's chunk count in its high half and the next
 * chunk in its low half, so one atomic increment hands out a ticket that
 * says both which chunk and whether it exists. Between jobs the count is 0:
 * a late worker still looping over the previous job gets no chunk of the
 * next one before that job's fields are written. */
#include "threadpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

enum { SPIN_ROUNDS = 4000, CHUNKS_PER_THREAD = 2 };

struct me_threadpool {
    int n;                 /* threads including the caller */
    int started;           /* workers actually running */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    unsigned gen;          /* bumped for each job (and for stop) */
    int stop;
    int busy;
    /* the current job */
    me_parallel_fn fn;
    void *arg;
    int64_t n_items, align;
    uint64_t ticket;       /* chunk count << 32 | next chunk; count 0 between jobs */
    int done_chunks;
    int waiting;           /* the caller sleeps on cv_done (else finishing a job takes no lock) */
};

typedef struct worker_arg { me_threadpool *p; int index; } worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* [begin, end) of chunk t of the current job. */
static void chunk_bounds(const me_threadpool *p, int t, int n_chunks, int64_t *begin, int64_t *end) {
    int64_t units = (p->n_items + p->align - 1) / p->align;
    int64_t u0 = units * t / n_chunks, u1 = units * (t + 1) / n_chunks;
    int64_t b = u0 * p->align, e = u1 * p->align;
    *begin = b < p->n_items ? b : p->n_items;
    *end = e < p->n_items ? e : p->n_items;
}

static void run_chunks(me_threadpool *p) {
    for (;;) {
        uint64_t ticket = __atomic_fetch_add(&p->ticket, 1, __ATOMIC_ACQ_REL);
        int n_chunks = (int)(ticket >> 32), t = (int)(uint32_t)ticket;
        if (t >= n_chunks) return;
        int64_t b, e;
        chunk_bounds(p, t, n_chunks, &b, &e);
        if (b < e) p->fn(p->arg, b, e);
        /* seq_cst pairs with the caller's store of `waiting` then load of
         * done_chunks: one of the two sees the other's store */
        if (__atomic_add_fetch(&p->done_chunks, 1, __ATOMIC_SEQ_CST) == n_chunks &&
            __atomic_load_n(&p->waiting, __ATOMIC_SEQ_CST)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *worker_main(void *v) {
    worker_arg wa = *(worker_arg *)v;
    free(v);
    me_threadpool *p = wa.p;
    unsigned seen = 0;
    for (;;) {
        for (int s = 0; s < SPIN_ROUNDS && __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) == seen; s++) cpu_relax();
        /* a job seen while spinning starts at once (no lock: the caller bumps
         * gen before it takes the mutex to wake sleepers) */
        unsigned g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while (__atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) == seen && !p->stop) pthread_cond_wait(&p->cv_work, &p->mu);
            g = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE);
            pthread_mutex_unlock(&p->mu);
        }
        if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) return NULL;
        seen = g;
        run_chunks(p);
    }
}

me_threadpool *me_threadpool_create(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    me_threadpool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    if (n_threads == 1) return p;
    p->th = calloc((size_t)n_threads, sizeof *p->th);
    if (!p->th) { me_threadpool_destroy(p); return NULL; }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) { me_threadpool_destroy(p); return NULL; }
        wa->p = p;
        wa->index = i;
        if (pthread_create(&p->th[i], NULL, worker_main, wa) != 0) {
            free(wa);
            me_threadpool_destroy(p);
            return NULL;
        }
        p->started = i;
    }
    return p;
}

void me_threadpool_destroy(me_threadpool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&p->gen, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i <= p->started; i++) pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
    pthread_mutex_destroy(&p->mu);
    free(p->th);
    free(p);
}

int me_threadpool_threads(const me_threadpool *p) { return p ? p->n : 1; }

void me_parallel_for(me_threadpool *p, int64_t n, int64_t align, me_parallel_fn fn, void *arg) {
    if (n <= 0) return;
    if (align < 1) align = 1;
    int64_t units = (n + align - 1) / align;
    if (!p || p->n == 1 || units < 2 || __atomic_exchange_n(&p->busy, 1, __ATOMIC_ACQUIRE)) {
        fn(arg, 0, n);
        return;
    }
    int64_t chunks = (int64_t)p->n * CHUNKS_PER_THREAD;
    int n_chunks = units < chunks ? (int)units : (int)chunks;
    /* the job's fields first; opening the counter publishes them */
    p->fn = fn;
    p->arg = arg;
    p->n_items = n;
    p->align = align;
    __atomic_store_n(&p->done_chunks, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&p->ticket, (uint64_t)n_chunks << 32, __ATOMIC_RELEASE);
    /* spinning workers see the new generation at once; sleeping ones are woken
     * under the mutex afterwards (a worker checks gen under the mutex before
     * it waits, so it either sees the bump or is waiting when we broadcast) */
    __atomic_add_fetch(&p->gen, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    /* The job's argument usually sits in the caller's stack frame, and the
     * workers read it while this thread runs chunks in the frames below it. A
     * gap of two cache lines keeps those frames' spills off the argument's
     * line: sharing it (which depends on where ASLR puts the stack) made two
     * threads slower than one. */
    volatile char *gap = __builtin_alloca(128);
    gap[0] = 0;
    run_chunks(p);
    for (int s = 0; s < SPIN_ROUNDS && __atomic_load_n(&p->done_chunks, __ATOMIC_ACQUIRE) != n_chunks; s++)
        cpu_relax();
    if (__atomic_load_n(&p->done_chunks, __ATOMIC_ACQUIRE) != n_chunks) {
        pthread_mutex_lock(&p->mu);
        __atomic_store_n(&p->waiting, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&p->done_chunks, __ATOMIC_SEQ_CST) != n_chunks) pthread_cond_wait(&p->cv_done, &p->mu);
        __atomic_store_n(&p->waiting, 0, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&p->mu);
    }
    __atomic_store_n(&p->ticket, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&p->busy, 0, __ATOMIC_RELEASE);
}

int me_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}
