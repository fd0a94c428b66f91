/* `inspect` for a GGUF file: architecture, hyper-parameters (every
 * "<arch>.*" metadata key), layer count, tensor count, weight types with
 * counts and byte totals, tokenizer, and the tree of tensor-name scopes
 * (blk.3/attn_q ...), as text or JSON. */
#define _GNU_SOURCE
#include "inspect_gguf.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../frontend/gguf/gguf.h"

#define MAX_TREE_NODES 20000 /* crafted files with more scopes are folded into their parent */
#define N_TYPES 64

typedef struct snode {
    const char *label; size_t len;
    int64_t count;
    int parent, first_child, last_child, next;
} snode;

typedef struct stree { snode *n; int len, cap; int64_t folded; } stree;

static int st_child(stree *t, int parent, const char *label, size_t len) {
    for (int c = t->n[parent].first_child; c >= 0; c = t->n[c].next)
        if (t->n[c].len == len && !memcmp(t->n[c].label, label, len)) return c;
    if (t->len >= MAX_TREE_NODES) return -1;
    if (t->len == t->cap) {
        int cap = t->cap ? t->cap * 2 : 64;
        snode *p = realloc(t->n, (size_t)cap * sizeof *p);
        if (!p) return -1;
        t->n = p, t->cap = cap;
    }
    int i = t->len++;
    t->n[i] = (snode){label, len, 0, parent, -1, -1, -1};
    if (t->n[parent].last_child >= 0) t->n[t->n[parent].last_child].next = i;
    else t->n[parent].first_child = i;
    t->n[parent].last_child = i;
    return i;
}

static bool all_digits(const char *p, size_t n) {
    if (!n) return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    return true;
}

/* "blk.3.attn_q.weight" -> scopes "blk.3", "attn_q" (a numeric part joins its predecessor;
 * the trailing weight/bias is the tensor itself). */
static int st_add(stree *t, gguf_str name) {
    const char *p = name.p, *end = name.p + name.n;
    if (name.n > 7 && !memcmp(end - 7, ".weight", 7)) end -= 7;
    else if (name.n > 5 && !memcmp(end - 5, ".bias", 5)) end -= 5;
    int cur = 0;
    t->n[0].count++;
    while (p < end) {
        const char *q = memchr(p, '.', (size_t)(end - p));
        if (!q) q = end;
        while (q < end) { /* join following numeric parts: blk.3 */
            const char *r = memchr(q + 1, '.', (size_t)(end - q - 1));
            if (!r) r = end;
            if (!all_digits(q + 1, (size_t)(r - q - 1))) break;
            q = r;
        }
        int c = st_child(t, cur, p, (size_t)(q - p));
        if (c < 0) { t->folded++; return 0; }
        t->n[c].count++;
        cur = c;
        p = q < end ? q + 1 : end;
    }
    return 0;
}

typedef struct tstat { int64_t tensors, params; uint64_t bytes; } tstat;

typedef struct ginfo {
    const gguf_file *f;
    gguf_str arch, name, tok_model;
    char prefix[80];
    int64_t vocab, layers;
    tstat types[N_TYPES];
    int64_t params;
    uint64_t weight_bytes;
    stree tree;
} ginfo;

static void print_value(FILE *o, const gguf_kv *kv) {
    switch (kv->type) {
    case GGUF_T_STRING: fprintf(o, "%.*s", (int)ME_MIN(kv->s.n, 120), kv->s.p); break;
    case GGUF_T_FLOAT32: case GGUF_T_FLOAT64: fprintf(o, "%g", kv->v.f); break;
    case GGUF_T_BOOL: fprintf(o, "%s", kv->v.b ? "true" : "false"); break;
    case GGUF_T_INT8: case GGUF_T_INT16: case GGUF_T_INT32: case GGUF_T_INT64:
        fprintf(o, "%" PRId64, kv->v.i);
        break;
    case GGUF_T_ARRAY: fprintf(o, "[%" PRIu64 " x %s]", kv->arr_n, gguf_vtype_name(kv->arr_type)); break;
    default: fprintf(o, "%" PRIu64, kv->v.u); break;
    }
}

