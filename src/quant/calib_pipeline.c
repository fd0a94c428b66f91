/* The --quantize step of me_compile: statistics -> encodings -> overrides
 * -> quantize pass -> exported encodings; then the accuracy report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api_internal.h"
#include "../backend/dlc/dlc.h"
#include "algo.h"
#include "calib.h"
#include "encodings_json.h"
#include "quantize_pass.h"
#include "report.h"

static me_status check_options(const me_compile_options *o, me_diag *d) {
    if (o->act_bitwidth != 8 && o->act_bitwidth != 16)
        return me_fail(d, ME_ERR_INVALID_ARG, "act bitwidth %d is out of range (8 or 16)", o->act_bitwidth);
    if (o->weights_bitwidth != 4 && o->weights_bitwidth != 8 && o->weights_bitwidth != 16)
        return me_fail(d, ME_ERR_INVALID_ARG, "weights bitwidth %d is out of range (4, 8 or 16)", o->weights_bitwidth);
    if (o->bias_bitwidth != 8 && o->bias_bitwidth != 32)
        return me_fail(d, ME_ERR_INVALID_ARG, "bias bitwidth %d is out of range (8 or 32)", o->bias_bitwidth);
    if (o->float_bitwidth != 32 && o->float_bitwidth != 16)
        return me_fail(d, ME_ERR_INVALID_ARG, "float bitwidth %d is out of range (32 or 16)", o->float_bitwidth);
    if ((unsigned)o->param_quantizer > ME_QUANTIZER_SYMMETRIC || (unsigned)o->act_quantizer > ME_QUANTIZER_SYMMETRIC)
        return me_fail(d, ME_ERR_INVALID_ARG, "unknown quantizer");
    if ((unsigned)o->act_calibration > ME_CALIB_PERCENTILE) return me_fail(d, ME_ERR_INVALID_ARG, "unknown calibration method");
    if (!(o->percentile_value >= 90 && o->percentile_value <= 100))
        return me_fail(d, ME_ERR_INVALID_ARG, "percentile calibration value %g is out of range [90, 100]", o->percentile_value);
    bool has_data = o->calibration_list || o->load_calibration;
    if (o->float_fallback && has_data)
        return me_fail(d, ME_ERR_INVALID_ARG, "float fallback uses only override encodings; it cannot be combined with calibration data");
    if (o->float_fallback && !o->quantization_overrides)
        return me_fail(d, ME_ERR_INVALID_ARG, "float fallback needs quantization overrides");
    if (!has_data && !o->quantization_overrides)
        return me_fail(d, ME_ERR_INVALID_ARG, "quantisation needs calibration data (a calibration list or a saved "
                                              "calibration) or quantization overrides");
    if (o->calibration_list && o->load_calibration)
        return me_fail(d, ME_ERR_INVALID_ARG, "give either a calibration list or a saved calibration, not both");
    if (o->save_calibration && !o->calibration_list)
        return me_fail(d, ME_ERR_INVALID_ARG, "saving calibration statistics needs a calibration list");
    return ME_OK;
}

/* Activation encodings from the statistics for every float activation. */
static me_status encodings_from_stats(const me_graph *g, const me_calib_stats *s, const me_compile_options *o,
                                      const char *src, me_enc_table *t, me_diag *d) {
    for (int i = 0; i < g->n_tensors; i++) {
        const me_tensor *tt = &g->tensors[i];
        if (tt->dtype != ME_DT_F32 || (tt->flags & ME_TF_STATIC)) continue;
        const me_calib_tensor *c = me_calib_find(s, tt->name);
        if (!c)
            return me_fail(d, ME_ERR_FORMAT, "calibration statistics '%s' have nothing for tensor '%s' (made for another model?)",
                           src, tt->name);
        /* infinities and sentinel magnitudes (attention masks filled with -inf or
         * -FLT_MAX) cannot share a grid with real values: such a tensor stays float */
        if (c->nonfinite || fabs(c->min) > ME_QUANT_SENTINEL || fabs(c->max) > ME_QUANT_SENTINEL) {
            me_status st = me_enc_set(&t->e[i], ME_TENC_FLOAT, 32, false, 0, NULL, NULL, d);
            if (st != ME_OK) return st;
            continue;
        }
        me_enc1 e = me_algo_activation(c, o->act_quantizer, o->act_calibration, o->percentile_value, o->act_bitwidth);
        me_status st = me_enc_set(&t->e[i], ME_TENC_INT, e.bw, e.sym, 1, &e.scale, &e.offset, d);
        if (st != ME_OK) return st;
    }
    return ME_OK;
}

