/* Context binary writer: the graph goes through the DLC writer into a
 * temporary file, is read back (so the plan's node and tensor ids are the
 * ones a loader will see), planned and given kernels, then written as
 * metadata sections followed by the DLC image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "../../core/mapfile.h"
#include "../../core/util.h"
#include "../../runtime/kernel_families.h"
#include "../../runtime/pack.h"
#include "ctxbin.h"
#include "ctxbin_format.h"

int me_ctxbin_has_magic(const void *data, size_t size) {
    return data && size >= 8 && memcmp(data, CTX_MAGIC, 8) == 0;
}

typedef struct layout {
    uint64_t off[CTX_SEC_COUNT_], size[CTX_SEC_COUNT_];
    uint32_t count[CTX_SEC_COUNT_];
    uint64_t meta_end; /* = GRAPH offset */
    char (*kernel_id)[ME_CTX_KERNEL_ID_MAX]; /* per node */
    const void **variant;                    /* per node: the registry row of kernel_id, or NULL */
    uint64_t *packed_off, *packed_size;      /* per node, inside PACKED */
} layout;

static uint64_t align64(uint64_t v) { return (v + CTX_ALIGN - 1) & ~(uint64_t)(CTX_ALIGN - 1); }

static me_status fill_meta(uint8_t *buf, const layout *L, const me_graph *g, const me_plan *p,
                           const me_cpu_target *t, uint64_t file_size, me_diag *d) {
    uint8_t *h = buf;
    memcpy(h + CTX_H_MAGIC, CTX_MAGIC, 8);
    dlc_put_u32(h + CTX_H_VERSION, CTX_VERSION);
    dlc_put_u64(h + CTX_H_FILE_SIZE, file_size);
    dlc_put_u32(h + CTX_H_SECTION_COUNT, CTX_SEC_COUNT_ - 1);
    dlc_put_u32(h + CTX_H_HEADER_SIZE, CTX_HEADER_SIZE);
    dlc_put_u64(h + CTX_H_TABLE_OFFSET, CTX_HEADER_SIZE);
    dlc_put_u64(h + CTX_H_GRAPH_OFFSET, L->off[CTX_SEC_GRAPH]);
    dlc_put_u64(h + CTX_H_GRAPH_SIZE, L->size[CTX_SEC_GRAPH]);
    for (int s = 1; s < CTX_SEC_COUNT_; s++) {
        uint8_t *e = buf + CTX_HEADER_SIZE + (size_t)(s - 1) * DLC_SECTION_ENTRY_SIZE;
        dlc_put_u32(e + DLC_S_TYPE, (uint32_t)s);
        dlc_put_u32(e + DLC_S_COUNT, L->count[s]);
        dlc_put_u64(e + DLC_S_OFFSET, L->off[s]);
        dlc_put_u64(e + DLC_S_SIZE, L->size[s]);
    }
    uint8_t *tg = buf + L->off[CTX_SEC_TARGET];
    dlc_put_u32(tg + CTX_TG_ARCH, t->arch);
    dlc_put_u64(tg + CTX_TG_FEATURES, t->features);
    memcpy(tg + CTX_TG_NAME, t->name, strnlen(t->name, ME_CPU_TARGET_NAME_MAX - 1));

    uint8_t *pl = buf + L->off[CTX_SEC_PLAN];
    dlc_put_u64(pl + CTX_P_ARENA, p->arena_bytes);
    dlc_put_u64(pl + CTX_P_SCRATCH, p->scratch_bytes);
    dlc_put_u32(pl + CTX_P_N_STEPS, (uint32_t)p->n_steps);
    dlc_put_u32(pl + CTX_P_N_TENSORS, (uint32_t)g->n_tensors);
    dlc_put_u32(pl + CTX_P_N_NODES, (uint32_t)g->n_nodes);

    uint8_t *sc = buf + L->off[CTX_SEC_SCHEDULE];
    for (int s = 0; s < p->n_steps; s++) dlc_put_u32(sc + (size_t)s * CTX_STEP_SIZE, (uint32_t)p->order[s]);

    uint8_t *lt = buf + L->off[CTX_SEC_LIFETIMES];
    for (int i = 0; i < g->n_tensors; i++) {
        uint8_t *r = lt + (size_t)i * CTX_LIFETIME_SIZE;
        dlc_put_u32(r + CTX_L_FIRST, (uint32_t)p->first[i]);
        dlc_put_u32(r + CTX_L_LAST, (uint32_t)p->last[i]);
        dlc_put_u64(r + CTX_L_OFFSET, p->offset[i] == ME_PLAN_NONE ? CTX_OFFSET_NONE : (uint64_t)p->offset[i]);
    }

    uint8_t *kr = buf + L->off[CTX_SEC_KERNELS];
    for (int i = 0; i < g->n_nodes; i++) {
        uint8_t *rec = kr + (size_t)i * CTX_KERNEL_SIZE;
        memcpy(rec + CTX_K_ID, L->kernel_id[i], strlen(L->kernel_id[i]));
        if (!L->packed_size[i]) continue;
        dlc_put_u64(rec + CTX_K_PACKED_OFFSET, L->packed_off[i]);
        dlc_put_u64(rec + CTX_K_PACKED_SIZE, L->packed_size[i]);
        me_status st = me_node_pack(g, &g->nodes[i], L->variant[i], buf + L->off[CTX_SEC_PACKED] + L->packed_off[i], d);
        if (st != ME_OK) return st;
    }
    return ME_OK;
}

