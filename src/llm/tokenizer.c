/* SPM and GPT-2 BPE tokenizers over a GGUF vocabulary (see tokenizer.h). */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- string -> id map */

typedef struct strmap { int32_t *slots; size_t cap; const char **keys; const uint32_t *lens; } strmap;

static uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static bool map_init(strmap *m, const char **keys, const uint32_t *lens, uint32_t n) {
    m->cap = 16;
    while (m->cap < (size_t)n * 2 + 2) m->cap *= 2;
    m->slots = malloc(m->cap * sizeof *m->slots);
    if (!m->slots) return false;
    memset(m->slots, 0xff, m->cap * sizeof *m->slots);
    m->keys = keys;
    m->lens = lens;
    for (uint32_t i = 0; i < n; i++) {
        size_t k = hash_bytes(keys[i], lens[i]) & (m->cap - 1);
        bool dup = false;
        while (m->slots[k] >= 0) {
            int32_t o = m->slots[k];
            if (lens[o] == lens[i] && memcmp(keys[o], keys[i], lens[i]) == 0) { dup = true; break; }
            k = (k + 1) & (m->cap - 1);
        }
        if (!dup) m->slots[k] = (int32_t)i; /* the first id of a duplicated piece wins */
    }
    return true;
}

static int32_t map_get(const strmap *m, const char *p, size_t n) {
    size_t k = hash_bytes(p, n) & (m->cap - 1);
    while (m->slots[k] >= 0) {
        int32_t o = m->slots[k];
        if (m->lens[o] == n && memcmp(m->keys[o], p, n) == 0) return o;
        k = (k + 1) & (m->cap - 1);
    }
    return -1;
}

struct me_tokenizer {
    const me_llm_vocab *v;
    strmap tokens;
    strmap merges;          /* BPE: "a b" -> rank */
    uint32_t *merge_lens;
    int32_t byte_tok[256];  /* SPM: <0xNN>; BPE: the token of the byte's mapped character */
};

/* ---------------------------------------------------------------- UTF-8 */

static int utf8_len(unsigned char c) {
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 1;
}

/* Decodes one code point (invalid bytes decode as themselves, length 1). */
static uint32_t utf8_next(const char *s, size_t n, size_t *len) {
    const unsigned char *u = (const unsigned char *)s;
    int l = utf8_len(u[0]);
    if ((size_t)l > n) l = 1;
    uint32_t cp = l == 1 ? u[0] : l == 2 ? u[0] & 0x1Fu : l == 3 ? u[0] & 0x0Fu : u[0] & 0x07u;
    for (int i = 1; i < l; i++) {
        if ((u[i] & 0xC0) != 0x80) { *len = 1; return u[0]; }
        cp = cp << 6 | (u[i] & 0x3Fu);
    }
    *len = (size_t)l;
    return cp;
}

static int utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | cp >> 6); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12); out[1] = (char)(0x80 | (cp >> 6 & 0x3F)); out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18); out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---------------------------------------------------------------- growable id list */

typedef struct idvec { int32_t *p; int n, cap; bool oom; } idvec;

static void push_id(idvec *v, int32_t id) {
    if (v->oom) return;
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 64;
        int32_t *q = realloc(v->p, (size_t)cap * sizeof *q);
        if (!q) { v->oom = true; return; }
        v->p = q;
        v->cap = cap;
    }
    v->p[v->n++] = id;
}

/* ---------------------------------------------------------------- GPT-2 byte <-> code point */

static uint32_t byte_to_cp(unsigned b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return b;
    unsigned n = 0;
    for (unsigned x = 0; x < b; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) n++;
    return 256 + n;
}

static int cp_to_byte(uint32_t cp) {
    for (unsigned b = 0; b < 256; b++)
        if (byte_to_cp(b) == cp) return (int)b;
    return -1;
}

/* ---------------------------------------------------------------- create / free */

