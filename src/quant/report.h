/* Per-layer accuracy report: a float graph and its quantised version run on
 * the same inputs; every tensor present in both (by name; quantised tensors
 * dequantised) gets SQNR, cosine similarity and max abs error. */
#ifndef ME_QUANT_REPORT_H
#define ME_QUANT_REPORT_H

#include "../ir/ir.h"
#include "calib.h"

typedef struct me_report_row {
    char *name, *scope, *op;
    int is_output;
    double sig2, err2, dot, q2, max_abs; /* sums over every sample */
    double sqnr_db;                      /* 10 log10(sig2 / err2); capped at 200 */
    double cosine;
} me_report_row;

typedef struct me_report {
    int n;
    me_report_row *rows;   /* sorted worst first (lowest SQNR) */
    int n_samples;
} me_report;

/* Runs both graphs over every list entry, kernels split over n_threads
 * (0: every core; results do not depend on it). */
me_status me_report_run(const me_graph *fg, const me_graph *qg, const me_input_list *l, int n_threads, me_report *r,
                        me_diag *d);
void me_report_free(me_report *r);
me_status me_report_write_json(const me_report *r, const char *path, me_diag *d);
/* Readable table grouped by scope (worst group first), then one
 * "output SQNR: X dB" line per graph output. malloc'd. */
char *me_report_table(const me_report *r);

#endif
