/* Accuracy report: run float, keep every float tensor of the sample, run
 * quantised, compare tensor by tensor as the quantised graph produces them. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/ops.h"
#include "../runtime/threadpool.h"
#include "report.h"

typedef struct rctx {
    const me_graph *fg, *qg;
    float **saved;     /* [fg tensors] float values of the current sample */
    int *row_of;       /* [fg tensors] row index or -1 */
    int *fid_of;       /* [qg tensors] matching float tensor or -1 */
    me_report *r;
    float *tmp;        /* dequantisation buffer */
    size_t tmp_n;
    int failed;
} rctx;

static void save_float(void *user, const me_exec *e, const me_node *n) {
    rctx *c = user;
    for (int k = 0; k < n->n_out; k++) {
        int t = n->out[k];
        if (c->row_of[t] < 0 || !c->saved[t]) continue;
        const void *p = me_exec_tensor_data(e, t);
        if (p) memcpy(c->saved[t], p, (size_t)me_tensor_numel(&c->fg->tensors[t]) * sizeof(float));
    }
}

static int dequant(const me_tensor *t, const void *p, float *out, int64_t n) {
    if (t->dtype == ME_DT_F32) { memcpy(out, p, (size_t)n * sizeof(float)); return 0; }
    const me_qenc *q = t->qenc;
    if (!q || q->kind != ME_QENC_SCALE_OFFSET || !q->scales) return -1;
    float s = q->scales[0];
    int64_t off = q->offsets ? q->offsets[0] : 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t v;
        switch (t->dtype) {
        case ME_DT_U8: v = ((const uint8_t *)p)[i]; break;
        case ME_DT_I8: v = ((const int8_t *)p)[i]; break;
        case ME_DT_U16: v = ((const uint16_t *)p)[i]; break;
        case ME_DT_I16: v = ((const int16_t *)p)[i]; break;
        case ME_DT_I32: v = ((const int32_t *)p)[i]; break;
        default: return -1;
        }
        out[i] = (float)(v + off) * s;
    }
    return 0;
}

static void compare_q(void *user, const me_exec *e, const me_node *n) {
    rctx *c = user;
    for (int k = 0; k < n->n_out; k++) {
        int qt = n->out[k];
        int ft = c->fid_of[qt];
        if (ft < 0 || !c->saved[ft]) continue;
        const me_tensor *t = &c->qg->tensors[qt];
        int64_t m = me_tensor_numel(t);
        const void *p = me_exec_tensor_data(e, qt);
        if (!p || (size_t)m > c->tmp_n || dequant(t, p, c->tmp, m) != 0) continue;
        me_report_row *row = &c->r->rows[c->row_of[ft]];
        const float *ref = c->saved[ft];
        for (int64_t i = 0; i < m; i++) {
            double a = ref[i], b = c->tmp[i];
            if (!isfinite(a) || !isfinite(b)) continue;
            double err = b - a;
            row->sig2 += a * a;
            row->err2 += err * err;
            row->dot += a * b;
            row->q2 += b * b;
            if (fabs(err) > row->max_abs) row->max_abs = fabs(err);
        }
    }
}

void me_report_free(me_report *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        free(r->rows[i].name);
        free(r->rows[i].scope);
        free(r->rows[i].op);
    }
    free(r->rows);
    memset(r, 0, sizeof *r);
}

static int by_sqnr(const void *a, const void *b) {
    const me_report_row *x = a, *y = b;
    if (x->sqnr_db != y->sqnr_db) return x->sqnr_db < y->sqnr_db ? -1 : 1;
    return strcmp(x->name, y->name);
}

