/* Hyper-parameters and tokenizer of a GGUF language model (gguf.md §5). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "llm_gguf.h"

static bool key_u64(const gguf_file *f, const char *arch, const char *suffix, uint64_t *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return gguf_get_u64(f, key, out);
}

static bool key_f64(const gguf_file *f, const char *arch, const char *suffix, double *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return gguf_get_f64(f, key, out);
}

static uint64_t arr_int(const gguf_kv *kv, uint64_t i) {
    const uint8_t *p = kv->arr_data;
    switch (kv->arr_type) {
    case GGUF_T_UINT8: return p[i];
    case GGUF_T_INT8: return (uint64_t)(int64_t)(int8_t)p[i];
    case GGUF_T_UINT16: case GGUF_T_INT16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case GGUF_T_UINT32: case GGUF_T_INT32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case GGUF_T_UINT64: case GGUF_T_INT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return v; }
    default: return UINT64_MAX;
    }
}

/* A per-layer key may be a scalar or an array with one value per layer;
 * the builder needs the value to be the same for every layer. */
static me_status layer_u64(const gguf_file *f, const char *arch, const char *suffix, bool required, uint64_t dflt,
                           uint64_t n_layer, uint64_t *out, me_diag *d) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv) {
        if (required) return me_fail(d, ME_ERR_FORMAT, "GGUF: the required key '%s' is missing", key);
        *out = dflt;
        return ME_OK;
    }
    if (kv->type == GGUF_T_ARRAY) {
        if (kv->arr_n == 0 || kv->arr_n != n_layer || !kv->arr_data)
            return me_fail(d, ME_ERR_FORMAT, "GGUF: '%s' has %llu entries for %llu layers", key,
                           (unsigned long long)kv->arr_n, (unsigned long long)n_layer);
        uint64_t v0 = arr_int(kv, 0);
        for (uint64_t i = 1; i < kv->arr_n; i++)
            if (arr_int(kv, i) != v0)
                return me_fail(d, ME_ERR_UNSUPPORTED, "GGUF: '%s' differs between layers (not supported yet)", key);
        if (v0 == UINT64_MAX) return me_fail(d, ME_ERR_FORMAT, "GGUF: '%s' is not an integer array", key);
        *out = v0;
        return ME_OK;
    }
    if (!gguf_get_u64(f, key, out)) return me_fail(d, ME_ERR_FORMAT, "GGUF: '%s' is not an integer", key);
    return ME_OK;
}

#define HP_MAX 1000000u

