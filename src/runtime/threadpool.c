/* Thread pool (see threadpool.h).
 *
 * A job is cut into a few chunks per thread; the caller and the workers take
 * chunks, and the caller waits only for the chunks to be finished, not for
 * every worker to wake up, so a worker the OS has not scheduled yet delays
 * nothing. Workers spin briefly on the job generation before sleeping,
 * because a model's kernels follow each other closely; a spinning worker
 * starts a job without taking the mutex (the generation is bumped before the
 * caller locks it to wake sleepers), and a finished chunk signals the caller
 * only when it sleeps, so a small job costs no lock hand-off.
 *
 * Few cache lines cross between cores per job: on this project's small VMs
 * the host at times puts the two cores on different CPU dies, where a line
 * crossing costs ~400 ns instead of ~100 (first-come chunks and one shared
 * counter made two threads slower than one then). So:
 *  - the job (generation, sequence number, size, function) is one line that
 *    only the caller writes;
 *  - chunks have owners: thread t (the caller is 0) owns a contiguous run,
 *    the same run in every job of the same size, takes its own first, then
 *    what is left of the others', so consecutive layers mostly read what
 *    the same core wrote;
 *  - each run has a claim word (job sequence number << 32 | next chunk of
 *    the run) on a line of its own, claimed by compare-and-swap. Nobody
 *    resets it: a claimer that finds an older sequence number starts the run
 *    at chunk 0, and one that finds a newer number is a late worker of an
 *    earlier job and stops, so it can never take a chunk of the next job;
 *  - each thread counts the chunks it finished in its own done word (job
 *    sequence number << 32 | count, on a line of its own, written by it
 *    alone), and the caller sums them. */
#include "threadpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SPIN_ROUNDS = 4000, CHUNKS_PER_THREAD = 2 };

typedef struct thread_slot {
    _Alignas(64) uint64_t claim; /* seq << 32 | next chunk of this thread's run */
    _Alignas(64) uint64_t done;  /* seq << 32 | chunks this thread finished in job seq */
} thread_slot;

struct me_threadpool {
    /* the current job: written by the caller only, read by the workers */
    _Alignas(64) struct {
        unsigned gen;      /* bumped for each job (and for stop) */
        int stop;
        uint64_t ticket;   /* seq << 32 | chunk count, one word so a reader gets a matching pair */
        me_parallel_fn fn;
        void *arg;
        int64_t n_items, align;
        int n;             /* threads including the caller (set once) */
        thread_slot *slots; /* one per thread (set once) */
    } job;
    _Alignas(64) int waiting; /* the caller sleeps on cv_done (else finishing a chunk takes no lock) */
    _Alignas(64) int busy;    /* the caller's own line from here on */
    uint32_t seq;             /* the last job's number */
    int started;              /* workers actually running */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
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
    int64_t units = (p->job.n_items + p->job.align - 1) / p->job.align;
    int64_t u0 = units * t / n_chunks, u1 = units * (t + 1) / n_chunks;
    int64_t b = u0 * p->job.align, e = u1 * p->job.align;
    *begin = b < p->job.n_items ? b : p->job.n_items;
    *end = e < p->job.n_items ? e : p->job.n_items;
}

/* The next unclaimed chunk of owner o's run in job seq, or -1. */
static int claim(me_threadpool *p, uint32_t seq, int n_chunks, int o) {
    const int first = (int)((int64_t)n_chunks * o / p->job.n), end = (int)((int64_t)n_chunks * (o + 1) / p->job.n);
    uint64_t w = __atomic_load_n(&p->job.slots[o].claim, __ATOMIC_ACQUIRE);
    for (;;) {
        const uint32_t ws = (uint32_t)(w >> 32);
        uint32_t next;
        if (ws == seq) {
            next = (uint32_t)w;
        } else if ((int32_t)(ws - seq) > 0) {
            return -1; /* a newer job: this thread is late */
        } else {
            next = 0; /* the first claim of this run in job seq */
        }
        if (first + (int64_t)next >= end) return -1;
        const uint64_t nw = (uint64_t)seq << 32 | (next + 1);
        if (__atomic_compare_exchange_n(&p->job.slots[o].claim, &w, nw, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return first + (int)next;
    }
}

/* self's own chunks, then the others'. */
static void run_chunks(me_threadpool *p, int self, uint32_t seq, int n_chunks) {
    uint32_t finished = 0;
    for (int k = 0; k < p->job.n; k++) {
        const int o = (self + k) % p->job.n;
        for (int c; (c = claim(p, seq, n_chunks, o)) >= 0;) {
            int64_t b, e;
            chunk_bounds(p, c, n_chunks, &b, &e);
            if (b < e) p->job.fn(p->job.arg, b, e);
            /* seq_cst pairs with the caller's store of `waiting` then loads of
             * the done words: one of the two sees the other's store */
            __atomic_store_n(&p->job.slots[self].done, (uint64_t)seq << 32 | ++finished, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&p->waiting, __ATOMIC_SEQ_CST)) {
                pthread_mutex_lock(&p->mu);
                pthread_cond_signal(&p->cv_done);
                pthread_mutex_unlock(&p->mu);
            }
        }
    }
}

/* Chunks of job seq finished so far, over every thread. */
static int64_t finished_chunks(me_threadpool *p, uint32_t seq) {
    int64_t sum = 0;
    for (int t = 0; t < p->job.n; t++) {
        const uint64_t w = __atomic_load_n(&p->job.slots[t].done, __ATOMIC_SEQ_CST);
        if ((uint32_t)(w >> 32) == seq) sum += (uint32_t)w;
    }
    return sum;
}

static void *worker_main(void *v) {
    worker_arg wa = *(worker_arg *)v;
    free(v);
    me_threadpool *p = wa.p;
    unsigned seen = 0;
    uint32_t last = 0; /* the last job this worker took part in */
    for (;;) {
        for (int s = 0; s < SPIN_ROUNDS && __atomic_load_n(&p->job.gen, __ATOMIC_ACQUIRE) == seen; s++) cpu_relax();
        /* a job seen while spinning starts at once (no lock: the caller bumps
         * gen before it takes the mutex to wake sleepers) */
        unsigned g = __atomic_load_n(&p->job.gen, __ATOMIC_ACQUIRE);
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while (__atomic_load_n(&p->job.gen, __ATOMIC_ACQUIRE) == seen && !p->job.stop)
                pthread_cond_wait(&p->cv_work, &p->mu);
            g = __atomic_load_n(&p->job.gen, __ATOMIC_ACQUIRE);
            pthread_mutex_unlock(&p->mu);
        }
        if (__atomic_load_n(&p->job.stop, __ATOMIC_ACQUIRE)) return NULL;
        seen = g;
        /* The ticket can already be a later job's than the generation seen
         * (claims of a finished job fail anyway); a job is joined once, since
         * the done word counts one pass. */
        const uint64_t ticket = __atomic_load_n(&p->job.ticket, __ATOMIC_ACQUIRE);
        const uint32_t seq = (uint32_t)(ticket >> 32);
        if (seq == last) continue;
        last = seq;
        run_chunks(p, wa.index, seq, (int)(uint32_t)ticket);
    }
}

