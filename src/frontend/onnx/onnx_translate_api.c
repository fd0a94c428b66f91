/* The translation API of onnx_import.h: what every per-op translator uses to
 * read ONNX inputs/attributes, emit IR nodes (shape inference and constant
 * folding at once) and bind ONNX output names. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/util.h"
#include "onnx_ctx.h"

/* Folding a node whose outputs exceed this stays a runtime node. */
#define MO_FOLD_MAX_BYTES ((size_t)64 << 20)

/* ---- string map ---- */
static uint64_t str_hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool strmap_grow(mo_strmap *m) {
    int cap = m->cap ? m->cap * 2 : 64;
    const char **keys = calloc((size_t)cap, sizeof *keys);
    int *vals = calloc((size_t)cap, sizeof *vals);
    if (!keys || !vals) { free(keys); free(vals); return false; }
    for (int i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        uint64_t j = str_hash(m->keys[i]) & (uint64_t)(cap - 1);
        while (keys[j]) j = (j + 1) & (uint64_t)(cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return true;
}

bool mo_strmap_put(mo_strmap *m, const char *key, int val) {
    if ((m->n + 1) * 2 > m->cap && !strmap_grow(m)) return false;
    uint64_t mask = (uint64_t)(m->cap - 1);
    uint64_t j = str_hash(key) & mask;
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) { m->vals[j] = val; return true; }
        j = (j + 1) & mask;
    }
    m->keys[j] = key;
    m->vals[j] = val;
    m->n++;
    return true;
}

int mo_strmap_get(const mo_strmap *m, const char *key, int dflt) {
    if (!m->cap || !key) return dflt;
    uint64_t mask = (uint64_t)(m->cap - 1);
    uint64_t j = str_hash(key) & mask;
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) return m->vals[j];
        j = (j + 1) & mask;
    }
    return dflt;
}

