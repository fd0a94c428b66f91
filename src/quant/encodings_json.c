/* Encodings JSON in (both QNN schemas) and out (legacy schema). */
#include "encodings_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo.h"

typedef struct rd {
    const char *what;
    const me_graph *g;
    me_enc_table *t;
    me_diag *d;
    const char *section;
} rd;

static me_status bad(rd *r, const char *name, const char *fmt, const char *field) {
    char msg[256];
    snprintf(msg, sizeof msg, fmt, field);
    return me_fail(r->d, ME_ERR_FORMAT, "encodings file '%s': %s '%s': %s", r->what, r->section, name, msg);
}

/* Names are the source model's (as QNN's): a tensor of that name, else the
 * tensors standing for it after layout changes (me_graph_find_source). */
static int find_tensor(rd *r, const char *name) {
    int id = -1;
    return me_graph_find_source(r->g, name, &id, 1) > 0 && id < r->t->n ? id : -1;
}

/* The other tensors a source name stands for get the same encoding. */
static me_status copy_to_aliases(rd *r, const char *name, int id) {
    const me_tensor_enc *e = &r->t->e[id];
    me_status st = ME_OK;
    for (int t = 0; st == ME_OK && t < r->t->n && t < r->g->n_tensors; t++) {
        const char *src = r->g->tensors[t].src_name;
        if (t == id || !src || strcmp(src, name) != 0) continue;
        st = me_enc_set(&r->t->e[t], e->kind, e->bw, e->sym, e->n, e->scales, e->offsets, r->d);
        if (st == ME_OK && e->block_size)
            st = me_enc_set_lpbq(&r->t->e[t], e->block_size, e->compressed_bw, e->n_blocks, e->block_scales, r->d);
    }
    return st;
}

static me_status unknown(rd *r, const char *name) {
    return me_fail(r->d, ME_ERR_FORMAT, "encodings file '%s': %s names '%s', which is not a tensor of the compiled graph",
                   r->what, r->section, name);
}

/* Weight bitwidths (4, 32) only for static tensors: a param_encodings entry
 * naming an activation gets the activation rules (fuzzing: a 4-bit "param"
 * encoding of a graph output was accepted, and exported as an activation
 * encoding that does not read back). */
static bool is_static(const rd *r, int id) {
    return id >= 0 && id < r->g->n_tensors && (r->g->tensors[id].flags & ME_TF_STATIC);
}

static me_status check_bw(rd *r, const char *name, int bw, bool is_float, bool param) {
    bool ok = is_float ? (bw == 16 || bw == 32) : param ? (bw == 4 || bw == 8 || bw == 16 || bw == 32) : (bw == 8 || bw == 16);
    if (ok) return ME_OK;
    char msg[160];
    snprintf(msg, sizeof msg, "bitwidth %d is out of range (%s)", bw,
             is_float ? "16 or 32 for float" : param ? "4, 8, 16 or 32 for parameters" : "8 or 16 for activations");
    return me_fail(r->d, ME_ERR_FORMAT, "encodings file '%s': %s '%s': %s", r->what, r->section, name, msg);
}

static me_status get_int(rd *r, const char *name, const cJSON *o, const char *field, bool required, int64_t lo, int64_t hi,
                         int64_t *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    if (!v) return required ? bad(r, name, "field '%s' is missing", field) : ME_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < (double)lo ||
        v->valuedouble > (double)hi)
        return bad(r, name, "field '%s' must be an integer in range", field);
    *out = (int64_t)v->valuedouble;
    return ME_OK;
}

static me_status get_num(rd *r, const char *name, const cJSON *o, const char *field, double *out, bool *has) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    *has = v != NULL;
    if (!v) return ME_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return bad(r, name, "field '%s' must be a finite number", field);
    *out = v->valuedouble;
    return ME_OK;
}

