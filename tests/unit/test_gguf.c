/* GGUF reader: a hand-built valid file (every metadata type, two tensors) is
 * parsed to the values written; every truncation and a list of corruptions
 * are rejected with ME_ERR_FORMAT (never a crash: run under ASan too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "frontend/gguf/gguf.h"

typedef struct buf { uint8_t p[4096]; size_t n; } buf;

static void put(buf *b, const void *v, size_t n) { memcpy(b->p + b->n, v, n); b->n += n; }
static void u8(buf *b, uint8_t v) { put(b, &v, 1); }
static void u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void str(buf *b, const char *s) { u64(b, strlen(s)); put(b, s, strlen(s)); }
static void key(buf *b, const char *k, uint32_t type) { str(b, k); u32(b, type); }

/* Options to corrupt the otherwise valid file. */
typedef struct opts {
    uint32_t version, align_type, align, tensor1_type, n_dims1;
    uint64_t n_kv, n_tensors, tensor1_offset, ne1_0;
    const char *dup_key, *tensor1_name;
    int nested_array, bad_vtype, skip_data;
} opts;

static opts defaults(void) {
    return (opts){.version = 3, .align_type = 4, .align = 64, .tensor1_type = 8, .n_dims1 = 1, .n_kv = 18,
                  .n_tensors = 2, .tensor1_offset = 64, .ne1_0 = 32, .tensor1_name = "blk.0.w"};
}

static void build(buf *b, opts o) {
    b->n = 0;
    put(b, "GGUF", 4);
    u32(b, o.version);
    u64(b, o.n_tensors);
    u64(b, o.n_kv);
    key(b, "general.alignment", o.align_type);
    if (o.align_type == 10) u64(b, o.align); else u32(b, o.align);
    key(b, "k.u8", 0); u8(b, 200);
    key(b, "k.i8", 1); u8(b, 0xFE);                  /* -2 */
    key(b, "k.u16", 2); u8(b, 0x34); u8(b, 0x12);
    key(b, "k.i16", 3); u8(b, 0xFF); u8(b, 0xFF);    /* -1 */
    key(b, "k.u32", 4); u32(b, 4000000000u);
    key(b, "k.i32", 5); u32(b, (uint32_t)-7);
    float f = 0.5f;
    key(b, "k.f32", 6); put(b, &f, 4);
    key(b, "k.bool", 7); u8(b, 1);
    key(b, "general.architecture", 8); str(b, "llama");
    key(b, "k.u64", 10); u64(b, 1ull << 40);
    key(b, "k.i64", 11); u64(b, (uint64_t)-5);
    double dd = -2.25;
    key(b, "k.f64", 12); put(b, &dd, 8);
    key(b, "k.strs", 9); u32(b, o.nested_array ? 9 : 8); u64(b, 3); str(b, "a"); str(b, ""); str(b, "<0x0A>");
    key(b, "k.i32s", 9); u32(b, 5); u64(b, 2); u32(b, 1); u32(b, (uint32_t)-3);
    key(b, "k.f32s", 9); u32(b, 6); u64(b, 1); put(b, &f, 4);
    key(b, "k.empty", 9); u32(b, 4); u64(b, 0);
    key(b, o.dup_key ? o.dup_key : "k.last", o.bad_vtype ? 13 : 8); str(b, "end");
    /* tensor 0: F32 ne [4, 2] at 0 (32 bytes); tensor 1: Q8_0 ne [32] (34 bytes) */
    str(b, "token_embd.weight"); u32(b, 2); u64(b, 4); u64(b, 2); u32(b, 0); u64(b, 0);
    str(b, o.tensor1_name); u32(b, o.n_dims1);
    for (uint32_t i = 0; i < o.n_dims1 && i < 8; i++) u64(b, i ? 1 : o.ne1_0);
    u32(b, o.tensor1_type); u64(b, o.tensor1_offset);
    if (o.skip_data) return;
    while (b->n % 64) u8(b, 0);
    for (int i = 0; i < 8; i++) { float v = (float)i; put(b, &v, 4); }
    while (b->n % 64) u8(b, 0);
    uint16_t h = 0x3C00; /* 1.0 */
    put(b, &h, 2);
    for (int i = 0; i < 32; i++) u8(b, (uint8_t)i);
}

static char tmp_path[64];

