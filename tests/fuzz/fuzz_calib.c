/* libFuzzer target: the calibration statistics reader (--load-calibration,
 * me_calib_load in src/quant/calib_stats.c). A file that loads is saved
 * again: the bytes must come back unchanged (the format has one encoding). */
#include "fuzz_common.h"
#include "quant/calib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_file("stats.calib", data, size);
    me_diag d;
    me_diag_init(&d);
    me_calib_stats s;
    me_status st = me_calib_load(path, &s, &d);
    fuzz_note("calib", st, &d);
    if (st == ME_OK) {
        char out[160];
        snprintf(out, sizeof out, "%s/again.calib", fuzz_dir);
        if (me_calib_save(&s, out, &d) != ME_OK) abort();
        FILE *f = fopen(out, "rb");
        uint8_t *back = malloc(size + 1);
        if (!f || !back) abort();
        size_t got = fread(back, 1, size + 1, f);
        fclose(f);
        if (got != size || memcmp(back, data, size) != 0) {
            fprintf(stderr, "a calibration file that loads does not save back to the same bytes\n");
            abort();
        }
        free(back);
        for (int i = 0; i < s.n; i++) me_calib_find(&s, s.t[i].name);
        me_calib_free(&s);
    }
    me_diag_free(&d);
    return 0;
}
