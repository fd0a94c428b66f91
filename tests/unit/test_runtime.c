/* Runtime: the memory planner never lets tensors with overlapping lifetimes
 * share bytes (brute force over random DAGs, lifetimes recomputed here), a
 * tiny graph runs to hand-computed values, and a kernel's data error comes
 * back naming the node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops/ops.h"
#include "runtime/exec.h"

static int rnd(int n) { return rand() % n; }

/* ---- planner on raw intervals ---- */
static void test_offsets_known(void) {
    /* A[0,1], B[1,2], C[2,3], 100 bytes each: A and C may share, B may not. */
    size_t size[3] = {100, 100, 100}, off[3], total;
    int first[3] = {0, 1, 2}, last[3] = {1, 2, 3};
    CHECK(me_plan_offsets(3, size, first, last, off, &total, NULL) == ME_OK);
    CHECK(total == 256);
    CHECK(off[0] != off[1] && off[1] != off[2]);
    CHECK(off[0] == off[2]);
}

static void test_offsets_random(void) {
    int bad = 0;
    for (int trial = 0; trial < 300; trial++) {
        int n = 1 + rnd(60);
        size_t size[60], off[60], total;
        int first[60], last[60];
        for (int i = 0; i < n; i++) {
            size[i] = (size_t)rnd(5) == 0 ? 0 : (size_t)(1 + rnd(5000));
            first[i] = rnd(5) == 0 ? -1 : rnd(30);
            last[i] = first[i] < 0 ? -1 : first[i] + rnd(10);
        }
        if (me_plan_offsets(n, size, first, last, off, &total, NULL) != ME_OK) { bad++; continue; }
        for (int i = 0; i < n; i++) {
            if (first[i] < 0) { bad += off[i] != ME_PLAN_NONE; continue; }
            bad += off[i] % 64 != 0 || off[i] + size[i] > total;
            for (int j = 0; j < i; j++) {
                if (first[j] < 0 || !size[i] || !size[j]) continue;
                int live_together = first[i] <= last[j] && first[j] <= last[i];
                int share = off[i] < off[j] + size[j] && off[j] < off[i] + size[i];
                bad += live_together && share;
            }
        }
    }
    CHECK(bad == 0);
}