static me_status open_bytes(const buf *b, size_t n, gguf_file *f, me_arena *a, me_diag *d) {
    FILE *fp = fopen(tmp_path, "wb");
    if (!fp) return ME_ERR_IO;
    fwrite(b->p, 1, n, fp);
    fclose(fp);
    return gguf_open(tmp_path, a, f, d);
}

static me_status try_opts(opts o, const char *why, me_status expect) {
    buf b;
    build(&b, o);
    me_arena a;
    me_arena_init(&a);
    me_diag d;
    me_diag_init(&d);
    gguf_file f;
    me_status st = open_bytes(&b, b.n, &f, &a, &d);
    if (st == ME_OK) gguf_close(&f);
    if (st != expect) fprintf(stderr, "case '%s': status %d, %s\n", why, st, me_diag_text(&d));
    else if (st && !strstr(me_diag_text(&d), "GGUF")) fprintf(stderr, "case '%s': reason lacks the file: %s\n", why,
                                                       me_diag_text(&d));
    me_diag_free(&d);
    me_arena_free(&a);
    return st;
}

static void test_valid(void) {
    buf b;
    build(&b, defaults());
    me_arena a;
    me_arena_init(&a);
    me_diag d;
    me_diag_init(&d);
    gguf_file f;
    me_status st = open_bytes(&b, b.n, &f, &a, &d);
    CHECK(st == ME_OK);
    if (st) { fprintf(stderr, "%s\n", me_diag_text(&d)); return; }
    CHECK(f.version == 3 && f.n_kv == 18 && f.n_tensors == 2 && f.alignment == 64);
    uint64_t u;
    double x;
    gguf_str s;
    bool bo;
    CHECK(gguf_get_u64(&f, "k.u8", &u) && u == 200);
    CHECK(gguf_get_f64(&f, "k.i8", &x) && x == -2);
    CHECK(!gguf_get_u64(&f, "k.i8", &u)); /* negative */
    CHECK(gguf_get_u64(&f, "k.u16", &u) && u == 0x1234);
    CHECK(gguf_get_f64(&f, "k.i16", &x) && x == -1);
    CHECK(gguf_get_u64(&f, "k.u32", &u) && u == 4000000000u);
    CHECK(gguf_get_f64(&f, "k.i32", &x) && x == -7);
    CHECK(gguf_get_f64(&f, "k.f32", &x) && x == 0.5);
    CHECK(!gguf_get_u64(&f, "k.f32", &u));
    CHECK(gguf_get_bool(&f, "k.bool", &bo) && bo);
    CHECK(gguf_get_str(&f, "general.architecture", &s) && gguf_str_eq(s, "llama"));
    CHECK(gguf_get_u64(&f, "k.u64", &u) && u == 1ull << 40);
    CHECK(gguf_get_f64(&f, "k.i64", &x) && x == -5);
    CHECK(gguf_get_f64(&f, "k.f64", &x) && x == -2.25);
    CHECK(!gguf_get_u64(&f, "missing", &u));
    const gguf_kv *kv = gguf_find_kv(&f, "k.strs");
    CHECK(kv && kv->type == GGUF_T_ARRAY && kv->arr_type == GGUF_T_STRING && kv->arr_n == 3);
    CHECK(gguf_arr_str(kv, 0, &s) && gguf_str_eq(s, "a"));
    CHECK(gguf_arr_str(kv, 1, &s) && s.n == 0);
    CHECK(gguf_arr_str(kv, 2, &s) && gguf_str_eq(s, "<0x0A>"));
    CHECK(!gguf_arr_str(kv, 3, &s));
    int64_t iv;
    kv = gguf_find_kv(&f, "k.i32s");
    CHECK(gguf_arr_i64(kv, 0, &iv) && iv == 1 && gguf_arr_i64(kv, 1, &iv) && iv == -3);
    CHECK(!gguf_arr_u64(kv, 1, &u) && !gguf_arr_i64(kv, 2, &iv));
    CHECK(gguf_arr_f64(gguf_find_kv(&f, "k.f32s"), 0, &x) && x == 0.5);
    CHECK(gguf_find_kv(&f, "k.empty")->arr_n == 0);
    const gguf_tensor *t = gguf_find_tensor(&f, "token_embd.weight");
    CHECK(t && t->n_dims == 2 && t->ne[0] == 4 && t->ne[1] == 2 && t->ne[2] == 1 && t->type == 0 && t->nbytes == 32);
    /* the header here ends before byte 640; the data section starts at the next multiple of 64 */
    CHECK(f.data_offset % 64 == 0 && t && t->data == f.map.data + f.data_offset);
    float v5;
    if (t) {
        memcpy(&v5, t->data + 20, 4);
        CHECK(v5 == 5.0f);
    }
    t = gguf_find_tensor(&f, "blk.0.w");
    CHECK(t && t->type == 8 && t->nbytes == 34 && t->offset == 64 && t->data[2 + 7] == 7);
    CHECK(!gguf_find_tensor(&f, "blk.0"));
    CHECK(strcmp(gguf_type_name(14), "Q6_K") == 0 && !gguf_type_name(4) && !gguf_type_name(1000));
    gguf_close(&f);
    me_diag_free(&d);
    me_arena_free(&a);

    opts o = defaults();
    o.version = 2;
    CHECK(try_opts(o, "v2 is fine", ME_OK) == ME_OK);
}