me_status me_report_run(const me_graph *fg, const me_graph *qg, const me_input_list *l, int n_threads, me_report *r,
                        me_diag *d) {
    memset(r, 0, sizeof *r);
    rctx c = {fg, qg, calloc((size_t)fg->n_tensors + 1, sizeof(float *)), malloc(((size_t)fg->n_tensors + 1) * sizeof(int)),
              malloc(((size_t)qg->n_tensors + 1) * sizeof(int)), r, NULL, 0, 0};
    r->rows = calloc((size_t)fg->n_tensors + 1, sizeof *r->rows);
    me_status st = c.saved && c.row_of && c.fid_of && r->rows ? ME_OK : me_fail(d, ME_ERR_NOMEM, "out of memory");
    for (int t = 0; st == ME_OK && t < fg->n_tensors; t++) {
        const me_tensor *ft = &fg->tensors[t];
        c.row_of[t] = -1;
        if (ft->dtype != ME_DT_F32 || (ft->flags & (ME_TF_STATIC | ME_TF_INPUT))) continue;
        int qt = me_graph_find_tensor(qg, ft->name);
        if (qt < 0 || (qg->tensors[qt].flags & ME_TF_STATIC)) continue;
        size_t m = (size_t)me_tensor_numel(ft);
        c.saved[t] = malloc((m ? m : 1) * sizeof(float));
        if (!c.saved[t]) { st = me_fail(d, ME_ERR_NOMEM, "out of memory keeping float activations"); break; }
        if (m > c.tmp_n) c.tmp_n = m;
        me_report_row *row = &r->rows[r->n];
        /* the source model's name (a graph read from a DLC has none: its own),
         * unless an earlier row already shows it (two layouts of one value) */
        const char *shown = me_tensor_source_name(ft);
        for (int i = 0; i < r->n && shown != ft->name; i++)
            if (strcmp(r->rows[i].name, shown) == 0) shown = ft->name;
        row->name = strdup(shown);
        const me_node *p = ft->producer >= 0 ? &fg->nodes[ft->producer] : NULL;
        row->scope = strdup(p && p->scope ? p->scope : "");
        row->op = strdup(p ? me_op_names[p->op] : "");
        if (!row->name || !row->scope || !row->op) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); break; }
        for (int k = 0; k < fg->n_outputs; k++) row->is_output |= fg->outputs[k] == t;
        c.row_of[t] = r->n++;
    }
    for (int t = 0; st == ME_OK && t < qg->n_tensors; t++) {
        int ft = me_graph_find_tensor(fg, qg->tensors[t].name);
        c.fid_of[t] = ft >= 0 && c.row_of[ft] >= 0 ? ft : -1;
    }
    if (st == ME_OK) {
        c.tmp = malloc((c.tmp_n ? c.tmp_n : 1) * sizeof(float));
        if (!c.tmp) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    me_exec fe, qe;
    int have_f = 0, have_q = 0;
    if (st == ME_OK && (st = me_exec_create(fg, &fe, d)) == ME_OK) have_f = 1;
    if (st == ME_OK && (st = me_exec_create(qg, &qe, d)) == ME_OK) have_q = 1;
    /* without a pool (threads could not start) kernels run on one thread */
    me_threadpool *pool = st == ME_OK ? me_threadpool_create(n_threads > 0 ? n_threads : me_cpu_count()) : NULL;
    if (st == ME_OK) {
        me_exec_set_pool(&fe, pool);
        me_exec_set_pool(&qe, pool);
        fe.observe = save_float;
        fe.observe_user = &c;
        qe.observe = compare_q;
        qe.observe_user = &c;
    }
    for (int s = 0; st == ME_OK && s < l->n_runs; s++) {
        st = me_input_list_feed(l, s, &fe, d);
        if (st == ME_OK) st = me_exec_run(&fe, d);
        if (st == ME_OK) st = me_input_list_feed(l, s, &qe, d);
        if (st == ME_OK) st = me_exec_run(&qe, d);
        if (st != ME_OK) me_diag_add(d, "while comparing on input list line %d", l->line[s]);
    }
    r->n_samples = l->n_runs;
    if (have_f) me_exec_free(&fe);
    if (have_q) me_exec_free(&qe);
    me_threadpool_destroy(pool);
    for (int t = 0; c.saved && t < fg->n_tensors; t++) free(c.saved[t]);
    free(c.saved);
    free(c.row_of);
    free(c.fid_of);
    free(c.tmp);
    if (st != ME_OK) { me_report_free(r); return st; }
    for (int i = 0; i < r->n; i++) {
        me_report_row *w = &r->rows[i];
        w->sqnr_db = w->err2 > 0 ? (w->sig2 > 0 ? 10 * log10(w->sig2 / w->err2) : -200) : 200;
        if (w->sqnr_db > 200) w->sqnr_db = 200;
        if (w->sqnr_db < -200) w->sqnr_db = -200;
        w->cosine = w->sig2 > 0 && w->q2 > 0 ? w->dot / sqrt(w->sig2 * w->q2) : (w->sig2 == w->q2 ? 1 : 0);
    }
    qsort(r->rows, (size_t)r->n, sizeof *r->rows, by_sqnr);
    return ME_OK;
}

static cJSON *row_json(const me_report_row *w) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", w->name);
    cJSON_AddStringToObject(o, "scope", w->scope);
    cJSON_AddStringToObject(o, "op", w->op);
    cJSON_AddNumberToObject(o, "sqnr_db", round(w->sqnr_db * 1000) / 1000);
    cJSON_AddNumberToObject(o, "cosine", w->cosine);
    cJSON_AddNumberToObject(o, "max_abs_error", w->max_abs);
    return o;
}