/* ---- planner on random graphs ---- */
static void test_plan_random_dags(void) {
    int bad_order = 0, bad_overlap = 0, bad_bounds = 0, reused = 0;
    for (int trial = 0; trial < 200; trial++) {
        me_graph g;
        me_graph_init(&g, NULL);
        char name[32];
        int n_in = 1 + rnd(3);
        for (int i = 0; i < n_in; i++) {
            int64_t dim = rnd(300);
            snprintf(name, sizeof name, "in%d", i);
            me_graph_add_input(&g, me_graph_add_tensor(&g, name, ME_DT_F32, 1, &dim, NULL));
        }
        float cst[4] = {1, 2, 3, 4};
        int64_t four = 4;
        me_graph_add_static_copy(&g, "const", ME_DT_F32, 1, &four, cst, sizeof cst, NULL);
        int n_nodes = 1 + rnd(40);
        for (int k = 0; k < n_nodes; k++) {
            int in[3], out[2], ni = 1 + rnd(3), no = 1 + rnd(2);
            for (int i = 0; i < ni; i++) in[i] = rnd(g.n_tensors);
            for (int o = 0; o < no; o++) {
                int64_t dim = rnd(8) == 0 ? 0 : 1 + rnd(600);
                snprintf(name, sizeof name, "t%d_%d", k, o);
                out[o] = me_graph_add_tensor(&g, name, ME_DT_F32, 1, &dim, NULL);
                if (rnd(5) == 0) me_graph_add_output(&g, out[o]);
            }
            snprintf(name, sizeof name, "n%d", k);
            me_graph_add_node(&g, name, ME_OP_ADD, in, ni, out, no, "", NULL);
        }
        if (g.n_outputs == 0) me_graph_add_output(&g, g.n_tensors - 1);

        me_plan p;
        if (me_plan_build(&g, &p, NULL) != ME_OK) { bad_order++; me_graph_free(&g); continue; }
        int S = p.n_steps, nt = g.n_tensors;
        int *pos = malloc(sizeof(int) * (size_t)g.n_nodes);
        for (int i = 0; i < g.n_nodes; i++) pos[i] = -1;
        for (int s = 0; s < S; s++) pos[p.order[s]] = s;
        bad_order += S != g.n_nodes;
        for (int i = 0; i < g.n_nodes; i++) {
            if (pos[i] < 0) { bad_order++; continue; }
            for (int k = 0; k < g.nodes[i].n_in; k++) {
                int pr = g.tensors[g.nodes[i].in[k]].producer;
                if (pr >= 0 && pos[pr] >= pos[i]) bad_order++;
            }
        }
        /* lifetimes, recomputed: graph I/O whole run, else producer step .. last reader step */
        int *lo = malloc(sizeof(int) * (size_t)nt), *hi = malloc(sizeof(int) * (size_t)nt);
        for (int t = 0; t < nt; t++) {
            const me_tensor *tt = &g.tensors[t];
            int io = (tt->flags & (ME_TF_INPUT | ME_TF_OUTPUT)) != 0;
            if (tt->flags & ME_TF_STATIC) { lo[t] = hi[t] = -1; continue; }
            lo[t] = io ? 0 : pos[tt->producer];
            hi[t] = io ? S - 1 : lo[t];
        }
        for (int i = 0; i < g.n_nodes; i++)
            for (int k = 0; k < g.nodes[i].n_in; k++) {
                int t = g.nodes[i].in[k];
                if (lo[t] >= 0 && pos[i] > hi[t]) hi[t] = pos[i];
            }
        size_t sum = 0;
        for (int t = 0; t < nt; t++) {
            const me_tensor *tt = &g.tensors[t];
            if (tt->flags & ME_TF_STATIC) { bad_bounds += p.offset[t] != ME_PLAN_NONE; continue; }
            size_t bt = me_tensor_nbytes(tt);
            sum += bt;
            bad_bounds += p.offset[t] == ME_PLAN_NONE || p.offset[t] % 64 || p.offset[t] + bt > p.arena_bytes;
            for (int u = 0; u < t; u++) {
                const me_tensor *tu = &g.tensors[u];
                if (tu->flags & ME_TF_STATIC) continue;
                size_t bu = me_tensor_nbytes(tu);
                if (!bt || !bu) continue;
                int live_together = lo[t] <= hi[u] && lo[u] <= hi[t];
                int share = p.offset[t] < p.offset[u] + bu && p.offset[u] < p.offset[t] + bt;
                bad_overlap += live_together && share;
            }
        }
        bad_bounds += p.arena_bytes > p.sum_bytes;
        if (p.arena_bytes < sum) reused++;
        free(pos); free(lo); free(hi);
        me_plan_free(&p);
        me_graph_free(&g);
    }
    CHECK(bad_order == 0);
    CHECK(bad_overlap == 0);
    CHECK(bad_bounds == 0);
    CHECK(reused > 0); /* the planner actually reuses memory on some graphs */
    printf("planner: %d of 200 random graphs used less memory than the sum of their tensors\n", reused);
}

/* ---- execution ---- */
static int node(me_graph *g, const char *name, int op, const int *in, int nin, const char *out) {
    int o = me_graph_add_tensor(g, out, ME_DT_F32, 0, NULL, NULL);
    int n = me_graph_add_node(g, name, op, in, nin, &o, 1, "", NULL);
    return n;
}

static int infer_ok(me_graph *g, int n) {
    me_diag d;
    me_diag_init(&d);
    me_status st = me_opdefs[g->nodes[n].op]->infer(g, &g->nodes[n], &d);
    if (st != ME_OK) fprintf(stderr, "%s\n", me_diag_text(&d));
    me_diag_free(&d);
    return st == ME_OK;
}