void mo_strmap_free(mo_strmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- context bookkeeping ---- */
int mo_value_find(mo_ctx *c, const char *name) { return mo_strmap_get(&c->vmap, name, -1); }

int mo_value_add(mo_ctx *c, const char *name) {
    int vi = mo_value_find(c, name);
    if (vi >= 0) return vi;
    if (c->n_vals >= c->cap_vals) {
        int nc = c->cap_vals ? c->cap_vals * 2 : 64;
        mo_value *nv = realloc(c->vals, (size_t)nc * sizeof *nv);
        if (!nv) return -1;
        c->vals = nv;
        c->cap_vals = nc;
    }
    mo_value *v = &c->vals[c->n_vals];
    memset(v, 0, sizeof *v);
    v->name = me_arena_strdup(&c->g->arena, name);
    v->tensor = -1;
    if (!v->name || !mo_strmap_put(&c->vmap, v->name, c->n_vals)) return -1;
    return c->n_vals++;
}

int mo_value_tensor(mo_ctx *c, int vi) {
    mo_value *v = &c->vals[vi];
    if (v->tensor >= 0 || !v->init) return v->tensor;
    int t = mo_make_initializer(c, v->init);
    c->vals[vi].tensor = t; /* vals may not move here, but re-index anyway */
    if (t >= 0) c->vals[vi].init = NULL;
    return t;
}

bool mo_track_tensors(mo_ctx *c) {
    int n = c->g->n_tensors;
    if (n <= c->cap_t) return true;
    int nc = c->cap_t ? c->cap_t : 256;
    while (nc < n) nc *= 2;
    uint8_t *f = realloc(c->tflags, (size_t)nc);
    if (!f) return false;
    c->tflags = f;
    int *u = realloc(c->ir_uses, (size_t)nc * sizeof(int));
    if (!u) return false;
    c->ir_uses = u;
    memset(c->tflags + c->cap_t, 0, (size_t)(nc - c->cap_t));
    memset(c->ir_uses + c->cap_t, 0, (size_t)(nc - c->cap_t) * sizeof(int));
    c->cap_t = nc;
    return true;
}

static bool name_taken(mo_ctx *c, const char *s) {
    return me_graph_find_tensor(c->g, s) >= 0 || mo_strmap_get(&c->onnx_names, s, 0);
}

const char *mo_unique_name(mo_ctx *c, const char *base) {
    if (!name_taken(c, base)) return me_arena_strdup(&c->g->arena, base);
    for (int k = 1;; k++) {
        char *s = me_arena_printf(&c->g->arena, "%s_%d", base, k);
        if (!s || !name_taken(c, s)) return s;
    }
}

void mo_rename_tensor(mo_ctx *c, int t, const char *name) {
    const char *s = me_arena_strdup(&c->g->arena, name);
    if (!s) return;
    c->g->tensors[t].name = s;
    /* the graph's index still has the old name; keep derived names off this one */
    mo_strmap_put(&c->onnx_names, s, 1);
}

void mo_record_fixed(mo_ctx *c, const char *name) {
    c->fixed_hit = true;
    for (int i = 0; i < c->n_fixed; i++)
        if (strcmp(c->fixed[i], name) == 0) return;
    if (c->n_fixed >= c->cap_fixed) {
        int nc = c->cap_fixed ? c->cap_fixed * 2 : 8;
        const char **nf = realloc(c->fixed, (size_t)nc * sizeof *nf);
        if (!nf) return;
        c->fixed = nf;
        c->cap_fixed = nc;
    }
    c->fixed[c->n_fixed++] = name;
}

#define MO_BIG_ALLOC_MIN ((size_t)256 << 10)

void *mo_big_alloc(mo_ctx *c, size_t n) {
    if (n < MO_BIG_ALLOC_MIN) return me_arena_alloc(&c->g->arena, n ? n : 1);
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    me_mapfile m = {p, n, 1};
    if (me_graph_adopt_map(c->g, &m) != ME_OK) {
        munmap(p, n);
        return NULL;
    }
    return p;
}

void mo_drop_pages(mo_ctx *c, const void *p, size_t n) {
    const uint8_t *b = p;
    bool mapped = false;
    for (int i = 0; i < c->g->n_maps && !mapped; i++) {
        const me_mapfile *m = &c->g->maps[i];
        mapped = m->is_mmap && m->data && b >= m->data && n <= m->size && b - m->data <= (ptrdiff_t)(m->size - n);
    }
    if (!mapped) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* ---- accessors ---- */
me_graph *mo_graph(mo_ctx *c) { return c->g; }
int64_t mo_opset(mo_ctx *c) { return c->opset; }
me_diag *mo_diag(mo_ctx *c) { return c->d; }

int mo_in(mo_ctx *c, const onnx_node *n, int i) {
    if (i < 0 || i >= n->n_in || !n->inputs[i][0]) return -1;
    int vi = mo_value_find(c, n->inputs[i]);
    if (vi < 0) return -1;
    return mo_value_tensor(c, vi);
}

const me_tensor *mo_t(mo_ctx *c, int tensor) {
    if (tensor < 0 || tensor >= c->g->n_tensors) return NULL;
    return &c->g->tensors[tensor];
}

bool mo_is_const(mo_ctx *c, int tensor) {
    return tensor >= 0 && tensor < c->g->n_tensors && (c->g->tensors[tensor].flags & ME_TF_STATIC);
}

me_status mo_error(mo_ctx *c, const onnx_node *n, me_status st, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n) me_diag_add(c->d, "node '%s' (%s): %s", n->name, n->op_type, msg);
    else me_diag_add(c->d, "%s", msg);
    return st;
}

/* Graph inputs that a non-static tensor is computed from (depth-first over producers). */
static int find_input_ancestors(mo_ctx *c, int t) {
    me_graph *g = c->g;
    uint8_t *seen = calloc((size_t)g->n_tensors, 1);
    int *stack = malloc((size_t)g->n_tensors * sizeof(int));
    int found = 0;
    if (!seen || !stack) { free(seen); free(stack); return 0; }
    int sp = 0;
    stack[sp++] = t;
    seen[t] = 1;
    while (sp > 0) {
        int x = stack[--sp];
        const me_tensor *tx = &g->tensors[x];
        if (tx->flags & ME_TF_INPUT) { mo_record_fixed(c, tx->name); found++; continue; }
        if (tx->producer < 0) continue;
        const me_node *nd = &g->nodes[tx->producer];
        for (int k = 0; k < nd->n_in; k++) {
            int y = nd->in[k];
            if (y >= 0 && !seen[y]) { seen[y] = 1; stack[sp++] = y; }
        }
    }
    free(seen);
    free(stack);
    return found;
}

/* Common part of mo_const_ints/floats: the static tensor of input `input`. */
static me_status const_input(mo_ctx *c, const onnx_node *n, int input, const me_tensor **out) {
    int t = mo_in(c, n, input);
    if (t < 0) return mo_error(c, n, ME_ERR_FORMAT, "input %d is missing", input);
    const me_tensor *tt = &c->g->tensors[t];
    if (tt->flags & ME_TF_STATIC) { *out = tt; return ME_OK; }
    if (find_input_ancestors(c, t) > 0) return ME_ERR_UNSUPPORTED; /* reported once, at the end */
    return mo_error(c, n, ME_ERR_UNSUPPORTED, "input %d ('%s') must be a constant, but it is computed at run time",
                    input, n->inputs[input]);
}

static bool read_elem_i64(me_dtype dt, const uint8_t *p, int64_t *v) {
    switch (dt) {
    case ME_DT_I64: { int64_t x; memcpy(&x, p, 8); *v = x; return true; }
    case ME_DT_U64: { uint64_t x; memcpy(&x, p, 8); *v = (int64_t)x; return true; }
    case ME_DT_I32: { int32_t x; memcpy(&x, p, 4); *v = x; return true; }
    case ME_DT_U32: { uint32_t x; memcpy(&x, p, 4); *v = x; return true; }
    case ME_DT_I16: { int16_t x; memcpy(&x, p, 2); *v = x; return true; }
    case ME_DT_U16: { uint16_t x; memcpy(&x, p, 2); *v = x; return true; }
    case ME_DT_I8: *v = (int8_t)*p; return true;
    case ME_DT_U8: case ME_DT_BOOL: *v = *p; return true;
    default: return false;
    }
}

me_status mo_const_ints(mo_ctx *c, const onnx_node *n, int input, int64_t **vals, int64_t *count) {
    const me_tensor *t;
    me_status st = const_input(c, n, input, &t);
    if (st != ME_OK) return st;
    int64_t cnt = me_tensor_numel(t);
    size_t es = me_dtype_size(t->dtype);
    bool nib = t->dtype == ME_DT_I4 || t->dtype == ME_DT_U4; /* packed, low nibble first */
    if (cnt < 0 || (cnt > 0 && (!t->data || (es == 0 && !nib))))
        return mo_error(c, n, ME_ERR_FORMAT, "input %d ('%s') has no readable data", input, t->name);
    int64_t *v = me_arena_calloc(&c->g->arena, (size_t)(cnt ? cnt : 1), sizeof(int64_t));
    if (!v) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; nib && i < cnt; i++) {
        int b = ((const uint8_t *)t->data)[i / 2], x = (i & 1) ? b >> 4 : b & 15;
        v[i] = t->dtype == ME_DT_I4 && x >= 8 ? x - 16 : x;
    }
    for (int64_t i = 0; !nib && i < cnt; i++)
        if (!read_elem_i64(t->dtype, (const uint8_t *)t->data + (size_t)i * es, &v[i]))
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "input %d ('%s') must be an integer tensor, not %s", input,
                            t->name, me_dtype_name(t->dtype));
    *vals = v;
    *count = cnt;
    return ME_OK;
}