/* "True"/"False" strings (legacy) or JSON booleans. */
static me_status get_bool(rd *r, const char *name, const cJSON *o, const char *field, bool *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    if (!v) return ME_OK;
    if (cJSON_IsBool(v)) { *out = cJSON_IsTrue(v); return ME_OK; }
    if (cJSON_IsString(v) && (strcmp(v->valuestring, "True") == 0 || strcmp(v->valuestring, "true") == 0)) { *out = true; return ME_OK; }
    if (cJSON_IsString(v) && (strcmp(v->valuestring, "False") == 0 || strcmp(v->valuestring, "false") == 0)) { *out = false; return ME_OK; }
    return bad(r, name, "field '%s' must be \"True\" or \"False\"", field);
}

static me_status check_scale(rd *r, const char *name, double s) {
    /* stored as float: it must stay positive there too (fuzzing: 1e-85 became 0) */
    if (!(s > 0) || !isfinite(s) || s > 3.4e38 || !((float)s > 0))
        return bad(r, name, "%s must be positive and finite", "scale");
    return ME_OK;
}

/* One legacy encoding object -> scale/offset. */
static me_status legacy_one(rd *r, const char *name, const cJSON *e, int bw, bool sym, float *scale, int32_t *offset) {
    double mn = 0, mx = 0, sc = 0, off = 0;
    bool has_min, has_max, has_sc, has_off;
    me_status st;
    if ((st = get_num(r, name, e, "min", &mn, &has_min)) || (st = get_num(r, name, e, "max", &mx, &has_max)) ||
        (st = get_num(r, name, e, "scale", &sc, &has_sc)) || (st = get_num(r, name, e, "offset", &off, &has_off)))
        return st;
    if (has_sc && has_off) {
        if ((st = check_scale(r, name, sc))) return st;
        double lim = ldexp(1.0, bw);
        if (off != floor(off) || off > 0 || off < -lim) return bad(r, name, "field '%s' must be an integer in [-2^bw, 0]", "offset");
        *scale = (float)sc;
        *offset = (int32_t)off;
        return ME_OK;
    }
    if (!has_min || !has_max) return bad(r, name, "needs '%s' and 'offset', or 'min' and 'max'", "scale");
    if (mn > mx) return bad(r, name, "'%s' is greater than 'max'", "min");
    me_enc1 q = sym ? me_algo_symmetric(mn, mx, bw) : me_algo_tf(mn, mx, bw);
    /* a range too wide (or too narrow) for a float scale (found by fuzzing:
     * max = 4.9e59 gave an infinite scale, written back as null) */
    if ((st = check_scale(r, name, q.scale))) return st;
    *scale = q.scale;
    *offset = q.offset;
    return ME_OK;
}

static me_status legacy_entry(rd *r, const char *name, const cJSON *list, bool param) {
    int id = find_tensor(r, name);
    if (id < 0) return unknown(r, name);
    if (cJSON_IsObject(list)) { /* a single object instead of a one-element list */
    } else if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) < 1) {
        return bad(r, name, "must be a non-empty list of encodings%s", "");
    }
    int n = cJSON_IsObject(list) ? 1 : cJSON_GetArraySize(list);
    float *scales = malloc((size_t)n * sizeof *scales);
    int32_t *offsets = malloc((size_t)n * sizeof *offsets);
    me_status st = scales && offsets ? ME_OK : me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    int bw0 = 0;
    bool sym0 = false, is_float = false;
    for (int i = 0; st == ME_OK && i < n; i++) {
        const cJSON *e = cJSON_IsObject(list) ? list : cJSON_GetArrayItem(list, i);
        if (!cJSON_IsObject(e)) { st = bad(r, name, "entry must be an object%s", ""); break; }
        int64_t bw = 0;
        if ((st = get_int(r, name, e, "bitwidth", true, 1, 64, &bw))) break;
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        if (dt && (!cJSON_IsString(dt) || (strcmp(dt->valuestring, "int") && strcmp(dt->valuestring, "float")))) {
            st = bad(r, name, "field '%s' must be \"int\" or \"float\"", "dtype");
            break;
        }
        is_float = dt && strcmp(dt->valuestring, "float") == 0;
        if ((st = check_bw(r, name, (int)bw, is_float, param && is_static(r, id)))) break;
        bool sym = false;
        if ((st = get_bool(r, name, e, "is_symmetric", &sym))) break;
        if (i == 0) { bw0 = (int)bw; sym0 = sym; }
        else if (bw != bw0) { st = bad(r, name, "per-channel entries disagree on '%s'", "bitwidth"); break; }
        if (is_float) break;
        st = legacy_one(r, name, e, (int)bw, sym, &scales[i], &offsets[i]);
    }
    if (st == ME_OK)
        st = is_float ? me_enc_set(&r->t->e[id], ME_TENC_FLOAT, bw0, false, 0, NULL, NULL, r->d)
                      : me_enc_set(&r->t->e[id], ME_TENC_INT, bw0, sym0, n, scales, offsets, r->d);
    free(scales);
    free(offsets);
    return st;
}