me_status me_quant_compile(const char *in_path, const char *out_path, const me_compile_options *o, me_graph *g,
                           me_diag *d) {
    (void)in_path;
    (void)out_path;
    me_status st = check_options(o, d);
    if (st != ME_OK) return st;
    me_calib_stats stats = {0};
    int have_stats = 0;
    if (o->load_calibration) {
        st = me_calib_load(o->load_calibration, &stats, d);
        have_stats = st == ME_OK;
    } else if (o->calibration_list) {
        me_input_list l;
        st = me_input_list_load(o->calibration_list, g, &l, d);
        if (st == ME_OK) {
            st = me_calib_collect(g, &l, &stats, d);
            me_input_list_free(&l);
        }
        have_stats = st == ME_OK;
        if (st == ME_OK && o->save_calibration) st = me_calib_save(&stats, o->save_calibration, d);
    }
    me_enc_table t = {0};
    if (st == ME_OK) st = me_enc_table_init(&t, g->n_tensors, d);
    if (st == ME_OK && have_stats)
        st = encodings_from_stats(g, &stats, o, o->load_calibration ? o->load_calibration : o->calibration_list, &t, d);
    if (st == ME_OK && o->quantization_overrides) st = me_encodings_read(o->quantization_overrides, g, &t, d);
    if (st == ME_OK) st = me_quantize_graph(g, o, &t, d);
    if (st == ME_OK && o->export_encodings) st = me_encodings_write(o->export_encodings, g, &t, d);
    me_enc_table_free(&t);
    if (have_stats) me_calib_free(&stats);
    return st;
}

me_status me_quant_compile_verified(const char *in_path, const char *out_path, const me_compile_options *o, me_graph *g,
                                    me_diag *d) {
    me_status st = me_quant_compile(in_path, out_path, o, g, d);
    if (st != ME_OK) return st;
    me_diag vd;
    me_diag_init(&vd);
    if (me_graph_verify(g, &vd) != ME_OK) {
        st = me_fail(d, ME_ERR_INTERNAL, "internal error: the quantised graph does not verify:");
        me_diag_add(d, "%s", me_diag_text(&vd));
    }
    me_diag_free(&vd);
    return st;
}

me_status me_quant_report(const char *in_path, const char *out_path, const me_compile_options *o, const me_graph *qg,
                          me_diag *d) {
    if (o->report_text) *o->report_text = NULL;
    if (!o->calibration_list || (o->report_path && !*o->report_path && !o->report_text)) return ME_OK;
    me_graph fg;
    me_status st = me_graph_init(&fg, d);
    if (st != ME_OK) return st;
    me_compile_options fo = *o;
    fo.quantize = 0;
    fo.stats = NULL;
    st = me_api_build_graph(in_path, &fo, 1, &fg, d);
    me_input_list l = {0};
    if (st == ME_OK) st = me_input_list_load(o->calibration_list, &fg, &l, d);
    me_report r = {0};
    if (st == ME_OK) st = me_report_run(&fg, qg, &l, 0, &r, d);
    if (st == ME_OK && !(o->report_path && !*o->report_path)) {
        char *path = NULL;
        if (!o->report_path) {
            size_t n = strlen(out_path) + 16;
            path = malloc(n);
            if (path) snprintf(path, n, "%s.report.json", out_path);
        }
        const char *p = o->report_path ? o->report_path : path;
        st = p ? me_report_write_json(&r, p, d) : me_fail(d, ME_ERR_NOMEM, "out of memory");
        free(path);
    }
    if (st == ME_OK && o->report_text) *o->report_text = me_report_table(&r);
    me_report_free(&r);
    me_input_list_free(&l);
    me_graph_free(&fg);
    return st;
}
