/* me_import_onnx: map and parse the file, check opset and op support, bind
 * initializers and graph inputs, translate nodes in topological order, bind
 * graph outputs, verify. */
#define _GNU_SOURCE
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/sha256.h"
#include "../../core/util.h"
#include "../frontend.h"
#include "onnx_ctx.h"

#define MIN_OPSET 7
#define MAX_OPSET 28
#define MAX_LISTED_UNSUPPORTED 200

/* ---- translator table (onnx_ops.def) ---- */
typedef struct tr_entry { const char *op; mo_translate_fn fn; } tr_entry;
static const tr_entry tr_table[] = {
#define X(op_type, fn) {op_type, fn},
#include "onnx_ops.def"
#undef X
};

static mo_translate_fn find_translator(const char *op) {
    for (size_t i = 0; i < ME_ARRAY_LEN(tr_table); i++)
        if (strcmp(tr_table[i].op, op) == 0) return tr_table[i].fn;
    return NULL;
}

/* ---- growable string list (malloc) ---- */
typedef struct strlist { const char **v; int n, cap; } strlist;

static bool strlist_add(strlist *l, const char *s) {
    if (l->n >= l->cap) {
        int nc = l->cap ? l->cap * 2 : 16;
        const char **nv = realloc(l->v, (size_t)nc * sizeof *nv);
        if (!nv) return false;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = s;
    return true;
}

/* ---- diag save/restore (a must-be-fixed failure drops the node's messages) ---- */
typedef struct diag_mark { size_t len; int count; } diag_mark;
static diag_mark diag_save(const me_diag *d) { diag_mark m = {d ? d->len : 0, d ? d->count : 0}; return m; }
static void diag_restore(me_diag *d, diag_mark m) {
    if (!d) return;
    d->len = m.len;
    d->count = m.count;
    if (d->text) d->text[m.len] = 0;
}

/* ---- node names, name registry, op support ---- */
static bool name_nodes(me_arena *a, onnx_graph *gr, const char *prefix) {
    for (int i = 0; i < gr->n_nodes; i++) {
        onnx_node *n = &gr->nodes[i];
        if (!n->name[0]) {
            n->name = prefix ? me_arena_printf(a, "%s/%s_%d", prefix, n->op_type, i)
                             : me_arena_printf(a, "%s_%d", n->op_type, i);
            if (!n->name) return false;
        }
        for (int k = 0; k < n->n_attr; k++) {
            onnx_attr *at = &n->attrs[k];
            if (at->type == ONNX_ATTR_GRAPH && at->g) {
                const char *p = me_arena_printf(a, "%s/%s", n->name, at->name);
                if (!p || !name_nodes(a, at->g, p)) return false;
            }
        }
    }
    return true;
}

static bool register_vi_names(mo_ctx *c, const onnx_value_info *v, int n) {
    for (int i = 0; i < n; i++)
        if (!mo_strmap_put(&c->onnx_names, v[i].name, 1)) return false;
    return true;
}

static bool register_names(mo_ctx *c, const onnx_graph *gr) {
    for (int i = 0; i < gr->n_inits; i++)
        if (!mo_strmap_put(&c->onnx_names, gr->inits[i].name, 1)) return false;
    if (!register_vi_names(c, gr->inputs, gr->n_inputs) || !register_vi_names(c, gr->outputs, gr->n_outputs) ||
        !register_vi_names(c, gr->value_info, gr->n_value_info))
        return false;
    for (int i = 0; i < gr->n_nodes; i++) {
        const onnx_node *n = &gr->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->inputs[k][0] && !mo_strmap_put(&c->onnx_names, n->inputs[k], 1)) return false;
        for (int k = 0; k < n->n_out; k++)
            if (n->outputs[k][0] && !mo_strmap_put(&c->onnx_names, n->outputs[k], 1)) return false;
        for (int k = 0; k < n->n_attr; k++)
            if (n->attrs[k].type == ONNX_ATTR_GRAPH && n->attrs[k].g && !register_names(c, n->attrs[k].g)) return false;
    }
    return true;
}

typedef struct unsup { int count; char *text; size_t len, cap; } unsup;

static void unsup_add(unsup *u, const char *item) {
    u->count++;
    if (u->count > MAX_LISTED_UNSUPPORTED) return;
    size_t n = strlen(item);
    size_t need = u->len + n + 3;
    if (need > u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 256;
        while (cap < need) cap *= 2;
        char *t = realloc(u->text, cap);
        if (!t) return;
        u->text = t;
        u->cap = cap;
    }
    if (u->len) { memcpy(u->text + u->len, ", ", 2); u->len += 2; }
    memcpy(u->text + u->len, item, n);
    u->len += n;
    u->text[u->len] = 0;
}