static me_status num_list(rd *r, const char *name, const cJSON *e, const char *field, int *n, double **vals) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, field);
    *n = 0;
    *vals = NULL;
    if (!v) return bad(r, name, "field '%s' is missing", field);
    if (cJSON_IsNumber(v)) {
        *vals = malloc(sizeof **vals);
        if (!*vals) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
        (*vals)[0] = v->valuedouble;
        *n = 1;
        return ME_OK;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1) return bad(r, name, "field '%s' must be a non-empty list of numbers", field);
    int m = cJSON_GetArraySize(v);
    *vals = malloc((size_t)m * sizeof **vals);
    if (!*vals) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    int i = 0;
    for (const cJSON *x = v->child; x; x = x->next, i++) {
        if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble)) {
            free(*vals);
            *vals = NULL;
            return bad(r, name, "field '%s' must be a list of finite numbers", field);
        }
        (*vals)[i] = x->valuedouble;
    }
    *n = m;
    return ME_OK;
}

/* enc_type LPBQ (schema 1.0.0): bw = the stored (decompressed) bitwidth,
 * compressed_bw = the codes' bitwidth, scale/offset one per output channel,
 * per_block_int_scale one multiplier per channel x block (channel-major),
 * block_size along the input channels. Whether the shapes fit the weight is
 * checked when the weight is quantised. */
