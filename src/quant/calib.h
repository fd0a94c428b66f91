/* Calibration: QNN input lists read by the library, and per-tensor
 * statistics (min/max and a fixed histogram) gathered by running the float
 * graph, from which every encoding algorithm (algo.h) is computed. */
#ifndef ME_QUANT_CALIB_H
#define ME_QUANT_CALIB_H

#include <stdint.h>

#include "../ir/ir.h"
#include "../runtime/exec.h"

/* ---- input lists (QNN --input_list syntax, see qnn.md §3.5) ---- */
typedef struct me_input_list {
    int n_runs;
    int *line;        /* [n_runs] 1-based line of each run */
    char **paths;     /* [n_runs * n_inputs] resolved paths, input order */
    int n_inputs;
} me_input_list;

/* Parse `path` against g's inputs: every line gives one file per input
 * (plain paths in input order, or name:=path pairs), relative paths are
 * tried in the cwd and then beside the list; every file must exist and hold
 * exactly the input's bytes. '#'/'%' output-selection lines are accepted
 * and ignored. Errors name the list and the line. */
me_status me_input_list_load(const char *path, const me_graph *g, me_input_list *l, me_diag *d);
void me_input_list_free(me_input_list *l);
/* Read run `r`'s files into the executor's graph inputs. */
me_status me_input_list_feed(const me_input_list *l, int r, me_exec *e, me_diag *d);

/* ---- statistics ---- */
#define ME_CALIB_BINS 2048

typedef struct me_calib_tensor {
    char *name;
    double min, max;      /* observed over every sample */
    uint64_t count;       /* finite values seen */
    uint64_t nonfinite;   /* NaN/inf values seen (skipped by the statistics) */
    uint64_t *hist;       /* [ME_CALIB_BINS] over [min, max], NULL until pass 2 */
} me_calib_tensor;

typedef struct me_calib_stats {
    int n;
    me_calib_tensor *t;
    int n_samples;
} me_calib_stats;

/* Run g (float, after the passes) over every run of `l`: one pass for
 * min/max, one for the histograms. Observes graph inputs and every float
 * tensor a node produces. */
me_status me_calib_collect(const me_graph *g, const me_input_list *l, me_calib_stats *s, me_diag *d);
void me_calib_free(me_calib_stats *s);
const me_calib_tensor *me_calib_find(const me_calib_stats *s, const char *name);

/* A small binary file: "MECALIB1", bins, counts, then per tensor
 * name, min, max, count, nonfinite and the histogram; validated on load. */
me_status me_calib_save(const me_calib_stats *s, const char *path, me_diag *d);
me_status me_calib_load(const char *path, me_calib_stats *s, me_diag *d);

/* Histogram of a static tensor's values (weights), same layout. */
me_status me_calib_of_data(const float *x, int64_t n, me_calib_tensor *out, me_diag *d);

#endif
