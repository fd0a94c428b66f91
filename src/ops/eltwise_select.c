/* ElementWiseSelect: out = cond ? a : b with three-way numpy broadcasting.
 * Values of any byte-sized dtype are moved as raw elements. */
#include <string.h>

#include "eltwise_util.h"

static me_status select_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 3, d);
    if (st != ME_OK) return st;
    const me_tensor *c = &g->tensors[n->in[0]], *a = &g->tensors[n->in[1]], *b = &g->tensors[n->in[2]];
    if (c->dtype != ME_DT_BOOL)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "condition has dtype %s, expected bool", me_dtype_name(c->dtype));
    if (a->dtype != b->dtype)
        return me_op_fail(d, ME_ERR_FORMAT, n, "value inputs have different dtypes %s and %s", me_dtype_name(a->dtype),
                          me_dtype_name(b->dtype));
    size_t es = me_dtype_size(a->dtype);
    if (es != 1 && es != 2 && es != 4 && es != 8)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtype %s", me_dtype_name(a->dtype));
    int r1, r;
    int64_t d1[ME_MAX_RANK], dims[ME_MAX_RANK];
    if (me_broadcast_shape(c->rank, c->dims, a->rank, a->dims, &r1, d1) != ME_OK ||
        me_broadcast_shape(r1, d1, b->rank, b->dims, &r, dims) != ME_OK) {
        char sc[ME_SHAPE_STR_MAX], sa[ME_SHAPE_STR_MAX], sb[ME_SHAPE_STR_MAX];
        return me_op_fail(d, ME_ERR_FORMAT, n, "input shapes %s, %s and %s do not broadcast",
                          me_shape_str(sc, c->rank, c->dims), me_shape_str(sa, a->rank, a->dims),
                          me_shape_str(sb, b->rank, b->dims));
    }
    return me_set_output(g, n, 0, a->dtype, r, dims, d);
}

#define DEF_SELECT_ROW(NAME, T)                                                                      \
    static void NAME(const uint8_t *c, int64_t sc, const void *pa, int64_t sa, const void *pb, int64_t sb, \
                     void *po, int64_t n) {                                                          \
        const T *a = pa, *b = pb;                                                                    \
        T *o = po;                                                                                   \
        for (int64_t i = 0; i < n; i++) o[i] = c[i * sc] ? a[i * sa] : b[i * sb];                    \
    }
DEF_SELECT_ROW(select_row8, uint8_t)
DEF_SELECT_ROW(select_row16, uint16_t)
DEF_SELECT_ROW(select_row32, uint32_t)
DEF_SELECT_ROW(select_row64, uint64_t)

static me_status select_run(const me_kernel_ctx *k, me_diag *d) {
    size_t es = me_dtype_size(k->in[1]->dtype);
    void (*row)(const uint8_t *, int64_t, const void *, int64_t, const void *, int64_t, void *, int64_t);
    switch (es) {
    case 1: row = select_row8; break;
    case 2: row = select_row16; break;
    case 4: row = select_row32; break;
    case 8: row = select_row64; break;
    default: return me_fail(d, ME_ERR_UNSUPPORTED, "Select: no kernel for dtype %s", me_dtype_name(k->in[1]->dtype));
    }
    me_bcast b;
    me_bcast_plan_ctx(&b, k, 3);
    me_bcast_it it;
    me_bcast_begin(&b, &it);
    const uint8_t *pc = k->in_data[0], *pa = k->in_data[1], *pb = k->in_data[2];
    uint8_t *po = k->out_data[0];
    for (int64_t r = 0; r < it.rows; r++, me_bcast_step(&b, &it))
        row(pc + it.off[0], b.inner[0], pa + (size_t)it.off[1] * es, b.inner[1], pb + (size_t)it.off[2] * es,
            b.inner[2], po + (size_t)it.out_off * es, b.row_len);
    return ME_OK;
}

static const me_param_schema no_params[] = {{NULL}};

const me_opdef me_opdef_SELECT = {"ElementWiseSelect", "qti.aisw", 3, 3, 1, 1, no_params, select_infer, select_run, NULL};