me_threadpool *me_threadpool_create(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    me_threadpool *p = aligned_alloc(64, (sizeof *p + 63) / 64 * 64);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->job.n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    if (n_threads == 1) return p;
    p->th = calloc((size_t)n_threads, sizeof *p->th);
    p->job.slots = aligned_alloc(64, sizeof(thread_slot) * (size_t)n_threads);
    if (!p->th || !p->job.slots) { me_threadpool_destroy(p); return NULL; }
    memset(p->job.slots, 0, sizeof(thread_slot) * (size_t)n_threads);
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
    __atomic_store_n(&p->job.stop, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&p->job.gen, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i <= p->started; i++) pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
    pthread_mutex_destroy(&p->mu);
    free(p->th);
    free(p->job.slots);
    free(p);
}

int me_threadpool_threads(const me_threadpool *p) { return p ? p->job.n : 1; }

void me_parallel_for(me_threadpool *p, int64_t n, int64_t align, me_parallel_fn fn, void *arg) {
    if (n <= 0) return;
    if (align < 1) align = 1;
    int64_t units = (n + align - 1) / align;
    if (!p || p->job.n == 1 || units < 2 || __atomic_exchange_n(&p->busy, 1, __ATOMIC_ACQUIRE)) {
        fn(arg, 0, n);
        return;
    }
    int64_t chunks = (int64_t)p->job.n * CHUNKS_PER_THREAD;
    int n_chunks = units < chunks ? (int)units : (int)chunks;
    /* the job's fields first; its sequence number opens them (0 is never used,
     * so the zeroed claim and done words belong to no job) */
    const uint32_t seq = p->seq + 1 ? p->seq + 1 : 1;
    p->seq = seq;
    p->job.fn = fn;
    p->job.arg = arg;
    p->job.n_items = n;
    p->job.align = align;
    __atomic_store_n(&p->job.ticket, (uint64_t)seq << 32 | (uint32_t)n_chunks, __ATOMIC_RELEASE);
    /* spinning workers see the new generation at once; sleeping ones are woken
     * under the mutex afterwards (a worker checks gen under the mutex before
     * it waits, so it either sees the bump or is waiting when we broadcast) */
    __atomic_add_fetch(&p->job.gen, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    /* The job's argument usually sits in the caller's stack frame, and the
     * workers read it while this thread runs chunks in the frames below it. A
     * gap of two cache lines keeps those frames' spills off the argument's
     * line, where each spill would pull the line back from a worker. (A
     * precaution: the 2-thread slowdown first blamed on this was the cores'
     * placement, see the top of the file.) */
    volatile char *gap = __builtin_alloca(128);
    gap[0] = 0;
    run_chunks(p, 0, seq, n_chunks);
    for (int s = 0; s < SPIN_ROUNDS && finished_chunks(p, seq) != n_chunks; s++) cpu_relax();
    if (finished_chunks(p, seq) != n_chunks) {
        pthread_mutex_lock(&p->mu);
        __atomic_store_n(&p->waiting, 1, __ATOMIC_SEQ_CST);
        while (finished_chunks(p, seq) != n_chunks) pthread_cond_wait(&p->cv_done, &p->mu);
        __atomic_store_n(&p->waiting, 0, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&p->mu);
    }
    __atomic_store_n(&p->busy, 0, __ATOMIC_RELEASE);
}

int me_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}