me_status mo_const_floats(mo_ctx *c, const onnx_node *n, int input, float **vals, int64_t *count) {
    const me_tensor *t;
    me_status st = const_input(c, n, input, &t);
    if (st != ME_OK) return st;
    int64_t cnt = me_tensor_numel(t);
    size_t es = me_dtype_size(t->dtype);
    if (cnt < 0 || (cnt > 0 && (!t->data || es == 0)))
        return mo_error(c, n, ME_ERR_FORMAT, "input %d ('%s') has no readable data", input, t->name);
    float *v = me_arena_calloc(&c->g->arena, (size_t)(cnt ? cnt : 1), sizeof(float));
    if (!v) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < cnt; i++) {
        const uint8_t *p = (const uint8_t *)t->data + (size_t)i * es;
        int64_t iv;
        switch (t->dtype) {
        case ME_DT_F32: memcpy(&v[i], p, 4); break;
        case ME_DT_F64: { double x; memcpy(&x, p, 8); v[i] = (float)x; break; }
        case ME_DT_F16: { uint16_t h; memcpy(&h, p, 2); v[i] = me_f16_to_f32(h); break; }
        case ME_DT_BF16: { uint16_t h; memcpy(&h, p, 2); v[i] = me_bf16_to_f32(h); break; }
        default:
            if (!read_elem_i64(t->dtype, p, &iv))
                return mo_error(c, n, ME_ERR_UNSUPPORTED, "input %d ('%s') has unsupported dtype %s", input, t->name,
                                me_dtype_name(t->dtype));
            v[i] = (float)iv;
        }
    }
    *vals = v;
    *count = cnt;
    return ME_OK;
}

/* ---- attributes ---- */
_Thread_local mo_ctx *mo_current;

