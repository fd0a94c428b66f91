/* Context binary reader: maps the file, checks the version and the checksum
 * of the whole file (XXH3-64: about three times zlib's CRC-32 speed, and this
 * pass over every weight byte is most of the load time), the target against
 * this CPU, then the embedded DLC (every field; its own CRC is covered),
 * the stored schedule and memory plan (me_plan_check) and every node's
 * kernel. Nothing in the file is trusted. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../../core/mapfile.h"
#include "../../core/util.h"
#include "../../runtime/kernel_families.h"
#include "../../runtime/pack.h"
#include "ctxbin.h"
#include "ctxbin_format.h"

typedef struct creader {
    const char *path;
    me_diag *d;
    const uint8_t *base;
    uint64_t size;
    uint64_t off[CTX_SEC_COUNT_], len[CTX_SEC_COUNT_];
    uint32_t count[CTX_SEC_COUNT_];
} creader;

static me_status bad(creader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static me_status bad(creader *r, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return me_fail(r->d, ME_ERR_FORMAT, "'%s' is not a valid context binary: %s", r->path, msg);
}

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static me_status read_container(creader *r) {
    const uint8_t *b = r->base;
    uint64_t size = r->size;
    if (size < CTX_HEADER_SIZE + CTX_TRAILER_SIZE) return bad(r, "the file is truncated (%llu bytes)", (unsigned long long)size);
    uint64_t trailer = size - CTX_TRAILER_SIZE;
    const uint8_t *t = b + trailer;
    if (memcmp(t + CTX_T_MAGIC, CTX_TRAILER_MAGIC, 8) != 0) {
        if (dlc_get_u64(b + CTX_H_FILE_SIZE) != size)
            return bad(r, "the file is truncated or extended (the header says %llu bytes, the file has %llu)",
                       (unsigned long long)dlc_get_u64(b + CTX_H_FILE_SIZE), (unsigned long long)size);
        return bad(r, "the trailer is missing or damaged");
    }
    uint64_t g_off = dlc_get_u64(b + CTX_H_GRAPH_OFFSET), g_len = dlc_get_u64(b + CTX_H_GRAPH_SIZE), g_end;
    uint64_t table_end = CTX_HEADER_SIZE + (uint64_t)(CTX_SEC_COUNT_ - 1) * DLC_SECTION_ENTRY_SIZE;
    if (g_off % CTX_ALIGN || g_off < table_end || __builtin_add_overflow(g_off, g_len, &g_end) || g_end > trailer ||
        trailer - g_end >= 8)
        return bad(r, "the graph's position in the header is invalid");
    /* the version first: an older file has another checksum */
    if (dlc_get_u32(b + CTX_H_VERSION) != CTX_VERSION)
        return bad(r, "format version %u is not supported (this build reads version %u; compile the model again)",
                   dlc_get_u32(b + CTX_H_VERSION), CTX_VERSION);
    uint64_t sum = (uint64_t)XXH3_64bits(b, (size_t)trailer);
    if (sum != dlc_get_u64(t + CTX_T_CHECKSUM))
        return bad(r, "checksum mismatch (stored %016llx, computed %016llx): the file is corrupt",
                   (unsigned long long)dlc_get_u64(t + CTX_T_CHECKSUM), (unsigned long long)sum);
    if (dlc_get_u32(b + CTX_H_FLAGS) || dlc_get_u64(b + CTX_H_FILE_SIZE) != size ||
        dlc_get_u32(b + CTX_H_HEADER_SIZE) != CTX_HEADER_SIZE || dlc_get_u64(b + CTX_H_TABLE_OFFSET) != CTX_HEADER_SIZE ||
        dlc_get_u32(b + CTX_H_SECTION_COUNT) != CTX_SEC_COUNT_ - 1 || !all_zero(b + 56, 8) || !all_zero(b + trailer - (trailer - g_end), (size_t)(trailer - g_end)))
        return bad(r, "header fields are invalid");
    int seen[CTX_SEC_COUNT_] = {0};
    for (uint32_t i = 0; i < CTX_SEC_COUNT_ - 1; i++) {
        const uint8_t *e = b + CTX_HEADER_SIZE + (size_t)i * DLC_SECTION_ENTRY_SIZE;
        uint32_t type = dlc_get_u32(e + DLC_S_TYPE);
        uint64_t off = dlc_get_u64(e + DLC_S_OFFSET), len = dlc_get_u64(e + DLC_S_SIZE), end;
        if (type < 1 || type >= CTX_SEC_COUNT_ || seen[type]) return bad(r, "section table entry %u has type %u", i, type);
        seen[type] = 1;
        if (dlc_get_u64(e + DLC_S_RESERVED) || off % CTX_ALIGN || off < table_end ||
            __builtin_add_overflow(off, len, &end) || end > (type == CTX_SEC_GRAPH ? g_end : g_off))
            return bad(r, "section %u lies outside its place in the file", type);
        r->off[type] = off;
        r->len[type] = len;
        r->count[type] = dlc_get_u32(e + DLC_S_COUNT);
    }
    if (r->off[CTX_SEC_GRAPH] != g_off || r->len[CTX_SEC_GRAPH] != g_len)
        return bad(r, "the section table and the header disagree about the graph");
    /* metadata sections must not overlap each other */
    for (int a = 1; a < CTX_SEC_GRAPH; a++)
        for (int c = a + 1; c < CTX_SEC_GRAPH; c++)
            if (r->len[a] && r->len[c] && r->off[a] < r->off[c] + r->len[c] && r->off[c] < r->off[a] + r->len[a])
                return bad(r, "sections %d and %d overlap", a, c);
    static const uint32_t rec[CTX_SEC_COUNT_] = {0, 0, 0, CTX_STEP_SIZE, CTX_LIFETIME_SIZE, CTX_KERNEL_SIZE, 0, 0};
    for (int s = 1; s < CTX_SEC_COUNT_; s++) {
        if (rec[s] ? (uint64_t)r->count[s] * rec[s] != r->len[s] : r->count[s] != 0)
            return bad(r, "section %d's record count does not match its size", s);
    }
    if (r->len[CTX_SEC_TARGET] != CTX_TARGET_SIZE || r->len[CTX_SEC_PLAN] != CTX_PLAN_SIZE)
        return bad(r, "the TARGET or PLAN section has the wrong size");
    return ME_OK;
}

