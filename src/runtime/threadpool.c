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
 * Chunks have owners: thread t (the caller is 0) owns a contiguous run of
 * them, the same run in every job of the same size, and takes its own first,
 * then what is left of the others'. Consecutive layers thus mostly read what
 * the same core wrote (when the host puts the two cores of a small VM on
 * different CPU dies, a cache line crossing between them costs ~400 ns, and
 * first-come chunks made two threads slower than one). Each thread's run has
 * a claim word on its own cache line: the job's sequence number in the high
 * half and the next chunk of the run in the low half, claimed by
 * compare-and-swap, so a late worker still looping over the previous job
 * (an older sequence number) can never take a chunk of the next one. */
#include "threadpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

enum { SPIN_ROUNDS = 4000, CHUNKS_PER_THREAD = 2 };

typedef struct claim_slot {
    _Alignas(64) uint64_t word; /* job seq << 32 | next chunk of the owner's run */
} claim_slot;

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
    int n_chunks;
    uint32_t seq;          /* the current job's number (published before gen) */
    claim_slot *slots;     /* one per thread */
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

/* The next unclaimed chunk of owner o's run in job seq, or -1. */
static int claim(me_threadpool *p, uint32_t seq, int n_chunks, int o) {
    const int first = (int)((int64_t)n_chunks * o / p->n), end = (int)((int64_t)n_chunks * (o + 1) / p->n);
    uint64_t w = __atomic_load_n(&p->slots[o].word, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((uint32_t)(w >> 32) != seq || first + (int)(uint32_t)w >= end) return -1;
        if (__atomic_compare_exchange_n(&p->slots[o].word, &w, w + 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return first + (int)(uint32_t)w;
    }
}

/* self's own chunks, then the others' (n_chunks was read after seq, with acquire) */
static void run_chunks(me_threadpool *p, int self, uint32_t seq, int n_chunks) {
    for (int k = 0; k < p->n; k++) {
        const int o = (self + k) % p->n;
        for (int c; (c = claim(p, seq, n_chunks, o)) >= 0;) {
            int64_t b, e;
            chunk_bounds(p, c, n_chunks, &b, &e);
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
        /* the job's number, then its size (written before it, so consistent with
         * it unless a newer job has started: then every claim fails) */
        const uint32_t seq = __atomic_load_n(&p->seq, __ATOMIC_ACQUIRE);
        run_chunks(p, wa.index, seq, __atomic_load_n(&p->n_chunks, __ATOMIC_ACQUIRE));
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
    p->slots = aligned_alloc(64, sizeof(claim_slot) * (size_t)n_threads);
    if (!p->th || !p->slots) { me_threadpool_destroy(p); return NULL; }
    for (int i = 0; i < n_threads; i++) p->slots[i].word = 0;
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
    free(p->slots);
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
    /* the job's fields first; its sequence number in the claim words opens them */
    const uint32_t seq = p->seq + 1;
    p->fn = fn;
    p->arg = arg;
    p->n_items = n;
    p->align = align;
    __atomic_store_n(&p->n_chunks, n_chunks, __ATOMIC_RELEASE);
    __atomic_store_n(&p->done_chunks, 0, __ATOMIC_RELEASE);
    for (int t = 0; t < p->n; t++) __atomic_store_n(&p->slots[t].word, (uint64_t)seq << 32, __ATOMIC_RELEASE);
    __atomic_store_n(&p->seq, seq, __ATOMIC_RELEASE);
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
    run_chunks(p, 0, seq, n_chunks);
    for (int s = 0; s < SPIN_ROUNDS && __atomic_load_n(&p->done_chunks, __ATOMIC_ACQUIRE) != n_chunks; s++)
        cpu_relax();
    if (__atomic_load_n(&p->done_chunks, __ATOMIC_ACQUIRE) != n_chunks) {
        pthread_mutex_lock(&p->mu);
        __atomic_store_n(&p->waiting, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&p->done_chunks, __ATOMIC_SEQ_CST) != n_chunks) pthread_cond_wait(&p->cv_done, &p->mu);
        __atomic_store_n(&p->waiting, 0, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&p->mu);
    }
    __atomic_store_n(&p->busy, 0, __ATOMIC_RELEASE);
}

int me_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}
