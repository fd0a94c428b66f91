/* me_inspect: a summary of an .onnx or .dlc file (I/O, op histogram,
 * parameter count, scope hierarchy) as text or JSON. An .onnx file is shown
 * as it would be compiled with the default options (after the graph passes). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../backend/ctxbin/ctxbin.h"
#include "../backend/dlc/dlc.h"
#include "../core/util.h"
#include "../llm/llm_inspect.h"
#include "../ops/ops.h"
#include "api_internal.h"
#include "inspect_gguf.h"

#define MAX_SCOPE_DEPTH 64 /* deeper scopes are folded into their 64th level */

/* ---- growable text ---- */
typedef struct sbuf { char *p; size_t len, cap; int oom; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = 1; va_end(ap2); return; }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) { b->oom = 1; va_end(ap2); return; }
        b->p = np;
        b->cap = cap;
    }
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

static void notice_collect(void *user, const char *msg) { sb_printf(user, "%s\n", msg); }

/* ---- scope tree ---- */
typedef struct hnode {
    char *label;      /* "/segment"; "/" for the root */
    int64_t count;    /* IR nodes at or under this scope */
    int parent, first_child, last_child, next;
} hnode;

typedef struct htree {
    hnode *n;
    int len, cap;
    int *slots;       /* open addressing over (parent, label) -> node */
    int n_slots;
    me_arena *arena;
} htree;

static uint64_t hkey(int parent, const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(unsigned)parent;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int ht_rehash(htree *t, int n_slots) {
    int *slots = malloc((size_t)n_slots * sizeof *slots);
    if (!slots) return -1;
    for (int i = 0; i < n_slots; i++) slots[i] = -1;
    for (int i = 1; i < t->len; i++) { /* node 0 (root) is not hashed */
        const hnode *h = &t->n[i];
        uint64_t k = hkey(h->parent, h->label + 1, strlen(h->label + 1)) & (uint64_t)(n_slots - 1);
        while (slots[k] >= 0) k = (k + 1) & (uint64_t)(n_slots - 1);
        slots[k] = i;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return 0;
}

static int ht_add(htree *t, int parent, const char *label, size_t len) {
    if (t->len == t->cap) {
        int cap = t->cap ? t->cap * 2 : 64;
        hnode *nn = realloc(t->n, (size_t)cap * sizeof *nn);
        if (!nn) return -1;
        t->n = nn;
        t->cap = cap;
    }
    hnode *h = &t->n[t->len];
    memset(h, 0, sizeof *h);
    h->label = me_arena_alloc(t->arena, len + 2);
    if (!h->label) return -1;
    h->label[0] = '/';
    memcpy(h->label + 1, label, len);
    h->parent = parent;
    h->first_child = h->last_child = h->next = -1;
    int id = t->len++;
    if (parent >= 0) {
        hnode *p = &t->n[parent];
        if (p->last_child >= 0) t->n[p->last_child].next = id;
        else p->first_child = id;
        p->last_child = id;
    }
    return id;
}

static int ht_child(htree *t, int parent, const char *label, size_t len) {
    if ((t->len + 1) * 2 > t->n_slots && ht_rehash(t, t->n_slots ? t->n_slots * 2 : 256) < 0) return -1;
    uint64_t mask = (uint64_t)(t->n_slots - 1), k = hkey(parent, label, len) & mask;
    while (t->slots[k] >= 0) {
        const hnode *h = &t->n[t->slots[k]];
        if (h->parent == parent && strlen(h->label + 1) == len && memcmp(h->label + 1, label, len) == 0) return t->slots[k];
        k = (k + 1) & mask;
    }
    int id = ht_add(t, parent, label, len);
    if (id >= 0) t->slots[k] = id;
    return id;
}

static int ht_build(htree *t, const me_graph *g) {
    if (ht_add(t, -1, "", 0) < 0) return -1;
    t->n[0].label[0] = '/';
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) continue;
        t->n[0].count++;
        const char *s = g->nodes[i].scope ? g->nodes[i].scope : "";
        int cur = 0, depth = 0;
        while (*s) {
            while (*s == '/') s++;
            if (!*s) break;
            size_t len = depth + 1 >= MAX_SCOPE_DEPTH ? strlen(s) : strcspn(s, "/");
            cur = ht_child(t, cur, s, len);
            if (cur < 0) return -1;
            t->n[cur].count++;
            s += len;
            depth++;
        }
    }
    return 0;
}