static me_status read_target(creader *r, me_cpu_target *t) {
    const uint8_t *p = r->base + r->off[CTX_SEC_TARGET];
    memset(t, 0, sizeof *t);
    t->arch = dlc_get_u32(p + CTX_TG_ARCH);
    t->features = dlc_get_u64(p + CTX_TG_FEATURES);
    if (t->arch != ME_CPU_ARCH_X86_64 && t->arch != ME_CPU_ARCH_AARCH64)
        return bad(r, "unknown target architecture %u", t->arch);
    uint64_t unknown = t->features & ~me_cpu_known_features(t->arch);
    if (unknown) {
        char list[256];
        me_cpu_feature_list(t->arch, unknown, list, sizeof list);
        return bad(r, "the target names CPU features this build does not know (%s)", list);
    }
    const char *name = (const char *)p + CTX_TG_NAME;
    size_t n = strnlen(name, ME_CPU_TARGET_NAME_MAX);
    if (dlc_get_u32(p + CTX_TG_RESERVED) || n == 0 || n == ME_CPU_TARGET_NAME_MAX ||
        !all_zero(p + CTX_TG_NAME + n, ME_CPU_TARGET_NAME_MAX - n))
        return bad(r, "the target's name or reserved fields are invalid");
    memcpy(t->name, name, n);
    return ME_OK;
}