static cJSON *json_value(const gguf_kv *kv) {
    switch (kv->type) {
    case GGUF_T_STRING: {
        char *s = strndup(kv->s.p, (size_t)ME_MIN(kv->s.n, 4096));
        cJSON *v = cJSON_CreateString(s ? s : "");
        free(s);
        return v;
    }
    case GGUF_T_FLOAT32: case GGUF_T_FLOAT64: return cJSON_CreateNumber(kv->v.f);
    case GGUF_T_BOOL: return cJSON_CreateBool(kv->v.b);
    case GGUF_T_INT8: case GGUF_T_INT16: case GGUF_T_INT32: case GGUF_T_INT64:
        return cJSON_CreateNumber((double)kv->v.i);
    case GGUF_T_ARRAY: {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "array_of", gguf_vtype_name(kv->arr_type));
        cJSON_AddNumberToObject(a, "length", (double)kv->arr_n);
        return a;
    }
    default: return cJSON_CreateNumber((double)kv->v.u);
    }
}

static bool has_prefix(gguf_str key, const char *prefix) {
    size_t n = strlen(prefix);
    return n && key.n > n && !memcmp(key.p, prefix, n);
}

static void fmt_bytes(char *buf, size_t n, uint64_t b) {
    if (b < 1000) snprintf(buf, n, "%" PRIu64 " B", b);
    else if (b < 1000000) snprintf(buf, n, "%.1f kB", (double)b / 1e3);
    else if (b < 1000000000) snprintf(buf, n, "%.1f MB", (double)b / 1e6);
    else snprintf(buf, n, "%.2f GB", (double)b / 1e9);
}

/* Same label sequence and counts below a and b (e.g. blk.0 and blk.1). */
static bool same_shape(const stree *t, int a, int b) {
    if (t->n[a].count != t->n[b].count) return false;
    int x = t->n[a].first_child, y = t->n[b].first_child;
    for (; x >= 0 && y >= 0; x = t->n[x].next, y = t->n[y].next)
        if (t->n[x].len != t->n[y].len || memcmp(t->n[x].label, t->n[y].label, t->n[x].len) ||
            !same_shape(t, x, y))
            return false;
    return x < 0 && y < 0;
}

/* "blk.7" -> length of "blk." when the label ends in a number after a dot, else 0. */
static size_t numbered_prefix(const snode *s) {
    size_t i = s->len;
    while (i > 0 && s->label[i - 1] >= '0' && s->label[i - 1] <= '9') i--;
    return i > 1 && i < s->len && s->label[i - 1] == '.' ? i : 0;
}

/* Text tree; runs of numbered siblings with identical contents (layers) print once. */
static void print_tree(FILE *o, const stree *t, int i, int depth) {
    for (int c = t->n[i].first_child; c >= 0; c = t->n[c].next) {
        const snode *s = &t->n[c];
        size_t pre = numbered_prefix(s);
        int last = c, run = 1;
        while (pre && t->n[last].next >= 0) {
            const snode *q = &t->n[t->n[last].next];
            if (numbered_prefix(q) != pre || memcmp(q->label, s->label, pre) || !same_shape(t, c, t->n[last].next)) break;
            last = t->n[last].next, run++;
        }
        if (run > 2) {
            fprintf(o, "%*s%.*s .. %.*s  %d scopes, %" PRId64 " each\n", 2 * depth + 2, "", (int)s->len, s->label,
                    (int)t->n[last].len, t->n[last].label, run, s->count);
        } else {
            last = c;
            fprintf(o, "%*s%.*s  %" PRId64 "\n", 2 * depth + 2, "", (int)s->len, s->label, s->count);
        }
        print_tree(o, t, c, depth + 1);
        c = last;
    }
}

static cJSON *json_tree(const stree *t, int i) {
    cJSON *o = cJSON_CreateObject(), *kids = cJSON_CreateArray();
    char *label = i ? strndup(t->n[i].label, t->n[i].len) : NULL;
    cJSON_AddStringToObject(o, "name", i ? (label ? label : "") : "/");
    free(label);
    cJSON_AddNumberToObject(o, "tensors", (double)t->n[i].count);
    for (int c = t->n[i].first_child; c >= 0; c = t->n[c].next) cJSON_AddItemToArray(kids, json_tree(t, c));
    cJSON_AddItemToObject(o, "children", kids);
    return o;
}

