/* me_bench: load an artifact (.bin context binary, .dlc or .onnx) through the
 * public API, run it N times at T threads and print the timings as one JSON
 * line on stdout. Used by bench/run_bench.py; not installed.
 *
 *   me_bench ARTIFACT [--iters N] [--warmup W] [--threads T] [--input FILE]... [--profile]
 *   me_bench --core-latency
 *
 * Inputs are raw files in the model's input order; missing ones are filled with
 * a fixed pseudo-random pattern. "load_ms" is me_model_load, "session_ms"
 * me_session_create, "first_ms" the first run; "runs_ms" are the timed runs
 * after the warm-up runs. --profile also prints to stderr, per node (named
 * by the tensor it produced), the summed time from the previous node's end
 * over the timed runs, largest first (the observer's own cost included).
 * --core-latency prints {"core_roundtrip_ns": X}: a cache line bounced
 * between CPUs 0 and 1 (a VM's two cores can sit on one die or on two, and
 * multi-threaded figures differ with it). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modelexport.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

enum { PING_ROUNDS = 100000 };
static int ping_flag __attribute__((aligned(64)));

static int pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *pong(void *arg) {
    (void)arg;
    pin_to(1);
    for (int i = 0; i < PING_ROUNDS; i++) {
        while (__atomic_load_n(&ping_flag, __ATOMIC_ACQUIRE) != 1) {}
        __atomic_store_n(&ping_flag, 0, __ATOMIC_RELEASE);
    }
    return NULL;
}

static int core_latency(void) {
    pthread_t t;
    cpu_set_t both;
    CPU_ZERO(&both);
    CPU_SET(0, &both);
    CPU_SET(1, &both);
    /* both CPUs must be ours, or the two spinning threads would share one */
    if (pthread_setaffinity_np(pthread_self(), sizeof both, &both) != 0 || pin_to(0) != 0) {
        printf("{\"core_roundtrip_ns\": null}\n");
        return 0;
    }
    if (pthread_create(&t, NULL, pong, NULL) != 0) return 1;
    double a = now_ms();
    for (int i = 0; i < PING_ROUNDS; i++) {
        __atomic_store_n(&ping_flag, 1, __ATOMIC_RELEASE);
        while (__atomic_load_n(&ping_flag, __ATOMIC_ACQUIRE) != 0) {}
    }
    double ns = (now_ms() - a) * 1e6 / PING_ROUNDS;
    pthread_join(t, NULL);
    printf("{\"core_roundtrip_ns\": %.0f}\n", ns);
    return 0;
}

static int fail(const char *what, me_error *err) {
    fprintf(stderr, "me_bench: %s: %s\n", what, err ? me_error_message(err) : "failed");
    me_error_free(err);
    return 1;
}

/* --profile: tensors arrive in the same order every run, so the k-th call of
 * a run is the k-th slot. */
enum { PROF_MAX = 4096 };
typedef struct prof {
    double last, ms[PROF_MAX];
    char *name[PROF_MAX];
    int k, n;
} prof;

static void prof_observe(void *user, const me_tensor_info *info, const void *data) {
    (void)data;
    prof *p = user;
    double t = now_ms();
    if (p->k < PROF_MAX) {
        if (p->k == p->n) p->name[p->n++] = strdup(info->name);
        p->ms[p->k++] += t - p->last;
    }
    p->last = now_ms();
}

static int prof_cmp(const void *a, const void *b) {
    const double *x = *(double *const *)a, *y = *(double *const *)b;
    return *x < *y ? 1 : *x > *y ? -1 : 0;
}

static void prof_print(prof *p, int iters) {
    double *order[PROF_MAX], total = 0;
    for (int i = 0; i < p->n; i++) { order[i] = &p->ms[i]; total += p->ms[i]; }
    qsort(order, (size_t)p->n, sizeof *order, prof_cmp);
    fprintf(stderr, "per node, mean of %d runs (ms), %.3f in all:\n", iters, total / (iters ? iters : 1));
    for (int i = 0; i < p->n && i < 40; i++) {
        int k = (int)(order[i] - p->ms);
        fprintf(stderr, "  %8.4f  %5.1f%%  %s\n", p->ms[k] / (iters ? iters : 1), 100.0 * p->ms[k] / total, p->name[k]);
    }
    for (int i = 0; i < p->n; i++) free(p->name[i]);
}