static void scan_unsupported(const onnx_graph *gr, unsup *u) {
    char buf[1024];
    for (int i = 0; i < gr->n_nodes; i++) {
        const onnx_node *n = &gr->nodes[i];
        if (n->domain[0]) {
            snprintf(buf, sizeof buf, "%s.%s (node '%s')", n->domain, n->op_type, n->name);
            unsup_add(u, buf);
        } else if (!find_translator(n->op_type)) {
            snprintf(buf, sizeof buf, "%s (node '%s')", n->op_type, n->name);
            unsup_add(u, buf);
        }
        for (int k = 0; k < n->n_attr; k++)
            if (n->attrs[k].type == ONNX_ATTR_GRAPH && n->attrs[k].g) scan_unsupported(n->attrs[k].g, u);
    }
}

/* ---- initializers and constant tensors ---- */
int mo_make_initializer(mo_ctx *c, const onnx_tensor *t) {
    me_graph *g = c->g;
    const char *nm = t->name;
    me_dtype dt = onnx_to_me_dtype(t->data_type);
    if (t->data_type == ONNX_DOUBLE) {
        me_diag_add(c->d, "tensor '%s' has type DOUBLE (float64), which is not supported", nm);
        return -1;
    }
    if (dt == ME_DT_UNDEFINED) { /* INT4/UINT4 load packed, low nibble first (ONNX's and our order) */
        me_diag_add(c->d, "tensor '%s' has type %s, which is not supported", nm, onnx_dtype_name(t->data_type));
        return -1;
    }
    int64_t numel = me_shape_numel(t->rank, t->dims);
    if (numel < 0) { me_diag_add(c->d, "tensor '%s' has an invalid shape", nm); return -1; }
    if (numel > 0 && !t->data) { me_diag_add(c->d, "tensor '%s' has no data", nm); return -1; }
    const char *name = me_graph_find_tensor(g, nm) < 0 && nm[0] ? nm : mo_unique_name(c, nm[0] ? nm : "const");
    if (!name) { me_diag_add(c->d, "out of memory"); return -1; }
    int id;
    bool ref = false;
    size_t es = me_dtype_size(dt);
    if (dt == ME_DT_F16 || dt == ME_DT_BF16) {
        /* float16 models are computed in float32 */
        float *f = mo_big_alloc(c, (size_t)numel * sizeof(float));
        if (!f) { me_diag_add(c->d, "out of memory converting tensor '%s'", nm); return -1; }
        const uint8_t *p = t->data;
        for (int64_t i = 0; i < numel; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            f[i] = dt == ME_DT_F16 ? me_f16_to_f32(h) : me_bf16_to_f32(h);
        }
        id = me_graph_add_static_ref(g, name, ME_DT_F32, t->rank, t->dims, f, (size_t)numel * 4, c->d);
        if (t->nbytes) mo_drop_pages(c, t->data, t->nbytes);
    } else if (t->data && es > 1 && ((uintptr_t)t->data % es) != 0) {
        /* unaligned raw_data: kernels read aligned elements, so copy (and let the file pages go) */
        void *copy = mo_big_alloc(c, t->nbytes);
        if (!copy) { me_diag_add(c->d, "out of memory copying tensor '%s'", nm); return -1; }
        memcpy(copy, t->data, t->nbytes);
        mo_drop_pages(c, t->data, t->nbytes);
        id = me_graph_add_static_ref(g, name, dt, t->rank, t->dims, copy, t->nbytes, c->d);
        ref = true; /* releasable like file data */
    } else {
        id = me_graph_add_static_ref(g, name, dt, t->rank, t->dims, t->data, t->nbytes, c->d);
        ref = true;
    }
    if (id < 0 || !mo_track_tensors(c)) return -1;
    if (ref) c->tflags[id] |= MO_T_FROM_FILE;
    return id;
}

/* ---- topological order of one ONNX graph ---- */

/* Names a subgraph reads from enclosing scopes. */
static bool collect_implicit(const onnx_graph *sub, mo_strmap *local, me_arena *a, strlist *out) {
    for (int i = 0; i < sub->n_inits; i++)
        if (!mo_strmap_put(local, sub->inits[i].name, 1)) return false;
    for (int i = 0; i < sub->n_inputs; i++)
        if (!mo_strmap_put(local, sub->inputs[i].name, 1)) return false;
    for (int i = 0; i < sub->n_nodes; i++)
        for (int k = 0; k < sub->nodes[i].n_out; k++)
            if (sub->nodes[i].outputs[k][0] && !mo_strmap_put(local, sub->nodes[i].outputs[k], 1)) return false;
    for (int i = 0; i < sub->n_nodes; i++) {
        const onnx_node *n = &sub->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->inputs[k][0] && !mo_strmap_get(local, n->inputs[k], 0) && !strlist_add(out, n->inputs[k])) return false;
        for (int k = 0; k < n->n_attr; k++)
            if (n->attrs[k].type == ONNX_ATTR_GRAPH && n->attrs[k].g &&
                !collect_implicit(n->attrs[k].g, local, a, out))
                return false;
    }
    for (int i = 0; i < sub->n_outputs; i++)
        if (!mo_strmap_get(local, sub->outputs[i].name, 0) && !strlist_add(out, sub->outputs[i].name)) return false;
    return true;
}

