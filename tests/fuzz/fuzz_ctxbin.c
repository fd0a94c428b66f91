/* libFuzzer target: the context binary reader (src/backend/ctxbin) through
 * me_ctxbin_read (container, CPU target check, embedded DLC graph, stored
 * plan, kernel ids, packed weights), then what me_session_create does with
 * it: an executor over the stored plan with the stored kernels and packed
 * weights, run once with zeroed inputs when small.
 *
 * As in fuzz_dlc.c, the harness stores the right file size and XXH3
 * checksum into the input first (unless its size is 3 modulo 8), so that
 * mutations reach the sections behind the checksum. */
#include <xxhash.h>

#include "backend/ctxbin/ctxbin.h"
#include "backend/ctxbin/ctxbin_format.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    if (size >= CTX_HEADER_SIZE + CTX_TRAILER_SIZE && size % 8 != 3) {
        size_t toff = size - CTX_TRAILER_SIZE;
        dlc_put_u64(buf + CTX_H_FILE_SIZE, (uint64_t)size);
        dlc_put_u64(buf + toff + CTX_T_CHECKSUM, (uint64_t)XXH3_64bits(buf, toff));
    }
    const char *path = fuzz_write_file("model.bin", buf, size);
    free(buf);
    me_graph g;
    me_diag d;
    me_diag_init(&d);
    me_graph_init(&g, &d);
    me_ctxbin cb;
    me_status rst = me_ctxbin_read(path, 1, &g, &cb, &d);
    fuzz_note("ctxbin", rst, &d);
    if (rst == ME_OK) {
        if (cb.plan.arena_bytes + cb.plan.scratch_bytes <= FUZZ_MAX_RUN_BYTES && fuzz_cost(&g) <= FUZZ_MAX_RUN_COST) {
            me_exec e;
            me_status st = me_exec_create_planned(&g, &cb.plan, &e, &d);
            for (int i = 0; st == ME_OK && i < cb.n_kernels; i++)
                if (!g.nodes[i].dead) {
                    st = me_exec_fix_kernel(&e, i, cb.kernel_ids[i], &d);
                    if (st == ME_OK && cb.packed[i]) st = me_exec_use_packed(&e, i, cb.packed[i], &d);
                }
            fuzz_note("exec", st, &d);
            if (st == ME_OK) fuzz_exec_zeroed(&e, &g);
            me_exec_free(&e);
        }
        me_ctxbin_free(&cb);
    }
    me_graph_free(&g);
    me_diag_free(&d);
    return 0;
}
