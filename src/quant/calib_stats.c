/* Calibration statistics: two runs over the data (min/max, then a
 * histogram over that range), saved to and loaded from a small binary file. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/util.h"
#include "../runtime/threadpool.h"
#include "calib.h"

void me_calib_free(me_calib_stats *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) {
        free(s->t[i].name);
        free(s->t[i].hist);
    }
    free(s->t);
    memset(s, 0, sizeof *s);
}

const me_calib_tensor *me_calib_find(const me_calib_stats *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->t[i].name, name) == 0) return &s->t[i];
    return NULL;
}

static void observe_minmax(me_calib_tensor *c, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) { c->nonfinite++; continue; }
        if (c->count == 0 || v < c->min) c->min = v;
        if (c->count == 0 || v > c->max) c->max = v;
        c->count++;
    }
}

static void observe_hist(me_calib_tensor *c, const float *x, int64_t n) {
    double lo = c->min, w = c->max - c->min;
    double k = w > 0 ? ME_CALIB_BINS / w : 0;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) continue;
        double b = (v - lo) * k;
        int bi = b < 0 ? 0 : b >= ME_CALIB_BINS ? ME_CALIB_BINS - 1 : (int)b;
        c->hist[bi]++;
    }
}

me_status me_calib_of_data(const float *x, int64_t n, me_calib_tensor *out, me_diag *d) {
    memset(out, 0, sizeof *out);
    out->hist = calloc(ME_CALIB_BINS, sizeof *out->hist);
    if (!out->hist) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    observe_minmax(out, x, n);
    observe_hist(out, x, n);
    return ME_OK;
}

typedef struct observer {
    me_calib_stats *s;
    int *slot;   /* per graph tensor: stats index or -1 */
    int pass;    /* 1 min/max, 2 histogram */
} observer;

static void observe_tensor(observer *o, const me_exec *e, int t) {
    if (t < 0 || o->slot[t] < 0) return;
    const float *x = me_exec_tensor_data(e, t);
    if (!x) return;
    me_calib_tensor *c = &o->s->t[o->slot[t]];
    int64_t n = me_tensor_numel(&e->g->tensors[t]);
    if (o->pass == 1) observe_minmax(c, x, n);
    else observe_hist(c, x, n);
}

static void on_node(void *user, const me_exec *e, const me_node *n) {
    for (int k = 0; k < n->n_out; k++) observe_tensor(user, e, n->out[k]);
}

me_status me_calib_collect(const me_graph *g, const me_input_list *l, me_calib_stats *s, me_diag *d) {
    memset(s, 0, sizeof *s);
    observer o = {s, calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof(int)), 1};
    s->t = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof *s->t);
    if (!o.slot || !s->t) {
        free(o.slot);
        return me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    me_status st = ME_OK;
    for (int t = 0; t < g->n_tensors; t++) {
        const me_tensor *tt = &g->tensors[t];
        o.slot[t] = -1;
        if (tt->dtype != ME_DT_F32 || (tt->flags & ME_TF_STATIC)) continue;
        me_calib_tensor *c = &s->t[s->n];
        c->name = strdup(tt->name);
        c->hist = calloc(ME_CALIB_BINS, sizeof *c->hist);
        if (!c->name || !c->hist) {
            free(c->name);
            free(c->hist);
            st = me_fail(d, ME_ERR_NOMEM, "out of memory");
            break;
        }
        o.slot[t] = s->n++;
    }
    me_exec e;
    if (st == ME_OK) st = me_exec_create(g, &e, d);
    if (st != ME_OK) {
        free(o.slot);
        me_calib_free(s);
        return st;
    }
    e.observe = on_node;
    e.observe_user = &o;
    /* float kernels give the same results on any thread count, so the
     * statistics do too; without a pool everything runs on one thread */
    me_threadpool *pool = me_threadpool_create(me_cpu_count());
    me_exec_set_pool(&e, pool);
    for (o.pass = 1; o.pass <= 2 && st == ME_OK; o.pass++) {
        for (int r = 0; r < l->n_runs && st == ME_OK; r++) {
            st = me_input_list_feed(l, r, &e, d);
            for (int k = 0; st == ME_OK && k < g->n_inputs; k++) observe_tensor(&o, &e, g->inputs[k]);
            if (st == ME_OK) st = me_exec_run(&e, d);
            if (st != ME_OK) me_diag_add(d, "while calibrating on input list line %d", l->line[r]);
        }
    }
    s->n_samples = l->n_runs;
    me_exec_free(&e);
    me_threadpool_destroy(pool);
    free(o.slot);
    if (st != ME_OK) me_calib_free(s);
    return st;
}

