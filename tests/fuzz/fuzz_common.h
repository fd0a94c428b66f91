/* Shared helpers of the libFuzzer targets (tests/fuzz/fuzz_*.c, docs/fuzzing.md).
 *
 * Readers that take a path get the fuzz input through a file in a private
 * temporary directory (nothing else lives there, so relative references such
 * as ONNX external data find nothing). Graph readers may run the graph once
 * with zeroed inputs when its size and rough cost are small: the fuzz input
 * must not make the harness allocate gigabytes or run for minutes, which the
 * library would legitimately do for a valid but huge model. */
#ifndef ME_FUZZ_COMMON_H
#define ME_FUZZ_COMMON_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/diag.h"
#include "ir/ir.h"
#include "runtime/exec.h"
#include "runtime/plan.h"

/* Activation buffer + scratch above which the harness does not run a graph. */
#define FUZZ_MAX_RUN_BYTES ((size_t)4 << 20)
/* Rough multiply-add estimate above which it does not run a graph. */
#define FUZZ_MAX_RUN_COST 200000000.0

static char fuzz_dir[64];

/* ME_FUZZ_VERBOSE=1: print each reader's diagnostics (to see why seeds fail). */
static __attribute__((unused)) void fuzz_note(const char *what, me_status st, const me_diag *d) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("ME_FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "[%s] %s: %s\n", what, me_status_str(st), me_diag_text(d));
}

/* Writes data to <tmpdir>/<name> and returns the path (static storage). */
static __attribute__((unused)) const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size) {
    static char path[160];
    if (!fuzz_dir[0]) {
        snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/me-fuzz-XXXXXX");
        if (!mkdtemp(fuzz_dir)) abort();
    }
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) abort();
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0) abort();
        done += (size_t)w;
    }
    close(fd);
    return path;
}

static double fuzz_numel(const me_graph *g, int t) {
    if (t < 0 || t >= g->n_tensors) return 0;
    double n = 1;
    for (int k = 0; k < g->tensors[t].rank; k++) n *= (double)(g->tensors[t].dims[k] > 0 ? g->tensors[t].dims[k] : 1);
    return n;
}

/* Output size times the largest input per node: an upper bound of the work
 * of every op in the vocabulary (contractions included), far above it for
 * element-wise ops, which only makes the harness skip some runs. */
static __attribute__((unused)) double fuzz_cost(const me_graph *g) {
    double c = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const me_node *n = &g->nodes[i];
        if (n->dead) continue;
        double out = 0, in = 1;
        for (int k = 0; k < n->n_out; k++) out += fuzz_numel(g, n->out[k]);
        for (int k = 0; k < n->n_in; k++) {
            double v = fuzz_numel(g, n->in[k]);
            if (v > in) in = v;
        }
        c += out * in + out;
    }
    return c;
}

/* Zero every graph input of a created executor, then run it once. Errors are
 * fine (a clear status); crashes, leaks and hangs are what the fuzzer finds. */
static __attribute__((unused)) void fuzz_exec_zeroed(me_exec *e, const me_graph *g) {
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        void *p = me_exec_tensor_data(e, t);
        if (p) memset(p, 0, me_tensor_nbytes(&g->tensors[t]));
    }
    me_diag d;
    me_diag_init(&d);
    fuzz_note("run", me_exec_run(e, &d), &d);
    me_diag_free(&d);
}

/* Plans `g` (a graph a reader returned successfully) and, when small, runs it. */
static __attribute__((unused)) void fuzz_run_graph(const me_graph *g) {
    if (g->n_subgraphs) return; /* LLM graphs run through their sessions only */
    me_diag d;
    me_diag_init(&d);
    me_plan p;
    memset(&p, 0, sizeof p);
    me_status st = me_plan_build(g, &p, &d);
    fuzz_note("plan", st, &d);
    size_t bytes = p.arena_bytes + p.scratch_bytes;
    me_plan_free(&p);
    if (st == ME_OK && bytes <= FUZZ_MAX_RUN_BYTES && fuzz_cost(g) <= FUZZ_MAX_RUN_COST) {
        me_exec e;
        if (me_exec_create(g, &e, &d) == ME_OK) fuzz_exec_zeroed(&e, g);
        me_exec_free(&e);
    }
    me_diag_free(&d);
}

#endif