me_status me_tok_create(const me_llm_vocab *v, me_tokenizer **out, me_diag *d) {
    *out = NULL;
    if (v->model != ME_TOK_SPM && v->model != ME_TOK_BPE)
        return me_fail(d, ME_ERR_UNSUPPORTED, "the model's vocabulary has no supported tokenizer (only \"llama\" "
                                              "SentencePiece and \"gpt2\" BPE); feed token ids instead");
    me_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    t->v = v;
    if (!map_init(&t->tokens, v->tokens, v->token_len, v->n_tokens)) goto oom;
    if (v->model == ME_TOK_BPE) {
        t->merge_lens = malloc(((size_t)v->n_merges + 1) * sizeof *t->merge_lens);
        if (!t->merge_lens) goto oom;
        for (uint32_t i = 0; i < v->n_merges; i++) t->merge_lens[i] = (uint32_t)strlen(v->merges[i]);
        if (!map_init(&t->merges, v->merges, t->merge_lens, v->n_merges)) goto oom;
    }
    for (int b = 0; b < 256; b++) {
        char buf[8];
        int n;
        if (v->model == ME_TOK_SPM) n = snprintf(buf, sizeof buf, "<0x%02X>", b);
        else n = utf8_put(byte_to_cp((unsigned)b), buf);
        t->byte_tok[b] = map_get(&t->tokens, buf, (size_t)n);
    }
    *out = t;
    return ME_OK;
oom:
    me_tok_free(t);
    return me_fail(d, ME_ERR_NOMEM, "out of memory building the tokenizer");
}

void me_tok_free(me_tokenizer *t) {
    if (!t) return;
    free(t->tokens.slots);
    free(t->merges.slots);
    free(t->merge_lens);
    free(t);
}

/* ---------------------------------------------------------------- SPM */

typedef struct spm_sym { int prev, next; const char *p; size_t n; } spm_sym;
typedef struct spm_bigram { int left, right; float score; size_t size; } spm_bigram;
typedef struct spm_heap { spm_bigram *a; int n, cap; bool oom; } spm_heap;

/* llama.cpp's order: higher score first, then the leftmost */
static bool bg_before(const spm_bigram *x, const spm_bigram *y) {
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static void heap_push(spm_heap *h, spm_bigram b) {
    if (h->oom) return;
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 64;
        spm_bigram *q = realloc(h->a, (size_t)cap * sizeof *q);
        if (!q) { h->oom = true; return; }
        h->a = q;
        h->cap = cap;
    }
    int i = h->n++;
    h->a[i] = b;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!bg_before(&h->a[i], &h->a[p])) break;
        spm_bigram t = h->a[i]; h->a[i] = h->a[p]; h->a[p] = t;
        i = p;
    }
}

static spm_bigram heap_pop(spm_heap *h) {
    spm_bigram top = h->a[0];
    h->a[0] = h->a[--h->n];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && bg_before(&h->a[l], &h->a[m])) m = l;
        if (r < h->n && bg_before(&h->a[r], &h->a[m])) m = r;
        if (m == i) break;
        spm_bigram t = h->a[i]; h->a[i] = h->a[m]; h->a[m] = t;
        i = m;
    }
    return top;
}

static void spm_try_bigram(const me_tokenizer *t, spm_sym *s, int l, int r, spm_heap *h) {
    if (l < 0 || r < 0) return;
    size_t n = s[l].n + s[r].n;
    int32_t id = map_get(&t->tokens, s[l].p, n);
    if (id < 0) return;
    spm_bigram b = {l, r, t->v->scores ? t->v->scores[id] : 0.0f, n};
    heap_push(h, b);
}