static me_status read_plan(creader *r, const me_graph *g, me_plan *p) {
    const uint8_t *h = r->base + r->off[CTX_SEC_PLAN];
    uint64_t arena = dlc_get_u64(h + CTX_P_ARENA), scratch = dlc_get_u64(h + CTX_P_SCRATCH);
    uint32_t n_steps = dlc_get_u32(h + CTX_P_N_STEPS), nt = dlc_get_u32(h + CTX_P_N_TENSORS),
             nn = dlc_get_u32(h + CTX_P_N_NODES);
    if (!all_zero(h + 28, CTX_PLAN_SIZE - 28)) return bad(r, "PLAN reserved bytes are not zero");
    if (nt != (uint32_t)g->n_tensors || nn != (uint32_t)g->n_nodes || n_steps > nn ||
        r->count[CTX_SEC_SCHEDULE] != n_steps || r->count[CTX_SEC_LIFETIMES] != nt || r->count[CTX_SEC_KERNELS] != nn)
        return bad(r, "the plan's counts do not match the graph (%u tensors, %u nodes)", g->n_tensors, g->n_nodes);
    if (arena > (uint64_t)SIZE_MAX / 2 || scratch > (uint64_t)SIZE_MAX / 2) return bad(r, "the plan's sizes are invalid");
    memset(p, 0, sizeof *p);
    p->n_steps = (int)n_steps;
    p->arena_bytes = (size_t)arena;
    p->scratch_bytes = (size_t)scratch;
    size_t ncap = n_steps ? n_steps : 1, tcap = nt ? nt : 1;
    p->order = malloc(ncap * sizeof(int));
    p->first = malloc(tcap * sizeof(int));
    p->last = malloc(tcap * sizeof(int));
    p->offset = malloc(tcap * sizeof(size_t));
    if (!p->order || !p->first || !p->last || !p->offset) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    const uint8_t *sc = r->base + r->off[CTX_SEC_SCHEDULE];
    for (uint32_t s = 0; s < n_steps; s++) {
        uint32_t id = dlc_get_u32(sc + (size_t)s * CTX_STEP_SIZE);
        p->order[s] = id < nn ? (int)id : -1; /* me_plan_check rejects -1 */
    }
    const uint8_t *lt = r->base + r->off[CTX_SEC_LIFETIMES];
    for (uint32_t t = 0; t < nt; t++) {
        const uint8_t *rec = lt + (size_t)t * CTX_LIFETIME_SIZE;
        p->first[t] = dlc_get_i32(rec + CTX_L_FIRST);
        p->last[t] = dlc_get_i32(rec + CTX_L_LAST);
        uint64_t off = dlc_get_u64(rec + CTX_L_OFFSET);
        if (off != CTX_OFFSET_NONE && off > (uint64_t)SIZE_MAX / 2) return bad(r, "tensor %u: offset out of range", t);
        p->offset[t] = off == CTX_OFFSET_NONE ? ME_PLAN_NONE : (size_t)off;
    }
    me_diag sub;
    me_diag_init(&sub);
    me_status st = me_plan_check(g, p, &sub);
    if (st != ME_OK) st = bad(r, "%s", me_diag_text(&sub));
    me_diag_free(&sub);
    return st;
}

