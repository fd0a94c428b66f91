/* Tile: repeat the input `multiples[a]` times along each axis a
 * (`multiples` U32 [rank]; 0 gives an empty output). */
#include <string.h>

#include "../core/util.h"
#include "movement.h"

static const me_param_schema tile_params[] = {
    {"multiples", ME_PARAM_TENSOR, ME_DT_U32, true},
    {NULL},
};

static me_status tile_plan(const me_node *n, const me_tensor *in, int64_t *mult, int64_t *out_dims, me_diag *d) {
    const me_param *p = me_mv_int_tensor(n, "multiples", ME_DT_U32, 1, in->rank, 0, d);
    if (!p) return ME_ERR_FORMAT;
    for (int a = 0; a < in->rank; a++) {
        mult[a] = p->ivals[a];
        if (mult[a] < 0 || mult[a] > UINT32_MAX)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Tile): multiples[%d] is not U32", n->name, a);
        if (!me_mul_i64(in->dims[a], mult[a], &out_dims[a]))
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Tile): output is too large", n->name);
    }
    return ME_OK;
}

static me_status tile_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *in = me_mv_input(g, n, 0, d);
    if (!in) return ME_ERR_FORMAT;
    if (!me_mv_elem_size(n, in->dtype, d)) return ME_ERR_UNSUPPORTED;
    int64_t mult[ME_MAX_RANK], dims[ME_MAX_RANK];
    me_status st = tile_plan(n, in, mult, dims, d);
    if (st != ME_OK) return st;
    return me_set_output(g, n, 0, in->dtype, in->rank, dims, d);
}

typedef struct tile_walk {
    int rank;
    const int64_t *in_dims, *mult;
    int64_t in_str[ME_MAX_RANK], out_str[ME_MAX_RANK]; /* bytes */
} tile_walk;

/* Write the tiled block of axes a.. : first one copy of the input extent of
 * axis a (recursively tiled inside), then replicate it mult[a]-1 times. */
static void tile_axis(const tile_walk *w, int a, const char *src, char *dst) {
    size_t block = (size_t)(w->in_dims[a] * w->out_str[a]);
    if (a == w->rank - 1) memcpy(dst, src, block);
    else
        for (int64_t j = 0; j < w->in_dims[a]; j++) tile_axis(w, a + 1, src + j * w->in_str[a], dst + j * w->out_str[a]);
    size_t total = block * (size_t)w->mult[a];
    for (size_t done = block; done < total;) {
        size_t c = done < total - done ? done : total - done;
        memcpy(dst + done, dst, c);
        done += c;
    }
}

static me_status tile_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *in = k->in[0];
    size_t es = me_mv_elem_size(k->node, in->dtype, d);
    if (!es) return ME_ERR_UNSUPPORTED;
    int64_t mult[ME_MAX_RANK], dims[ME_MAX_RANK];
    me_status st = tile_plan(k->node, in, mult, dims, d);
    if (st == ME_OK) st = me_mv_check_out(k, 0, in->rank, dims, es, d);
    if (st != ME_OK) return st;
    if (me_shape_numel(in->rank, dims) == 0) return ME_OK;
    if (in->rank == 0) {
        memcpy(k->out_data[0], k->in_data[0], es);
        return ME_OK;
    }
    tile_walk w = {.rank = in->rank, .in_dims = in->dims, .mult = mult};
    int64_t si = (int64_t)es, so = (int64_t)es;
    for (int a = in->rank - 1; a >= 0; a--) {
        w.in_str[a] = si;
        w.out_str[a] = so;
        si *= in->dims[a];
        so *= dims[a];
    }
    tile_axis(&w, 0, k->in_data[0], k->out_data[0]);
    return ME_OK;
}

const me_opdef me_opdef_TILE = {
    .name = "Tile", .package = "qti.aisw",
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .params = tile_params,
    .infer = tile_infer, .run = tile_run,
};
