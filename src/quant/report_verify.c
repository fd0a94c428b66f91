/* me_verify: the accuracy report for two compiled DLCs. */
#include <stdlib.h>
#include <string.h>

#include "../api/api_internal.h"
#include "../backend/dlc/dlc.h"
#include "calib.h"
#include "report.h"

me_status me_verify(const char *float_dlc, const char *quant_dlc, const char *input_list, const char *json_path,
                    char **table, me_error **err) {
    return me_verify_threads(float_dlc, quant_dlc, input_list, json_path, 0, table, err);
}

me_status me_verify_threads(const char *float_dlc, const char *quant_dlc, const char *input_list, const char *json_path,
                            int n_threads, char **table, me_error **err) {
    if (err) *err = NULL;
    if (table) *table = NULL;
    me_diag d;
    me_diag_init(&d);
    me_status st = ME_OK;
    if (!float_dlc || !quant_dlc || !input_list || n_threads < 0) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "me_verify: two DLC paths, an input list and n_threads >= 0 are required");
        me_api_fail(err, st, &d);
        me_diag_free(&d);
        return st;
    }
    me_graph fg, qg;
    me_graph_init(&fg, &d);
    me_graph_init(&qg, &d);
    st = me_dlc_read(float_dlc, &fg, &d);
    if (st == ME_OK) st = me_dlc_read(quant_dlc, &qg, &d);
    if (st == ME_OK && fg.n_inputs != qg.n_inputs)
        st = me_fail(&d, ME_ERR_FORMAT, "'%s' has %d inputs, '%s' has %d", float_dlc, fg.n_inputs, quant_dlc, qg.n_inputs);
    for (int k = 0; st == ME_OK && k < fg.n_inputs; k++) {
        const me_tensor *a = &fg.tensors[fg.inputs[k]], *b = &qg.tensors[qg.inputs[k]];
        if (strcmp(a->name, b->name) != 0 || a->dtype != b->dtype || me_tensor_nbytes(a) != me_tensor_nbytes(b))
            st = me_fail(&d, ME_ERR_FORMAT, "input %d differs between the two models ('%s' vs '%s')", k, a->name, b->name);
    }
    me_input_list l = {0};
    if (st == ME_OK) st = me_input_list_load(input_list, &fg, &l, &d);
    me_report r = {0};
    if (st == ME_OK) st = me_report_run(&fg, &qg, &l, n_threads, &r, &d);
    if (st == ME_OK && json_path) st = me_report_write_json(&r, json_path, &d);
    if (st == ME_OK && table) {
        *table = me_report_table(&r);
        if (!*table) st = me_fail(&d, ME_ERR_NOMEM, "out of memory");
    }
    me_report_free(&r);
    me_input_list_free(&l);
    me_graph_free(&fg);
    me_graph_free(&qg);
    if (st != ME_OK) me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}