static me_status spm_encode(const me_tokenizer *t, const char *text, idvec *out, me_diag *d) {
    const me_llm_vocab *v = t->v;
    size_t tl = strlen(text);
    /* spaces -> U+2581 (3 bytes), plus the leading one */
    char *buf = malloc(tl * 3 + 4);
    if (!buf) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    size_t n = 0;
    const char *sp = "\xE2\x96\x81";
    if (v->add_space_prefix && tl) { memcpy(buf, sp, 3); n = 3; }
    for (size_t i = 0; i < tl; i++) {
        if (text[i] == ' ') { memcpy(buf + n, sp, 3); n += 3; }
        else buf[n++] = text[i];
    }
    spm_sym *s = malloc((n + 1) * sizeof *s);
    spm_heap h = {0};
    if (!s) { free(buf); return me_fail(d, ME_ERR_NOMEM, "out of memory"); }
    int ns = 0;
    for (size_t i = 0; i < n;) {
        size_t l = (size_t)utf8_len((unsigned char)buf[i]);
        if (l > n - i) l = n - i;
        s[ns].p = buf + i;
        s[ns].n = l;
        s[ns].prev = ns - 1;
        s[ns].next = i + l < n ? ns + 1 : -1;
        ns++;
        i += l;
    }
    for (int i = 1; i < ns; i++) spm_try_bigram(t, s, i - 1, i, &h);
    while (h.n > 0 && !h.oom) {
        spm_bigram b = heap_pop(&h);
        spm_sym *L = &s[b.left], *R = &s[b.right];
        if (L->n == 0 || R->n == 0 || L->n + R->n != b.size) continue;
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0) s[R->next].prev = b.left;
        spm_try_bigram(t, s, L->prev, b.left, &h);
        spm_try_bigram(t, s, b.left, L->next, &h);
    }
    bool oom = h.oom;
    for (int i = ns ? 0 : -1; i >= 0 && !oom; i = s[i].next) {
        int32_t id = map_get(&t->tokens, s[i].p, s[i].n);
        if (id >= 0) { push_id(out, id); continue; }
        for (size_t k = 0; k < s[i].n; k++) {
            int32_t bt = t->byte_tok[(unsigned char)s[i].p[k]];
            push_id(out, bt >= 0 ? bt : v->unk >= 0 ? v->unk : 0);
        }
    }
    free(h.a);
    free(s);
    free(buf);
    return oom ? me_fail(d, ME_ERR_NOMEM, "out of memory") : ME_OK;
}

/* ---------------------------------------------------------------- BPE pre-tokenizer */

static bool cp_is_number(uint32_t c) {
    return (c >= '0' && c <= '9') || c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0xBC && c <= 0xBE) ||
           (c >= 0x660 && c <= 0x669) || (c >= 0x6F0 && c <= 0x6F9) || (c >= 0x966 && c <= 0x96F) ||
           (c >= 0x2070 && c <= 0x2079) || (c >= 0x2080 && c <= 0x2089) || (c >= 0x2150 && c <= 0x218F) ||
           (c >= 0x2460 && c <= 0x249B) || c == 0x3007 || (c >= 0x3021 && c <= 0x3029) || (c >= 0xFF10 && c <= 0xFF19);
}

