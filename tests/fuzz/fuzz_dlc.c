/* libFuzzer target: our DLC reader (src/backend/dlc/dlc_read.c) from memory
 * through me_dlc_parse, which also runs the IR verifier; then, for small
 * graphs, one run with zeroed inputs.
 *
 * The CRC in the trailer would stop nearly every mutation at the first
 * check, so when the input is long enough to hold a header and a trailer the
 * harness stores the right file size and CRC into a copy first (the CRC
 * check itself is covered by tests/tools/malformed.py). Inputs whose size is
 * 3 modulo 8 are left as they are. */
#include <zlib.h>

#include "backend/dlc/dlc.h"
#include "backend/dlc/dlc_format.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    if (size >= DLC_HEADER_SIZE + DLC_TRAILER_SIZE && size % 8 != 3) {
        size_t toff = size - DLC_TRAILER_SIZE;
        dlc_put_u64(buf + DLC_H_FILE_SIZE, (uint64_t)size);
        dlc_put_u32(buf + toff + DLC_T_CRC, (uint32_t)crc32_z(crc32_z(0, NULL, 0), buf, toff));
    }
    me_graph g;
    me_diag d;
    me_diag_init(&d);
    me_graph_init(&g, &d);
    me_dlc_info info;
    me_status st = me_dlc_parse("fuzz.dlc", buf, size, &g, &info, &d);
    fuzz_note("dlc", st, &d);
    if (st == ME_OK) fuzz_run_graph(&g);
    me_graph_free(&g);
    me_diag_free(&d);
    free(buf);
    return 0;
}
