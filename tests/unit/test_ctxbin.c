/* Context binary: CPU target names and the feature check; the runtime's
 * check of a stored memory plan (each kind of forged plan is rejected); a
 * written file reads back with the same plan, runs from it with hand-computed
 * results, and forged targets, corrupt bytes and forged plans in the file are
 * refused with a reason (corruptions never crash the reader). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "backend/ctxbin/ctxbin.h"
#include "backend/ctxbin/ctxbin_format.h"
#include "check.h"
#include "ops/ops.h"
#include "runtime/exec.h"

static char tmpdir[64];

static const float X[6] = {1, -2, 3, -4, 5, -6};
static const float W[6] = {0.5f, 0.5f, 0.5f, 1, 1, 1};
/* y = relu(x + w) * w, by hand */
static const float Y[6] = {0.75f, 0, 1.75f, 0, 6, 0};

static int add_node(me_graph *g, const char *name, int op, int a, int b, const char *out) {
    int in[2] = {a, b};
    int64_t d23[2] = {2, 3};
    int o = me_graph_add_tensor(g, out, ME_DT_F32, 2, d23, NULL);
    return me_graph_add_node(g, name, op, in, b < 0 ? 1 : 2, &o, 1, "", NULL);
}

static int build_graph(me_graph *g) {
    me_graph_init(g, NULL);
    g->name = "tiny";
    int64_t d23[2] = {2, 3};
    int x = me_graph_add_tensor(g, "x", ME_DT_F32, 2, d23, NULL);
    int w = me_graph_add_static_copy(g, "w", ME_DT_F32, 2, d23, W, sizeof W, NULL);
    if (x < 0 || w < 0 || me_graph_add_input(g, x) != ME_OK) return 0;
    if (add_node(g, "add", ME_OP_ADD, x, w, "a") < 0) return 0;
    if (add_node(g, "relu", ME_OP_RELU, me_graph_find_tensor(g, "a"), -1, "r") < 0) return 0;
    if (add_node(g, "mul", ME_OP_MULTIPLY, me_graph_find_tensor(g, "r"), w, "y") < 0) return 0;
    if (me_graph_add_output(g, me_graph_find_tensor(g, "y")) != ME_OK) return 0;
    me_diag d;
    me_diag_init(&d);
    me_status st = me_graph_verify(g, &d);
    if (st != ME_OK) fprintf(stderr, "verify: %s\n", me_diag_text(&d));
    me_diag_free(&d);
    return st == ME_OK;
}

static int contains(const me_diag *d, const char *s) { return strstr(me_diag_text(d), s) != NULL; }