static bool cp_is_space(uint32_t c) {
    return c == ' ' || (c >= 9 && c <= 13) || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Unicode letters, approximated by blocks (marks, punctuation and symbols
 * inside the listed scripts are the known gaps). */
static bool cp_is_letter(uint32_t c) {
    if (c < 0x80) return (c | 32) >= 'a' && (c | 32) <= 'z';
    if (c < 0x100) return c == 0xAA || c == 0xB5 || c == 0xBA || (c >= 0xC0 && c != 0xD7 && c != 0xF7);
    if (cp_is_number(c) || cp_is_space(c)) return false;
    if (c >= 0x300 && c <= 0x36F) return false;                   /* combining marks */
    if (c >= 0x2000 && c <= 0x2BFF) return false;                 /* punctuation, symbols, arrows, ... */
    if (c >= 0x3000 && c <= 0x303F) return false;                 /* CJK punctuation */
    if (c >= 0xFF00 && c <= 0xFF20) return false;                 /* fullwidth punctuation */
    if (c >= 0xFF3B && c <= 0xFF40) return false;
    if (c >= 0xFF5B && c <= 0xFF65) return false;
    if (c >= 0xD800 && c <= 0xF8FF) return false;                 /* surrogates, private use */
    if (c >= 0xFE00 && c <= 0xFE6F) return false;                 /* variation selectors, small forms */
    if (c >= 0x1F000 && c <= 0x1FAFF) return false;               /* emoji and symbols */
    return true;
}

typedef enum { PRE_GPT2 = 0, PRE_LLAMA3, PRE_QWEN2 } pre_kind;

typedef struct cps { uint32_t *c; size_t *off; size_t n; } cps;

static size_t ws_run(const cps *s, size_t i) {
    size_t j = i;
    while (j < s->n && cp_is_space(s->c[j])) j++;
    return j;
}

/* Length in code points of the pre-token starting at i (>= 1). */
static size_t pre_token(const cps *s, size_t i, pre_kind k) {
    const uint32_t *c = s->c;
    size_t n = s->n;
    /* contractions ('s 't 're 've 'm 'll 'd; case-insensitive except for gpt2) */
    if (c[i] == '\'' && i + 1 < n) {
        uint32_t a = c[i + 1], b = i + 2 < n ? c[i + 2] : 0;
        if (k != PRE_GPT2) { a = a < 0x80 ? (uint32_t)((a >= 'A' && a <= 'Z') ? a + 32 : a) : a; b = b < 0x80 && b >= 'A' && b <= 'Z' ? b + 32 : b; }
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    }
    if (k == PRE_GPT2) {
        size_t j = i + (c[i] == ' ' && i + 1 < n);
        if (cp_is_letter(c[j])) { while (j < n && cp_is_letter(c[j])) j++; return j - i; }
        if (cp_is_number(c[j])) { while (j < n && cp_is_number(c[j])) j++; return j - i; }
        if (!cp_is_space(c[j])) {
            while (j < n && !cp_is_space(c[j]) && !cp_is_letter(c[j]) && !cp_is_number(c[j])) j++;
            return j - i;
        }
    } else {
        /* [^\r\n\p{L}\p{N}]?\p{L}+ */
        size_t j = i;
        if (!cp_is_letter(c[j]) && !cp_is_number(c[j]) && c[j] != '\r' && c[j] != '\n' && j + 1 < n &&
            cp_is_letter(c[j + 1]))
            j++;
        if (cp_is_letter(c[j])) { while (j < n && cp_is_letter(c[j])) j++; return j - i; }
        /* \p{N} (qwen2) or \p{N}{1,3} (llama3) */
        if (cp_is_number(c[i])) {
            size_t m = k == PRE_QWEN2 ? 1 : 3, e = i;
            while (e < n && e - i < m && cp_is_number(c[e])) e++;
            return e - i;
        }
        /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
        j = i + (c[i] == ' ' && i + 1 < n);
        if (!cp_is_space(c[j]) && !cp_is_letter(c[j]) && !cp_is_number(c[j])) {
            while (j < n && !cp_is_space(c[j]) && !cp_is_letter(c[j]) && !cp_is_number(c[j])) j++;
            while (j < n && (c[j] == '\r' || c[j] == '\n')) j++;
            return j - i;
        }
        /* \s*[\r\n]+ */
        size_t w = ws_run(s, i), last_nl = 0;
        bool nl = false;
        for (size_t q = i; q < w; q++)
            if (c[q] == '\r' || c[q] == '\n') { last_nl = q; nl = true; }
        if (nl) return last_nl + 1 - i;
    }
    /* \s+(?!\S) then \s+ */
    size_t w = ws_run(s, i);
    if (w == i) return 1; /* cannot happen: every class is covered above */
    if (w < n && w - i > 1) return w - 1 - i;
    return w - i;
}

static void bpe_word(const me_tokenizer *t, const char *w, size_t wn, idvec *out) {
    /* symbols = UTF-8 characters of the byte-mapped word */
    size_t *start = malloc((wn + 1) * sizeof *start), *len = malloc((wn + 1) * sizeof *len);
    char *key = malloc(wn + 2);
    if (!start || !len || !key) { out->oom = true; free(start); free(len); free(key); return; }
    size_t ns = 0;
    for (size_t i = 0; i < wn;) {
        size_t l = (size_t)utf8_len((unsigned char)w[i]);
        if (l > wn - i) l = wn - i;
        start[ns] = i; len[ns] = l; ns++;
        i += l;
    }
    for (;;) {
        int32_t best = -1;
        size_t bi = 0;
        for (size_t i = 0; i + 1 < ns; i++) {
            size_t a = len[i], b = len[i + 1];
            memcpy(key, w + start[i], a);
            key[a] = ' ';
            memcpy(key + a + 1, w + start[i + 1], b);
            int32_t r = map_get(&t->merges, key, a + 1 + b);
            if (r >= 0 && (best < 0 || r < best)) { best = r; bi = i; }
        }
        if (best < 0) break;
        len[bi] += len[bi + 1];
        memmove(start + bi + 1, start + bi + 2, (ns - bi - 2) * sizeof *start);
        memmove(len + bi + 1, len + bi + 2, (ns - bi - 2) * sizeof *len);
        ns--;
    }
    for (size_t i = 0; i < ns; i++) {
        int32_t id = map_get(&t->tokens, w + start[i], len[i]);
        if (id >= 0) { push_id(out, id); continue; }
        /* not in the vocabulary: one token per character */
        for (size_t q = 0; q < len[i];) {
            size_t cl;
            (void)utf8_next(w + start[i] + q, len[i] - q, &cl);
            int32_t cid = map_get(&t->tokens, w + start[i] + q, cl);
            if (cid >= 0) push_id(out, cid);
            else if (t->v->unk >= 0) push_id(out, t->v->unk);
            q += cl;
        }
    }
    free(start); free(len); free(key);
}

static me_status bpe_encode(const me_tokenizer *t, const char *text, idvec *out, me_diag *d) {
    size_t tl = strlen(text);
    cps s = {malloc((tl + 1) * sizeof(uint32_t)), malloc((tl + 2) * sizeof(size_t)), 0};
    char *w = malloc(tl * 2 + 8); /* each byte maps to a code point of at most 2 UTF-8 bytes */
    if (!s.c || !s.off || !w) { free(s.c); free(s.off); free(w); return me_fail(d, ME_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < tl;) {
        size_t l;
        s.off[s.n] = i;
        s.c[s.n++] = utf8_next(text + i, tl - i, &l);
        i += l;
    }
    s.off[s.n] = tl;
    pre_kind k = PRE_GPT2;
    const char *pre = t->v->pre;
    if (strcmp(pre, "qwen2") == 0 || strcmp(pre, "deepseek-r1-qwen") == 0) k = PRE_QWEN2;
    else if (strcmp(pre, "llama-bpe") == 0 || strcmp(pre, "llama3") == 0 || strcmp(pre, "smaug-bpe") == 0) k = PRE_LLAMA3;
    for (size_t i = 0; i < s.n && !out->oom;) {
        size_t m = pre_token(&s, i, k);
        size_t b0 = s.off[i], b1 = s.off[i + m], wn = 0;
        for (size_t b = b0; b < b1; b++) wn += (size_t)utf8_put(byte_to_cp((unsigned char)text[b]), w + wn);
        bpe_word(t, w, wn, out);
        i += m;
    }
    free(s.c); free(s.off); free(w);
    return out->oom ? me_fail(d, ME_ERR_NOMEM, "out of memory") : ME_OK;
}

/* ---------------------------------------------------------------- public */

me_status me_tok_encode(const me_tokenizer *t, const char *text, bool add_special, int32_t **ids, int *n, me_diag *d) {
    idvec out = {0};
    const me_llm_vocab *v = t->v;
    if (add_special && v->add_bos && v->bos >= 0) push_id(&out, v->bos);
    me_status st = v->model == ME_TOK_SPM ? spm_encode(t, text, &out, d) : bpe_encode(t, text, &out, d);
    if (st == ME_OK && add_special && v->add_eos && v->eos >= 0) push_id(&out, v->eos);
    if (st == ME_OK && out.oom) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
    if (st != ME_OK) { free(out.p); return st; }
    *ids = out.p;
    *n = out.n;
    return ME_OK;
}

int me_tok_piece(const me_llm_vocab *v, int32_t id, char *buf, size_t cap) {
    if (id < 0 || (uint32_t)id >= v->n_tokens || cap == 0) return -1;
    const char *p = v->tokens[id];
    size_t n = v->token_len[id], o = 0;
    int type = v->types ? v->types[id] : ME_TT_NORMAL;
    buf[0] = 0;
    if (type == ME_TT_CONTROL || type == ME_TT_UNUSED) return 0;
    if (v->model == ME_TOK_SPM && type == ME_TT_BYTE && n == 6 && p[0] == '<' && p[1] == '0' && p[2] == 'x') {
        unsigned b;
        if (sscanf(p + 3, "%2x", &b) == 1 && cap > 1) { buf[0] = (char)b; buf[1] = 0; return 1; }
        return 0;
    }
    for (size_t i = 0; i < n;) {
        size_t l;
        uint32_t cp = utf8_next(p + i, n - i, &l);
        char tmp[4];
        int tn;
        if (v->model == ME_TOK_SPM && cp == 0x2581) { tmp[0] = ' '; tn = 1; }
        else if (v->model == ME_TOK_BPE && type != ME_TT_USER) {
            int b = cp_to_byte(cp);
            if (b >= 0) { tmp[0] = (char)b; tn = 1; }
            else { memcpy(tmp, p + i, l); tn = (int)l; }
        } else { memcpy(tmp, p + i, l); tn = (int)l; }
        if (o + (size_t)tn + 1 > cap) break;
        memcpy(buf + o, tmp, (size_t)tn);
        o += (size_t)tn;
        i += l;
    }
    buf[o] = 0;
    return (int)o;
}