/* All names node n reads: explicit inputs, then those of its subgraphs. */
static bool node_deps(const onnx_node *n, me_arena *a, strlist *out) {
    out->n = 0;
    for (int k = 0; k < n->n_in; k++)
        if (n->inputs[k][0] && !strlist_add(out, n->inputs[k])) return false;
    for (int k = 0; k < n->n_attr; k++) {
        if (n->attrs[k].type != ONNX_ATTR_GRAPH || !n->attrs[k].g) continue;
        mo_strmap local = {0};
        bool ok = collect_implicit(n->attrs[k].g, &local, a, out);
        mo_strmap_free(&local);
        if (!ok) return false;
    }
    return true;
}

static me_status toposort(mo_ctx *c, const onnx_graph *gr, int *order, strlist **deps_out) {
    int nn = gr->n_nodes;
    me_status st = ME_OK;
    mo_strmap prod = {0};
    int *indeg = calloc((size_t)(nn ? nn : 1), sizeof(int));
    strlist *deps = calloc((size_t)(nn ? nn : 1), sizeof(strlist));
    int *cstart = NULL, *cons = NULL, *fill = NULL;
    if (!indeg || !deps) goto oom;
    for (int i = 0; i < nn; i++) {
        const onnx_node *n = &gr->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            const char *o = n->outputs[k];
            if (!o[0]) continue;
            int other = mo_strmap_get(&prod, o, -1);
            if (other >= 0 || mo_value_find(c, o) >= 0) {
                st = me_fail(c->d, ME_ERR_FORMAT, "node '%s' (%s): output '%s' is already defined%s%s%s", n->name,
                             n->op_type, o, other >= 0 ? " by node '" : " (initializer or graph input)",
                             other >= 0 ? gr->nodes[other].name : "", other >= 0 ? "'" : "");
                goto done;
            }
            if (!mo_strmap_put(&prod, o, i)) goto oom;
        }
    }
    /* edges: consumer lists in CSR form */
    cstart = calloc((size_t)nn + 1, sizeof(int));
    if (!cstart) goto oom;
    for (int i = 0; i < nn; i++) {
        const onnx_node *n = &gr->nodes[i];
        if (!node_deps(n, &c->g->arena, &deps[i])) goto oom;
        for (int k = 0; k < deps[i].n; k++) {
            const char *nm = deps[i].v[k];
            int p = mo_strmap_get(&prod, nm, -1);
            if (p >= 0) { cstart[p + 1]++; indeg[i]++; continue; }
            if (mo_value_find(c, nm) < 0) {
                st = me_fail(c->d, ME_ERR_FORMAT, "node '%s' (%s): input '%s' is not produced by any node, initializer or graph input",
                             n->name, n->op_type, nm);
                goto done;
            }
        }
    }
    for (int i = 0; i < nn; i++) cstart[i + 1] += cstart[i];
    cons = malloc((size_t)(cstart[nn] ? cstart[nn] : 1) * sizeof(int));
    fill = calloc((size_t)(nn ? nn : 1), sizeof(int));
    if (!cons || !fill) goto oom;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < deps[i].n; k++) {
            int p = mo_strmap_get(&prod, deps[i].v[k], -1);
            if (p >= 0) cons[cstart[p] + fill[p]++] = i;
        }
    int qh = 0, qt = 0;
    for (int i = 0; i < nn; i++)
        if (indeg[i] == 0) order[qt++] = i;
    while (qh < qt) {
        int i = order[qh++];
        for (int e = cstart[i]; e < cstart[i + 1]; e++)
            if (--indeg[cons[e]] == 0) order[qt++] = cons[e];
    }
    if (qt != nn) {
        for (int i = 0; i < nn; i++)
            if (indeg[i] > 0) {
                st = me_fail(c->d, ME_ERR_FORMAT, "the graph has a cycle through node '%s'", gr->nodes[i].name);
                break;
            }
    }
    goto done;
oom:
    st = me_fail(c->d, ME_ERR_NOMEM, "out of memory");
done:
    mo_strmap_free(&prod);
    free(indeg);
    free(cstart);
    free(cons);
    free(fill);
    if (st != ME_OK || !deps_out) {
        if (deps)
            for (int i = 0; i < nn; i++) free(deps[i].v);
        free(deps);
        if (deps_out) *deps_out = NULL;
    } else {
        *deps_out = deps;
    }
    return st;
}

/* ---- translating a graph ---- */
static void count_init_uses(mo_ctx *c, const onnx_graph *gr) {
    for (int i = 0; i < gr->n_nodes; i++) {
        const onnx_node *n = &gr->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int vi = n->inputs[k][0] ? mo_value_find(c, n->inputs[k]) : -1;
            if (vi >= 0 && (c->vals[vi].init || (c->tflags && c->vals[vi].tensor >= 0))) c->vals[vi].pending_uses++;
        }
        for (int k = 0; k < n->n_attr; k++)
            if (n->attrs[k].type == ONNX_ATTR_GRAPH && n->attrs[k].g) count_init_uses(c, n->attrs[k].g);
    }
    for (int i = 0; i < gr->n_outputs; i++) {
        int vi = mo_value_find(c, gr->outputs[i].name);
        if (vi >= 0) c->vals[vi].pending_uses += 1 << 20; /* never released */
    }
}