static const char *const attr_type_names[] = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR",
                                              "GRAPH", "FLOATS", "INTS", "STRINGS"};

static void attr_mismatch(const onnx_node *n, const onnx_attr *a, const char *want) {
    mo_ctx *c = mo_current;
    if (!c) return;
    const char *have = (unsigned)a->type < ME_ARRAY_LEN(attr_type_names) ? attr_type_names[a->type] : "unknown";
    me_diag_add(c->d, "node '%s' (%s): attribute '%s' has type %s, expected %s", n->name, n->op_type, a->name, have, want);
    c->attr_bad = true;
}

const onnx_attr *mo_attr(const onnx_node *n, const char *name) {
    for (int i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t mo_attr_int(const onnx_node *n, const char *name, int64_t dflt) {
    const onnx_attr *a = mo_attr(n, name);
    if (!a) return dflt;
    if (a->type == ONNX_ATTR_INT) return a->i;
    attr_mismatch(n, a, "INT");
    return dflt;
}

float mo_attr_float(const onnx_node *n, const char *name, float dflt) {
    const onnx_attr *a = mo_attr(n, name);
    if (!a) return dflt;
    if (a->type == ONNX_ATTR_FLOAT) return a->f;
    if (a->type == ONNX_ATTR_INT) return (float)a->i;
    attr_mismatch(n, a, "FLOAT");
    return dflt;
}

const char *mo_attr_str(const onnx_node *n, const char *name, const char *dflt) {
    const onnx_attr *a = mo_attr(n, name);
    if (!a) return dflt;
    if (a->type == ONNX_ATTR_STRING && a->s) return a->s;
    attr_mismatch(n, a, "STRING");
    return dflt;
}

int mo_attr_ints(const onnx_node *n, const char *name, const int64_t **vals) {
    const onnx_attr *a = mo_attr(n, name);
    if (!a) return -1;
    if (a->type == ONNX_ATTR_INTS) { *vals = a->ints; return a->n; }
    if (a->type == ONNX_ATTR_INT) { *vals = &a->i; return 1; }
    attr_mismatch(n, a, "INTS");
    return -1;
}

int mo_attr_floats(const onnx_node *n, const char *name, const float **vals) {
    const onnx_attr *a = mo_attr(n, name);
    if (!a) return -1;
    if (a->type == ONNX_ATTR_FLOATS) { *vals = a->floats; return a->n; }
    if (a->type == ONNX_ATTR_FLOAT) { *vals = &a->f; return 1; }
    attr_mismatch(n, a, "FLOATS");
    return -1;
}

/* ---- emitting nodes ---- */
static const char *node_scope(mo_ctx *c, const onnx_node *n) {
    if (!n) return "";
    if (c->scope_node == n && c->scope) return c->scope;
    const char *s = n->hierarchy_tag && n->hierarchy_tag[0] ? n->hierarchy_tag : me_scope_from_name(&c->g->arena, n->name);
    c->scope_node = n;
    c->scope = s ? s : "";
    return c->scope;
}

static const char *unique_node_name(mo_ctx *c, const char *base) {
    const char *s = base;
    for (int k = 2; mo_strmap_get(&c->node_names, s, 0); k++) s = me_arena_printf(&c->g->arena, "%s_%d", base, k);
    if (!s) return NULL;
    s = me_arena_strdup(&c->g->arena, s);
    if (s) mo_strmap_put(&c->node_names, s, 1);
    return s;
}

int mo_node(mo_ctx *c, const onnx_node *n, me_op_id op, const int *in, int n_in, int n_out, const char *suffix) {
    me_graph *g = c->g;
    if (op < 0 || op >= ME_OP_COUNT || n_in < 0 || n_out < 1 || n_out > (1 << 20)) {
        mo_error(c, n, ME_ERR_INTERNAL, "bad IR node request (op %d, %d inputs, %d outputs)", (int)op, n_in, n_out);
        return -1;
    }
    for (int k = 0; k < n_in; k++)
        if (in[k] < -1 || in[k] >= g->n_tensors) {
            mo_error(c, n, ME_ERR_INTERNAL, "IR node %s: input %d is not a tensor", me_op_names[op], k);
            return -1;
        }
    bool has_sfx = suffix && suffix[0];
    char *nname = !n ? me_arena_strdup(&g->arena, has_sfx ? suffix : "node")
                  : has_sfx ? me_arena_printf(&g->arena, "%s_%s", n->name, suffix)
                            : me_arena_strdup(&g->arena, n->name);
    const char *uname = nname ? unique_node_name(c, nname) : NULL;
    if (!uname) { mo_error(c, n, ME_ERR_NOMEM, "out of memory"); return -1; }
    int *outs = me_arena_calloc(&g->arena, (size_t)n_out, sizeof(int));
    if (!outs) { mo_error(c, n, ME_ERR_NOMEM, "out of memory"); return -1; }
    for (int i = 0; i < n_out; i++) {
        char *tb = n_out == 1 ? me_arena_printf(&g->arena, "%s_out", uname)
                              : me_arena_printf(&g->arena, "%s_out%d", uname, i);
        const char *tn = tb ? mo_unique_name(c, tb) : NULL;
        int t = tn ? me_graph_add_tensor(g, tn, ME_DT_UNDEFINED, 0, NULL, c->d) : -1;
        if (t < 0) { mo_error(c, n, ME_ERR_NOMEM, "cannot create an IR tensor"); return -1; }
        outs[i] = t;
    }
    int node = me_graph_add_node(g, uname, op, in, n_in, outs, n_out, node_scope(c, n), c->d);
    if (node < 0) return -1;
    if (n && me_node_add_source(g, node, n->name) != ME_OK) { mo_error(c, n, ME_ERR_NOMEM, "out of memory"); return -1; }
    if (!mo_track_tensors(c)) { mo_error(c, n, ME_ERR_NOMEM, "out of memory"); return -1; }
    for (int i = 0; i < n_out; i++) c->tflags[outs[i]] |= MO_T_AUTO_NAMED;
    for (int k = 0; k < n_in; k++)
        if (in[k] >= 0) c->ir_uses[in[k]]++;
    return node;
}

/* Run the node's kernel on its static inputs and turn its outputs into
 * static tensors. Leaves the node alone when the op has no kernel yet. */
static me_status try_fold(mo_ctx *c, int node) {
    me_graph *g = c->g;
    me_node *nd = &g->nodes[node];
    const me_opdef *def = me_opdefs[nd->op];
    if (!def->run) return ME_OK;
    if (nd->op == ME_OP_DEQUANTIZE) return ME_OK; /* kept for the fold_qdq pass (quantised weights) */
    int any = 0;
    for (int k = 0; k < nd->n_in; k++) {
        int t = nd->in[k];
        if (t < 0) continue;
        if (!(g->tensors[t].flags & ME_TF_STATIC)) return ME_OK;
        any = 1;
    }
    if (!any) return ME_OK;
    size_t total = 0;
    for (int k = 0; k < nd->n_out; k++) {
        const me_tensor *o = &g->tensors[nd->out[k]];
        size_t nb = me_tensor_nbytes(o);
        if (nb == 0 && me_tensor_numel(o) != 0) return ME_OK;
        if (!me_add_size(total, nb, &total) || total > MO_FOLD_MAX_BYTES) return ME_OK;
    }
    int ni = nd->n_in, no = nd->n_out;
    const me_tensor **tin = calloc((size_t)(ni ? ni : 1), sizeof *tin);
    const void **din = calloc((size_t)(ni ? ni : 1), sizeof *din);
    const me_tensor **tout = calloc((size_t)no, sizeof *tout);
    void **dout = calloc((size_t)no, sizeof *dout);
    void *scratch = NULL;
    me_status st = ME_OK;
    if (!tin || !din || !tout || !dout) { st = me_fail(c->d, ME_ERR_NOMEM, "out of memory"); goto done; }
    for (int k = 0; k < ni; k++) {
        int t = nd->in[k];
        tin[k] = t >= 0 ? &g->tensors[t] : NULL;
        din[k] = t >= 0 ? g->tensors[t].data : NULL;
    }
    for (int k = 0; k < no; k++) {
        me_tensor *o = &g->tensors[nd->out[k]];
        size_t nb = me_tensor_nbytes(o);
        dout[k] = mo_big_alloc(c, nb);
        tout[k] = o;
        if (!dout[k]) { st = me_fail(c->d, ME_ERR_NOMEM, "out of memory folding node '%s'", nd->name); goto done; }
    }
    size_t sb = def->scratch_bytes ? def->scratch_bytes(g, nd) : 0;
    if (sb) {
        scratch = aligned_alloc(64, me_align_up(sb, 64));
        if (!scratch) { st = me_fail(c->d, ME_ERR_NOMEM, "out of memory folding node '%s'", nd->name); goto done; }
    }
    me_kernel_ctx k = {nd, tin, tout, din, dout, ni, no, scratch};
    me_diag sub;
    me_diag_init(&sub);
    st = def->run(&k, &sub);
    if (st == ME_ERR_UNSUPPORTED) {
        st = ME_OK; /* no kernel (yet): keep the node */
    } else if (st != ME_OK) {
        me_diag_add(c->d, "constant folding of node '%s' (%s) failed: %s", nd->name, def->name, me_diag_text(&sub));
    } else {
        for (int o = 0; o < no; o++) {
            me_tensor *t = &g->tensors[nd->out[o]];
            t->flags |= ME_TF_STATIC;
            t->data = dout[o];
            t->nbytes = me_tensor_nbytes(t);
            t->producer = -1;
        }
        nd->dead = true;
        for (int i = 0; i < ni; i++)
            if (nd->in[i] >= 0) c->ir_uses[nd->in[i]]--;
    }
    me_diag_free(&sub);
done:
    free(tin);
    free(din);
    free(tout);
    free(dout);
    free(scratch);
    return st;
}

me_status mo_finish(mo_ctx *c, int node, int *outs) {
    me_graph *g = c->g;
    if (node < 0 || node >= g->n_nodes) return me_fail(c->d, ME_ERR_INTERNAL, "mo_finish: bad node %d", node);
    me_node *nd = &g->nodes[node];
    me_status st = me_opdefs[nd->op]->infer(g, nd, c->d);
    if (st != ME_OK) return st;
    for (int k = 0; k < nd->n_out; k++)
        if (g->tensors[nd->out[k]].dtype == ME_DT_UNDEFINED)
            return me_fail(c->d, ME_ERR_INTERNAL, "node '%s' (%s): output %d has no dtype after inference", nd->name,
                           me_op_names[nd->op], k);
    st = try_fold(c, node);
    if (st != ME_OK) return st;
    nd = &g->nodes[node];
    if (outs)
        for (int k = 0; k < nd->n_out; k++) outs[k] = nd->out[k];
    return ME_OK;
}

int mo_emit1(mo_ctx *c, const onnx_node *n, me_op_id op, const int *in, int n_in, const char *suffix) {
    int node = mo_node(c, n, op, in, n_in, 1, suffix);
    if (node < 0) return -1;
    int out;
    if (mo_finish(c, node, &out) != ME_OK) return -1;
    return out;
}

me_status mo_bind(mo_ctx *c, const onnx_node *n, int i, int t) {
    if (i < 0 || i >= n->n_out || !n->outputs[i][0]) return ME_OK;
    if (t < 0 || t >= c->g->n_tensors)
        return mo_error(c, n, ME_ERR_INTERNAL, "output %d ('%s') is bound to no tensor", i, n->outputs[i]);
    const char *name = n->outputs[i];
    int vi = mo_value_find(c, name);
    bool fresh = vi < 0 || (c->vals[vi].tensor < 0 && !c->vals[vi].init);
    if (vi < 0) vi = mo_value_add(c, name);
    if (vi < 0) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    c->vals[vi].tensor = t;
    c->vals[vi].init = NULL;
    c->vals[vi].unknown = false;
    /* Give the IR tensor the ONNX name when it has a derived one. */
    if (fresh && mo_track_tensors(c) && (c->tflags[t] & MO_T_AUTO_NAMED) && !(c->g->tensors[t].flags & ME_TF_INPUT) &&
        me_graph_find_tensor(c->g, name) < 0) {
        mo_rename_tensor(c, t, name);
        c->tflags[t] &= (uint8_t)~MO_T_AUTO_NAMED;
    }
    /* Remember the ONNX name for encodings JSON when the tensor keeps a derived
     * one; and a channel-first copy's channel-last original holds these values
     * too (the layout passes usually remove the copy). */
    me_tensor *tt = &c->g->tensors[t];
    if (!tt->src_name && mo_track_tensors(c) && ((c->tflags[t] & MO_T_AUTO_NAMED) || strcmp(tt->name, name) == 0))
        tt->src_name = strcmp(tt->name, name) == 0 ? tt->name : me_arena_strdup(&c->g->arena, name);
    int p = tt->producer;
    if (tt->src_name && p >= 0 && c->g->nodes[p].op == ME_OP_TRANSPOSE && c->g->nodes[p].n_in == 1) {
        int in = c->g->nodes[p].in[0];
        if (in >= 0 && !c->g->tensors[in].src_name && (c->tflags[in] & MO_T_AUTO_NAMED))
            c->g->tensors[in].src_name = tt->src_name;
    }
    return ME_OK;
}

/* ---- constants ---- */
int mo_const(mo_ctx *c, const char *name_hint, me_dtype dt, int rank, const int64_t *dims, const void *data) {
    me_graph *g = c->g;
    if (rank < 0 || rank > ME_MAX_RANK) { me_diag_add(c->d, "constant '%s': bad rank %d", name_hint, rank); return -1; }
    me_tensor tmp = {0};
    tmp.dtype = dt;
    tmp.rank = rank;
    for (int i = 0; i < rank; i++) tmp.dims[i] = dims[i];
    int64_t numel = me_tensor_numel(&tmp);
    size_t nb = me_tensor_nbytes(&tmp);
    if (numel < 0 || (numel > 0 && nb == 0)) { me_diag_add(c->d, "constant '%s': invalid shape", name_hint); return -1; }
    const char *base = name_hint && name_hint[0] ? name_hint : "const";
    char *full = c->scope_node ? me_arena_printf(&g->arena, "%s_%s", c->scope_node->name, base)
                               : me_arena_strdup(&g->arena, base);
    const char *nm = full ? mo_unique_name(c, full) : NULL;
    if (!nm) { me_diag_add(c->d, "out of memory"); return -1; }
    void *buf = me_arena_alloc(&g->arena, nb ? nb : 1);
    if (!buf) { me_diag_add(c->d, "out of memory creating constant '%s'", nm); return -1; }
    if (data && nb) memcpy(buf, data, nb);
    int t = me_graph_add_static_ref(g, nm, dt, rank, dims, buf, nb, c->d);
    if (t < 0 || !mo_track_tensors(c)) return -1;
    c->tflags[t] |= MO_T_AUTO_NAMED;
    return t;
}

int mo_const_scalar_f32(mo_ctx *c, float v) { return mo_const(c, "scalar", ME_DT_F32, 0, NULL, &v); }

int mo_const_i64_vec(mo_ctx *c, const int64_t *v, int64_t n) {
    int64_t dims[1] = {n};
    return mo_const(c, "ints", ME_DT_I64, 1, dims, v);
}

/* ---- building blocks ---- */
/* The source-model name tensor t stands for: its src_name, else its own name
 * when that is an ONNX name rather than a derived one. */
static const char *source_of(mo_ctx *c, int t) {
    const me_tensor *tt = &c->g->tensors[t];
    if (tt->src_name) return tt->src_name;
    return mo_track_tensors(c) && !(c->tflags[t] & MO_T_AUTO_NAMED) ? tt->name : NULL;
}

int mo_transpose(mo_ctx *c, const onnx_node *n, int t, const int *perm, const char *suffix) {
    const me_tensor *tt = mo_t(c, t);
    if (!tt) return -1;
    int r = tt->rank;
    int64_t p[ME_MAX_RANK];
    bool identity = true;
    for (int i = 0; i < r; i++) {
        p[i] = perm[i];
        if (perm[i] != i) identity = false;
    }
    if (identity) return t;
    int node = mo_node(c, n, ME_OP_TRANSPOSE, &t, 1, 1, suffix && suffix[0] ? suffix : "transpose");
    if (node < 0) return -1;
    int64_t pd[1] = {r};
    if (me_node_set_tensor_int(c->g, node, "perm", ME_DT_U32, 1, pd, p) != ME_OK) {
        mo_error(c, n, ME_ERR_NOMEM, "out of memory");
        return -1;
    }
    int out;
    if (mo_finish(c, node, &out) != ME_OK) return -1;
    /* a layout copy holds the same values (e.g. an initializer's HWIO weights) */
    if (out >= 0 && out != t && !c->g->tensors[out].src_name) c->g->tensors[out].src_name = source_of(c, t);
    return out;
}

int mo_to_nhwc(mo_ctx *c, const onnx_node *n, int t) {
    const me_tensor *tt = mo_t(c, t);
    if (!tt) return -1;
    int r = tt->rank;
    if (r < 3 || r > ME_MAX_RANK) {
        mo_error(c, n, ME_ERR_UNSUPPORTED, "expected a tensor of rank 3..%d for a channel-first layout, got rank %d",
                 ME_MAX_RANK, r);
        return -1;
    }
    int perm[ME_MAX_RANK];
    perm[0] = 0;
    for (int i = 1; i < r - 1; i++) perm[i] = i + 1;
    perm[r - 1] = 1;
    return mo_transpose(c, n, t, perm, "to_nhwc");
}

int mo_to_nchw(mo_ctx *c, const onnx_node *n, int t) {
    const me_tensor *tt = mo_t(c, t);
    if (!tt) return -1;
    int r = tt->rank;
    if (r < 3 || r > ME_MAX_RANK) {
        mo_error(c, n, ME_ERR_UNSUPPORTED, "expected a tensor of rank 3..%d for a channel-last layout, got rank %d",
                 ME_MAX_RANK, r);
        return -1;
    }
    int perm[ME_MAX_RANK];
    perm[0] = 0;
    perm[1] = r - 1;
    for (int i = 2; i < r; i++) perm[i] = i - 1;
    return mo_transpose(c, n, t, perm, "to_nchw");
}

int mo_reshape(mo_ctx *c, const onnx_node *n, int t, int rank, const int64_t *dims, const char *suffix) {
    const me_tensor *tt = mo_t(c, t);
    if (!tt) return -1;
    if (rank < 0 || rank > ME_MAX_RANK) {
        mo_error(c, n, ME_ERR_UNSUPPORTED, "reshape to rank %d (at most %d)", rank, ME_MAX_RANK);
        return -1;
    }
    bool same = tt->rank == rank;
    for (int i = 0; same && i < rank; i++) same = tt->dims[i] == dims[i];
    if (same) return t;
    me_dtype dt = tt->dtype;
    int node = mo_node(c, n, ME_OP_RESHAPE, &t, 1, 1, suffix && suffix[0] ? suffix : "reshape");
    if (node < 0) return -1;
    me_tensor *o = &c->g->tensors[c->g->nodes[node].out[0]];
    o->dtype = dt;
    o->rank = rank;
    for (int i = 0; i < rank; i++) o->dims[i] = dims[i];
    int out;
    if (mo_finish(c, node, &out) != ME_OK) return -1;
    return out;
}

int mo_cast(mo_ctx *c, const onnx_node *n, int t, me_dtype to, const char *suffix) {
    const me_tensor *tt = mo_t(c, t);
    if (!tt) return -1;
    if (tt->dtype == to) return t;
    int rank = tt->rank;
    int64_t dims[ME_MAX_RANK];
    memcpy(dims, tt->dims, sizeof dims);
    int node = mo_node(c, n, ME_OP_CAST, &t, 1, 1, suffix && suffix[0] ? suffix : "cast");
    if (node < 0) return -1;
    me_tensor *o = &c->g->tensors[c->g->nodes[node].out[0]];
    o->dtype = to;
    o->rank = rank;
    memcpy(o->dims, dims, sizeof dims);
    int out;
    if (mo_finish(c, node, &out) != ME_OK) return -1;
    return out;
}

int mo_binary(mo_ctx *c, const onnx_node *n, me_op_id op, int a, int b, const char *suffix) {
    int in[2] = {a, b};
    return mo_emit1(c, n, op, in, 2, suffix);
}

int mo_unary(mo_ctx *c, const onnx_node *n, me_op_id op, int a, const char *suffix) {
    return mo_emit1(c, n, op, &a, 1, suffix);
}

/* ---- nested graphs ---- */
me_status mo_inline_subgraph(mo_ctx *c, const onnx_node *n, const onnx_graph *sub) {
    if (c->subgraph_depth >= 16) return mo_error(c, n, ME_ERR_UNSUPPORTED, "subgraphs nested too deeply");
    c->subgraph_depth++;
    me_status st = mo_translate_graph(c, sub, n->name);
    c->subgraph_depth--;
    if (st != ME_OK) return st;
    if (sub->n_outputs < n->n_out)
        return mo_error(c, n, ME_ERR_FORMAT, "the subgraph has %d outputs, the node %d", sub->n_outputs, n->n_out);
    for (int i = 0; i < n->n_out; i++) {
        int vi = mo_value_find(c, sub->outputs[i].name);
        if (vi < 0 || c->vals[vi].unknown) {
            if (vi >= 0 && c->vals[vi].unknown) {
                c->fixed_hit = true; /* must-be-fixed, reported at the end */
                return ME_ERR_UNSUPPORTED;
            }
            return mo_error(c, n, ME_ERR_FORMAT, "subgraph output '%s' is not produced", sub->outputs[i].name);
        }
        int t = mo_value_tensor(c, vi);
        if (t < 0) return ME_ERR_FORMAT;
        me_status bs = mo_bind(c, n, i, t);
        if (bs != ME_OK) return bs;
    }
    return ME_OK;
}