static void ht_free(htree *t) { free(t->n); free(t->slots); }

/* ---- facts gathered from the graph ---- */
typedef struct facts {
    int64_t n_params, n_static;
    uint64_t static_bytes;
    int n_nodes;
    int op_count[ME_OP_COUNT];
    int op_order[ME_OP_COUNT];
    int n_op_kinds;
    int dtype_count[ME_DT_COUNT]; /* tensors used by live nodes, by dtype: shows what is quantised or f16 */
} facts;

/* Most frequent op first, then by name (insertion sort: fewer than 100 kinds). */
static void sort_ops(facts *f) {
    for (int i = 1; i < f->n_op_kinds; i++) {
        int op = f->op_order[i], j = i;
        while (j > 0) {
            int prev = f->op_order[j - 1];
            int before = f->op_count[op] > f->op_count[prev] ||
                         (f->op_count[op] == f->op_count[prev] && strcmp(me_op_names[op], me_op_names[prev]) < 0);
            if (!before) break;
            f->op_order[j] = prev;
            j--;
        }
        f->op_order[j] = op;
    }
}

static void gather(const me_graph *g, facts *f) {
    memset(f, 0, sizeof *f);
    for (int t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].flags & ME_TF_STATIC) {
            f->n_static++;
            f->n_params += me_tensor_numel(&g->tensors[t]);
            f->static_bytes += g->tensors[t].nbytes;
        }
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op >= 0 && g->nodes[i].op < ME_OP_COUNT) {
            f->n_nodes++;
            f->op_count[g->nodes[i].op]++;
        }
    for (int t = 0; t < g->n_tensors; t++)
        if ((unsigned)g->tensors[t].dtype < ME_DT_COUNT) f->dtype_count[g->tensors[t].dtype]++;
    for (int op = 0; op < ME_OP_COUNT; op++)
        if (f->op_count[op]) f->op_order[f->n_op_kinds++] = op;
    sort_ops(f);
}

static const char *plural(int64_t n) { return n == 1 ? "" : "s"; }

static void fmt_bytes(char *buf, size_t n, uint64_t b) {
    if (b < 1000) snprintf(buf, n, "%" PRIu64 " B", b);
    else if (b < 1000000) snprintf(buf, n, "%.1f kB", (double)b / 1e3);
    else if (b < 1000000000) snprintf(buf, n, "%.1f MB", (double)b / 1e6);
    else snprintf(buf, n, "%.2f GB", (double)b / 1e9);
}

