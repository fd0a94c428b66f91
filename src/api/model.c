/* Loading models (a DLC, or an .onnx compiled in memory), their I/O, and
 * sessions over the reference executor. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/ctxbin/ctxbin.h"
#include "../backend/dlc/dlc.h"
#include "../runtime/threadpool.h"
#include "api_internal.h"

me_status me_model_load(const char *path, const me_load_options *opts, me_model **out, me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_status st;
    if (!out || !path || !*path) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "me_model_load: a path and an output pointer are required");
        goto fail_early;
    }
    *out = NULL;
    unsigned char head[8];
    int got = me_api_peek(path, head, (int)sizeof head);
    if (got < 0) {
        st = me_fail(&d, ME_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        goto fail_early;
    }
    me_model *m = calloc(1, sizeof *m);
    if (!m) {
        st = me_fail(&d, ME_ERR_NOMEM, "out of memory");
        goto fail_early;
    }
    me_graph_init(&m->g, &d);
    int zip = got >= 4 && memcmp(head, "PK\3\4", 4) == 0;
    if (me_ctxbin_has_magic(head, (size_t)got)) {
        m->ctx = calloc(1, sizeof *m->ctx);
        st = m->ctx ? me_ctxbin_read(path, 1, &m->g, m->ctx, &d) : me_fail(&d, ME_ERR_NOMEM, "out of memory");
    } else if (me_dlc_has_magic(head, (size_t)got) || zip || me_api_has_ext(path, ".dlc")) {
        st = me_dlc_read(path, &m->g, &d);
    } else if (me_api_has_ext(path, ".onnx")) {
        me_compile_options dflt;
        me_compile_options_init(&dflt);
        const me_compile_options *o = opts && opts->compile ? opts->compile : &dflt;
        st = me_api_build_graph(path, o, 1, &m->g, &d);
    } else {
        st = me_fail(&d, ME_ERR_FORMAT, "'%s' is neither a modelexport DLC nor an .onnx file", path);
    }
    if (st != ME_OK) {
        me_model_free(m);
        goto fail_early;
    }
    *out = m;
    me_diag_free(&d);
    return ME_OK;
fail_early:
    me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}

void me_model_free(me_model *m) {
    if (!m) return;
    me_graph_free(&m->g);
    me_ctxbin_free(m->ctx);
    free(m->ctx);
    free(m);
}

int me_model_num_inputs(const me_model *m) { return m ? m->g.n_inputs : 0; }
int me_model_num_outputs(const me_model *m) { return m ? m->g.n_outputs : 0; }

static void fill_info(const me_tensor *t, me_tensor_info *out) {
    memset(out, 0, sizeof *out);
    out->name = t->name;
    out->dtype = t->dtype;
    out->rank = t->rank;
    for (int i = 0; i < t->rank; i++) out->dims[i] = t->dims[i];
    out->nbytes = me_tensor_nbytes(t);
}

me_status me_model_input_info(const me_model *m, int index, me_tensor_info *out) {
    if (!m || !out || index < 0 || index >= m->g.n_inputs) return ME_ERR_INVALID_ARG;
    fill_info(&m->g.tensors[m->g.inputs[index]], out);
    return ME_OK;
}

me_status me_model_output_info(const me_model *m, int index, me_tensor_info *out) {
    if (!m || !out || index < 0 || index >= m->g.n_outputs) return ME_ERR_INVALID_ARG;
    fill_info(&m->g.tensors[m->g.outputs[index]], out);
    return ME_OK;
}

static int find_in(const me_graph *g, const int *ids, int n, const char *name) {
    if (!name) return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(g->tensors[ids[i]].name, name) == 0) return i;
    return -1;
}

int me_model_find_input(const me_model *m, const char *name) {
    return m ? find_in(&m->g, m->g.inputs, m->g.n_inputs, name) : -1;
}

int me_model_find_output(const me_model *m, const char *name) {
    return m ? find_in(&m->g, m->g.outputs, m->g.n_outputs, name) : -1;
}

me_status me_session_create(const me_model *m, me_session **out, me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_status st;
    if (!m || !out) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "me_session_create: a model and an output pointer are required");
        goto fail;
    }
    *out = NULL;
    me_session *s = calloc(1, sizeof *s);
    if (!s) {
        st = me_fail(&d, ME_ERR_NOMEM, "out of memory");
        goto fail;
    }
    s->m = m;
    st = m->ctx ? me_exec_create_planned(&m->g, &m->ctx->plan, &s->exec, &d) : me_exec_create(&m->g, &s->exec, &d);
    /* a context binary fixes every node's kernel variant */
    for (int i = 0; st == ME_OK && m->ctx && i < m->ctx->n_kernels; i++)
        if (!m->g.nodes[i].dead) {
            st = me_exec_fix_kernel(&s->exec, i, m->ctx->kernel_ids[i], &d);
            /* stored packed weights are used in place: no repacking at load */
            if (st == ME_OK && m->ctx->packed[i]) st = me_exec_use_packed(&s->exec, i, m->ctx->packed[i], &d);
        }
    if (st != ME_OK) {
        me_exec_free(&s->exec);
        free(s);
        goto fail;
    }
    /* without a pool (threads could not start) kernels run on one thread */
    s->pool = me_threadpool_create(me_cpu_count());
    me_exec_set_pool(&s->exec, s->pool);
    *out = s;
    me_diag_free(&d);
    return ME_OK;