/* Every node's kernel for the target and the size of its packed weights,
 * laid out in node order, each 64-byte aligned (the reader expects exactly
 * this layout). */
static me_status choose_kernels(const me_graph *g, const me_cpu_target *t, layout *L, me_diag *d) {
    size_t nn = (size_t)(g->n_nodes > 0 ? g->n_nodes : 1);
    L->kernel_id = calloc(nn, sizeof *L->kernel_id);
    L->variant = calloc(nn, sizeof *L->variant);
    L->packed_off = calloc(nn, sizeof *L->packed_off);
    L->packed_size = calloc(nn, sizeof *L->packed_size);
    if (!L->kernel_id || !L->variant || !L->packed_off || !L->packed_size) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    uint64_t at = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const me_node *n = &g->nodes[i];
        me_ctx_kernel_choose(g, n, t, L->kernel_id[i]);
        if (n->dead) continue;
        L->variant[i] = me_kernel_family_find(me_kernel_family_of(g, n), L->kernel_id[i], NULL);
        size_t b = me_node_packed_bytes(g, n, L->variant[i]);
        if (!b) continue;
        L->packed_off[i] = at;
        L->packed_size[i] = b;
        if (__builtin_add_overflow(at, (uint64_t)me_align_up(b, CTX_ALIGN), &at) || at > (uint64_t)SIZE_MAX / 4)
            return me_fail(d, ME_ERR_NOMEM, "pre-packed weights are too large");
    }
    L->size[CTX_SEC_PACKED] = at;
    return ME_OK;
}

static void layout_free(layout *L) {
    free(L->kernel_id);
    free(L->variant);
    free(L->packed_off);
    free(L->packed_size);
}

static me_status write_file(const char *path, const uint8_t *meta, size_t meta_bytes, const uint8_t *graph,
                            size_t graph_bytes, size_t pad, me_diag *d) {
    static const uint8_t zeros[8];
    XXH3_state_t *sum = XXH3_createState();
    if (!sum || XXH3_64bits_reset(sum) == XXH_ERROR || XXH3_64bits_update(sum, meta, meta_bytes) == XXH_ERROR ||
        XXH3_64bits_update(sum, graph, graph_bytes) == XXH_ERROR || XXH3_64bits_update(sum, zeros, pad) == XXH_ERROR) {
        XXH3_freeState(sum);
        return me_fail(d, ME_ERR_NOMEM, "out of memory computing the checksum");
    }
    uint8_t trailer[CTX_TRAILER_SIZE] = {0};
    dlc_put_u64(trailer + CTX_T_CHECKSUM, (uint64_t)XXH3_64bits_digest(sum));
    XXH3_freeState(sum);
    memcpy(trailer + CTX_T_MAGIC, CTX_TRAILER_MAGIC, 8);
    me_atomic_file f;
    me_status st = me_atomic_open(&f, path, d);
    if (st != ME_OK) return st;
    st = me_atomic_write(&f, meta, meta_bytes, d);
    if (st == ME_OK) st = me_atomic_write(&f, graph, graph_bytes, d);
    if (st == ME_OK) st = me_atomic_write(&f, zeros, pad, d);
    if (st == ME_OK) st = me_atomic_write(&f, trailer, sizeof trailer, d);
    if (st == ME_OK) st = me_atomic_commit(&f, d);
    else me_atomic_abort(&f);
    return st;
}