static void test_truncations(void) {
    buf b;
    build(&b, defaults());
    int rejected = 0;
    for (size_t n = 0; n < b.n; n++) {
        me_arena a;
        me_arena_init(&a);
        me_diag d;
        me_diag_init(&d);
        gguf_file f;
        me_status st = open_bytes(&b, n, &f, &a, &d);
        if (st == ME_OK) gguf_close(&f);
        rejected += st == ME_ERR_FORMAT;
        me_diag_free(&d);
        me_arena_free(&a);
    }
    CHECK(rejected == (int)b.n);
    printf("%d truncations rejected\n", rejected);
}

static void test_corruptions(void) {
    struct { const char *why; opts o; } cases[16];
    int n = 0;
#define CASE(w, field, val) do { cases[n].why = w; cases[n].o = defaults(); cases[n].o.field = val; n++; } while (0)
    CASE("version 1", version, 1);
    CASE("version 4", version, 4);
    CASE("big-endian version", version, 0x03000000u);
    CASE("alignment 48", align, 48);
    CASE("alignment 0", align, 0);
    CASE("alignment as u64", align_type, 10);
    CASE("huge kv count", n_kv, 1ull << 60);
    CASE("too many kvs", n_kv, 19);
    CASE("huge tensor count", n_tensors, 1ull << 62);
    CASE("unknown tensor type", tensor1_type, 4);
    CASE("5 dims", n_dims1, 5);
    CASE("row not whole blocks", ne1_0, 40);
    CASE("overlapping tensors", tensor1_offset, 0);
    CASE("outside the file", tensor1_offset, 128);
    CASE("duplicate tensor", tensor1_name, "token_embd.weight");
    CASE("duplicate key", dup_key, "k.u8");
#undef CASE
    for (int i = 0; i < n; i++) CHECK(try_opts(cases[i].o, cases[i].why, ME_ERR_FORMAT) == ME_ERR_FORMAT);
    opts o = defaults();
    o.nested_array = 1;
    CHECK(try_opts(o, "nested array", ME_ERR_FORMAT) == ME_ERR_FORMAT);
    o = defaults();
    o.bad_vtype = 1;
    CHECK(try_opts(o, "unknown value type", ME_ERR_FORMAT) == ME_ERR_FORMAT);
    o = defaults();
    o.skip_data = 1;
    CHECK(try_opts(o, "no data section", ME_ERR_FORMAT) == ME_ERR_FORMAT);
    o = defaults();
    o.ne1_0 = 0;
    CHECK(try_opts(o, "zero dimension", ME_ERR_FORMAT) == ME_ERR_FORMAT);
    o = defaults();
    o.tensor1_name = "";
    CHECK(try_opts(o, "empty tensor name", ME_ERR_FORMAT) == ME_ERR_FORMAT);
    o = defaults();
    o.tensor1_offset = 96; /* not a multiple of the alignment */
    CHECK(try_opts(o, "misaligned tensor", ME_ERR_FORMAT) == ME_ERR_FORMAT);
    o = defaults();
    o.ne1_0 = 1ull << 62; /* bytes overflow */
    CHECK(try_opts(o, "huge dimension", ME_ERR_FORMAT) == ME_ERR_FORMAT);
    o = defaults();
    o.dup_key = ""; /* empty key */
    CHECK(try_opts(o, "empty key", ME_ERR_FORMAT) == ME_ERR_FORMAT);
}

int main(void) {
    snprintf(tmp_path, sizeof tmp_path, "/tmp/test_gguf_%d.gguf", (int)getpid());
    test_valid();
    test_truncations();
    test_corruptions();
    unlink(tmp_path);
    return check_exit();
}
