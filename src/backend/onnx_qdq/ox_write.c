/* ONNX QDQ writer: the driver (IR walk) and the ModelProto serialisation.
 * Message sizes are computed first so the (possibly large) initializer data
 * can be streamed straight from the IR's static tensors into the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/mapfile.h"
#include "../../core/util.h"
#include "../../ops/ops.h"
#include "onnx_qdq.h"
#include "ox.h"

#define OX_PROTOBUF_LIMIT ((uint64_t)INT32_MAX) /* protobuf's 2 GiB message limit */
#define OX_CHUNK 65536

/* TensorProto fields except raw_data: dims 1, data_type 2, name 8. */
static void init_header(const ox_init *in, pb_out *h) {
    for (int i = 0; i < in->rank; i++) pb_int(h, 1, in->dims[i]);
    pb_int(h, 2, in->onnx_type);
    pb_str(h, 8, in->name);
}

/* ValueInfoProto of a graph input/output. */
static void value_info(const me_tensor *t, pb_out *out, int field) {
    pb_out dimsb = {0}, shape = {0}, tt = {0}, type = {0}, vi = {0};
    for (int i = 0; i < t->rank; i++) {
        dimsb.n = 0;
        pb_int(&dimsb, 1, t->dims[i]);
        pb_msg(&shape, 1, &dimsb);
    }
    pb_int(&tt, 1, ox_onnx_type(t->dtype));
    pb_msg(&tt, 2, &shape);
    pb_msg(&type, 1, &tt);
    pb_str(&vi, 1, t->name);
    pb_msg(&vi, 2, &type);
    pb_msg(out, field, &vi);
    pb_out_free(&dimsb);
    pb_out_free(&shape);
    pb_out_free(&tt);
    pb_out_free(&type);
    pb_out_free(&vi);
}

/* Stream the permuted view of a static tensor in chunks. */
static me_status write_permuted(me_atomic_file *f, const ox_init *in, me_diag *d) {
    int r = in->rank;
    int64_t sstride[ME_MAX_RANK], ostride_src[ME_MAX_RANK], idx[ME_MAX_RANK] = {0};
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        sstride[i] = s;
        s *= in->src_dims[i];
    }
    for (int i = 0; i < r; i++) ostride_src[i] = sstride[in->perm[i]];
    int64_t numel = me_shape_numel(r, in->dims);
    size_t esz = in->src_bits == 4 ? 0 : (size_t)in->src_bits / 8;
    uint8_t *buf = malloc(OX_CHUNK * (esz ? esz : 1));
    if (!buf) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    int64_t src = 0, done = 0;
    me_status st = ME_OK;
    while (done < numel && st == ME_OK) {
        int64_t n = numel - done < OX_CHUNK ? numel - done : OX_CHUNK; /* even unless last */
        if (!esz) memset(buf, 0, OX_CHUNK);
        for (int64_t k = 0; k < n; k++) {
            if (esz) {
                memcpy(buf + (size_t)k * esz, in->data + (size_t)src * esz, esz);
            } else {
                uint8_t nib = (in->data[src / 2] >> ((src & 1) * 4)) & 0xf;
                buf[k / 2] |= (uint8_t)(nib << ((k & 1) * 4));
            }
            for (int i = r - 1; i >= 0; i--) { /* next output index; source offset follows */
                src += ostride_src[i];
                if (++idx[i] < in->dims[i]) break;
                src -= ostride_src[i] * in->dims[i];
                idx[i] = 0;
            }
        }
        st = me_atomic_write(f, buf, esz ? (size_t)n * esz : (size_t)(n + 1) / 2, d);
        done += n;
    }
    free(buf);
    return st;
}

static me_status serialise(ox *x, const char *path) {
    const me_graph *g = x->g;
    me_diag *d = x->d;
    pb_out io = {0}, model = {0}, h = {0};
    me_status st = ME_OK;
    pb_str(&io, 2, g->name && *g->name ? g->name : "modelexport");
    for (int i = 0; i < g->n_inputs; i++) {
        const me_tensor *t = &g->tensors[g->inputs[i]];
        if (!(t->flags & ME_TF_STATIC)) value_info(t, &io, 11);
    }
    for (int i = 0; i < g->n_outputs; i++) value_info(&g->tensors[g->outputs[i]], &io, 12);

    uint64_t graph_size = (uint64_t)x->nodes.n + io.n;
    for (int i = 0; i < x->n_inits; i++) {
        h.n = 0;
        init_header(&x->inits[i], &h);
        uint64_t msg = h.n + pb_len_field_size(9, x->inits[i].nbytes);
        graph_size += pb_len_field_size(5, msg);
        if (graph_size > OX_PROTOBUF_LIMIT) break;
    }
    if (graph_size > OX_PROTOBUF_LIMIT) {
        st = me_fail(d, ME_ERR_UNSUPPORTED,
                     "onnx-qdq export: the model exceeds protobuf's 2 GiB limit (ONNX external data is not supported)");
        goto out;
    }
    /* ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8. */
    pb_int(&model, 1, x->opset >= 21 ? 10 : x->opset >= 19 ? 9 : 8);
    pb_str(&model, 2, "modelexport");
    char ver[32];
    snprintf(ver, sizeof ver, "%d.%d.%d", ME_VERSION_MAJOR, ME_VERSION_MINOR, ME_VERSION_PATCH);
    pb_str(&model, 3, ver);
    pb_out opset = {0};
    pb_str(&opset, 1, "");
    pb_int(&opset, 2, x->opset);
    pb_msg(&model, 8, &opset);
    pb_out_free(&opset);
    pb_tag(&model, 7, PB_LEN);
    pb_varint(&model, graph_size);
    if (model.oom || io.oom || x->nodes.oom || h.oom) {
        st = me_fail(d, ME_ERR_NOMEM, "out of memory");
        goto out;
    }

    me_atomic_file f;
    st = me_atomic_open(&f, path, d);
    if (st) goto out;
    if (!(st = me_atomic_write(&f, model.p, model.n, d)) && !(st = me_atomic_write(&f, x->nodes.p, x->nodes.n, d)))
        st = me_atomic_write(&f, io.p, io.n, d);
    for (int i = 0; i < x->n_inits && st == ME_OK; i++) {
        const ox_init *in = &x->inits[i];
        h.n = 0;
        init_header(in, &h);
        pb_out pre = {0};
        pb_tag(&pre, 5, PB_LEN);
        pb_varint(&pre, h.n + pb_len_field_size(9, in->nbytes));
        pb_bytes(&pre, h.p, h.n);
        pb_tag(&pre, 9, PB_LEN);
        pb_varint(&pre, in->nbytes);
        if (pre.oom || h.oom) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
        if (!st) st = me_atomic_write(&f, pre.p, pre.n, d);
        pb_out_free(&pre);
        if (st || !in->nbytes) continue;
        st = in->permuted ? write_permuted(&f, in, d) : me_atomic_write(&f, in->data, in->nbytes, d);
    }
    if (st == ME_OK) st = me_atomic_commit(&f, d);
    else me_atomic_abort(&f);
out:
    pb_out_free(&io);
    pb_out_free(&model);
    pb_out_free(&h);
    return st;
}