static void release_if_unused(mo_ctx *c, const char *name) {
    int vi = mo_value_find(c, name);
    if (vi < 0 || c->vals[vi].pending_uses <= 0) return;
    if (--c->vals[vi].pending_uses > 0) return;
    int t = c->vals[vi].tensor;
    if (t < 0 || t >= c->cap_t || !(c->tflags[t] & MO_T_FROM_FILE) || (c->tflags[t] & MO_T_RELEASED)) return;
    if (c->ir_uses[t] > 0 || (c->g->tensors[t].flags & ME_TF_OUTPUT)) return;
    /* the data may be an anonymous copy (zero-filled once released): make sure no live node reads it */
    for (int i = 0; i < c->g->n_nodes; i++) {
        const me_node *nd = &c->g->nodes[i];
        if (nd->dead) continue;
        for (int k = 0; k < nd->n_in; k++)
            if (nd->in[k] == t) return;
    }
    me_graph_release_static(c->g, t);
    c->tflags[t] |= MO_T_RELEASED;
}

static bool mark_unknown(mo_ctx *c, const onnx_node *n) {
    for (int k = 0; k < n->n_out; k++) {
        if (!n->outputs[k][0]) continue;
        int vi = mo_value_add(c, n->outputs[k]);
        if (vi < 0) return false;
        c->vals[vi].unknown = true;
        c->vals[vi].tensor = -1;
    }
    return true;
}

me_status mo_translate_graph(mo_ctx *c, const onnx_graph *gr, const char *name_prefix) {
    (void)name_prefix;
    for (int i = 0; i < gr->n_inits; i++) {
        int vi = mo_value_add(c, gr->inits[i].name);
        if (vi < 0) return me_fail(c->d, ME_ERR_NOMEM, "out of memory");
        c->vals[vi].init = &gr->inits[i];
        c->vals[vi].tensor = -1;
        c->vals[vi].unknown = false;
    }
    count_init_uses(c, gr);
    int *order = malloc((size_t)(gr->n_nodes ? gr->n_nodes : 1) * sizeof(int));
    if (!order) return me_fail(c->d, ME_ERR_NOMEM, "out of memory");
    strlist *deps = NULL;
    me_status st = toposort(c, gr, order, &deps);
    if (st != ME_OK) { free(order); return st; }
    for (int oi = 0; oi < gr->n_nodes && st == ME_OK; oi++) {
        int ni = order[oi];
        const onnx_node *n = &gr->nodes[ni];
        /* skip nodes that depend on a value we could not compute */
        bool skip = false;
        for (int k = 0; k < deps[ni].n && !skip; k++) {
            int vi = mo_value_find(c, deps[ni].v[k]);
            if (vi >= 0 && c->vals[vi].unknown) skip = true;
        }
        if (skip) {
            if (!mark_unknown(c, n)) st = me_fail(c->d, ME_ERR_NOMEM, "out of memory");
            continue;
        }
        for (int k = 0; k < n->n_in && st == ME_OK; k++) {
            if (!n->inputs[k][0]) continue;
            int vi = mo_value_find(c, n->inputs[k]);
            if (vi < 0 || mo_value_tensor(c, vi) < 0)
                st = me_fail(c->d, ME_ERR_UNSUPPORTED, "node '%s' (%s): input '%s' cannot be used", n->name,
                             n->op_type, n->inputs[k]);
        }
        if (st != ME_OK) break;
        mo_translate_fn fn = find_translator(n->op_type);
        if (!fn || n->domain[0]) {
            st = me_fail(c->d, ME_ERR_UNSUPPORTED, "unsupported ONNX ops: %s (node '%s')", n->op_type, n->name);
            break;
        }
        c->scope_node = n;
        c->scope = NULL;
        c->fixed_hit = false;
        diag_mark mark = diag_save(c->d);
        mo_ctx *outer = mo_current;
        bool outer_bad = c->attr_bad; /* an If translator may be inlining this subgraph */
        mo_current = c;
        c->attr_bad = false;
        st = fn(c, n);
        mo_current = outer;
        if (st == ME_OK && c->attr_bad) st = ME_ERR_FORMAT; /* the message is in the diag */
        c->attr_bad = outer_bad;
        if (st != ME_OK && c->fixed_hit) {
            diag_restore(c->d, mark); /* reported once, at the end */
            st = mark_unknown(c, n) ? ME_OK : me_fail(c->d, ME_ERR_NOMEM, "out of memory");
            continue;
        }
        if (st != ME_OK) {
            if (!c->d || c->d->count == mark.count)
                me_diag_add(c->d, "node '%s' (%s): translation failed (%s)", n->name, n->op_type, me_status_str(st));
            break;
        }
        for (int k = 0; k < n->n_out; k++) {
            if (!n->outputs[k][0]) continue;
            int vi = mo_value_find(c, n->outputs[k]);
            if (vi < 0 || (c->vals[vi].tensor < 0 && !c->vals[vi].unknown)) {
                /* an optional output the translator does not produce: fine unless someone reads it */
                if (vi < 0) vi = mo_value_add(c, n->outputs[k]);
                if (vi < 0) { st = me_fail(c->d, ME_ERR_NOMEM, "out of memory"); break; }
            }
        }
        for (int k = 0; k < n->n_in; k++)
            if (n->inputs[k][0]) release_if_unused(c, n->inputs[k]);
    }
    c->scope_node = NULL;
    c->scope = NULL;
    for (int i = 0; i < gr->n_nodes; i++) free(deps[i].v);
    free(deps);
    free(order);
    return st;
}