static void test_targets(void) {
    me_cpu_target t, host;
    CHECK(me_cpu_target_parse("x86-64-v3", &t, NULL) == ME_OK);
    CHECK(t.arch == ME_CPU_ARCH_X86_64);
    CHECK((t.features & (ME_CPUF_AVX2 | ME_CPUF_FMA | ME_CPUF_SSE42)) == (ME_CPUF_AVX2 | ME_CPUF_FMA | ME_CPUF_SSE42));
    CHECK(!(t.features & ME_CPUF_AVX512F));
    CHECK(me_cpu_target_parse("x86-64-v4+avx512vnni", &t, NULL) == ME_OK);
    CHECK((t.features & (ME_CPUF_AVX512F | ME_CPUF_AVX512BW | ME_CPUF_AVX512VNNI | ME_CPUF_AVX2)) ==
          (ME_CPUF_AVX512F | ME_CPUF_AVX512BW | ME_CPUF_AVX512VNNI | ME_CPUF_AVX2));
    CHECK(me_cpu_target_parse("armv8.2-a+dotprod", &t, NULL) == ME_OK);
    CHECK(t.arch == ME_CPU_ARCH_AARCH64 && t.features == (ME_CPUF_ASIMD | ME_CPUF_DOTPROD));
    CHECK(strcmp(t.name, "armv8.2-a+dotprod") == 0);
    me_diag d;
    me_diag_init(&d);
    CHECK(me_cpu_target_parse("x86-64-v9", &t, &d) == ME_ERR_INVALID_ARG);
    CHECK(me_cpu_target_parse("armv8.2-a+avx2", &t, &d) == ME_ERR_INVALID_ARG && contains(&d, "+avx2"));
    me_diag_free(&d);
    CHECK(me_cpu_target_parse(NULL, &t, NULL) == ME_OK && strcmp(t.name, "native") == 0);
    me_cpu_host(&host);
    CHECK(t.arch == host.arch && t.features == host.features);
    /* a v4 target on a v3-only CPU: the message names what is missing */
    me_cpu_target v3, v4;
    me_cpu_target_parse("x86-64-v3", &v3, NULL);
    me_cpu_target_parse("x86-64-v4", &v4, NULL);
    me_diag_init(&d);
    CHECK(me_cpu_check(&v4, &v3, "context binary 'm.bin'", &d) == ME_ERR_UNSUPPORTED);
    CHECK(contains(&d, "avx512f") && contains(&d, "avx512bw") && contains(&d, "avx512vl") && !contains(&d, "avx2,"));
    me_diag_free(&d);
    CHECK(me_cpu_check(&v3, &v4, "x", NULL) == ME_OK);
    me_cpu_target arm;
    me_cpu_target_parse("armv8.2-a+dotprod", &arm, NULL);
    me_diag_init(&d);
    CHECK(me_cpu_check(&arm, &v4, "context binary 'm.bin'", &d) == ME_ERR_UNSUPPORTED && contains(&d, "aarch64"));
    me_diag_free(&d);
    me_diag_init(&d);
    CHECK(me_ctx_target_from_options("HTP", NULL, &t, &d) == ME_ERR_UNSUPPORTED && contains(&d, "QNN SDK"));
    me_diag_free(&d);
    CHECK(me_ctx_target_from_options("cpu", "x86-64-v3", &t, NULL) == ME_OK && t.features == v3.features);
}

static me_status check_plan(const me_graph *g, const me_plan *p, const char *want) {
    me_plan q;
    me_plan_copy(p, g->n_tensors, &q, NULL);
    me_diag d;
    me_diag_init(&d);
    me_status st = me_plan_check(g, &q, &d);
    if (want && !contains(&d, want)) fprintf(stderr, "expected '%s' in: %s\n", want, me_diag_text(&d));
    if (want) CHECK(contains(&d, want));
    me_diag_free(&d);
    me_plan_free(&q);
    return st;
}

static void test_plan_check(const me_graph *g) {
    me_plan p;
    CHECK(me_plan_build(g, &p, NULL) == ME_OK);
    int a = me_graph_find_tensor(g, "a"), r = me_graph_find_tensor(g, "r"), y = me_graph_find_tensor(g, "y");
    int w = me_graph_find_tensor(g, "w");
    CHECK(check_plan(g, &p, NULL) == ME_OK);
    me_plan q;
    /* a (steps 0..1) and r (1..2) are alive together at step 1 */
    me_plan_copy(&p, g->n_tensors, &q, NULL);
    q.offset[r] = q.offset[a];
    CHECK(check_plan(g, &q, "overlaps") == ME_ERR_FORMAT);
    me_plan_free(&q);
    me_plan_copy(&p, g->n_tensors, &q, NULL);
    q.offset[y] = q.arena_bytes;
    CHECK(check_plan(g, &q, "not inside") == ME_ERR_FORMAT);
    q.offset[y] = p.offset[y] + 8;
    CHECK(check_plan(g, &q, "not inside") == ME_ERR_FORMAT);
    me_plan_free(&q);
    me_plan_copy(&p, g->n_tensors, &q, NULL);
    int t0 = q.order[0];
    q.order[0] = q.order[1];
    q.order[1] = t0;
    CHECK(check_plan(g, &q, "before") == ME_ERR_FORMAT);
    me_plan_free(&q);
    me_plan_copy(&p, g->n_tensors, &q, NULL);
    q.order[2] = q.order[1];
    CHECK(check_plan(g, &q, "twice") == ME_ERR_FORMAT);
    me_plan_free(&q);
    me_plan_copy(&p, g->n_tensors, &q, NULL);
    q.last[a] = q.first[a];
    CHECK(check_plan(g, &q, "does not cover") == ME_ERR_FORMAT);
    me_plan_free(&q);
    me_plan_copy(&p, g->n_tensors, &q, NULL);
    q.offset[w] = 0;
    q.first[w] = 0;
    CHECK(check_plan(g, &q, "constant") == ME_ERR_FORMAT);
    me_plan_free(&q);
    me_plan_copy(&p, g->n_tensors, &q, NULL);
    q.first[y] = 1;
    CHECK(check_plan(g, &q, "whole run") == ME_ERR_FORMAT);
    me_plan_free(&q);
    me_plan_copy(&p, g->n_tensors, &q, NULL);
    q.arena_bytes = (size_t)1 << 40;
    CHECK(check_plan(g, &q, "exceeds") == ME_ERR_FORMAT);
    me_plan_free(&q);
    me_plan_free(&p);
}