me_status ox_write_file(ox *x, const char *path) {
    if (x->cur_open) {
        pb_msg(&x->nodes, 1, &x->cur);
        x->cur_open = false;
    }
    if (x->st) return x->st;
    return serialise(x, path);
}

/* Opset 21 when an encoding is 16-bit or 4-bit (QuantizeLinear /
 * DequantizeLinear of opset 17 know only 8-bit and int32); else 19 for ops
 * that need it (dilated AveragePool, Pad "wrap", Resize half_pixel_symmetric);
 * else 17. */
static int pick_opset(const me_graph *g) {
    for (int t = 0; t < g->n_tensors; t++) {
        const me_tensor *tt = &g->tensors[t];
        me_dtype dt = tt->dtype;
        if (dt == ME_DT_I4 || dt == ME_DT_U4) return 21;
        if (ox_is_quantised(tt) && (dt == ME_DT_U16 || dt == ME_DT_I16)) return 21;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const me_node *n = &g->nodes[i];
        const me_param *dil = n->op == ME_OP_POOL_AVG2D ? me_node_param(n, "dilation") : NULL;
        bool dilated = dil && dil->ivals && dil->count == 2 && (dil->ivals[0] != 1 || dil->ivals[1] != 1);
        if (!n->dead && (dilated || (n->op == ME_OP_PAD && me_param_int(n, "scheme", 0) == 4) ||
                         (n->op == ME_OP_RESIZE && me_param_int(n, "half_pixel_symmetric", 0))))
            return 19;
    }
    return 17;
}

me_status me_onnx_qdq_write(const me_graph *g, const char *path, me_diag *d) {
    if (g->n_subgraphs > 0)
        return me_fail(d, ME_ERR_UNSUPPORTED, "onnx-qdq export: graphs with several entry points (LLMs) are not supported");
    ox x;
    if (ox_init_builder(&x, g, d) != ME_OK) {
        ox_free(&x);
        return ME_ERR_NOMEM;
    }
    x.opset = pick_opset(g);
    for (int i = 0; i < g->n_inputs; i++) {
        int t = g->inputs[i];
        const me_tensor *tt = &g->tensors[t];
        if (tt->flags & ME_TF_STATIC) continue;
        if (!ox_onnx_type(tt->dtype)) {
            ox_fail(&x, ME_ERR_UNSUPPORTED, "graph input '%s' has dtype %s, which ONNX lacks", tt->name,
                    me_dtype_name(tt->dtype));
            break;
        }
        x.raw[t] = tt->name;
    }
    int *order = NULL;
    int n_order = 0;
    if (!x.st) {
        order = malloc(sizeof *order * (size_t)(g->n_nodes > 0 ? g->n_nodes : 1));
        if (!order) ox_fail(&x, ME_ERR_NOMEM, "out of memory");
        else if (me_graph_toposort(g, order, &n_order, d) != ME_OK) x.st = ME_ERR_FORMAT;
    }
    for (int k = 0; k < n_order && !x.st; k++) {
        const me_node *n = &g->nodes[order[k]];
        x.node = n;
        ox_translate_node(&x, n);
        x.node = NULL;
    }
    free(order);
    /* Every graph output must be an ONNX value of its own name. */
    for (int i = 0; i < g->n_outputs && !x.st; i++) {
        int t = g->outputs[i];
        const me_tensor *tt = &g->tensors[t];
        const char *v = ox_raw(&x, t);
        if (!x.st && strcmp(v, tt->name) != 0) ox_fail(&x, ME_ERR_INTERNAL, "graph output '%s' is not produced", tt->name);
        if (!x.st && (tt->flags & (ME_TF_STATIC | ME_TF_INPUT)))
            ox_fail(&x, ME_ERR_UNSUPPORTED, "graph output '%s' is a constant or a graph input", tt->name);
    }
    me_status st = x.st ? x.st : ox_write_file(&x, path);
    ox_free(&x);
    return st;
}