static me_status read_kernels(creader *r, const me_graph *g, me_ctxbin *cb) {
    int nn = g->n_nodes;
    cb->kernel_ids = calloc((size_t)(nn > 0 ? nn : 1), sizeof *cb->kernel_ids);
    cb->packed = calloc((size_t)(nn > 0 ? nn : 1), sizeof *cb->packed);
    if (!cb->kernel_ids || !cb->packed) return me_fail(r->d, ME_ERR_NOMEM, "out of memory");
    uint64_t packed_at = 0; /* the writer's layout: node order, each record 64-byte aligned */
    cb->n_kernels = nn;
    const uint8_t *kr = r->base + r->off[CTX_SEC_KERNELS];
    for (int i = 0; i < nn; i++) {
        const uint8_t *rec = kr + (size_t)i * CTX_KERNEL_SIZE;
        const char *id = (const char *)rec + CTX_K_ID;
        size_t n = strnlen(id, CTX_K_ID_MAX);
        if (n == 0 || n == CTX_K_ID_MAX || !all_zero(rec + n, CTX_K_ID_MAX - n) || dlc_get_u32(rec + CTX_K_FLAGS) ||
            dlc_get_u32(rec + CTX_K_RESERVED))
            return bad(r, "node '%s': the kernel record is invalid", g->nodes[i].name);
        uint64_t p_off = dlc_get_u64(rec + CTX_K_PACKED_OFFSET), p_size = dlc_get_u64(rec + CTX_K_PACKED_SIZE);
        memcpy(cb->kernel_ids[i], id, n);
        if (g->nodes[i].dead) {
            if (p_off || p_size) return bad(r, "node '%s' is dead but has packed weights", g->nodes[i].name);
            continue;
        }
        me_diag sub;
        me_diag_init(&sub);
        me_status st = me_ctx_kernel_check(g, &g->nodes[i], cb->kernel_ids[i], &cb->target, &sub);
        if (st != ME_OK) {
            if (st == ME_ERR_FORMAT) st = bad(r, "%s", me_diag_text(&sub));
            else me_fail(r->d, st, "'%s': %s", r->path, me_diag_text(&sub));
            me_diag_free(&sub);
            return st;
        }
        me_diag_free(&sub);
        /* the packed size is a function of node, weights and kernel: recompute it */
        const void *v = me_kernel_family_find(me_kernel_family_of(g, &g->nodes[i]), id, NULL);
        uint64_t want = me_node_packed_bytes(g, &g->nodes[i], v);
        if (p_size != want)
            return bad(r, "node '%s': kernel '%s' reads %llu bytes of packed weights, the file has %llu", g->nodes[i].name,
                       id, (unsigned long long)want, (unsigned long long)p_size);
        if (!p_size) {
            if (p_off) return bad(r, "node '%s': a packed offset without packed weights", g->nodes[i].name);
            continue;
        }
        if (p_off != packed_at || p_off > r->len[CTX_SEC_PACKED] || p_size > r->len[CTX_SEC_PACKED] - p_off)
            return bad(r, "node '%s': packed weights lie outside their place in the PACKED section", g->nodes[i].name);
        cb->packed[i] = r->base + r->off[CTX_SEC_PACKED] + p_off;
        packed_at = p_off + ((p_size + CTX_ALIGN - 1) & ~(uint64_t)(CTX_ALIGN - 1));
    }
    if (packed_at != r->len[CTX_SEC_PACKED]) return bad(r, "the PACKED section holds bytes no kernel uses");
    return ME_OK;
}

void me_ctxbin_free(me_ctxbin *cb) {
    if (!cb) return;
    me_plan_free(&cb->plan);
    free(cb->kernel_ids);
    free(cb->packed);
    memset(cb, 0, sizeof *cb);
}

me_status me_ctxbin_read(const char *path, int check_cpu, me_graph *g, me_ctxbin *cb, me_diag *d) {
    memset(cb, 0, sizeof *cb);
    if (!path || !g) return me_fail(d, ME_ERR_INVALID_ARG, "me_ctxbin_read: NULL argument");
    me_mapfile m;
    me_status st = me_map_file(path, &m, d);
    if (st != ME_OK) return st;
    const uint8_t *base = m.data;
    size_t size = m.size;
    st = me_graph_adopt_map(g, &m);
    if (st != ME_OK) {
        me_unmap_file(&m);
        return me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    creader r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.d = d;
    r.base = base;
    r.size = size;
    if (!me_ctxbin_has_magic(base, size)) return me_fail(d, ME_ERR_FORMAT, "'%s' is not a modelexport context binary (bad magic)", path);
    st = read_container(&r);
    if (st == ME_OK) st = read_target(&r, &cb->target);
    if (st == ME_OK && check_cpu) {
        me_cpu_target host;
        me_cpu_host(&host);
        char what[600];
        snprintf(what, sizeof what, "context binary '%s'", path);
        st = me_cpu_check(&cb->target, &host, what, d);
    }
    if (st == ME_OK) {
        char name[600];
        snprintf(name, sizeof name, "%s (embedded graph)", path);
        st = me_dlc_parse_covered(name, base + r.off[CTX_SEC_GRAPH], (size_t)r.len[CTX_SEC_GRAPH], g, &cb->dlc, d);
    }
    if (st == ME_OK && g->n_subgraphs) st = bad(&r, "the embedded graph has several entry points");
    if (st == ME_OK) st = read_plan(&r, g, &cb->plan);
    if (st == ME_OK) st = read_kernels(&r, g, cb);
    if (st == ME_OK) {
        cb->version = CTX_VERSION;
        cb->file_size = size;
        cb->packed_bytes = r.len[CTX_SEC_PACKED];
    } else {
        me_ctxbin_free(cb);
    }
    return st;
}