static void collect(ginfo *g) {
    const gguf_file *f = g->f;
    gguf_get_str(f, "general.architecture", &g->arch);
    gguf_get_str(f, "general.name", &g->name);
    gguf_get_str(f, "tokenizer.ggml.model", &g->tok_model);
    snprintf(g->prefix, sizeof g->prefix, "%.*s.", (int)ME_MIN(g->arch.n, 60), g->arch.p ? g->arch.p : "");
    const gguf_kv *toks = gguf_find_kv(f, "tokenizer.ggml.tokens");
    g->vocab = toks && toks->type == GGUF_T_ARRAY ? (int64_t)toks->arr_n : -1;
    char key[128];
    uint64_t u;
    snprintf(key, sizeof key, "%sblock_count", g->prefix);
    g->layers = gguf_get_u64(f, key, &u) ? (int64_t)u : -1;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; /* checked by the reader */
        tstat *s = &g->types[t->type < N_TYPES ? t->type : N_TYPES - 1];
        s->tensors++, s->params += n, s->bytes += t->nbytes;
        g->params += n, g->weight_bytes += t->nbytes;
        st_add(&g->tree, t->name);
    }
}

static char *render_text(const ginfo *g) {
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o) return NULL;
    const gguf_file *f = g->f;
    char b1[32], b2[32];
    fmt_bytes(b1, sizeof b1, f->map.size);
    fprintf(o, "format: GGUF v%u, %s, %" PRIu64 " tensors, %" PRIu64 " metadata keys, alignment %" PRIu64 "\n",
            f->version, b1, f->n_tensors, f->n_kv, f->alignment);
    fprintf(o, "architecture: %.*s\n", g->arch.p ? (int)ME_MIN(g->arch.n, 120) : 9, g->arch.p ? g->arch.p : "(missing)");
    if (g->name.p) fprintf(o, "name: %.*s\n", (int)ME_MIN(g->name.n, 200), g->name.p);
    if (g->layers >= 0) fprintf(o, "layers: %" PRId64 "\n", g->layers);
    fprintf(o, "hyper-parameters:\n");
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kvs[i];
        if (!has_prefix(kv->key, g->prefix)) continue;
        fprintf(o, "  %.*s = ", (int)ME_MIN(kv->key.n - strlen(g->prefix), 200), kv->key.p + strlen(g->prefix));
        print_value(o, kv);
        fputc('\n', o);
    }
    fprintf(o, "tokenizer: %.*s, vocab %" PRId64 "\n", g->tok_model.p ? (int)ME_MIN(g->tok_model.n, 60) : 4,
            g->tok_model.p ? g->tok_model.p : "none", g->vocab);
    fmt_bytes(b1, sizeof b1, g->weight_bytes);
    fprintf(o, "weights: %" PRIu64 " tensors, %" PRId64 " parameters, %s\n", f->n_tensors, g->params, b1);
    for (int t = 0; t < N_TYPES; t++) {
        if (!g->types[t].tensors) continue;
        const char *name = gguf_type_name((uint32_t)t);
        fmt_bytes(b2, sizeof b2, g->types[t].bytes);
        fprintf(o, "  %-8s %6" PRId64 " tensor%s %12" PRId64 " parameters  %10s (%" PRIu64 " bytes)\n",
                name ? name : "?", g->types[t].tensors, g->types[t].tensors == 1 ? " " : "s", g->types[t].params, b2,
                g->types[t].bytes);
    }
    fprintf(o, "hierarchy (tensor scopes, with tensor counts):\n  /  %" PRId64 "\n", g->tree.n[0].count);
    print_tree(o, &g->tree, 0, 1);
    if (g->tree.folded) fprintf(o, "  (%" PRId64 " tensors not shown: too many scopes)\n", g->tree.folded);
    if (fclose(o)) { free(buf); return NULL; }
    return buf;
}