/* ---- file level ---- */
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz);
    if (b && fread(b, 1, (size_t)sz, f) != (size_t)sz) { free(b); b = NULL; }
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(b, 1, n, f);
    fclose(f);
}

/* the trailer's XXH3-64 of every byte before it, computed independently of the writer */
static void repair_checksum(unsigned char *b, size_t n) {
    if (n < CTX_TRAILER_SIZE) return;
    dlc_put_u64(b + n - CTX_TRAILER_SIZE + CTX_T_CHECKSUM, (uint64_t)XXH3_64bits(b, n - CTX_TRAILER_SIZE));
}

/* Section offset from the file's own table. */
static uint64_t section(const unsigned char *b, uint32_t type) {
    for (uint32_t i = 0; i < CTX_SEC_COUNT_ - 1; i++) {
        const unsigned char *e = b + CTX_HEADER_SIZE + i * DLC_SECTION_ENTRY_SIZE;
        if (dlc_get_u32(e) == type) return dlc_get_u64(e + DLC_S_OFFSET);
    }
    return 0;
}

static me_status read_file(const char *path, int check_cpu, me_diag *d, int run) {
    me_graph g;
    me_graph_init(&g, NULL);
    me_ctxbin cb;
    me_status st = me_ctxbin_read(path, check_cpu, &g, &cb, d);
    if (st == ME_OK && run) {
        me_exec e;
        if (me_exec_create_planned(&g, &cb.plan, &e, NULL) == ME_OK) {
            int x = g.inputs[0];
            if (me_exec_tensor_data(&e, x)) memset(me_exec_tensor_data(&e, x), 0, g.tensors[x].nbytes);
            me_exec_run(&e, NULL);
            me_exec_free(&e);
        }
    }
    if (st == ME_OK) me_ctxbin_free(&cb);
    me_graph_free(&g);
    return st;
}