static void fmt_count(char *buf, size_t n, int64_t v) {
    char raw[32];
    snprintf(raw, sizeof raw, "%" PRId64, v);
    size_t len = strlen(raw), o = 0;
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && raw[i - 1] != '-' && (len - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = 0;
}

static void hex_hash(char out[65], const uint8_t h[32], int *all_zero) {
    *all_zero = 1;
    for (int i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", h[i]);
        if (h[i]) *all_zero = 0;
    }
}

typedef struct subject {
    const char *path;
    int is_dlc;
    me_dlc_info info;
    me_ctxbin *ctx;    /* a context binary (is_dlc is set too: it embeds one) */
    uint64_t file_bytes;
    const char *notes;
} subject;

/* ---- context binary facts ---- */
/* "kernel id: count" pairs, in first-seen order, for the summary. */
static int ctx_kernel_hist(const me_ctxbin *c, const char **ids, int *counts, int cap) {
    int n = 0;
    for (int i = 0; i < c->n_kernels; i++) {
        int k = 0;
        while (k < n && strcmp(ids[k], c->kernel_ids[i]) != 0) k++;
        if (k == n) {
            if (n == cap) continue;
            ids[n] = c->kernel_ids[i];
            counts[n++] = 0;
        }
        counts[k]++;
    }
    return n;
}

static void ctx_text(sbuf *b, const me_ctxbin *c, const me_graph *g) {
    char feats[512];
    me_cpu_feature_list(c->target.arch, c->target.features, feats, sizeof feats);
    sb_printf(b, "format: modelexport context binary version %u (our own format, not Qualcomm's)\n", c->version);
    sb_printf(b, "target: cpu, %s (%s: %s)\n", c->target.name, me_cpu_arch_name(c->target.arch), *feats ? feats : "baseline");
    sb_printf(b, "plan: %d steps, activations %zu bytes (%zu without reuse), scratch %zu bytes; packed weights %llu bytes\n",
              c->plan.n_steps, c->plan.arena_bytes, c->plan.sum_bytes, c->plan.scratch_bytes,
              (unsigned long long)c->packed_bytes);
    const char *ids[64];
    int counts[64];
    int n = ctx_kernel_hist(c, ids, counts, 64);
    sb_printf(b, "kernels:");
    for (int k = 0; k < n; k++) sb_printf(b, "%s %s x%d", k ? "," : "", ids[k], counts[k]);
    sb_printf(b, "\n");
    (void)g;
}

static void ctx_json(cJSON *o, const me_ctxbin *c, const me_graph *g) {
    char feats[512];
    me_cpu_feature_list(c->target.arch, c->target.features, feats, sizeof feats);
    cJSON *t = cJSON_AddObjectToObject(o, "target");
    if (t) {
        cJSON_AddStringToObject(t, "backend", "cpu");
        cJSON_AddStringToObject(t, "device", c->target.name);
        cJSON_AddStringToObject(t, "arch", me_cpu_arch_name(c->target.arch));
        cJSON_AddStringToObject(t, "features", feats);
    }
    cJSON *p = cJSON_AddObjectToObject(o, "plan");
    if (p) {
        cJSON_AddNumberToObject(p, "steps", c->plan.n_steps);
        cJSON_AddNumberToObject(p, "arena_bytes", (double)c->plan.arena_bytes);
        cJSON_AddNumberToObject(p, "scratch_bytes", (double)c->plan.scratch_bytes);
        cJSON_AddNumberToObject(p, "packed_bytes", (double)c->packed_bytes);
    }
    cJSON *k = cJSON_AddArrayToObject(o, "kernels");
    for (int s = 0; k && s < c->plan.n_steps; s++) {
        int id = c->plan.order[s];
        cJSON *e = cJSON_CreateObject();
        if (!e) break;
        cJSON_AddStringToObject(e, "node", g->nodes[id].name);
        cJSON_AddStringToObject(e, "kernel", c->kernel_ids[id]);
        cJSON_AddItemToArray(k, e);
    }
}

/* ---- text ---- */
static void text_io(sbuf *b, const me_graph *g, const int *ids, int n) {
    for (int i = 0; i < n; i++) {
        const me_tensor *t = &g->tensors[ids[i]];
        sb_printf(b, "  %s: %s [", t->name, me_dtype_name(t->dtype));
        for (int k = 0; k < t->rank; k++) sb_printf(b, "%s%" PRId64, k ? ", " : "", t->dims[k]);
        sb_printf(b, "]\n");
    }
}

static char *render_text(const subject *s, const me_graph *g, const facts *f, const htree *h) {
    sbuf b = {0};
    char size[32], cnt[40], sbytes[32], hex[65];
    int zero;
    fmt_bytes(size, sizeof size, s->file_bytes);
    sb_printf(&b, "file: %s\n", s->path);
    hex_hash(hex, g->source_hash, &zero);
    if (s->ctx) ctx_text(&b, s->ctx, g);
    if (s->is_dlc) {
        sb_printf(&b, "%s: modelexport DLC version %u (our own container, not Qualcomm's), %s\n",
                  s->ctx ? "graph" : "format", s->info.version, size);
        sb_printf(&b, "producer: %s\n", s->info.producer[0] ? s->info.producer : "(unknown)");
        sb_printf(&b, "source: %s\n", g->source_path && *g->source_path ? g->source_path : "(unknown)");
        sb_printf(&b, "source sha256: %s\n", zero ? "(unknown)" : hex);
        sb_printf(&b, "compile options: %s\n", g->compile_options && *g->compile_options ? g->compile_options : "(none recorded)");
        char *llm = me_llm_describe_text(g); /* language models compiled from GGUF */
        if (llm) sb_printf(&b, "%s", llm);
        free(llm);
    } else {
        sb_printf(&b, "format: ONNX, %s; shown as compiled in memory with the default options (after the graph passes)\n", size);
        sb_printf(&b, "sha256: %s\n", zero ? "(unknown)" : hex);
    }
    if (s->notes && *s->notes) {
        sb_printf(&b, "notes:\n");
        for (const char *p = s->notes; *p;) {
            size_t len = strcspn(p, "\n");
            sb_printf(&b, "  %.*s\n", (int)len, p);
            p += len + (p[len] == '\n');
        }
    }
    sb_printf(&b, "graph: %s (%d node%s, %d tensor%s)\n", g->name ? g->name : "", f->n_nodes, plural(f->n_nodes),
              g->n_tensors, plural(g->n_tensors));
    sb_printf(&b, "inputs (%d):\n", g->n_inputs);
    text_io(&b, g, g->inputs, g->n_inputs);
    sb_printf(&b, "outputs (%d):\n", g->n_outputs);
    text_io(&b, g, g->outputs, g->n_outputs);
    fmt_count(cnt, sizeof cnt, f->n_params);
    fmt_bytes(sbytes, sizeof sbytes, f->static_bytes);
    sb_printf(&b, "parameters: %s in %" PRId64 " static tensor%s (%s)\n", cnt, f->n_static, plural(f->n_static), sbytes);
    sb_printf(&b, "tensor dtypes:");
    for (int dt = 0; dt < ME_DT_COUNT; dt++)
        if (f->dtype_count[dt]) sb_printf(&b, " %s %d", me_dtype_name((me_dtype)dt), f->dtype_count[dt]);
    sb_printf(&b, "\n");
    sb_printf(&b, "ops (QNN type: count, %d kind%s):\n", f->n_op_kinds, plural(f->n_op_kinds));
    for (int i = 0; i < f->n_op_kinds; i++) {
        int op = f->op_order[i];
        bool ours = strcmp(me_opdefs[op]->package, "qti.aisw") != 0;
        sb_printf(&b, "  %-28s %6d%s\n", me_op_names[op], f->op_count[op],
                  ours ? "  (our package 'modelexport': not loadable by QNN)" : "");
    }
    sb_printf(&b, "hierarchy (scope: IR nodes under it):\n");
    /* iterative pre-order walk: scope strings come from files, so no recursion */
    int cur = 0, depth = 0;
    while (cur >= 0) {
        sb_printf(&b, "%*s%s (%" PRId64 ")\n", 2 * depth, "", h->n[cur].label, h->n[cur].count);
        if (h->n[cur].first_child >= 0) {
            cur = h->n[cur].first_child;
            depth++;
            continue;
        }
        while (cur >= 0 && h->n[cur].next < 0) {
            cur = h->n[cur].parent;
            depth--;
        }
        if (cur >= 0) cur = h->n[cur].next;
    }
    if (b.oom) { free(b.p); return NULL; }
    return b.p;
}

/* ---- JSON ---- */
static cJSON *json_io(const me_graph *g, const int *ids, int n) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        const me_tensor *t = &g->tensors[ids[i]];
        cJSON *o = cJSON_CreateObject();
        cJSON *shape = cJSON_CreateArray();
        if (!o || !shape) { cJSON_Delete(o); cJSON_Delete(shape); cJSON_Delete(arr); return NULL; }
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddStringToObject(o, "dtype", me_dtype_name(t->dtype));
        for (int k = 0; k < t->rank; k++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->dims[k]));
        cJSON_AddItemToObject(o, "shape", shape);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static cJSON *json_tree(const htree *h) {
    cJSON **objs = calloc((size_t)h->len, sizeof *objs);
    cJSON **kids = calloc((size_t)h->len, sizeof *kids);
    cJSON *root = NULL;
    int ok = objs && kids;
    for (int i = 0; ok && i < h->len; i++) {
        objs[i] = cJSON_CreateObject();
        kids[i] = cJSON_CreateArray();
        if (!objs[i] || !kids[i]) { cJSON_Delete(objs[i]); cJSON_Delete(kids[i]); objs[i] = kids[i] = NULL; ok = 0; break; }
        cJSON_AddStringToObject(objs[i], "name", h->n[i].label);
        cJSON_AddNumberToObject(objs[i], "nodes", (double)h->n[i].count);
        cJSON_AddItemToObject(objs[i], "children", kids[i]);
    }
    if (ok) {
        /* children were created in order, so appending by index keeps first-appearance order */
        for (int i = 1; i < h->len; i++) cJSON_AddItemToArray(kids[h->n[i].parent], objs[i]);
        root = objs[0];
    } else if (objs) {
        for (int i = 0; i < h->len; i++) cJSON_Delete(objs[i]); /* not yet linked to each other */
    }
    free(objs);
    free(kids);
    return root;
}