static me_status lpbq_entry(rd *r, const cJSON *e, const char *name, int id, int bw, bool param) {
    if (!param) return bad(r, name, "enc_type %s applies to weights (param_encodings) only", "LPBQ");
    if (bw != 8 && bw != 16) return bad(r, name, "field '%s' (the decompressed bitwidth) must be 8 or 16 for LPBQ", "bw");
    int64_t cbw = 0, block = 0;
    me_status st = get_int(r, name, e, "compressed_bw", true, 2, 16, &cbw);
    if (st == ME_OK) st = get_int(r, name, e, "block_size", true, 1, INT32_MAX, &block);
    if (st != ME_OK) return st;
    if (cbw >= bw) return bad(r, name, "field '%s' must be smaller than bw", "compressed_bw");
    const cJSON *is = cJSON_GetObjectItemCaseSensitive(e, "is_sym");
    if (is && !cJSON_IsBool(is)) return bad(r, name, "field '%s' must be true or false", "is_sym");
    if (is && !cJSON_IsTrue(is)) return bad(r, name, "LPBQ weights are symmetric: field '%s' must be true", "is_sym");
    int ns = 0, no = 0, nm = 0;
    double *sc = NULL, *of = NULL, *mu = NULL;
    st = num_list(r, name, e, "scale", &ns, &sc);
    if (st == ME_OK) st = num_list(r, name, e, "offset", &no, &of);
    if (st == ME_OK) st = num_list(r, name, e, "per_block_int_scale", &nm, &mu);
    if (st == ME_OK && ns != no) st = bad(r, name, "'scale' and '%s' differ in length", "offset");
    if (st == ME_OK && nm % ns != 0)
        st = bad(r, name, "field '%s' must hold one multiplier per channel and block (a multiple of the channels)",
                 "per_block_int_scale");
    float *fs = st == ME_OK ? malloc((size_t)ns * sizeof *fs) : NULL;
    int32_t *io = st == ME_OK ? malloc((size_t)ns * sizeof *io) : NULL;
    uint32_t *m = st == ME_OK ? malloc((size_t)nm * sizeof *m) : NULL;
    if (st == ME_OK && (!fs || !io || !m)) st = me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    for (int i = 0; st == ME_OK && i < ns; i++) {
        if ((st = check_scale(r, name, sc[i]))) break;
        /* symmetric: 0, or QNN's unsigned view of either bitwidth */
        if (of[i] != 0 && of[i] != -ldexp(1.0, bw - 1) && of[i] != -ldexp(1.0, (int)cbw - 1)) {
            st = bad(r, name, "field '%s' must be 0, -2^(bw-1) or -2^(compressed_bw-1) (symmetric)", "offset");
            break;
        }
        fs[i] = (float)sc[i];
        io[i] = -(1 << (bw - 1));
    }
    /* code x multiplier must fit bw bits: multipliers in [1, 2^(bw - compressed_bw)] */
    const double max_mult = ldexp(1.0, bw - (int)cbw);
    for (int i = 0; st == ME_OK && i < nm; i++) {
        if (mu[i] != floor(mu[i]) || mu[i] < 1 || mu[i] > max_mult) {
            st = bad(r, name, "field '%s' must hold integers in [1, 2^(bw - compressed_bw)]", "per_block_int_scale");
            break;
        }
        m[i] = (uint32_t)mu[i];
    }
    if (st == ME_OK) st = me_enc_set(&r->t->e[id], ME_TENC_INT, bw, true, ns, fs, io, r->d);
    if (st == ME_OK) st = me_enc_set_lpbq(&r->t->e[id], block, (int)cbw, nm / ns, m, r->d);
    free(sc); free(of); free(mu); free(fs); free(io); free(m);
    return st;
}