me_status llm_read_hparams(const gguf_file *f, const char *arch, me_llm_hparams *hp, me_diag *d) {
    uint64_t v;
    me_status st;
    memset(hp, 0, sizeof *hp);
    snprintf(hp->arch, sizeof hp->arch, "%s", arch);
    struct { const char *suffix; uint32_t *dst; } req[] = {
        {"context_length", &hp->ctx_train}, {"embedding_length", &hp->n_embd}, {"block_count", &hp->n_layer}};
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        if (!key_u64(f, arch, req[i].suffix, &v))
            return me_fail(d, ME_ERR_FORMAT, "GGUF: the required key '%s.%s' is missing or not an integer", arch,
                           req[i].suffix);
        if (v == 0 || v > (uint64_t)1 << 24)
            return me_fail(d, ME_ERR_FORMAT, "GGUF: '%s.%s' = %llu is out of range", arch, req[i].suffix,
                           (unsigned long long)v);
        *req[i].dst = (uint32_t)v;
    }
    if ((st = layer_u64(f, arch, "feed_forward_length", true, 0, hp->n_layer, &v, d))) return st;
    if (v == 0 || v > (uint64_t)1 << 24) return me_fail(d, ME_ERR_FORMAT, "GGUF: feed_forward_length out of range");
    hp->n_ff = (uint32_t)v;
    if ((st = layer_u64(f, arch, "attention.head_count", true, 0, hp->n_layer, &v, d))) return st;
    if (v == 0 || v > HP_MAX) return me_fail(d, ME_ERR_FORMAT, "GGUF: attention.head_count out of range");
    hp->n_head = (uint32_t)v;
    if ((st = layer_u64(f, arch, "attention.head_count_kv", false, hp->n_head, hp->n_layer, &v, d))) return st;
    if (v == 0 || v > hp->n_head || hp->n_head % v)
        return me_fail(d, ME_ERR_FORMAT, "GGUF: attention.head_count_kv = %llu does not divide head_count %u",
                       (unsigned long long)v, hp->n_head);
    hp->n_head_kv = (uint32_t)v;
    uint64_t hd_default = hp->n_embd / hp->n_head;
    if (!key_u64(f, arch, "attention.key_length", &v)) v = hd_default;
    if (v == 0 || v > 65536) return me_fail(d, ME_ERR_FORMAT, "GGUF: head dimension %llu out of range", (unsigned long long)v);
    hp->head_dim = (uint32_t)v;
    uint64_t vl;
    if (key_u64(f, arch, "attention.value_length", &vl) && vl != hp->head_dim)
        return me_fail(d, ME_ERR_UNSUPPORTED, "GGUF: value_length %llu != key_length %u is not supported",
                       (unsigned long long)vl, hp->head_dim);
    if (!key_u64(f, arch, "rope.dimension_count", &v)) v = hp->head_dim;
    if (v == 0 || v > hp->head_dim || v % 2)
        return me_fail(d, ME_ERR_FORMAT, "GGUF: rope.dimension_count %llu must be even and <= head_dim %u",
                       (unsigned long long)v, hp->head_dim);
    hp->n_rot = (uint32_t)v;
    double x;
    if (!key_f64(f, arch, "attention.layer_norm_rms_epsilon", &x))
        return me_fail(d, ME_ERR_FORMAT, "GGUF: the required key '%s.attention.layer_norm_rms_epsilon' is missing", arch);
    if (!(x >= 0 && x < 1)) return me_fail(d, ME_ERR_FORMAT, "GGUF: RMSNorm epsilon %g out of range", x);
    hp->eps = (float)x;
    if (!key_f64(f, arch, "rope.freq_base", &x)) x = 10000.0;
    if (!(x > 1 && x < 1e12)) return me_fail(d, ME_ERR_FORMAT, "GGUF: rope.freq_base %g out of range", x);
    hp->rope_base = (float)x;
    if (key_f64(f, arch, "attention.scale", &x) && x != 0)
        return me_fail(d, ME_ERR_UNSUPPORTED, "GGUF: %s.attention.scale is not supported yet", arch);
    gguf_str s;
    char key[160];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    if (gguf_get_str(f, key, &s) && !gguf_str_eq(s, "none")) {
        double fac = 1.0;
        if (!key_f64(f, arch, "rope.scaling.factor", &fac)) fac = 1.0;
        if (!(gguf_str_eq(s, "linear") && fac == 1.0))
            return me_fail(d, ME_ERR_UNSUPPORTED, "GGUF: RoPE scaling '%.*s' is not supported yet", (int)s.n, s.p);
    }
    return ME_OK;
}

static int32_t special_id(const gguf_file *f, const char *key, int32_t dflt, uint32_t n) {
    uint64_t v;
    if (!gguf_get_u64(f, key, &v)) return dflt;
    return v < n ? (int32_t)v : -1;
}

static bool get_bool(const gguf_file *f, const char *key, bool dflt) {
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_T_BOOL) return dflt;
    return kv->v.b;
}