/* Scopes in order of their worst tensor (rows are sorted already). */
static int scope_order(const me_report *r, const char **names) {
    int n = 0;
    for (int i = 0; i < r->n; i++) {
        int seen = 0;
        for (int k = 0; k < n && !seen; k++) seen = strcmp(names[k], r->rows[i].scope) == 0;
        if (!seen) names[n++] = r->rows[i].scope;
    }
    return n;
}

me_status me_report_write_json(const me_report *r, const char *path, me_diag *d) {
    cJSON *root = cJSON_CreateObject();
    cJSON *outs = cJSON_AddArrayToObject(root, "outputs");
    cJSON *all = cJSON_AddArrayToObject(root, "tensors");
    cJSON *groups = cJSON_AddArrayToObject(root, "scopes");
    cJSON_AddNumberToObject(root, "samples", r->n_samples);
    const char **names = malloc(((size_t)r->n + 1) * sizeof *names);
    if (!root || !outs || !all || !groups || !names) {
        cJSON_Delete(root);
        free(names);
        return me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < r->n; i++) {
        cJSON_AddItemToArray(all, row_json(&r->rows[i]));
        if (r->rows[i].is_output) cJSON_AddItemToArray(outs, row_json(&r->rows[i]));
    }
    int ns = scope_order(r, names);
    for (int k = 0; k < ns; k++) {
        cJSON *g = cJSON_CreateObject();
        cJSON_AddStringToObject(g, "scope", names[k]);
        cJSON *list = cJSON_AddArrayToObject(g, "tensors");
        double worst = 1e9;
        for (int i = 0; i < r->n; i++)
            if (strcmp(r->rows[i].scope, names[k]) == 0) {
                cJSON_AddItemToArray(list, row_json(&r->rows[i]));
                if (r->rows[i].sqnr_db < worst) worst = r->rows[i].sqnr_db;
            }
        cJSON_AddNumberToObject(g, "worst_sqnr_db", round(worst * 1000) / 1000);
        cJSON_AddItemToArray(groups, g);
    }
    free(names);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    FILE *f = fopen(path, "wb");
    if (!f) {
        cJSON_free(s);
        return me_fail(d, ME_ERR_IO, "cannot write report '%s': %s", path, strerror(errno));
    }
    int bad_w = fputs(s, f) == EOF || fputc('\n', f) == EOF;
    if (fclose(f) != 0) bad_w = 1;
    cJSON_free(s);
    return bad_w ? me_fail(d, ME_ERR_IO, "error writing report '%s'", path) : ME_OK;
}

typedef struct sbuf { char *s; size_t n, cap; int oom; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int w = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (w < 0) { b->oom = 1; return; }
        if (b->s && b->n + (size_t)w < b->cap) { b->n += (size_t)w; return; }
        size_t nc = (b->cap ? b->cap * 2 : 4096) + (size_t)w;
        char *ns = realloc(b->s, nc);
        if (!ns) { b->oom = 1; return; }
        b->s = ns;
        b->cap = nc;
    }
}

char *me_report_table(const me_report *r) {
    sbuf b = {0};
    const char **names = malloc(((size_t)r->n + 1) * sizeof *names);
    if (!names) return NULL;
    int ns = scope_order(r, names);
    sb_printf(&b, "per-layer accuracy, quantised vs float (%d sample%s), worst first:\n", r->n_samples,
              r->n_samples == 1 ? "" : "s");
    sb_printf(&b, "  %9s  %9s  %12s  %-16s %s\n", "SQNR dB", "cosine", "max abs err", "op", "tensor");
    for (int k = 0; k < ns; k++) {
        sb_printf(&b, "scope %s\n", *names[k] ? names[k] : "/");
        for (int i = 0; i < r->n; i++)
            if (strcmp(r->rows[i].scope, names[k]) == 0)
                sb_printf(&b, "  %9.2f  %9.6f  %12.6g  %-16s %s\n", r->rows[i].sqnr_db, r->rows[i].cosine,
                          r->rows[i].max_abs, r->rows[i].op, r->rows[i].name);
    }
    for (int i = 0; i < r->n; i++)
        if (r->rows[i].is_output)
            sb_printf(&b, "output SQNR: %.2f dB (output '%s', cosine %.6f, max abs error %.6g)\n", r->rows[i].sqnr_db,
                      r->rows[i].name, r->rows[i].cosine, r->rows[i].max_abs);
    free(names);
    if (b.oom) { free(b.s); return NULL; }
    return b.s;
}