static me_status v1_entry(rd *r, const cJSON *e, bool param) {
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
    if (!cJSON_IsObject(e) || !cJSON_IsString(nm))
        return me_fail(r->d, ME_ERR_FORMAT, "encodings file '%s': %s: every entry needs a string 'name'", r->what, r->section);
    const char *name = nm->valuestring;
    int id = find_tensor(r, name);
    if (id < 0) return unknown(r, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *et = cJSON_GetObjectItemCaseSensitive(e, "enc_type");
    if (dt && (!cJSON_IsString(dt) || (strcmp(dt->valuestring, "INT") && strcmp(dt->valuestring, "FLOAT"))))
        return bad(r, name, "field '%s' must be \"INT\" or \"FLOAT\"", "dtype");
    bool is_float = dt && strcmp(dt->valuestring, "FLOAT") == 0;
    int64_t bw = 0;
    me_status st = get_int(r, name, e, "bw", true, 1, 64, &bw);
    if (st == ME_OK) st = check_bw(r, name, (int)bw, is_float, param && is_static(r, id));
    if (st != ME_OK) return st;
    if (is_float) return me_enc_set(&r->t->e[id], ME_TENC_FLOAT, (int)bw, false, 0, NULL, NULL, r->d);
    if (et && !cJSON_IsString(et)) return bad(r, name, "field '%s' must be a string", "enc_type");
    const char *kind = et ? et->valuestring : "PER_TENSOR";
    if (strcmp(kind, "PER_BLOCK") == 0)
        return me_fail(r->d, ME_ERR_UNSUPPORTED,
                       "encodings file '%s': %s '%s': enc_type PER_BLOCK (a float scale per block) is not supported: the "
                       "integer kernels need one scale per output channel; LPBQ (integer block multipliers of a "
                       "per-channel scale) is supported", r->what, r->section, name);
    if (strcmp(kind, "LPBQ") == 0) return lpbq_entry(r, e, name, id, (int)bw, param && is_static(r, id));
    if (strcmp(kind, "PER_TENSOR") && strcmp(kind, "PER_CHANNEL"))
        return bad(r, name, "field '%s' must be PER_TENSOR, PER_CHANNEL, PER_BLOCK or LPBQ", "enc_type");
    bool sym = false;
    const cJSON *is = cJSON_GetObjectItemCaseSensitive(e, "is_sym");
    if (is && !cJSON_IsBool(is)) return bad(r, name, "field '%s' must be true or false", "is_sym");
    sym = is && cJSON_IsTrue(is);
    int ns = 0, no = 0;
    double *sc = NULL, *of = NULL;
    st = num_list(r, name, e, "scale", &ns, &sc);
    if (st == ME_OK) st = num_list(r, name, e, "offset", &no, &of);
    if (st == ME_OK && ns != no) st = bad(r, name, "'scale' and '%s' differ in length", "offset");
    if (st == ME_OK && strcmp(kind, "PER_TENSOR") == 0 && ns != 1) st = bad(r, name, "PER_TENSOR needs one '%s'", "scale");
    float *fs = st == ME_OK ? malloc((size_t)ns * sizeof *fs) : NULL;
    int32_t *io = st == ME_OK ? malloc((size_t)ns * sizeof *io) : NULL;
    if (st == ME_OK && (!fs || !io)) st = me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    double lim = ldexp(1.0, (int)bw);
    for (int i = 0; st == ME_OK && i < ns; i++) {
        if ((st = check_scale(r, name, sc[i]))) break;
        if (of[i] != floor(of[i]) || of[i] > 0 || of[i] < -lim) { st = bad(r, name, "field '%s' must hold integers in [-2^bw, 0]", "offset"); break; }
        fs[i] = (float)sc[i];
        io[i] = (int32_t)of[i];
    }
    if (st == ME_OK) st = me_enc_set(&r->t->e[id], ME_TENC_INT, (int)bw, sym, ns, fs, io, r->d);
    free(sc); free(of); free(fs); free(io);
    return st;
}

static int line_of(const char *text, const char *at) {
    int line = 1;
    for (const char *p = text; p < at && *p; p++) line += *p == '\n';
    return line;
}

me_status me_encodings_parse(const char *text, const char *what, const me_graph *g, me_enc_table *t, me_diag *d) {
    rd r = {what, g, t, d, ""};
    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        return me_fail(d, ME_ERR_FORMAT, "encodings file '%s' line %d: malformed JSON", what, at ? line_of(text, at) : 1);
    }
    me_status st = ME_OK;
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    bool v1 = cJSON_IsString(ver) && strncmp(ver->valuestring, "1.", 2) == 0;
    if (!cJSON_IsObject(root)) st = me_fail(d, ME_ERR_FORMAT, "encodings file '%s': the top level must be an object", what);
    if (cJSON_IsString(ver) && !v1 && strncmp(ver->valuestring, "0.", 2) != 0)
        st = me_fail(d, ME_ERR_UNSUPPORTED, "encodings file '%s': version '%s' is not supported (0.x legacy or 1.0.0)", what,
                     ver->valuestring);
    static const char *secs[2] = {"activation_encodings", "param_encodings"};
    for (int s = 0; s < 2 && st == ME_OK; s++) {
        r.section = secs[s];
        const cJSON *sec = cJSON_GetObjectItemCaseSensitive(root, secs[s]);
        if (!sec) {
            st = me_fail(d, ME_ERR_FORMAT, "encodings file '%s': '%s' is missing", what, secs[s]);
            break;
        }
        if (v1 || cJSON_IsArray(sec)) {
            if (!cJSON_IsArray(sec)) { st = me_fail(d, ME_ERR_FORMAT, "encodings file '%s': '%s' must be a list (version 1.0.0)", what, secs[s]); break; }
            for (const cJSON *e = sec->child; e && st == ME_OK; e = e->next) {
                st = v1_entry(&r, e, s == 1);
                const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
                if (st == ME_OK) st = copy_to_aliases(&r, nm->valuestring, find_tensor(&r, nm->valuestring));
            }
        } else {
            if (!cJSON_IsObject(sec)) { st = me_fail(d, ME_ERR_FORMAT, "encodings file '%s': '%s' must be an object", what, secs[s]); break; }
            for (const cJSON *e = sec->child; e && st == ME_OK; e = e->next) {
                st = legacy_entry(&r, e->string, e, s == 1);
                if (st == ME_OK) st = copy_to_aliases(&r, e->string, find_tensor(&r, e->string));
            }
        }
    }
    cJSON_Delete(root);
    return st;
}