me_status llm_read_vocab(const gguf_file *f, me_arena *a, me_llm_vocab *v, me_diag *d) {
    memset(v, 0, sizeof *v);
    v->bos = v->eos = v->unk = -1;
    const gguf_kv *tk = gguf_find_kv(f, "tokenizer.ggml.tokens");
    if (!tk || tk->type != GGUF_T_ARRAY || tk->arr_type != GGUF_T_STRING || !tk->arr_strs || tk->arr_n == 0 ||
        tk->arr_n > (1u << 24))
        return me_fail(d, ME_ERR_FORMAT, "GGUF: 'tokenizer.ggml.tokens' (a string array) is missing or invalid");
    uint32_t n = (uint32_t)tk->arr_n;
    gguf_str model = {"", 0};
    gguf_get_str(f, "tokenizer.ggml.model", &model);
    if (gguf_str_eq(model, "llama")) v->model = ME_TOK_SPM;
    else if (gguf_str_eq(model, "gpt2")) v->model = ME_TOK_BPE;
    else v->model = ME_TOK_NONE; /* token ids only; generate --prompt refuses */
    gguf_str pre;
    if (gguf_get_str(f, "tokenizer.ggml.pre", &pre)) snprintf(v->pre, sizeof v->pre, "%.*s", (int)(pre.n < 31 ? pre.n : 31), pre.p);
    v->n_tokens = n;
    v->tokens = me_arena_calloc(a, n, sizeof *v->tokens);
    v->token_len = me_arena_calloc(a, n, sizeof *v->token_len);
    if (!v->tokens || !v->token_len) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        gguf_str t = tk->arr_strs[i];
        if (t.n > 65536) return me_fail(d, ME_ERR_FORMAT, "GGUF: token %u is %llu bytes long", i, (unsigned long long)t.n);
        v->tokens[i] = me_arena_strndup(a, t.p, (size_t)t.n);
        if (!v->tokens[i]) return me_fail(d, ME_ERR_NOMEM, "out of memory");
        v->token_len[i] = (uint32_t)t.n;
    }
    const gguf_kv *sc = gguf_find_kv(f, "tokenizer.ggml.scores");
    if (sc && sc->type == GGUF_T_ARRAY && sc->arr_type == GGUF_T_FLOAT32 && sc->arr_n == n && sc->arr_data) {
        v->scores = me_arena_calloc(a, n, sizeof *v->scores);
        if (!v->scores) return me_fail(d, ME_ERR_NOMEM, "out of memory");
        memcpy(v->scores, sc->arr_data, (size_t)n * 4);
    }
    const gguf_kv *ty = gguf_find_kv(f, "tokenizer.ggml.token_type");
    if (ty && ty->type == GGUF_T_ARRAY && (ty->arr_type == GGUF_T_INT32 || ty->arr_type == GGUF_T_UINT32) &&
        ty->arr_n == n && ty->arr_data) {
        v->types = me_arena_calloc(a, n, sizeof *v->types);
        if (!v->types) return me_fail(d, ME_ERR_NOMEM, "out of memory");
        memcpy(v->types, ty->arr_data, (size_t)n * 4);
    }
    const gguf_kv *mg = gguf_find_kv(f, "tokenizer.ggml.merges");
    if (mg && mg->type == GGUF_T_ARRAY && mg->arr_type == GGUF_T_STRING && mg->arr_strs && mg->arr_n < (1u << 24)) {
        v->n_merges = (uint32_t)mg->arr_n;
        v->merges = me_arena_calloc(a, v->n_merges + 1, sizeof *v->merges);
        if (!v->merges) return me_fail(d, ME_ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; i < v->n_merges; i++) {
            gguf_str t = mg->arr_strs[i];
            if (t.n > 65536) return me_fail(d, ME_ERR_FORMAT, "GGUF: merge %u is too long", i);
            v->merges[i] = me_arena_strndup(a, t.p, (size_t)t.n);
            if (!v->merges[i]) return me_fail(d, ME_ERR_NOMEM, "out of memory");
        }
    }
    bool spm = v->model == ME_TOK_SPM;
    v->bos = special_id(f, "tokenizer.ggml.bos_token_id", spm ? 1 : -1, n);
    v->eos = special_id(f, "tokenizer.ggml.eos_token_id", spm ? 2 : -1, n);
    v->unk = special_id(f, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, n);
    v->add_bos = get_bool(f, "tokenizer.ggml.add_bos_token", spm);
    v->add_eos = get_bool(f, "tokenizer.ggml.add_eos_token", false);
    v->add_space_prefix = get_bool(f, "tokenizer.ggml.add_space_prefix", spm);
    return ME_OK;
}