/* ---- graph inputs ---- */
static const me_input_dim *find_input_dim(const me_compile_options *o, const char *name) {
    for (int i = 0; o && i < o->n_input_dims; i++)
        if (o->input_dims[i].name && strcmp(o->input_dims[i].name, name) == 0) return &o->input_dims[i];
    return NULL;
}

static const me_frozen_input *find_frozen(const me_compile_options *o, const char *name) {
    for (int i = 0; o && i < o->n_frozen_inputs; i++)
        if (o->frozen_inputs[i].name && strcmp(o->frozen_inputs[i].name, name) == 0) return &o->frozen_inputs[i];
    return NULL;
}

static void notice(mo_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(mo_ctx *c, const char *fmt, ...) {
    if (!c->opts || !c->opts->notice) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    c->opts->notice(c->opts->notice_user, buf);
}

static me_status resolve_input_shape(mo_ctx *c, const onnx_value_info *v, int *rank, int64_t *dims) {
    const me_input_dim *od = find_input_dim(c->opts, v->name);
    if (od) {
        if (od->rank < 0 || od->rank > ME_MAX_RANK)
            return me_fail(c->d, ME_ERR_INVALID_ARG, "--input-dim %s: rank %d is outside 0..%d", v->name, od->rank, ME_MAX_RANK);
        if (v->rank >= 0 && od->rank != v->rank)
            return me_fail(c->d, ME_ERR_INVALID_ARG, "--input-dim %s gives %d dimensions, but the input has rank %d",
                           v->name, od->rank, v->rank);
        for (int i = 0; i < od->rank; i++) {
            if (od->dims[i] < 0)
                return me_fail(c->d, ME_ERR_INVALID_ARG, "--input-dim %s: dimension %d is negative", v->name, i);
            if (v->rank >= 0 && v->dims[i] >= 0 && v->dims[i] != od->dims[i])
                return me_fail(c->d, ME_ERR_INVALID_ARG,
                               "--input-dim %s: dimension %d is %lld, but the model fixes it to %lld", v->name, i,
                               (long long)od->dims[i], (long long)v->dims[i]);
            dims[i] = od->dims[i];
        }
        *rank = od->rank;
        return ME_OK;
    }
    if (v->rank < 0)
        return me_fail(c->d, ME_ERR_UNSUPPORTED,
                       "input '%s' has an unknown rank; set its shape with --input-dim %s d0,d1,...", v->name, v->name);
    *rank = v->rank;
    for (int i = 0; i < v->rank; i++) {
        if (v->dims[i] >= 0) { dims[i] = v->dims[i]; continue; }
        const char *dp = v->dim_params[i] ? v->dim_params[i] : "";
        if (i == 0) {
            dims[0] = 1;
            if (dp[0])
                notice(c, "input '%s': dimension 0 ('%s') is symbolic; using 1 (set it with --input-dim %s 1,...)",
                       v->name, dp, v->name);
            else
                notice(c, "input '%s': dimension 0 is unknown; using 1 (set it with --input-dim %s 1,...)", v->name,
                       v->name);
            continue;
        }
        if (dp[0])
            return me_fail(c->d, ME_ERR_UNSUPPORTED,
                           "input '%s': dimension %d ('%s') is symbolic; fix it with --input-dim %s d0,d1,...", v->name,
                           i, dp, v->name);
        return me_fail(c->d, ME_ERR_UNSUPPORTED,
                       "input '%s': dimension %d is unknown; fix it with --input-dim %s d0,d1,...", v->name, i, v->name);
    }
    return ME_OK;
}

static me_status bind_frozen(mo_ctx *c, const onnx_value_info *v, const me_frozen_input *fz, me_dtype dt, int rank,
                             const int64_t *dims, int vi) {
    me_mapfile mf;
    me_status st = me_map_file(fz->path, &mf, c->d);
    if (st != ME_OK) return st;
    me_tensor tmp = {0};
    tmp.dtype = dt;
    tmp.rank = rank;
    memcpy(tmp.dims, dims, (size_t)rank * sizeof(int64_t));
    size_t want = me_tensor_nbytes(&tmp);
    if (mf.size != want) {
        me_unmap_file(&mf);
        return me_fail(c->d, ME_ERR_INVALID_ARG, "--freeze-input %s: file '%s' has %zu bytes, the input needs %zu", v->name,
                       fz->path, mf.size, want);
    }
    int t;
    if (dt == ME_DT_F16 || dt == ME_DT_BF16) {
        int64_t numel = me_tensor_numel(&tmp);
        float *f = me_arena_calloc(&c->g->arena, (size_t)(numel ? numel : 1), sizeof(float));
        if (!f) { me_unmap_file(&mf); return me_fail(c->d, ME_ERR_NOMEM, "out of memory"); }
        for (int64_t i = 0; i < numel; i++) {
            uint16_t h;
            memcpy(&h, mf.data + 2 * i, 2);
            f[i] = dt == ME_DT_F16 ? me_f16_to_f32(h) : me_bf16_to_f32(h);
        }
        t = me_graph_add_static_ref(c->g, v->name, ME_DT_F32, rank, dims, f, (size_t)numel * 4, c->d);
    } else {
        t = me_graph_add_static_copy(c->g, v->name, dt, rank, dims, mf.data, want, c->d);
    }
    me_unmap_file(&mf);
    if (t < 0 || !mo_track_tensors(c)) return me_fail(c->d, ME_ERR_NOMEM, "cannot freeze input '%s'", v->name);
    c->vals[vi].tensor = t;
    return ME_OK;
}

/* Node-less IR nodes made by the importer (boundary casts and copies) are
 * inferred but never folded: graph inputs/outputs must stay runtime tensors. */
static int boundary_node(mo_ctx *c, me_op_id op, int in, const char *name, me_dtype out_dt) {
    me_graph *g = c->g;
    const me_tensor *ti = &g->tensors[in];
    int rank = ti->rank;
    int64_t dims[ME_MAX_RANK];
    memcpy(dims, ti->dims, sizeof dims);
    int node = mo_node(c, NULL, op, &in, 1, 1, name);
    if (node < 0) return -1;
    me_node *nd = &g->nodes[node];
    me_tensor *o = &g->tensors[nd->out[0]];
    o->dtype = out_dt;
    o->rank = rank;
    memcpy(o->dims, dims, sizeof dims);
    if (me_opdefs[op]->infer(g, nd, c->d) != ME_OK) return -1;
    return nd->out[0];
}

static me_status bind_inputs(mo_ctx *c, const onnx_graph *gr) {
    for (int i = 0; i < gr->n_inputs; i++) {
        const onnx_value_info *v = &gr->inputs[i];
        bool has_init = false;
        for (int k = 0; k < gr->n_inits && !has_init; k++) has_init = strcmp(gr->inits[k].name, v->name) == 0;
        if (has_init) continue;
        if (!v->name[0]) return me_fail(c->d, ME_ERR_FORMAT, "graph input %d has no name", i);
        if (mo_value_find(c, v->name) >= 0) return me_fail(c->d, ME_ERR_FORMAT, "graph input '%s' is listed twice", v->name);
        if (v->elem_type == 0) return me_fail(c->d, ME_ERR_UNSUPPORTED, "input '%s' is not a tensor (or has no element type)", v->name);
        me_dtype dt = onnx_to_me_dtype(v->elem_type);
        if (v->elem_type == ONNX_DOUBLE)
            return me_fail(c->d, ME_ERR_UNSUPPORTED, "input '%s' has type DOUBLE (float64), which is not supported", v->name);
        if (dt == ME_DT_BF16 || dt == ME_DT_UNDEFINED || dt == ME_DT_I4 || dt == ME_DT_U4)
            return me_fail(c->d, ME_ERR_UNSUPPORTED, "input '%s' has type %s, which is not supported", v->name,
                           onnx_dtype_name(v->elem_type));
        int rank = 0;
        int64_t dims[ME_MAX_RANK] = {0};
        me_status st = resolve_input_shape(c, v, &rank, dims);
        if (st != ME_OK) return st;
        int vi = mo_value_add(c, v->name);
        if (vi < 0) return me_fail(c->d, ME_ERR_NOMEM, "out of memory");
        const me_frozen_input *fz = find_frozen(c->opts, v->name);
        if (fz) {
            st = bind_frozen(c, v, fz, dt, rank, dims, vi);
            if (st != ME_OK) return st;
            continue;
        }
        int t = me_graph_add_tensor(c->g, v->name, dt, rank, dims, c->d);
        if (t < 0 || me_graph_add_input(c->g, t) != ME_OK || !mo_track_tensors(c))
            return me_fail(c->d, ME_ERR_NOMEM, "cannot add input '%s'", v->name);
        c->vals[vi].graph_input = true;
        if (dt == ME_DT_F16 || dt == ME_DT_BF16) {
            char *nm = me_arena_printf(&c->g->arena, "%s_to_f32", v->name);
            int ct = nm ? boundary_node(c, ME_OP_CAST, t, nm, ME_DT_F32) : -1;
            if (ct < 0) return me_fail(c->d, ME_ERR_INTERNAL, "cannot convert float16 input '%s'", v->name);
            t = ct;
        }
        c->vals[vi].tensor = t;
    }
    for (int i = 0; c->opts && i < c->opts->n_input_dims; i++) {
        const char *nm = c->opts->input_dims[i].name;
        bool found = false;
        for (int k = 0; k < gr->n_inputs && !found; k++) found = nm && strcmp(gr->inputs[k].name, nm) == 0;
        if (!found) return me_fail(c->d, ME_ERR_INVALID_ARG, "--input-dim: the model has no input '%s'", nm ? nm : "");
    }
    for (int i = 0; c->opts && i < c->opts->n_frozen_inputs; i++) {
        const char *nm = c->opts->frozen_inputs[i].name;
        bool found = false;
        for (int k = 0; k < gr->n_inputs && !found; k++) found = nm && strcmp(gr->inputs[k].name, nm) == 0;
        if (!found) return me_fail(c->d, ME_ERR_INVALID_ARG, "--freeze-input: the model has no input '%s'", nm ? nm : "");
    }
    return ME_OK;
}

/* ---- graph outputs ---- */
static me_status bind_outputs(mo_ctx *c, const onnx_graph *gr) {
    me_graph *g = c->g;
    for (int i = 0; i < gr->n_outputs; i++) {
        const onnx_value_info *v = &gr->outputs[i];
        int vi = mo_value_find(c, v->name);
        if (vi < 0) return me_fail(c->d, ME_ERR_FORMAT, "graph output '%s' is not produced by any node", v->name);
        if (c->vals[vi].unknown) continue; /* must-be-fixed error follows */
        int t = mo_value_tensor(c, vi);
        if (t < 0) return me_fail(c->d, ME_ERR_FORMAT, "graph output '%s' is not produced by any node", v->name);
        if (v->elem_type == ONNX_BFLOAT16 || v->elem_type == ONNX_DOUBLE)
            return me_fail(c->d, ME_ERR_UNSUPPORTED, "output '%s' has type %s, which is not supported", v->name,
                           onnx_dtype_name(v->elem_type));
        bool want_f16 = v->elem_type == ONNX_FLOAT16 && g->tensors[t].dtype == ME_DT_F32;
        bool shared = false;
        for (int k = 0; k < g->n_outputs; k++) shared |= g->outputs[k] == t;
        const me_tensor *tt = &g->tensors[t];
        bool copy = want_f16 || shared || (tt->flags & (ME_TF_INPUT | ME_TF_STATIC)) || strcmp(tt->name, v->name) != 0;
        if (copy) {
            if (strcmp(g->tensors[t].name, v->name) == 0 && !(g->tensors[t].flags & ME_TF_INPUT)) {
                char *nm = me_arena_printf(&g->arena, "%s_inner", v->name);
                const char *un = nm ? mo_unique_name(c, nm) : NULL;
                if (!un) return me_fail(c->d, ME_ERR_NOMEM, "out of memory");
                mo_rename_tensor(c, t, un);
            }
            char *nn = me_arena_printf(&g->arena, "%s_output", v->name);
            int o = !nn ? -1
                    : want_f16 ? boundary_node(c, ME_OP_CAST, t, nn, ME_DT_F16)
                               : boundary_node(c, ME_OP_RESHAPE, t, nn, g->tensors[t].dtype);
            if (o < 0) return me_fail(c->d, ME_ERR_INTERNAL, "cannot produce graph output '%s'", v->name);
            if (strcmp(g->tensors[t].name, v->name) == 0) {
                /* the output is a graph input of the same name: the copy needs another name */
                const char *un = mo_unique_name(c, v->name);
                if (!un) return me_fail(c->d, ME_ERR_NOMEM, "out of memory");
                mo_rename_tensor(c, o, un);
            } else {
                mo_rename_tensor(c, o, v->name);
            }
            t = o;
        }
        if (me_graph_add_output(g, t) != ME_OK) return me_fail(c->d, ME_ERR_NOMEM, "out of memory");
    }
    return ME_OK;
}

/* ---- entry point ---- */
/* Every tensor that carries an ONNX name records it as its source name, so
 * passes that replace tensors can hand it on (mp_replace_uses). */
static void record_source_names(mo_ctx *c) {
    if (!mo_track_tensors(c)) return;
    for (int t = 0; t < c->g->n_tensors; t++) {
        me_tensor *tt = &c->g->tensors[t];
        if (!tt->src_name && !(c->tflags[t] & MO_T_AUTO_NAMED)) tt->src_name = tt->name;
    }
}

static void ctx_free(mo_ctx *c) {
    mo_strmap_free(&c->vmap);
    mo_strmap_free(&c->onnx_names);
    mo_strmap_free(&c->node_names);
    free(c->vals);
    free(c->tflags);
    free(c->ir_uses);
    free(c->fixed);
}

static me_status check_opset(const onnx_model *m, int64_t *opset, me_diag *d) {
    *opset = -1;
    for (int i = 0; i < m->n_opsets; i++)
        if (!m->opsets[i].domain[0]) *opset = m->opsets[i].version;
    if (*opset < 0) {
        if (m->n_opsets == 0 && m->ir_version > 0 && m->ir_version < 3) *opset = 1; /* pre-opset_import files */
        else return me_fail(d, ME_ERR_FORMAT, "the model imports no opset of the default ONNX domain");
    }
    if (*opset < MIN_OPSET || *opset > MAX_OPSET)
        return me_fail(d, ME_ERR_UNSUPPORTED, "ONNX opset %lld of the default domain is not supported (supported: %d..%d)",
                       (long long)*opset, MIN_OPSET, MAX_OPSET);
    return ME_OK;
}

static me_status import_model(mo_ctx *c, onnx_model *m) {
    me_graph *g = c->g;
    me_status st;
    onnx_graph *gr = m->graph;
    if (gr->name[0]) g->name = gr->name;
    if (!name_nodes(&g->arena, gr, NULL)) return me_fail(c->d, ME_ERR_NOMEM, "out of memory");
    unsup u = {0};
    scan_unsupported(gr, &u);
    if (u.count) {
        if (u.count > MAX_LISTED_UNSUPPORTED)
            st = me_fail(c->d, ME_ERR_UNSUPPORTED, "unsupported ONNX ops: %s ... and %d more", u.text ? u.text : "",
                         u.count - MAX_LISTED_UNSUPPORTED);
        else
            st = me_fail(c->d, ME_ERR_UNSUPPORTED, "unsupported ONNX ops: %s", u.text ? u.text : "");
        free(u.text);
        return st;
    }
    st = check_opset(m, &c->opset, c->d);
    if (st != ME_OK) return st;
    if (!register_names(c, gr)) return me_fail(c->d, ME_ERR_NOMEM, "out of memory");
    st = bind_inputs(c, gr);
    if (st != ME_OK) return st;
    st = mo_translate_graph(c, gr, NULL);
    if (st != ME_OK) return st;
    st = bind_outputs(c, gr);
    if (st != ME_OK) return st;
    record_source_names(c);
    if (c->n_fixed) {
        size_t len = 0;
        for (int i = 0; i < c->n_fixed; i++) len += strlen(c->fixed[i]) + 1;
        char *list = me_arena_alloc(&g->arena, len + 1);
        if (!list) return me_fail(c->d, ME_ERR_NOMEM, "out of memory");
        list[0] = 0;
        for (int i = 0; i < c->n_fixed; i++) {
            if (i) strcat(list, " ");
            strcat(list, c->fixed[i]);
        }
        return me_fail(c->d, ME_ERR_UNSUPPORTED, "graph inputs must be fixed at compile time: %s (use --freeze-input NAME=FILE)",
                       list);
    }
    return ME_OK;
}

me_status me_import_onnx(const char *path, const me_compile_options *opts, me_graph *g, me_diag *d) {
    if (!path || !g) return me_fail(d, ME_ERR_INVALID_ARG, "me_import_onnx: no path or graph");
    me_mapfile mf;
    me_status st = me_map_file(path, &mf, d);
    if (st != ME_OK) return st;
    if (!mf.data || mf.size == 0) {
        me_unmap_file(&mf);
        return me_fail(d, ME_ERR_FORMAT, "'%s' is empty", path);
    }
    me_sha256_digest(mf.data, mf.size, g->source_hash);
    g->source_path = me_arena_strdup(&g->arena, path);
    char *dircopy = me_arena_strdup(&g->arena, path);
    const char *model_dir = dircopy ? dirname(dircopy) : ".";
    onnx_model m;
    onnx_extmaps ext = {0};
    const uint8_t *data = mf.data;
    size_t size = mf.size;
    if (me_graph_adopt_map(g, &mf) != ME_OK) {
        me_unmap_file(&mf);
        return me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    st = onnx_parse_model(data, size, model_dir, &g->arena, &ext, &m, d);
    for (int i = 0; i < ext.n; i++)
        if (me_graph_adopt_map(g, &ext.maps[i]) != ME_OK) {
            onnx_extmaps_free(&ext);
            return me_fail(d, ME_ERR_NOMEM, "out of memory");
        }
    free(ext.maps);
    if (st != ME_OK) return st;

    mo_ctx c;
    memset(&c, 0, sizeof c);
    c.g = g;
    c.d = d;
    c.opts = opts;
    st = import_model(&c, &m);
    ctx_free(&c);
    if (st != ME_OK) return st;
    st = me_graph_compact(g, d);
    if (st != ME_OK) return st;
    if (me_graph_verify(g, d) != ME_OK) return ME_ERR_INTERNAL;
    return ME_OK;
}
