/* QNN-style input lists for `modelexport run` (syntax in cmd_run.c's help). */
#ifndef ME_CLI_INPUT_LIST_H
#define ME_CLI_INPUT_LIST_H

#include "modelexport.h"

typedef struct il_run {
    int line;        /* 1-based line number in the list */
    char **paths;    /* one resolved path per model input, in input order */
    int n_paths;
} il_run;

typedef struct input_list {
    il_run *runs;
    int n_runs;
    int *outputs;    /* selected output indices, in model order */
    int n_outputs;
} input_list;

/* Parse and fully validate `path` against the model: every file exists and
 * has exactly its input's size. Returns 0, or an exit status after printing
 * the error. */
int il_load(const char *path, const me_model *m, input_list *out);
void il_free(input_list *l);

#endif
