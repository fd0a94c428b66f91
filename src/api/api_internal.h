/* Internals shared by the public API's source files. */
#ifndef ME_API_INTERNAL_H
#define ME_API_INTERNAL_H

#include "../core/diag.h"
#include "../ir/ir.h"
#include "../runtime/exec.h"
#include "modelexport.h"

struct me_error {
    me_status status;
    char *message;
};

struct me_model {
    me_graph g;
    struct me_ctxbin *ctx; /* loaded from a context binary: its stored plan and kernels; else NULL */
};

struct me_session {
    const me_model *m;
    me_exec exec;
    struct me_threadpool *pool;   /* owned; see me_session_set_threads */
    me_tensor_observer observer;  /* me_session_set_observer */
    void *observer_user;
};

/* Hand a failure to the caller: *err (if err) receives the diag's text, or
 * the status name when the diag is empty. Returns st. */
me_status me_api_fail(me_error **err, me_status st, const me_diag *d);

/* Import an .onnx file into g (initialised by the caller), record the
 * command line, and run the graph passes when `run_passes`; the result is
 * verified. Refuses a file that is already a DLC. */
me_status me_api_build_graph(const char *path, const me_compile_options *o, int run_passes,
                             me_graph *g, me_diag *d);

/* 1 if `path` ends with `ext` (ASCII case-insensitive, ext includes the dot). */
int me_api_has_ext(const char *path, const char *ext);

/* First bytes of a file, for telling formats apart; returns how many were read or -1. */
int me_api_peek(const char *path, unsigned char *buf, int n);

#endif
