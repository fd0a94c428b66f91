/* The quantize pass on a hand-sized FullyConnected graph: weights (int4 per
 * row, packed), bias (int32 at in_scale x w_scale), Quantize/Dequantize at
 * the graph I/O, and the result verifies and runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops/ops.h"
#include "quant/quantize_pass.h"
#include "runtime/exec.h"

static void build(me_graph *g) {
    me_graph_init(g, NULL);
    int64_t dx[2] = {1, 4}, dw[2] = {2, 4}, db[1] = {2}, dy[2] = {1, 2};
    /* row 0 absmax 1.4 -> scale 0.2; row 1 absmax 0.7 -> scale 0.1 */
    static const float w[8] = {1.4f, -0.2f, 0.5f, 0.0f, -0.7f, 0.3f, 0.1f, -0.36f};
    static const float b[2] = {0.5f, -0.25f};
    int x = me_graph_add_tensor(g, "x", ME_DT_F32, 2, dx, NULL);
    int wt = me_graph_add_static_copy(g, "w", ME_DT_F32, 2, dw, w, sizeof w, NULL);
    int bt = me_graph_add_static_copy(g, "b", ME_DT_F32, 1, db, b, sizeof b, NULL);
    int y = me_graph_add_tensor(g, "y", ME_DT_F32, 2, dy, NULL);
    int in[3] = {x, wt, bt};
    me_graph_add_node(g, "fc", ME_OP_FULLY_CONNECTED, in, 3, &y, 1, "/head", NULL);
    me_graph_add_input(g, x);
    me_graph_add_output(g, y);
}

int main(void) {
    me_graph g;
    build(&g);
    me_diag d;
    me_diag_init(&d);
    me_compile_options o;
    me_compile_options_init(&o);
    o.quantize = 1;
    o.weights_bitwidth = 4;
    o.per_row = 1;
    me_enc_table t;
    CHECK(me_enc_table_init(&t, g.n_tensors, &d) == ME_OK);
    float sx = 0.01f, sy = 0.02f;
    int32_t ox = -128, oy = -100;
    me_enc_set(&t.e[0], ME_TENC_INT, 8, false, 1, &sx, &ox, &d);
    me_enc_set(&t.e[3], ME_TENC_INT, 8, false, 1, &sy, &oy, &d);
    me_status st = me_quantize_graph(&g, &o, &t, &d);
    CHECK(st == ME_OK);
    if (st != ME_OK) fprintf(stderr, "%s\n", me_diag_text(&d));
    me_diag_clear(&d);
    st = me_graph_verify(&g, &d);
    CHECK(st == ME_OK);
    if (st != ME_OK) fprintf(stderr, "%s\n", me_diag_text(&d));

    int wi = me_graph_find_tensor(&g, "w"), bi = me_graph_find_tensor(&g, "b");
    const me_tensor *w = &g.tensors[wi], *b = &g.tensors[bi];
    CHECK(w->dtype == ME_DT_I4 && w->qenc && w->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET && w->qenc->axis == 0);
    CHECK(w->qenc->n == 2 && w->qenc->is_signed && w->qenc->offsets[0] == 0);
    CHECK_NEAR(w->qenc->scales[0], 0.2, 1e-7);
    CHECK_NEAR(w->qenc->scales[1], 0.1, 1e-7);
    /* codes: row 0 {7, -1, 2 (0.5f / 0.2f is just below 2.5), 0}, row 1 {-7, 3, 1, -4}
     * packed low nibble first: 0xF7, 0x02, 0x39, 0xC1 */
    static const unsigned char packed[4] = {0xF7, 0x02, 0x39, 0xC1};
    CHECK(w->nbytes == 4 && memcmp(w->data, packed, 4) == 0);
    /* bias: 0.5 / (0.01 * 0.2) = 250, -0.25 / (0.01 * 0.1) = -250 */
    CHECK(b->dtype == ME_DT_I32 && b->qenc && b->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET);
    if (b->dtype == ME_DT_I32) {
        const int32_t *bq = b->data;
        CHECK(bq[0] == 250 && bq[1] == -250);
    }
    CHECK_NEAR(b->qenc->scales[0], 0.002, 1e-9);
    /* graph I/O stay float; a Quantize after x, a Dequantize before y */
    int x = g.inputs[0], y = g.outputs[0];
    CHECK(g.tensors[x].dtype == ME_DT_F32 && strcmp(g.tensors[x].name, "x") == 0);
    CHECK(g.tensors[y].dtype == ME_DT_F32 && strcmp(g.tensors[y].name, "y") == 0);
    int nq = 0, ndq = 0, nfc = 0;
    for (int i = 0; i < g.n_nodes; i++) {
        nq += g.nodes[i].op == ME_OP_QUANTIZE;
        ndq += g.nodes[i].op == ME_OP_DEQUANTIZE;
        if (g.nodes[i].op == ME_OP_FULLY_CONNECTED) {
            nfc++;
            CHECK(g.tensors[g.nodes[i].in[0]].dtype == ME_DT_U8);
            CHECK(g.tensors[g.nodes[i].out[0]].dtype == ME_DT_U8);
        }
    }
    CHECK(nq == 1 && ndq == 1 && nfc == 1);
    /* the used encodings are reported back (unsigned view for the weights) */
    CHECK(t.e[wi].kind == ME_TENC_INT && t.e[wi].n == 2 && t.e[wi].offsets[0] == -8 && t.e[wi].bw == 4);

    /* run: y = x . W^T + b with the quantised weights, within a few output steps */
    me_exec e;
    me_diag_clear(&d);
    st = me_exec_create(&g, &e, &d);
    CHECK(st == ME_OK);
    if (st == ME_OK) {
        float *xi = me_exec_tensor_data(&e, x);
        const float xv[4] = {0.5f, -1.0f, 0.25f, 1.0f};
        memcpy(xi, xv, sizeof xv);
        st = me_exec_run(&e, &d);
        CHECK(st == ME_OK);
        if (st != ME_OK) fprintf(stderr, "%s\n", me_diag_text(&d));
        const float *yo = me_exec_tensor_data(&e, y);
        /* with the dequantised weights {1.4,-0.2,0.4,0}, {-0.7,0.3,0.1,-0.4} */
        double y0 = 0.5 * 1.4 + 1.0 * 0.2 + 0.25 * 0.4 + 0.5, y1 = -0.35 - 0.3 + 0.025 - 0.4 - 0.25;
        CHECK_NEAR(yo[0], y0, 0.03);
        CHECK_NEAR(yo[1], y1, 0.03);
        me_exec_free(&e);
    }
    me_enc_table_free(&t);
    me_diag_free(&d);
    me_graph_free(&g);
    return check_exit();
}