me_status me_ctxbin_write(const me_graph *g0, const me_cpu_target *target, const char *path, me_diag *d) {
    if (g0->n_subgraphs)
        return me_fail(d, ME_ERR_UNSUPPORTED,
                       "a context binary of a graph with several entry points (a language model) is not supported yet; "
                       "compile it to a .dlc");
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    snprintf(tmp, plen + 32, "%s.graph.%ld.tmp", path, (long)getpid());
    me_status st = me_dlc_write(g0, tmp, d);
    if (st != ME_OK) { free(tmp); return st; }
    me_mapfile m = {0};
    st = me_map_file(tmp, &m, d);
    unlink(tmp); /* the mapping keeps the bytes */
    me_graph g;
    me_graph_init(&g, d);
    me_plan p;
    memset(&p, 0, sizeof p);
    uint8_t *meta = NULL;
    layout L;
    memset(&L, 0, sizeof L);
    if (st == ME_OK) st = me_dlc_parse(tmp, m.data, m.size, &g, NULL, d);
    if (st == ME_OK) st = me_plan_build(&g, &p, d);
    if (st == ME_OK) st = choose_kernels(&g, target, &L, d);
    if (st == ME_OK) {
        uint64_t at = CTX_HEADER_SIZE + (uint64_t)(CTX_SEC_COUNT_ - 1) * DLC_SECTION_ENTRY_SIZE;
        L.size[CTX_SEC_TARGET] = CTX_TARGET_SIZE;
        L.size[CTX_SEC_PLAN] = CTX_PLAN_SIZE;
        L.count[CTX_SEC_SCHEDULE] = (uint32_t)p.n_steps;
        L.size[CTX_SEC_SCHEDULE] = (uint64_t)p.n_steps * CTX_STEP_SIZE;
        L.count[CTX_SEC_LIFETIMES] = (uint32_t)g.n_tensors;
        L.size[CTX_SEC_LIFETIMES] = (uint64_t)g.n_tensors * CTX_LIFETIME_SIZE;
        L.count[CTX_SEC_KERNELS] = (uint32_t)g.n_nodes;
        L.size[CTX_SEC_KERNELS] = (uint64_t)g.n_nodes * CTX_KERNEL_SIZE;
        for (int s = CTX_SEC_TARGET; s <= CTX_SEC_PACKED; s++) {
            at = align64(at);
            L.off[s] = at;
            at += L.size[s];
        }
        L.meta_end = align64(at);
        L.off[CTX_SEC_GRAPH] = L.meta_end;
        L.size[CTX_SEC_GRAPH] = m.size;
        uint64_t graph_end = L.meta_end + m.size, trailer_at = (graph_end + 7) & ~(uint64_t)7;
        uint64_t file_size = trailer_at + CTX_TRAILER_SIZE;
        meta = calloc(1, (size_t)L.meta_end);
        if (!meta) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
        if (st == ME_OK) st = fill_meta(meta, &L, &g, &p, target, file_size, d);
        if (st == ME_OK)
            st = write_file(path, meta, (size_t)L.meta_end, m.data, m.size, (size_t)(trailer_at - graph_end), d);
    }
    free(meta);
    layout_free(&L);
    me_plan_free(&p);
    me_graph_free(&g);
    me_unmap_file(&m);
    free(tmp);
    return st;
}