me_status me_encodings_read(const char *path, const me_graph *g, me_enc_table *t, me_diag *d) {
    FILE *f = fopen(path, "rb");
    if (!f) return me_fail(d, ME_ERR_IO, "cannot read encodings file '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (!got) break;
    }
    fclose(f);
    if (!buf) return me_fail(d, ME_ERR_NOMEM, "out of memory reading '%s'", path);
    buf[n] = 0;
    me_status st = strlen(buf) != n ? me_fail(d, ME_ERR_FORMAT, "encodings file '%s' is not a text file", path)
                                    : me_encodings_parse(buf, path, g, t, d);
    free(buf);
    return st;
}

static cJSON *legacy_enc(int bw, bool sym, float scale, int32_t offset) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    double mn = (double)offset * scale, mx = (ldexp(1.0, bw) - 1 + offset) * (double)scale;
    cJSON_AddNumberToObject(o, "bitwidth", bw);
    cJSON_AddStringToObject(o, "dtype", "int");
    cJSON_AddStringToObject(o, "is_symmetric", sym ? "True" : "False");
    cJSON_AddNumberToObject(o, "max", mx);
    cJSON_AddNumberToObject(o, "min", mn);
    cJSON_AddNumberToObject(o, "offset", offset);
    cJSON_AddNumberToObject(o, "scale", scale);
    return o;
}

/* Entries are written under source-model names (me_tensor_source_name);
 * tensors sharing one (layout copies of the same values) are written once. */
static bool first_of_name(const me_graph *g, const me_enc_table *t, int i) {
    const char *nm = me_tensor_source_name(&g->tensors[i]);
    for (int j = 0; j < i; j++)
        if (t->e[j].kind != ME_TENC_NONE && strcmp(me_tensor_source_name(&g->tensors[j]), nm) == 0) return false;
    return true;
}

/* Schema 1.0.0 entry (used when an LPBQ encoding needs it). */
static cJSON *v1_enc(const char *name, const me_tensor_enc *e) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "name", name);
    if (e->kind == ME_TENC_FLOAT) {
        cJSON_AddStringToObject(o, "dtype", "FLOAT");
        cJSON_AddStringToObject(o, "enc_type", "PER_TENSOR");
        cJSON_AddNumberToObject(o, "bw", e->bw ? e->bw : 32);
        return o;
    }
    cJSON_AddStringToObject(o, "dtype", "INT");
    cJSON_AddStringToObject(o, "enc_type", e->block_size ? "LPBQ" : e->n > 1 ? "PER_CHANNEL" : "PER_TENSOR");
    cJSON_AddNumberToObject(o, "bw", e->bw);
    cJSON_AddBoolToObject(o, "is_sym", e->sym);
    cJSON *sc = cJSON_AddArrayToObject(o, "scale"), *of = cJSON_AddArrayToObject(o, "offset");
    for (int c = 0; sc && of && c < e->n; c++) {
        cJSON_AddItemToArray(sc, cJSON_CreateNumber(e->scales[c]));
        cJSON_AddItemToArray(of, cJSON_CreateNumber(e->offsets[c]));
    }
    if (e->block_size) {
        cJSON_AddNumberToObject(o, "compressed_bw", e->compressed_bw);
        cJSON_AddNumberToObject(o, "block_size", (double)e->block_size);
        cJSON *m = cJSON_AddArrayToObject(o, "per_block_int_scale");
        for (int64_t i = 0; m && i < (int64_t)e->n * e->n_blocks; i++) cJSON_AddItemToArray(m, cJSON_CreateNumber(e->block_scales[i]));
    }
    return o;
}