static void test_tiny_graph(void) {
    /* y = relu(x + w); z = y + x; outputs z and y */
    me_graph g;
    me_graph_init(&g, NULL);
    int64_t four = 4;
    const float w[4] = {1, -1, 0.5f, -3};
    const float x[4] = {-2, 0.5f, 2, 1};
    int tx = me_graph_add_tensor(&g, "x", ME_DT_F32, 1, &four, NULL);
    int tw = me_graph_add_static_copy(&g, "w", ME_DT_F32, 1, &four, w, sizeof w, NULL);
    me_graph_add_input(&g, tx);
    int a_in[2] = {tx, tw};
    int n0 = node(&g, "add0", ME_OP_ADD, a_in, 2, "a");
    CHECK(infer_ok(&g, n0));
    int ta = me_graph_find_tensor(&g, "a");
    int n1 = node(&g, "relu0", ME_OP_RELU, &ta, 1, "y");
    CHECK(infer_ok(&g, n1));
    int ty = me_graph_find_tensor(&g, "y");
    int b_in[2] = {ty, tx};
    int n2 = node(&g, "add1", ME_OP_ADD, b_in, 2, "z");
    CHECK(infer_ok(&g, n2));
    me_graph_add_output(&g, me_graph_find_tensor(&g, "z"));
    me_graph_add_output(&g, ty);

    me_exec e;
    me_diag d;
    me_diag_init(&d);
    me_status st = me_exec_create(&g, &e, &d);
    CHECK(st == ME_OK);
    if (st != ME_OK) { fprintf(stderr, "%s\n", me_diag_text(&d)); me_diag_free(&d); me_graph_free(&g); return; }
    printf("tiny graph: activation buffer %zu bytes, tensors sum %zu bytes\n", e.plan.arena_bytes, e.plan.sum_bytes);
    for (int rep = 0; rep < 2; rep++) { /* a second run gives the same answer */
        memcpy(me_exec_tensor_data(&e, tx), x, sizeof x);
        CHECK(me_exec_run(&e, &d) == ME_OK);
        const float *z = me_exec_tensor_data(&e, g.outputs[0]);
        const float *y = me_exec_tensor_data(&e, g.outputs[1]);
        const float want_y[4] = {0, 0, 2.5f, 0};      /* relu(-1, -0.5, 2.5, -2) */
        const float want_z[4] = {-2, 0.5f, 4.5f, 1};  /* want_y + x */
        for (int i = 0; i < 4; i++) {
            CHECK_NEAR(y[i], want_y[i], 0);
            CHECK_NEAR(z[i], want_z[i], 0);
        }
    }
    me_exec_free(&e);
    me_diag_free(&d);
    me_graph_free(&g);
}

static void test_kernel_error_names_node(void) {
    me_graph g;
    me_graph_init(&g, NULL);
    int64_t three = 3, two = 2;
    const float data[3] = {10, 20, 30};
    int td = me_graph_add_static_copy(&g, "table", ME_DT_F32, 1, &three, data, sizeof data, NULL);
    int ti = me_graph_add_tensor(&g, "idx", ME_DT_I32, 1, &two, NULL);
    me_graph_add_input(&g, ti);
    int in[2] = {td, ti};
    int n = node(&g, "lookup", ME_OP_GATHER, in, 2, "out");
    me_node_set_scalar_i32(&g, n, "axis", 0);
    CHECK(infer_ok(&g, n));
    me_graph_add_output(&g, me_graph_find_tensor(&g, "out"));
    me_exec e;
    me_diag d;
    me_diag_init(&d);
    CHECK(me_exec_create(&g, &e, &d) == ME_OK);
    int32_t good[2] = {2, 0}, bad[2] = {1, 7};
    memcpy(me_exec_tensor_data(&e, ti), good, sizeof good);
    CHECK(me_exec_run(&e, &d) == ME_OK);
    const float *o = me_exec_tensor_data(&e, g.outputs[0]);
    CHECK(o[0] == 30 && o[1] == 10);
    memcpy(me_exec_tensor_data(&e, ti), bad, sizeof bad);
    CHECK(me_exec_run(&e, &d) != ME_OK);
    CHECK(strstr(me_diag_text(&d), "lookup") != NULL);
    me_exec_free(&e);
    me_diag_free(&d);
    me_graph_free(&g);
}

int main(void) {
    srand(2024);
    test_offsets_known();
    test_offsets_random();
    test_plan_random_dags();
    test_tiny_graph();
    test_kernel_error_names_node();
    return check_exit();
}