/* ---- file format (little-endian):
 * "MECALIB1" u32 bins u32 n_tensors u32 n_samples
 * per tensor: u32 name_len, name bytes, f64 min, f64 max, u64 count, u64 nonfinite, u64 hist[bins] */
static const char magic[8] = {'M', 'E', 'C', 'A', 'L', 'I', 'B', '1'};

static int put(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

me_status me_calib_save(const me_calib_stats *s, const char *path, me_diag *d) {
    FILE *f = fopen(path, "wb");
    if (!f) return me_fail(d, ME_ERR_IO, "cannot write calibration file '%s': %s", path, strerror(errno));
    uint32_t h[3] = {ME_CALIB_BINS, (uint32_t)s->n, (uint32_t)s->n_samples};
    int bad = put(f, magic, sizeof magic) || put(f, h, sizeof h);
    for (int i = 0; !bad && i < s->n; i++) {
        const me_calib_tensor *c = &s->t[i];
        uint32_t len = (uint32_t)strlen(c->name);
        bad = put(f, &len, 4) || put(f, c->name, len) || put(f, &c->min, 8) || put(f, &c->max, 8) ||
              put(f, &c->count, 8) || put(f, &c->nonfinite, 8) || put(f, c->hist, ME_CALIB_BINS * sizeof(uint64_t));
    }
    if (fclose(f) != 0) bad = 1;
    if (bad) return me_fail(d, ME_ERR_IO, "error writing calibration file '%s'", path);
    return ME_OK;
}

static uint64_t file_bytes(FILE *f) {
    struct stat st;
    return fstat(fileno(f), &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

me_status me_calib_load(const char *path, me_calib_stats *s, me_diag *d) {
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "rb");
    if (!f) return me_fail(d, ME_ERR_IO, "cannot read calibration file '%s': %s", path, strerror(errno));
    char m[8];
    uint32_t h[3];
    me_status st = ME_OK;
    if (fread(m, 1, 8, f) != 8 || memcmp(m, magic, 8) != 0 || fread(h, 4, 3, f) != 3) {
        st = me_fail(d, ME_ERR_FORMAT, "'%s' is not a modelexport calibration file (bad header)", path);
    } else if (h[0] != ME_CALIB_BINS) {
        st = me_fail(d, ME_ERR_FORMAT, "calibration file '%s': %u histogram bins, expected %d", path, h[0], ME_CALIB_BINS);
    } else if (h[1] > (1u << 24) || (uint64_t)h[1] * (4 + 1 + 32 + ME_CALIB_BINS * 8) > file_bytes(f)) {
        /* each record needs at least that much: a header cannot make us allocate for tensors the file lacks */
        st = me_fail(d, ME_ERR_FORMAT, "calibration file '%s': implausible tensor count %u", path, h[1]);
    }
    if (st == ME_OK) {
        s->t = calloc(h[1] ? h[1] : 1, sizeof *s->t);
        s->n_samples = (int)h[2];
        if (!s->t) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; st == ME_OK && i < h[1]; i++) {
        me_calib_tensor *c = &s->t[i];
        uint32_t len;
        if (fread(&len, 4, 1, f) != 1 || len == 0 || len > 65536) {
            st = me_fail(d, ME_ERR_FORMAT, "calibration file '%s': tensor %u: bad name length", path, i);
            break;
        }
        c->name = calloc(len + 1, 1);
        c->hist = malloc(ME_CALIB_BINS * sizeof(uint64_t));
        s->n++;
        if (!c->name || !c->hist) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); break; }
        if (fread(c->name, 1, len, f) != len || fread(&c->min, 8, 1, f) != 1 || fread(&c->max, 8, 1, f) != 1 ||
            fread(&c->count, 8, 1, f) != 1 || fread(&c->nonfinite, 8, 1, f) != 1 || fread(c->hist, sizeof(uint64_t), ME_CALIB_BINS, f) != ME_CALIB_BINS) {
            st = me_fail(d, ME_ERR_FORMAT, "calibration file '%s': truncated at tensor %u", path, i);
            break;
        }
        uint64_t sum = 0;
        for (int b = 0; b < ME_CALIB_BINS; b++) sum += c->hist[b];
        if (memchr(c->name, 0, len) || !isfinite(c->min) || !isfinite(c->max) || c->min > c->max || sum != c->count)
            st = me_fail(d, ME_ERR_FORMAT, "calibration file '%s': tensor '%s': inconsistent statistics", path, c->name);
    }
    if (st == ME_OK && fgetc(f) != EOF) st = me_fail(d, ME_ERR_FORMAT, "calibration file '%s': trailing bytes", path);
    fclose(f);
    if (st != ME_OK) me_calib_free(s);
    return st;
}
