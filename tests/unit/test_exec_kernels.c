/* The executor's kernel plumbing: me_exec_fix_kernel (a context binary's
 * per-node choice) and me_exec_set_pool. A FullyConnected + ElementWiseAdd
 * graph run with every gemm_f32 / eltwise_f32 variant this CPU has, with 1
 * and 2 threads, against a naive formula; ids that do not fit are refused. */
#include <string.h>

#include "check.h"
#include "kernels/kernels.h"
#include "runtime/exec.h"
#include "runtime/threadpool.h"

enum { B = 3, N = 20, M = 5 };

static float x[B * N], w[M * N], bias[M];

static int add_node(me_graph *g, const char *name, int op, const int *in, int nin, const char *out) {
    int o = me_graph_add_tensor(g, out, ME_DT_F32, 0, NULL, NULL);
    int n = me_graph_add_node(g, name, op, in, nin, &o, 1, "", NULL);
    me_diag d;
    me_diag_init(&d);
    CHECK(me_opdefs[op]->infer(g, &g->nodes[n], &d) == ME_OK);
    me_diag_free(&d);
    return n;
}

int main(void) {
    for (int i = 0; i < B * N; i++) x[i] = (float)((i * 7) % 11) - 5.0f;
    for (int i = 0; i < M * N; i++) w[i] = (float)((i * 5) % 9) * 0.25f - 1.0f;
    for (int i = 0; i < M; i++) bias[i] = (float)i - 2.0f;
    /* z = 2 * (x W^T + bias), written as y + y */
    double want[B * M];
    for (int b = 0; b < B; b++)
        for (int m = 0; m < M; m++) {
            double s = bias[m];
            for (int k = 0; k < N; k++) s += (double)x[b * N + k] * w[m * N + k];
            want[b * M + m] = 2 * s;
        }

    me_graph g;
    me_graph_init(&g, NULL);
    int64_t xd[2] = {B, N}, wd[2] = {M, N}, bd = M;
    int tx = me_graph_add_tensor(&g, "x", ME_DT_F32, 2, xd, NULL);
    me_graph_add_input(&g, tx);
    int fc_in[3] = {tx, me_graph_add_static_copy(&g, "w", ME_DT_F32, 2, wd, w, sizeof w, NULL),
                    me_graph_add_static_copy(&g, "b", ME_DT_F32, 1, &bd, bias, sizeof bias, NULL)};
    int fc = add_node(&g, "fc", ME_OP_FULLY_CONNECTED, fc_in, 3, "y");
    int ty = me_graph_find_tensor(&g, "y");
    int add_in[2] = {ty, ty};
    int add = add_node(&g, "add", ME_OP_ADD, add_in, 2, "z");
    me_graph_add_output(&g, me_graph_find_tensor(&g, "z"));

    me_exec e;
    me_diag d;
    me_diag_init(&d);
    if (me_exec_create(&g, &e, &d) != ME_OK) {
        fprintf(stderr, "%s\n", me_diag_text(&d));
        CHECK(0);
        return check_exit();
    }
    me_threadpool *two = me_threadpool_create(2);
    CHECK(two != NULL);
    int runs = 0;
    for (int gi = 0; gi < me_gemm_f32_kernel_count; gi++)
        for (int ei = 0; ei < me_eltwise_f32_kernel_count; ei++) {
            const me_gemm_f32_kernel *gk = &me_gemm_f32_kernels[gi];
            const me_eltwise_f32_kernel *ek = &me_eltwise_f32_kernels[ei];
            unsigned have = me_cpu_isa_detected();
            me_status s1 = me_exec_fix_kernel(&e, fc, gk->id, &d), s2 = me_exec_fix_kernel(&e, add, ek->id, &d);
            if ((have & gk->isa) != gk->isa || (have & ek->isa) != ek->isa) {
                /* refused with a reason, never run */
                CHECK(s1 != ME_OK || s2 != ME_OK);
                continue;
            }
            CHECK(s1 == ME_OK && s2 == ME_OK);
            for (int t = 0; t < 2; t++) {
                me_exec_set_pool(&e, t ? two : NULL);
                memcpy(me_exec_tensor_data(&e, tx), x, sizeof x);
                CHECK(me_exec_run(&e, &d) == ME_OK);
                const float *z = me_exec_tensor_data(&e, g.outputs[0]);
                for (int i = 0; i < B * M; i++) CHECK_NEAR(z[i], want[i], 1e-4);
                runs++;
            }
        }
    CHECK(runs >= 2);
    me_exec_set_pool(&e, NULL);
    /* the reference kernel by name; ids that are not this op's */
    CHECK(me_exec_fix_kernel(&e, fc, "ref.FullyConnected", &d) == ME_OK);
    me_diag_free(&d);
    me_diag_init(&d);
    CHECK(me_exec_fix_kernel(&e, fc, "ref.Conv2d", &d) != ME_OK);
    CHECK(me_exec_fix_kernel(&e, fc, "dwconv_f32__generic", &d) == ME_ERR_UNSUPPORTED);
    CHECK(me_exec_fix_kernel(&e, add, "gemm_f32__generic", &d) == ME_ERR_UNSUPPORTED);
    CHECK(me_exec_fix_kernel(&e, fc, "gemm_f32__sse9_1x1", &d) == ME_ERR_UNSUPPORTED);
    CHECK(me_exec_fix_kernel(&e, 99, "gemm_f32__generic", &d) == ME_ERR_INVALID_ARG);
    CHECK(strstr(me_diag_text(&d), "dwconv_f32__generic") != NULL);
    me_threadpool_destroy(two);
    me_exec_free(&e);
    me_diag_free(&d);
    me_graph_free(&g);
    return check_exit();
}
