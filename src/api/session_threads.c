/* me_session_set_threads: the session's thread pool (runtime/threadpool.h). */
#include "../runtime/threadpool.h"
#include "api_internal.h"

me_status me_session_set_threads(me_session *s, int n_threads, me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_status st = ME_OK;
    if (!s) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "me_session_set_threads: no session");
    } else if (n_threads < 0 || n_threads > 4096) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "me_session_set_threads: %d threads (expected 0..4096, 0 = all cores)",
                     n_threads);
    } else {
        int n = n_threads ? n_threads : me_cpu_count();
        if (me_threadpool_threads(s->pool) != n) {
            me_threadpool *p = me_threadpool_create(n);
            if (!p) {
                st = me_fail(&d, ME_ERR_NOMEM, "me_session_set_threads: cannot start %d threads", n);
            } else {
                me_exec_set_pool(&s->exec, p);
                me_threadpool_destroy(s->pool);
                s->pool = p;
            }
        }
    }
    if (st != ME_OK) me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}