static void *read_file(const char *path, size_t want) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *buf = malloc(want ? want : 1);
    size_t got = buf ? fread(buf, 1, want, f) : 0;
    fclose(f);
    if (got != want) { free(buf); return NULL; }
    return buf;
}

int main(int argc, char **argv) {
    const char *path = NULL, *inputs[16];
    int n_inputs = 0, iters = 10, warmup = 1, threads = 1, profile = 0;
    if (argc == 2 && strcmp(argv[1], "--core-latency") == 0) return core_latency();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) iters = atoi(argv[++i]);
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc && n_inputs < 16) inputs[n_inputs++] = argv[++i];
        else if (strcmp(argv[i], "--profile") == 0) profile = 1;
        else if (!path && argv[i][0] != '-') path = argv[i];
        else { fprintf(stderr, "usage: me_bench ARTIFACT [--iters N] [--warmup W] [--threads T] [--input FILE]...\n"); return 2; }
    }
    if (!path || iters < 0 || warmup < 0 || threads < 1) { fprintf(stderr, "me_bench: bad arguments\n"); return 2; }
    me_error *err = NULL;
    double t0 = now_ms();
    me_model *m = NULL;
    if (me_model_load(path, NULL, &m, &err) != ME_OK) return fail("load", err);
    double t1 = now_ms();
    me_session *s = NULL;
    if (me_session_create(m, &s, &err) != ME_OK) return fail("session", err);
    if (me_session_set_threads(s, threads, &err) != ME_OK) return fail("threads", err);
    double t2 = now_ms();
    for (int k = 0; k < me_model_num_inputs(m); k++) {
        me_tensor_info ti;
        me_model_input_info(m, k, &ti);
        unsigned char *buf = k < n_inputs ? read_file(inputs[k], ti.nbytes) : NULL;
        if (k < n_inputs && !buf) { fprintf(stderr, "me_bench: cannot read %zu bytes from %s\n", ti.nbytes, inputs[k]); return 1; }
        if (!buf) {
            /* small values valid for every dtype (also as token ids / indices) */
            buf = calloc(ti.nbytes ? ti.nbytes : 1, 1);
            if (!buf) return 1;
            if (ti.dtype == ME_DT_F32)
                for (size_t j = 0; j < ti.nbytes / 4; j++) ((float *)buf)[j] = (float)((j * 2654435761u) % 1000) / 1000.0f - 0.5f;
        }
        if (me_session_set_input(s, k, buf, ti.nbytes, &err) != ME_OK) return fail("input", err);
        free(buf);
    }
    if (me_session_run(s, &err) != ME_OK) return fail("run", err);
    double t3 = now_ms();
    for (int i = 0; i < warmup; i++)
        if (me_session_run(s, &err) != ME_OK) return fail("run", err);
    double *runs = malloc(sizeof(double) * (size_t)(iters > 0 ? iters : 1));
    prof *pr = profile ? calloc(1, sizeof *pr) : NULL;
    if (!runs || (profile && !pr)) return 1;
    if (pr && me_session_set_observer(s, prof_observe, pr) != ME_OK) return fail("observer", NULL);
    for (int i = 0; i < iters; i++) {
        double a = now_ms();
        if (pr) { pr->k = 0; pr->last = a; }
        if (me_session_run(s, &err) != ME_OK) return fail("run", err);
        runs[i] = now_ms() - a;
    }
    printf("{\"artifact\": \"%s\", \"threads\": %d, \"load_ms\": %.3f, \"session_ms\": %.3f, \"first_ms\": %.3f, \"runs_ms\": [",
           path, threads, t1 - t0, t2 - t1, t3 - t2);
    for (int i = 0; i < iters; i++) printf("%s%.3f", i ? ", " : "", runs[i]);
    printf("]}\n");
    if (pr) prof_print(pr, iters);
    free(pr);
    free(runs);
    me_session_destroy(s);
    me_model_free(m);
    return 0;
}