static char *render_json(const ginfo *g) {
    const gguf_file *f = g->f;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "format", "gguf");
    cJSON_AddNumberToObject(o, "version", f->version);
    cJSON_AddNumberToObject(o, "file_bytes", (double)f->map.size);
    cJSON_AddNumberToObject(o, "alignment", (double)f->alignment);
    cJSON_AddNumberToObject(o, "metadata_count", (double)f->n_kv);
    char *s = g->arch.p ? strndup(g->arch.p, (size_t)g->arch.n) : NULL;
    if (s) cJSON_AddStringToObject(o, "architecture", s);
    else cJSON_AddNullToObject(o, "architecture");
    free(s);
    if (g->name.p && (s = strndup(g->name.p, (size_t)ME_MIN(g->name.n, 4096)))) {
        cJSON_AddStringToObject(o, "name", s);
        free(s);
    }
    cJSON_AddNumberToObject(o, "layers", (double)g->layers);
    cJSON *hp = cJSON_AddObjectToObject(o, "hyperparameters");
    for (uint64_t i = 0; hp && i < f->n_kv; i++) {
        const gguf_kv *kv = &f->kvs[i];
        if (!has_prefix(kv->key, g->prefix)) continue;
        char *k = strndup(kv->key.p + strlen(g->prefix), (size_t)(kv->key.n - strlen(g->prefix)));
        if (k) cJSON_AddItemToObject(hp, k, json_value(kv));
        free(k);
    }
    cJSON *tok = cJSON_AddObjectToObject(o, "tokenizer");
    if (tok) {
        if (g->tok_model.p && (s = strndup(g->tok_model.p, (size_t)ME_MIN(g->tok_model.n, 200)))) {
            cJSON_AddStringToObject(tok, "model", s);
            free(s);
        }
        cJSON_AddNumberToObject(tok, "vocab_size", (double)g->vocab);
    }
    cJSON_AddNumberToObject(o, "tensor_count", (double)f->n_tensors);
    cJSON_AddNumberToObject(o, "parameters", (double)g->params);
    cJSON_AddNumberToObject(o, "weight_bytes", (double)g->weight_bytes);
    cJSON *types = cJSON_AddArrayToObject(o, "weight_types");
    for (int t = 0; types && t < N_TYPES; t++) {
        if (!g->types[t].tensors) continue;
        cJSON *e = cJSON_CreateObject();
        const char *name = gguf_type_name((uint32_t)t);
        cJSON_AddStringToObject(e, "type", name ? name : "?");
        cJSON_AddNumberToObject(e, "tensors", (double)g->types[t].tensors);
        cJSON_AddNumberToObject(e, "parameters", (double)g->types[t].params);
        cJSON_AddNumberToObject(e, "bytes", (double)g->types[t].bytes);
        cJSON_AddItemToArray(types, e);
    }
    cJSON_AddItemToObject(o, "hierarchy", json_tree(&g->tree, 0));
    char *out = cJSON_Print(o);
    cJSON_Delete(o);
    if (!out) return NULL;
    /* hand back a malloc'd string (cJSON's allocator is malloc by default) */
    return out;
}

me_status me_inspect_gguf(const char *path, int json, char **out_text, me_diag *d) {
    me_arena arena;
    me_arena_init(&arena);
    gguf_file f;
    me_status st = gguf_open(path, &arena, &f, d);
    if (st) {
        me_arena_free(&arena);
        return st;
    }
    ginfo g;
    memset(&g, 0, sizeof g);
    g.f = &f;
    g.tree.n = malloc(64 * sizeof *g.tree.n);
    if (g.tree.n) {
        g.tree.cap = 64, g.tree.len = 1;
        g.tree.n[0] = (snode){"/", 1, 0, -1, -1, -1, -1};
        collect(&g);
        *out_text = json ? render_json(&g) : render_text(&g);
    }
    if (!g.tree.n || !*out_text) st = me_fail(d, ME_ERR_NOMEM, "out of memory inspecting '%s'", path);
    free(g.tree.n);
    gguf_close(&f);
    me_arena_free(&arena);
    return st;
}