fail:
    me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}

void me_session_destroy(me_session *s) {
    if (!s) return;
    me_exec_free(&s->exec);
    me_threadpool_destroy(s->pool);
    free(s);
}

me_status me_session_set_input(me_session *s, int index, const void *data, size_t nbytes, me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_status st = ME_OK;
    if (!s || index < 0 || index >= s->m->g.n_inputs) {
        st = me_fail(&d, ME_ERR_INVALID_ARG, "input index %d is out of range (the model has %d inputs)", index,
                     s ? s->m->g.n_inputs : 0);
    } else {
        int t = s->m->g.inputs[index];
        const me_tensor *tt = &s->m->g.tensors[t];
        size_t want = me_tensor_nbytes(tt);
        if (nbytes != want)
            st = me_fail(&d, ME_ERR_INVALID_ARG, "input '%s' needs %zu bytes, got %zu", tt->name, want, nbytes);
        else if (nbytes && !data)
            st = me_fail(&d, ME_ERR_INVALID_ARG, "input '%s': no data", tt->name);
        else if (nbytes)
            memcpy(me_exec_tensor_data(&s->exec, t), data, nbytes);
    }
    if (st != ME_OK) me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}

static void observe_node(void *user, const me_exec *e, const me_node *n) {
    const me_session *s = user;
    for (int k = 0; k < n->n_out; k++) {
        int t = n->out[k];
        if (t < 0) continue;
        me_tensor_info ti;
        fill_info(&e->g->tensors[t], &ti);
        s->observer(s->observer_user, &ti, me_exec_tensor_data(e, t));
    }
}

me_status me_session_set_observer(me_session *s, me_tensor_observer fn, void *user) {
    if (!s) return ME_ERR_INVALID_ARG;
    s->observer = fn;
    s->observer_user = user;
    s->exec.observe = fn ? observe_node : NULL;
    s->exec.observe_user = fn ? s : NULL;
    return ME_OK;
}

me_status me_session_run(me_session *s, me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_status st = s ? me_exec_run(&s->exec, &d) : me_fail(&d, ME_ERR_INVALID_ARG, "me_session_run: no session");
    if (st != ME_OK) me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}

me_status me_session_get_output(const me_session *s, int index, const void **data, size_t *nbytes) {
    if (!s || !data || !nbytes || index < 0 || index >= s->m->g.n_outputs) return ME_ERR_INVALID_ARG;
    int t = s->m->g.outputs[index];
    *data = me_exec_tensor_data(&s->exec, t);
    *nbytes = me_tensor_nbytes(&s->m->g.tensors[t]);
    return ME_OK;
}