static void test_file(me_graph *g) {
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/tiny.bin", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.bin", tmpdir);
    me_cpu_target native;
    CHECK(me_cpu_target_parse("native", &native, NULL) == ME_OK);
    me_diag d;
    me_diag_init(&d);
    CHECK(me_ctxbin_write(g, &native, path, &d) == ME_OK);
    me_diag_free(&d);

    /* reads back with the plan this runtime would build, and runs from it */
    me_graph g2;
    me_graph_init(&g2, NULL);
    me_ctxbin cb;
    CHECK(me_ctxbin_read(path, 1, &g2, &cb, NULL) == ME_OK);
    me_plan p;
    CHECK(me_plan_build(&g2, &p, NULL) == ME_OK);
    CHECK(cb.plan.n_steps == 3 && p.n_steps == 3 && cb.plan.arena_bytes == p.arena_bytes);
    for (int s = 0; s < 3; s++) CHECK(cb.plan.order[s] == p.order[s]);
    for (int t = 0; t < g2.n_tensors; t++) CHECK(cb.plan.offset[t] == p.offset[t]);
    me_plan_free(&p);
    CHECK(cb.n_kernels == 3);
    int relu = -1;
    for (int i = 0; i < g2.n_nodes; i++)
        if (g2.nodes[i].op == ME_OP_RELU) relu = i;
    CHECK(relu >= 0 && strncmp(cb.kernel_ids[relu], "eltwise_f32__", 13) == 0);
    {   /* an op without a SIMD family gets its reference kernel */
        me_node other = g2.nodes[relu];
        other.op = ME_OP_ELU;
        char id[ME_CTX_KERNEL_ID_MAX];
        me_ctx_kernel_choose(&g2, &other, &native, id);
        CHECK(strcmp(id, "ref.Elu") == 0);
    }
    me_exec e;
    CHECK(me_exec_create_planned(&g2, &cb.plan, &e, NULL) == ME_OK);
    memcpy(me_exec_tensor_data(&e, g2.inputs[0]), X, sizeof X);
    CHECK(me_exec_run(&e, NULL) == ME_OK);
    const float *y = me_exec_tensor_data(&e, g2.outputs[0]);
    for (int i = 0; i < 6; i++) CHECK_NEAR(y[i], Y[i], 0);
    me_exec_free(&e);
    me_ctxbin_free(&cb);
    me_graph_free(&g2);

    size_t n;
    unsigned char *orig = slurp(path, &n);
    CHECK(orig != NULL);
    if (!orig) return;
    unsigned char *b = malloc(n);
    uint64_t tg = section(orig, CTX_SEC_TARGET), lt = section(orig, CTX_SEC_LIFETIMES),
             kr = section(orig, CTX_SEC_KERNELS), g_off = dlc_get_u64(orig + CTX_H_GRAPH_OFFSET);

    /* compiled for aarch64: refused on load, still inspectable */
    me_cpu_target arm;
    me_cpu_target_parse("armv8.2-a+dotprod", &arm, NULL);
    CHECK(me_ctxbin_write(g, &arm, bad, NULL) == ME_OK);
    me_diag_init(&d);
    if (native.arch != ME_CPU_ARCH_AARCH64) {
        CHECK(read_file(bad, 1, &d, 0) == ME_ERR_UNSUPPORTED);
        CHECK(contains(&d, "armv8.2-a+dotprod") && contains(&d, "aarch64"));
    }
    me_diag_free(&d);
    CHECK(read_file(bad, 0, NULL, 0) == ME_OK);
    /* a native file whose target is forged to aarch64: refused either way */
    memcpy(b, orig, n);
    dlc_put_u32(b + tg + CTX_TG_ARCH, arm.arch);
    dlc_put_u64(b + tg + CTX_TG_FEATURES, arm.features);
    repair_checksum(b, n);
    spit(bad, b, n);
    if (native.arch != ME_CPU_ARCH_AARCH64) CHECK(read_file(bad, 1, NULL, 0) != ME_OK);

    /* a forged feature bit no CPU has */
    memcpy(b, orig, n);
    dlc_put_u64(b + tg + CTX_TG_FEATURES, native.features | (1ull << 60));
    repair_checksum(b, n);
    spit(bad, b, n);
    me_diag_init(&d);
    CHECK(read_file(bad, 1, &d, 0) == ME_ERR_FORMAT && contains(&d, "bit 60"));
    me_diag_free(&d);

    /* a known feature this CPU lacks (if there is one) */
    uint64_t lacking = me_cpu_known_features(native.arch) & ~native.features;
    if (lacking) {
        memcpy(b, orig, n);
        dlc_put_u64(b + tg + CTX_TG_FEATURES, native.features | (lacking & -lacking));
        repair_checksum(b, n);
        spit(bad, b, n);
        me_diag_init(&d);
        CHECK(read_file(bad, 1, &d, 0) == ME_ERR_UNSUPPORTED && contains(&d, "lacks"));
        me_diag_free(&d);
    }

    /* a forged plan: tensor 'r' moved onto 'a' */
    memcpy(b, orig, n);
    {
        me_graph g3;
        me_graph_init(&g3, NULL);
        me_ctxbin c3;
        if (me_ctxbin_read(path, 0, &g3, &c3, NULL) == ME_OK) {
            int ta = me_graph_find_tensor(&g3, "a"), tr = me_graph_find_tensor(&g3, "r");
            memcpy(b + lt + (uint64_t)tr * CTX_LIFETIME_SIZE + CTX_L_OFFSET,
                   b + lt + (uint64_t)ta * CTX_LIFETIME_SIZE + CTX_L_OFFSET, 8);
            me_ctxbin_free(&c3);
        }
        me_graph_free(&g3);
    }
    repair_checksum(b, n);
    spit(bad, b, n);
    me_diag_init(&d);
    CHECK(read_file(bad, 1, &d, 0) == ME_ERR_FORMAT && contains(&d, "overlaps"));
    me_diag_free(&d);

    /* an unknown kernel id */
    memcpy(b, orig, n);
    memcpy(b + kr + CTX_K_ID, "gemm_f32__quantum", 17);
    repair_checksum(b, n);
    spit(bad, b, n);
    CHECK(read_file(bad, 1, NULL, 0) != ME_OK);

    /* a flipped byte without a repaired checksum, in the metadata and in the
     * embedded graph (whose own CRC the reader no longer reads); a truncation */
    uint64_t flips[2] = {tg + 20, g_off + dlc_get_u64(orig + CTX_H_GRAPH_SIZE) / 2};
    for (int k = 0; k < 2; k++) {
        memcpy(b, orig, n);
        b[flips[k]] ^= 1;
        spit(bad, b, n);
        me_diag_init(&d);
        CHECK(read_file(bad, 1, &d, 0) == ME_ERR_FORMAT && contains(&d, "checksum mismatch"));
        me_diag_free(&d);
    }
    /* an older version: named, not a checksum error */
    memcpy(b, orig, n);
    dlc_put_u32(b + CTX_H_VERSION, 1);
    spit(bad, b, n);
    me_diag_init(&d);
    CHECK(read_file(bad, 1, &d, 0) == ME_ERR_FORMAT && contains(&d, "version 1 is not supported"));
    me_diag_free(&d);
    spit(bad, orig, n - 1);
    CHECK(read_file(bad, 1, NULL, 0) == ME_ERR_FORMAT);

    /* the embedded graph's header and section table changed, checksum
     * repaired: the DLC's field checks alone must reject or run it safely */
    for (uint64_t i = g_off; i < g_off + 64 + 32 * 11 && i < n - CTX_TRAILER_SIZE; i++) {
        memcpy(b, orig, n);
        b[i] ^= (unsigned char)(0x5a | (i & 0x81));
        repair_checksum(b, n);
        spit(bad, b, n);
        (void)read_file(bad, 1, NULL, 1);
    }

    /* every metadata byte changed, checksum repaired: never a crash; what is accepted runs */
    int accepted = 0;
    for (uint64_t i = 0; i < g_off; i++) {
        memcpy(b, orig, n);
        b[i] ^= (unsigned char)(0x5a | (i & 0x81));
        repair_checksum(b, n);
        spit(bad, b, n);
        accepted += read_file(bad, 1, NULL, 1) == ME_OK;
    }
    CHECK(accepted < (int)g_off / 4); /* almost every metadata byte is checked */
    free(b);
    free(orig);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/me_test_ctxbinXXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
    test_targets();
    me_graph g;
    CHECK(build_graph(&g));
    test_plan_check(&g);
    test_file(&g);
    me_graph_free(&g);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    return check_exit();
}