static char *render_json(const subject *s, const me_graph *g, const facts *f, const htree *h) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char hex[65];
    int zero;
    hex_hash(hex, g->source_hash, &zero);
    cJSON_AddStringToObject(o, "file", s->path);
    cJSON_AddStringToObject(o, "format", s->ctx ? "context-binary" : s->is_dlc ? "dlc" : "onnx");
    if (s->ctx) ctx_json(o, s->ctx, g);
    cJSON_AddNumberToObject(o, "file_bytes", (double)s->file_bytes);
    if (s->is_dlc) {
        cJSON_AddNumberToObject(o, "format_version", s->info.version);
        cJSON_AddStringToObject(o, "producer", s->info.producer);
        cJSON_AddStringToObject(o, "source_path", g->source_path ? g->source_path : "");
        cJSON_AddStringToObject(o, "compile_options", g->compile_options ? g->compile_options : "");
        cJSON *llm = me_llm_describe_json(g);
        if (llm) cJSON_AddItemToObject(o, "llm", llm);
    } else {
        cJSON_AddStringToObject(o, "view", "compiled in memory with the default options (after the graph passes)");
    }
    if (zero) cJSON_AddNullToObject(o, "source_sha256");
    else cJSON_AddStringToObject(o, "source_sha256", hex);
    cJSON *notes = cJSON_AddArrayToObject(o, "notes");
    for (const char *p = s->notes ? s->notes : ""; notes && *p;) {
        size_t len = strcspn(p, "\n");
        char *line = strndup(p, len);
        if (line) cJSON_AddItemToArray(notes, cJSON_CreateString(line));
        free(line);
        p += len + (p[len] == '\n');
    }
    cJSON_AddStringToObject(o, "graph", g->name ? g->name : "");
    cJSON_AddNumberToObject(o, "nodes", f->n_nodes);
    cJSON_AddNumberToObject(o, "tensors", g->n_tensors);
    cJSON_AddItemToObject(o, "inputs", json_io(g, g->inputs, g->n_inputs));
    cJSON_AddItemToObject(o, "outputs", json_io(g, g->outputs, g->n_outputs));
    cJSON_AddNumberToObject(o, "parameters", (double)f->n_params);
    cJSON_AddNumberToObject(o, "static_tensors", (double)f->n_static);
    cJSON_AddNumberToObject(o, "static_bytes", (double)f->static_bytes);
    cJSON *dts = cJSON_AddObjectToObject(o, "tensor_dtypes");
    for (int dt = 0; dts && dt < ME_DT_COUNT; dt++)
        if (f->dtype_count[dt]) cJSON_AddNumberToObject(dts, me_dtype_name((me_dtype)dt), f->dtype_count[dt]);
    cJSON *ops = cJSON_AddObjectToObject(o, "ops");
    for (int i = 0; ops && i < f->n_op_kinds; i++)
        cJSON_AddNumberToObject(ops, me_op_names[f->op_order[i]], f->op_count[f->op_order[i]]);
    cJSON_AddItemToObject(o, "hierarchy", json_tree(h));
    /* Every node with its scope and the source nodes it was made from, so a
     * tool can check that hierarchy survived fusion. */
    cJSON *nodes = cJSON_AddArrayToObject(o, "node_list");
    for (int i = 0; nodes && i < g->n_nodes; i++) {
        const me_node *n = &g->nodes[i];
        if (n->dead) continue;
        cJSON *jn = cJSON_CreateObject();
        cJSON_AddStringToObject(jn, "name", n->name);
        cJSON_AddStringToObject(jn, "op", me_op_names[n->op]);
        cJSON_AddStringToObject(jn, "package", me_opdefs[n->op]->package);
        cJSON_AddStringToObject(jn, "scope", n->scope ? n->scope : "");
        cJSON *src = cJSON_AddArrayToObject(jn, "sources");
        for (int k = 0; src && k < n->n_sources; k++) cJSON_AddItemToArray(src, cJSON_CreateString(n->sources[k]));
        cJSON_AddItemToArray(nodes, jn);
    }
    char *printed = cJSON_Print(o);
    cJSON_Delete(o);
    if (!printed) return NULL;
    char *out = malloc(strlen(printed) + 2);
    if (out) {
        strcpy(out, printed);
        strcat(out, "\n");
    }
    cJSON_free(printed);
    return out;
}