/* The legacy schema cannot hold LPBQ: a table with an LPBQ entry is written
 * in schema 1.0.0 (which every entry kind has a form in). */
static char *print_v1(const me_graph *g, const me_enc_table *t) {
    cJSON *root = cJSON_CreateObject();
    cJSON *act = cJSON_AddArrayToObject(root, "activation_encodings");
    cJSON *par = cJSON_AddArrayToObject(root, "param_encodings");
    if (!root || !act || !par) { cJSON_Delete(root); return NULL; }
    for (int i = 0; i < t->n && i < g->n_tensors; i++) {
        if (t->e[i].kind == ME_TENC_NONE || !first_of_name(g, t, i)) continue;
        cJSON *o = v1_enc(me_tensor_source_name(&g->tensors[i]), &t->e[i]);
        if (o) cJSON_AddItemToArray(t->e[i].is_param ? par : act, o);
    }
    cJSON_AddStringToObject(root, "version", "1.0.0");
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

char *me_encodings_print(const me_graph *g, const me_enc_table *t) {
    for (int i = 0; i < t->n && i < g->n_tensors; i++)
        if (t->e[i].kind == ME_TENC_INT && t->e[i].block_size) return print_v1(g, t);
    cJSON *root = cJSON_CreateObject();
    cJSON *act = cJSON_AddObjectToObject(root, "activation_encodings");
    cJSON *par = cJSON_AddObjectToObject(root, "param_encodings");
    if (!root || !act || !par) { cJSON_Delete(root); return NULL; }
    for (int i = 0; i < t->n && i < g->n_tensors; i++) {
        const me_tensor_enc *e = &t->e[i];
        if (e->kind == ME_TENC_NONE || !first_of_name(g, t, i)) continue;
        cJSON *list = cJSON_CreateArray();
        if (!list) continue;
        if (e->kind == ME_TENC_FLOAT) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "bitwidth", e->bw ? e->bw : 32);
            cJSON_AddStringToObject(o, "dtype", "float");
            cJSON_AddItemToArray(list, o);
        } else {
            for (int c = 0; c < e->n; c++) cJSON_AddItemToArray(list, legacy_enc(e->bw, e->sym, e->scales[c], e->offsets[c]));
        }
        cJSON_AddItemToObject(e->is_param ? par : act, me_tensor_source_name(&g->tensors[i]), list);
    }
    cJSON_AddStringToObject(root, "version", "0.6.1");
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

me_status me_encodings_write(const char *path, const me_graph *g, const me_enc_table *t, me_diag *d) {
    char *s = me_encodings_print(g, t);
    if (!s) return me_fail(d, ME_ERR_NOMEM, "out of memory writing encodings");
    FILE *f = fopen(path, "wb");
    if (!f) {
        cJSON_free(s);
        return me_fail(d, ME_ERR_IO, "cannot write encodings file '%s': %s", path, strerror(errno));
    }
    size_t n = strlen(s);
    int bad_w = fwrite(s, 1, n, f) != n || fputc('\n', f) == EOF;
    if (fclose(f) != 0) bad_w = 1;
    cJSON_free(s);
    return bad_w ? me_fail(d, ME_ERR_IO, "error writing encodings file '%s'", path) : ME_OK;
}