me_status me_inspect(const char *path, int json, char **out_text, me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_status st = ME_OK;
    me_graph g;
    me_graph_init(&g, &d);
    sbuf notes = {0};
    htree h = {0};
    me_arena labels;
    me_arena_init(&labels);
    subject s;
    memset(&s, 0, sizeof s);
    if (!path || !out_text) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "me_inspect: a path and an output pointer are required");
        goto out;
    }
    *out_text = NULL;
    s.path = path;
    unsigned char head[8];
    int got = me_api_peek(path, head, (int)sizeof head);
    if (got < 0) {
        st = me_fail(&d, ME_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        goto out;
    }
    struct stat fs;
    if (stat(path, &fs) == 0) s.file_bytes = (uint64_t)fs.st_size;
    int zip = got >= 4 && memcmp(head, "PK\3\4", 4) == 0;
    if (got >= 4 && memcmp(head, "GGUF", 4) == 0) { /* inspect_gguf.c */
        st = me_inspect_gguf(path, json, out_text, &d);
        goto out;
    }
    if (me_ctxbin_has_magic(head, (size_t)got)) {
        s.is_dlc = 1;
        s.ctx = calloc(1, sizeof *s.ctx);
        st = s.ctx ? me_ctxbin_read(path, 0, &g, s.ctx, &d) : me_fail(&d, ME_ERR_NOMEM, "out of memory");
        if (st == ME_OK) s.info = s.ctx->dlc;
    } else if (me_dlc_has_magic(head, (size_t)got) || zip || me_api_has_ext(path, ".dlc")) {
        s.is_dlc = 1;
        st = me_dlc_read_info(path, &g, &s.info, &d);
    } else if (me_api_has_ext(path, ".onnx")) {
        me_compile_options o;
        me_compile_options_init(&o);
        o.notice = notice_collect;
        o.notice_user = &notes;
        st = me_api_build_graph(path, &o, 1, &g, &d);
        s.notes = notes.p;
    } else {
        st = me_fail(&d, ME_ERR_FORMAT, "'%s' is neither a modelexport DLC nor an .onnx file", path);
    }
    if (st != ME_OK) goto out;
    facts f;
    gather(&g, &f);
    h.arena = &labels;
    if (ht_build(&h, &g) < 0) {
        st = me_fail(&d, ME_ERR_NOMEM, "out of memory");
        goto out;
    }
    *out_text = json ? render_json(&s, &g, &f, &h) : render_text(&s, &g, &f, &h);
    if (!*out_text) st = me_fail(&d, ME_ERR_NOMEM, "out of memory");
out:
    if (st != ME_OK) me_api_fail(err, st, &d);
    ht_free(&h);
    me_arena_free(&labels);
    free(notes.p);
    me_graph_free(&g);
    me_ctxbin_free(s.ctx);
    free(s.ctx);
    me_diag_free(&d);
    return st;
}
